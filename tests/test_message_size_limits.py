"""Maximum message size per domain and per user (issue 6 item 6, SPEC X3):
`postern domain set NAME --max-message-size SIZE` and `postern user set
ADDRESS --max-message-size SIZE` (`none` clears). A user's own limit, else
their domain's, never above smtp.max_message_size, holds the authenticated
sender (MAIL SIZE=, end of data) and each local recipient (RCPT with
SIZE=: that recipient only; end of data: the whole message) to 552 5.3.4."""

from __future__ import annotations

import smtplib

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, DIRECTORY_PROPAGATION, make_message, token, wait_until

BIG = "x" * 76 + "\r\n"  # one 78-byte line; 256 of them are 20 KB


def message(tok: str, sender: str, to: str, kb: int) -> bytes:
    return make_message(tok, sender, to, body=BIG * (kb * 1024 // len(BIG)))


def declared_mail(s: smtplib.SMTP, sender: str, size: int) -> tuple[int, bytes]:
    return s.mail(sender, [f"SIZE={size}"])


def wait_for_sender_limit(server, user: str, password: str, size: int, code: int) -> None:
    """A limit set with the CLI reaches the running server within a deadline."""

    def verdict():
        with server.submission(user, password) as s:
            got, msg = declared_mail(s, user, size)
            assert got == code, f"MAIL SIZE={size}: {got} {msg!r}"
        return True

    wait_until(verdict, DIRECTORY_PROPAGATION, what=f"MAIL SIZE={size} to get {code}")


def assert_too_big(code: int, msg: bytes) -> None:
    assert code == 552 and b"5.3.4" in msg, (code, msg)


def test_the_senders_own_limit_at_mail_and_at_the_end_of_data(server):
    assert server.cli("user", "set", ALICE, "--max-message-size", "10K").stdout.strip().endswith("10K")
    wait_for_sender_limit(server, ALICE, ALICE_PASSWORD, 20_000, 552)
    with server.submission() as s:
        code, msg = declared_mail(s, ALICE, 20_000)
        assert_too_big(code, msg)
        assert b"sender" in msg
        s.rset()
        # Undeclared: counted while it arrives, refused at its end.
        assert s.mail(ALICE)[0] == 250
        assert s.rcpt(BOB)[0] == 250
        code, msg = s.data(message(token(), ALICE, BOB, 20))
        assert_too_big(code, msg)
        # Under the limit it goes.
        tok = token()
        assert not s.sendmail(ALICE, [BOB], message(tok, ALICE, BOB, 4))
    server.wait_for_message(BOB, tok)
    # Bob has no limit: the same 20 KB goes.
    tok = token()
    with server.submission(BOB, BOB_PASSWORD) as s:
        assert not s.sendmail(BOB, [BOB], message(tok, BOB, BOB, 20))
    server.wait_for_message(BOB, tok)


def test_domain_limit_user_override_and_the_global_cap(make_server):
    server = make_server(config={"smtp.max_message_size": '"1M"'})
    server.cli("domain", "set", "example.org", "--max-message-size", "8K")
    wait_for_sender_limit(server, BOB, BOB_PASSWORD, 10_000, 552)
    # The user's own limit replaces the domain's, even a larger one...
    server.cli("user", "set", ALICE, "--max-message-size", "64K")
    wait_for_sender_limit(server, ALICE, ALICE_PASSWORD, 60_000, 250)
    # ...but never goes above the global one.
    server.cli("user", "set", ALICE, "--max-message-size", "2M")
    with server.submission() as s:
        code, msg = declared_mail(s, ALICE, 1_500_000)
        assert_too_big(code, msg)
        s.rset()
        assert declared_mail(s, ALICE, 1_000_000)[0] == 250
        s.rset()
        # EHLO still advertises the global size.
        assert s.ehlo()[0] == 250 and s.esmtp_features["size"] == str(1 << 20)
    # `none` clears: bob's domain limit goes, and with it the refusal.
    server.cli("domain", "set", "example.org", "--max-message-size", "none")
    wait_for_sender_limit(server, BOB, BOB_PASSWORD, 10_000, 250)


def test_mx_recipient_limit_refuses_that_recipient_only_when_declared(server):
    server.cli("user", "set", BOB, "--max-message-size", "10K")
    tok = token()
    with server.smtp() as s:
        # smtplib declares SIZE= itself: bob is refused at RCPT, alice gets it.
        refused = s.sendmail("sender@remote.example", [BOB, ALICE], message(tok, "sender@remote.example", ALICE, 20))
    assert list(refused) == [BOB]
    code, msg = refused[BOB]
    assert_too_big(code, msg)
    assert b"recipient" in msg
    server.wait_for_message(ALICE, tok)
    assert not server.find(BOB, tok)
    assert 'result="552 5.3.4"' in server.log("mail.log")


def test_mx_undeclared_size_over_a_recipients_limit_refuses_the_whole_message(server):
    server.cli("user", "set", BOB, "--max-message-size", "10K")
    tok = token()
    with server.smtp() as s:
        s.ehlo()
        assert s.mail("sender@remote.example")[0] == 250
        assert s.rcpt(ALICE)[0] == 250
        assert s.rcpt(BOB)[0] == 250
        code, msg = s.data(message(tok, "sender@remote.example", ALICE, 20))
        assert_too_big(code, msg)
        # A small message to both still goes.
        small = token()
        assert not s.sendmail("sender@remote.example", [ALICE, BOB], message(small, "sender@remote.example", ALICE, 2))
    server.wait_for_message(BOB, small)
    server.wait_for_message(ALICE, small)
    assert not server.find(ALICE, tok) and not server.find(BOB, tok)


def test_bdat_is_held_to_the_recipients_limit(server):
    server.cli("user", "set", BOB, "--max-message-size", "10K")
    body = message(token(), "sender@remote.example", BOB, 20)
    with server.raw("smtp") as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@remote.example>", 250)
        r.expect(f"RCPT TO:<{BOB}>", 250)
        half = len(body) // 2
        r.send(f"BDAT {half}\r\n".encode() + body[:half])
        assert r.reply().code == 250
        r.send(f"BDAT {len(body) - half} LAST\r\n".encode() + body[half:])
        reply = r.reply()
        assert reply.code == 552 and "5.3.4" in reply.text, reply
        r.expect("NOOP", 250)


def test_cli_shows_clears_and_refuses_mistakes(server):
    server.cli("domain", "set", "example.org", "--max-message-size", "10M")
    server.cli("user", "set", ALICE, "--max-message-size", "512K")
    assert server.cli("domain", "list").stdout == "example.org\tmax-message-size=10M\n"
    lines = {l.split("\t")[0]: l for l in server.cli("user", "list").stdout.splitlines()}
    assert lines[ALICE].endswith("\tmax-message-size=512K")
    assert "max-message-size" not in lines[BOB]
    server.cli("user", "set", ALICE, "--max-message-size", "none")
    server.cli("domain", "set", "example.org", "--max-message-size", "NONE")
    assert server.cli("domain", "list").stdout == "example.org\n"
    assert "max-message-size" not in server.cli("user", "list").stdout

    mistakes = [
        (["user", "set", "nobody@example.org", "--max-message-size", "1M"], "nobody@example.org does not exist"),
        (["domain", "set", "elsewhere.test", "--max-message-size", "1M"], "elsewhere.test does not exist"),
        (["user", "set", ALICE, "--max-message-size", "lots"], "--max-message-size"),
        (["user", "set", ALICE, "--max-message-size", "0"], "none to clear"),
        (["user", "set", ALICE], "--max-message-size"),
    ]
    for args, words in mistakes:
        p = server.cli(*args, check=False)
        assert p.returncode != 0, args
        assert words in p.stderr, (args, p.stderr)


def test_submission_to_a_local_recipient_with_a_smaller_limit(server):
    server.cli("user", "set", ALICE, "--max-message-size", "1M")
    server.cli("user", "set", BOB, "--max-message-size", "10K")
    with server.submission() as s:
        assert declared_mail(s, ALICE, 20_000)[0] == 250
        code, msg = s.rcpt(BOB)
        assert_too_big(code, msg)
        assert b"recipient" in msg
        s.rset()
        # Undeclared: bob's limit is the smallest, so the whole message is refused.
        assert s.mail(ALICE)[0] == 250
        assert s.rcpt(ALICE)[0] == 250 and s.rcpt(BOB)[0] == 250
        code, msg = s.data(message(token(), ALICE, BOB, 20))
        assert_too_big(code, msg)
        assert b"recipient" in msg
