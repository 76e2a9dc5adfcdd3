"""SASL mechanisms (issue 6, SPEC X5) in SMTP, IMAP and POP3 with real
clients: smtplib, imaplib, poplib and the RFC clients in sasl_client.py.
Also `user list`'s mechanism column and APOP."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import smtplib
import stat

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, HOSTNAME, IO_TIMEOUT, insecure_tls
from sasl_client import CramMd5, DigestMd5, Ntlm, Scram, imap_auth, pop3_auth, smtp_auth

ALL_LISTEN = {
    "submission": "127.0.0.1:0",
    "smtps": "127.0.0.1:0",
    "imap": "127.0.0.1:0",
    "imaps": "127.0.0.1:0",
    "pop3": "127.0.0.1:0",
    "pop3s": "127.0.0.1:0",
}
UNKNOWN = "nobody@example.org"
WRONG = "Wrong-password-9"


def mechanisms(*names: str) -> dict[str, str]:
    return {"auth.mechanisms": "[" + ", ".join(f'"{n}"' for n in names) + "]"}


def passwd(server, user: str, password: str) -> None:
    server.cli("user", "passwd", user, "--password-stdin", input=password + "\n")


def smtp_plain_port(server) -> smtplib.SMTP:
    s = server.smtp("submission")
    s.ehlo()
    return s


def imap_plain_port(server) -> imaplib.IMAP4:
    host, port = server.addr("imap")
    return imaplib.IMAP4(host, port, timeout=IO_TIMEOUT)


def pop3_plain_port(server) -> poplib.POP3:
    host, port = server.addr("pop3")
    return poplib.POP3(host, port, timeout=IO_TIMEOUT)


@pytest.fixture
def all_server(make_server):
    return make_server(listen=ALL_LISTEN)


# ---------------------------------------------------------------- SCRAM-SHA-256 (default)


def test_scram_sha_256_before_tls_on_every_protocol(all_server):
    """Default mechanisms: SCRAM-SHA-256 keys are made for every password, and
    it is offered before TLS (no password crosses the wire); PLAIN is not."""
    with smtp_plain_port(all_server) as s:
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-256"], s.esmtp_features
        client = Scram("sha256", ALICE, ALICE_PASSWORD)
        code, resp = smtp_auth(s, "SCRAM-SHA-256", client)
        assert code == 235 and client.done, resp
        assert s.docmd("AUTH", "PLAIN")[0] == 503, "already authenticated"

    c = imap_plain_port(all_server)
    assert "AUTH=SCRAM-SHA-256" in c.capabilities and "AUTH=PLAIN" not in c.capabilities
    client = Scram("sha256", ALICE, ALICE_PASSWORD)
    typ, _ = imap_auth(c, "SCRAM-SHA-256", client)
    assert typ == "OK" and client.done
    assert c.select("INBOX")[0] == "OK"
    c.logout()

    p = pop3_plain_port(all_server)
    assert "SASL" in p.capa() and p.capa()["SASL"] == ["SCRAM-SHA-256"]
    client = Scram("sha256", BOB, BOB_PASSWORD)
    assert pop3_auth(p, "SCRAM-SHA-256", client).startswith(b"+OK") and client.done
    assert p.stat()[0] >= 0
    p.quit()


def test_after_tls_plain_and_login_join(all_server):
    with all_server.smtp("submission") as s:
        s.ehlo()
        s.starttls(context=insecure_tls())
        s.ehlo()
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        client = Scram("sha256", ALICE, ALICE_PASSWORD)
        assert smtp_auth(s, "SCRAM-SHA-256", client)[0] == 235


def smtp_failure(server, user: str, password: str) -> tuple[int, bytes]:
    with smtp_plain_port(server) as s:
        return smtp_auth(s, "SCRAM-SHA-256", Scram("sha256", user, password))


def imap_failure(server, user: str, password: str) -> str:
    c = imap_plain_port(server)
    with pytest.raises(imaplib.IMAP4.error) as e:
        imap_auth(c, "SCRAM-SHA-256", Scram("sha256", user, password))
    c.shutdown()
    return str(e.value)


def pop3_failure(server, user: str, password: str) -> str:
    p = pop3_plain_port(server)
    with pytest.raises(poplib.error_proto) as e:
        pop3_auth(p, "SCRAM-SHA-256", Scram("sha256", user, password))
    p.quit()
    return str(e.value)


def test_unknown_user_and_wrong_password_answer_alike(all_server):
    for check in (smtp_failure, imap_failure, pop3_failure):
        wrong = check(all_server, ALICE, WRONG)
        unknown = check(all_server, UNKNOWN, WRONG)
        assert wrong == unknown, (check.__name__, wrong, unknown)
    assert smtp_failure(all_server, ALICE, WRONG)[0] == 535
    log = all_server.log("security.log")
    assert log.count("auth-failed") >= 6
    assert "SCRAM-SHA-256" in log and WRONG not in log


def test_cancel_and_garbage(all_server):
    with smtp_plain_port(all_server) as s:
        code, resp = s.docmd("AUTH", "SCRAM-SHA-256")
        assert code == 334 and resp == b""
        assert s.docmd("*")[0] == 501
        code, _ = s.docmd("AUTH", "SCRAM-SHA-256 !!notbase64")
        assert code == 501


# ---------------------------------------------------------------- mechanisms an admin enables


def test_disabled_mechanisms_are_neither_offered_nor_accepted(all_server):
    with smtp_plain_port(all_server) as s:
        assert "CRAM-MD5" not in s.esmtp_features["auth"]
        assert s.docmd("AUTH", "CRAM-MD5")[0] == 504
        # PLAIN is enabled but needs TLS first.
        assert s.docmd("AUTH", "PLAIN AGFsaWNlAHg=")[0] == 530
    c = imap_plain_port(all_server)
    with pytest.raises(imaplib.IMAP4.error, match="CANNOT"):
        c.authenticate("CRAM-MD5", lambda ch: b"x")
    c.shutdown()
    p = pop3_plain_port(all_server)
    with pytest.raises(poplib.error_proto, match="Unsupported"):
        p._shortcmd("AUTH CRAM-MD5")
    assert b"<" not in p.getwelcome(), "no APOP timestamp in the greeting"
    with pytest.raises(poplib.error_proto, match="APOP is not supported"):
        p._shortcmd(f"APOP {ALICE} c4c9334bac560ecc979e58001b3e22fb")
    p.quit()


def test_cram_md5_needs_a_new_password_then_works_everywhere(make_server):
    server = make_server(config=mechanisms("PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5"), listen=ALL_LISTEN)
    # Alice's password was set before CRAM-MD5 was enabled: it fails like a wrong password.
    with server.smtp("submission") as s:
        s.ehlo()
        assert "CRAM-MD5" in s.esmtp_features["auth"], "offered before TLS"
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, ALICE_PASSWORD)
        assert e.value.smtp_code == 535
    passwd(server, ALICE, ALICE_PASSWORD)
    with server.smtp("submission") as s:
        s.ehlo()
        s.user, s.password = ALICE, ALICE_PASSWORD
        assert s.auth("CRAM-MD5", s.auth_cram_md5, initial_response_ok=False)[0] == 235
    c = imap_plain_port(server)
    assert c.login_cram_md5(ALICE, ALICE_PASSWORD)[0] == "OK"
    c.logout()
    p = pop3_plain_port(server)
    assert pop3_auth(p, "CRAM-MD5", CramMd5(ALICE, ALICE_PASSWORD)).startswith(b"+OK")
    p.quit()
    lines = {l.split("\t")[0]: l.split("\t") for l in server.cli("user", "list").stdout.splitlines()}
    assert lines[ALICE][4] == "SCRAM-SHA-256,CRAM-MD5", lines
    assert lines[BOB][4] == "SCRAM-SHA-256", lines


def test_digest_md5_and_ntlm(make_server):
    server = make_server(config=mechanisms("SCRAM-SHA-1", "DIGEST-MD5", "NTLM"), listen=ALL_LISTEN)
    passwd(server, ALICE, ALICE_PASSWORD)
    with smtp_plain_port(server) as s:
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-1", "DIGEST-MD5", "NTLM"]
        client = DigestMd5(ALICE, ALICE_PASSWORD, "smtp", HOSTNAME)
        code, resp = smtp_auth(s, "DIGEST-MD5", client)
        assert code == 235 and client.done, resp
    c = imap_plain_port(server)
    assert imap_auth(c, "NTLM", Ntlm(ALICE, ALICE_PASSWORD))[0] == "OK"
    c.logout()
    p = pop3_plain_port(server)
    client = Scram("sha1", ALICE, ALICE_PASSWORD)
    assert pop3_auth(p, "SCRAM-SHA-1", client).startswith(b"+OK") and client.done
    p.quit()
    # Bob has no NTLM secret: refused like a wrong password, not told why.
    p = pop3_plain_port(server)
    with pytest.raises(poplib.error_proto) as e:
        pop3_auth(p, "NTLM", Ntlm(BOB, BOB_PASSWORD))
    assert str(e.value).startswith("b'-ERR [AUTH]")
    p.quit()
    listing = server.cli("user", "list").stdout
    assert f"{ALICE}\t" in listing and "SCRAM-SHA-256,SCRAM-SHA-1,DIGEST-MD5,NTLM" in listing


def test_apop(make_server):
    server = make_server(config={"auth.apop": "true"}, listen=ALL_LISTEN)
    p = pop3_plain_port(server)
    assert re.search(r"<[^>]+@mx\.test>$", p.getwelcome().decode()), p.getwelcome()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.apop(ALICE, ALICE_PASSWORD)  # set before APOP was on
    p.quit()
    passwd(server, ALICE, ALICE_PASSWORD)
    p = pop3_plain_port(server)
    assert p.apop(ALICE, ALICE_PASSWORD).startswith(b"+OK")
    p.quit()
    p = pop3_plain_port(server)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.apop(ALICE, WRONG)
    p.quit()
    assert "APOP" in server.cli("user", "list").stdout


# ---------------------------------------------------------------- the secrets at rest


def test_server_key_is_private_and_nothing_is_plaintext(make_server):
    server = make_server(config=mechanisms("CRAM-MD5", "NTLM") | {"auth.apop": "true"}, start=False)
    passwd(server, ALICE, ALICE_PASSWORD)
    key = server.data / "keys" / "server.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    for f in (server.data / "db").iterdir():
        assert ALICE_PASSWORD.encode() not in f.read_bytes(), f
