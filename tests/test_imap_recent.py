"""IMAP \\Recent (issue 3, RFC 3501 §2.3.2): the first session to SELECT a
mailbox after a message arrives sees it recent; EXAMINE only looks; RECENT in
SELECT/EXAMINE/STATUS/NOOP/IDLE; SEARCH RECENT/NEW/OLD; COPY, MOVE and APPEND
make messages recent in their new mailbox. Raw sockets against the real binary."""

import pytest

from harness import token, wait_until
from test_imap import IMAP_LISTEN
from test_imap_sync import number, ok, put, raw


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def recent_of(lines):
    return number(lines, r"^\* (\d+) RECENT")


def status_recent(r, mailbox="INBOX"):
    return number(ok(r.cmd("st", f"STATUS {mailbox} (RECENT)")), r"RECENT (\d+)")


def test_select_claims_recent_and_examine_does_not(imap_server):
    put(imap_server, "INBOX", 2)
    a, b = raw(imap_server), raw(imap_server)
    assert status_recent(a) == 2
    # EXAMINE sees them recent but leaves them for the next SELECT (RFC 3501 §6.3.2).
    assert recent_of(ok(a.cmd("e", "EXAMINE INBOX"))) == 2
    assert "\\Recent" in ok(a.cmd("f", "FETCH 1 FLAGS"))[0]
    ok(a.cmd("c", "CLOSE"))
    assert status_recent(a) == 2
    assert recent_of(ok(a.cmd("s", "SELECT INBOX"))) == 2
    # The first SELECT claimed them: nobody else sees them recent.
    assert status_recent(b) == 0
    assert recent_of(ok(b.cmd("s", "SELECT INBOX"))) == 0
    assert "\\Recent" not in ok(b.cmd("f", "FETCH 1:* FLAGS"))[0]
    lines = ok(a.cmd("f", "FETCH 1:* FLAGS"))
    assert all("(\\Recent)" in l for l in lines[:-1]), lines


def test_new_messages_are_recent_for_the_session_told_first(imap_server):
    a = raw(imap_server)
    ok(a.cmd("s", "SELECT INBOX"))
    imap_server.deliver(token())
    lines = wait_until(lambda: (l := ok(a.cmd("n", "NOOP"))) and any("EXISTS" in x for x in l) and l, what="delivery")
    assert recent_of(lines) == 1, lines
    # IDLE reports RECENT with EXISTS too.
    a.send("i IDLE\r\n")
    assert a.line().startswith("+")
    imap_server.deliver(token())
    got = [a.line(), a.line()]
    assert got == ["* 2 EXISTS", "* 2 RECENT"], got
    a.send("DONE\r\n")
    ok(a.until_tagged("i"))
    assert status_recent(raw(imap_server)) == 0, "claimed by the session that saw them"


def test_search_recent_new_old(imap_server):
    put(imap_server, "INBOX", 3)
    a = raw(imap_server)
    ok(a.cmd("s", "SELECT INBOX"))
    ok(a.cmd("st", "STORE 2 +FLAGS (\\Seen)"))
    assert ok(a.cmd("r", "SEARCH RECENT"))[0] == "* SEARCH 1 2 3"
    assert ok(a.cmd("n", "SEARCH NEW"))[0] == "* SEARCH 1 3"
    assert ok(a.cmd("o", "SEARCH OLD"))[0] == "* SEARCH"
    assert ok(a.cmd("u", "UID SEARCH NOT RECENT"))[0] == "* SEARCH"
    b = raw(imap_server)
    ok(b.cmd("s", "SELECT INBOX"))
    assert ok(b.cmd("r", "SEARCH RECENT"))[0] == "* SEARCH"
    assert ok(b.cmd("o", "SEARCH OLD"))[0] == "* SEARCH 1 2 3"


def test_copy_move_and_append_are_recent_in_their_new_mailbox(imap_server):
    put(imap_server, "INBOX", 3)
    a, b = raw(imap_server), raw(imap_server)
    ok(a.cmd("cr", "CREATE Dest"))
    ok(a.cmd("s", "SELECT INBOX"))
    ok(b.cmd("s", "SELECT Dest"))
    ok(a.cmd("c", "COPY 1 Dest"))
    ok(a.cmd("m", "MOVE 2 Dest"))
    lines = ok(b.cmd("n", "NOOP"))
    assert "* 2 EXISTS" in lines and recent_of(lines) == 2, lines
    lines = ok(b.cmd("f", "FETCH 1:2 FLAGS"))
    assert all("\\Recent" in l for l in lines[:-1]), lines
    # \Recent cannot be stored (RFC 3501 §2.3.2).
    assert b.cmd("x", "STORE 1 +FLAGS (\\Recent)")[-1].startswith("x BAD")
    # APPEND into the selected mailbox: EXISTS and RECENT at once.
    msg = b"Subject: hi\r\n\r\nbody\r\n"
    b.send(f"ap APPEND Dest {{{len(msg)}}}\r\n")
    assert b.line().startswith("+")
    b.send(msg + b"\r\n")
    lines = ok(b.until_tagged("ap"))
    assert "* 3 EXISTS" in lines and "* 3 RECENT" in lines, lines
