"""Relay control (issue 6 item 5, SPEC X2): from outside, only local domains
are accepted — the classic relay test matrix is refused and nothing is
queued; trusted IP groups, authenticated users and, when enabled,
POP3/IMAP-before-SMTP clients may relay."""

from __future__ import annotations

import poplib

import pytest

from harness import ALICE, ALICE_PASSWORD, POP3_LISTEN, insecure_tls, wait_until
from outbound import queue_lines

RELAY_DENIED = (554, "5.7.1")
USER_UNKNOWN = (550, "5.1.1")
BAD_SYNTAX = (501, "5.1.3")

# Each attempt, the exact refusal, and the address the logs name (None: no log
# line, as for any syntax error). Only a refusal that says why is a pass: a 5xx
# for some other reason (a bug in parsing, say) would hide an open relay path.
RELAY_ATTEMPTS = [
    ("victim@remote.example", RELAY_DENIED, "victim@remote.example"),
    ("victim%remote.example@example.org", USER_UNKNOWN, "victim%remote.example@example.org"),  # percent hack
    ("remote.example!victim@example.org", USER_UNKNOWN, "remote.example!victim@example.org"),  # bang path
    ("@example.org:victim@remote.example", RELAY_DENIED, "victim@remote.example"),  # source route (RFC 5321 §4.1.1.3: ignored)
    ('"victim@remote.example"@example.org', USER_UNKNOWN, "victim@remote.example@example.org"),  # quoted local part with @
    ("victim@[192.0.2.1]", BAD_SYNTAX, None),                                                  # IP literal
    ("victim@remote.example.", RELAY_DENIED, "victim@remote.example."),                        # trailing dot
    ("victim@example.org@remote.example", BAD_SYNTAX, None),                                   # two @
    ("victim@EXAMPLE.ORG.remote.example", RELAY_DENIED, "victim@EXAMPLE.ORG.remote.example"),  # local name as a prefix
]


@pytest.mark.parametrize("rcpt,refusal,logged", RELAY_ATTEMPTS, ids=[a[0] for a in RELAY_ATTEMPTS])
def test_relay_matrix_is_refused_from_outside(server, rcpt, refusal, logged):
    with server.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<spammer@remote.example>", 250)
        reply = r.cmd(f"RCPT TO:<{rcpt}>")
        code, enhanced = refusal
        assert reply.code == code and reply.lines[-1].startswith(enhanced + " "), f"{rcpt}: expected {code} {enhanced}, got {reply}"
        r.expect("QUIT", 221)
    assert "queue is empty" in queue_lines(server)
    if logged is None:
        return
    refused = f"event=refused service=smtp client=127.0.0.1 user=\"\" from=spammer@remote.example to={logged} result=\"{code} {enhanced}\""
    wait_until(lambda: refused in server.log("mail.log"), 5, what=f"{refused} in mail.log")
    if refusal == RELAY_DENIED:
        denied = f"event=relay-denied service=smtp client=127.0.0.1 from=spammer@remote.example to={logged}\n"
        wait_until(lambda: denied in server.log("security.log"), 5, what=f"{denied!r} in security.log")
    else:
        assert "relay-denied" not in server.log("security.log"), "a local address is not a relay attempt"


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
