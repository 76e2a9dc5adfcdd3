"""DMARC (RFC 7489) end to end: a failing message of a p=reject domain is
refused with 550 5.7.1 at the end of DATA (never bounced later), p=quarantine
goes to the recipient's Junk folder (seen over IMAP), p=none is delivered;
aligned DKIM passes; pct, per-domain overrides and the global switch apply
on reload; a trusted ARC sealer may override a failure; forged
Authentication-Results claiming our authserv-id are removed."""

from __future__ import annotations

import imaplib

import dkim as dkimpy
import pytest

from auth import HELO, checks_on, dns, mail_log_line, message, ours, rsa_key, transaction  # noqa: F401
from harness import ALICE, ALICE_PASSWORD, HOSTNAME, IO_TIMEOUT, header_values, insecure_tls, token, wait_until

IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}


@pytest.fixture
def world(dns, make_server, tmp_path):
    key, record = rsa_key(tmp_path)
    for domain, policy in [("reject.example", "reject"), ("quarantine.example", "quarantine"), ("none.example", "none")]:
        dns.txt(f"_dmarc.{domain}", f"v=DMARC1; p={policy}")
        dns.txt(f"sel._domainkey.{domain}", record)
    dns.txt("_dmarc.broken.example", "v=DMARC1; p=sometimes")
    dns.servfail("_dmarc.flaky.example")
    # The envelope sender's domain: SPF passes for it, but it is not aligned.
    dns.txt("bounces.example", "v=spf1 ip4:127.0.0.1 -all")
    dns.txt("lists.example", "v=spf1 ip4:127.0.0.1 -all")
    dns.txt("sel._domainkey.lists.example", record)
    server = make_server(config=checks_on(dns.address), listen=IMAP_LISTEN)
    server.key = key
    return server


def imap_folder(server, folder: str, tok: str) -> list[bytes]:
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT) as c:
        c.login(ALICE, ALICE_PASSWORD)
        c.select(folder, readonly=True)
        _, data = c.search(None, "SUBJECT", tok)
        return data[0].split()


def test_reject_is_550_at_end_of_data(world):
    tok = token()
    reply = transaction(world, message(tok, "ceo@reject.example"), "x@bounces.example")
    assert (reply.code, reply.lines[-1][:5]) == (550, "5.7.1"), reply
    assert "DMARC policy of reject.example" in reply.text
    assert imap_folder(world, "INBOX", tok) == [] and imap_folder(world, "Junk", tok) == []
    line = mail_log_line(world, "x@bounces.example")
    assert "event=refused" in line and "dmarc=fail:reject" in line and "spf=pass" in line, line
    sec = world.log("security.log")
    assert "event=dmarc-rejected" in sec and "reject.example" in sec, sec
    # Nothing queued, so nothing can bounce later.
    assert "queued" not in world.cli("queue", "list").stdout


def test_quarantine_goes_to_junk(world):
    tok = token()
    assert transaction(world, message(tok, "ceo@quarantine.example"), "x@bounces.example").code == 250
    wait_until(lambda: imap_folder(world, "Junk", tok), what="the message in Junk")
    assert imap_folder(world, "INBOX", tok) == []
    stored = [m for m in world.messages(ALICE, "Junk") if tok in m][0]
    assert "dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example" in ours(stored)
    assert "event=dmarc-quarantined" in world.log("security.log")


def test_none_is_delivered(world):
    tok = token()
    assert transaction(world, message(tok, "ceo@none.example"), "x@bounces.example").code == 250
    stored = world.wait_for_message(ALICE, tok)
    assert "dmarc=fail (p=none dis=none) header.from=none.example" in ours(stored)


def test_aligned_dkim_passes(world):
    tok = token()
    msg = message(tok, "ceo@reject.example")
    raw = dkimpy.sign(msg, b"sel", b"reject.example", world.key, include_headers=[b"from", b"to", b"subject"]) + msg
    assert transaction(world, raw, "x@bounces.example").code == 250
    header = ours(world.wait_for_message(ALICE, tok))
    assert "dkim=pass header.d=reject.example" in header
    assert "dmarc=pass (p=reject dis=none) header.from=reject.example" in header


