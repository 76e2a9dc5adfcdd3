#!/usr/bin/env python3
"""Login timing probe for bench/auth-timing.sh (issue 6 item 4: an unknown user
and a wrong password must get the same reply and take the same time).

Over IMAPS, each sample is one failed login on a fresh connection's second
half: every connection does one "unknown user" and one "wrong password" login
(two failures, under the session's limit of three), in alternating order, so
both kinds see the same connection state and the same position. Only the
command is timed: from sending it to reading its tagged reply. The verdict is
on the median of the per-connection differences and its 95 % confidence
interval, in milliseconds: a ratio of two ~1 s times cannot see the 30-45 ms
of a skipped Argon2 hash. Python standard library only. Prints a JSON object
on stdout."""

from __future__ import annotations

import argparse
import base64
import json
import math
import socket
import ssl
import statistics
import sys
import time


def connect(host: str, port: int, timeout: float) -> ssl.SSLSocket:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = ctx.wrap_socket(socket.create_connection((host, port), timeout=timeout), server_hostname=host)
    return sock


class Lines:
    def __init__(self, sock: ssl.SSLSocket):
        self.sock, self.buf = sock, b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(f"connection closed; unread {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def tagged(self, tag: bytes) -> bytes:
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return line[len(tag) + 1 :]


def quoted(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(mode: str, tag: str, user: str, password: str) -> bytes:
    if mode == "login":
        return f"{tag} LOGIN {quoted(user)} {quoted(password)}\r\n".encode()
    # AUTHENTICATE PLAIN with SASL-IR (RFC 4959): one round trip like LOGIN.
    ir = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    return f"{tag} AUTHENTICATE PLAIN {ir}\r\n".encode()


def timed(conn: Lines, mode: str, tag: str, user: str, password: str) -> tuple[float, bytes]:
    data = command(mode, tag, user, password)
    t0 = time.perf_counter()
    conn.sock.sendall(data)
    reply = conn.tagged(tag.encode())
    return time.perf_counter() - t0, reply


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def median_ci95(values: list[float]) -> tuple[float, float]:
    """A distribution-free 95 % confidence interval of the median: the order
    statistics whose ranks the binomial(n, 1/2) law puts 1.96 standard
    deviations either side of n/2 (normal approximation; n >= 10)."""
    s = sorted(values)
    n = len(s)
    half = 1.96 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half) - 1)
    return s[lo], s[hi]


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(pct(ms, 90), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True, help="an existing account")
    ap.add_argument("--unknown", required=True, help="an address with no account")
    ap.add_argument("--samples", type=int, default=100, help="samples of each kind")
    ap.add_argument("--mode", choices=("login", "plain"), default="login")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    times: dict[str, list[float]] = {"unknown": [], "wrong": []}
    # unknown minus wrong on the same connection: the pair shares the
    # connection's state and the host's load of that moment, so the
    # difference is far less noisy than either time.
    paired: list[float] = []
    replies: dict[str, set[bytes]] = {"unknown": set(), "wrong": set()}
    attempts = {"unknown": (a.unknown, "Wrong-Pass-1"), "wrong": (a.user, "Wrong-Pass-1")}
    for i in range(a.samples):
        order = ("unknown", "wrong") if i % 2 == 0 else ("wrong", "unknown")
        conn = Lines(connect(a.host, a.port, a.timeout))
        conn.line()  # greeting
        for n, kind in enumerate(order):
            elapsed, reply = timed(conn, a.mode, f"t{n}", *attempts[kind])
            if not reply.startswith(b"NO"):
                print(f"unexpected reply to a failed login ({kind}): {reply!r}", file=sys.stderr)
                return 1
            times[kind].append(elapsed)
            replies[kind].add(reply)
        conn.sock.close()
        paired.append(times["unknown"][-1] - times["wrong"][-1])
        if (i + 1) % 10 == 0:
            print(f"  {i + 1}/{a.samples} pairs", file=sys.stderr)

    u, w = summary(times["unknown"]), summary(times["wrong"])
    out = {
        "mode": a.mode,
        "samples": a.samples,
        "unknown_user": u,
        "wrong_password": w,
        "ratio_median": round(u["median_ms"] / w["median_ms"], 4),
        "ratio_p90": round(u["p90_ms"] / w["p90_ms"], 4),
        "diff_median_ms": round(u["median_ms"] - w["median_ms"], 2),
        "paired_diff_median_ms": round(statistics.median(paired) * 1000, 2),
        "paired_diff_ci95_ms": [round(x * 1000, 2) for x in median_ci95(paired)],
        "same_reply": replies["unknown"] == replies["wrong"] and len(replies["unknown"]) == 1,
        "replies": sorted(r.decode("utf-8", "replace") for r in replies["unknown"] | replies["wrong"]),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
