"""Outbound connection caching: a delivery run that runs out of messages leaves
its connection open (delivery.connection_cache_time) and the next run to the same
server takes it, after an RSET; a connection the server closed meanwhile is
replaced by a fresh one without a failed attempt; shutdown closes it with QUIT."""

from __future__ import annotations

import re

import pytest

from harness import wait_until
from outbound import dns, sink, REMOTE, outbound_config, submit, wait_queue_empty  # noqa: F401 (dns and sink are fixtures)

# Long enough for the second submission (an AUTH with Argon2 in a debug build)
# to come while the first connection waits.
CACHE_TIME = '"30s"'


@pytest.fixture
def postern(make_server, dns, sink):
    return make_server(config=outbound_config(dns.address, sink.port, **{"delivery.connection_cache_time": CACHE_TIME}))


def mail_log_results(server) -> list[str]:
    return re.findall(r"event=outbound .*?result=(\w+)", server.log("mail.log"))


def wait_sent(server, n: int) -> None:
    """Until the log shows `n` deliveries (it is written just after the queue's record)."""
    wait_until(lambda: len(mail_log_results(server)) >= n, what=f"{n} outbound log lines")
    assert mail_log_results(server) == ["sent"] * n


def test_two_messages_one_after_the_other_go_over_one_session(postern, sink):
    submit(postern, f"carol@{REMOTE}")
    first = sink.wait_for(1)[0]
    wait_queue_empty(postern)
    submit(postern, f"dave@{REMOTE}")
    second = sink.wait_for(2)[1]
    assert second.rcpts == [f"dave@{REMOTE}"]
    assert second.session == first.session, "the second message reused the first one's connection"
    assert sink.sessions == 1
    wait_queue_empty(postern)
    wait_sent(postern, 2)

    # At shutdown the waiting connection is closed politely.
    assert postern.stop() == 0
    wait_until(lambda: len(sink.transcripts) == 1, what="the cached session to end")
    t = sink.transcripts[0]
    assert sum(line.startswith("C: EHLO") for line in t) == 1, t
    assert sum(line.startswith("C: MAIL") for line in t) == 2, t
    mails = [i for i, line in enumerate(t) if line.startswith("C: MAIL")]
    assert "C: RSET" in t[mails[0]:mails[1]], "RSET checked the connection before the second message"
    assert t[-2:] == ["C: QUIT", "S: 221 2.0.0 bye"], t


def test_a_connection_the_server_closed_is_replaced_transparently(postern, sink):
    submit(postern, f"carol@{REMOTE}")
    first = sink.wait_for(1)[0]
    wait_queue_empty(postern)
    sink.close_sessions()
    wait_until(lambda: len(sink.transcripts) == 1, what="the sink to hang up")
    submit(postern, f"dave@{REMOTE}")
    second = sink.wait_for(2)[1]
    assert second.rcpts == [f"dave@{REMOTE}"]
    assert second.session != first.session, "a fresh connection"
    wait_queue_empty(postern)
    wait_sent(postern, 2)  # and no deferral for the dead connection
    assert "deferred" not in postern.cli("queue", "list").stdout


def test_caching_off_closes_each_connection(make_server, dns, sink):
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.connection_cache_time": '"0s"'}))
    submit(server, f"carol@{REMOTE}")
    sink.wait_for(1)
    wait_until(lambda: len(sink.transcripts) == 1, what="the session to end at once")
    assert sink.transcripts[0][-2:] == ["C: QUIT", "S: 221 2.0.0 bye"]
    submit(server, f"dave@{REMOTE}")
    got = sink.wait_for(2)
    assert got[0].session != got[1].session
