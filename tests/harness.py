"""Machinery for the end-to-end tests: run the real `postern` binary on loopback
and talk to it with real clients (smtplib, ssl, raw sockets).

Only 127.0.0.1 / ::1 is ever contacted.
"""

from __future__ import annotations

import email.utils
import os
import poplib
import queue
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

HOSTNAME = "mx.test"
DOMAIN = "example.org"
ALICE = "alice@example.org"
ALICE_PASSWORD = "Wonderland-7-Tea"
BOB = "bob@example.org"
BOB_PASSWORD = "Builder-4-Can-Do"

# A resolver address where nothing answers (see conftest.make_server).
NO_DNS = "127.0.0.1:9"
READY_DEADLINE = 30.0
IO_TIMEOUT = 15.0
# How long a CLI change (alias, group, user) may take to reach a running server.
DIRECTORY_PROPAGATION = 10.0  # a deadline for loaded CI machines; it takes ~1 s
# `make_server(listen=POP3_LISTEN)` (or `server.start(POP3_LISTEN)`) also serves POP3 and POP3S.
POP3_LISTEN = {"pop3": "127.0.0.1:0", "pop3s": "127.0.0.1:0"}
# `make_server(listen=ADMIN_LISTEN)` also serves the admin API over HTTPS.
ADMIN_LISTEN = {"admin": "127.0.0.1:0"}
# `make_server(listen=WEBMAIL_LISTEN)` also serves webmail (https) and its http redirect.
WEBMAIL_LISTEN = {"https": "127.0.0.1:0", "http": "127.0.0.1:0"}


def postern_bin() -> str:
    """The binary under test: $POSTERN_BIN, else the debug build scripts/test makes."""
    env = os.environ.get("POSTERN_BIN")
    if env:
        return env
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/postern-target")
    return os.path.join(target, "debug", "postern")


def require_tool(name: str, reason: str):
    """A mark for a test that runs an outside client (`name` on PATH). Without
    it the test is skipped, except under CI=true, where it fails: CI installs
    every such tool (scripts/test), so a missing one is a broken setup, not a
    reason to pass (conftest.needs_tool)."""
    return pytest.mark.needs_tool(name, reason)


def tool_missing_is_a_failure() -> bool:
    return os.environ.get("CI") == "true"


# ---------------------------------------------------------------- waiting


def wait_until(fn, timeout: float = 10.0, interval: float = 0.05, what: str | None = None):
    """Calls `fn` until it returns something truthy (and returns that) or the
    deadline passes. AssertionErrors raised by `fn` count as "not yet"; the last
    one is reported when time runs out."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = f"last result: {value!r}"
        except AssertionError as e:
            last = f"last failure: {e}"
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or getattr(fn, '__name__', fn)}; {last}")
        time.sleep(interval)


# ---------------------------------------------------------------- TLS


def insecure_tls() -> ssl.SSLContext:
    """A client context that accepts the server's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------- messages


def token() -> str:
    """A unique marker to find one test's message among others."""
    return "t" + uuid.uuid4().hex[:16]


def make_message(tok: str, sender: str = "sender@example.net", to: str = ALICE, body: str | bytes = "Hello.\r\n", extra_headers: str = "") -> bytes:
    """An RFC 5322 message (CRLF line ends) whose Subject and body carry `tok`."""
    head = (
        f"From: <{sender}>\r\n"
        f"To: <{to}>\r\n"
        f"Subject: test {tok}\r\n"
        f"Date: {email.utils.formatdate()}\r\n"
        f"Message-ID: <{tok}@client.test>\r\n"
        f"{extra_headers}"
        "\r\n"
    ).encode()
    if isinstance(body, str):
        body = body.encode()
    return head + f"token {tok}\r\n".encode() + body


