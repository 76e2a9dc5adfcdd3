"""ARC sealing of forwards (issue 15, item 9; RFC 8617 §5.1): mail from
outside that a local alias sends on to another domain leaves with one ARC
set by the forwarding domain — our Authentication-Results as its
ARC-Authentication-Results, an ARC-Message-Signature and an ARC-Seal — that
dkimpy (an independent implementation) validates against the key record
`postern dkim generate` printed. A first hop seals i=1 cv=none; a message
that arrives with a valid chain gets i=2 cv=pass."""

from __future__ import annotations

import re

import dkim as dkimpy
import pytest

import zone
from auth import checks_on, message, rsa_key
from harness import HOSTNAME, token, wait_until
from outbound import REMOTE, dns, outbound_config  # noqa: F401 (dns is a fixture)
from smtp_sink import Sink

DOMAIN = "example.org"
SENDER = "sender.example"
LISTS = "lists.example"


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def world(make_server, dns, sink, tmp_path):
    dns.txt(SENDER, "v=spf1 ip4:127.0.0.1 -all")
    dns.txt(LISTS, "v=spf1 ip4:127.0.0.1 -all")
    key, record = rsa_key(tmp_path)
    dns.txt(f"sel._domainkey.{LISTS}", record)
    config = {**checks_on(dns.address), **outbound_config(dns.address, sink.port)}
    del config["dns.resolver"]  # the same setting as delivery.resolver
    server = make_server(config=config)
    out = server.cli("dkim", "generate", DOMAIN, "--selector", "rsa1", "--algorithm", "rsa").stdout
    server.published = zone.records(out)
    zone.serve(dns, server.published)
    server.cli("alias", "add", f"fwd@{DOMAIN}", f"dave@{REMOTE}")
    server.lists_key = key
    server.lists_record = record
    return server


def forward(server, raw: bytes, sender: str) -> None:
    with server.smtp() as s:
        assert not s.sendmail(sender, [f"fwd@{DOMAIN}"], raw)


def arc_fields(msg: bytes, name: str) -> list[bytes]:
    return [m.group(0) for m in re.finditer(rb"^" + name.encode() + rb":.*?\r\n(?![ \t])", msg, re.M | re.S | re.I)]


def tag(field: bytes, name: str) -> str:
    m = re.search(rb"[;:\s]" + name.encode() + rb"=([^;]*)", field)
    assert m, field
    return re.sub(r"\s+", "", m.group(1).decode())


def arc_verify(world, msg: bytes) -> tuple[bytes, str]:
    txt = {f"{r.name}.".encode(): r.text().encode() for r in world.published}
    txt[f"sel._domainkey.{LISTS}.".encode()] = world.lists_record.encode()
    cv, _results, reason = dkimpy.arc_verify(msg, dnsfunc=lambda name, timeout=5: txt.get(name, b""))
    return cv, reason


def test_a_first_hop_forward_is_sealed_cv_none_and_validates(world, sink):
    tok = token()
    forward(world, message(tok, f"carol@{SENDER}", f"fwd@{DOMAIN}"), f"carol@{SENDER}")
    got = sink.wait_for(1)[0]
    assert got.rcpts == [f"dave@{REMOTE}"]
    (seal,) = arc_fields(got.body, "ARC-Seal")
    (ams,) = arc_fields(got.body, "ARC-Message-Signature")
    (aar,) = arc_fields(got.body, "ARC-Authentication-Results")
    assert (tag(seal, "i"), tag(seal, "cv"), tag(seal, "d"), tag(seal, "s"), tag(seal, "a")) == (
        "1", "none", DOMAIN, "rsa1", "rsa-sha256")
    assert tag(ams, "i") == "1" and tag(ams, "d") == DOMAIN
    # The AAR carries what we found on arrival: SPF passed for the sender.
    assert re.match(rb"ARC-Authentication-Results: i=1; " + HOSTNAME.encode() + rb"; ", aar), aar
    assert b"spf=pass" in aar and f"smtp.mailfrom=carol@{SENDER}".encode() in aar, aar
    assert got.body.startswith(b"ARC-Seal:"), "sealed once, before queueing, on top"
    cv, reason = arc_verify(world, got.body)
    assert cv == b"pass", reason
    # Altered after sealing: the chain no longer validates.
    cv, _ = arc_verify(world, got.body.replace(tok.encode(), b"tampered", 1))
    assert cv == b"fail"
    wait_until(lambda: re.search(rf"event=arc-sealed .*domain={DOMAIN}", world.log("mail.log")), 10,
               what="arc-sealed in mail.log")


def test_a_valid_incoming_chain_is_extended_with_i2_cv_pass(world, sink):
    tok = token()
    original = message(tok, f"ceo@{SENDER}", f"fwd@{DOMAIN}")
    seen = f"Authentication-Results: {LISTS}; spf=pass smtp.mailfrom={SENDER}\r\n".encode() + original
    sealed = dkimpy.arc_sign(seen, b"sel", LISTS.encode(), world.lists_key, LISTS.encode(),
                             include_headers=[b"from", b"to", b"subject"])
    forward(world, b"".join(sealed) + seen, f"list-bounces@{LISTS}")
    got = sink.wait_for(1)[0]
    seals = arc_fields(got.body, "ARC-Seal")
    assert sorted((tag(s, "i"), tag(s, "cv"), tag(s, "d")) for s in seals) == [
        ("1", "none", LISTS), ("2", "pass", DOMAIN)]
    (aar2,) = [a for a in arc_fields(got.body, "ARC-Authentication-Results") if tag(a, "i") == "2"]
    assert b"arc=pass" in aar2, aar2
    cv, reason = arc_verify(world, got.body)
    assert cv == b"pass", reason


def test_local_delivery_and_submissions_are_not_sealed(world, sink):
    from harness import BOB
    from outbound import submit

    tok = token()
    with world.smtp() as s:
        assert not s.sendmail(f"carol@{SENDER}", [BOB], message(tok, f"carol@{SENDER}", BOB))
    assert "ARC-Seal" not in world.wait_for_message(BOB, tok)
    submit(world, f"dave@{REMOTE}")
    got = sink.wait_for(1)[0]
    assert arc_fields(got.body, "ARC-Seal") == [], "our own user's mail is signed, not sealed"


def test_a_broken_incoming_chain_is_sealed_cv_fail(world, sink):
    # RFC 8617 §5.1.2: the sealer records that the chain it received had failed.
    tok = token()
    original = message(tok, f"ceo@{SENDER}", f"fwd@{DOMAIN}")
    seen = f"Authentication-Results: {LISTS}; spf=pass smtp.mailfrom={SENDER}\r\n".encode() + original
    sealed = dkimpy.arc_sign(seen, b"sel", LISTS.encode(), world.lists_key, LISTS.encode(),
                             include_headers=[b"from", b"to", b"subject"])
    altered = b"".join(sealed) + seen.replace(b"Hello.", b"Hullo.")
    forward(world, altered, f"list-bounces@{LISTS}")
    got = sink.wait_for(1)[0]
    seals = arc_fields(got.body, "ARC-Seal")
    assert sorted((tag(s, "i"), tag(s, "cv")) for s in seals) == [("1", "none"), ("2", "fail")]
    (aar2,) = [a for a in arc_fields(got.body, "ARC-Authentication-Results") if tag(a, "i") == "2"]
    assert b"arc=fail" in aar2, aar2
    cv, _ = arc_verify(world, got.body)
    assert cv != b"pass", "dkimpy does not validate a chain that failed"
