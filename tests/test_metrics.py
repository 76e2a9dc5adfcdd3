"""`GET /metrics` on the admin listener and `postern status` (issue 19 item 5):
Prometheus text that a real parser reads, counters that move with the mail,
logins and connections they count, and who may scrape."""

import http.client
import imaplib
import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import ADMIN_LISTEN, ALICE, ALICE_PASSWORD, BOB, IO_TIMEOUT, insecure_tls, wait_until
from outbound import REMOTE, dns, outbound_config, submit  # noqa: F401 (dns is a fixture)
from smtp_sink import Sink

LISTEN = {**ADMIN_LISTEN, "imaps": "127.0.0.1:0"}


def scrape(server, token=None):
    host, port = server.addr("admin")
    c = http.client.HTTPSConnection(host, port, context=insecure_tls(), timeout=IO_TIMEOUT)
    c.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    r = c.getresponse()
    r.text = r.read().decode()
    c.close()
    return r


def samples(text):
    """{(sample name, frozenset(labels)): value}, as prometheus_client parses them."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(all_samples, name, **labels):
    return all_samples[(name, frozenset(labels.items()))]


def imaps(server):
    host, port = server.addr("imaps")
    return imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)


def queue_remote(server):
    """One message for another domain, which waits in the queue (no DNS in tests)."""
    with server.submission() as s:
        s.sendmail(ALICE, ["far@example.net"], f"From: {ALICE}\r\nTo: far@example.net\r\nSubject: q\r\n\r\nHi.\r\n")


def token(server, user):
    out = server.cli("token", "create", "--user", user).stdout
    m = re.search(r"token \d+ for \S+: (pst_\S+)", out)
    assert m, out
    return m.group(1)


def test_metrics_count_mail_logins_connections_and_commands(make_server):
    server = make_server(listen=LISTEN)
    server.deliver("metrics-local")  # one message, one local recipient
    queue_remote(server)
    bad = imaps(server)
    with pytest.raises(imaplib.IMAP4.error):
        bad.login(ALICE, "wrong-password")
    bad.shutdown()
    held = imaps(server)
    held.login(ALICE, ALICE_PASSWORD)
    held.select("INBOX")
    held.noop()
    r = scrape(server)
    assert r.status == 200, r.text
    assert r.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    # Sessions just closed are counted until the server has seen them go.
    settled = lambda s: value(s, "postern_connections", service="imaps") == 1 and value(s, "postern_connections", service="submission") == 0
    s = wait_until(lambda: (lambda s: settled(s) and s)(samples(scrape(server).text)), 5, what="one IMAPS and no SMTP connection")
    assert value(s, "postern_messages_received_total") == 2
    assert value(s, "postern_messages_delivered_total") == 1
    assert value(s, "postern_auth_failures_total") == 1
    assert value(s, "postern_connections", service="imaps") == 1
    assert value(s, "postern_connections", service="smtp") == 0
    assert value(s, "postern_queue_messages") == 1
    assert 0 <= value(s, "postern_queue_oldest_age_seconds") < 120
    assert value(s, "postern_blocked_addresses") == 0
    assert value(s, "postern_spam_total", counter="tagged") == 0
    # LOGIN, SELECT, NOOP (and the failed session's LOGIN) were timed; two SMTP sessions' commands too.
    imap_count = value(s, "postern_command_duration_seconds_count", protocol="imap")
    assert imap_count >= 4
    assert value(s, "postern_command_duration_seconds_bucket", protocol="imap", le="+Inf") == imap_count
    assert value(s, "postern_command_duration_seconds_count", protocol="smtp") >= 10
    assert value(s, "postern_command_duration_seconds_count", protocol="pop3") == 0
    # IDLE (RFC 2177) lasts as long as the client waits: it is not a latency.
    imap_sum = lambda s: value(s, "postern_command_duration_seconds_sum", protocol="imap")
    before = samples(scrape(server).text)
    tag = held._new_tag().decode()
    held.send(f"{tag} IDLE\r\n".encode())
    assert held.readline().startswith(b"+")
    time.sleep(1.5)  # the IDLE's length is what is measured here, not a wait for the server
    held.send(b"DONE\r\n")
    assert held.readline().startswith(f"{tag} OK".encode())
    held.noop()
    after = samples(scrape(server).text)
    assert value(after, "postern_command_duration_seconds_count", protocol="imap") == imap_count + 1  # the NOOP
    assert imap_sum(after) - imap_sum(before) < 1.0
    held.logout()
    wait_until(lambda: value(samples(scrape(server).text), "postern_connections", service="imaps") == 0, 5)


def test_scrapers_outside_the_group_need_an_admin_or_auditor_token(make_server):
    server = make_server(listen=LISTEN)
    assert scrape(server).status == 200  # loopback: no credentials needed by default
    server.cli("user", "set", ALICE, "--role", "auditor")
    server.cli("user", "set", BOB, "--role", "domain-admin:example.org")
    auditor, domain_admin = token(server, ALICE), token(server, BOB)
    server.cli("ipgroup", "add", "monitoring", "192.0.2.10")
    server.config_set("access.metrics.allow", "monitoring")
    wait_until(lambda: scrape(server).status == 401, 10, what="loopback no longer in access.metrics.allow")
    assert scrape(server, "pst_bogus").status == 401
    assert scrape(server, domain_admin).status == 403
    r = scrape(server, auditor)
    assert r.status == 200 and "postern_queue_messages 0" in r.text


def test_status_cli_shows_the_running_servers_summary_then_the_data_dirs(make_server):
    server = make_server(listen=LISTEN)
    queue_remote(server)
    held = imaps(server)
    held.login(ALICE, ALICE_PASSWORD)
    server.cli("security", "block", "198.51.100.7", "--for", "2h")
    out = server.cli("status").stdout
    assert "blocked addresses: 1" in out, out
    assert re.search(r"^server: running \(pid \d+\)$", out, re.M), out
    assert "imaps 1" in out.split("connections:")[1].splitlines()[0], out
    assert "messages: received 1, delivered 0, deferred 0, bounced 0" in out, out
    assert re.search(r"^queue: 1 messages, oldest \d+s$", out, re.M), out
    assert re.search(r"^latency imap: \d+ commands, mean [0-9.]+ ms$", out, re.M), out
    held.logout()
    server.stop()
    out = server.cli("status").stdout
    assert out.startswith("server: not answering: no server runs on"), out
    assert "connections:" not in out
    assert re.search(r"^queue: 1 messages, oldest \d+s$", out, re.M), out
    assert "blocked addresses: 1" in out


def test_outbound_results_are_counted_per_recipient(make_server, dns):
    sink = Sink().start()
    try:
        # 250 for ok@, 550 for ghost@ (bounced at once), 450 for later@ (deferred, retried every second).
        replies = {f"ghost@{REMOTE}": (550, "5.1.1 no such user"), f"later@{REMOTE}": (450, "4.2.0 try later")}
        sink.rcpt_reply = lambda rcpt, n: replies.get(rcpt)
        server = make_server(config=outbound_config(dns.address, sink.port), listen=LISTEN)
        for rcpt in ("ok", "ghost", "later"):
            submit(server, f"{rcpt}@{REMOTE}")
        def counted():
            s = samples(scrape(server).text)
            got = [value(s, f"postern_messages_{n}_total") for n in ("received", "delivered", "bounced", "deferred")]
            # delivered: ok@ and the bounce for ghost@ delivered to alice here
            return got[:3] == [3, 2, 1] and got[3] >= 1 and got
        wait_until(counted, 20, what="two delivered (one a local bounce), one bounced, one deferred recipient")
    finally:
        sink.stop()
