"""Relay control (issue 6 item 5, SPEC X2): from outside, only local domains
are accepted — the classic relay test matrix is refused and nothing is
queued; trusted IP groups, authenticated users and, when enabled,
POP3/IMAP-before-SMTP clients may relay."""

from __future__ import annotations

import poplib

import pytest

from harness import ALICE, ALICE_PASSWORD, POP3_LISTEN, insecure_tls, wait_until
from outbound import queue_lines

RELAY_ATTEMPTS = [
    "victim@remote.example",
    "victim%remote.example@example.org",        # percent hack
    "remote.example!victim@example.org",        # bang path
    "@example.org:victim@remote.example",       # source route
    '"victim@remote.example"@example.org',      # quoted local part with @
    "victim@[192.0.2.1]",                       # IP literal
    "victim@remote.example.",                   # trailing dot
    "victim@example.org@remote.example",        # two @
    "victim@EXAMPLE.ORG.remote.example",        # local name as a prefix
]


@pytest.mark.parametrize("rcpt", RELAY_ATTEMPTS)
def test_relay_matrix_is_refused_from_outside(server, rcpt):
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<spammer@remote.example>", 250)
        reply = r.cmd(f"RCPT TO:<{rcpt}>")
        assert reply.code >= 500, f"{rcpt}: {reply}"
    assert "queue is empty" in queue_lines(server)


def test_trusted_group_may_relay_and_use_local_senders(make_server):
    server = make_server(config={"smtp.trusted_group": '"office"'})
    server.cli("ipgroup", "add", "office", "127.0.0.0/8")
    def relayed():
        with server.smtp() as s:
            s.ehlo()
            assert s.mail(ALICE)[0] == 250
            return s.rcpt("partner@remote.example")[0] == 250
    wait_until(relayed, 10, what="the trusted group taking effect")
    server.cli("ipgroup", "del", "office")
    def refused_again():
        with server.smtp() as s:
            s.ehlo()
            s.mail("x@remote.example")
            return s.rcpt("partner@remote.example")[0] == 554
    wait_until(refused_again, 10, what="the group's removal taking effect")


def test_pop3_before_smtp(make_server):
    server = make_server(config={"smtp.pop_before_smtp": '"10m"'}, listen=POP3_LISTEN)
    with server.smtp() as s:
        s.ehlo()
        s.mail("x@remote.example")
        assert s.rcpt("partner@remote.example")[0] == 554, "no login yet"
    host, port = server.addr("pop3s")
    p = poplib.POP3_SSL(host, port, context=insecure_tls())
    p.user(ALICE)
    p.pass_(ALICE_PASSWORD)
    p.quit()
    with server.smtp() as s:
        s.ehlo()
        s.mail("x@remote.example")
        assert s.rcpt("partner@remote.example")[0] == 250, "relay allowed after a POP3 login from this address"


def test_pop3_before_smtp_is_off_by_default(make_server):
    server = make_server(listen=POP3_LISTEN)
    host, port = server.addr("pop3s")
    p = poplib.POP3_SSL(host, port, context=insecure_tls())
    p.user(ALICE)
    p.pass_(ALICE_PASSWORD)
    p.quit()
    with server.smtp() as s:
        s.ehlo()
        s.mail("x@remote.example")
        assert s.rcpt("partner@remote.example")[0] == 554
