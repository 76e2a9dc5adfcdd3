"""DKIM verification (RFC 6376) end to end: messages signed by dkimpy (an
independent implementation) pass; altered, unsigned, malformed and
over-signed messages get clear results in bounded time."""

from __future__ import annotations

import dkim as dkimpy
import pytest

from auth import checks_on, dns, mail_log_line, message, ours, rsa_key, timed, transaction  # noqa: F401
from harness import ALICE, token

SIGNER = "signer.example"


@pytest.fixture
def signed_world(dns, make_server, tmp_path):
    key, record = rsa_key(tmp_path)
    dns.txt(f"sel._domainkey.{SIGNER}", record)
    server = make_server(config=checks_on(dns.address))
    server.dkim_record = record
    return server, key


def sign(key: bytes, msg: bytes, domain: str = SIGNER, **kw) -> bytes:
    sig = dkimpy.sign(msg, b"sel", domain.encode(), key, include_headers=[b"from", b"to", b"subject", b"date"], **kw)
    return sig + msg


def test_dkimpy_signature_passes(signed_world):
    server, key = signed_world
    for canon in [(b"relaxed", b"relaxed"), (b"simple", b"simple")]:
        tok = token()
        raw = sign(key, message(tok, f"a@{SIGNER}"), canonicalize=canon)
        assert transaction(server, raw, f"a@{SIGNER}").code == 250
        stored = server.wait_for_message(ALICE, tok)
        assert f"dkim=pass header.d={SIGNER} header.s=sel" in ours(stored), canon
        # What we stored still verifies with dkimpy: our fields went on top, nothing signed changed.
        def dnsfunc(name, timeout=5):
            assert name == f"sel._domainkey.{SIGNER}.".encode(), name
            return server.dkim_record.encode()

        assert dkimpy.verify(stored.replace("\n", "\r\n").encode(), dnsfunc=dnsfunc)
    assert f"dkim=pass:{SIGNER}" in mail_log_line(server, f"a@{SIGNER}")


def test_altered_body_fails(signed_world):
    server, key = signed_world
    tok = token()
    raw = sign(key, message(tok, f"a@{SIGNER}")) + b"appended by someone else\r\n"
    assert transaction(server, raw, f"a@{SIGNER}").code == 250
    assert f"dkim=fail (Calculated body hash does not match signature hash) header.d={SIGNER}" in ours(server.wait_for_message(ALICE, tok))


def test_length_tag_does_not_cover_appended_content(signed_world):
    server, key = signed_world
    tok = token()
    raw = sign(key, message(tok, f"a@{SIGNER}"), length=True) + b"unsigned text\r\n"
    assert transaction(server, raw, f"a@{SIGNER}").code == 250
    assert "dkim=policy" in ours(server.wait_for_message(ALICE, tok))


def test_unsigned_is_none(signed_world):
    server, _key = signed_world
    tok = token()
    assert transaction(server, message(tok, f"a@{SIGNER}"), f"a@{SIGNER}").code == 250
    assert "dkim=none;" in ours(server.wait_for_message(ALICE, tok))


def test_malformed_signature_is_permerror(signed_world):
    server, _key = signed_world
    tok = token()
    bad = "DKIM-Signature: v=1; a=rsa-sha256; d=; s=; b=%%%; bh===\r\n"
    assert transaction(server, bad.encode() + message(tok, f"a@{SIGNER}"), f"a@{SIGNER}").code == 250
    assert "dkim=permerror" in ours(server.wait_for_message(ALICE, tok))


def test_hundred_signatures_bounded(signed_world):
    server, key = signed_world
    tok = token()
    raw = message(tok, f"a@{SIGNER}")
    for _ in range(100):
        raw = sign(key, raw)
    reply, took = timed(lambda: transaction(server, raw, f"a@{SIGNER}"))
    assert reply.code == 250, reply
    assert took < 5, took
    header = ours(server.wait_for_message(ALICE, tok))
    assert header.count("dkim=pass") == 10, header
    assert "dkim=neutral (90 more signatures not verified)" in header


def test_key_lookup_servfail_is_temperror(signed_world, dns):
    server, key = signed_world
    dns.servfail(f"sel._domainkey.{SIGNER}")
    tok = token()
    assert transaction(server, sign(key, message(tok, f"a@{SIGNER}")), f"a@{SIGNER}").code == 250
    assert "dkim=temperror" in ours(server.wait_for_message(ALICE, tok))


def test_rsa_sha1_is_not_a_pass(signed_world):
    # RFC 8301 §3.1: verifiers must not consider rsa-sha1 signatures valid.
    server, key = signed_world
    tok = token()
    raw = sign(key, message(tok, f"a@{SIGNER}"), signature_algorithm=b"rsa-sha1")
    assert transaction(server, raw, f"a@{SIGNER}").code == 250
    header = ours(server.wait_for_message(ALICE, tok))
    assert f"dkim=policy (rsa-sha1 is not accepted RFC 8301) header.d={SIGNER}" in header, header
