"""SMTP security options (issue 6 item 6, SPEC X3): messages per hour per
client IP and per user (452 4.7.0), unknown recipients per session (421 and
close), HELO checks. Limits answer 4xx, never 5xx."""

from __future__ import annotations

from harness import ALICE, ALICE_PASSWORD, BOB, make_message, token


def test_unknown_recipients_end_the_session(make_server):
    server = make_server(config={"smtp.max_unknown_recipients": "3"})
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<x@remote.example>", 250)
        for i in range(3):
            r.expect(f"RCPT TO:<nobody{i}@example.org>", 550, "5.1.1")
        r.send(b"RCPT TO:<nobody9@example.org>\r\n")
        assert r.reply().code == 550
        assert r.reply().code == 421
        assert r.lines_until_eof(5) == []
    assert "event=unknown-recipients" in server.log("security.log")


def test_messages_per_hour_per_ip(make_server):
    server = make_server(config={"smtp.max_messages_per_hour_ip": "2"})
    for _ in range(2):
        assert not server.deliver(token(), to=ALICE)
    with server.smtp() as s:
        s.ehlo()
        code, msg = s.mail("x@remote.example")
        assert code == 452 and b"4.7.0" in msg
    assert "event=rate-limited" in server.log("security.log")


def test_messages_per_hour_per_user(make_server):
    server = make_server(config={"smtp.max_messages_per_hour_user": "1"})
    with server.submission(ALICE, ALICE_PASSWORD) as s:
        assert not s.sendmail(ALICE, [BOB], make_message(token(), ALICE, BOB))
        code, msg = s.mail(ALICE)
        assert code == 452 and b"4.7.0" in msg


def test_helo_checks(make_server):
    server = make_server(config={"smtp.helo_checks": "true"})
    with server.raw() as r:
        r.expect("EHLO localhost", 504, "5.5.2")
        r.expect("HELO 192.0.2.1", 504)
        r.expect("EHLO [127.0.0.1]", 250)
        r.expect("EHLO mail.example.net", 250)
