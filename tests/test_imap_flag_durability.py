"""Flag changes and expunges are made durable within a second, not before
their reply (issue 18 item 2; crates/store/src/lazy_sync.rs). An fsync per
STORE and EXPUNGE, taken under the one write connection, serialised every
IMAP session. What a crash can lose: the last second of flag changes and
expunges, never a message (APPEND keeps its fsyncs, test_durability.py).

strace follows the server: STORE's OK goes out with no fsync of the
database's WAL before it, the WAL is fsync'd within LAZY_SYNC_DELAY after,
and an expunged message's body is unlinked only after that fsync (so a
crash never leaves a row whose body is gone)."""

from __future__ import annotations

import imaplib
import re
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, make_message, token, wait_until
from test_durability import INLINE_MAX, NO_TLS_NEEDED, PLAIN_IMAP, completed_calls, strace  # noqa: F401

# crates/store/src/lazy_sync.rs LAZY_SYNC_DELAY (0.5 s), with room for a loaded host.
SYNCED_WITHIN = 5.0


def is_socket_write(call: str, text: str) -> bool:
    return bool(re.match(r"(sendto|write|writev|sendmsg)\(\d+<(socket|TCP)", call)) and text in call


def wal_syncs(calls: list[str], wal: str) -> list[int]:
    return [i for i, c in enumerate(calls) if re.match(rf"(fsync|fdatasync)\(\d+<{re.escape(wal)}>\) = 0$", c)]


@pytest.fixture
def session(make_server):
    server = make_server(config=NO_TLS_NEEDED, listen=PLAIN_IMAP)
    c = imaplib.IMAP4(*server.addr("imap"), timeout=IO_TIMEOUT)
    c.login(ALICE, ALICE_PASSWORD)
    # Bodies above INLINE_MAX, so each has a file of its own for an expunge
    # to unlink (a smaller one is kept in the database: its row goes with
    # the expunge's transaction, crates/store/src/inline.rs).
    body = ("z" * 78 + "\r\n") * (INLINE_MAX // 80 + 10)
    for _ in range(2):
        typ, data = c.append("INBOX", None, None, make_message(token(), body=body))
        assert typ == "OK", data
    typ, _ = c.select("INBOX")
    assert typ == "OK"
    yield server, c
    c.logout()


def test_store_ok_comes_before_the_wal_fsync_which_follows_within_the_delay(session, strace):
    server, c = session
    wal = str(server.data / "db" / "postern.db-wal")
    finish = strace(server.pid)
    typ, data = c.store("1", "+FLAGS", "(\\Flagged)")
    assert typ == "OK", data
    sent = time.monotonic()
    # The flusher's fsync shows in the trace once it is done; give it the delay.
    time.sleep(SYNCED_WITHIN)
    calls = completed_calls(finish())
    ok = next(i for i, call in enumerate(calls) if is_socket_write(call, "OK STORE completed"))
    syncs = wal_syncs(calls, wal)
    assert not [i for i in syncs if i < ok], "STORE waited for an fsync of the WAL"
    assert [i for i in syncs if i > ok], f"the WAL was not fsync'd within {SYNCED_WITHIN}s of STORE's OK"
    assert time.monotonic() - sent >= SYNCED_WITHIN


def test_expunged_body_is_unlinked_only_after_the_wal_fsync(session, strace):
    server, c = session
    wal = str(server.data / "db" / "postern.db-wal")
    blobs = str(server.data / "blobs")
    finish = strace(server.pid, extra="unlink,unlinkat")
    c.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = c.expunge()
    assert typ == "OK", data
    blob_files = lambda: [p for p in (server.data / "blobs").rglob("*") if p.is_file()]  # noqa: E731
    wait_until(lambda: len(blob_files()) == 1, timeout=SYNCED_WITHIN, what="the expunged body unlinked")
    calls = completed_calls(finish())
    ok = next(i for i, call in enumerate(calls) if is_socket_write(call, "OK EXPUNGE completed"))
    unlink = next(i for i, call in enumerate(calls) if re.match(r"unlink(at)?\(.*" + re.escape(blobs), call))
    syncs = wal_syncs(calls, wal)
    assert not [i for i in syncs if i < ok], "EXPUNGE waited for an fsync of the WAL"
    assert [i for i in syncs if ok < i < unlink], f"the body was unlinked before its removal was fsync'd:\n" + "\n".join(calls[ok:unlink + 1])
