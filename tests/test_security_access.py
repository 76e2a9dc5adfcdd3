"""IP address groups (SPEC X1), per-listener access and connection limits
(Services table), the brute-force guard (X7) and their security-log lines
(X10), with real clients. 127.0.0.2 stands in for a second client address."""

from __future__ import annotations

import base64
import imaplib
import poplib
import socket
import ssl

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, HOSTNAME, IO_TIMEOUT, insecure_tls, wait_until

ALL_LISTEN = {
    "imap": "127.0.0.1:0",
    "imaps": "127.0.0.1:0",
    "pop3": "127.0.0.1:0",
    "pop3s": "127.0.0.1:0",
}
TLS_PORTS = ("smtps", "imaps", "pop3s")


class Client:
    """A raw connection from a chosen source address; reads lines."""

    def __init__(self, server, name: str, source: str = "127.0.0.1"):
        self.sock = socket.create_connection(server.addr(name), timeout=IO_TIMEOUT, source_address=(source, 0))
        if name in TLS_PORTS:
            self.sock = insecure_tls().wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.buf = b""

    def line(self) -> str:
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(4096)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                raise EOFError(f"closed; unread {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\r\n")

    def closed(self) -> bool:
        try:
            self.line()
        except EOFError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


def greeting(server, name: str, source: str = "127.0.0.1") -> str:
    c = Client(server, name, source)
    try:
        return c.line()
    finally:
        c.close()


def is_greeting(line: str) -> bool:
    return line.startswith(("220 ", "* OK", "+OK"))


# ---------------------------------------------------------------- ipgroup CLI


def test_ipgroup_add_list_del(make_server):
    server = make_server(start=False)
    out = server.cli("ipgroup", "add", "Office", "192.0.2.0/255.255.255.0", "!192.0.2.9", "2001:db8::/32").stdout
    assert out == "ipgroup Office: 192.0.2.0/24, !192.0.2.9, 2001:db8::/32\n"
    server.cli("ipgroup", "add", "office", "10.0.0.1-10.0.0.9")
    server.cli("ipgroup", "add", "lan", "::1")
    assert server.cli("ipgroup", "list").stdout == (
        "lan: ::1\nOffice: 192.0.2.0/24, !192.0.2.9, 2001:db8::/32, 10.0.0.1-10.0.0.9\n"
    )
    out = server.cli("ipgroup", "del", "OFFICE", "192.0.2.0/24", "2001:db8::/32").stdout
    assert out == "ipgroup Office: !192.0.2.9, 10.0.0.1-10.0.0.9\n"
    assert server.cli("ipgroup", "del", "lan").stdout == "ipgroup lan deleted\n"
    assert server.cli("ipgroup", "list").stdout == "Office: !192.0.2.9, 10.0.0.1-10.0.0.9\n"
    missing = server.cli("ipgroup", "del", "lan", check=False)
    assert missing.returncode != 0 and "IP group lan does not exist" in missing.stderr


@pytest.mark.parametrize(
    "entry, says",
    [
        ("10.0.0.300", "is not an IP address"),
        ("mail.example.org", "is not an IP address"),
        ("10.0.0.0/33", "prefix length"),
        ("10.0.0.5/8", "did you mean 10.0.0.0/8"),
        ("10.0.0.9-10.0.0.1", "lower to the higher"),
        ("10.0.0.1-::1", "lower to the higher"),
        ("!", "empty entry"),
    ],
)
def test_bad_entries_are_refused(make_server, entry, says):
    server = make_server(start=False)
    p = server.cli("ipgroup", "add", "lan", "127.0.0.1", entry, check=False)
    assert p.returncode != 0, p.stdout
    assert says in p.stderr, p.stderr
    assert server.cli("ipgroup", "list").stdout == "", "nothing half-added"


def test_bad_group_name_is_refused(make_server):
    server = make_server(start=False)
    p = server.cli("ipgroup", "add", "my lan", "127.0.0.1", check=False)
    assert p.returncode != 0 and "is not a group name" in p.stderr


# ---------------------------------------------------------------- allow = GROUP


