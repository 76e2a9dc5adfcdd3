"""Sender identity (issue 6 item 8, SPEC X8): an authenticated user sends only
as their own address, aliases that deliver to them and groups they belong to
— in MAIL FROM and in From: — and gets 553 5.7.1 otherwise."""

from __future__ import annotations

import smtplib

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, make_message, token


def send(server, envelope_from: str, header_from: str | None = None):
    tok = token()
    msg = make_message(tok, header_from or envelope_from, BOB)
    with server.submission(ALICE, ALICE_PASSWORD) as s:
        return s.sendmail(envelope_from, [BOB], msg), tok


def test_own_alias_and_group_addresses_are_allowed(server):
    server.cli("alias", "add", "info@example.org", ALICE)
    server.cli("group", "add", "team@example.org", "--member", ALICE, "--member", BOB)
    for sender in [ALICE, "Alice@Example.org", "info@example.org", "team@example.org"]:
        refused, tok = send(server, sender)
        assert not refused
        server.wait_for_message(BOB, tok)


def test_someone_elses_envelope_sender_is_refused(server):
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        send(server, BOB)
    assert e.value.smtp_code == 553 and b"5.7.1" in e.value.smtp_error
    with pytest.raises(smtplib.SMTPSenderRefused):
        send(server, "ceo@bank.example")
    log = server.log("security.log")
    assert "event=spoofing-refused" in log and "sender=bob@example.org" in log and f"user={ALICE}" in log


def test_someone_elses_from_header_is_refused_after_data(server):
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(server, ALICE, header_from=BOB)
    assert e.value.smtp_code == 553 and b"5.7.1" in e.value.smtp_error
    assert "where=from-header" in server.log("security.log")


def test_null_sender_and_the_switch(make_server):
    server = make_server(config={"smtp.sender_identity": "false"})
    refused, tok = send(server, BOB)
    assert not refused
    server.wait_for_message(BOB, tok)
    with server.submission(ALICE, ALICE_PASSWORD) as s:
        assert not s.sendmail("", [BOB], make_message(token(), ALICE, BOB))


def test_unauthenticated_mx_mail_is_not_affected(server):
    assert not server.deliver(token(), to=ALICE, sender="someone@remote.example")


def test_unauthenticated_local_sender_from_outside_is_refused(server):
    with server.smtp() as s:
        s.ehlo()
        code, msg = s.mail(ALICE)
        assert code == 550 and b"5.7.1" in msg
    # Envelope from outside, but From: claims a local user.
    with pytest.raises(smtplib.SMTPDataError) as e:
        with server.smtp() as s:
            s.sendmail("someone@remote.example", [BOB], make_message(token(), ALICE, BOB))
    assert e.value.smtp_code == 550
    log = server.log("security.log")
    assert "event=local-sender-spoof" in log and "where=from-header" in log and "action=refused" in log


def test_local_sender_mark_and_accept(make_server):
    server = make_server(config={"smtp.local_sender": '"mark"'})
    tok = token()
    assert not server.deliver(tok, to=BOB, sender=ALICE)
    assert "X-Postern-Warning: unauthenticated sender in a local domain" in server.wait_for_message(BOB, tok)
    server.stop()
    server.config_set("smtp.local_sender", '"accept"')
    server.start()
    tok = token()
    assert not server.deliver(tok, to=BOB, sender=ALICE)
    assert "X-Postern-Warning" not in server.wait_for_message(BOB, tok)
