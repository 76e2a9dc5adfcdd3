"""A scriptable SMTP server on loopback that records what it receives, byte
for byte, for the outbound-delivery tests. Independent of Postern's code.

    sink = Sink(capabilities=["PIPELINING", "8BITMIME", "SIZE 10000000"])
    sink.start()                       # sink.port
    sink.rcpt_reply = lambda rcpt, n: (550, "5.1.1 no such user") if ... else None
    ... sink.wait_for(1) -> list[Received]

    sink.data_delay = 2.0              # hold the reply to the end of DATA this long
    sink.wait_data_ends(1)             # until a message's final "." has arrived
    sink.close_sessions()              # hang up on every open session (a server
                                       # dropping idle clients)
    sink.max_open                      # the most sessions open at once
    Sink(tls_context=ctx, implicit_tls=True)   # SMTPS

Each Received has mail_from, mail_params, rcpts (accepted ones), body
(dot-unstuffed, as the peer meant it), raw (the bytes on the wire between
DATA's 354 and the final ".", or the BDAT chunks), tls, auth, helo, and
session: which connection it came over (0, 1, … in the order accepted).
"""

from __future__ import annotations

import base64
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    helo: str = ""
    mail_from: str = ""
    mail_params: str = ""
    rcpts: list[str] = field(default_factory=list)
    rcpt_params: list[str] = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""
    tls: bool = False
    auth: str | None = None
    bdat: bool = False
    peer: str = ""
    session: int = -1


