"""The DNS records a domain publishes (issue 15, item 10): `postern dns
DOMAIN` prints MX, SPF, every DKIM key, DMARC (with rua when set) and the
RFC 6186 SRV records of the services that are on, in zone-file form;
`--check` looks each up through delivery.resolver (here a DNS server on
loopback serving what the test chose) and says which are missing or differ."""

from __future__ import annotations

import pytest

import zone
from dns_server import DnsServer

DOMAIN = "example.org"
HOST = "mx.example.org"


@pytest.fixture
def dns():
    d = DnsServer()
    d.start()
    yield d
    d.stop()


@pytest.fixture
def postern(make_server, dns):
    p = make_server(start=False, config={
        "server.hostname": f'"{HOST}"',
        "delivery.resolver": f'"{dns.address}"',
        "listeners.pop3": '"off"',
        "listeners.pop3s": '"off"',
        "listeners.imaps": '"0.0.0.0:1993"',
    })
    p.cli("user", "add", f"dmarc@{DOMAIN}", "--password-stdin", input="Reports-are-kept-9\n")
    return p


def generate(p, selector: str, algorithm: str) -> zone.Record:
    (r,) = zone.records(p.cli("dkim", "generate", DOMAIN, "--selector", selector, "--algorithm", algorithm).stdout)
    return r


def printed(p) -> list[zone.Record]:
    return zone.records(p.cli("dns", DOMAIN).stdout)


def test_every_record_the_domain_needs(postern):
    rsa, ed = generate(postern, "rsa1", "rsa"), generate(postern, "ed1", "ed25519")
    out = postern.cli("domain", "set", DOMAIN, "--dmarc-rua", f"dmarc@{DOMAIN}").stdout
    assert out.strip() == f"domain {DOMAIN}: DMARC reports to dmarc@{DOMAIN}"
    recs = printed(postern)
    got = [(r.name, r.rtype, r.data) for r in recs]
    assert got == [
        (DOMAIN, "MX", ["10", f"{HOST}."]),
        (DOMAIN, "TXT", ["v=spf1 mx -all"]),
        (f"ed1._domainkey.{DOMAIN}", "TXT", ed.data),
        (f"rsa1._domainkey.{DOMAIN}", "TXT", rsa.data),
        (f"_dmarc.{DOMAIN}", "TXT", [f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{DOMAIN}"]),
        (f"_submission._tcp.{DOMAIN}", "SRV", ["10", "1", "587", f"{HOST}."]),
        (f"_submissions._tcp.{DOMAIN}", "SRV", ["0", "1", "465", f"{HOST}."]),
        (f"_imap._tcp.{DOMAIN}", "SRV", ["10", "1", "143", f"{HOST}."]),
        (f"_imaps._tcp.{DOMAIN}", "SRV", ["0", "1", "1993", f"{HOST}."]),
    ], "pop3 and pop3s are off: no SRV records for them"
    assert all(len(s) <= 255 for r in recs for s in r.data if r.rtype == "TXT"), "TXT strings of 255 octets at most"
    assert rsa.text().startswith("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")


def test_without_keys_or_rua_dmarc_only_watches(postern):
    recs = {(r.name, r.rtype): r for r in printed(postern)}
    assert recs[(f"_dmarc.{DOMAIN}", "TXT")].text() == "v=DMARC1; p=none"
    assert not any(n.endswith(f"._domainkey.{DOMAIN}") for n, _ in recs)


def test_dmarc_reports_go_to_a_local_address_only(postern):
    r = postern.cli("domain", "set", DOMAIN, "--dmarc-rua", "reports@example.net", check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == "postern: DMARC reports must go to a local address: reports@example.net is not one"
    postern.cli("domain", "set", DOMAIN, "--dmarc-rua", f"dmarc@{DOMAIN}")
    assert postern.cli("domain", "set", DOMAIN, "--dmarc-rua", "none").stdout.strip() == f"domain {DOMAIN}: no DMARC reports"
    assert "rua=" not in postern.cli("dns", DOMAIN).stdout


def test_check_says_what_is_missing_or_differs_then_all_ok(postern, dns):
    generate(postern, "ed1", "ed25519")
    recs = printed(postern)
    spf = next(r for r in recs if r.rtype == "TXT" and r.text().startswith("v=spf1"))
    dmarc = next(r for r in recs if r.name.startswith("_dmarc."))
    # Published: everything but DMARC, and an older SPF beside another TXT record.
    zone.serve(dns, [r for r in recs if r not in (spf, dmarc)])
    dns.txt(DOMAIN, ["site-verification=abc"])
    dns.txt(DOMAIN, ["v=spf1 a ~all"])
    r = postern.cli("dns", DOMAIN, "--check", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == f"postern: {len(recs)} records of {DOMAIN}: 2 missing or different, 0 not looked up"
    lines = r.stdout.splitlines()
    assert f'differs  {DOMAIN}. 3600 IN TXT "v=spf1 mx -all"' in lines
    assert '         found: "v=spf1 a ~all"' in lines
    assert f'missing  _dmarc.{DOMAIN}. 3600 IN TXT "v=DMARC1; p=quarantine"' in lines
    assert sum(line.startswith("ok ") for line in lines) == len(recs) - 2
    assert f"ok       {DOMAIN}. 3600 IN MX 10 {HOST}." in lines
    # Fixed: every record is found as printed.
    dns.clear(DOMAIN)
    zone.serve(dns, [r for r in recs if r.name == DOMAIN])
    zone.serve(dns, [dmarc])
    r = postern.cli("dns", DOMAIN, "--check", check=False)
    assert r.returncode == 0, r.stderr + r.stdout
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["ok"] * len(recs)
    assert (f"_imaps._tcp.{DOMAIN}", "SRV") in dns.queries


def test_check_when_dns_does_not_answer(postern, dns):
    dns.servfail(DOMAIN)
    r = postern.cli("dns", DOMAIN, "--check", check=False)
    assert r.returncode == 1
    assert f"failed   {DOMAIN}. 3600 IN MX 10 {HOST}." in r.stdout.splitlines()
    assert "not looked up" in r.stderr


def test_unknown_domain(postern):
    r = postern.cli("dns", "nowhere.example", check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == "postern: domain nowhere.example is not a local domain"
