"""Issue 13 hardening (items 3, 5, 6, 8) against the real binary: connection
limits that hold by default, cross-protocol (ALPACA) junk, NUL octets in
served messages, 8-bit mail to hops without 8BITMIME and RFC 2047 envelopes.
127.0.0.2 stands in for a second client address."""

from __future__ import annotations

import imaplib
import re
import socket
import ssl

import pytest

from outbound import dns  # noqa: F401 (a fixture)
from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, HOSTNAME, IO_TIMEOUT, insecure_tls, wait_until

IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}
DEFAULT_MAX_PER_IP = 50  # crates/config/src/access.rs
DEFAULT_MAX_PER_USER_IP = 10  # crates/config/src/imap.rs


def connect(server, name: str, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(server.addr(name), timeout=IO_TIMEOUT, source_address=(source, 0))


def first_line(sock) -> bytes:
    buf = b""
    while b"\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n", 1)[0]


def security_lines(server, *needles: str) -> list[str]:
    return [l for l in server.log("security.log").splitlines() if all(n in l for n in needles)]


# ---------------------------------------------------------------- item 5: resource holding


@pytest.mark.parametrize("listener,greeting,refusal", [("smtp", b"220 ", b"421 4.7.0 "), ("imap", b"* OK ", b"* BYE [UNAVAILABLE] ")])
def test_one_address_is_capped_by_default(make_server, listener, greeting, refusal):
    """No [access] table at all: the 51st connection from one address is
    refused, another address still gets in, and the refusal is logged."""
    server = make_server(listen=IMAP_LISTEN)
    held = []
    try:
        for _ in range(DEFAULT_MAX_PER_IP):
            s = connect(server, listener)
            held.append(s)
            assert first_line(s).startswith(greeting)
        extra = connect(server, listener)
        held.append(extra)
        line = first_line(extra)
        assert line.startswith(refusal) and b"too many connections from your address" in line, line
        other = connect(server, listener, source="127.0.0.2")
        held.append(other)
        assert first_line(other).startswith(greeting)
    finally:
        for s in held:
            s.close()
    wait_until(
        lambda: security_lines(server, "event=connection-refused", f"service={listener}", f"address has {DEFAULT_MAX_PER_IP} connections"),
        what="the refusal in security.log",
    )


def imaps_login(server, user=ALICE, password=ALICE_PASSWORD, source="127.0.0.1") -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    c.login(user, password)
    return c


def test_imap_sessions_per_user_and_address_are_capped(make_server):
    server = make_server(listen=IMAP_LISTEN)
    held = [imaps_login(server) for _ in range(DEFAULT_MAX_PER_USER_IP)]
    try:
        with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\] Maximum number of connections from user\+IP exceeded"):
            imaps_login(server)
        held.append(imaps_login(server, BOB, BOB_PASSWORD))  # another user is not counted with alice
        held.pop(0).logout()
        held.append(imaps_login(server))  # a freed place can be taken again
    finally:
        for c in held:
            c.logout()
    [line] = security_lines(server, "event=user-ip-limit", f"user={ALICE}")
    assert "limit=10" in line and "client=127.0.0.1" in line, line


def test_imap_connection_that_never_logs_in_is_closed(make_server):
    """imap.login_timeout (60s by default; 2s here): a silent connection gets
    BYE and is closed, a logged-in one on the same server stays."""
    server = make_server(config={"imap.login_timeout": '"2s"'}, listen=IMAP_LISTEN)
    logged_in = imaps_login(server)
    idle = server.raw("imap", greet=False)
    assert idle.line().startswith("* OK ")
    lines = idle.lines_until_eof(timeout=15)
    assert lines == ["* BYE Autologout; no login in time"], lines
    assert logged_in.noop()[0] == "OK"
    logged_in.logout()
    [line] = security_lines(server, "event=login-timeout", "service=imap")
    assert "seconds=2" in line, line


# ---------------------------------------------------------------- item 6: cross-protocol junk