class Sink:
    def __init__(self, capabilities: list[str] | None = None, tls_context: ssl.SSLContext | None = None,
                 users: dict[str, str] | None = None, require_auth: bool = False, host: str = "127.0.0.1",
                 port: int = 0, implicit_tls: bool = False):
        self.capabilities = capabilities if capabilities is not None else ["PIPELINING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES"]
        self.tls_context = tls_context
        # SMTPS (RFC 8314 §3): TLS from the first byte, with tls_context.
        self.implicit_tls = implicit_tls
        self.users = users or {}
        self.require_auth = require_auth
        self.messages: list[Received] = []
        self.transcripts: list[list[str]] = []
        self.rcpt_attempts: dict[str, int] = {}
        # Hooks: return (code, "x.y.z text") to override the default 250.
        self.rcpt_reply = lambda rcpt, attempt: None
        self.data_reply = lambda msg: None
        # Seconds to hold the reply to the end of DATA; a client that leaves
        # meanwhile gets nothing recorded (as a server would on a lost connection).
        self.data_delay = 0.0
        self.data_ends = 0
        self.sessions = 0
        self.open_sessions: list[_Session] = []
        # The most sessions open at once so far (connection limits).
        self.max_open = 0
        self.greeting = (220, "sink.test ESMTP")
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.closed = False

    def start(self) -> "Sink":
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stops accepting. The listening socket is shut down (which wakes a
        blocked accept) and closed only after the accepting thread has ended:
        closed first, its descriptor number could go to the next test's sink
        while this thread is about to accept on it, and this sink would then
        answer one of that sink's connections."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        acceptor = getattr(self, "_acceptor", None)
        if acceptor is not None:
            acceptor.join(timeout=10)
        try:
            self.sock.close()
        except OSError:
            pass

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    last = [t[-6:] for t in self.transcripts[-3:]]
                    raise AssertionError(f"sink on port {self.port} got {len(self.messages)} messages, expected {n}; "
                                         f"{len(self.transcripts)} sessions ended, the last ones: {last}; "
                                         f"still open: {[t.transcript for t in self.open_sessions]}")
                self.cond.wait(left)
            return list(self.messages)

    def close_sessions(self) -> None:
        """Hangs up on every session still open, without a reply."""
        with self.cond:
            sessions = list(self.open_sessions)
        for s in sessions:
            try:
                s.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wait_data_ends(self, n: int, timeout: float = 15.0) -> None:
        """Waits until the end of DATA (the final ".") has arrived `n` times."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.data_ends < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"sink on port {self.port} saw the end of DATA {self.data_ends} times, expected {n}")
                self.cond.wait(left)

    # --- serving --------------------------------------------------------
    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        s = _Session(self, conn)
        with self.cond:
            s.index = self.sessions
            self.sessions += 1
            self.open_sessions.append(s)
            self.max_open = max(self.max_open, len(self.open_sessions))
        try:
            s.run()
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with self.cond:
                self.open_sessions.remove(s)
                self.transcripts.append(s.transcript)
                self.cond.notify_all()
            try:
                s.conn.close()
            except OSError:
                pass


class _Session:
    def __init__(self, sink: Sink, conn: socket.socket):
        self.sink, self.conn = sink, conn
        self.conn.settimeout(30)
        self.buf = b""
        self.transcript: list[str] = []
        self.tls = False
        self.auth: str | None = None
        self.helo = ""
        self.msg: Received | None = None
        self.index = -1

    def send(self, code: int, text: str, more: list[str] | None = None) -> None:
        lines = (more or [])
        out = "".join(f"{code}-{l}\r\n" for l in [text] + lines[:-1]) if lines else ""
        last = lines[-1] if lines else text
        out += f"{code} {last}\r\n"
        self.transcript.append("S: " + out.strip())
        self.conn.sendall(out.encode())

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            chunk = self.conn.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        self.transcript.append("C: " + line.decode("utf-8", "replace"))
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise OSError("eof in BDAT")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def run(self) -> None:
        if self.sink.implicit_tls:
            self.conn = self.sink.tls_context.wrap_socket(self.conn, server_side=True)
            self.tls = True
        self.send(*self.sink.greeting)
        while True:
            line = self.line()
            if line is None:
                return
            verb, _, arg = line.decode("utf-8", "replace").partition(" ")
            handler = getattr(self, "cmd_" + verb.upper(), None)
            if handler is None:
                self.send(502, "5.5.2 unknown command")
            elif handler(arg) == "quit":
                return

    def cmd_EHLO(self, arg: str) -> None:
        self.helo = arg
        caps = [c for c in self.sink.capabilities if not (self.tls and c == "STARTTLS")]
        if "STARTTLS" in caps and not self.sink.tls_context:
            caps.remove("STARTTLS")
        self.send(250, "sink.test", caps + ["HELP"] if caps else None)

    def cmd_HELO(self, arg: str) -> None:
        self.helo = arg
        self.send(250, "sink.test")

    def cmd_STARTTLS(self, arg: str) -> None:
        if not self.sink.tls_context or self.tls:
            return self.send(502, "5.5.1 no")
        if self.buf:
            self.sink.injected = True
            self.buf = b""
        self.send(220, "2.0.0 go ahead")
        self.conn = self.sink.tls_context.wrap_socket(self.conn, server_side=True)
        self.tls = True
        self.helo = ""

    def cmd_AUTH(self, arg: str) -> None:
        mech, _, initial = arg.partition(" ")
        if mech.upper() == "PLAIN":
            if not initial:
                self.send(334, "")
                initial = (self.line() or b"").decode()
            try:
                _, user, pw = base64.b64decode(initial).decode().split("\0")
            except ValueError:
                return self.send(501, "5.5.2 bad")
        elif mech.upper() == "LOGIN":
            self.send(334, "VXNlcm5hbWU6")
            user = base64.b64decode(self.line() or b"").decode()
            self.send(334, "UGFzc3dvcmQ6")
            pw = base64.b64decode(self.line() or b"").decode()
        else:
            return self.send(504, "5.5.4 unknown mechanism")
        if self.sink.users.get(user) == pw:
            self.auth = user
            self.send(235, "2.7.0 ok")
        else:
            self.send(535, "5.7.8 bad credentials")

    def cmd_MAIL(self, arg: str) -> None:
        if self.sink.require_auth and not self.auth:
            return self.send(530, "5.7.0 authentication required")
        addr, _, params = arg[5:].partition(">")
        self.msg = Received(helo=self.helo, mail_from=addr.lstrip("<"), mail_params=params.strip(), tls=self.tls, auth=self.auth,
                            peer=self.conn.getpeername()[0], session=self.index)
        self.send(250, "2.1.0 ok")

    def cmd_RCPT(self, arg: str) -> None:
        if not self.msg:
            return self.send(503, "5.5.1 MAIL first")
        addr, _, params = arg[3:].partition(">")
        addr = addr.lstrip("<")
        n = self.sink.rcpt_attempts.get(addr, 0) + 1
        self.sink.rcpt_attempts[addr] = n
        override = self.sink.rcpt_reply(addr, n)
        if override:
            return self.send(*override)
        self.msg.rcpts.append(addr)
        self.msg.rcpt_params.append(params.strip())
        self.send(250, "2.1.5 ok")

    def cmd_DATA(self, arg: str) -> None:
        if not self.msg or not self.msg.rcpts:
            return self.send(554, "5.5.1 no valid recipients")
        self.send(354, "go ahead")
        raw, self.buf = self.buf, b""
        while b"\r\n.\r\n" not in b"\r\n" + raw:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise OSError("eof in DATA")
            raw += chunk
        data = b"\r\n" + raw
        end = data.index(b"\r\n.\r\n")
        body_wire = data[2:end + 2]
        self.buf = data[end + 5:]
        self.msg.raw = body_wire
        lines = body_wire.split(b"\r\n")
        self.msg.body = b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)
        with self.sink.cond:
            self.sink.data_ends += 1
            self.sink.cond.notify_all()
        self._hold_reply(self.sink.data_delay)
        self._finish()

    def cmd_BDAT(self, arg: str) -> None:
        parts = arg.split()
        n, last = int(parts[0]), len(parts) > 1 and parts[1].upper() == "LAST"
        chunk = self.exact(n)
        if not self.msg or not self.msg.rcpts:
            return self.send(503, "5.5.1 no valid recipients")
        self.msg.bdat = True
        self.msg.raw += chunk
        if not last:
            return self.send(250, f"2.0.0 {n} octets")
        self.msg.body = self.msg.raw
        self._finish()

    def _finish(self) -> None:
        msg, self.msg = self.msg, None
        override = self.sink.data_reply(msg)
        if override:
            return self.send(*override)
        with self.sink.cond:
            self.sink.messages.append(msg)
            self.sink.cond.notify_all()
        self.send(250, "2.0.0 queued as sink")

    def _hold_reply(self, seconds: float) -> None:
        """Waits `seconds`; raises OSError if the client closes the connection meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if isinstance(self.conn, ssl.SSLSocket):
                time.sleep(min(left, 0.1))
                continue
            readable, _, _ = select.select([self.conn], [], [], min(left, 0.1))
            if readable:
                if not self.conn.recv(1, socket.MSG_PEEK):
                    raise OSError("the client left while waiting for the reply to DATA")
                time.sleep(min(left, 0.1))

    def cmd_RSET(self, arg: str) -> None:
        self.msg = None
        self.send(250, "2.0.0 ok")

    def cmd_NOOP(self, arg: str) -> None:
        self.send(250, "2.0.0 ok")

    def cmd_QUIT(self, arg: str) -> str:
        self.send(221, "2.0.0 bye")
        return "quit"
