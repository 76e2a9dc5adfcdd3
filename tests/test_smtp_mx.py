"""The MX port (S1): what a sending mail server sees, and what lands in the mailbox."""

import base64
import re

from harness import ALICE, ALICE_PASSWORD, BOB, HOSTNAME, header_values, insecure_tls, make_message, token

MX_EXTENSIONS = ["pipelining", "size", "8bitmime", "smtputf8", "chunking", "enhancedstatuscodes", "dsn"]


def test_greeting_names_the_server(server):
    with server.raw(greet=False) as r:
        greeting = r.reply()
    assert greeting.code == 220
    assert greeting.raw[0].startswith(f"220 {HOSTNAME}"), greeting
    assert "ESMTP" in greeting.raw[0], greeting


def test_ehlo_offers_the_mx_extensions_and_starttls_but_no_auth(server):
    with server.smtp() as s:
        code, _ = s.ehlo()
        assert code == 250
        for ext in MX_EXTENSIONS:
            assert s.has_extn(ext), f"EHLO lacks {ext}: {s.esmtp_features}"
        assert re.fullmatch(r"\d+", s.esmtp_features["size"]), f"SIZE without a number: {s.esmtp_features['size']!r}"
        assert int(s.esmtp_features["size"]) > 0
        assert s.has_extn("starttls"), s.esmtp_features
        assert not s.has_extn("auth"), f"MX port offers AUTH before TLS: {s.esmtp_features}"


def test_no_auth_on_mx_port_even_after_starttls(server):
    with server.smtp() as s:
        s.ehlo()
        s.starttls(context=insecure_tls())
        s.ehlo()
        assert not s.has_extn("auth"), f"MX port offers AUTH after TLS: {s.esmtp_features}"
        assert not s.has_extn("starttls"), "STARTTLS offered again inside TLS"
        # alice's real password: a 535 (wrong password) would not show that
        # AUTH itself is refused here.
        plain = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()
        code, msg = s.docmd("AUTH", f"PLAIN {plain}")
        assert (code, msg) == (502, b"5.5.1 AUTH is not offered on this service"), f"AUTH on the MX port answered {code} {msg!r}"


def test_plain_delivery_to_a_local_user(server):
    tok = token()
    with server.smtp() as s:
        s.ehlo()
        assert s.mail("sender@example.net")[0] == 250
        assert s.rcpt(ALICE)[0] == 250
        code, _ = s.data(make_message(tok))
        assert code == 250
    msg = server.wait_for_message(ALICE, tok)
    assert msg.split("\n", 1)[0].rstrip("\r") == "Return-Path: <sender@example.net>", msg[:300]
    received = header_values(msg, "Received")
    assert received, msg[:500]
    top = received[0]
    assert f"by {HOSTNAME}" in top, top
    assert re.search(r"\bwith ESMTP\b(?![SA])", top), f"expected `with ESMTP`: {top}"
    assert f"token {tok}" in msg


def test_delivery_after_starttls_records_tls_in_received(server):
    tok = token()
    with server.smtp() as s:
        s.ehlo()
        s.starttls(context=insecure_tls())
        version = s.sock.version()
        s.ehlo()
        s.sendmail("sender@example.net", [ALICE], make_message(tok))
    msg = server.wait_for_message(ALICE, tok)
    top = header_values(msg, "Received")[0]
    assert re.search(r"\bwith ESMTPS\b", top), f"expected `with ESMTPS`: {top}"
    assert version in top, f"Received does not name {version}: {top}"


def test_unknown_local_recipient_is_refused_at_rcpt(server):
    with server.smtp() as s:
        s.ehlo()
        s.mail("sender@example.net")
        code, msg = s.rcpt("nobody@example.org")
        assert code == 550, msg
        assert msg.startswith(b"5.1.1"), msg


def test_mx_port_is_not_an_open_relay(server):
    with server.smtp() as s:
        s.ehlo()
        s.mail("sender@example.net")
        code, msg = s.rcpt("x@remote.test")
        assert code == 554, msg
        assert msg.startswith(b"5.7.1"), msg
        # A local recipient in the same transaction still works.
        assert s.rcpt(BOB)[0] == 250


def test_mx_relay_refused_even_after_starttls(server):
    with server.smtp() as s:
        s.ehlo()
        s.starttls(context=insecure_tls())
        s.ehlo()
        s.mail("someone@remote.example")
        code, msg = s.rcpt("x@remote.test")
        assert code == 554, msg


def test_several_messages_in_one_session(server):
    toks = [token() for _ in range(3)]
    with server.smtp() as s:
        for tok in toks:
            assert s.sendmail("sender@example.net", [ALICE], make_message(tok)) == {}
            assert s.rset()[0] == 250
    for tok in toks:
        server.wait_for_message(ALICE, tok)


def test_one_message_to_two_local_users(server):
    tok = token()
    with server.smtp() as s:
        refused = s.sendmail("sender@example.net", [ALICE, BOB], make_message(tok))
    assert refused == {}
    server.wait_for_message(ALICE, tok)
    server.wait_for_message(BOB, tok)


def test_quit_says_goodbye(server):
    with server.raw() as r:
        r.ehlo()
        assert r.cmd("QUIT").code == 221
        assert r.lines_until_eof(10) == []

