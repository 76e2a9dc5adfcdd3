"""IMAP FETCH (issue 3): ENVELOPE, BODY, BODYSTRUCTURE, body sections by part
number, BINARY (RFC 3516) and the macros, with imaplib against the real binary.
Mail arrives over SMTP as hand-written MIME."""

import base64
import imaplib
import os
import re

import pytest

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, insecure_tls, token, wait_until

IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}

# Attached bytes: every octet value, NUL included, so BINARY needs a literal8.
ATTACHED = bytes(range(256)) * 3 + os.urandom(1000)
DATE = "Tue, 1 Jul 2003 10:52:37 +0200"


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def mime_message(tok: str) -> bytes:
    """multipart/mixed: 1 = multipart/alternative (1.1 text, 1.2 html),
    2 = base64 attachment, 3 = message/rfc822 (3.1 text), 4 = unknown encoding."""
    b64 = base64.encodebytes(ATTACHED).decode().replace("\n", "\r\n")
    head = crlf(f"""From: "Joe Q. Public" <joe@example.net>
To: A Group:Ed Jones <ed@a.test>,joe@where.test;, {ALICE}
Cc: <boss@nil.test>
Date: {DATE}
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= {tok}
Message-ID: <{tok}@client.test>
In-Reply-To: <parent@client.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is a MIME message.
--outer
Content-Type: multipart/alternative; boundary=alt

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 {tok}
--alt
Content-Type: text/html; charset=utf-8

<p>caf&eacute;</p>
--alt--

--outer
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

""")
    tail = crlf("""
--outer
Content-Type: message/rfc822
Content-Description: forwarded

From: inner@y.test
Subject: inner subject
Date: Wed, 2 Jul 2003 08:00:00 +0000

inner text
--outer
Content-Type: application/x-thing
Content-Transfer-Encoding: x-unknown

stuff
--outer--
""")
    return head + b64.encode() + tail


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def imaps(server) -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    c.login(ALICE, ALICE_PASSWORD)
    return c


def deliver_raw(server, message: bytes, count: int, c: imaplib.IMAP4_SSL):
    with server.smtp() as s:
        assert s.sendmail("sender@example.net", [ALICE], message) == {}
    wait_until(lambda: int(c.select("INBOX")[1][0]) >= count, what="delivery")


@pytest.fixture
def mime(imap_server):
    """A session with the MIME message as message 1; yields (client, token)."""
    c = imaps(imap_server)
    tok = token()
    deliver_raw(imap_server, mime_message(tok), 1, c)
    yield c, tok
    c.logout()


def flat(data) -> bytes:
    """imaplib's FETCH data (lines and (line, literal) pairs) joined back together."""
    out = b""
    for d in data:
        out += b"".join(d) if isinstance(d, tuple) else (d or b"")
    return out


def fetch_ok(c, what, msg="1"):
    typ, data = c.fetch(msg, what)
    assert typ == "OK", (what, data)
    return data


def literal(c, what) -> bytes:
    data = fetch_ok(c, what)
    assert isinstance(data[0], tuple), data
    return data[0][1]


# ---------------------------------------------------------------- ENVELOPE, BODY, BODYSTRUCTURE


def test_envelope(mime):
    c, tok = mime
    env = flat(fetch_ok(c, "(ENVELOPE)"))
    joe = b'(("Joe Q. Public" NIL "joe" "example.net"))'
    want = (
        b'ENVELOPE ("' + DATE.encode() + b'" "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= ' + tok.encode() + b'" '
        + joe + b" " + joe + b" " + joe + b" "
        + b'((NIL NIL "A Group" NIL)("Ed Jones" NIL "ed" "a.test")(NIL NIL "joe" "where.test")(NIL NIL NIL NIL)'
        + b'(NIL NIL "alice" "example.org")) ((NIL NIL "boss" "nil.test")) NIL "<parent@client.test>" "<'
        + tok.encode() + b'@client.test>")'
    )
    assert want in env, env


