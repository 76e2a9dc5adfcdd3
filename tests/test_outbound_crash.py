"""Crash safety of the outbound queue (issue 5 item 6, SPEC M3): the server is
killed with SIGKILL at random moments while it delivers to a sink; after each
restart it must deliver every accepted recipient at least once, and never
again one that the sink acknowledged and whose status was committed.

ITERATIONS (default 50) kill/restart cycles; bench/outbound-crash.sh runs more."""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter

import pytest

from dns_server import DnsServer
from harness import wait_until
from outbound import outbound_config, queue_lines, submit, wait_queue_empty
from smtp_sink import Sink

ITERATIONS = int(os.environ.get("CRASH_ITERATIONS", "50"))
DOMAINS = ["one.example", "two.example", "three.example"]


def delivered_counts(sink: Sink) -> Counter:
    with sink.cond:
        return Counter(r for m in sink.messages for r in m.rcpts)


def still_active(server) -> set[str]:
    """Recipients the queue will still try (pending or deferred), read while the server is down."""
    active = set()
    for line in queue_lines(server).splitlines():
        m = re.match(r"^\s+(\S+)\s+(pending|deferred)\s", line)
        if m:
            active.add(m.group(1))
    return active


def test_kill_during_delivery_loses_nothing_and_repeats_nothing_committed(make_server):
    rng = random.Random(int(os.environ.get("CRASH_SEED", "5")))
    dns = DnsServer()
    dns.start()
    sink = Sink(capabilities=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"])
    sink.data_reply = lambda msg: time.sleep(0.005)  # widen the window between ack and record
    sink.start()
    try:
        for d in DOMAINS:
            dns.mx(d, [(10, "mx." + d)])
            dns.a("mx." + d, "127.0.0.1")
        server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.max_per_domain": "2"}))
        submitted: list[str] = []
        committed_at_kill: dict[str, int] = {}
        interrupted = 0
        for it in range(ITERATIONS):
            if it:
                server.start()
            for m in range(3):
                rcpts = [f"i{it}m{m}r{j}@{DOMAINS[(m + j) % 3]}" for j in range(3)]
                submit(server, rcpts)
                submitted += rcpts
            time.sleep(rng.uniform(0, 0.15))  # the random moment of the crash is the point of the test
            server.kill()
            counts = delivered_counts(sink)
            active = still_active(server)
            interrupted += bool(active)
            for r in submitted:
                if r not in active:
                    # Committed as delivered: the sink has it, and nothing may add to its count.
                    assert counts[r] >= 1, f"{r} left the queue without reaching the sink"
                    committed_at_kill.setdefault(r, counts[r])
        server.start()
        wait_queue_empty(server, timeout=60)
        counts = delivered_counts(sink)
        lost = [r for r in submitted if counts[r] == 0]
        assert not lost, f"never delivered: {lost[:10]}"
        repeated = {r: (n, counts[r]) for r, n in committed_at_kill.items() if counts[r] != n}
        assert not repeated, f"delivered again after their status was committed: {repeated}"
        dupes = sum(n - 1 for n in counts.values() if n > 1)
        print(f"{len(submitted)} recipients, {ITERATIONS} kills ({interrupted} with deliveries outstanding), "
              f"{dupes} repeated deliveries of uncommitted acknowledgements")
        assert interrupted >= ITERATIONS // 3, "the kills should land while delivery is going on"
    finally:
        sink.stop()
        dns.stop()
