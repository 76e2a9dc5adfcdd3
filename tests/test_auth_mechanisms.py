"""IMAP LOGIN and POP3 USER/PASS send the password as it is, like SASL PLAIN
and LOGIN: they are offered only when PLAIN or LOGIN is in `[auth]
mechanisms` (issue 6). Otherwise IMAP advertises LOGINDISABLED and answers
LOGIN `NO [CANNOT]` (RFC 9051 §6.2.3, RFC 5530 §3); POP3 drops USER from
CAPA and answers USER with -ERR."""

from __future__ import annotations

import imaplib
import poplib

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, insecure_tls
from sasl_client import Scram, imap_auth, pop3_auth
from test_sasl import ALL_LISTEN, mechanisms


def imaps(server) -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    return imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)


def pop3s(server) -> poplib.POP3_SSL:
    host, port = server.addr("pop3s")
    return poplib.POP3_SSL(host, port, context=insecure_tls(), timeout=IO_TIMEOUT)


def test_scram_only_refuses_plaintext_logins(make_server):
    server = make_server(config=mechanisms("SCRAM-SHA-256"), listen=ALL_LISTEN)
    c = imaps(server)
    assert "LOGINDISABLED" in c.capabilities, c.capabilities
    assert "AUTH=PLAIN" not in c.capabilities
    typ, data = c._simple_command("LOGIN", ALICE, f'"{ALICE_PASSWORD}"')
    assert typ == "NO" and data[-1].startswith(b"[CANNOT]"), (typ, data)
    client = Scram("sha256", ALICE, ALICE_PASSWORD)
    typ, _ = imap_auth(c, "SCRAM-SHA-256", client)
    assert typ == "OK" and client.done
    assert c.select("INBOX")[0] == "OK"
    c.logout()

    p = pop3s(server)
    caps = p.capa()
    assert "USER" not in caps and caps["SASL"] == ["SCRAM-SHA-256"], caps
    with pytest.raises(poplib.error_proto) as e:
        p.user(BOB)
    assert str(e.value).startswith("b'-ERR"), e.value
    with pytest.raises(poplib.error_proto):
        p.pass_(BOB_PASSWORD)
    client = Scram("sha256", BOB, BOB_PASSWORD)
    assert pop3_auth(p, "SCRAM-SHA-256", client).startswith(b"+OK") and client.done
    p.quit()
    log = server.log("security.log")
    assert "event=policy-refused service=imaps" in log and 'reason="no plaintext mechanism enabled"' in log, log


def test_login_alone_keeps_plaintext_logins(make_server):
    server = make_server(config=mechanisms("SCRAM-SHA-256", "LOGIN"), listen=ALL_LISTEN)
    c = imaps(server)
    assert "LOGINDISABLED" not in c.capabilities
    assert c.login(ALICE, ALICE_PASSWORD)[0] == "OK"
    c.logout()


def test_defaults_allow_login_and_user(make_server):
    server = make_server(listen=ALL_LISTEN)
    c = imaps(server)
    assert "LOGINDISABLED" not in c.capabilities
    assert c.login(ALICE, ALICE_PASSWORD)[0] == "OK"
    c.logout()
    p = pop3s(server)
    assert "USER" in p.capa()
    p.user(BOB)
    assert p.pass_(BOB_PASSWORD).startswith(b"+OK")
    p.quit()