ALL_LISTEN = {**IMAP_LISTEN, "pop3": "127.0.0.1:0", "pop3s": "127.0.0.1:0"}
GREETING = {"smtp": "220 ", "submission": "220 ", "imap": "* OK ", "pop3": "+OK "}
# A browser's form POST whose body is mail commands (the ALPACA upload attack).
HTTP_POST = (
    b"POST /upload HTTP/1.1\r\nHost: mail.example.org\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 40\r\n\r\nEHLO x\r\na1 LOGIN alice secret\r\nUSER alice\r\n"
)


@pytest.mark.parametrize("listener", ["smtp", "submission", "imap", "pop3"])
def test_http_request_on_a_mail_port_closes_without_a_reply(make_server, listener):
    server = make_server(listen=ALL_LISTEN)
    raw = server.raw(listener, greet=False)
    assert raw.line().startswith(GREETING[listener])
    raw.send(HTTP_POST)
    assert raw.lines_until_eof(timeout=10) == []
    service = "pop3" if listener == "pop3" else listener
    [line] = security_lines(server, "event=cross-protocol", f"service={service}", "client=127.0.0.1")
    assert "HTTP request on a mail port" in line and "POST /upload HTTP/1.1" in line, line


def test_mail_commands_named_like_http_methods_still_work(make_server):
    """Only a whole request line is junk: an IMAP tag `GET` is a tag."""
    server = make_server(listen=ALL_LISTEN)
    raw = server.raw("imap", greet=False)
    raw.line()
    raw.send("GET NOOP\r\n")
    assert raw.line() == "GET OK NOOP completed"
    raw.close()


def alpn_context(protocols: list[str] | None) -> ssl.SSLContext:
    ctx = insecure_tls()
    if protocols:
        ctx.set_alpn_protocols(protocols)
    return ctx


@pytest.mark.parametrize("listener,alpn_id", [("smtps", "smtp"), ("imaps", "imap"), ("pop3s", "pop3")])
def test_tls_listener_refuses_alpn_of_another_protocol(make_server, listener, alpn_id):
    server = make_server(listen=ALL_LISTEN)
    with pytest.raises(ssl.SSLError, match="(?i)no.application.protocol"):
        with connect(server, listener) as s:
            alpn_context(["http/1.1", "h2"]).wrap_socket(s, server_hostname=HOSTNAME)
    wait_until(
        lambda: security_lines(server, "event=cross-protocol", f"service={listener}", "ALPN offer names another protocol"),
        what="the ALPN refusal in security.log",
    )
    # Our own protocol's ID, alone or among others, and no ALPN at all, are served.
    for offer in ([alpn_id], ["http/1.1", alpn_id], None):
        with connect(server, listener) as s:
            t = alpn_context(offer).wrap_socket(s, server_hostname=HOSTNAME)
            assert t.selected_alpn_protocol() == (alpn_id if offer else None)
            plain = {"smtps": "smtp", "imaps": "imap", "pop3s": "pop3"}[listener]
            assert first_line(t).startswith(GREETING[plain].encode())
            t.close()


def test_starttls_refuses_alpn_of_another_protocol(make_server):
    server = make_server(listen=ALL_LISTEN)
    raw = server.raw("imap", greet=False)
    raw.line()
    raw.send("a STARTTLS\r\n")
    assert raw.line().startswith("a OK")
    with pytest.raises(ssl.SSLError, match="(?i)no.application.protocol"):
        raw.wrap(alpn_context(["http/1.1"]))
    wait_until(
        lambda: security_lines(server, "event=cross-protocol", "service=imap", "ALPN offer names another protocol"),
        what="the ALPN refusal in security.log",
    )


# ---------------------------------------------------------------- item 3: NUL in served content

NUL_BODY = b"before\x00after\r\n\x00starts a line\r\n"


def fetch_items(c: imaplib.IMAP4, uid: bytes, items: str) -> dict[str, bytes | str]:
    """The items of one UID FETCH: literals as bytes, the rest as the text around them."""
    typ, data = c.uid("FETCH", uid, items)
    assert typ == "OK", data
    out, text = {}, ""
    for part in data:
        if isinstance(part, tuple):
            head = part[0].decode()
            text += head
            name = re.search(r"([A-Z0-9.]+(?:\[[^\]]*\])?(?:<\d+>)?) ~?\{\d+\}$", head).group(1)
            out[name] = part[1]
        elif part:
            text += part.decode()
    out["_text"] = text
    return out


