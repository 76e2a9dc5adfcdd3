"""DMARC aggregate reports (issue 15, item 12; RFC 7489 §7.2), with
`auth.dmarc_reports` on: the DMARC results of the mail we checked are
counted per sender domain and reporting period, and `postern dmarc report`
sends each domain's report as a gzip'd Appendix C XML attachment named
`receiver!policy-domain!begin!end.xml.gz` to its rua — captured here at a
loopback sink, gunzipped and parsed. An rua on another organisational
domain gets a report only when it publishes the §7.1 authorisation
record; a report larger than the rua's `!size` is not sent."""

from __future__ import annotations

import gzip
import re
import time
import xml.etree.ElementTree as ET

import pytest

from auth import checks_on, message, transaction
from harness import ALICE, HOSTNAME, token
from outbound import REMOTE, dns, outbound_config, parse, wait_queue_empty  # noqa: F401 (dns is a fixture)
from smtp_sink import Sink

RUA = f"dmarc@{REMOTE}"


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def world(make_server, dns, sink):
    for domain, policy, rua in [
        ("reject.example", "reject", f"mailto:{RUA}"),
        ("unauth.example", "none", f"mailto:{RUA}"),
        ("small.example", "none", f"mailto:{RUA}!100"),
    ]:
        dns.txt(f"_dmarc.{domain}", f"v=DMARC1; p={policy}; rua={rua}")
        dns.txt(domain, "v=spf1 ip4:127.0.0.1 -all")
    # RFC 7489 §7.1: example.net accepts reports for these two, not for unauth.example.
    dns.txt(f"reject.example._report._dmarc.{REMOTE}", "v=DMARC1")
    dns.txt(f"small.example._report._dmarc.{REMOTE}", "v=DMARC1")
    dns.txt("bounces.example", "v=spf1 ip4:127.0.0.1 -all")
    config = {**checks_on(dns.address), **outbound_config(dns.address, sink.port), "auth.dmarc_reports": "true"}
    del config["dns.resolver"]  # the same setting as delivery.resolver
    return make_server(config=config)


def send(world, author: str, envelope: str) -> int:
    return transaction(world, message(token(), author), envelope).code


def report_of(received) -> tuple[str, ET.Element]:
    msg = parse(received.body)
    (part,) = [p for p in msg.walk() if p.get_content_type() == "application/gzip"]
    return part.get_filename(), ET.fromstring(gzip.decompress(part.get_payload(decode=True)))


def records(feedback: ET.Element) -> dict[str, dict[str, str]]:
    """disposition → the row's facts."""
    out = {}
    for rec in feedback.iter("record"):
        out[rec.findtext("row/policy_evaluated/disposition")] = {
            "count": rec.findtext("row/count"),
            "source_ip": rec.findtext("row/source_ip"),
            "dkim": rec.findtext("row/policy_evaluated/dkim"),
            "spf": rec.findtext("row/policy_evaluated/spf"),
            "header_from": rec.findtext("identifiers/header_from"),
            "envelope_from": rec.findtext("identifiers/envelope_from"),
            "spf_auth": rec.findtext("auth_results/spf/result"),
        }
    return out


