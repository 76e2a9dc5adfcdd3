"""The security policy (issue 6 item 3, SPEC X4) with real clients: smtplib,
imaplib, poplib and `openssl s_client -starttls`, for each mode on SMTP
(submission and port 25), IMAP and POP3; the exempt IP group; a reload that
switches the mode under open sessions; and the policy-refused lines of the
security log (X10). 127.0.0.2 stands in for a client outside the exempt group."""

from __future__ import annotations

import base64
import imaplib
import poplib
import re
import smtplib
import socket
import ssl
import subprocess

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, HOSTNAME, IO_TIMEOUT, insecure_tls, make_message, token, wait_until
from sasl_client import Scram, imap_auth, pop3_auth, smtp_auth

ALL_LISTEN = {
    "imap": "127.0.0.1:0",
    "imaps": "127.0.0.1:0",
    "pop3": "127.0.0.1:0",
    "pop3s": "127.0.0.1:0",
}
TLS_REQUIRED = "Must issue a STARTTLS command first"


def policy(mode: str, exempt: str = "") -> dict[str, str]:
    config = {"security.policy": f'"{mode}"'}
    if exempt:
        config["security.policy_exempt"] = f'"{exempt}"'
    return config


@pytest.fixture
def policy_server(make_server):
    """`policy_server("encrypted")`: a server with every listener under that mode."""
    return lambda mode, exempt="": make_server(config=policy(mode, exempt), listen=ALL_LISTEN)


# ---------------------------------------------------------------- clients


