"""Time in the brute-force guard (issue 22 item 6): failures older than
`security.login_window` no longer count, a block from failed logins ends by
itself after `security.block_for` (with an `unblocked` line in security.log), and an IPv6 client is counted as its whole
/64 — shown with addresses of one /64 (not ::1) added to the loopback interface.

The server's clock counts whole seconds and cannot be set from outside: these
tests use windows of a few seconds and wait them out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from harness import tool_missing_is_a_failure, wait_until
from test_security_access import fail_pop3, greeting, is_greeting

# Each failed login is answered after a fixed delay of about a second, so three
# take over 3 s: the window is longer than that.
WINDOW = 5  # seconds
BLOCK_FOR = 3  # seconds
SHORT = {"security.login_failures": "3", "security.login_window": f'"{WINDOW}s"', "security.block_for": f'"{BLOCK_FOR}s"'}
POP3S = {"pop3s": "127.0.0.1:0"}


def test_failures_older_than_the_window_do_not_count(make_server):
    server = make_server(config=SHORT, listen=POP3S)
    first = time.monotonic()
    fail_pop3(server)
    fail_pop3(server)
    # Waiting out the window is the point here: until the first failure is
    # older than it. The server counts whole seconds, so a failure may look up
    # to a second older or younger: wait the window and a second more.
    time.sleep(max(0.0, first + WINDOW + 1.1 - time.monotonic()))
    fail_pop3(server)
    # Three failures, but not within the window: no block (with all three
    # counted, the third would block at once).
    assert is_greeting(greeting(server, "pop3s")), "blocked by failures older than login_window"
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"
    # Within the window, three do block.
    fail_pop3(server)
    fail_pop3(server)
    assert greeting(server, "pop3s").startswith("-ERR [SYS/TEMP]")


def test_a_block_from_failed_logins_ends_by_itself(make_server):
    server = make_server(config=SHORT, listen=POP3S)
    fail_pop3(server)
    fail_pop3(server)
    blocked_at = time.monotonic()  # the block starts when the failure is counted, before its delayed reply
    fail_pop3(server)
    assert greeting(server, "pop3s").startswith("-ERR [SYS/TEMP]")
    [row] = server.cli("security", "blocked").stdout.splitlines()
    assert row.split("\t")[0] == "127.0.0.1" and row.split("\t")[4] == f"3 failed logins within {WINDOW}s", row
    wait_until(lambda: is_greeting(greeting(server, "pop3s")), BLOCK_FOR + 10, what=f"the {BLOCK_FOR}s block to end")
    # Not early: a block ends after block_for (the clock counts whole seconds).
    assert time.monotonic() - blocked_at >= BLOCK_FOR - 1, "the block ended before block_for"
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"
    # The end is a line in security.log like an admin's unblock, written when
    # the block ends (within the server's one-second refresh) and only once.
    ended = re.compile(r'^\S+ event=unblocked client=127\.0\.0\.1 since=\S+ until=\S+ '
                       rf'blocked_for="3 failed logins within {WINDOW}s" reason="block ended"$', re.M)
    wait_until(lambda: ended.search(server.log("security.log")), 5,
               what=f"the end of the block in security.log: {server.log('security.log')}")
    # The count started again: one more failure does not block.
    fail_pop3(server)
    assert is_greeting(greeting(server, "pop3s"))
    assert len(ended.findall(server.log("security.log"))) == 1, server.log("security.log")


# ---------------------------------------------------------------- IPv6 /64

# A unique-local /48 for Postern's tests (fd00::/8, RFC 4193), on lo only.
PREFIX = "fd00:5057:7465"
SAME_64 = [f"{PREFIX}:1::10", f"{PREFIX}:1::20", f"{PREFIX}:1:ffff:ffff:ffff:fffe"]
OTHER_64 = f"{PREFIX}:2::10"


@pytest.fixture
def lo_v6_addresses():
    """Adds SAME_64 and OTHER_64 to lo (root only), and removes them after."""
    reason = "adding addresses to lo needs root and iproute2 (`ip`)"
    if os.geteuid() != 0 or shutil.which("ip") is None:
        if tool_missing_is_a_failure():
            pytest.fail(reason + " (CI runs as root)")
        pytest.skip(reason)
    added = []
    try:
        for a in SAME_64 + [OTHER_64]:
            subprocess.run(["ip", "-6", "addr", "add", f"{a}/64", "dev", "lo", "nodad"], check=True, capture_output=True)
            added.append(a)
        yield
    finally:
        for a in added:
            subprocess.run(["ip", "-6", "addr", "del", f"{a}/64", "dev", "lo"], capture_output=True)


def test_an_ipv6_client_counts_as_its_slash_64(make_server, lo_v6_addresses):
    server = make_server(config={**SHORT, "security.block_for": '"1h"'}, listen={"pop3s": f"[{SAME_64[0]}]:0"})
    # Three failures from three addresses of one /64: one client.
    for source in SAME_64:
        fail_pop3(server, source, user=f"u{uuid.uuid4().hex[:6]}@example.org")
    for source in SAME_64:
        line = greeting(server, "pop3s", source)
        assert line.startswith("-ERR [SYS/TEMP]"), f"{source}: {line}"
    assert is_greeting(greeting(server, "pop3s", OTHER_64)), "another /64 is another client"
    [row] = server.cli("security", "blocked").stdout.splitlines()
    assert row.split("\t")[0] == f"{PREFIX}:1::/64", row
    assert f"blocked={PREFIX}:1::/64" in server.log("security.log")
