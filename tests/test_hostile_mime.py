"""Issue 13 item 1: a message of 40,000 nested message/rfc822 parts, accepted
unauthenticated on the MX port, aborted the whole process with a stack
overflow when its recipient searched it (SEARCH TEXT / BODY), and again after
every restart. Every path that parses or walks a stored message is bounded
in depth now: the message is delivered byte for byte, searchable down to the
nesting bound and opaque beyond it, and the server keeps answering on every
listener."""

import socket

from harness import ALICE, POP3_LISTEN, insecure_tls, token
from test_imap import IMAP_LISTEN, imaps

DEPTH = 40_000


def nested_message(tok: str, depth: int = DEPTH) -> bytes:
    inner = "".join(f"Subject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n" for i in range(depth))
    inner += "Subject: bottom\r\n\r\nbottomword\r\n"
    return (
        f"From: attacker@example.net\r\nTo: {ALICE}\r\nSubject: {tok}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        "--x\r\nContent-Type: text/plain\r\n\r\ntopword\r\n"
        f"--x\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--x--\r\n"
    ).encode()


def answers_everywhere(server):
    """Every listener still greets a new client."""
    for name in ("smtp", "submission", "imap", "pop3"):
        with socket.create_connection(server.addr(name), timeout=10) as s:
            greeting = s.recv(512)
            assert greeting[:4] in (b"220 ", b"* OK", b"+OK "), (name, greeting)
    for name in ("imaps", "pop3s", "smtps"):
        with socket.create_connection(server.addr(name), timeout=10) as s:
            with insecure_tls().wrap_socket(s) as t:
                assert t.recv(512)[:4] in (b"220 ", b"* OK", b"+OK "), name


def test_deeply_nested_message_is_searched_fetched_and_survives(make_server):
    server = make_server(listen={**IMAP_LISTEN, **POP3_LISTEN, "smtps": "127.0.0.1:0"})
    tok = token()
    msg = nested_message(tok)
    assert len(msg) > 1_500_000
    with server.smtp() as s:
        assert s.sendmail("attacker@example.net", [ALICE], msg) == {}
    server.wait_for_message(ALICE, tok)

    c = imaps(server)
    c.select("INBOX")
    for key in ("TEXT", "BODY"):
        typ, data = c.search(None, key, "topword")
        assert (typ, data) == ("OK", [b"1"]), (key, data)
        # Past the nesting bound the content is opaque: not found, no crash.
        typ, data = c.search(None, key, "bottomword")
        assert (typ, data) == ("OK", [b""]), (key, data)
    typ, data = c.fetch("1", "(BODYSTRUCTURE ENVELOPE)")
    assert typ == "OK" and b'"MIXED"' in data[0], data
    typ, data = c.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    stored = data[0][1]
    assert stored.endswith(msg), "stored byte for byte (after the trace fields)"
    assert b"RFC822.SIZE %d " % len(stored) in data[0][0], data[0][0]
    c.logout()
    answers_everywhere(server)

    # The mailbox is not poisoned: after a restart the same search still works.
    server.stop()
    server.start(listen={**IMAP_LISTEN, **POP3_LISTEN, "smtps": "127.0.0.1:0"})
    c = imaps(server)
    c.select("INBOX")
    assert c.search(None, "TEXT", "topword") == ("OK", [b"1"])
    c.logout()
    answers_everywhere(server)
