"""UTF8=ACCEPT (issue 3, RFC 6855): after ENABLE UTF8=ACCEPT mailbox names
travel as UTF-8 both ways while other sessions still see modified UTF-7 (§3),
APPEND takes UTF8 (~{n}) data whose 8-bit headers FETCH returns byte for byte
(§4), and SEARCH with a conflicting charset is BAD (§3). Raw sockets and
imaplib against the real binary."""

import re

import pytest

from harness import IO_TIMEOUT
from test_imap import IMAP_LISTEN, RawImap, imaps
from test_imap_sync import ok, raw

NAME = "Grüße/日本"
# RFC 3501 §5.1.3: U+00FC U+00DF and U+65E5 U+672C as modified base64 of UTF-16BE.
NAME_UTF7 = "Gr&APwA3w-e/&ZeVnLA-"
MESSAGE = (
    "From: Jürgen Müller <jürgen@exämple.org>\r\n"
    "To: alice@example.org\r\n"
    "Subject: Grüße aus 日本\r\n"
    "\r\n"
    "Hallo.\r\n"
).encode()


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def send_bytes(r: RawImap, tag: str, text: str):
    r.send(f"{tag} {text}\r\n".encode())
    return r.until_tagged(tag)


def enabled(server) -> RawImap:
    r = raw(server)
    lines = ok(r.cmd("e", "ENABLE UTF8=ACCEPT"))
    assert "* ENABLED UTF8=ACCEPT" in lines, lines
    return r


def literal_after(r: RawImap, head: bytes) -> bytes:
    """Reads until `head … {n}` CRLF and returns the n octets that follow."""
    while True:
        m = re.search(re.escape(head) + rb".*?\{(\d+)\}\r\n", r.buf, re.S)
        if m and len(r.buf) >= m.end() + int(m.group(1)):
            data = r.buf[m.end() : m.end() + int(m.group(1))]
            r.buf = r.buf[m.end() + int(m.group(1)) :]
            return data
        chunk = r.sock.recv(65536)
        assert chunk, r.buf
        r.buf += chunk


def append_utf8(r: RawImap, tag: str, mailbox: str, message: bytes, non_sync=False):
    plus = "+" if non_sync else ""
    r.send(f'{tag} APPEND "{mailbox}" UTF8 (~{{{len(message)}{plus}}}\r\n'.encode())
    if not non_sync:
        l = r.line()
        if not l.startswith("+"):
            return [l]
    r.send(message + b")\r\n")
    return r.until_tagged(tag)


def test_capability_and_enable(imap_server):
    c = imaps(imap_server)
    assert "UTF8=ACCEPT" in c.capabilities
    typ, data = c._simple_command("ENABLE", "UTF8=ACCEPT")
    assert typ == "OK"
    assert c.untagged_responses.get("ENABLED") == [b"UTF8=ACCEPT"]
    c.logout()


def test_names_are_utf8_after_enable_and_utf7_without(imap_server):
    r = enabled(imap_server)
    ok(send_bytes(r, "c", f'CREATE "{NAME}"'))
    listing = ok(r.cmd("l", 'LIST "" "*"'))
    assert f'* LIST (\\HasNoChildren) "/" "{NAME}"' in listing, listing
    assert f'* LIST (\\HasChildren) "/" "Grüße"' in listing, listing
    st = ok(send_bytes(r, "s", f'STATUS "{NAME}" (MESSAGES)'))
    assert st[0] == f'* STATUS "{NAME}" (MESSAGES 0)', st
    ok(send_bytes(r, "s2", f'SELECT "{NAME}"'))
    # A name that looks like modified UTF-7 is taken as it is once UTF-8 is on.
    ok(r.cmd("c2", 'CREATE "A&B"'))
    # RFC 6855 §3 / RFC 3501: CR, LF, NUL, other controls are still refused.
    r.send(b'c3 CREATE {3}\r\n')
    assert r.line().startswith("+")
    r.send(b"a\nb\r\n")
    assert r.until_tagged("c3")[-1].startswith("c3 NO"), "LF in a name"
    assert send_bytes(r, "c4", 'CREATE "x\x7fy"')[-1].startswith("c4 NO"), "DEL in a name"

    other = raw(imap_server)
    listing = ok(other.cmd("l", 'LIST "" "*"'))
    assert f'* LIST (\\HasNoChildren) "/" "{NAME_UTF7}"' in listing, listing
    assert '* LIST (\\HasNoChildren) "/" "A&-B"' in listing, listing
    assert not any("ü" in l for l in listing)
    ok(other.cmd("s", f'SELECT "{NAME_UTF7}"'))


