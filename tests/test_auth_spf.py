"""SPF (RFC 7208) of inbound mail, end to end: each result in the stored
message's Authentication-Results and in mail.log, answers agreeing with pyspf
on a table of records, local senders from outside let through by SPF
(issue 15 item 7), and DNS that fails or never answers."""

from __future__ import annotations

import pytest
from dns import resolver as dnsresolver
import spf as pyspf

from auth import CLIENT_IP, HELO, checks_on, dns, mail_log_line, message, ours, timed, transaction  # noqa: F401
from harness import ALICE, token

# pyspf still calls dnspython's deprecated query().
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOMAIN_RECORDS = {
    "pass.example": "v=spf1 ip4:127.0.0.1 -all",
    "fail.example": "v=spf1 ip4:192.0.2.1 -all",
    "softfail.example": "v=spf1 ~all",
    "neutral.example": "v=spf1 ?all",
}


def serve(dns, make_server, **extra):
    for name, record in DOMAIN_RECORDS.items():
        dns.txt(name, record)
    dns.servfail("temperror.example")
    return make_server(config=checks_on(dns.address, **extra))


@pytest.mark.parametrize("result", ["pass", "fail", "softfail", "neutral", "temperror", "none"])
def test_each_spf_result_is_recorded(dns, make_server, result):
    server = serve(dns, make_server)
    tok, sender = token(), f"someone@{result}.example"
    reply = transaction(server, message(tok, sender), sender)
    # SPF alone refuses nothing: without a DMARC policy the message is delivered.
    assert reply.code == 250, reply
    stored = server.wait_for_message(ALICE, tok)
    assert f"spf={result} smtp.mailfrom={sender}" in ours(stored)
    assert f"spf=none smtp.helo={HELO}" in ours(stored)
    assert f"spf={result} " in mail_log_line(server, sender)


def pyspf_result(dns_address: str, sender: str) -> str:
    host, port = dns_address.split(":")
    r = dnsresolver.Resolver(configure=False)
    r.nameservers, r.port = [host], int(port)
    dnsresolver.default_resolver = r
    result, _explanation = pyspf.check2(i=CLIENT_IP, s=sender, h=HELO)
    return result


# name → (record, other records it needs)
ORACLE_CASES = {
    "a.example": ("v=spf1 a -all", {"a.example": "127.0.0.1"}),
    "mx.example": ("v=spf1 mx -all", {}),
    "include.example": ("v=spf1 include:pass.example -all", {}),
    "redirect.example": ("v=spf1 redirect=pass.example", {}),
    "cidr.example": ("v=spf1 ip4:127.0.0.0/8 -all", {}),
    "macro.example": ("v=spf1 exists:%{i}.%{l}.%{d}.allow.example -all", {"127.0.0.1.someone.macro.example.allow.example": "127.0.0.2"}),
    "macro-reversed.example": ("v=spf1 exists:%{ir}._ip.%{d2} -all", {"1.0.0.127._ip.macro-reversed.example": "127.0.0.2"}),
    "nomatch.example": ("v=spf1 a:nothing.example ~all", {"nothing.example": "192.0.2.9"}),
    "void2.example": ("v=spf1 a:v1.example a:v2.example ?all", {}),
    "void3.example": ("v=spf1 a:v1.example a:v2.example a:v3.example ?all", {}),
    "syntax.example": ("v=spf1 ip4:300.1.1.1 -all", {}),
    "twice.example": (["v=spf1 -all", "v=spf1 +all"], {}),
}


def test_results_agree_with_pyspf(dns, make_server):
    dns.mx("mx.example", [(10, "mail.mx.example")])
    dns.a("mail.mx.example", "127.0.0.1")
    for name, (record, addrs) in ORACLE_CASES.items():
        for r in record if isinstance(record, list) else [record]:
            dns.txt(name, r)
        for host, ip in addrs.items():
            dns.a(host, ip)
    # More than 10 DNS-querying mechanisms: permerror (RFC 7208 §4.6.4).
    for i in range(11):
        dns.txt(f"i{i}.example", "v=spf1 ?all")
    dns.txt("lookups.example", "v=spf1 " + " ".join(f"include:i{i}.example" for i in range(11)) + " -all")
    server = serve(dns, make_server)
    disagree = []
    for name in [*ORACLE_CASES, "lookups.example"]:
        sender = f"someone@{name}"
        expected = pyspf_result(dns.address, sender)
        tok = token()
        assert transaction(server, message(tok, sender), sender).code == 250
        got = ours(server.wait_for_message(ALICE, tok))
        if f"spf={expected} smtp.mailfrom={sender}" not in got:
            disagree.append((name, expected, got))
    assert not disagree, disagree


def test_local_sender_from_outside_passes_when_spf_passes(dns, make_server):
    # Issue 6 left this waiting for SPF: example.org is local; its SPF allows 127.0.0.1.
    dns.txt("example.org", "v=spf1 ip4:127.0.0.1 -all")
    dns.txt("lists.example.org", "v=spf1 -all")
    server = serve(dns, make_server)
    tok = token()
    reply = transaction(server, message(tok, "bob@example.org"), "bob@example.org")
    assert reply.code == 250, reply
    assert "spf=pass smtp.mailfrom=bob@example.org" in ours(server.wait_for_message(ALICE, tok))
    # The same claim from an address SPF does not allow is still refused at MAIL.
    dns.clear("example.org")
    dns.txt("example.org", "v=spf1 ip4:192.0.2.1 -all")
    server.stop()
    server.start()
    from harness import Raw

    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo(HELO)
        c.expect("MAIL FROM:<bob@example.org>", 550, "5.7.1")
    assert "event=local-sender-spoof" in server.log("security.log")


def test_silent_dns_gives_temperror_in_bounded_time(dns, make_server):
    dns.silent("slow.example")
    dns.silent("_dmarc.slow.example")
    server = serve(dns, make_server, **{"auth.check_timeout": '"2s"', "auth.dmarc_temperror": '"defer"'})
    tok, sender = token(), "someone@slow.example"
    reply, took = timed(lambda: transaction(server, message(tok, sender), sender))
    assert (reply.code, reply.lines[-1][:5]) == (451, "4.7.5"), reply
    assert took < 6, took
    line = mail_log_line(server, sender)
    assert "spf=temperror" in line and "result=\"451 4.7.5\"" in line, line


def test_64k_txt_record_gives_a_clear_result(dns, make_server):
    # ~4,000 mechanisms in one record of 64 KB (answered over TCP).
    mechanisms = " ".join(f"ip4:10.{i // 250}.{i % 250}.1" for i in range(4200))
    record = f"v=spf1 {mechanisms} -all"
    assert len(record) > 60_000
    dns.txt("huge.example", record)
    server = serve(dns, make_server)
    tok, sender = token(), "someone@huge.example"
    reply, took = timed(lambda: transaction(server, message(tok, sender), sender))
    assert reply.code == 250, reply
    assert took < 5, took
    assert f"spf={pyspf_result(dns.address, sender)} smtp.mailfrom={sender}" in ours(server.wait_for_message(ALICE, tok))