def test_bodystructure_and_body(mime):
    c, _ = mime
    bs = flat(fetch_ok(c, "(BODYSTRUCTURE)"))
    text = rb'\("TEXT" "PLAIN" \("CHARSET" "utf-8"\) NIL NIL "QUOTED-PRINTABLE" \d+ 1 NIL NIL NIL NIL\)'
    html = rb'\("TEXT" "HTML" \("CHARSET" "utf-8"\) NIL NIL "7BIT" 18 1 NIL NIL NIL NIL\)'
    alt = rb"\(" + text + html + rb' "ALTERNATIVE" \("BOUNDARY" "alt"\) NIL NIL NIL\)'
    att = (
        rb'\("APPLICATION" "OCTET-STREAM" \("NAME" "data.bin"\) NIL NIL "BASE64" \d+ NIL '
        rb'\("ATTACHMENT" \("FILENAME" "data.bin"\)\) NIL NIL\)'
    )
    inner_env = rb'\("Wed, 2 Jul 2003 08:00:00 \+0000" "inner subject" \(\(NIL NIL "inner" "y.test"\)\)'
    msg = (
        rb'\("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" \d+ ' + inner_env + rb'.*?\) '
        rb'\("TEXT" "PLAIN" \("CHARSET" "us-ascii"\) NIL NIL "7BIT" 10 1 NIL NIL NIL NIL\) 5 NIL NIL NIL NIL\)'
    )
    unknown = rb'\("APPLICATION" "X-THING" NIL NIL NIL "X-UNKNOWN" 5 NIL NIL NIL NIL\)'
    whole = rb"BODYSTRUCTURE \(" + alt + att + msg + unknown + rb' "MIXED" \("BOUNDARY" "outer"\) NIL NIL NIL\)'
    assert re.search(whole, bs), bs
    # BODY: the same without extension data.
    body = flat(fetch_ok(c, "(BODY)"))
    assert b"BODY ((" in body and b"BOUNDARY" not in body and b"ATTACHMENT" not in body, body
    assert re.search(rb'"TEXT" "HTML" \("CHARSET" "utf-8"\) NIL NIL "7BIT" 18 1\)', body), body


def test_macros(mime):
    c, tok = mime
    fast = flat(fetch_ok(c, "FAST"))
    assert re.search(rb"FLAGS \(\\Recent\) INTERNALDATE \"[^\"]+\" RFC822.SIZE \d+\)$", fast), fast
    all_ = flat(fetch_ok(c, "ALL"))
    assert re.search(rb"FLAGS \(\\Recent\) INTERNALDATE \"[^\"]+\" RFC822.SIZE \d+ ENVELOPE \(\"", all_), all_
    assert b"BODY" not in all_
    full = flat(fetch_ok(c, "FULL"))
    assert b"ENVELOPE (" in full and b" BODY ((" in full and tok.encode() in full, full
    assert b"BODYSTRUCTURE" not in full and b"BOUNDARY" not in full
    assert b"\\Seen" not in flat(fetch_ok(c, "(FLAGS)")), "a macro set \\Seen"


# ---------------------------------------------------------------- sections


def test_sections_by_part_number(mime):
    c, tok = mime
    assert literal(c, "(BODY.PEEK[1.1])") == f"caf=C3=A9 {tok}".encode()
    assert literal(c, "(BODY.PEEK[1.2])") == b"<p>caf&eacute;</p>"
    assert literal(c, "(BODY.PEEK[1.2.MIME])") == b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    assert literal(c, "(BODY.PEEK[2.MIME])") == crlf(
        'Content-Type: application/octet-stream; name="data.bin"\n'
        "Content-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="data.bin"\n\n'
    )
    assert base64.b64decode(literal(c, "(BODY.PEEK[2])")) == ATTACHED
    assert literal(c, "(BODY.PEEK[3.HEADER])").startswith(b"From: inner@y.test\r\n")
    assert literal(c, "(BODY.PEEK[3.TEXT])") == b"inner text"
    assert literal(c, "(BODY.PEEK[3.1])") == b"inner text"
    assert literal(c, "(BODY.PEEK[3])").startswith(b"From: inner@y.test\r\n")
    assert literal(c, "(BODY.PEEK[3.HEADER.FIELDS (SUBJECT)])") == b"Subject: inner subject\r\n\r\n"
    data = fetch_ok(c, "(BODY.PEEK[1.1]<4.6>)")
    assert data[0][0].endswith(b"BODY[1.1]<4> {6}") and data[0][1] == b"C3=A9 ", data
    assert literal(c, "(BODY.PEEK[TEXT])").startswith(b"This is a MIME message.\r\n--outer")
    # Parts that do not exist are NIL.
    data = flat(fetch_ok(c, "(BODY.PEEK[9] BODY.PEEK[1.1.HEADER])"))
    assert b"BODY[9] NIL" in data and b"BODY[1.1.HEADER] NIL" in data, data
    assert b"\\Seen" not in flat(fetch_ok(c, "(FLAGS)")), "PEEK set \\Seen"
    data = fetch_ok(c, "(BODY[1.2])")
    assert b"\\Seen" in flat(data), data


