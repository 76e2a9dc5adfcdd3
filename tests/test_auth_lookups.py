"""How often the checks ask DNS per message (issue 15: their CPU cost). Each
SPF identity's own TXT records are looked up once, not once to vet the
records, once to evaluate them and once more to tell "none" from a failure;
the results stay those of test_auth_spf.py."""

from __future__ import annotations

from auth import HELO, checks_on, dns, message, ours, transaction  # noqa: F401
from harness import ALICE, token


def test_a_helo_name_without_records_is_asked_once(dns, make_server):
    dns.txt("pass.example", "v=spf1 ip4:127.0.0.1 -all")
    server = make_server(config=checks_on(dns.address))
    tok, sender = token(), "someone@pass.example"
    dns.queries.clear()
    reply = transaction(server, message(tok, sender), sender)
    assert reply.code == 250, reply
    stored = server.wait_for_message(ALICE, tok)
    assert f"spf=none smtp.helo={HELO}" in ours(stored)
    assert f"spf=pass smtp.mailfrom={sender}" in ours(stored)
    # The test server's NXDOMAIN carries no SOA, so nothing caches it: every ask is seen.
    assert dns.queries.count((HELO, "TXT")) == 1, dns.queries


def test_a_helo_name_that_fails_is_a_temperror_after_one_ask(dns, make_server):
    dns.txt("pass.example", "v=spf1 ip4:127.0.0.1 -all")
    dns.servfail("broken.test")
    server = make_server(config=checks_on(dns.address))
    tok, sender = token(), "someone@pass.example"
    reply = transaction(server, message(tok, sender), sender, helo="broken.test")
    assert reply.code == 250, reply
    stored = server.wait_for_message(ALICE, tok)
    assert "spf=temperror smtp.helo=broken.test" in ours(stored)
