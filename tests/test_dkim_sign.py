"""DKIM signing of outbound mail (issue 15, item 8): mail leaving for other
domains from a local domain with keys is signed once, before queueing —
submissions, forwards, DSNs — and the copy a sink receives verifies with
dkimpy and with OpenDKIM's opendkim-testmsg against the TXT records that
`postern dkim generate` and `postern dns` printed (served by the loopback
DNS server).
Local copies, and mail from a domain without a key, are not signed."""

from __future__ import annotations

import random
import re
import shutil
import smtplib
import sqlite3
import subprocess

import dkim
import pytest

import zone
from dns_server import DnsServer
from harness import ALICE, BOB, make_message, token, wait_until
from outbound import REMOTE, outbound_config, parse, submit, wait_queue_empty
from smtp_sink import Sink

DOMAIN = "example.org"


@pytest.fixture
def dns():
    """The loopback DNS server on port 53 of a random 127/8 address, so that
    OpenDKIM (which asks the system resolver) can be pointed at it."""
    d = DnsServer()
    for _ in range(20):
        host = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        try:
            d.start(host=host, port=53)
            break
        except OSError:
            continue
    else:
        pytest.skip("no loopback address with a free port 53")
    d.mx(REMOTE, [(10, "mx1." + REMOTE)])
    d.a("mx1." + REMOTE, "127.0.0.1")
    yield d
    d.stop()


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def postern(make_server, dns, sink):
    # The host name under the domain: DSNs from MAILER-DAEMON@mx.example.org align.
    return make_server(config=outbound_config(dns.address, sink.port, **{"server.hostname": '"mx.example.org"'}))


def generate(server, domain: str, selector: str, algorithm: str, dns) -> zone.Record:
    out = server.cli("dkim", "generate", domain, "--selector", selector, "--algorithm", algorithm).stdout
    (record,) = zone.records(out)
    assert record.name == f"{selector}._domainkey.{domain}" and record.rtype == "TXT", out
    zone.serve(dns, [record])
    return record


def signatures(message: bytes) -> list[bytes]:
    """The DKIM-Signature fields at the top of a message, unfolded."""
    return [m.group(0) for m in re.finditer(rb"^DKIM-Signature:.*?\r\n(?![ \t])", message, re.M | re.S)]


def tag(signature: bytes, name: str) -> str:
    m = re.search(rb"[;:\s]" + name.encode() + rb"=([^;]*)", signature)
    assert m, signature
    return re.sub(r"\s+", "", m.group(1).decode())


def only(message: bytes, keep: bytes) -> bytes:
    """The message with `keep` as its only DKIM-Signature (each checked alone)."""
    rest = message
    for s in signatures(message):
        rest = rest.replace(s, b"", 1)
    return keep + rest


def dkimpy_verifies(message: bytes, published: list[zone.Record]) -> bool:
    txt = {f"{r.name}.".encode(): r.text().encode() for r in published}
    try:
        return dkim.DKIM(message).verify(dnsfunc=lambda name, timeout=5: txt.get(name, b""))
    except dkim.DKIMException:
        return False


def opendkim_verify(message: bytes, dns: DnsServer, tmp_path) -> subprocess.CompletedProcess:
    """opendkim-testmsg (no -d/-k/-s: verify), with the system resolver
    pointed at the test's DNS server in a private mount namespace."""
    if not shutil.which("opendkim-testmsg"):
        pytest.fail("opendkim-testmsg missing: scripts/test installs opendkim-tools")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {dns.address.split(':')[0]}\noptions attempts:1 timeout:2\n")
    script = f"mount --bind {resolv} /etc/resolv.conf && exec opendkim-testmsg"
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], input=message, capture_output=True, timeout=30)
    if b"mount" in run.stderr and b"ermission" in run.stderr:
        pytest.skip(f"cannot give opendkim-testmsg its own resolv.conf: {run.stderr!r}")
    return run


def assert_verifies(message: bytes, published: list[zone.Record], dns, tmp_path) -> None:
    sigs = signatures(message)
    assert sigs, message[:400]
    for sig in sigs:
        alone = only(message, sig)
        assert dkimpy_verifies(alone, published), sig
        run = opendkim_verify(alone, dns, tmp_path)
        assert run.returncode == 0 and not run.stderr, (sig, run.stderr, run.stdout)
    # A changed body fails with both.
    tampered = only(message, sigs[0]).replace(b"Hello.", b"Hullo.")
    assert not dkimpy_verifies(tampered, published)
    assert opendkim_verify(tampered, dns, tmp_path).returncode != 0