def test_malformed_record_and_temperror(world):
    tok = token()
    assert transaction(world, message(tok, "a@broken.example"), "x@bounces.example").code == 250
    assert "dmarc=permerror" in ours(world.wait_for_message(ALICE, tok))
    tok = token()
    assert transaction(world, message(tok, "a@flaky.example"), "x@bounces.example").code == 250
    assert "dmarc=temperror" in ours(world.wait_for_message(ALICE, tok))
    world.config_set("auth.dmarc_temperror", '"defer"')

    def deferred():
        r = transaction(world, message(token(), "a@flaky.example"), "x@bounces.example")
        return (r.code, r.lines[-1][:5]) == (451, "4.7.5")

    wait_until(deferred, what="451 4.7.5 after reload")


def test_override_and_switch_apply_on_reload(world):
    world.config_set("auth.dmarc_overrides", '{ "reject.example" = "quarantine" }')

    def junked():
        tok = token()
        if transaction(world, message(tok, "ceo@reject.example"), "x@bounces.example").code != 250:
            return False
        return wait_until(lambda: imap_folder(world, "Junk", tok), what="Junk")

    wait_until(junked, what="override to quarantine after reload")
    world.config_set("auth.dmarc_enforce", "false")

    def delivered():
        tok = token()
        if transaction(world, message(tok, "ceo@reject.example"), "x@bounces.example").code != 250:
            return False
        # Into INBOX or (before the reload) Junk: only the former will do.
        folder = wait_until(lambda: next((f for f in ("INBOX", "Junk") if imap_folder(world, f, tok)), None))
        return folder == "INBOX" and "dis=off" in ours(world.wait_for_message(ALICE, tok))

    wait_until(delivered, what="enforcement off after reload")


def arc_forwarded(world, tok: str) -> bytes:
    """reject.example's mail as lists.example forwards it: it says DMARC passed
    when it received it, seals that (ARC i=1), and resends from its own address."""
    original = message(tok, "ceo@reject.example")
    seen = b"Authentication-Results: lists.example; dmarc=pass header.from=reject.example\r\n" + original
    arc = dkimpy.arc_sign(seen, b"sel", b"lists.example", world.key, b"lists.example",
                          include_headers=[b"from", b"to", b"subject"])
    return b"".join(arc) + seen


def test_trusted_arc_sealer_overrides_failure(world):
    tok = token()
    reply = transaction(world, arc_forwarded(world, tok), "list-bounces@lists.example")
    assert reply.code == 550, reply
    world.config_set("auth.arc_trusted_sealers", '["lists.example"]')

    def accepted():
        t = token()
        return transaction(world, arc_forwarded(world, t), "list-bounces@lists.example").code == 250 and t

    t = wait_until(accepted, what="the trusted sealer's mail accepted after reload")
    header = ours(world.wait_for_message(ALICE, t))
    assert "arc=pass (sealer lists.example)" in header
    assert "dmarc=fail (p=reject dis=arc)" in header


def test_forged_results_claiming_our_id_are_removed(world):
    tok = token()
    forged = (f"Authentication-Results: {HOSTNAME}; dmarc=pass header.from=reject.example\r\n"
              f"Authentication-Results: (comment) {HOSTNAME.upper()}; dkim=pass\r\n"
              "Authentication-Results: other.example; spf=pass\r\n")
    raw = message(tok, "ceo@none.example", extra_headers=forged)
    assert transaction(world, raw, "x@bounces.example").code == 250
    stored = world.wait_for_message(ALICE, tok)
    values = header_values(stored, "Authentication-Results")
    assert len(values) == 2, values
    assert values[1] == "other.example; spf=pass"
    assert "dmarc=fail" in ours(stored)