def test_listener_limited_to_a_group_changed_while_running(make_server):
    server = make_server(
        config={"access.imap.allow": "office", "access.pop3.allow": "office", "access.smtp.allow": "office"},
        listen=ALL_LISTEN,
    )
    # The group does not exist yet: nobody may connect, each protocol says so its way.
    assert greeting(server, "imap") == "* BYE access denied for your address"
    assert greeting(server, "pop3").startswith("-ERR [SYS/PERM] access denied")
    c = Client(server, "smtp")
    assert c.line() == f"554 5.7.1 {HOSTNAME} access denied for your address"
    # RFC 5321 §3.1: after a 554 greeting, 503 until QUIT.
    c.send("EHLO client.test")
    assert c.line().startswith("503 5.5.1")
    c.send("QUIT")
    assert c.line().startswith("221 ")
    assert c.closed()
    c.close()
    # Listeners without a rule stay open.
    assert is_greeting(greeting(server, "imaps"))
    log = server.log("security.log")
    assert "event=connection-refused service=imap client=127.0.0.1 reason=\"not in IP group office\"" in log, log

    server.cli("ipgroup", "add", "office", "127.0.0.2")
    wait_until(lambda: is_greeting(greeting(server, "imap", "127.0.0.2")), what="127.0.0.2 let in")
    assert greeting(server, "imap").startswith("* BYE")

    server.cli("ipgroup", "add", "office", "127.0.0.0/8", "!127.0.0.2")
    wait_until(lambda: is_greeting(greeting(server, "imap")), what="127.0.0.1 let in")
    assert greeting(server, "imap", "127.0.0.2").startswith("* BYE"), "the exclusion wins"
    imap = imaplib.IMAP4(*server.addr("imap"), timeout=IO_TIMEOUT)
    imap.logout()

    server.cli("ipgroup", "del", "office", "127.0.0.0/8")
    wait_until(lambda: greeting(server, "imap").startswith("* BYE"), what="127.0.0.1 shut out again")
    # The rule itself changed while running (config reload).
    server.config_set("access.imap.allow", "")
    wait_until(lambda: is_greeting(greeting(server, "imap")), what="the rule to be dropped")


def test_refusal_on_implicit_tls_port_comes_after_the_handshake(make_server):
    server = make_server(config={"access.pop3s.allow": "nobody-here"}, listen=ALL_LISTEN)
    assert greeting(server, "pop3s").startswith("-ERR [SYS/PERM]")
    assert greeting(server, "smtps").startswith("220 ")


# ---------------------------------------------------------------- connection limits


def test_max_per_ip_crossed_and_reset(make_server):
    server = make_server(config={"access.pop3.max_per_ip": "2"}, listen=ALL_LISTEN)
    first, second = Client(server, "pop3"), Client(server, "pop3")
    assert first.line().startswith("+OK") and second.line().startswith("+OK")
    third = Client(server, "pop3")
    assert third.line().startswith("-ERR [SYS/TEMP] too many connections from your address")
    assert third.closed()
    third.close()
    # Another address, another listener: not counted together.
    assert greeting(server, "pop3", "127.0.0.2").startswith("+OK")
    assert greeting(server, "pop3s").startswith("+OK")
    assert "reason=\"address has 2 connections\"" in server.log("security.log")
    first.send("QUIT")
    assert first.line().startswith("+OK")
    first.close()
    wait_until(lambda: greeting(server, "pop3").startswith("+OK"), what="a place freed")
    second.close()


def test_max_connections_per_listener(make_server):
    server = make_server(config={"access.smtp.max_connections": "1", "access.imap.max_connections": "1"}, listen=ALL_LISTEN)
    held = Client(server, "smtp")
    assert held.line().startswith("220 ")
    assert greeting(server, "smtp", "127.0.0.2") == f"421 4.7.0 {HOSTNAME} too many connections, try again later"
    held_imap = Client(server, "imap")
    assert held_imap.line().startswith("* OK")
    assert greeting(server, "imap").startswith("* BYE [UNAVAILABLE] too many connections")
    held.close()
    wait_until(lambda: greeting(server, "smtp").startswith("220 "), what="the SMTP place freed")
    held_imap.close()


# ---------------------------------------------------------------- brute force


GUARD = {"security.login_failures": "3", "security.login_window": "60s", "security.block_for": "300s"}


def fail_pop3(server, source="127.0.0.1", user=ALICE):
    c = Client(server, "pop3s", source)
    assert c.line().startswith("+OK")
    c.send(f"USER {user}")
    assert c.line().startswith("+OK")
    c.send("PASS wrong")
    reply = c.line()
    c.close()
    assert reply.startswith("-ERR"), reply
    return reply


