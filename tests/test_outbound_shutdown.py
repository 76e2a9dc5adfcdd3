"""Outbound delivery at shutdown: SIGTERM lets a delivery in flight finish and
record its result within the shutdown grace period (so it is not sent again
after restart); a delivery still going at the end of the grace period is
abandoned, logged, and delivered after restart."""

from __future__ import annotations

import re
import time

import pytest

from harness import wait_until
from outbound import dns, sink, REMOTE, outbound_config, queue_lines, submit, wait_queue_empty  # noqa: F401 (dns and sink are fixtures)
from smtp_sink import Sink

GRACE = 10.0  # SHUTDOWN_GRACE in crates/postern/src/serve/mod.rs


@pytest.fixture
def postern(make_server, dns, sink):
    return make_server(config=outbound_config(dns.address, sink.port))


def copies(sink: Sink, tok: str) -> int:
    with sink.cond:
        return sum(tok.encode() in m.body for m in sink.messages)


def sigterm(server) -> tuple[int | None, float]:
    """Stops the server with SIGTERM; returns its exit code and how long it took."""
    start = time.monotonic()
    code = server.stop(timeout=GRACE + 10)
    return code, time.monotonic() - start


def test_delivery_in_flight_finishes_and_is_not_sent_again(postern, sink):
    sink.data_delay = 2.0
    tok = submit(postern, f"carol@{REMOTE}")
    sink.wait_data_ends(1)
    code, took = sigterm(postern)
    assert code == 0
    assert took < GRACE, f"shutdown took {took:.1f}s"
    assert copies(sink, tok) == 1
    log = postern.log("mail.log")
    assert re.search(rf"event=outbound .*to=carol@{REMOTE} .*result=sent", log), log
    assert "delivery-abandoned" not in log
    assert "queue is empty" in queue_lines(postern), "the result was recorded before exit"

    sink.data_delay = 0.0
    postern.start()
    # Mail queued after the restart reaches the sink only after the scheduler's
    # first looks at the queue: had the first message still been due, it would
    # have gone too.
    marker = submit(postern, f"dave@{REMOTE}")
    wait_until(lambda: copies(sink, marker) == 1, 20, what="the marker message at the sink")
    wait_queue_empty(postern)
    assert copies(sink, tok) == 1, "delivered again after restart"


def test_delivery_past_the_grace_period_is_abandoned_and_retried(postern, sink):
    sink.data_delay = 30.0
    tok = submit(postern, f"carol@{REMOTE}")
    sink.wait_data_ends(1)
    code, took = sigterm(postern)
    assert code == 0
    assert GRACE - 1 < took < GRACE + 3, f"shutdown took {took:.1f}s"
    log = postern.log("mail.log")
    assert re.search(rf"event=delivery-abandoned domain={REMOTE} recipients=1\b", log), log
    assert "result=sent" not in log
    assert re.search(rf"carol@{REMOTE}\s+(pending|deferred)", queue_lines(postern)), queue_lines(postern)
    assert copies(sink, tok) == 0

    sink.data_delay = 0.0
    postern.start()
    wait_until(lambda: copies(sink, tok) >= 1, 20, what="the abandoned message at the sink")
    wait_queue_empty(postern)
    assert copies(sink, tok) == 1


def test_run_with_several_messages_stops_after_the_current_one(make_server, dns, sink):
    # One connection per domain, so B and C wait for A's run and then go together.
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.max_per_domain": "1"}))
    sink.data_delay = 5.0
    a = submit(server, f"a@{REMOTE}")
    sink.wait_data_ends(1)
    b = submit(server, f"b@{REMOTE}")
    c = submit(server, f"c@{REMOTE}")
    sink.data_delay = 2.0
    sink.wait_data_ends(2)  # B's end of DATA, on the run that also holds C
    code, took = sigterm(server)
    assert code == 0
    assert took < GRACE, f"shutdown took {took:.1f}s"
    assert [copies(sink, t) for t in (a, b, c)] == [1, 1, 0]
    # B and C's run may take A's cached connection (then one session carried A and B).
    wait_until(lambda: sink.transcripts and not sink.open_sessions, what="the sink sessions to end")
    last = sink.transcripts[-1]
    rcpts = [line for line in last if line.startswith("C: RCPT")]
    assert f"b@{REMOTE}" in rcpts[-1] and not any(f"c@{REMOTE}" in r for r in rcpts), last
    assert last[-2:] == ["C: QUIT", "S: 221 2.0.0 bye"], "finished B, then QUIT"
    assert re.search(rf"c@{REMOTE}\s+pending", queue_lines(server)), queue_lines(server)

    sink.data_delay = 0.0
    server.start()
    wait_until(lambda: copies(sink, c) == 1, 20, what="C at the sink after restart")
    wait_queue_empty(server)
    assert [copies(sink, t) for t in (a, b, c)] == [1, 1, 1]
