"""IMAP4rev2 (issue 3, RFC 9051) as a mode: advertised beside IMAP4rev1, and
after ENABLE IMAP4rev2 (§6.3.1) no \\Recent and no RECENT (Appendix E), a
LIST response on SELECT (§6.3.2), ESEARCH answers to plain SEARCH (§6.4.4).
STATUS SIZE (RFC 8438) and DELETED (RFC 9051 §6.3.11) in both modes.
Raw sockets against the real binary."""

import re

import pytest

from test_imap import IMAP_LISTEN, imaps
from test_imap_sync import ok, put, raw


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def rev2(server):
    r = raw(server)
    assert ok(r.cmd("en", "ENABLE IMAP4rev2"))[0] == "* ENABLED IMAP4rev2"
    return r


def test_capabilities_list_both_revisions_and_searchres(imap_server):
    r = raw(imap_server)
    caps = ok(r.cmd("c", "CAPABILITY"))[0].split()
    for cap in ["IMAP4rev1", "IMAP4rev2", "ENABLE", "ESEARCH", "SEARCHRES", "STATUS=SIZE"]:
        assert cap in caps, caps
    assert "IMAP4rev2" in r.greeting.split()


def test_enable_lists_only_what_it_enabled(imap_server):
    r = raw(imap_server)
    lines = ok(r.cmd("e", "ENABLE imap4rev2 CONDSTORE X-UNKNOWN IMAP4REV2"))
    assert lines[0] == "* ENABLED IMAP4rev2 CONDSTORE", lines
    # ENABLE is for the authenticated state only (RFC 5161 §3.1).
    ok(r.cmd("s", "SELECT INBOX"))
    assert r.cmd("e2", "ENABLE IMAP4rev2")[-1].startswith("e2 BAD")


def test_select_after_enable_sends_list_and_no_recent(imap_server):
    put(imap_server, "INBOX", 2)
    r = rev2(imap_server)
    lines = ok(r.cmd("s", "SELECT INBOX"))
    assert '* LIST () "/" "INBOX"' in lines or '* LIST () "/" INBOX' in lines, lines
    assert "* 2 EXISTS" in lines, lines
    assert not any(re.match(r"^\* \d+ RECENT", l) for l in lines), lines
    assert not any("[UNSEEN" in l for l in lines), lines
    assert lines[-1].startswith("s OK [READ-WRITE]")
    # RFC 9051 §6.3.2: selecting again says the old mailbox is closed, first.
    lines = ok(r.cmd("s2", "EXAMINE INBOX"))
    assert lines[0] == "* OK [CLOSED] Previous mailbox closed", lines
    # A rev1 session still gets RECENT and no LIST.
    lines = ok(raw(imap_server).cmd("x", "EXAMINE INBOX"))
    assert any(re.match(r"^\* \d+ RECENT", l) for l in lines), lines
    assert not any(l.startswith("* LIST") for l in lines), lines


def test_fetch_flags_have_no_recent_after_enable(imap_server):
    put(imap_server, "INBOX", 1)
    # EXAMINE leaves them recent for the next session (RFC 3501 §6.3.2).
    r1 = raw(imap_server)
    ok(r1.cmd("x", "EXAMINE INBOX"))
    assert "\\Recent" in ok(r1.cmd("f", "FETCH 1 FLAGS"))[0]
    r = rev2(imap_server)
    ok(r.cmd("s", "SELECT INBOX"))
    lines = ok(r.cmd("f", "FETCH 1:* (FLAGS UID)"))
    assert "FLAGS ()" in lines[0] and "\\Recent" not in lines[0], lines
    assert ok(r.cmd("q", "SEARCH RECENT"))[0] == '* ESEARCH (TAG "q")'
    # New mail in an open rev2 session: EXISTS without RECENT.
    put(imap_server, "INBOX", 1)
    lines = ok(r.cmd("n", "NOOP"))
    assert "* 2 EXISTS" in lines and not any("RECENT" in l for l in lines), lines


def test_search_answers_esearch_after_enable_and_search_before(imap_server):
    put(imap_server, "INBOX", 3)
    r1 = raw(imap_server)
    ok(r1.cmd("s", "SELECT INBOX"))
    assert ok(r1.cmd("a", "SEARCH ALL"))[0] == "* SEARCH 1 2 3"
    r = rev2(imap_server)
    ok(r.cmd("s", "SELECT INBOX"))
    assert ok(r.cmd("a", "SEARCH ALL"))[0] == '* ESEARCH (TAG "a") ALL 1:3'
    uids = ok(r.cmd("b", "UID SEARCH 2:3"))[0]
    assert re.fullmatch(r'\* ESEARCH \(TAG "b"\) UID ALL \d+:\d+', uids), uids
    assert ok(r.cmd("c", "SEARCH DELETED"))[0] == '* ESEARCH (TAG "c")'
    assert ok(r.cmd("d", "SEARCH RETURN (COUNT) ALL"))[0] == '* ESEARCH (TAG "d") COUNT 3'


@pytest.mark.parametrize("enable", [False, True])
def test_status_size_and_deleted(imap_server, enable):
    put(imap_server, "INBOX", 3)
    r = rev2(imap_server) if enable else raw(imap_server)
    ok(r.cmd("s", "SELECT INBOX"))
    sizes = [int(m.group(1)) for l in ok(r.cmd("f", "FETCH 1:* RFC822.SIZE"))[:-1] if (m := re.search(r"RFC822\.SIZE (\d+)", l))]
    assert len(sizes) == 3
    ok(r.cmd("st", "STORE 1:2 +FLAGS.SILENT (\\Deleted)"))
    line = ok(r.cmd("t", "STATUS INBOX (MESSAGES SIZE DELETED)"))[0]
    assert line == f'* STATUS "INBOX" (MESSAGES 3 SIZE {sum(sizes)} DELETED 2)' or line == f"* STATUS INBOX (MESSAGES 3 SIZE {sum(sizes)} DELETED 2)", line
    line = ok(r.cmd("l", 'LIST "" "INBOX" RETURN (STATUS (SIZE DELETED))'))
    assert any(f"SIZE {sum(sizes)} DELETED 2" in l for l in line), line


def test_imaplib_client_enables_rev2(imap_server):
    put(imap_server, "INBOX", 2)
    c = imaps(imap_server)
    typ, data = c.enable("IMAP4rev2")
    assert typ == "OK" and c.untagged_responses.pop("ENABLED") == [b"IMAP4rev2"], c.untagged_responses
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"2"], data
    assert c.untagged_responses.get("LIST") == [b'() "/" "INBOX"'], c.untagged_responses
    assert "RECENT" not in c.untagged_responses
    typ, data = c._simple_command("SEARCH", "ALL")
    assert typ == "OK"
    typ, data = c._untagged_response(typ, data, "ESEARCH")
    assert len(data) == 1 and data[0].endswith(b" ALL 1:2"), data
    c.logout()
