"""Greylisting (issue 16 item 3), the greeting delay's exempt group (item 2)
and the antispam counters of `postern spam stats` (item 8).

Greylisting runs on the real clock here with `greylist.delay = "2s"`; the
whole cycle with the default times (the 36-day auto-whitelist, the 4-hour
window) is unit-tested with a ManualClock (crates/smtp/src/greylist.rs).
Clients come from 127.0.0.1 (network 127.0.0.0/24) or, bound to another
loopback address, from 127.0.1.1 (127.0.1.0/24): another network."""

from __future__ import annotations

import smtplib
import socket
import time

from harness import ALICE, BOB, IO_TIMEOUT, Raw, make_message, token, wait_until

DELAY = 2.0
GREYLIST = {"greylist.enabled": "true", "greylist.delay": '"2s"'}
OTHER_NET = "127.0.1.1"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def smtp_from(server, source: str | None = None) -> smtplib.SMTP:
    host, port = server.addr("smtp")
    src = (source, 0) if source else None
    return smtplib.SMTP(host, port, local_hostname="client.test", timeout=IO_TIMEOUT, source_address=src)


def rcpt(server, sender: str, source: str | None = None, to: str = ALICE) -> tuple[int, bytes]:
    """MAIL and one RCPT; the RCPT's reply."""
    with smtp_from(server, source) as s:
        s.ehlo()
        assert s.mail(sender)[0] == 250
        return s.rcpt(to)


def send(server, tok: str, sender: str, source: str | None = None, body: str = "Hello.") -> None:
    """One message on port 25; raises SMTPRecipientsRefused when greylisted."""
    with smtp_from(server, source) as s:
        s.sendmail(sender, [ALICE], make_message(tok, sender, ALICE, body + "\r\n"))


def greylisted(reply: tuple[int, bytes]) -> bool:
    code, text = reply
    return code == 451 and text.startswith(b"4.7.1 Greylisted, try again in ")


def pass_the_delay(sender: str, server, source: str | None = None) -> tuple[str, int]:
    """Retries the message until it is accepted (the delay has passed): its
    token and how many times it was deferred on the way."""
    tok = token()
    deferred = 0

    def accepted():
        nonlocal deferred
        try:
            send(server, tok, sender, source)
            return True
        except smtplib.SMTPRecipientsRefused as e:
            assert greylisted(e.recipients[ALICE]), e.recipients
            deferred += 1
            return False

    wait_until(accepted, DELAY + 10, interval=0.5, what="the retry accepted after the delay")
    return tok, deferred


def wait_past(deadline: float) -> None:
    """Waits for a point in time greylisting's delay is measured against."""
    wait_until(lambda: time.monotonic() >= deadline, deadline - time.monotonic() + 5, what="the delay")


def stats(server) -> dict[str, str]:
    out = server.cli("spam", "stats").stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


def test_greylisting_is_off_by_default(server):
    send(server, token(), f"{token()}@remote.example")  # accepted at once
    assert "event=greylisted" not in server.log("mail.log")


def test_greylisting_cycle(make_server):
    server = make_server(config=GREYLIST)
    sender = f"{token()}@Remote.Example"
    first = rcpt(server, sender)
    assert greylisted(first) and first[1].endswith(b"in 2 seconds"), first
    # An immediate retry: still too soon.
    assert greylisted(rcpt(server, sender.lower()))
    tok, _ = pass_the_delay(sender, server)
    server.wait_for_message(ALICE, tok)
    # The network passed: another sender from it, to another user, at once.
    send(server, token(), f"{token()}@elsewhere.example")
    assert rcpt(server, "", to=BOB)[0] == 250  # the null sender too
    # Another /24 is not whitelisted.
    assert greylisted(rcpt(server, sender, source=OTHER_NET))
    log = server.log("mail.log")
    assert "event=greylisted service=smtp client=127.0.0.1 network=127.0.0.0/24" in log, log
    assert 'network=127.0.1.0/24' in log and 'result="451 4.7.1"' in log, log


def test_deferrals_do_not_count_as_client_errors(make_server):
    # smtp.max_errors closes a session after that many error replies; a
    # legitimate MTA delivering to many recipients must not be cut off by 451s.
    server = make_server(config={**GREYLIST, "greylist.delay": '"1h"', "smtp.max_errors": "3"})
    with smtp_from(server) as s:
        s.ehlo()
        assert s.mail(f"{token()}@list.example")[0] == 250
        for n in range(6):
            reply = s.rcpt(ALICE if n % 2 else BOB)
            assert greylisted(reply) and reply[1].endswith(b" seconds"), (n, reply)
        assert s.noop()[0] == 250
    wait_until(lambda: server.log("mail.log").count("event=greylisted") == 6, 5, what="six greylisted lines")


