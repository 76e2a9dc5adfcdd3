"""Outbound connection limits and `queue show` (issue 22 item 6):
`delivery.max_connections`, `delivery.max_per_domain` and
`delivery.max_messages_per_connection`, measured at the receiving sink while
a backlog of due mail goes out at once."""

from __future__ import annotations

import re
from collections import Counter

from harness import ALICE, wait_until
from outbound import dns, sink, REMOTE, outbound_config, queue_id_of, queue_lines, submit, wait_queue_empty  # noqa: F401 (fixtures)

DOMAINS = [REMOTE, "two.example", "three.example"]


def backlog(make_server, dns, sink, rcpts: list[str], data_delay: float, **limits: str):
    """A server with one message per recipient, all refused once with 451 and so
    deferred for an hour, then made due together by `queue retry --all`: a
    backlog, as after an outage. Returns the server once the retry was asked."""
    for d in DOMAINS[1:]:
        dns.mx(d, [(10, "mx1." + REMOTE)])
    sink.rcpt_reply = lambda rcpt, n: (451, "4.3.0 not yet") if n == 1 else None
    config = outbound_config(dns.address, sink.port, **{"delivery.retry": '["1h"]', "delivery.connection_cache_time": '"0s"'}, **limits)
    server = make_server(config=config)
    for r in rcpts:
        submit(server, r)
    wait_until(lambda: queue_lines(server).count(" deferred ") == len(rcpts), 20, what=f"{len(rcpts)} deferrals")
    wait_until(lambda: not sink.open_sessions, 10, what="the deferring sessions to end")
    with sink.cond:
        sink.max_open = 0
        first = sink.sessions
    sink.data_delay = data_delay
    server.cli("queue", "retry", "--all")
    sink.wait_for(len(rcpts), timeout=60)
    wait_queue_empty(server)
    return server, first


def test_max_messages_per_connection(make_server, dns, sink):
    rcpts = [f"m{i}@{REMOTE}" for i in range(5)]
    backlog(make_server, dns, sink, rcpts, 0.0, **{"delivery.max_per_domain": "1", "delivery.max_messages_per_connection": "2"})
    per_session = Counter(m.session for m in sink.messages)
    # One connection at a time: 2 + 2 + 1 (the default of 100 would carry all 5 in one).
    assert sorted(per_session.values()) == [1, 2, 2], per_session


def test_max_per_domain(make_server, dns, sink):
    rcpts = [f"d{i}@{REMOTE}" for i in range(6)]
    backlog(make_server, dns, sink, rcpts, 0.5, **{"delivery.max_per_domain": "2", "delivery.max_messages_per_connection": "1"})
    # Six due messages, one per connection, each held 0.5 s: two at a time, never three.
    assert sink.max_open == 2, f"{sink.max_open} connections at once to {REMOTE}"


def test_max_connections_across_domains(make_server, dns, sink):
    rcpts = [f"c{i}@{d}" for i in range(2) for d in DOMAINS]
    backlog(make_server, dns, sink, rcpts, 0.5, **{"delivery.max_connections": "2", "delivery.max_messages_per_connection": "1"})
    assert sink.max_open == 2, f"{sink.max_open} connections at once in total"


def test_queue_show(make_server, dns, sink):
    sink.rcpt_reply = lambda rcpt, n: (451, "4.3.0 not yet")
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.retry": '["1h"]'}))
    submit(server, [f"one@{REMOTE}", f"two@{REMOTE}"])
    wait_until(lambda: queue_lines(server).count(" deferred ") == 2, 15, what="two deferrals")
    qid = queue_id_of(server)
    lines = server.cli("queue", "show", qid).stdout.splitlines()
    assert re.fullmatch(rf"{qid}  \d+s  \d+(\.\d+)? ?[kK]?B?  <{re.escape(ALICE)}>", lines[0]), lines
    for line, rcpt in zip(lines[1:3], ("one", "two")):
        assert re.fullmatch(rf"    {rcpt}@{REMOTE}  deferred  attempts=1  next=(59m|1h)  last_error=451 4.3.0 not yet", line), lines
    # The body is the store's, opened by id (issue 14): its size, never a path.
    assert len(lines) == 4 and re.fullmatch(r"body: [1-9]\d* octets", lines[3]), lines
    missing = server.cli("queue", "show", "0" * len(qid), check=False)
    assert missing.returncode != 0 and f"queue entry {'0' * len(qid)} does not exist" in missing.stderr, missing
    bad = server.cli("queue", "show", "not-an-id", check=False)
    assert bad.returncode != 0 and "`not-an-id` is not a queue id (hexadecimal)" in bad.stderr, bad
