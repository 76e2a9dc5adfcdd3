"""IMAP performance paths (issue 3) keep their answers: ENVELOPE, BODY and
BODYSTRUCTURE from the shared header cache equal those read from the message;
SEARCH on header keys sees new messages and copies; an APPEND whose line end
lags behind its message gets an untagged OK first (so a Nagle-bound client is
not kept waiting for a delayed ACK); many logins at once all get in."""

import threading
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, token
from test_imap import IMAP_LISTEN, imaps
from test_imap_fetch import mime_message
from test_imap_sync import ok, put, raw


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def test_cached_envelope_and_structure_equal_the_first_answers(imap_server):
    tok = token()
    c = imaps(imap_server)
    assert c.append("INBOX", None, None, mime_message(tok))[0] == "OK"
    put(imap_server, "INBOX", 2)
    a = raw(imap_server)
    ok(a.cmd("s", "EXAMINE INBOX"))
    first = ok(a.cmd("f", "FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY)"))
    # Now answered from the cache (no file is read).
    again = ok(a.cmd("g", "FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY)"))
    assert first[:-1] == again[:-1], (first, again)
    only_env = ok(a.cmd("h", "FETCH 1 ENVELOPE"))
    assert only_env[0].startswith("* 1 FETCH (ENVELOPE (") and tok in only_env[0], only_env
    # A copy shares its body, and so its cache entry; the answers agree.
    original = ok(a.cmd("o", "FETCH 1 (ENVELOPE BODYSTRUCTURE)"))
    ok(a.cmd("x", "CLOSE"))
    ok(a.cmd("c", "SELECT INBOX"))
    ok(a.cmd("y", "COPY 1 Archive"))
    ok(a.cmd("z", "EXAMINE Archive"))
    copied = ok(a.cmd("w", "FETCH 1 (ENVELOPE BODYSTRUCTURE)"))
    assert copied[0] == original[0], (copied, original)


def test_search_header_keys_see_new_messages(imap_server):
    put(imap_server, "INBOX", 3)
    a = raw(imap_server)
    ok(a.cmd("s", "SELECT INBOX"))
    assert ok(a.cmd("f", 'SEARCH FROM "a@example.net"'))[0] == "* SEARCH 1 2 3"
    tok = token()
    imap_server.deliver(tok)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = ok(a.cmd("q", f'SEARCH SUBJECT "{tok}"'))
        if lines[0] != "* SEARCH":
            break
        time.sleep(0.1)
    assert lines[0] == "* SEARCH 4", lines
    assert ok(a.cmd("n", f'SEARCH NOT SUBJECT "{tok}" FROM "a@example.net"'))[0] == "* SEARCH 1 2 3"


def test_append_line_end_late_gets_an_untagged_ok_first(imap_server):
    a = raw(imap_server)
    msg = b"Subject: nagle\r\n\r\nbody\r\n"
    a.send(f"ap APPEND INBOX {{{len(msg)}}}\r\n")
    assert a.line().startswith("+")
    a.send(msg)
    # Nothing more from the client: the server speaks first (untagged).
    assert a.line() == "* OK Message received"
    a.send("\r\n")
    assert ok(a.until_tagged("ap"))[-1].startswith("ap OK [APPENDUID")
    # Sent together, there is nothing to nudge.
    a.send(f"b APPEND INBOX {{{len(msg)}}}\r\n")
    assert a.line().startswith("+")
    a.send(msg + b"\r\n")
    lines = ok(a.until_tagged("b"))
    assert not any("Message received" in l for l in lines), lines


def test_many_logins_at_once_all_succeed(imap_server):
    """More than MAX_CONCURRENT_LOGINS (2) clients log in together: they
    wait their turn for the password check, and every one gets in."""
    results = []

    def login(user, password):
        try:
            c = imaps(imap_server, user, password)
            results.append(c.state)
            c.logout()
        except Exception as e:  # noqa: BLE001 - reported below
            results.append(repr(e))

    users = [(ALICE, ALICE_PASSWORD), (BOB, BOB_PASSWORD)] * 5
    threads = [threading.Thread(target=login, args=u) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["AUTH"] * 10, results