def deliver_nul(server, big: bool = False) -> tuple[str, bytes]:
    from harness import token

    tok = token()
    body = NUL_BODY + (b"x" * 76 + b"\x00\r\n") * 4000 if big else NUL_BODY
    server.deliver(tok, body=body)
    server.wait_for_message(ALICE, tok)
    return tok, body


@pytest.mark.parametrize("big", [False, True], ids=["read-whole", "streamed"])
def test_imap_never_sends_nul_in_an_ordinary_literal(make_server, big):
    """BODY[…] and RFC822 carry 0x80 for each NUL, one octet for one, so
    RFC822.SIZE, the BODYSTRUCTURE size and the literal lengths agree with
    what is sent; BINARY gives the true octets in a literal8 (RFC 3516)."""
    server = make_server(listen=IMAP_LISTEN)
    tok, body = deliver_nul(server, big)
    c = imaps_login(server)
    c.select("INBOX", readonly=True)
    [uid] = c.uid("SEARCH", "SUBJECT", tok)[1][0].split()
    got = fetch_items(c, uid, "(RFC822.SIZE BODYSTRUCTURE BODY.PEEK[] BODY.PEEK[TEXT] BODY.PEEK[TEXT]<0.10>)")
    whole, text = got["BODY[]"], got["BODY[TEXT]"]
    for name in ("BODY[]", "BODY[TEXT]", "BODY[TEXT]<0>"):
        assert b"\x00" not in got[name], name
    expected_text = f"token {tok}\r\n".encode() + body
    assert text == expected_text.replace(b"\x00", b"\x80")
    assert got["BODY[TEXT]<0>"] == text[:10]
    size = int(re.search(r"RFC822\.SIZE (\d+)", got["_text"]).group(1))
    assert size == len(whole)
    assert f'"7BIT" {len(text)} ' in got["_text"].upper() or f'"8BIT" {len(text)} ' in got["_text"].upper(), got["_text"][:300]
    binary = fetch_items(c, uid, "(BINARY.PEEK[1])")
    assert binary["BINARY[1]"] == expected_text
    c.logout()


def test_pop3_never_sends_nul(make_server):
    from harness import POP3_LISTEN

    server = make_server(listen=POP3_LISTEN)
    tok, body = deliver_nul(server)
    p = server.pop3_login()
    count, _ = p.stat()
    listed = int(p.list(count).split()[2])
    resp, lines, octets = p.retr(count)
    wire = b"\r\n".join(lines) + b"\r\n"
    assert b"\x00" not in wire
    assert b"before\x80after\r\n\x80starts a line\r\n" in wire
    assert len(wire) == listed, (len(wire), listed)
    _, top, _ = p.top(count, 1)
    assert top[-1] == f"token {tok}".encode() and b"\x00" not in b"".join(top)
    p.quit()


# ---------------------------------------------------------------- item 8: 8-bit and UTF-8

def decoded(word: bytes) -> str:
    import email.header

    return str(email.header.make_header(email.header.decode_header(word.decode("ascii"))))


def test_rev1_client_gets_encoded_words_in_envelope(make_server):
    """RFC 6855 §3: without UTF8=ACCEPT (or IMAP4rev2) a client gets no 8-bit
    header text in ENVELOPE: 8-bit strings come as RFC 2047 encoded words,
    from the message and from the shared header cache alike; once it enables
    UTF8=ACCEPT it gets the UTF-8 itself. 7-bit strings stay as they are."""
    from harness import token

    server = make_server(listen=IMAP_LISTEN)
    tok = token()
    subject = f"Grüße aus 日本 {tok} " + "lang " * 20
    msg = (f"From: Jörg Müller <joerg@example.net>\r\nTo: Alice <{ALICE}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{tok}@example.net>\r\n\r\nhallo\r\n").encode()
    with server.smtp() as s:
        s.sendmail("joerg@example.net", [ALICE], msg)
    server.wait_for_message(ALICE, tok)
    c = imaps_login(server)
    c.select("INBOX")
    for attempt in ("from the message", "from the cache"):
        typ, data = c.fetch("1", "(ENVELOPE)")
        assert typ == "OK" and len(data) == 1 and isinstance(data[0], bytes), (attempt, data)
        env = data[0]
        assert env.isascii(), (attempt, env)
        m = re.search(rb'ENVELOPE \(NIL "([^"]+)" \(\("([^"]+)" NIL "joerg" "example.net"\)\)', env)
        assert m, (attempt, env)
        assert decoded(m.group(1)) == subject.strip() or decoded(m.group(1)) == subject, (attempt, decoded(m.group(1)))
        assert decoded(m.group(2)) == "Jörg Müller"
        assert b'(("Alice" NIL "alice" "example.org"))' in env and f'"<{tok}@example.net>"'.encode() in env
    other = imaps_login(server)
    other.enable("UTF8=ACCEPT")
    other.select("INBOX")
    typ, data = other.fetch("1", "(ENVELOPE)")
    parts = [p for d in data if isinstance(d, tuple) for p in d]
    assert subject.strip().encode() in parts or subject.encode() in parts, data
    assert "Jörg Müller".encode() in parts, data
    c.logout()
    other.logout()


