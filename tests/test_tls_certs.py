"""Certificates per host name (issue 19 item 6, SPEC X6): `postern tls csr`,
`tls import` (key and chain checked), `tls list`, the same through the API,
and the running server choosing by SNI — IMAPS, SMTP STARTTLS and the admin
listener — without a restart; names it does not know get the default."""

import datetime
import http.client
import json
import re
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness import ADMIN_LISTEN, ALICE, HOSTNAME, IO_TIMEOUT, insecure_tls, require_tool, wait_until

LISTEN = {**ADMIN_LISTEN, "imaps": "127.0.0.1:0"}
pytestmark = require_tool("openssl", "openssl s_client shows which certificate each name gets")


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _issue(subject, public_key, issuer_name, issuer_key, ca, sans=(), csr=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


class Pki:
    """A root, an intermediate it signed, and host certificates the intermediate signs."""

    def __init__(self):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _issue(_name("Test Root"), self.root_key.public_key(), _name("Test Root"), self.root_key, True)
        self.inter_key = ec.generate_private_key(ec.SECP256R1())
        self.inter = _issue(_name("Test Intermediate"), self.inter_key.public_key(), self.root.subject, self.root_key, True)

    def host(self, *names):
        """(chain PEM: leaf then intermediate, key PEM, leaf PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _issue(_name(names[0]), key.public_key(), self.inter.subject, self.inter_key, False, names)
        return _pem(leaf) + _pem(self.inter), _key_pem(key), _pem(leaf)

    def sign_csr(self, csr_pem):
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        leaf = _issue(csr.subject, csr.public_key(), self.inter.subject, self.inter_key, False, sans)
        return _pem(leaf) + _pem(self.inter)


def served_cn(server, listener, sni, starttls=None):
    """The CN of the certificate `openssl s_client` gets for SNI `sni` (None: no SNI)."""
    host, port = server.addr(listener)
    args = ["openssl", "s_client", "-connect", f"{host}:{port}"]
    args += ["-servername", sni] if sni else ["-noservername"]
    if starttls:
        args += ["-starttls", starttls]
    p = subprocess.run(args, input=b"", capture_output=True, timeout=IO_TIMEOUT)
    cert = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
    assert cert, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    c = x509.load_pem_x509_certificate(cert.group(0))
    return c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def api(server, method, path, token, body=None):
    host, port = server.addr("admin")
    c = http.client.HTTPSConnection(host, port, context=insecure_tls(), timeout=IO_TIMEOUT)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    r.body = json.loads(r.read() or b"null")
    c.close()
    return r


def admin_token(server):
    server.cli("user", "set", ALICE, "--role", "admin")
    out = server.cli("token", "create", "--user", ALICE).stdout
    return re.search(r"(pst_\S+)", out).group(1)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_imports_are_served_by_sni_on_every_listener_without_a_restart(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    pki = Pki()
    assert served_cn(server, "imaps", "mail.a.test") == HOSTNAME  # nothing imported yet
    chain, key, _ = pki.host("mail.a.test")
    out = server.cli("tls", "import", write(tmp_path, "a.pem", chain), write(tmp_path, "a.key", key)).stdout
    assert out == "imported mail.a.test: mail.a.test\n"
    wait_until(lambda: served_cn(server, "imaps", "mail.a.test") == "mail.a.test", 10, what="the import served on IMAPS")
    # The second through the API, for two names.
    chain, key, _ = pki.host("mail.b.test", "imap.b.test")
    r = api(server, "POST", "/api/v1/tls/certificates", admin_token(server), {"cert": chain, "key": key})
    assert r.status == 201, r.body
    assert r.body["name"] == "mail.b.test" and r.body["hosts"] == ["mail.b.test", "imap.b.test"]
    assert r.body["issuer"] == "CN=Test Intermediate"
    wait_until(lambda: served_cn(server, "imaps", "imap.b.test") == "mail.b.test", 10, what="the API import served")
    for listener, starttls in (("imaps", None), ("smtp", "smtp"), ("admin", None)):
        assert served_cn(server, listener, "mail.a.test", starttls) == "mail.a.test", listener
        assert served_cn(server, listener, "mail.b.test", starttls) == "mail.b.test", listener
        assert served_cn(server, listener, "unknown.test", starttls) == HOSTNAME, listener
        assert served_cn(server, listener, None, starttls) == HOSTNAME, listener
    assert "event=tls-reloaded" in server.log("mail.log")
    listed = server.cli("tls", "list").stdout.splitlines()
    assert [l.split("\t")[:2] for l in listed] == [
        ["default", HOSTNAME],
        ["mail.a.test", "mail.a.test"],
        ["mail.b.test", "mail.b.test,imap.b.test"],
    ]
    r = api(server, "GET", "/api/v1/tls/certificates", admin_token(server))
    assert r.status == 200 and [c["name"] for c in r.body] == ["default", "mail.a.test", "mail.b.test"]


def test_a_key_that_does_not_match_and_an_incomplete_chain_are_refused(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    pki = Pki()
    chain, _, leaf = pki.host("mail.a.test")
    _, other_key, _ = pki.host("mail.a.test")
    p = server.cli("tls", "import", write(tmp_path, "c.pem", chain), write(tmp_path, "other.key", other_key), check=False)
    assert p.returncode != 0 and "the private key does not belong to the certificate" in p.stderr, p.stderr
    _, leaf_key, leaf = pki.host("mail.a.test")
    p = server.cli("tls", "import", write(tmp_path, "leaf.pem", leaf), write(tmp_path, "leaf.key", leaf_key), check=False)
    assert p.returncode != 0 and "the chain is incomplete or does not verify" in p.stderr, p.stderr
    assert "UnknownIssuer" in p.stderr
    # A name the certificate does not hold.
    chain, key, _ = pki.host("mail.a.test")
    p = server.cli("tls", "import", write(tmp_path, "a.pem", chain), write(tmp_path, "a.key", key), "--host", "mail.z.test", check=False)
    assert p.returncode != 0 and "not valid for mail.z.test" in p.stderr, p.stderr
    token = admin_token(server)
    r = api(server, "POST", "/api/v1/tls/certificates", token, {"cert": chain, "key": other_key})
    assert r.status == 400 and "does not belong" in r.body["detail"], r.body
    r = api(server, "POST", "/api/v1/tls/certificates", token, {"cert": leaf, "key": leaf_key})
    assert r.status == 400 and "incomplete" in r.body["detail"], r.body
    assert server.cli("tls", "list").stdout.count("\n") == 1  # only the default
    assert served_cn(server, "imaps", "mail.a.test") == HOSTNAME


def test_a_signing_request_signed_by_a_ca_imports_with_its_key(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    out = server.cli("tls", "csr", "--host", "mail.c.test", "--host", "www.c.test").stdout
    key_path = re.search(r"^key: (\S+)$", out, re.M).group(1)
    assert key_path == str(server.data / "tls" / "requests" / "mail.c.test.key")
    assert (server.data / "tls" / "requests" / "mail.c.test.key").stat().st_mode & 0o777 == 0o600
    csr_pem = out[out.index("-----BEGIN CERTIFICATE REQUEST-----"):]
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    assert isinstance(csr.public_key(), ec.EllipticCurvePublicKey) and csr.public_key().curve.name == "secp256r1"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sans == ["mail.c.test", "www.c.test"]
    chain = Pki().sign_csr(csr_pem)
    out = server.cli("tls", "import", write(tmp_path, "c.pem", chain), key_path).stdout
    assert out == "imported mail.c.test: mail.c.test www.c.test\n"
    wait_until(lambda: served_cn(server, "imaps", "www.c.test") == "mail.c.test", 10)
    out = server.cli("tls", "csr", "--host", "mail.d.test", "--rsa", "2048").stdout
    key = serialization.load_pem_private_key((server.data / "tls" / "requests" / "mail.d.test.key").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    p = server.cli("tls", "csr", "--host", "mail.e.test", "--rsa", "1024", check=False)
    assert p.returncode != 0 and "choose 2048 or 4096" in p.stderr


def test_a_new_default_is_served_to_unknown_names_without_a_restart(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    pki = Pki()
    # An RSA key from `tls csr --rsa 2048`, signed and made the default.
    out = server.cli("tls", "csr", "--host", "mx.example.org", "--rsa", "2048").stdout
    chain = pki.sign_csr(out[out.index("-----BEGIN CERTIFICATE REQUEST-----"):])
    key_path = str(server.data / "tls" / "requests" / "mx.example.org.key")
    assert server.cli("tls", "import", write(tmp_path, "d.pem", chain), key_path, "--default").stdout == "imported default: mx.example.org\n"
    wait_until(lambda: served_cn(server, "imaps", "unknown.test") == "mx.example.org", 10, what="the new default served")
    assert served_cn(server, "smtp", None, "smtp") == "mx.example.org"
    assert server.cli("tls", "list").stdout.startswith("default\tmx.example.org\t")
    # It is kept as tls.cert / tls.key: a restart serves it too.
    server.stop()
    server.start(LISTEN)
    assert served_cn(server, "admin", None) == "mx.example.org"
