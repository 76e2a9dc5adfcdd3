"""A small POP3 server (RFC 1939) for test_pop3_fetch.py that can misbehave:
it serves a list of messages (UIDL, LIST, RETR, DELE applied at QUIT) to any
USER/PASS, and can drop the connection in the middle of one RETR."""

from __future__ import annotations

import socket
import threading


class FakePop3:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        # uidl -> message bytes (CRLF lines), in order.
        self.messages: dict[str, bytes] = {}
        # The UIDL whose RETR is cut in half, with the connection closed; once.
        self.drop_in_retr: str | None = None
        self.commands: list[str] = []
        self.sessions = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped = True
        self.sock.close()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        with self.lock:
            self.sessions += 1
            snapshot = list(self.messages.items())
        deleted: set[int] = set()
        f = conn.makefile("rb")

        def send(data: bytes):
            conn.sendall(data)

        try:
            send(b"+OK fake POP3 ready\r\n")
            for raw in f:
                line = raw.decode().rstrip("\r\n")
                with self.lock:
                    self.commands.append(line)
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb in ("USER", "PASS", "NOOP"):
                    send(b"+OK\r\n")
                elif verb == "UIDL":
                    body = b"".join(f"{i} {u}\r\n".encode() for i, (u, _) in enumerate(snapshot, 1) if i not in deleted)
                    send(b"+OK\r\n" + body + b".\r\n")
                elif verb == "LIST":
                    body = b"".join(f"{i} {len(m)}\r\n".encode() for i, (_, m) in enumerate(snapshot, 1) if i not in deleted)
                    send(b"+OK\r\n" + body + b".\r\n")
                elif verb == "RETR":
                    n = int(arg)
                    uidl, msg = snapshot[n - 1]
                    stuffed = b"".join((b"." + l if l.startswith(b".") else l) for l in msg.splitlines(keepends=True))
                    with self.lock:
                        drop = self.drop_in_retr == uidl
                        if drop:
                            self.drop_in_retr = None
                    if drop:
                        send(b"+OK message follows\r\n" + stuffed[: len(stuffed) // 2])
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    send(b"+OK message follows\r\n" + stuffed + b".\r\n")
                elif verb == "DELE":
                    deleted.add(int(arg))
                    send(b"+OK marked\r\n")
                elif verb == "QUIT":
                    # RFC 1939 §6: the UPDATE state, only after QUIT.
                    with self.lock:
                        for i in deleted:
                            self.messages.pop(snapshot[i - 1][0], None)
                    send(b"+OK bye\r\n")
                    return
                else:
                    send(b"-ERR unknown command\r\n")
        except OSError:
            pass
        finally:
            conn.close()