def test_submission_is_dual_signed_rsa_and_ed25519_and_verifies(postern, sink, dns, tmp_path):
    generated = [generate(postern, DOMAIN, "rsa1", "rsa", dns), generate(postern, DOMAIN, "ed1", "ed25519", dns)]
    # What `postern dns` prints for the keys is what generate printed.
    published = [r for r in zone.records(postern.cli("dns", DOMAIN).stdout) if "._domainkey." in r.name]
    assert sorted((r.name, r.data) for r in published) == sorted((r.name, r.data) for r in generated)
    tok = submit(postern, [f"carol@{REMOTE}", BOB])
    got = sink.wait_for(1)[0]
    sigs = signatures(got.body)
    assert sorted((tag(s, "a"), tag(s, "s"), tag(s, "d"), tag(s, "c")) for s in sigs) == [
        ("ed25519-sha256", "ed1", DOMAIN, "relaxed/relaxed"),
        ("rsa-sha256", "rsa1", DOMAIN, "relaxed/relaxed"),
    ]
    for s in sigs:
        fields = tag(s, "h").lower().split(":")
        assert fields.count("from") == 2, f"From over-signed: {fields}"
        assert {"subject", "to", "date", "message-id"} <= set(fields)
    assert got.body.startswith(b"DKIM-Signature:"), "signed once, before queueing, on top"
    assert_verifies(got.body, published, dns, tmp_path)
    # The local copy is as it came: no signature.
    local = postern.wait_for_message(BOB, tok)
    assert "DKIM-Signature" not in local
    wait_until(lambda: re.search(r"event=dkim-signed .*domain=example\.org selectors=ed1,rsa1", postern.log("mail.log")),
               10, what="the signing in mail.log")


def test_a_domain_without_a_key_is_not_signed(postern, sink, dns):
    postern.cli("domain", "add", "other.org")
    generate(postern, "other.org", "s1", "ed25519", dns)
    submit(postern, f"carol@{REMOTE}")
    got = sink.wait_for(1)[0]
    assert signatures(got.body) == [], "example.org has no key; other.org's is not used"
    assert b"DKIM-Signature" not in got.body
    wait_queue_empty(postern)
    assert "dkim-signed" not in postern.log("mail.log")


def test_a_forward_is_signed_by_the_forwarding_domain(postern, sink, dns, tmp_path):
    published = [generate(postern, DOMAIN, "ed1", "ed25519", dns)]
    postern.cli("alias", "add", f"fwd@{DOMAIN}", f"dave@{REMOTE}")
    tok = token()
    with postern.smtp() as s:  # port 25, unauthenticated: mail from outside
        refused = s.sendmail(f"carol@{REMOTE}", [f"fwd@{DOMAIN}"], make_message(tok, f"carol@{REMOTE}", f"fwd@{DOMAIN}"))
        assert not refused
    got = sink.wait_for(1)[0]
    assert got.rcpts == [f"dave@{REMOTE}"]
    (sig,) = signatures(got.body)
    assert tag(sig, "d") == DOMAIN, "the forwarder signs, not the (unchecked) From domain"
    assert_verifies(got.body, published, dns, tmp_path)


def test_mail_from_outside_claiming_a_local_from_is_not_signed_with_it(make_server, sink, dns):
    # smtp.local_sender = accept: such mail is let in, and must still not be signed as ours.
    config = outbound_config(dns.address, sink.port, **{"smtp.local_sender": '"accept"'})
    postern = make_server(config=config)
    generate(postern, DOMAIN, "ed1", "ed25519", dns)
    postern.cli("domain", "add", "lists.org")
    postern.cli("alias", "add", "fwd@lists.org", f"dave@{REMOTE}")
    tok = token()
    with postern.smtp() as s:
        s.sendmail(f"carol@{REMOTE}", ["fwd@lists.org"], make_message(tok, ALICE, "fwd@lists.org"))
    got = sink.wait_for(1)[0]
    assert tok.encode() in got.body
    assert signatures(got.body) == [], "From: alice@example.org was not checked: example.org must not sign it"


def test_a_dsn_that_leaves_is_signed(postern, sink, dns, tmp_path):
    published = [generate(postern, DOMAIN, "rsa1", "rsa", dns)]
    postern.cli("alias", "add", f"fwd@{DOMAIN}", f"gone@{REMOTE}")
    sink.rcpt_reply = lambda rcpt, n: (550, "5.1.1 no such user") if rcpt.startswith("gone@") else None
    with postern.smtp() as s:
        s.sendmail(f"carol@{REMOTE}", [f"fwd@{DOMAIN}"], make_message(token(), f"carol@{REMOTE}", f"fwd@{DOMAIN}"))
    dsn = next(m for m in sink.wait_for(1, timeout=20) if m.mail_from == "")
    assert dsn.rcpts == [f"carol@{REMOTE}"]
    assert "MAILER-DAEMON@mx.example.org" in parse(dsn.body)["From"]
    (sig,) = signatures(dsn.body)
    assert tag(sig, "d") == DOMAIN and tag(sig, "s") == "rsa1"
    # (the DSN's body has no "Hello." to tamper with: verified as it is)
    alone = only(dsn.body, sig)
    assert dkimpy_verifies(alone, published)
    run = opendkim_verify(alone, dns, tmp_path)
    assert run.returncode == 0 and not run.stderr, run.stderr


