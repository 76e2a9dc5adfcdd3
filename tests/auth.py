"""Shared setup for the message-authentication tests (SPF, DKIM, DMARC):
a loopback DNS server with the senders' records, a Postern whose checks are
on and ask it, and one raw SMTP transaction on port 25 from 127.0.0.1."""

from __future__ import annotations

import email.utils
import subprocess
import time

import pytest

from dns_server import DnsServer
from harness import ALICE, HOSTNAME, Postern, Raw, Reply, header_values

CLIENT_IP = "127.0.0.1"
HELO = "client.test"


@pytest.fixture
def dns():
    d = DnsServer()
    d.start()
    # The client's HELO name has no SPF record (spf=none for it).
    yield d
    d.stop()


def checks_on(dns_address: str, **extra: str) -> dict[str, str]:
    """Config for a server whose SPF/DKIM/ARC/DMARC checks ask `dns_address`."""
    config = {f"auth.{c}": "true" for c in ("spf", "dkim", "arc", "dmarc")}
    config["dns.resolver"] = f'"{dns_address}"'
    config["auth.check_timeout"] = '"5s"'
    config.update(extra)
    return config


def message(tok: str, sender: str, to: str = ALICE, body: str = "Hello.\r\n", extra_headers: str = "") -> bytes:
    return (
        f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: auth {tok}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{tok}@client.test>\r\n"
        f"{extra_headers}\r\ntoken {tok}\r\n{body}"
    ).encode()


def transaction(server: Postern, raw: bytes, mail_from: str, to: str = ALICE, helo: str = HELO) -> Reply:
    """One transaction on port 25; returns the reply to the end of data."""
    with Raw(server.addr("smtp")) as c:
        c.greeting()
        c.ehlo(helo)
        c.expect(f"MAIL FROM:<{mail_from}>", 250)
        c.expect(f"RCPT TO:<{to}>", 250)
        c.expect("DATA", 354)
        dotted = raw.replace(b"\r\n.", b"\r\n..")
        c.send(dotted + (b"" if dotted.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        reply = c.reply()
        c.cmd("QUIT")
        return reply


def auth_results(stored: str) -> list[str]:
    """The Authentication-Results values of a stored message, unfolded."""
    return header_values(stored, "Authentication-Results")


def ours(stored: str) -> str:
    """Our Authentication-Results value (the one with our authserv-id)."""
    mine = [v for v in auth_results(stored) if v.split(";")[0].strip() == HOSTNAME]
    assert len(mine) == 1, f"expected one Authentication-Results of {HOSTNAME}: {auth_results(stored)}"
    return mine[0]


def mail_log_line(server: Postern, tok_or_from: str) -> str:
    lines = [l for l in server.log("mail.log").splitlines() if tok_or_from in l and "event=" in l]
    assert lines, f"no mail.log line with {tok_or_from}: {server.log('mail.log')[-2000:]}"
    return lines[-1]


def rsa_key(tmp_path) -> tuple[bytes, str]:
    """A 2048-bit RSA key (PEM) and its DKIM TXT record."""
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "2048"], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
    import base64

    return key.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode()


def timed(fn):
    start = time.monotonic()
    out = fn()
    return out, time.monotonic() - start
