"""Fixtures for the end-to-end tests.

`server` is a running Postern with domain example.org and users alice and bob
(see harness.py for the constants). `make_server(config={...})` builds one with
config keys set before it starts; `make_server(start=False)` gives an initialised
data directory whose server the test starts itself.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import NO_DNS, ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, POP3_LISTEN, Postern, insecure_tls, tool_missing_is_a_failure, wait_until  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_tool(name, reason): the test runs the outside client `name` (harness.require_tool)")


@pytest.fixture(autouse=True)
def needs_tool(request):
    """Skips a test marked needs_tool when its client is missing, or fails it
    under CI=true, where scripts/test has installed every such client."""
    for mark in request.node.iter_markers("needs_tool"):
        name, reason = mark.args
        if shutil.which(name) is None:
            if tool_missing_is_a_failure():
                pytest.fail(f"{name} is missing under CI=true: {reason}")
            pytest.skip(reason)


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
        # Port 25 greets after smtp.greeting_delay (1s by default, to catch early
        # talkers); tests greet at once unless they set it.
        config = {"delivery.resolver": f'"{NO_DNS}"', "smtp.greeting_delay": '"0s"', **AUTH_CHECKS_OFF, **(config or {})}
        for key, value in config.items():
            p.config_set(key, value)
        if start:
            p.start(listen)
        return p

    yield make
    broken = []
    for p in made:
        p.stop()
        bad_exits = [c for c in p.exit_codes if c != 0]
        if bad_exits:
            broken.append(f"{p.data}: postern serve exited {bad_exits} (0 expected after SIGTERM; -9: it did not stop and was killed)")
        broken += [f"{p.data}: {line}" for line in p.panics()]
        err = p.stderr()
        if err:
            # Shown by pytest only when the test failed.
            print(f"--- postern stderr ({p.data}), last 4000 characters ---\n{err[-4000:]}")
        mail_log = p.data / "logs" / "mail.log"
        if mail_log.exists():
            print(f"--- {mail_log}, last 4000 characters ---\n{mail_log.read_text(errors='replace')[-4000:]}")
    if broken:
        pytest.fail("the server did not end cleanly:\n" + "\n".join(broken))


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