def test_cli_refuses_unknown_domain_and_duplicate_selector(server):
    r = server.cli("dkim", "generate", "nowhere.example", check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == ("postern: domain nowhere.example is not a local domain: "
                                "add it first with `postern domain add nowhere.example`")
    server.cli("dkim", "generate", DOMAIN, "--selector", "s1", "--algorithm", "ed25519")
    r = server.cli("dkim", "generate", DOMAIN, "--selector", "S1", check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == "postern: DKIM selector S1 of example.org already exists"
    r = server.cli("dkim", "generate", DOMAIN, "--algorithm", "dsa", check=False)
    assert r.returncode != 0 and "unknown DKIM algorithm `dsa`" in r.stderr
    # Both algorithms with their default selectors coexist.
    server.cli("dkim", "generate", DOMAIN)
    server.cli("dkim", "generate", DOMAIN, "--algorithm", "ed25519")
    rows = [line.split("\t") for line in server.cli("dkim", "list").stdout.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [(DOMAIN, "ed25519"), (DOMAIN, "rsa"), (DOMAIN, "ed25519")], rows
    assert re.fullmatch(r"ed25519\d{6}", rows[0][1]) and re.fullmatch(r"rsa\d{6}", rows[1][1]), rows
    assert rows[2][1] == "s1"
    assert server.cli("dkim", "del", DOMAIN, "s1").stdout.startswith("DKIM key s1 of example.org deleted")
    r = server.cli("dkim", "del", DOMAIN, "s1", check=False)
    assert r.returncode != 0 and r.stderr.strip() == "postern: DKIM selector s1 of example.org does not exist"
    # The private key is not on disk in the clear.
    db = (server.data / "db" / "postern.db").read_bytes()
    assert b"PRIVATE KEY" not in db


def test_a_key_that_cannot_sign_defers_instead_of_sending_unsigned(postern, sink, dns):
    generate(postern, DOMAIN, "ed1", "ed25519", dns)
    db = sqlite3.connect(postern.data / "db" / "postern.db")
    with db:  # as if keys/server.key had been replaced: the seal no longer opens
        db.execute("UPDATE dkim_keys SET sealed = x'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'")
    db.close()
    with postern.submission() as s:
        s.mail(ALICE)
        s.rcpt(f"carol@{REMOTE}")
        code, text = s.data(make_message(token(), ALICE, f"carol@{REMOTE}"))
    assert (code, text[:5]) == (451, b"4.3.0"), (code, text)
    wait_until(lambda: re.search(r"event=dkim-failed .*reason=.*ed1 of example\.org does not open", postern.log("mail.log")),
               10, what="the failure in mail.log")
    assert "queue is empty" in postern.cli("queue", "list").stdout
    assert not sink.messages


EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_a_released_quarantined_message_and_a_virus_notice_leave_signed(make_server, dns, sink, tmp_path):
    """Mail the antivirus stage holds back or writes (issue 17) leaves signed
    like any other (SPEC P8): the notice to an admin at another domain as
    postmaster@host, and a quarantined submission, once released, with the
    signature made when it came in (the release has no session to judge its
    From again)."""
    server = make_server(config=outbound_config(dns.address, sink.port, **{
        "server.hostname": '"mx.example.org"', "av.quarantine": "true", "av.action": '"reject"',
        "av.notify_admin": f'"sec@{REMOTE}"', "av.forward": '"none"'}))
    published = [generate(server, DOMAIN, "rsa1", "rsa", dns)]
    tok = token()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        submit(server, f"bob@{REMOTE}", tok, body=EICAR + b"\r\n")
    assert refused.value.smtp_code == 554, refused.value
    (notice,) = sink.wait_for(1)
    assert notice.mail_from == "" and notice.rcpts == [f"sec@{REMOTE}"]
    (sig,) = signatures(notice.body)
    assert tag(sig, "d") == DOMAIN and tag(sig, "s") == "rsa1"
    assert dkimpy_verifies(only(notice.body, sig), published)

    [row] = server.cli("av", "quarantine", "list").stdout.splitlines()
    server.cli("av", "quarantine", "release", row.split("\t")[0])
    released = next(m for m in sink.wait_for(2, timeout=20) if m.mail_from == ALICE)
    assert released.rcpts == [f"bob@{REMOTE}"] and tok.encode() in released.body
    (sig,) = signatures(released.body)
    assert tag(sig, "d") == DOMAIN
    assert dkimpy_verifies(only(released.body, sig), published)
    run = opendkim_verify(only(released.body, sig), dns, tmp_path)
    assert run.returncode == 0 and not run.stderr, run.stderr
