"""Forwarding (issue 15, item 9): mail from outside that a local alias sends
on to another domain leaves with an SRS envelope sender in the forwarding
domain (so SPF at the next hop checks us); a bounce to that address is
reversed and delivered to the original sender; a forged or altered SRS
address is refused."""

from __future__ import annotations

import re

import pytest

from harness import ALICE, make_message, token
from outbound import REMOTE, dns, outbound_config, submit  # noqa: F401 (dns is a fixture)
from smtp_sink import Sink

DOMAIN = "example.org"
SRS = re.compile(rf"^SRS0=[A-Za-z0-9+/]{{4}}=[A-Z2-7]{{2}}={re.escape(REMOTE)}=carol@{re.escape(DOMAIN)}$")


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def postern(make_server, dns, sink):
    p = make_server(config=outbound_config(dns.address, sink.port))
    p.cli("alias", "add", f"fwd@{DOMAIN}", f"dave@{REMOTE}")
    return p


def forward_from_outside(postern, sender: str = f"carol@{REMOTE}") -> str:
    tok = token()
    with postern.smtp() as s:
        assert not s.sendmail(sender, [f"fwd@{DOMAIN}"], make_message(tok, sender, f"fwd@{DOMAIN}"))
    return tok


def test_a_forward_leaves_with_an_srs_sender_and_its_bounce_comes_back(postern, sink):
    forward_from_outside(postern)
    got = sink.wait_for(1)[0]
    assert got.rcpts == [f"dave@{REMOTE}"]
    assert SRS.match(got.mail_from), got.mail_from
    # dave's server bounces to the SRS address: it goes to carol.
    tok = token()
    with postern.smtp() as s:
        assert not s.sendmail("", [got.mail_from], make_message(tok, f"MAILER-DAEMON@{REMOTE}", got.mail_from))
    back = sink.wait_for(2)[1]
    assert back.rcpts == [f"carol@{REMOTE}"] and back.mail_from == ""
    assert tok.encode() in back.body
    # Local parts may come back lowercased.
    with postern.smtp() as s:
        assert not s.sendmail("", [got.mail_from.lower()], make_message(token(), "x@y", "z@w"))
    assert sink.wait_for(3)[2].rcpts == [f"carol@{REMOTE}"]


def test_a_forged_srs_address_is_refused(postern, sink):
    forward_from_outside(postern)
    srs = sink.wait_for(1)[0].mail_from
    local, domain = srs.rsplit("@", 1)
    redirected = local.replace("=carol", "=mallory") + "@" + domain
    made_up = f"SRS0=abcd=AA={REMOTE}=mallory@{DOMAIN}"
    for address in (redirected, made_up):
        with postern.raw("smtp") as c:
            c.ehlo()
            c.expect("MAIL FROM:<>", 250)
            c.expect(f"RCPT TO:<{address}>", 550, "5.1.1")


def test_our_own_users_and_bounces_keep_their_sender(postern, sink):
    submit(postern, f"fwd@{DOMAIN}")  # alice, authenticated: she may send as herself
    assert sink.wait_for(1)[0].mail_from == ALICE
    with postern.smtp() as s:
        assert not s.sendmail("", [f"fwd@{DOMAIN}"], make_message(token(), f"MAILER-DAEMON@{REMOTE}", f"fwd@{DOMAIN}"))
    assert sink.wait_for(2)[1].mail_from == "", "a bounce stays a bounce"


def test_a_dsn_for_a_forward_goes_to_the_original_sender(postern, sink):
    sink.rcpt_reply = lambda rcpt, n: (550, "5.1.1 no such user") if rcpt.startswith("dave@") else None
    tok = forward_from_outside(postern)
    dsn = sink.wait_for(1, timeout=20)[0]
    assert dsn.mail_from == "" and dsn.rcpts == [f"carol@{REMOTE}"], "reversed, not sent to the SRS address"
    assert tok.encode() in dsn.body
