"""Where accepted mail ends up (M1, D3, D4, M3, M9): aliases, catch-all,
groups, SMTPUTF8 and CHUNKING, big messages, crashes, mbox export."""

import hashlib
import smtplib

from harness import ALICE, BOB, DIRECTORY_PROPAGATION, make_message, split_mbox, token, wait_until


def rcpt_accepted_soon(server, address):
    """Retries RCPT until a just-made directory change reaches the running server."""

    def accepted():
        with server.smtp() as s:
            s.ehlo()
            s.mail("sender@example.net")
            code, msg = s.rcpt(address)
            assert code == 250, f"RCPT {address}: {code} {msg!r}"
            return True

    wait_until(accepted, DIRECTORY_PROPAGATION, what=f"RCPT {address} to be accepted")


# ------------------------------------------------------------ directory changes while running


def test_alias_added_while_running_delivers_to_its_target(server):
    server.cli("alias", "add", "info@example.org", ALICE)
    rcpt_accepted_soon(server, "info@example.org")
    tok = token()
    assert server.deliver(tok, "info@example.org") == {}
    server.wait_for_message(ALICE, tok)
    assert server.find(BOB, tok) == []


def test_catch_all_takes_unknown_local_addresses(server):
    server.cli("alias", "add", "@example.org", BOB)
    rcpt_accepted_soon(server, "anything-else@example.org")
    tok, direct = token(), token()
    server.deliver(tok, "anything-else@example.org")
    server.deliver(direct, ALICE)
    server.wait_for_message(BOB, tok)
    # A real mailbox still wins over the catch-all.
    server.wait_for_message(ALICE, direct)
    assert server.find(BOB, direct) == []
    assert server.find(ALICE, tok) == []


def test_group_delivers_to_every_member(server):
    server.cli("group", "add", "team@example.org", "--member", ALICE, "--member", BOB)
    rcpt_accepted_soon(server, "team@example.org")
    tok = token()
    server.deliver(tok, "team@example.org")
    server.wait_for_message(ALICE, tok)
    server.wait_for_message(BOB, tok)


def test_user_added_while_running_receives_mail(server):
    server.add_user("carol@example.org", "Christmas-3-Song")
    rcpt_accepted_soon(server, "carol@example.org")
    tok = token()
    server.deliver(tok, "carol@example.org")
    server.wait_for_message("carol@example.org", tok)


def test_same_user_twice_in_one_message_gets_one_copy(server):
    server.cli("alias", "add", "info@example.org", ALICE)
    rcpt_accepted_soon(server, "info@example.org")
    tok, after = token(), token()
    server.deliver(tok, [ALICE, "info@example.org"])
    server.deliver(after, ALICE)
    server.wait_for_message(ALICE, after)
    assert len(server.find(ALICE, tok)) == 1


# ------------------------------------------------------------ SMTPUTF8 and CHUNKING


def test_smtputf8_address_is_delivered(make_server):
    server = make_server(start=False)
    server.add_user("ünïcödé@example.org", "Unicode-secret-1")
    server.start()
    tok = token()
    with server.raw() as r:
        r.ehlo()
        r.expect(b"MAIL FROM:<sender@example.net> SMTPUTF8", 250)
        r.expect("RCPT TO:<ünïcödé@example.org>".encode(), 250)
        r.expect("DATA", 354)
        msg = make_message(tok, to="ünïcödé@example.org", body="Grüße aus Köln — ✓\r\n")
        r.send(msg + b".\r\n")
        assert r.reply().code == 250
    got = server.wait_for_message("ünïcödé@example.org", tok)
    assert "Grüße aus Köln — ✓" in got
    assert "To: <ünïcödé@example.org>" in got


def test_utf8_address_without_smtputf8_is_refused(make_server):
    server = make_server(start=False)
    server.add_user("ünïcödé@example.org", "Unicode-secret-1")
    server.start()
    with server.raw() as r:
        r.ehlo()
        r.expect(b"MAIL FROM:<sender@example.net>", 250)
        reply = r.cmd("RCPT TO:<ünïcödé@example.org>".encode())
        # RFC 6531 §3.5: a non-ASCII address without SMTPUTF8 is 553 5.6.7.
        assert reply.code == 553 and reply.lines[-1].startswith("5.6.7 "), reply
        r.expect("QUIT", 221)
    line = 'event=refused service=smtp client=127.0.0.1 user="" from=sender@example.net to="ünïcödé@example.org" result="553 5.6.7"'
    wait_until(lambda: line in server.log("mail.log"), 5, what=f"{line} in mail.log")


def bdat_send(r, chunks):
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        r.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
        reply = r.reply()
        assert reply.code == 250, f"BDAT chunk {i}: {reply}"