@pytest.fixture
def seven_bit_sink():
    """A receiving server that does not offer 8BITMIME (RFC 6152)."""
    from smtp_sink import Sink

    s = Sink(capabilities=["PIPELINING", "SIZE 52428800", "ENHANCEDSTATUSCODES", "DSN"]).start()
    yield s
    s.stop()


def test_eight_bit_mail_to_a_hop_without_8bitmime_is_converted(make_server, dns, seven_bit_sink):
    """RFC 6152 §3: no 8-bit octet reaches a server that did not offer
    8BITMIME, and no BODY=8BITMIME either; the text and the attachment
    arrive intact, re-encoded as quoted-printable and base64."""
    from outbound import REMOTE, outbound_config, parse, submit, wait_queue_empty

    server = make_server(config=outbound_config(dns.address, seven_bit_sink.port))
    attachment = bytes(range(256))
    import base64

    body = (
        b"This is MIME.\r\n--sep\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Grüße aus Köln — ça va?\r\n.a line with a dot\r\n".encode()
        + b"--sep\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(attachment).replace(b"\n", b"\r\n")
        + b"--sep\r\nContent-Type: image/x-raw\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"")
        + b"\r\n--sep--\r\n"
    )
    headers = 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="sep"\r\n'
    tok = submit(server, f"carol@{REMOTE}", body=body, extra_headers=headers, mail_options=["BODY=8BITMIME"])
    [got] = seven_bit_sink.wait_for(1)
    assert "8BITMIME" not in got.mail_params.upper(), got.mail_params
    assert all(b < 0x80 for b in got.raw), "an 8-bit octet went to a 7-bit server"
    assert max(len(l) for l in got.body.split(b"\r\n")) <= 998
    m = parse(got.body)
    assert m["Subject"] == f"test {tok}"
    assert m["Return-Path"] is None, "a relayed copy, converted or not, gains no Return-Path (issue 13 item 9)"
    text, binary, raw = [p for p in m.walk() if not p.is_multipart()]
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    # The line end before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    assert text.get_content().replace("\r\n", "\n") == "Grüße aus Köln — ça va?\n.a line with a dot", text.get_content()
    assert binary.get_payload(decode=True) == attachment  # already 7-bit: sent as it was
    assert raw["Content-Transfer-Encoding"] == "base64"
    assert raw.get_payload(decode=True) == bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"")
    wait_queue_empty(server)


def test_eight_bit_header_to_a_hop_without_8bitmime_bounces(make_server, dns, seven_bit_sink):
    from outbound import REMOTE, dsn_fields, outbound_config, parse, submit

    server = make_server(config=outbound_config(dns.address, seven_bit_sink.port))
    submit(server, f"carol@{REMOTE}", extra_headers="X-Note: Grüße\r\n", body="Grüße\r\n")
    dsn = server.wait_for_message(ALICE, "Undelivered", timeout=15)
    per_message, [rcpt] = dsn_fields(parse(dsn))
    assert rcpt["status"] == "5.6.3", rcpt
    assert "does not support 8BITMIME" in rcpt.get("diagnostic-code", ""), rcpt
    assert not seven_bit_sink.messages
