"""Fixtures for the end-to-end tests.

`server` is a running Postern with domain example.org and users alice and bob
(see harness.py for the constants). `make_server(config={...})` builds one with
config keys set before it starts; `make_server(start=False)` gives an initialised
data directory whose server the test starts itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import NO_DNS, ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, POP3_LISTEN, Postern, insecure_tls, wait_until  # noqa: E402


# Message authentication (SPF, DKIM, ARC, DMARC) asks DNS for every message
# from outside; with the dead resolver above each would wait for its timeout.
# Tests of these checks turn them on with `auth_checks_on(dns.address)`.
AUTH_CHECKS_OFF = {f"auth.{check}": "false" for check in ("spf", "dkim", "arc", "dmarc")}


@pytest.fixture
def make_server(tmp_path):
    made: list[Postern] = []

    def make(config: dict[str, str] | None = None, start: bool = True, listen: dict[str, str] | None = None) -> Postern:
        p = Postern(tmp_path / f"postern{len(made)}")
        p.workdir.mkdir()
        made.append(p)
        p.init()
        p.add_user(ALICE, ALICE_PASSWORD)
        p.add_user(BOB, BOB_PASSWORD)
        # DNS in tests comes only from servers the tests start: by default the
        # outbound queue asks a dead loopback port, so remote mail just waits.
        config = {"delivery.resolver": f'"{NO_DNS}"', **AUTH_CHECKS_OFF, **(config or {})}
        for key, value in config.items():
            p.config_set(key, value)
        if start:
            p.start(listen)
        return p

    yield make
    for p in made:
        p.stop()
        err = p.stderr()
        if err:
            # Shown by pytest only when the test failed.
            print(f"--- postern stderr ({p.data}), last 4000 characters ---\n{err[-4000:]}")
        mail_log = p.data / "logs" / "mail.log"
        if mail_log.exists():
            print(f"--- {mail_log}, last 4000 characters ---\n{mail_log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def server(make_server) -> Postern:
    return make_server()


@pytest.fixture
def pop3_server(make_server) -> Postern:
    """A running Postern that also serves POP3 (STLS) and POP3S."""
    return make_server(listen=POP3_LISTEN)


@pytest.fixture
def tls():
    """A TLS client context that accepts the server's self-signed certificate."""
    return insecure_tls()


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_until