def test_binary_decodes_and_sizes(mime):
    c, tok = mime
    data = fetch_ok(c, "(BINARY.PEEK[2])")
    assert data[0][0].endswith(b"BINARY[2] ~{%d}" % len(ATTACHED)), data[0][0]
    assert data[0][1] == ATTACHED
    size = flat(fetch_ok(c, "(BINARY.SIZE[2] BINARY.SIZE[1.1])"))
    qp = f"café {tok}".encode()
    assert b"BINARY.SIZE[2] %d" % len(ATTACHED) in size and b"BINARY.SIZE[1.1] %d" % len(qp) in size, size
    data = fetch_ok(c, "(BINARY.PEEK[1.1])")
    assert data[0][0].endswith(b"BINARY[1.1] {%d}" % len(qp)) and data[0][1] == qp, data
    data = fetch_ok(c, "(BINARY.PEEK[2]<256.10>)")
    assert data[0][0].endswith(b"BINARY[2]<256> ~{10}") and data[0][1] == ATTACHED[256:266], data
    # A message/rfc822 part is sent as it is.
    assert literal(c, "(BINARY.PEEK[3])").startswith(b"From: inner@y.test\r\n")
    assert b"\\Seen" not in flat(fetch_ok(c, "(FLAGS)")), "BINARY.PEEK set \\Seen"
    assert b"\\Seen" in flat(fetch_ok(c, "(BINARY[1.2])"))


def test_binary_of_unknown_encoding_is_refused(mime):
    c, _ = mime
    typ, data = c.fetch("1", "(BINARY.PEEK[4])")
    assert typ == "NO" and b"[UNKNOWN-CTE]" in data[0], data
    typ, data = c.fetch("1", "(BINARY.SIZE[4])")
    assert typ == "NO" and b"[UNKNOWN-CTE]" in data[0], data
    # BODY still sends it as it is.
    assert literal(c, "(BODY.PEEK[4])") == b"stuff"


def test_binary_is_advertised(imap_server):
    c = imaps(imap_server)
    typ, data = c.capability()
    assert b"BINARY" in data[0].split(), data


def test_eight_bit_header_is_a_literal(imap_server):
    """To a client that enabled UTF8=ACCEPT; IMAP4rev1 clients get RFC 2047
    encoded words instead (test_net_hardening.py)."""
    c = imaps(imap_server)
    c.enable("UTF8=ACCEPT")
    tok = token()
    msg = f"From: Jörg <j@x.test>\r\nSubject: Grüße {tok}\r\nTo: {ALICE}\r\n\r\nhallo\r\n".encode()
    deliver_raw(imap_server, msg, 1, c)
    data = fetch_ok(c, "(ENVELOPE)")
    parts = [p for d in data if isinstance(d, tuple) for p in d]
    assert f"Grüße {tok}".encode() in parts, data
    assert "Jörg".encode() in parts, data
    assert b"{%d}" % len(f"Grüße {tok}".encode()) in flat(data)


