"""Outbound TLS that must not be downgraded (issue 22 items 1 and 6): with
`delivery.tls = "verify"` or a domain in `delivery.tls_verify_domains`, a
receiver that offers no STARTTLS, or whose certificate names another host, gets
nothing — not even MAIL FROM — and the mail waits in the queue; smarthosts over
`smtp+starttls://` and `smtps://`, verified under that policy like any other hop
unless `delivery.tls_verify_relay = false`; `delivery.relay_domains`."""

from __future__ import annotations

import re
import ssl
import subprocess

import pytest

from harness import wait_until
from outbound import dns, sink, REMOTE, outbound_config, queue_lines, submit, wait_queue_empty  # noqa: F401 (dns and sink are fixtures)
from smtp_sink import Sink

# One attempt per test: the next try is an hour away.
ONE_TRY = {"delivery.retry": '["1h"]'}


def certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate (its own CA) for `name`: (cert.pem, key.pem)."""
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-addext", "basicConstraints=critical,CA:FALSE"],
                   check=True, capture_output=True)
    return str(cert), str(key)


def server_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def commands_seen(sink: Sink) -> list[str]:
    with sink.cond:
        return [l[3:].split(" ")[0].upper() for t in sink.transcripts + [s.transcript for s in sink.open_sessions]
                for l in t if l.startswith("C: ")]


def deferred_with(server, rcpt: str, error: str) -> None:
    """Waits for `rcpt` to be deferred with `error` in the queue and in mail.log."""
    pattern = rf"\s{re.escape(rcpt)}\s+deferred\s+attempts=1\s+next=(59m|1h)\s+last_error=.*{re.escape(error)}"
    wait_until(lambda: re.search(pattern, queue_lines(server)), 15, what=f"{rcpt} deferred with {error!r}: {queue_lines(server)}")
    quoted = error.replace('"', '\\"')  # mail.log quotes the reply
    log = rf"event=outbound .*to={re.escape(rcpt)} .*result=deferred reply=.*{re.escape(quoted)}"
    wait_until(lambda: re.search(log, server.log("mail.log")), 5, what=f"the deferral in mail.log: {server.log('mail.log')}")


def test_verify_refuses_a_receiver_without_starttls(make_server, dns):
    plain = Sink(capabilities=["PIPELINING", "ENHANCEDSTATUSCODES"]).start()
    try:
        server = make_server(config=outbound_config(dns.address, plain.port, **ONE_TRY, **{"delivery.tls": '"verify"'}))
        submit(server, f"secret@{REMOTE}")
        deferred_with(server, f"secret@{REMOTE}", "does not offer STARTTLS and TLS is required")
        assert plain.sessions >= 1, "the receiver was asked"
        seen = commands_seen(plain)
        assert "MAIL" not in seen and "RCPT" not in seen and not plain.messages, seen
    finally:
        plain.stop()


def test_verify_refuses_a_certificate_for_another_name(make_server, dns, tmp_path):
    # Trusted (it is in ca_file), but for other.example, not mx1.example.net.
    cert, key = certificate(tmp_path, "other.example")
    imposter = Sink(capabilities=["PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES"], tls_context=server_context(cert, key)).start()
    try:
        server = make_server(start=False, config=outbound_config(dns.address, imposter.port, **ONE_TRY, **{
            "delivery.tls": '"verify"', "delivery.ca_file": '"imposter-ca.pem"'}))
        (server.data / "imposter-ca.pem").write_bytes(open(cert, "rb").read())
        server.start()
        submit(server, f"secret@{REMOTE}")
        deferred_with(server, f"secret@{REMOTE}", 'invalid peer certificate: certificate not valid for name "mx1.example.net"')
        seen = commands_seen(imposter)
        assert "STARTTLS" in seen, seen
        assert "MAIL" not in seen and not imposter.messages, f"sent in clear after a failed verification: {seen}"
    finally:
        imposter.stop()


def test_tls_verify_domains_applies_to_those_domains_only(make_server, dns):
    """tls = "may" for everyone, "verify" for example.net: a receiver without
    STARTTLS gets other domains' mail in clear, and example.net's not at all."""
    dns.mx("other.example", [(10, "mx1." + REMOTE)])
    plain = Sink(capabilities=["PIPELINING", "ENHANCEDSTATUSCODES"]).start()
    try:
        server = make_server(config=outbound_config(dns.address, plain.port, **ONE_TRY, **{
            "delivery.tls_verify_domains": f'["{REMOTE.upper()}"]'}))
        submit(server, f"careful@{REMOTE}")
        submit(server, "casual@other.example")
        assert plain.wait_for(1)[0].rcpts == ["casual@other.example"]
        deferred_with(server, f"careful@{REMOTE}", "does not offer STARTTLS and TLS is required")
        assert [m.rcpts for m in plain.messages] == [["casual@other.example"]]
        assert f"careful@{REMOTE}" not in plain.rcpt_attempts
    finally:
        plain.stop()


def test_relay_domains_go_through_the_relay_and_others_by_mx(make_server, dns, sink):
    relay = Sink().start()
    try:
        server = make_server(config=outbound_config(dns.address, sink.port, **{
            "delivery.relay": f'"smtp://127.0.0.1:{relay.port}"', "delivery.relay_domains": '["Relayed.Example"]'}))
        submit(server, "far@relayed.example")
        submit(server, f"near@{REMOTE}")
        assert [m.rcpts for m in relay.wait_for(1)] == [["far@relayed.example"]]
        assert [m.rcpts for m in sink.wait_for(1)] == [[f"near@{REMOTE}"]]
        wait_queue_empty(server)
        assert ("relayed.example", "MX") not in dns.queries, "a relayed domain needs no MX lookup"
        assert len(relay.messages) == 1 and len(sink.messages) == 1
    finally:
        relay.stop()


@pytest.fixture
def relay_cert(tmp_path):
    return certificate(tmp_path, "smarthost.test")


def test_smarthost_over_starttls_with_auth(make_server, dns, relay_cert):
    relay = Sink(capabilities=["STARTTLS", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES"], tls_context=server_context(*relay_cert),
                 users={"relayuser": "relay-pw"}, require_auth=True).start()
    try:
        url = f'"smtp+starttls://relayuser:relay-pw@127.0.0.1:{relay.port}"'
        server = make_server(config=outbound_config(dns.address, 1, **{"delivery.relay": url}))
        submit(server, "far@elsewhere.example")
        got = relay.wait_for(1)[0]
        assert got.tls and got.auth == "relayuser" and got.rcpts == ["far@elsewhere.example"]
        assert commands_seen(relay)[:5] == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL"], commands_seen(relay)
        wait_queue_empty(server)
        wait_until(lambda: re.search(r"to=far@elsewhere.example .*tls=\"?unverified TLS.*result=sent", server.log("mail.log")), 5,
                   what="the relayed delivery in mail.log")
    finally:
        relay.stop()


def test_smarthost_over_starttls_is_not_sent_in_clear(make_server, dns):
    """smtp+starttls:// requires TLS: a smarthost that stops offering STARTTLS
    gets neither the password nor the mail."""
    relay = Sink(capabilities=["AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES"], users={"relayuser": "relay-pw"}, require_auth=True).start()
    try:
        url = f'"smtp+starttls://relayuser:relay-pw@127.0.0.1:{relay.port}"'
        server = make_server(config=outbound_config(dns.address, 1, **ONE_TRY, **{"delivery.relay": url}))
        submit(server, "far@elsewhere.example")
        deferred_with(server, "far@elsewhere.example", "does not offer STARTTLS and TLS is required")
        seen = commands_seen(relay)
        assert "AUTH" not in seen and "MAIL" not in seen, seen
    finally:
        relay.stop()


def test_smarthost_over_smtps(make_server, dns, relay_cert):
    relay = Sink(capabilities=["AUTH PLAIN", "ENHANCEDSTATUSCODES"], tls_context=server_context(*relay_cert), implicit_tls=True,
                 users={"relayuser": "relay-pw"}, require_auth=True).start()
    try:
        url = f'"smtps://relayuser:relay-pw@127.0.0.1:{relay.port}"'
        server = make_server(config=outbound_config(dns.address, 1, **{"delivery.relay": url}))
        submit(server, "far@elsewhere.example")
        got = relay.wait_for(1)[0]
        assert got.tls and got.auth == "relayuser" and got.rcpts == ["far@elsewhere.example"]
        assert "STARTTLS" not in commands_seen(relay)
        wait_queue_empty(server)
    finally:
        relay.stop()


# The smarthost under a policy that asks for verification: it is a hop like
# any other, checked for the host named in delivery.relay.
SMARTHOST = "smarthost.test"


def relay_sink(cert: str, key: str, scheme: str) -> Sink:
    caps = ["AUTH PLAIN", "ENHANCEDSTATUSCODES"] + (["STARTTLS"] if scheme == "smtp+starttls" else [])
    return Sink(capabilities=caps, tls_context=server_context(cert, key), implicit_tls=scheme == "smtps",
                users={"relayuser": "relay-pw"}, require_auth=True).start()


def relay_server(make_server, dns, relay: Sink, scheme: str, trusted_cert: str, **extra: str):
    """A Postern sending through `relay` as smarthost.test, with `trusted_cert` in ca_file."""
    dns.a(SMARTHOST, "127.0.0.1")
    url = f'"{scheme}://relayuser:relay-pw@{SMARTHOST}:{relay.port}"'
    server = make_server(start=False, config=outbound_config(dns.address, 1, **ONE_TRY, **{
        "delivery.relay": url, "delivery.ca_file": '"relay-ca.pem"', **extra}))
    (server.data / "relay-ca.pem").write_bytes(open(trusted_cert, "rb").read())
    server.start()
    return server


@pytest.mark.parametrize("scheme,policy", [("smtps", "delivery.tls"), ("smtp+starttls", "delivery.tls_verify_domains")])
def test_smarthost_with_a_certificate_for_another_name_gets_nothing_under_verify(make_server, dns, tmp_path, scheme, policy):
    """tls = "verify" (or the recipient's domain in tls_verify_domains): a relay
    whose certificate is trusted but names another host gets neither the
    password nor the mail, and the mail waits with the reason."""
    cert, key = certificate(tmp_path, "other.example")
    relay = relay_sink(cert, key, scheme)
    try:
        setting = '"verify"' if policy == "delivery.tls" else '["elsewhere.example"]'
        server = relay_server(make_server, dns, relay, scheme, cert, **{policy: setting})
        submit(server, "far@elsewhere.example")
        deferred_with(server, "far@elsewhere.example", f'invalid peer certificate: certificate not valid for name "{SMARTHOST}"')
        seen = commands_seen(relay)
        assert "AUTH" not in seen and "MAIL" not in seen and not relay.messages, f"sent to an unverified relay: {seen}"
        assert relay.sessions >= 1, "the relay was asked"
    finally:
        relay.stop()


@pytest.mark.parametrize("scheme", ["smtps", "smtp+starttls"])
def test_smarthost_with_a_trusted_certificate_is_verified_and_gets_the_mail(make_server, dns, tmp_path, scheme):
    cert, key = certificate(tmp_path, SMARTHOST)
    relay = relay_sink(cert, key, scheme)
    try:
        server = relay_server(make_server, dns, relay, scheme, cert, **{"delivery.tls": '"verify"'})
        submit(server, "far@elsewhere.example")
        got = relay.wait_for(1)[0]
        assert got.tls and got.auth == "relayuser" and got.rcpts == ["far@elsewhere.example"]
        wait_queue_empty(server)
        wait_until(lambda: re.search(r"to=far@elsewhere.example .*tls=\"?verified TLS.*result=sent", server.log("mail.log")), 5,
                   what=f"the verified relayed delivery in mail.log: {server.log('mail.log')}")
    finally:
        relay.stop()


def test_tls_verify_relay_off_sends_to_a_relay_that_does_not_verify(make_server, dns, tmp_path):
    """delivery.tls_verify_relay = false: for a relay whose certificate cannot
    verify, under a policy that verifies every MX host."""
    cert, key = certificate(tmp_path, "other.example")
    relay = relay_sink(cert, key, "smtps")
    try:
        server = relay_server(make_server, dns, relay, "smtps", cert, **{
            "delivery.tls": '"verify"', "delivery.tls_verify_relay": "false"})
        submit(server, "far@elsewhere.example")
        assert relay.wait_for(1)[0].rcpts == ["far@elsewhere.example"]
        wait_queue_empty(server)
        wait_until(lambda: re.search(r"to=far@elsewhere.example .*tls=\"?unverified TLS.*result=sent", server.log("mail.log")), 5,
                   what=f"the unverified relayed delivery in mail.log: {server.log('mail.log')}")
    finally:
        relay.stop()
