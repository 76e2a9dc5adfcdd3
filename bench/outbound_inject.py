#!/usr/bin/env python3
"""Load generator of bench/outbound.sh: submits MESSAGES messages, each to one
recipient out of r0..r{L-1} @ d0..d{D-1}.example, over THREADS persistent SMTP
sessions (STARTTLS, then AUTH PLAIN when a user is given). Message k goes to
r{(k // D) % L}@d{k % D}.example, so consecutive messages cycle through the
domains and every address gets the same share. The messages are the same bytes
whatever the server: a fixed header block and a body of SIZE_KB KiB of text, with
the message number in the Subject and Message-ID.

Standard library only. Prints one JSON line: {"sent": N, "failed": N,
"seconds": S, "errors": [first few]}; the exit status is 0 when every message got
a 250 after DATA."""

from __future__ import annotations

import argparse
import json
import smtplib
import ssl
import sys
import threading
import time

LINE = "The quick brown fox jumps over the lazy dog while the queue drains. 0123456789\r\n"  # 80 octets


def body(size: int) -> str:
    n = max(1, size // len(LINE))
    return LINE * n


def message(k: int, sender: str, rcpt: str, text: str) -> bytes:
    return (
        f"From: Bench Sender <{sender}>\r\n"
        f"To: <{rcpt}>\r\n"
        f"Subject: outbound benchmark message {k}\r\n"
        f"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        f"Message-ID: <bench-{k}@bench.test>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n"
        f"\r\n{text}"
    ).encode("ascii")


def recipient(k: int, domains: int, locals_: int) -> str:
    return f"r{(k // domains) % locals_}@d{k % domains}.example"


class Injector:
    def __init__(self, args: argparse.Namespace):
        self.a = args
        self.text = body(args.size_kb * 1024)
        self.lock = threading.Lock()
        self.sent = 0
        self.failed = 0
        self.errors: list[str] = []
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    def connect(self) -> smtplib.SMTP:
        a = self.a
        s = smtplib.SMTP(a.host, a.port, local_hostname="client.bench.test", timeout=120)
        s.ehlo()
        if a.starttls:
            s.starttls(context=self.tls)
            s.ehlo()
        if a.user:
            s.login(a.user, a.password)
        return s

    def error(self, what: str) -> None:
        with self.lock:
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(what)

    def worker(self, ks: range) -> None:
        a = self.a
        s = None
        for k in ks:
            rcpt = recipient(k, a.domains, a.locals)
            for attempt in (1, 2):
                try:
                    if s is None:
                        s = self.connect()
                    refused = s.sendmail(a.sender, [rcpt], message(k, a.sender, rcpt, self.text))
                    if refused:
                        self.error(f"message {k}: refused {refused}")
                    else:
                        with self.lock:
                            self.sent += 1
                    break
                except (smtplib.SMTPServerDisconnected, ConnectionError, OSError) as e:
                    # A dropped session: reconnect once for this message.
                    s = None
                    if attempt == 2:
                        self.error(f"message {k}: {type(e).__name__}: {e}")
                except smtplib.SMTPException as e:
                    self.error(f"message {k}: {type(e).__name__}: {e}")
                    try:
                        s.rset()
                    except Exception:
                        s = None
                    break
        if s is not None:
            try:
                s.quit()
            except Exception:
                pass

    def run(self) -> dict:
        a = self.a
        threads = [threading.Thread(target=self.worker, args=(range(t, a.messages, a.threads),))
                   for t in range(a.threads)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {"sent": self.sent, "failed": self.failed, "seconds": round(time.monotonic() - t0, 3),
                "errors": self.errors}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password-file", help="file whose first line is the password (with --user)")
    p.add_argument("--sender", required=True)
    p.add_argument("--messages", type=int, default=10000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--size-kb", type=int, default=5)
    p.add_argument("--domains", type=int, default=10)
    p.add_argument("--locals", type=int, default=10)
    p.add_argument("--list", action="store_true", help="print the recipient of every message and exit")
    a = p.parse_args()
    a.password = None
    if a.user:
        with open(a.password_file) as f:
            a.password = f.readline().rstrip("\n")
    if a.list:
        for k in range(a.messages):
            print(recipient(k, a.domains, a.locals))
        return 0
    a.threads = max(1, min(a.threads, a.messages))
    result = Injector(a).run()
    print(json.dumps(result))
    return 0 if result["sent"] == a.messages and result["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