def test_greylisting_state_survives_a_restart(make_server):
    server = make_server(config=GREYLIST)
    sender = f"{token()}@remote.example"
    assert greylisted(rcpt(server, sender))
    pass_the_delay(sender, server)
    # A first attempt from another network, just before the restart.
    waiting = f"{token()}@other.example"
    assert greylisted(rcpt(server, waiting, source=OTHER_NET))
    deferred_at = time.monotonic()
    server.stop()
    assert stats(server)["greylist-waiting"] == "1"
    server.start()
    # The whitelisted network is still whitelisted: accepted at once...
    send(server, token(), f"{token()}@third.example")
    # ...and the waiting triplet is still known: once the delay is over its
    # first retry passes (forgotten, it would be a first attempt: 451).
    wait_past(deferred_at + DELAY + 0.5)
    assert rcpt(server, waiting, source=OTHER_NET)[0] == 250


def test_exempt_clients_are_never_greylisted(make_server):
    server = make_server(config={**GREYLIST, "greylist.exempt_group": '"partners"', "smtp.trusted_group": '"office"'}, start=False)
    server.cli("ipgroup", "add", "partners", "127.0.0.1")
    server.cli("ipgroup", "add", "office", "127.0.2.1")
    server.start()
    send(server, token(), f"{token()}@partner.example")
    send(server, token(), f"{token()}@office.example", source="127.0.2.1")
    # Authenticated submission (its own port) is never greylisted either.
    with server.submission() as s:
        s.sendmail(ALICE, [BOB], make_message(token(), ALICE, BOB))
    # A client in neither group is.
    assert greylisted(rcpt(server, f"{token()}@remote.example", source=OTHER_NET))
    assert server.log("mail.log").count("event=greylisted") == 1


def raw_from(server, source: str) -> Raw:
    r = Raw.__new__(Raw)
    r.sock = socket.create_connection(server.addr("smtp"), timeout=IO_TIMEOUT, source_address=(source, 0))
    r.timeout, r.buf = IO_TIMEOUT, b""
    return r


def test_greeting_delay_exempt_group_is_greeted_at_once(make_server):
    config = {"smtp.greeting_delay": '"3s"', "smtp.greeting_delay_exempt": '"fast"'}
    server = make_server(config=config, start=False)
    server.cli("ipgroup", "add", "fast", "127.0.0.1")
    server.start()
    started = time.monotonic()
    with server.raw(greet=False) as r:
        assert r.reply(timeout=2).code == 220
        assert time.monotonic() - started < 1.5
        r.ehlo()
    # Outside the group: the delay holds, and talking first is refused 554.
    with raw_from(server, OTHER_NET) as r:
        r.send(b"EHLO client.test\r\n")
        lines = r.lines_until_eof(10)
    assert lines and lines[0].startswith("554 5.7.1 "), lines
    log = server.log("security.log")
    assert "event=early-talker service=smtp client=127.0.1.1" in log, log


def test_spam_stats_count_greylisted_tagged_and_rejected(make_server):
    server = make_server(config={**GREYLIST, "spam.reject_score": "2000"})
    sender = f"{token()}@promo.example"
    assert greylisted(rcpt(server, sender))
    # Counts reach the store while the server runs (every few seconds).
    wait_until(lambda: stats(server)["greylisted"] == "1", 15, what="greylisted: 1 in spam stats")
    _, deferred = pass_the_delay(sender, server)
    send(server, token(), sender, body=GTUBE)  # tagged into Junk
    server.config_set("spam.reject_score", "20")
    tagged = 1

    def refused():
        nonlocal tagged
        try:
            send(server, token(), sender, body=GTUBE)
        except smtplib.SMTPDataError as e:
            assert (e.smtp_code, e.smtp_error[:5]) == (550, b"5.7.1"), e
            return True
        tagged += 1  # accepted before the reload
        return False

    wait_until(refused, what="550 5.7.1 after the reload")
    server.stop()  # the last counts are written at shutdown
    s = stats(server)
    got = {k: s[k] for k in ("greylisted", "tagged", "rejected", "discarded", "blacklisted")}
    assert got == {"greylisted": str(1 + deferred), "tagged": str(tagged), "rejected": "1", "discarded": "0", "blacklisted": "0"}, s
    assert (s["greylist-waiting"], s["greylist-whitelisted"]) == ("0", "1"), s
    assert {"spam", "ham", "tokens"} <= set(s), s