def fail_imap(server):
    c = imaplib.IMAP4_SSL(*server.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        c.login(ALICE, "wrong")
    return c


def test_brute_force_blocks_everywhere_until_unblocked(make_server):
    server = make_server(config=GUARD, listen=ALL_LISTEN)
    fail_pop3(server)
    fail_imap(server).logout()
    c = Client(server, "smtps")
    assert c.line().startswith("220 ")
    c.send("EHLO client.test")
    while not c.line().startswith("250 "):
        pass
    c.send("AUTH PLAIN " + base64.b64encode(f"\0{BOB}\0wrong".encode()).decode())
    assert c.line().startswith("535 ")
    # The third failure blocked the address: this session is closed too.
    assert c.line().startswith("421 4.7.0")
    assert c.closed()
    c.close()
    for name in ("smtp", "submission", "imap", "pop3", "imaps"):
        line = greeting(server, name)
        assert not is_greeting(line), f"{name}: {line}"
    assert greeting(server, "smtp") == f"421 4.7.0 {HOSTNAME} too many failed logins from your address, try again later"
    assert greeting(server, "pop3").startswith("-ERR [SYS/TEMP]")
    assert is_greeting(greeting(server, "smtp", "127.0.0.2")), "other addresses unaffected"

    blocked = server.cli("security", "blocked").stdout.splitlines()
    assert len(blocked) == 1, blocked
    ip, since, until, failures, reason = blocked[0].split("\t")
    assert (ip, failures, reason) == ("127.0.0.1", "3", "3 failed logins within 60s")
    assert since.endswith("Z") and until > since
    log = server.log("security.log")
    assert "event=blocked service=smtps client=127.0.0.1 user=bob@example.org failures=3" in log, log
    assert "event=connection-refused service=imap client=127.0.0.1 reason=\"blocked after failed logins\"" in log

    assert server.cli("security", "unblock", "127.0.0.1").stdout == "127.0.0.1 unblocked\n"
    wait_until(lambda: is_greeting(greeting(server, "imap")), what="the block to be lifted")
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"
    assert "event=unblocked service=cli client=127.0.0.1" in server.log("security.log")
    again = server.cli("security", "unblock", "127.0.0.1", check=False)
    assert again.returncode != 0 and "127.0.0.1 is not blocked" in again.stderr
    bad = server.cli("security", "unblock", "nowhere", check=False)
    assert bad.returncode != 0 and "is not an IP address" in bad.stderr
    # The counter was reset with the block: one more failure does not block again.
    fail_pop3(server)
    assert is_greeting(greeting(server, "pop3"))


def test_exempt_group_is_never_blocked(make_server):
    server = make_server(config={**GUARD, "security.exempt": "trusted"}, start=False)
    server.cli("ipgroup", "add", "trusted", "127.0.0.1")
    server.start(ALL_LISTEN)
    for _ in range(5):
        fail_pop3(server)
    assert is_greeting(greeting(server, "pop3s"))
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"
    # 127.0.0.2 is not in the group: it is.
    for _ in range(3):
        fail_pop3(server, "127.0.0.2")
    assert not is_greeting(greeting(server, "pop3s", "127.0.0.2"))


def test_one_account_from_several_addresses_is_reported(make_server):
    server = make_server(config=GUARD, listen=ALL_LISTEN)
    fail_pop3(server, "127.0.0.1", BOB)
    fail_pop3(server, "127.0.0.2", BOB)
    fail_pop3(server, "127.0.0.3", BOB)
    log = server.log("security.log")
    assert "event=account-targeted" in log and "user=bob@example.org failures=3 addresses=3" in log, log
    assert server.cli("security", "blocked").stdout == "no blocked addresses\n"
    # Logging in still works from every address.
    p = poplib.POP3_SSL(*server.addr("pop3s"), context=insecure_tls(), timeout=IO_TIMEOUT)
    p.user(ALICE)
    p.pass_(ALICE_PASSWORD)
    p.quit()


def test_an_ipv6_client_is_blocked_by_its_slash_64(make_server):
    """Issue 6: IPv6 clients are counted and blocked by their /64 (::1 is in ::/64)."""
    v6 = {"pop3s": "[::1]:0", "imap": "[::1]:0"}
    server = make_server(config=GUARD, listen=v6)
    for _ in range(3):
        fail_pop3(server, "::1")
    line = greeting(server, "imap", "::1")
    assert line.startswith("* BYE [UNAVAILABLE]"), line
    blocked = server.cli("security", "blocked").stdout.splitlines()
    assert [b.split("\t")[0] for b in blocked] == ["::/64"], blocked
    assert "blocked=::/64" in server.log("security.log")
    # Unblocking by an address of the /64 lifts the block of the /64.
    assert server.cli("security", "unblock", "::1").stdout == "::/64 unblocked\n"
    wait_until(lambda: is_greeting(greeting(server, "imap", "::1")), what="the /64 unblocked")
