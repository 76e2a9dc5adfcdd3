"""Delegation (issue 6 item 8, SPEC X8): `postern user delegate OWNER DELEGATE`
lets DELEGATE send as OWNER's own address — MAIL FROM and From: — until
`user undelegate`; without it that is 553 5.7.1. Deleting either user ends it."""

from __future__ import annotations

import smtplib

import pytest

from harness import ALICE, BOB, BOB_PASSWORD, DIRECTORY_PROPAGATION, make_message, token, wait_until

CAROL = "carol@example.org"


def mail_from_as_bob(server, sender: str) -> tuple[int, bytes]:
    with server.submission(BOB, BOB_PASSWORD) as s:
        return s.mail(sender)


def wait_for_verdict(server, sender: str, code: int) -> None:
    """Directory changes made by the CLI reach the running server within a deadline."""

    def verdict():
        got, msg = mail_from_as_bob(server, sender)
        assert got == code, f"MAIL FROM {sender}: {got} {msg!r}"
        return True

    wait_until(verdict, DIRECTORY_PROPAGATION, what=f"MAIL FROM {sender} to get {code}")


def send_as_alice(server, header_from: str = ALICE):
    tok = token()
    with server.submission(BOB, BOB_PASSWORD) as s:
        return s.sendmail(ALICE, [BOB], make_message(tok, header_from, BOB)), tok


def test_bob_sends_as_alice_only_while_delegated(server):
    code, msg = mail_from_as_bob(server, ALICE)
    assert code == 553 and b"5.7.1" in msg

    out = server.cli("user", "delegate", ALICE, BOB).stdout
    assert BOB in out and ALICE in out
    wait_for_verdict(server, ALICE, 250)
    refused, tok = send_as_alice(server)
    assert not refused
    assert f"From: <{ALICE}>" in server.wait_for_message(BOB, tok)

    server.cli("user", "undelegate", ALICE, BOB)
    wait_for_verdict(server, ALICE, 553)
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        send_as_alice(server)
    assert e.value.smtp_code == 553 and b"5.7.1" in e.value.smtp_error


def test_delegation_is_the_owners_own_address_only(server):
    server.cli("alias", "add", "info@example.org", ALICE)
    server.cli("user", "delegate", ALICE, BOB)
    wait_for_verdict(server, ALICE, 250)
    # Not alice's aliases, and not a From: someone else's.
    code, msg = mail_from_as_bob(server, "info@example.org")
    assert code == 553 and b"5.7.1" in msg
    with pytest.raises(smtplib.SMTPDataError) as e:
        send_as_alice(server, header_from="info@example.org")
    assert e.value.smtp_code == 553 and b"5.7.1" in e.value.smtp_error
    # One way: alice may not send as bob.
    with server.submission() as s:
        code, _ = s.mail(BOB)
        assert code == 553


def test_delegations_are_listed_and_mistakes_explained(server):
    server.add_user(CAROL, "Christmas-3-Song")
    server.cli("user", "delegate", ALICE, BOB)
    server.cli("user", "delegate", ALICE, CAROL)
    server.cli("user", "delegate", CAROL, BOB)
    assert server.cli("user", "delegations").stdout == (
        f"{ALICE} -> {BOB}\n{ALICE} -> {CAROL}\n{CAROL} -> {BOB}\n"
    )
    assert server.cli("user", "delegations", CAROL).stdout == f"{CAROL} -> {BOB}\n"

    mistakes = [
        (["user", "delegate", ALICE, "nobody@example.org"], "nobody@example.org does not exist"),
        (["user", "delegate", "ghost@example.org", BOB], "ghost@example.org does not exist"),
        (["user", "delegate", ALICE, ALICE], "themselves"),
        (["user", "delegate", ALICE, BOB], "already exists"),
        (["user", "undelegate", BOB, ALICE], "does not exist"),
        (["user", "delegations", "ghost@example.org"], "does not exist"),
    ]
    for args, words in mistakes:
        p = server.cli(*args, check=False)
        assert p.returncode != 0, args
        assert words in p.stderr, (args, p.stderr)


def test_deleting_a_user_removes_their_delegations(server):
    server.add_user(CAROL, "Christmas-3-Song")
    server.cli("user", "delegate", ALICE, CAROL)
    server.cli("user", "delegate", CAROL, BOB)
    server.cli("user", "delegate", ALICE, BOB)
    server.cli("user", "del", CAROL)
    assert server.cli("user", "delegations").stdout == f"{ALICE} -> {BOB}\n"
    # A new carol does not inherit the old one's delegations.
    server.add_user(CAROL, "Christmas-3-Song")
    assert server.cli("user", "delegations", CAROL).stdout == ""
    with server.submission(CAROL, "Christmas-3-Song") as s:
        code, _ = s.mail(ALICE)
        assert code == 553