class Line:
    """A raw connection from a chosen source address; reads lines."""

    def __init__(self, server, name: str, source: str = "127.0.0.1"):
        self.sock = socket.create_connection(server.addr(name), timeout=IO_TIMEOUT, source_address=(source, 0))
        self.buf = b""
        self.greeting = self.line()

    def line(self) -> str:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(f"closed; unread {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def cmd(self, text: str) -> str:
        """Sends a command; returns the last line of its reply."""
        self.sock.sendall(text.encode() + b"\r\n")
        line = self.line()
        while re.match(r"^\d{3}-", line) or line.startswith("* ") or line.startswith("+ "):
            if line.startswith("+ "):
                return line
            line = self.line()
        return line

    def lines(self, text: str) -> list[str]:
        """Sends a command with a multi-line answer (SMTP EHLO, POP3 CAPA, IMAP untagged)."""
        self.sock.sendall(text.encode() + b"\r\n")
        out = [self.line()]
        while re.match(r"^\d{3}-", out[-1]) or out[-1].startswith("* ") or (out[0].startswith("+OK") and out[-1] != "."):
            out.append(self.line())
        return out

    def close(self) -> None:
        self.sock.close()


def s_client(server, proto: str, name: str, commands: list[str], debug: bool) -> str:
    host, port = server.addr(name)
    args = ["openssl", "s_client", "-starttls", proto, "-connect", f"{host}:{port}", "-quiet", "-crlf"]
    # With commands, wait for the server to close after QUIT/LOGOUT; without,
    # end at stdin's EOF right after the handshake (else it waits forever).
    args += ["-ign_eof"] if commands else ["-no_ign_eof"]  # -quiet implies -ign_eof
    stdin = "".join(c + "\n" for c in commands)
    p = subprocess.run(args + (["-debug"] if debug else []), input=stdin.encode(), capture_output=True, timeout=60)
    return p.stdout.decode("utf-8", "replace")


def openssl(server, proto: str, name: str, commands: list[str]) -> tuple[str, str]:
    """`openssl s_client -starttls PROTO`: what the server said in the clear
    before TLS (from the -debug dump of a first run) and its answers to
    `commands` after TLS (a second run)."""
    dump, clear, reading = s_client(server, proto, name, [], debug=True), bytearray(), False
    for line in dump.splitlines():
        if line.startswith("read from"):
            reading = True
        elif line.startswith("write to"):
            reading = False
        m = re.match(r"^[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})", line)
        if m and reading:
            clear += bytes.fromhex(m.group(1).replace("-", " "))
    text = clear.decode("latin-1")
    # From the TLS handshake on it is binary: the clear part ends at the go-ahead.
    go = re.search(r"(220 2\.0\.0 Ready to start TLS|OK Begin TLS[^\r]*)\r\n", text)
    assert go, f"no STARTTLS go-ahead in {text[:400]!r}"
    after = s_client(server, proto, name, commands, debug=False) if commands else ""
    return text[: go.end()], after


def smtp_auth_line(clear: str) -> list[str]:
    """The mechanisms of the last EHLO's AUTH line ([] when there is none)."""
    found = re.findall(r"^250[- ]AUTH ([^\r\n]*)", clear, re.M)
    return found[-1].split() if found else []


def imap_caps(clear: str) -> list[str]:
    found = re.findall(r"(?:^\* |\[)CAPABILITY ([^\]\r\n]*)", clear, re.M)
    assert found, clear
    return found[-1].split()


def smtp_plain(server, name: str = "submission") -> smtplib.SMTP:
    s = server.smtp(name)
    s.ehlo()
    return s


def imap_plain(server) -> imaplib.IMAP4:
    return imaplib.IMAP4(*server.addr("imap"), timeout=IO_TIMEOUT)


def pop3_plain(server) -> poplib.POP3:
    return poplib.POP3(*server.addr("pop3"), timeout=IO_TIMEOUT)


def refusals(server) -> list[str]:
    return [line for line in server.log("security.log").splitlines() if "event=policy-refused" in line]


# ---------------------------------------------------------------- secure-auth (the default)


def test_secure_auth_is_the_default(make_server):
    server = make_server(listen=ALL_LISTEN)
    clear, after = openssl(server, "smtp", "submission", ["EHLO client.test", "QUIT"])
    assert smtp_auth_line(clear) == ["SCRAM-SHA-256"], clear
    assert "250 AUTH SCRAM-SHA-256 PLAIN LOGIN" in after, after
    clear, after = openssl(server, "imap", "imap", ["a CAPABILITY", "b LOGOUT"])
    caps = imap_caps(clear)
    assert "LOGINDISABLED" in caps and "AUTH=SCRAM-SHA-256" in caps and "AUTH=PLAIN" not in caps, caps
    assert "AUTH=PLAIN" in after and "LOGINDISABLED" not in after, after


def test_secure_auth_smtp(policy_server):
    server = policy_server("secure-auth")
    with smtp_plain(server) as s:
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-256"]
        # RFC 3207 §4: a mechanism that needs TLS first is answered 530 5.7.0.
        code, text = s.docmd("AUTH", "PLAIN AGFsaWNlAHg=")
        assert (code, text.decode()) == (530, f"5.7.0 {TLS_REQUIRED}")
        assert s.docmd("AUTH", "LOGIN")[0] == 530
        client = Scram("sha256", ALICE, ALICE_PASSWORD)
        assert smtp_auth(s, "SCRAM-SHA-256", client)[0] == 235, "challenge-response stays allowed"
    with smtp_plain(server) as s:
        s.starttls(context=insecure_tls())
        s.ehlo()
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        s.login(ALICE, ALICE_PASSWORD)
    with smtp_plain(server, "smtp") as s:
        assert s.docmd("MAIL", "FROM:<a@example.net>")[0] == 250, "port 25 keeps working without TLS"
    log = refusals(server)
    assert any('service=submission client=127.0.0.1 command="AUTH PLAIN"' in line and "reason=" in line for line in log), log


def test_secure_auth_imap(policy_server):
    server = policy_server("secure-auth")
    c = imap_plain(server)
    assert "LOGINDISABLED" in c.capabilities and "AUTH=PLAIN" not in c.capabilities
    # RFC 9051 §7.1: PRIVACYREQUIRED.
    with pytest.raises(imaplib.IMAP4.error, match=r"PRIVACYREQUIRED"):
        c.login(ALICE, ALICE_PASSWORD)
    with pytest.raises(imaplib.IMAP4.error, match=r"PRIVACYREQUIRED"):
        c.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{ALICE_PASSWORD}".encode())
    client = Scram("sha256", ALICE, ALICE_PASSWORD)
    assert imap_auth(c, "SCRAM-SHA-256", client)[0] == "OK"
    c.logout()
    c = imap_plain(server)
    c.starttls(insecure_tls())
    assert c.login(ALICE, ALICE_PASSWORD)[0] == "OK"
    c.logout()
    log = refusals(server)
    assert any("service=imap" in line and "command=LOGIN" in line for line in log), log
    assert any('command="AUTHENTICATE PLAIN"' in line for line in log), log


def test_secure_auth_pop3(policy_server):
    server = policy_server("secure-auth")
    p = pop3_plain(server)
    capa = p.capa()
    assert "USER" not in capa and capa["SASL"] == ["SCRAM-SHA-256"], capa
    # RFC 3206 §4: [AUTH].
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_(ALICE_PASSWORD)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p._shortcmd("AUTH PLAIN AGFsaWNlAHg=")
    client = Scram("sha256", ALICE, ALICE_PASSWORD)
    assert pop3_auth(p, "SCRAM-SHA-256", client).startswith(b"+OK")
    p.quit()
    p = pop3_plain(server)
    p.stls(insecure_tls())
    assert "USER" in p.capa()
    p.user(BOB)
    assert p.pass_(BOB_PASSWORD).startswith(b"+OK")
    p.quit()
    log = refusals(server)
    for command in ("USER", "PASS", '"AUTH PLAIN"'):
        assert any(f"service=pop3 client=127.0.0.1 command={command} " in line for line in log), (command, log)


# ---------------------------------------------------------------- none


def test_none_allows_plaintext_everywhere(policy_server):
    server = policy_server("none")
    clear, _ = openssl(server, "smtp", "submission", ["EHLO client.test", "QUIT"])
    assert smtp_auth_line(clear) == ["SCRAM-SHA-256", "PLAIN", "LOGIN"], clear
    clear, _ = openssl(server, "imap", "imap", ["a LOGOUT"])
    caps = imap_caps(clear)
    assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps and "STARTTLS" in caps, caps

    with smtp_plain(server) as s:
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        s.login(ALICE, ALICE_PASSWORD)
        tok = token()
        s.sendmail(ALICE, [BOB], make_message(tok, ALICE, BOB))
    server.wait_for_message(BOB, tok)
    c = imap_plain(server)
    assert "LOGINDISABLED" not in c.capabilities
    assert c.login(ALICE, ALICE_PASSWORD)[0] == "OK"
    c.logout()
    p = pop3_plain(server)
    capa = p.capa()
    assert "USER" in capa and "PLAIN" in capa["SASL"], capa
    p.user(BOB)
    assert p.pass_(BOB_PASSWORD).startswith(b"+OK")
    p.quit()
    assert refusals(server) == []


# ---------------------------------------------------------------- encrypted


def test_encrypted_smtp(policy_server):
    server = policy_server("encrypted")
    plain = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()
    for name, command, ok in [("smtp", "MAIL FROM:<a@example.net>", "250 2.1.0"), ("submission", f"AUTH PLAIN {plain}", "235 2.7.0")]:
        clear, after = openssl(server, "smtp", name, ["EHLO client.test", command, "QUIT"])
        assert re.search(r"^250[- ]STARTTLS", clear, re.M) and smtp_auth_line(clear) == [], clear
        assert TLS_REQUIRED not in after and re.search(rf"^{ok}", after, re.M), after
    with smtp_plain(server, "smtp") as s:
        assert "auth" not in s.esmtp_features
        for verb, arg in [("MAIL", "FROM:<a@example.net>"), ("RCPT", f"TO:<{ALICE}>"), ("VRFY", "alice"), ("DATA", ""), ("HELP", "")]:
            code, text = s.docmd(verb, arg)
            assert (code, text.decode()) == (530, f"5.7.0 {TLS_REQUIRED}"), verb
        assert s.noop()[0] == 250 and s.rset()[0] == 250
        assert s.docmd("HELO", "client.test")[0] == 250
        s.ehlo()
        s.starttls(context=insecure_tls())
        s.ehlo()
        tok = token()
        assert s.sendmail("sender@example.net", [ALICE], make_message(tok)) == {}
    server.wait_for_message(ALICE, tok)
    with smtp_plain(server) as s:
        assert "auth" not in s.esmtp_features
        assert s.docmd("AUTH", "SCRAM-SHA-256")[0] == 530, "not even challenge-response"
        s.starttls(context=insecure_tls())
        s.ehlo()
        s.login(ALICE, ALICE_PASSWORD)
    # Implicit TLS is encrypted from the start.
    with server.smtps() as s:
        s.ehlo()
        s.login(ALICE, ALICE_PASSWORD)
    log = refusals(server)
    assert any("service=smtp client=127.0.0.1 command=MAIL" in line for line in log), log
    assert any("service=submission client=127.0.0.1 command=AUTH" in line for line in log), log


def test_encrypted_imap(policy_server):
    server = policy_server("encrypted")
    clear, after = openssl(server, "imap", "imap", ["a LOGIN alice@example.org Wonderland-7-Tea", "b LOGOUT"])
    caps = imap_caps(clear)
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps and not [c for c in caps if c.startswith("AUTH=")], caps
    assert "a OK" in after, after
    c = Line(server, "imap")
    assert "LOGINDISABLED" in c.greeting and "AUTH=" not in c.greeting
    assert c.cmd("a NOOP") == "a OK NOOP completed"
    for command in ("b ID NIL", "c AUTHENTICATE SCRAM-SHA-256", "d SELECT INBOX", "e LOGIN alice x", "f ENABLE UTF8=ACCEPT"):
        tag = command.split()[0]
        assert c.cmd(command).startswith(f"{tag} NO [PRIVACYREQUIRED]"), command
    assert c.cmd("g CAPABILITY") == "g OK CAPABILITY completed"
    assert c.cmd("h LOGOUT").startswith("h OK")
    c.close()
    imap = imap_plain(server)
    imap.starttls(insecure_tls())
    assert imap.login(ALICE, ALICE_PASSWORD)[0] == "OK" and imap.select("INBOX")[0] == "OK"
    imap.logout()
    imap = imaplib.IMAP4_SSL(*server.addr("imaps"), ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    assert imap.login(ALICE, ALICE_PASSWORD)[0] == "OK"
    imap.logout()
    log = refusals(server)
    assert any("service=imap client=127.0.0.1 command=SELECT" in line for line in log), log


def test_encrypted_pop3(policy_server):
    server = policy_server("encrypted")
    _, after = openssl(server, "pop3", "pop3", ["CAPA", "USER bob@example.org", f"PASS {BOB_PASSWORD}", "QUIT"])
    assert "+OK Logged in" in after, after
    c = Line(server, "pop3")
    capa = c.lines("CAPA")
    assert "STLS" in capa and "USER" not in capa and not [x for x in capa if x.startswith("SASL")], capa
    for command in ("NOOP", f"USER {ALICE}", "AUTH SCRAM-SHA-256", "APOP alice 0123", "STAT"):
        reply = c.cmd(command)
        assert reply.startswith("-ERR [SYS/PERM]") and "TLS" in reply, (command, reply)
    assert c.cmd("QUIT").startswith("+OK")
    c.close()
    p = pop3_plain(server)
    p.stls(insecure_tls())
    p.user(ALICE)
    assert p.pass_(ALICE_PASSWORD).startswith(b"+OK")
    p.quit()
    log = refusals(server)
    assert any("service=pop3 client=127.0.0.1 command=NOOP" in line for line in log), log


# ---------------------------------------------------------------- the exempt group


def test_exempt_group_is_held_to_none(make_server):
    server = make_server(config=policy("encrypted", "trusted"), listen=ALL_LISTEN)
    server.cli("ipgroup", "add", "trusted", "127.0.0.1")

    def exempt_now():
        c = Line(server, "pop3")
        try:
            return "USER" in c.lines("CAPA")
        finally:
            c.close()

    wait_until(exempt_now, what="127.0.0.1 exempt (IP groups are re-read every second)")
    with smtp_plain(server) as s:
        assert s.esmtp_features["auth"].split() == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        s.login(ALICE, ALICE_PASSWORD)
    c = imap_plain(server)
    assert "LOGINDISABLED" not in c.capabilities
    assert c.login(ALICE, ALICE_PASSWORD)[0] == "OK"
    c.logout()
    p = pop3_plain(server)
    p.user(BOB)
    assert p.pass_(BOB_PASSWORD).startswith(b"+OK")
    p.quit()
    # 127.0.0.2 is not in the group.
    outsider = Line(server, "submission", source="127.0.0.2")
    outsider.lines("EHLO client.test")
    assert outsider.cmd("MAIL FROM:<a@example.net>") == f"530 5.7.0 {TLS_REQUIRED}"
    outsider.close()
    outsider = Line(server, "imap", source="127.0.0.2")
    assert "LOGINDISABLED" in outsider.greeting
    assert outsider.cmd("a LOGIN alice x").startswith("a NO [PRIVACYREQUIRED]")
    outsider.close()
    log = refusals(server)
    assert log and all("client=127.0.0.2" in line for line in log), log


# ---------------------------------------------------------------- reload


def test_reload_switches_the_mode_without_dropping_sessions(make_server):
    server = make_server(listen=ALL_LISTEN)
    smtp = Line(server, "submission")
    imap = Line(server, "imap")
    assert "LOGINDISABLED" in imap.greeting
    assert imap.cmd("a LOGIN alice@example.org Wonderland-7-Tea").startswith("a NO [PRIVACYREQUIRED]")

    server.config_set("security.policy", '"none"')
    assert "reloads" in server.cli("reload").stdout

    def plaintext_offered():
        return "AUTH SCRAM-SHA-256 PLAIN LOGIN" in smtp.lines("EHLO client.test")[-1]

    wait_until(plaintext_offered, timeout=15, what="policy none after reload")
    assert "LOGINDISABLED" not in " ".join(imap.lines("b CAPABILITY"))
    assert imap.cmd("c LOGIN alice@example.org Wonderland-7-Tea").startswith("c OK"), "same session, new policy"

    server.config_set("security.policy", '"encrypted"')
    server.cli("reload")

    def no_auth_offered():
        c = Line(server, "submission")
        try:
            return not any("AUTH" in line for line in c.lines("EHLO client.test"))
        finally:
            c.close()

    wait_until(no_auth_offered, timeout=15, what="policy encrypted after reload")
    assert smtp.cmd("MAIL FROM:<a@example.net>") == f"530 5.7.0 {TLS_REQUIRED}"
    assert smtp.cmd("NOOP").startswith("250"), "the session stays open"
    assert imap.cmd("d NOOP").startswith("d OK")
    assert imap.cmd("e SELECT INBOX").startswith("e NO [PRIVACYREQUIRED]")
    fresh = Line(server, "pop3")
    assert "USER" not in fresh.lines("CAPA")
    fresh.close()
    smtp.close()
    imap.close()
