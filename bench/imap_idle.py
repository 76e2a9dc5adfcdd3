#!/usr/bin/env python3
"""Idle IMAPS sessions for bench/imap-idle.sh (Python standard library only).

  imap_idle.py --port P --sessions N [--users U] [--hold-fifo F]

Opens N sessions over implicit TLS (no certificate check: loopback,
self-signed), each logged in (user1..userU in turn), INBOX selected and in
IDLE; then prints one JSON line (sessions up, seconds to open them, errors),
times one more login while they all are connected (prints a second JSON line
with its seconds), and holds the sessions until stdin closes or a line comes.
"""

import argparse
import asyncio
import json
import ssl
import sys
import time

PASSWORD = "Load-Test-Pass-1"
DOMAIN = "bench.test"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def expect(reader, tag: bytes) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise EOFError("connection closed")
        if line.startswith(tag):
            if tag[-1:] != b" " and not line.startswith(tag + b" OK"):
                raise RuntimeError(line.decode(errors="replace").strip())
            return line


async def session(port, user, ctx, idle=True):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="mx.test")
    await expect(reader, b"* OK ")
    writer.write(f'a LOGIN "{user}@{DOMAIN}" "{PASSWORD}"\r\n'.encode())
    await expect(reader, b"a")
    writer.write(b"b SELECT INBOX\r\n")
    await expect(reader, b"b")
    if idle:
        writer.write(b"c IDLE\r\n")
        await expect(reader, b"+ ")
    return reader, writer


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, required=True)
    ap.add_argument("--users", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=50, help="sessions being opened at once")
    a = ap.parse_args()
    ctx = tls_context()
    held, errors = [], []
    gate = asyncio.Semaphore(a.parallel)

    async def one(i):
        async with gate:
            try:
                held.append(await session(a.port, f"user{i % a.users + 1}", ctx))
            except Exception as e:  # noqa: BLE001 - counted and reported
                errors.append(repr(e))

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(a.sessions)))
    up = time.monotonic() - t0
    print(json.dumps({"sessions": len(held), "seconds": round(up, 2), "errors": len(errors),
                      "error_samples": errors[:3]}), flush=True)
    # Responsiveness: one more login (and SELECT) while they are all connected.
    t0 = time.monotonic()
    try:
        _, w = await asyncio.wait_for(session(a.port, "user1", ctx, idle=False), 30)
        w.close()
        login = round(time.monotonic() - t0, 3)
    except Exception as e:  # noqa: BLE001
        login = repr(e)
    print(json.dumps({"new_login_seconds": login}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for _, w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
