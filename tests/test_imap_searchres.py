"""SEARCHRES (issue 3, RFC 5182): SEARCH RETURN (SAVE) keeps its result as
`$`, usable as a sequence set in FETCH, STORE, COPY, MOVE, SEARCH and their
UID forms; expunged messages drop out of it; SELECT/EXAMINE/CLOSE/UNSELECT
forget it; before any SAVE it is the empty set. Raw sockets against the
real binary."""

import re

import pytest

from test_imap import IMAP_LISTEN
from test_imap_sync import ok, put, raw


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def selected(server, n, mailbox="INBOX"):
    put(server, mailbox, n)
    r = raw(server)
    ok(r.cmd("s", f"SELECT {mailbox}"))
    return r


def uids_of(lines):
    return [int(m.group(1)) for l in lines if (m := re.search(r"UID (\d+)", l))]


def test_save_alone_sends_no_esearch_and_uid_fetch_uses_it(imap_server):
    r = selected(imap_server, 4)
    all_uids = uids_of(ok(r.cmd("u", "FETCH 1:* UID")))
    assert ok(r.cmd("st", "STORE 2:3 +FLAGS.SILENT (\\Flagged)")) == ["st OK STORE completed"]
    assert ok(r.cmd("a", "SEARCH RETURN (SAVE) FLAGGED")) == ["a OK SEARCH completed"]
    assert uids_of(ok(r.cmd("f", "UID FETCH $ (UID FLAGS)"))) == all_uids[1:3]
    # Non-UID FETCH $ names the same messages by number.
    lines = ok(r.cmd("g", "FETCH $ FLAGS"))
    assert [l.split()[1] for l in lines[:-1]] == ["2", "3"], lines
    # SEARCH $ and UID SEARCH UID $.
    assert ok(r.cmd("h", "SEARCH $ FLAGGED"))[0] == "* SEARCH 2 3"
    assert ok(r.cmd("i", "UID SEARCH NOT UID $"))[0] == f"* SEARCH {all_uids[0]} {all_uids[3]}"


def test_save_with_min_max_keeps_those_and_answers(imap_server):
    r = selected(imap_server, 5)
    all_uids = uids_of(ok(r.cmd("u", "FETCH 1:* UID")))
    lines = ok(r.cmd("a", "SEARCH RETURN (SAVE MIN MAX) 2:4"))
    assert lines[0] == '* ESEARCH (TAG "a") MIN 2 MAX 4', lines
    assert uids_of(ok(r.cmd("f", "UID FETCH $ UID"))) == [all_uids[1], all_uids[3]]
    lines = ok(r.cmd("b", "UID SEARCH RETURN (SAVE COUNT MIN) 2:4"))
    assert lines[0] == f'* ESEARCH (TAG "b") UID MIN {all_uids[1]} COUNT 3', lines
    assert uids_of(ok(r.cmd("g", "UID FETCH $ UID"))) == all_uids[1:4]


def test_store_copy_and_move_with_dollar(imap_server):
    r = selected(imap_server, 3)
    ok(r.cmd("c", "CREATE Keep"))
    ok(r.cmd("a", "SEARCH RETURN (SAVE) 1:2"))
    lines = ok(r.cmd("st", "STORE $ +FLAGS (\\Seen)"))
    assert len(lines) == 3 and all("\\Seen" in l for l in lines[:-1]), lines
    assert ok(r.cmd("q", "SEARCH SEEN"))[0] == "* SEARCH 1 2"
    ok(r.cmd("cp", "UID COPY $ Keep"))
    line = ok(r.cmd("t", "STATUS Keep (MESSAGES)"))[0]
    assert line.endswith("(MESSAGES 2)"), line
    lines = ok(r.cmd("mv", "MOVE $ Keep"))
    assert "* 2 EXPUNGE" in lines and "* 1 EXPUNGE" in lines, lines
    # Both moved away: `$` is now empty and commands using it do nothing.
    assert ok(r.cmd("f", "FETCH $ FLAGS")) == ["f OK FETCH completed"]


def test_expunged_messages_drop_out_of_dollar(imap_server):
    r = selected(imap_server, 3)
    all_uids = uids_of(ok(r.cmd("u", "FETCH 1:* UID")))
    ok(r.cmd("a", "UID SEARCH RETURN (SAVE) ALL"))
    ok(r.cmd("d", "STORE 2 +FLAGS.SILENT (\\Deleted)"))
    assert "* 2 EXPUNGE" in ok(r.cmd("x", "EXPUNGE"))
    assert uids_of(ok(r.cmd("f", "UID FETCH $ UID"))) == [all_uids[0], all_uids[2]]
    lines = ok(r.cmd("g", "FETCH $ UID"))
    assert [l.split()[1] for l in lines[:-1]] == ["1", "2"], lines


def test_dollar_is_reset_on_select_and_empty_before_save(imap_server):
    r = selected(imap_server, 2)
    # Before any SAVE `$` is the empty set (RFC 5182 §2.1).
    assert ok(r.cmd("f", "FETCH $ FLAGS")) == ["f OK FETCH completed"]
    assert ok(r.cmd("g", "UID STORE $ +FLAGS (\\Seen)")) == ["g OK STORE completed"]
    assert ok(r.cmd("h", "SEARCH $"))[0] == "* SEARCH"
    ok(r.cmd("a", "SEARCH RETURN (SAVE) ALL"))
    assert len(ok(r.cmd("f2", "FETCH $ FLAGS"))) == 3
    ok(r.cmd("s", "SELECT INBOX"))
    assert ok(r.cmd("f3", "FETCH $ FLAGS")) == ["f3 OK FETCH completed"]
    for reset in ["UNSELECT", "CLOSE"]:
        ok(r.cmd("a", "SEARCH RETURN (SAVE) ALL"))
        ok(r.cmd("x", reset))
        ok(r.cmd("e", "EXAMINE INBOX"))
        assert ok(r.cmd("f", "FETCH $ FLAGS")) == ["f OK FETCH completed"], reset
    # Not selected: `$` is as wrong as the command.
    ok(r.cmd("u", "UNSELECT"))
    assert r.cmd("n", "FETCH $ FLAGS")[-1].startswith("n BAD")


def test_a_failed_saving_search_empties_dollar(imap_server):
    r = selected(imap_server, 2)
    ok(r.cmd("a", "SEARCH RETURN (SAVE) ALL"))
    assert r.cmd("b", "SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")[-1].startswith("b NO [BADCHARSET")
    assert ok(r.cmd("f", "FETCH $ FLAGS")) == ["f OK FETCH completed"]
    ok(r.cmd("a", "SEARCH RETURN (SAVE) ALL"))
    assert r.cmd("c", "SEARCH RETURN (SAVE) NOSUCHKEY")[-1].startswith("c BAD")
    assert ok(r.cmd("f", "FETCH $ FLAGS")) == ["f OK FETCH completed"]


def test_rev2_with_searchres(imap_server):
    put(imap_server, "INBOX", 3)
    r = raw(imap_server)
    ok(r.cmd("en", "ENABLE IMAP4rev2"))
    ok(r.cmd("s", "SELECT INBOX"))
    assert ok(r.cmd("a", "SEARCH RETURN (SAVE) 2:3")) == ["a OK SEARCH completed"]
    assert ok(r.cmd("b", "SEARCH $"))[0] == '* ESEARCH (TAG "b") ALL 2:3'