def test_append_utf8_literal_is_returned_byte_exact(imap_server):
    r = enabled(imap_server)
    ok(send_bytes(r, "c", f'CREATE "{NAME}"'))
    done = ok(append_utf8(r, "a", NAME, MESSAGE))
    assert "APPENDUID" in done[-1], done
    ok(append_utf8(r, "a2", "INBOX", MESSAGE, non_sync=True))
    ok(send_bytes(r, "s", f'SELECT "{NAME}"'))
    r.send(b"f FETCH 1 (BODY.PEEK[])\r\n")
    assert literal_after(r, b"* 1 FETCH") == MESSAGE
    ok(r.until_tagged("f"))
    # The same bytes for a session that did not enable UTF-8 (nothing downgraded).
    plain = imaps(imap_server)
    typ, data = plain.select("INBOX")
    assert typ == "OK"
    typ, data = plain.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == MESSAGE
    # A UTF-8 SEARCH string finds the 8-bit header.
    hits = ok(send_bytes(r, "q", 'SEARCH SUBJECT "Grüße"'))
    assert "* SEARCH 1" in hits, hits
    plain.logout()


def test_append_utf8_needs_enable(imap_server):
    r = raw(imap_server)
    no = append_utf8(r, "a", "INBOX", MESSAGE)
    assert no[-1].startswith("a NO"), no
    # Non-synchronising: the message is read and dropped; the session goes on.
    no = append_utf8(r, "b", "INBOX", MESSAGE, non_sync=True)
    assert no[-1].startswith("b NO"), no
    ok(r.cmd("n", "NOOP"))
    # A UTF8 literal not closed by ")" is a syntax error.
    e = enabled(imap_server)
    e.send(f"x APPEND INBOX UTF8 (~{{{len(MESSAGE)}+}}\r\n".encode() + MESSAGE + b"\r\n")
    assert e.until_tagged("x")[-1].startswith("x BAD"), "missing )"
    st = ok(e.cmd("st", "STATUS INBOX (MESSAGES)"))
    assert "MESSAGES 0" in st[0], st


def test_search_charset_before_and_after_enable(imap_server):
    r = raw(imap_server)
    ok(append_utf8(enabled(imap_server), "a", "INBOX", MESSAGE))
    ok(r.cmd("s", "SELECT INBOX"))
    word = "Grüße".encode()
    r.send(b"q SEARCH CHARSET UTF-8 SUBJECT {%d}\r\n" % len(word))
    assert r.line().startswith("+")
    r.send(word + b"\r\n")
    assert "* SEARCH 1" in ok(r.until_tagged("q"))
    e = enabled(imap_server)
    ok(e.cmd("s", "SELECT INBOX"))
    # RFC 6855 §3: a charset label conflicting with UTF-8 is BAD once enabled.
    for cs in ["ISO-8859-1", "US-ASCII"]:
        assert e.cmd("q", f"SEARCH CHARSET {cs} ALL")[-1].startswith("q BAD"), cs
    assert "* SEARCH 1" in ok(e.cmd("q2", "SEARCH CHARSET UTF-8 ALL"))
    assert "* SEARCH 1" in ok(e.cmd("q3", "SEARCH ALL"))


def test_imap4rev2_names_are_utf8_too(imap_server):
    """RFC 9051 §5.1: an IMAP4rev2 session names mailboxes in UTF-8 without
    a separate ENABLE UTF8=ACCEPT."""
    r = raw(imap_server)
    assert "* ENABLED IMAP4rev2" in ok(r.cmd("e", "ENABLE IMAP4rev2"))
    ok(send_bytes(r, "c", f'CREATE "{NAME}"'))
    listing = ok(r.cmd("l", 'LIST "" "Grüße/*"'))
    assert f'* LIST (\\HasNoChildren) "/" "{NAME}"' in listing, listing
    selected = ok(send_bytes(r, "s", f'SELECT "{NAME}"'))
    assert f'* LIST () "/" "{NAME}"' in selected, selected
    other = raw(imap_server)
    assert f'* LIST (\\HasNoChildren) "/" "{NAME_UTF7}"' in ok(other.cmd("l", 'LIST "" "*"'))
