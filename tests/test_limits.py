"""Limits and malformed input (X3): each limit crossed once, and the session
stays usable (or is closed cleanly) afterwards."""

import time

import pytest

from harness import ALICE, BOB, make_message, token

# RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included.
MAX_LINE = 512


def test_command_line_of_exactly_512_octets_is_accepted(server):
    line = b"NOOP " + b"x" * (MAX_LINE - len(b"NOOP ") - 2)
    assert len(line) + 2 == MAX_LINE
    with server.raw() as r:
        r.ehlo()
        r.expect(line, 250)


@pytest.mark.parametrize("length", [MAX_LINE + 1, 600, 20_000])
def test_command_line_over_512_octets_is_refused_and_session_continues(server, length):
    line = b"NOOP " + b"x" * (length - len(b"NOOP ") - 2)
    assert len(line) + 2 == length
    with server.raw() as r:
        r.ehlo()
        r.expect(line, 500, "5.5.2")
        r.expect("NOOP", 250)
        # And a whole transaction still works.
        tok = token()
        r.expect("MAIL FROM:<sender@example.net>", 250)
        r.expect(f"RCPT TO:<{ALICE}>", 250)
        r.expect("DATA", 354)
        r.send(make_message(tok) + b".\r\n")
        assert r.reply().code == 250
    server.wait_for_message(ALICE, tok)


def test_too_many_recipients(make_server):
    server = make_server(config={"smtp.max_recipients": "3"}, start=False)
    server.add_user("carol@example.org", "Christmas-3-Song")
    server.add_user("dave@example.org", "Diving-9-Deep")
    server.start()
    tok = token()
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@example.net>", 250)
        for rcpt in (ALICE, BOB, "carol@example.org"):
            r.expect(f"RCPT TO:<{rcpt}>", 250)
        r.expect("RCPT TO:<dave@example.org>", 452, "4.5.3")
        r.expect("DATA", 354)
        r.send(make_message(tok) + b".\r\n")
        assert r.reply().code == 250
    for rcpt in (ALICE, BOB, "carol@example.org"):
        server.wait_for_message(rcpt, tok)
    assert server.find("dave@example.org", tok) == []
    # The refusal is in mail.log like any other refused recipient.
    line = 'event=refused service=smtp client=127.0.0.1 user="" from=sender@example.net to=dave@example.org result="452 4.5.3"'
    assert line in server.log("mail.log"), server.log("mail.log")


def test_declared_size_over_the_limit_is_refused_at_mail(server):
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<a@b> SIZE=999999999999", 552, "5.3.4")
        # The refusal leaves the session usable.
        r.expect("MAIL FROM:<sender@example.net> SIZE=1000", 250)


def test_message_bigger_than_the_limit_is_refused_after_data_and_not_delivered(make_server):
    server = make_server(config={"smtp.max_message_size": "100K"})
    big, small = token(), token()
    body = ("x" * 78 + "\r\n") * 2000  # 160 KB
    with server.smtp() as s:
        s.ehlo()
        # No SIZE parameter: the server only learns the size from the data.
        assert s.mail("sender@example.net")[0] == 250
        assert s.rcpt(ALICE)[0] == 250
        code, msg = s.data(make_message(big, body=body))
        assert code == 552, msg
        assert msg.startswith(b"5.3.4"), msg
        # The session goes on: a small message right after is accepted.
        assert s.rset()[0] == 250
        assert s.sendmail("sender@example.net", [ALICE], make_message(small)) == {}
    server.wait_for_message(ALICE, small)
    assert server.find(ALICE, big) == [], "the oversized message was delivered"


@pytest.mark.parametrize(
    "command",
    [
        b"MAIL FROM:<a\x00b@example.net>",
        b"MAIL FROM:<\xff@example.net>",
        b"EHLO client\x00.test",
        b"EHLO client\xff.test",
    ],
    ids=["mail-nul", "mail-invalid-utf8", "ehlo-nul", "ehlo-invalid-utf8"],
)
def test_nul_or_invalid_utf8_in_a_command_is_a_syntax_error(server, command):
    with server.raw() as r:
        r.ehlo()
        r.expect(command, 501)
        r.expect("NOOP", 250)


def test_bdat_before_mail_is_refused_and_its_chunk_skipped(server):
    with server.raw() as r:
        r.ehlo()
        # Pipelined in one write: the 5 chunk bytes must be consumed, not read as a command.
        r.send(b"BDAT 5\r\nhelloNOOP\r\n")
        first = r.reply()
        assert first.code == 503, first
        second = r.reply()
        assert second.code == 250, f"session out of sync after BDAT refusal: {second}"


def test_bdat_with_a_bad_size_is_a_syntax_error(server):
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@example.net>", 250)
        r.expect(f"RCPT TO:<{ALICE}>", 250)
        r.expect("BDAT abc", 501)
        r.expect("NOOP", 250)


def test_early_talker_is_dropped(make_server):
    server = make_server(config={"smtp.greeting_delay": "2s"})
    with server.raw(greet=False) as r:
        r.send(b"EHLO client.test\r\n")
        lines = r.lines_until_eof(20)
    assert not any(l.startswith("220") for l in lines), f"early talker got a greeting: {lines}"
    assert all(l.startswith("554") for l in lines), f"unexpected replies to an early talker: {lines}"


def test_patient_client_gets_the_delayed_greeting(make_server):
    server = make_server(config={"smtp.greeting_delay": "2s"})
    started = time.monotonic()
    with server.raw(greet=False) as r:
        greeting = r.reply(timeout=20)
        waited = time.monotonic() - started
        assert greeting.code == 220, greeting
        assert waited >= 1.5, f"greeting after {waited:.2f}s, not delayed"
        r.ehlo()


def test_idle_client_is_timed_out(make_server):
    server = make_server(config={"smtp.command_timeout": "2s"})
    started = time.monotonic()
    with server.raw() as r:
        r.ehlo()
        lines = r.lines_until_eof(20)
    waited = time.monotonic() - started
    assert any(l.startswith("421 4.4.2") for l in lines), lines
    assert waited >= 1.5, f"closed after {waited:.2f}s, before the 2s timeout"


def test_stalled_data_is_timed_out_and_not_delivered(make_server):
    server = make_server(config={"smtp.data_timeout": "2s"})
    stalled, later = token(), token()
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<sender@example.net>", 250)
        r.expect(f"RCPT TO:<{ALICE}>", 250)
        r.expect("DATA", 354)
        r.send(make_message(stalled))  # no end-of-data: the client stalls
        lines = r.lines_until_eof(20)
    assert any(l.startswith("421") for l in lines), lines
    server.deliver(later)
    server.wait_for_message(ALICE, later)
    assert server.find(ALICE, stalled) == []


def test_too_many_errors_close_the_session(make_server):
    server = make_server(config={"smtp.max_errors": "3"})
    with server.raw() as r:
        r.ehlo()
        replies = []
        for _ in range(4):
            r.send(b"BOGUS\r\n")
            reply = r.reply()
            replies.append(reply)
            if reply.code == 421:
                break
        assert replies[-1].code == 421, f"no 421 after {len(replies)} errors: {replies}"
        assert all(x.code >= 500 for x in replies[:-1]), replies
        assert r.lines_until_eof(10) == []