def test_large_part_and_whole_message(imap_server):
    c = imaps(imap_server)
    tok = token()
    big = os.urandom(3_000_000)
    b64 = base64.encodebytes(big).replace(b"\n", b"\r\n")
    msg = crlf(f"From: a@b.test\nTo: {ALICE}\nSubject: big {tok}\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nhi\n--b\n"
               "Content-Transfer-Encoding: base64\nContent-Type: application/octet-stream\n\n") + b64 + b"\r\n--b--\r\n"
    deliver_raw(imap_server, msg, 1, c)
    # The header alone answers ENVELOPE and header fields.
    data = flat(fetch_ok(c, "(ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert f'"big {tok}"'.encode() in data and f"Subject: big {tok}\r\n\r\n".encode() in data, data
    assert literal(c, "(BINARY.PEEK[2])") == big
    assert literal(c, "(BODY.PEEK[2])") == b64
    data = fetch_ok(c, "(RFC822.SIZE BODY.PEEK[])")
    size = int(re.search(rb"RFC822.SIZE (\d+)", data[0][0]).group(1))
    assert len(data[0][1]) == size > 4_000_000


def test_message_expunged_by_another_session(imap_server):
    """RFC 2180 §4.1.2: FETCH of a message expunged elsewhere still answers
    what the session knows (FLAGS) and NIL for its contents."""
    c, d = imaps(imap_server), imaps(imap_server)
    deliver_raw(imap_server, crlf(f"Subject: doomed {token()}\nTo: {ALICE}\n\nbody\n"), 1, c)
    deliver_raw(imap_server, crlf(f"Subject: kept {token()}\nTo: {ALICE}\n\nbody\n"), 2, c)
    d.select("INBOX")
    d.store("1", "+FLAGS", "(\\Deleted)")
    assert d.expunge()[0] == "OK"
    typ, data = c.fetch("1:2", "(FLAGS BODY.PEEK[] ENVELOPE BINARY.SIZE[1])")
    assert typ == "OK", data
    first = flat([data[0]])
    assert first.startswith(b"1 (FLAGS (") and b"BODY[] NIL" in first, data
    assert b"ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" in first and b"BINARY.SIZE[1] 0" in first, data
    assert any(isinstance(x, tuple) and b"kept" in x[1] for x in data), "the other message lost"
    # Whole-message streaming alone, too.
    typ, data = c.fetch("1", "(UID RFC822)")
    assert typ == "OK" and b"RFC822 NIL" in flat(data), data
    c.noop()
    assert c.fetch("1:*", "(UID)")[1] == [b"1 (UID 2)"]


def test_structure_of_a_message_expunged_elsewhere_stays_the_same(imap_server):
    """RFC 2180 §4.1.2, issue 18: once a session has seen a message's
    BODYSTRUCTURE and ENVELOPE, a FETCH after another session expunged it
    (body gone) gives the same ones, from the header cache, not an empty
    message's (imaptest: "BODYSTRUCTURE changed")."""
    c, d = imaps(imap_server), imaps(imap_server)
    deliver_raw(imap_server, crlf(f"Subject: doomed {token()}\nTo: {ALICE}\n\nsome body\n"), 1, c)
    what = "(BODYSTRUCTURE BODY ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
    before = flat(fetch_ok(c, what))
    assert b"doomed" in before and b'"TEXT" "PLAIN"' in before, before
    d.select("INBOX")
    d.store("1", "+FLAGS", "(\\Deleted)")
    assert d.expunge()[0] == "OK"
    typ, data = c.fetch("1", what)
    assert typ == "OK", data
    after = flat(data)

    def known(b):
        return b[b.index(b"BODYSTRUCTURE") : b.index(b" BODY[HEADER")]

    assert known(after) == known(before), (before, after)
    assert b"BODY[HEADER.FIELDS (SUBJECT)] NIL" in after, after


def test_unknown_structure_of_a_message_expunged_elsewhere_is_not_made_up(imap_server):
    """RFC 2180 §4.1.3, issue 18: a BODYSTRUCTURE nobody computed before the
    body went is not answered as an empty message's; that message gets no
    response and the FETCH ends NO [EXPUNGEISSUED] (Dovecot's words, which
    imaptest accepts); the others are answered."""
    c, d = imaps(imap_server), imaps(imap_server)
    deliver_raw(imap_server, crlf(f"Subject: doomed {token()}\nTo: {ALICE}\n\nsome body\n"), 1, c)
    deliver_raw(imap_server, crlf(f"Subject: kept {token()}\nTo: {ALICE}\n\nbody\n"), 2, c)
    d.select("INBOX")
    d.store("1", "+FLAGS", "(\\Deleted)")
    assert d.expunge()[0] == "OK"
    typ, data = c.fetch("1:2", "(UID BODYSTRUCTURE)")
    assert typ == "NO" and data[0].startswith(b"[EXPUNGEISSUED]") and b"no longer exist" in data[0], data
    fetched = c.untagged_responses.pop("FETCH", [])
    assert len(fetched) == 1 and fetched[0].startswith(b'2 (UID 2 BODYSTRUCTURE ("TEXT"'), fetched
