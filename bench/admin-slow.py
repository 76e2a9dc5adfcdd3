"""10,000 slow connections on the admin listener (issue 19, bad input):
each connects and sends the first bytes of a TLS ClientHello one every two
seconds, never finishing its handshake (slowloris on a TLS port). Measured
while they are held: how many the server keeps open (its admin connection
count and descriptors), how many it closes at once, its memory, and how
long a normal HTTPS request from another address takes (every half second).

Usage: python3 bench/admin-slow.py [N] [SOURCES] [SECONDS]
  N        slow connections (default 10,000)
  SOURCES  loopback addresses they come from, 127.0.1.1 on (default 1: all
           from one, so the per-IP limit bounds them; 200 puts 50 on each,
           every one admitted, so only the handshake timeout bounds them)
  SECONDS  how long they are held (default 20)
POSTERN_BIN: the binary to run. Prints the figures."""

from __future__ import annotations

import asyncio
import http.client
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from harness import ADMIN_LISTEN, NO_DNS, Postern, insecure_tls  # noqa: E402

# The first bytes of a TLS 1.2+ ClientHello record (handshake, version, length).
HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
TRICKLE_EVERY = 2.0


def normal_request_ms(host, port):
    t0 = time.perf_counter()
    c = http.client.HTTPSConnection(host, port, context=insecure_tls(), timeout=30, source_address=("127.0.0.2", 0))
    try:
        c.request("GET", "/api/v1/openapi.json")
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
    finally:
        c.close()
    return (time.perf_counter() - t0) * 1000


def admin_connections(host, port):
    c = http.client.HTTPSConnection(host, port, context=insecure_tls(), timeout=30, source_address=("127.0.0.2", 0))
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    line = next((l for l in text.splitlines() if l.startswith('postern_connections{service="admin"}')), "x 0")
    return int(line.split()[-1])


def server_figures(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmRSS:"))
    return rss // 1024, len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def slow_client(host, port, source, stats, until):
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    except OSError:
        stats["connect_failed"] += 1
        return
    stats["connected"] += 1
    start = time.monotonic()
    try:
        for i in range(len(HELLO)):
            writer.write(HELLO[i:i + 1])
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), TRICKLE_EVERY) == b"":
                    raise ConnectionResetError
            except asyncio.TimeoutError:
                pass
            if time.monotonic() > until:
                stats["held_to_end"] += 1
                return
        # All sent: wait for the server's verdict until the end.
        await asyncio.wait_for(reader.read(1), max(0.0, until - time.monotonic()))
        stats["closed"].append(time.monotonic() - start)
    except asyncio.TimeoutError:
        stats["held_to_end"] += 1
    except OSError:
        stats["closed"].append(time.monotonic() - start)
    finally:
        writer.close()


async def probe(host, port, until, latencies, held):
    loop = asyncio.get_running_loop()
    while time.monotonic() < until:
        latencies.append(await loop.run_in_executor(None, normal_request_ms, host, port))
        held.append(await loop.run_in_executor(None, admin_connections, host, port))
        await asyncio.sleep(0.5)


async def flood(host, port, n, sources, seconds, pid):
    stats = {"connected": 0, "connect_failed": 0, "held_to_end": 0, "closed": []}
    until = time.monotonic() + seconds
    latencies, held = [], []
    addrs = [f"127.0.1.{1 + i % 250}" if sources <= 250 else f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(sources)]
    t0 = time.monotonic()
    clients = [asyncio.create_task(slow_client(host, port, addrs[i % sources], stats, until)) for i in range(n)]
    prober = asyncio.create_task(probe(host, port, until, latencies, held))
    peak_rss = peak_fds = 0
    while time.monotonic() < until:
        rss, fds = server_figures(pid)
        peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, fds)
        await asyncio.sleep(0.5)
    await asyncio.gather(*clients, prober)
    closed = stats["closed"]
    at_once = sum(1 for t in closed if t < 1.0)
    print(f"{n} slow connections from {sources} address(es), held {seconds} s (opened in {time.monotonic() - t0 - seconds:.1f} s over the hold):")
    print(f"  connected {stats['connected']}, connect failed {stats['connect_failed']}")
    after = f", after median {statistics.median(closed):.1f} s, max {max(closed):.1f} s" if closed else ""
    print(f"  closed by the server: {len(closed)} ({at_once} within 1 s{after}), still open at the end: {stats['held_to_end']}")
    print(f"  server admin connections (metrics): max {max(held, default=0)}; peak descriptors {peak_fds}; peak RSS {peak_rss} MiB")
    if latencies:
        print(f"  normal request from 127.0.0.2: median {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms over {len(latencies)}")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    sources = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < n + 1024:
        sys.exit(f"the descriptor limit ({hard}) is too low for {n} connections")
    with tempfile.TemporaryDirectory() as tmp:
        server = Postern(Path(tmp))
        server.init()
        server.config_set("delivery.resolver", f'"{NO_DNS}"')
        server.start(ADMIN_LISTEN)
        try:
            host, port = server.addr("admin")
            rss, fds = server_figures(server.proc.pid)
            print(f"idle server: RSS {rss} MiB, {fds} descriptors; normal request {normal_request_ms(host, port):.0f} ms")
            asyncio.run(flood(host, port, n, sources, seconds, server.proc.pid))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