def test_a_report_counts_dispositions_and_goes_to_an_authorised_rua(world, sink):
    for _ in range(3):  # aligned SPF: pass
        assert send(world, "ceo@reject.example", "ceo@reject.example") == 250
    for _ in range(2):  # SPF passes for another domain, nothing aligned: p=reject
        assert send(world, "ceo@reject.example", "list@bounces.example") == 550
    assert send(world, "a@unauth.example", "a@unauth.example") == 250
    # The period (24h) has not ended: nothing is due yet.
    assert world.cli("dmarc", "report").stdout.strip() == "no reports due"
    out = world.cli("dmarc", "report", "--now").stdout
    assert re.search(rf"^sent reject\.example to {RUA} rows=2 messages=5 id=[0-9a-f]+$", out, re.M), out
    assert re.search(rf"^skipped unauth\.example to {RUA}: {REMOTE} does not authorise reports for unauth\.example", out, re.M), out
    got = sink.wait_for(1)[0]
    assert got.rcpts == [RUA] and got.mail_from == f"postmaster@{HOSTNAME}"
    name, feedback = report_of(got)
    m = re.fullmatch(rf"{re.escape(HOSTNAME)}!reject\.example!(\d+)!(\d+)\.xml\.gz", name)
    assert m and int(m.group(1)) <= int(m.group(2)), name
    assert feedback.findtext("report_metadata/org_name") == HOSTNAME
    assert feedback.findtext("report_metadata/date_range/begin") == m.group(1)
    assert feedback.findtext("policy_published/domain") == "reject.example"
    assert feedback.findtext("policy_published/p") == "reject"
    rows = records(feedback)
    assert rows["none"] == {"count": "3", "source_ip": "127.0.0.1", "dkim": "fail", "spf": "pass",
                            "header_from": "reject.example", "envelope_from": "reject.example", "spf_auth": "pass"}
    assert rows["reject"] == {"count": "2", "source_ip": "127.0.0.1", "dkim": "fail", "spf": "fail",
                              "header_from": "reject.example", "envelope_from": "bounces.example", "spf_auth": "pass"}
    assert set(rows) == {"none", "reject"}
    # Sent rows are gone; unauth.example's were given up; nothing else was queued.
    assert world.cli("dmarc", "report", "--now").stdout.strip() == "no reports due"
    wait_queue_empty(world)
    assert len(sink.messages) == 1


def test_a_report_larger_than_the_rua_size_limit_is_not_sent(world, sink):
    assert send(world, "a@small.example", "a@small.example") == 250
    out = world.cli("dmarc", "report", "--now").stdout
    assert re.search(rf"^skipped small\.example to {RUA}: \d+ octets is more than the 100 rua allows$", out, re.M), out
    wait_queue_empty(world)
    assert sink.messages == []


def test_reports_are_off_by_default(make_server, dns, sink):
    dns.txt("_dmarc.reject.example", f"v=DMARC1; p=none; rua=mailto:{RUA}")
    dns.txt("reject.example", "v=spf1 ip4:127.0.0.1 -all")
    config = {**checks_on(dns.address), **outbound_config(dns.address, sink.port)}
    del config["dns.resolver"]
    server = make_server(config=config)
    assert transaction(server, message(token(), "ceo@reject.example"), "ceo@reject.example").code == 250
    assert server.cli("dmarc", "report", "--now").stdout.strip() == "no reports due"


def test_a_64k_dmarc_record_reaches_at_most_five_destinations(world, dns, sink):
    # ~2,500 rua URIs in one record of 64 KB (answered over TCP): the message is
    # checked in bounded time, and its report goes to the first five only.
    uris = ",".join(f"mailto:r{i}@{REMOTE}" for i in range(2500))
    record = f"v=DMARC1; p=none; rua={uris}"
    assert 60_000 < len(record) < 65_000
    dns.txt("_dmarc.huge.example", record)
    dns.txt("huge.example", "v=spf1 ip4:127.0.0.1 -all")
    dns.txt(f"huge.example._report._dmarc.{REMOTE}", "v=DMARC1")
    start = time.monotonic()
    assert send(world, "a@huge.example", "a@huge.example") == 250
    assert time.monotonic() - start < 5
    out = world.cli("dmarc", "report", "--now").stdout
    assert out.count("sent huge.example") == 5, out
    got = sink.wait_for(5)
    assert sorted(m.rcpts[0] for m in got) == [f"r{i}@{REMOTE}" for i in range(5)]


def test_an_authorisation_lookup_that_never_answers_is_bounded(world, dns, sink):
    dns.txt("_dmarc.slow.example", f"v=DMARC1; p=none; rua=mailto:{RUA}")
    dns.txt("slow.example", "v=spf1 ip4:127.0.0.1 -all")
    dns.silent(f"slow.example._report._dmarc.{REMOTE}")
    assert send(world, "a@slow.example", "a@slow.example") == 250
    start = time.monotonic()
    out = world.cli("dmarc", "report", "--now").stdout
    assert time.monotonic() - start < 8, "postern-reports' LOOKUP_TIMEOUT (5 s), then it gives up"
    assert re.search(rf"^skipped slow\.example to {RUA}: looking up the authorisation at "
                     rf"slow\.example\._report\._dmarc\.{re.escape(REMOTE)}\. failed: no answer in time$", out, re.M), out
    assert sink.messages == []