def message_from_marker(exported: str, marker: str) -> str:
    """The part of a delivered message from the first header the client wrote:
    what the server added (Return-Path, Received) comes before it."""
    at = exported.index(marker)
    return exported[at:]


def test_bdat_message_is_delivered_exactly_as_sent(server):
    tok = token()
    first_header = f"X-Probe: {tok}\r\n"
    # Lines that DATA would dot-stuff or end on: BDAT must take them literally.
    body = (
        "Subject: chunked\r\n"
        "\r\n"
        ".leading dot\r\n"
        "..two dots\r\n"
        ".\r\n"
        "after a lone dot\r\n"
        "tab\tand trailing space \r\n"
        "ümlaut 8-bit\r\n"
    )
    message = (first_header + body).encode()
    chunks = [message[:7], message[7:40], message[40:]]
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@example.net> BODY=8BITMIME", 250)
        r.expect(f"RCPT TO:<{ALICE}>", 250)
        bdat_send(r, chunks)
        r.expect("NOOP", 250)

    def delivered():
        hits = [m for m in server.messages(ALICE) if tok in m]
        return hits[0] if hits else None

    got = wait_until(delivered, 10, what="the BDAT message")
    # Export writes LF line ends; everything else must be byte for byte what was sent.
    expected = message.decode().replace("\r\n", "\n")
    assert message_from_marker(got, "X-Probe:") == expected


def test_bdat_empty_last_chunk(server):
    tok = token()
    message = make_message(tok)
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@example.net>", 250)
        r.expect(f"RCPT TO:<{ALICE}>", 250)
        bdat_send(r, [message, b""])
    server.wait_for_message(ALICE, tok)


# ------------------------------------------------------------ big messages


def test_50_mb_message_is_delivered_without_holding_it_in_memory(server):
    tok = token()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-big-line\r\n"
    body = line * (50_000_000 // len(line))
    message = make_message(tok, body=body)
    assert len(message) >= 50_000_000
    with smtplib.SMTP(*server.addr("smtp"), local_hostname="client.test", timeout=300) as s:
        assert s.sendmail("sender@example.net", [ALICE], message) == {}
    peak_mb = server.peak_rss_kb() / 1024
    assert peak_mb < 200, f"server peak RSS {peak_mb:.0f} MB while receiving 50 MB"

    got = server.wait_for_message(ALICE, tok, timeout=60)
    exported = message_from_marker(got, "From: <sender@example.net>").encode()
    expected = message.replace(b"\r\n", b"\n")
    assert len(exported) == len(expected), f"exported {len(exported)} bytes, sent {len(expected)} (LF-normalised)"
    assert hashlib.sha256(exported).hexdigest() == hashlib.sha256(expected).hexdigest()


# ------------------------------------------------------------ crash safety


def test_message_acknowledged_before_a_crash_survives_it(make_server):
    """A process crash (SIGKILL) loses nothing acknowledged. It leaves the page
    cache intact, so it cannot show the fsync before the 250: test_durability.py
    checks that order with strace."""
    server = make_server()
    tok = token()
    with server.smtp() as s:
        s.ehlo()
        s.mail("sender@example.net")
        s.rcpt(ALICE)
        code, _ = s.data(make_message(tok))
        assert code == 250
        server.kill()  # SIGKILL right after the 250, before any graceful shutdown
    server.start()
    server.wait_for_message(ALICE, tok, timeout=15)


def test_restart_keeps_mail_and_serves_again(make_server):
    server = make_server()
    before, after = token(), token()
    server.deliver(before)
    server.wait_for_message(ALICE, before)
    server.stop()
    server.start()
    server.deliver(after)
    server.wait_for_message(ALICE, after)
    assert len(server.find(ALICE, before)) == 1, "message lost or duplicated by the restart"


# ------------------------------------------------------------ mbox export


def test_mbox_export_separates_messages_and_quotes_from_lines(server):
    one, two = token(), token()
    server.deliver(one, body="First message.\r\n")
    server.deliver(two, body="From here on, a line that looks like a separator.\r\n>From already quoted.\r\n")
    server.wait_for_message(ALICE, one)
    server.wait_for_message(ALICE, two)
    text = server.export(ALICE)
    assert text.startswith("From "), text[:200]
    separators = [l for l in text.split("\n") if l.startswith("From ")]
    assert len(separators) == 2, separators
    assert all(l.startswith("From sender@example.net ") for l in separators), separators
    messages = split_mbox(text)
    assert [one in m for m in messages] == [True, False]
    assert [two in m for m in messages] == [False, True]
    assert "\n>From here on, a line that looks like a separator.\n" in messages[1]
    assert "\n>>From already quoted.\n" in messages[1]
