"""`postern security block IP [--for DURATION]` (SPEC X7, issue 6): an admin
blocks an address while the server runs; every protocol refuses it in its own
words until `security unblock` or the end of the block."""

from __future__ import annotations

from harness import HOSTNAME, wait_until
from test_security_access import ALL_LISTEN, greeting, is_greeting

REFUSED = {
    "smtp": f"421 4.7.0 {HOSTNAME} your address is blocked, try again later",
    "imap": "* BYE [UNAVAILABLE] your address is blocked, try again later",
    "pop3": "-ERR [SYS/TEMP] your address is blocked, try again later",
}


def all_refused(server) -> bool:
    return all(greeting(server, name) == line for name, line in REFUSED.items())


def test_block_refuses_every_protocol_until_unblocked(make_server):
    server = make_server(config={"security.block_for": "7m"}, listen=ALL_LISTEN)
    out = server.cli("security", "block", "127.0.0.1").stdout
    assert out.startswith("127.0.0.1 blocked until ") and out.endswith("Z\n"), out
    wait_until(lambda: all_refused(server), what="the running server to learn of the block")
    assert is_greeting(greeting(server, "imaps")) is False
    assert is_greeting(greeting(server, "smtp", "127.0.0.2")), "other addresses unaffected"

    [row] = server.cli("security", "blocked").stdout.splitlines()
    ip, since, until, failures, reason = row.split("\t")
    assert (ip, failures, reason) == ("127.0.0.1", "0", "manual")
    assert until > since  # the default block_for (7m) from the config
    log = server.log("security.log")
    assert "event=blocked service=cli client=127.0.0.1" in log and "reason=manual" in log, log
    assert 'event=connection-refused service=imap client=127.0.0.1 reason="blocked by admin"' in log, log

    assert server.cli("security", "unblock", "127.0.0.1").stdout == "127.0.0.1 unblocked\n"
    wait_until(lambda: all(is_greeting(greeting(server, n)) for n in REFUSED), what="the block to be lifted")
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"


def test_block_for_a_while_ends_by_itself(make_server):
    server = make_server(listen=ALL_LISTEN)
    server.cli("security", "block", "127.0.0.1", "--for", "2s")
    wait_until(lambda: all_refused(server), what="the block to apply")
    wait_until(lambda: is_greeting(greeting(server, "pop3")), what="the 2s block to end")
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"


def test_block_an_ipv6_address_blocks_its_slash_64(make_server):
    server = make_server(listen={"imap": "[::1]:0"})
    assert server.cli("security", "block", "::1", "--for", "1d").stdout.startswith("::/64 blocked until ")
    wait_until(lambda: greeting(server, "imap", "::1") == REFUSED["imap"], what="the /64 blocked")
    [row] = server.cli("security", "blocked").stdout.splitlines()
    assert row.split("\t")[0] == "::/64"


def test_bad_block_arguments(make_server):
    server = make_server(start=False)
    for args, says in [
        (["nowhere"], "is not an IP address"),
        (["192.0.2.1", "--for", "soon"], "is not a duration"),
        (["192.0.2.1", "--for", "0s"], "at least 1s"),
    ]:
        r = server.cli("security", "block", *args, check=False)
        assert r.returncode != 0 and says in r.stderr, (args, r.stderr)