def split_mbox(text: str) -> list[str]:
    """The messages of an mbox export, each without its `From ` line and
    without the blank line that ends it: the stored message with LF line ends."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline
    groups: list[list[str]] = []
    for line in lines:
        if line.startswith("From "):
            groups.append([])
        elif groups:
            groups[-1].append(line)
        else:
            raise AssertionError(f"mbox does not start with a From line: {text[:200]!r}")
    messages = []
    for g in groups:
        assert g and g[-1] == "", f"mbox message not followed by a blank line: {g[-3:]!r}"
        messages.append("\n".join(g[:-1]) + "\n")
    return messages


def header_block(message: str) -> str:
    return message.split("\n\n", 1)[0]


def headers(message: str) -> list[tuple[str, str]]:
    """(name, unfolded value) of each header field, in order."""
    fields: list[tuple[str, str]] = []
    for line in header_block(message).split("\n"):
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append((name, value.strip()))
    return fields


def header_values(message: str, name: str) -> list[str]:
    return [v for n, v in headers(message) if n.lower() == name.lower()]


# ---------------------------------------------------------------- raw SMTP


class Reply:
    """One SMTP reply: its code and its lines (without the code)."""

    def __init__(self, lines: list[str]):
        self.raw = lines
        self.code = int(lines[-1][:3])
        self.lines = [l[4:] for l in lines]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return "Reply(" + " | ".join(self.raw) + ")"


class Raw:
    """A plain socket speaking SMTP by hand: exact bytes out, reply lines in."""

    def __init__(self, addr: tuple[str, int], timeout: float = IO_TIMEOUT):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout: float | None) -> bool:
        """Reads more bytes; False at EOF."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            chunk = self.sock.recv(65536)
        except ssl.SSLError as e:
            # A peer closing a TLS session without close_notify reads as EOF too.
            if "EOF" in str(e) or "UNEXPECTED_EOF" in str(e):
                return False
            raise
        except ConnectionResetError:
            return False
        if not chunk:
            return False
        self.buf += chunk
        return True

    def line(self, timeout: float | None = None) -> str:
        """The next line, without its CRLF. EOFError when the server closed first."""
        while b"\n" not in self.buf:
            if not self._fill(timeout):
                raise EOFError(f"connection closed; unread bytes {self.buf!r}")
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, timeout: float | None = None) -> Reply:
        lines = []
        while True:
            l = self.line(timeout)
            assert re.match(r"^\d{3}[ -]", l) or re.fullmatch(r"\d{3}", l), f"not an SMTP reply line: {l!r} (after {lines})"
            lines.append(l)
            if len(l) == 3 or l[3] == " ":
                return Reply(lines)

    def cmd(self, line: bytes | str) -> Reply:
        """Sends one command line (CRLF added) and reads its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply()

    def expect(self, line: bytes | str, code: int, enhanced: str | None = None) -> Reply:
        r = self.cmd(line)
        assert r.code == code, f"{line!r}: expected {code}, got {r}"
        if enhanced:
            assert r.lines[-1].startswith(enhanced), f"{line!r}: expected {code} {enhanced}, got {r}"
        return r

    def greeting(self) -> Reply:
        r = self.reply()
        assert r.code == 220, f"greeting: {r}"
        return r

    def ehlo(self, name: str = "client.test") -> Reply:
        return self.expect(f"EHLO {name}", 250)

    def starttls(self, ctx: ssl.SSLContext | None = None) -> None:
        """STARTTLS, then the handshake. The server must have nothing more to say before it."""
        self.expect("STARTTLS", 220)
        assert self.buf == b"", f"bytes after the STARTTLS reply, before the handshake: {self.buf!r}"
        self.wrap(ctx)

    def wrap(self, ctx: ssl.SSLContext | None = None) -> None:
        self.sock.settimeout(self.timeout)
        self.sock = (ctx or insecure_tls()).wrap_socket(self.sock, server_hostname=HOSTNAME)

    def silent_for(self, seconds: float) -> bytes:
        """Bytes the server sends unprompted within `seconds` (b"" if none)."""
        got = self.buf
        self.buf = b""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            try:
                if not self._fill(left):
                    return got + b"<EOF>"
            except (socket.timeout, TimeoutError):
                return got + self.buf
            got += self.buf
            self.buf = b""

    def lines_until_eof(self, timeout: float) -> list[str]:
        """Every line the server sends until it closes the connection (within `timeout`)."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"server did not close the connection within {timeout}s; got {lines}"
            try:
                lines.append(self.line(left))
            except EOFError:
                if self.buf:
                    lines.append(self.buf.decode("utf-8", "replace"))
                return lines
            except (socket.timeout, TimeoutError):
                raise AssertionError(f"server did not close the connection within {timeout}s; got {lines}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- raw POP3


class RawPop3(Raw):
    """A plain socket speaking POP3 by hand: status lines and multi-line responses."""

    def status(self, timeout: float | None = None) -> str:
        l = self.line(timeout)
        assert l.startswith(("+OK", "-ERR", "+ ")) or l == "+", f"not a POP3 status line: {l!r}"
        return l

    def command(self, line: bytes | str) -> str:
        """Sends one command line (CRLF added) and returns its status line."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.status()

    def ok(self, line: bytes | str) -> str:
        r = self.command(line)
        assert r.startswith("+OK"), f"{line!r}: expected +OK, got {r!r}"
        return r

    def err(self, line: bytes | str) -> str:
        r = self.command(line)
        assert r.startswith("-ERR"), f"{line!r}: expected -ERR, got {r!r}"
        return r

    def multi(self) -> list[str]:
        """The lines of a multi-line response after its status line, un-stuffed."""
        lines = []
        while True:
            l = self.line()
            if l == ".":
                return lines
            lines.append(l[1:] if l.startswith(".") else l)

    def greeting(self) -> str:
        g = self.status()
        assert g.startswith("+OK"), f"greeting: {g!r}"
        return g

    def stls(self, ctx: ssl.SSLContext | None = None) -> None:
        """STLS, then the handshake. The server must have nothing more to say before it."""
        self.ok("STLS")
        assert self.buf == b"", f"bytes after the STLS reply, before the handshake: {self.buf!r}"
        self.wrap(ctx)


# ---------------------------------------------------------------- the server


class Postern:
    """One data directory and (when started) one `postern serve` process on it."""

    LISTEN = {
        "smtp": "127.0.0.1:0",
        "submission": "127.0.0.1:0",
        "smtps": "127.0.0.1:0",
        "imap": "off",
        "imaps": "off",
        "pop3": "off",
        "pop3s": "off",
        "admin": "off",  # tests of the admin API pass ADMIN_LISTEN
        "https": "off",  # webmail tests pass WEBMAIL_LISTEN
        "http": "off",
    }

    def __init__(self, workdir: Path):
        self.bin = postern_bin()
        self.workdir = workdir
        self.data = workdir / "data"
        self.proc: subprocess.Popen | None = None
        self.addrs: dict[str, tuple[str, int]] = {}
        self.all_addrs: dict[str, list[tuple[str, int]]] = {}
        self.starts = 0
        self.stderr_path: Path | None = None
        self._stdout_lines: list[str] = []
        # How each run ended when stopped with SIGTERM (stop()): exit codes, -9
        # when it had to be killed. Runs ended by kill() (a crash on purpose)
        # are not in it. conftest fails the test on a non-zero one.
        self.exit_codes: list[int] = []

    # -- CLI

    def cli(self, *args: str, input: str | bytes | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """Runs `postern --data DIR ARGS...`; stdout/stderr as text. Fails the test on a non-zero exit when `check`."""
        if isinstance(input, str):
            input = input.encode()
        cmd = [self.bin, "--data", str(self.data), *args]
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            pytest.fail(f"`postern {' '.join(args)}` exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def init(self) -> None:
        self.cli("init", "--hostname", HOSTNAME, "--domain", DOMAIN)

    def add_user(self, address: str, password: str) -> None:
        self.cli("user", "add", address, "--password-stdin", input=password + "\n")

    def config_set(self, key: str, value: str) -> None:
        self.cli("config", "set", key, str(value))

    def export(self, address: str, folder: str = "INBOX") -> str:
        """The folder as mbox text (bytes decoded as UTF-8, line ends untouched)."""
        args = ["export", address]
        if folder != "INBOX":
            args += ["--folder", folder]
        p = subprocess.run([self.bin, "--data", str(self.data), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=300)
        assert p.returncode == 0, f"`postern export {address}` exited {p.returncode}: {p.stderr.decode('utf-8', 'replace')}"
        return p.stdout.decode("utf-8", "replace")

    def messages(self, address: str, folder: str = "INBOX") -> list[str]:
        return split_mbox(self.export(address, folder))

    def find(self, address: str, tok: str) -> list[str]:
        """The messages in the address's INBOX that carry `tok`."""
        return [m for m in self.messages(address) if tok in m]

    def wait_for_message(self, address: str, tok: str, timeout: float = 10.0) -> str:
        """Waits until exactly one message with `tok` is in the INBOX, and returns it."""

        def found():
            hits = self.find(address, tok)
            assert len(hits) <= 1, f"{len(hits)} copies of {tok} in {address}'s INBOX"
            return hits[0] if hits else None

        return wait_until(found, timeout, what=f"message {tok} in {address}'s INBOX")

    def log(self, name: str) -> str:
        path = self.data / "logs" / name
        return path.read_text("utf-8", "replace") if path.exists() else ""

    # -- the process

    def start(self, listen: dict[str, str | None] | None = None) -> None:
        assert self.proc is None, "already running"
        assert os.path.exists(self.bin), f"postern binary not found at {self.bin} (set POSTERN_BIN or run scripts/test)"
        spec = dict(self.LISTEN)
        spec.update(listen or {})
        args = [self.bin, "--data", str(self.data), "serve"]
        for name, addr in spec.items():
            if addr is not None:  # None: the address in postern.toml
                args += ["--listen", f"{name}={addr}"]
        self.starts += 1
        self.stderr_path = self.workdir / f"serve-{self.starts}.stderr"
        stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
        stderr.close()
        lines: queue.Queue = queue.Queue()

        def pump(out=self.proc.stdout):
            for raw in out:
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._stdout_lines.append(text)
                lines.put(text)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.addrs, self.all_addrs = {}, {}
        deadline = time.monotonic() + READY_DEADLINE
        while True:
            left = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                self.kill()
                pytest.fail(f"postern serve printed no `ready` within {READY_DEADLINE}s\nstdout: {self._stdout_lines}\nstderr: {self.stderr()}")
            if line is None:
                code = self.proc.wait(timeout=10)
                self.proc = None
                pytest.fail(f"postern serve exited {code} before `ready`\nstdout: {self._stdout_lines}\nstderr: {self.stderr()}")
            if line.strip() == "ready":
                break
            m = re.match(r"^listening (\S+) (\S+)$", line.strip())
            if m:
                host, port = m.group(2).rsplit(":", 1)
                addr = (host.strip("[]"), int(port))
                self.all_addrs.setdefault(m.group(1), []).append(addr)
                self.addrs.setdefault(m.group(1), addr)

    def stderr(self) -> str:
        if self.stderr_path and self.stderr_path.exists():
            return self.stderr_path.read_text("utf-8", "replace")
        return ""

    def panics(self) -> list[str]:
        """Panic messages in the stderr of every run so far."""
        found = []
        for path in sorted(self.workdir.glob("serve-*.stderr")):
            text = path.read_text("utf-8", "replace")
            found += [f"{path.name}: {l}" for l in text.splitlines() if "panicked at" in l]
        return found

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait, SIGKILL if it does not stop. Returns the exit code."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                code = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=30)
                code = -signal.SIGKILL
        else:
            code = p.wait(timeout=30)
        self.exit_codes.append(code)
        return code

    def kill(self) -> None:
        """SIGKILL: a crash, as far as the server can tell."""
        if self.proc is None:
            return
        p, self.proc = self.proc, None
        p.kill()
        p.wait(timeout=30)

    def peak_rss_kb(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        assert m, status
        return int(m.group(1))

    # -- clients

    def addr(self, name: str) -> tuple[str, int]:
        assert name in self.addrs, f"server did not report `listening {name} ...`; got {self.addrs}"
        return self.addrs[name]

    def raw(self, name: str = "smtp", greet: bool = True) -> Raw:
        r = Raw(self.addr(name))
        if greet:
            r.greeting()
        return r

    def smtp(self, name: str = "smtp", timeout: float = IO_TIMEOUT) -> smtplib.SMTP:
        host, port = self.addr(name)
        return smtplib.SMTP(host, port, local_hostname="client.test", timeout=timeout)

    def smtps(self, timeout: float = IO_TIMEOUT) -> smtplib.SMTP_SSL:
        host, port = self.addr("smtps")
        return smtplib.SMTP_SSL(host, port, local_hostname="client.test", timeout=timeout, context=insecure_tls())

    def submission(self, user: str = ALICE, password: str = ALICE_PASSWORD) -> smtplib.SMTP:
        """A submission session after STARTTLS and a successful login."""
        s = self.smtp("submission")
        s.ehlo()
        s.starttls(context=insecure_tls())
        s.ehlo()
        s.login(user, password)
        return s

    def deliver(self, tok: str, to: str | list[str] = ALICE, sender: str = "sender@example.net", body: str | bytes = "Hello.\r\n") -> dict:
        """Sends one message on the MX port; returns smtplib's refused-recipients dict."""
        rcpts = [to] if isinstance(to, str) else to
        with self.smtp() as s:
            return s.sendmail(sender, rcpts, make_message(tok, sender, rcpts[0], body))

    # -- POP3 clients (the server must have been started with POP3_LISTEN)

    def raw_pop3(self, name: str = "pop3", greet: bool = True) -> RawPop3:
        r = RawPop3(self.addr(name))
        if name == "pop3s":
            r.wrap()
        if greet:
            r.greeting()
        return r

    def pop3(self, timeout: float = IO_TIMEOUT) -> poplib.POP3:
        """A POP3 session on the STLS port, before STLS and login."""
        host, port = self.addr("pop3")
        return poplib.POP3(host, port, timeout=timeout)

    def pop3s(self, timeout: float = IO_TIMEOUT) -> poplib.POP3_SSL:
        """A POP3S session (implicit TLS), before login."""
        host, port = self.addr("pop3s")
        return poplib.POP3_SSL(host, port, timeout=timeout, context=insecure_tls())

    def pop3_login(self, user: str = ALICE, password: str = ALICE_PASSWORD, tls: str = "pop3s", timeout: float = IO_TIMEOUT) -> poplib.POP3:
        """A logged-in session: over POP3S (`tls="pop3s"`) or POP3 after STLS (`tls="stls"`)."""
        if tls == "stls":
            p = self.pop3(timeout)
            p.stls(insecure_tls())
        else:
            p = self.pop3s(timeout)
        p.user(user)
        p.pass_(password)
        return p
