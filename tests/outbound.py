"""Shared setup for the outbound-delivery tests: a DNS server and SMTP sinks on
loopback, and a Postern whose delivery settings point at them."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from dns_server import DnsServer
from harness import ALICE, ALICE_PASSWORD, Postern, make_message, token, wait_until
from smtp_sink import Sink

REMOTE = "example.net"


@pytest.fixture
def dns():
    """A DNS server on loopback: REMOTE's MX is mx1.REMOTE at 127.0.0.1. Test
    modules import this fixture by name."""
    d = DnsServer()
    d.start()
    d.mx(REMOTE, [(10, "mx1." + REMOTE)])
    d.a("mx1." + REMOTE, "127.0.0.1")
    yield d
    d.stop()


@pytest.fixture
def sink():
    """A sink with the default capabilities. Test modules import this fixture
    by name (or define their own `sink`)."""
    s = Sink().start()
    yield s
    s.stop()


def outbound_config(dns_address: str, port: int, **extra: str) -> dict[str, str]:
    config = {
        "delivery.resolver": f'"{dns_address}"',
        "delivery.allow_private": "true",
        "delivery.port": str(port),
        "delivery.retry": '["1s"]',
    }
    config.update(extra)
    return config


def submit(server: Postern, to: list[str] | str, tok: str | None = None, body: bytes | str = "Hello.\r\n",
           sender: str = ALICE, mail_options: list[str] | None = None, rcpt_options: list[str] | None = None,
           extra_headers: str = "") -> str:
    """Submits one message as alice (port 587, STARTTLS, AUTH); returns its token."""
    tok = tok or token()
    rcpts = [to] if isinstance(to, str) else to
    with server.submission(ALICE, ALICE_PASSWORD) as s:
        refused = s.sendmail(sender, rcpts, make_message(tok, sender, rcpts[0], body, extra_headers),
                             mail_options or [], rcpt_options or [])
        assert not refused, refused
    return tok


def queue_lines(server: Postern) -> str:
    return server.cli("queue", "list").stdout


def wait_queue_empty(server: Postern, timeout: float = 20.0) -> None:
    wait_until(lambda: "queue is empty" in queue_lines(server), timeout, what="an empty queue")


def queue_id_of(server: Postern) -> str:
    m = re.match(r"^([0-9a-f]+)\s", queue_lines(server))
    assert m, queue_lines(server)
    return m.group(1)


def parse(message: bytes | str) -> email.message.EmailMessage:
    if isinstance(message, str):
        message = message.encode()
    return email.message_from_bytes(message, policy=email.policy.default)


def dsn_fields(report: email.message.EmailMessage) -> tuple[dict, list[dict]]:
    """The per-message and per-recipient field groups of a DSN (RFC 3464 §2.1)."""
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    payload = status.get_payload()
    groups = [dict((k.lower(), str(v)) for k, v in part.items()) for part in payload]
    return groups[0], groups[1:]
