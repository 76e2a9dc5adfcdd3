"""ACME (RFC 8555) with TLS-ALPN-01 (RFC 8737) and HTTP-01 (RFC 8555 §8.3)
against Debian's `pebble` test CA on loopback (issue 19 item 6): a
certificate obtained for the server's host name and served by SNI without a
restart (and to clients without SNI), a failing challenge that keeps the
certificate served, and a renewal that replaces it."""

import datetime
import json
import os
import re
import signal
import socket
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import ADMIN_LISTEN, IO_TIMEOUT, require_tool, wait_until
from outbound import dns  # noqa: F401 (a fixture)

LISTEN = {**ADMIN_LISTEN, "imaps": "127.0.0.1:0"}
HOST = "mail.example.org"
pytestmark = [
    require_tool("pebble", "Debian's pebble is the ACME server the client is tested against"),
    require_tool("openssl", "openssl s_client shows the certificate served"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def https_identity(tmp_path):
    """A CA and a certificate for 127.0.0.1 for pebble's own HTTPS; the CA's path."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble https test CA")])
    base = lambda subject, pub: (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(pub)
                                 .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                                 .not_valid_after(now + datetime.timedelta(days=30)))
    ca = base(ca_name, ca_key.public_key()).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256())
    import ipaddress
    leaf = (base(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "pebble-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "pebble-cert.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "pebble-key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tmp_path / "pebble-ca.pem"


class Pebble:
    def __init__(self, tmp_path, dns_address, tls_port, http_port=None):
        https_identity(tmp_path)
        self.port = free_port()
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}", "managementListenAddress": f"127.0.0.1:{free_port()}",
            "certificate": str(tmp_path / "pebble-cert.pem"), "privateKey": str(tmp_path / "pebble-key.pem"),
            "httpPort": http_port or free_port(), "tlsPort": tls_port, "ocspResponderURL": "", "externalAccountBindingRequired": False,
        }}
        path = tmp_path / f"pebble-{self.port}.json"
        path.write_text(json.dumps(config))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_ALWAYS_VALID": "0", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
        self.log = open(tmp_path / f"pebble-{self.port}.log", "wb")
        self.proc = subprocess.Popen(["pebble", "-config", str(path), "-dnsserver", dns_address], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: self._listening(), 15, what="pebble listening")
        self.directory = f"https://127.0.0.1:{self.port}/dir"
        self.ca_file = str(tmp_path / "pebble-ca.pem")

    def _listening(self):
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        self.log.close()


def served(server, sni):
    """The certificate a client asking for `sni` gets (None: a client sending no SNI)."""
    host, port = server.addr("imaps")
    name = ["-servername", sni] if sni else ["-noservername"]
    p = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}", *name], input=b"", capture_output=True, timeout=IO_TIMEOUT)
    pem = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
    assert pem, p.stdout + p.stderr
    return x509.load_pem_x509_certificate(pem.group(0))


def from_pebble(cert):
    return "Pebble" in cert.issuer.rfc4514_string()


@pytest.fixture
def acme(make_server, dns, tmp_path):
    dns.a(HOST, "127.0.0.1")
    server = make_server(listen=LISTEN)
    started = []

    def pebble(tls_port=None):
        p = Pebble(tmp_path, dns.address, tls_port or server.addr("admin")[1])
        started.append(p)
        return p

    yield server, pebble
    for p in started:
        if p.proc.poll() is None:
            p.stop()


def point_at(server, pebble, renew_before="30d"):
    server.config_set("tls.acme_directory", json.dumps(pebble.directory))
    server.config_set("tls.acme_ca_file", json.dumps(pebble.ca_file))
    server.config_set("tls.acme_hosts", json.dumps([HOST]))
    server.config_set("tls.acme_contact", json.dumps(["postmaster@example.org"]))
    server.config_set("tls.acme_renew_before", json.dumps(renew_before))


def test_a_certificate_is_obtained_then_a_failing_renewal_keeps_it_and_a_good_one_replaces_it(acme):
    server, start_pebble = acme
    assert not from_pebble(served(server, HOST))
    good = start_pebble()
    point_at(server, good)
    wait_until(lambda: "event=acme-obtained" in server.log("mail.log"), 60, what="a certificate from pebble")
    first = wait_until(lambda: (lambda c: from_pebble(c) and c)(served(server, HOST)), 10, what="the ACME certificate served")
    assert first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == [HOST]
    assert "tls.acme" not in server.cli("tls", "list").stdout and HOST in server.cli("tls", "list").stdout
    # A CA whose validation reaches nothing: the renewal fails, the certificate stays.
    good.stop()
    bad = start_pebble(tls_port=free_port())
    point_at(server, bad, renew_before="36000d")
    failed = wait_until(lambda: re.search(r"event=acme-failed hosts=mail.example.org reason=.*", server.log("mail.log")), 60, what="the failed renewal logged")
    assert "for the tls-alpn-01 challenge" in failed.group(0), failed.group(0)
    assert served(server, HOST).serial_number == first.serial_number
    # The CA reachable again: the renewal replaces it.
    bad.stop()
    good = start_pebble()
    point_at(server, good, renew_before="36001d")
    wait_until(lambda: server.log("mail.log").count("event=acme-obtained") == 2, 60, what="the renewal")
    wait_until(lambda: served(server, HOST).serial_number != first.serial_number, 10, what="the renewed certificate served")


def http_get(server, path):
    """Status and body of a plain GET on the `http` listener (no redirect followed)."""
    import http.client
    conn = http.client.HTTPConnection(*server.addr("http"), timeout=IO_TIMEOUT)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_http01_is_answered_on_the_http_listener_and_the_certificate_serves_clients_without_sni(make_server, dns, tmp_path):
    dns.a(HOST, "127.0.0.1")
    server = make_server(config={"server.hostname": json.dumps(HOST)}, listen={**LISTEN, "http": "127.0.0.1:0"})
    before = served(server, None)
    assert not from_pebble(before)
    # Pebble's TLS-ALPN-01 port leads nowhere: only HTTP-01 can succeed.
    pebble = Pebble(tmp_path, dns.address, tls_port=free_port(), http_port=server.addr("http")[1])
    try:
        server.config_set("tls.acme_challenge", '"http-01"')
        point_at(server, pebble)
        wait_until(lambda: "event=acme-obtained" in server.log("mail.log"), 60, what="a certificate from pebble over HTTP-01")
        assert "event=acme-failed" not in server.log("mail.log")
        cert = wait_until(lambda: (lambda c: from_pebble(c) and c)(served(server, HOST)), 10, what="the ACME certificate served")
        # RFC 6066 §3 leaves a client without SNI to the default: the CA's
        # certificate for the server's host name, not the self-signed stand-in.
        no_sni = wait_until(lambda: (lambda c: from_pebble(c) and c)(served(server, None)), 10, what="the ACME certificate without SNI")
        assert no_sni.serial_number == cert.serial_number
    finally:
        pebble.stop()
    # Once the order is done, nothing is answered there; other paths still redirect.
    status, _ = http_get(server, "/.well-known/acme-challenge/" + "A" * 43)
    assert status == 404
    status, _ = http_get(server, "/inbox")
    assert status == 308
