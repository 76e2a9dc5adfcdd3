"""README: "Every message answered with 250 (and every APPEND answered with OK)
is on disk, fsync'd, before the answer" (issue 22 item 5).

SIGKILL leaves the page cache alone, so a kill test cannot show an fsync: the
order of the server's system calls can. strace follows the running server
while it takes one message over SMTP and one APPEND over IMAP; the body, its
spool directory and the database's WAL must each be fsync'd, successfully,
before the reply goes out. A kill -9 test then covers APPEND as the SMTP
crash test covers 250: every APPEND answered OK is there after a restart."""

from __future__ import annotations

import imaplib
import os
import random
import re
import select
import shutil
import subprocess
import threading
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, make_message, token, tool_missing_is_a_failure, wait_until

STRACE_ATTACH = 15.0  # seconds for strace to attach to every thread
SYSCALLS = "trace=fsync,fdatasync,sync_file_range,write,sendto,sendmsg,writev"
PLAIN_IMAP = {"imap": "127.0.0.1:0"}
# IMAP LOGIN on the plain port (no TLS), so that strace sees the reply's text.
NO_TLS_NEEDED = {"security.policy": '"none"'}


@pytest.fixture
def strace(tmp_path):
    """`strace(pid)` follows the process and its threads; returns a function
    that stops it and gives back the trace's lines."""
    if shutil.which("strace") is None:
        if tool_missing_is_a_failure():
            pytest.fail("strace is missing under CI=true (scripts/test installs it)")
        pytest.skip("strace is not installed (scripts/test installs it)")
    procs = []

    def attach(pid: int, extra: str = ""):
        out = tmp_path / f"strace-{pid}.txt"
        syscalls = f"{SYSCALLS},{extra}" if extra else SYSCALLS
        p = subprocess.Popen(["strace", "-f", "-y", "-s", "200", "-o", str(out), "-e", syscalls, "-p", str(pid)],
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(p)
        # strace says "Process N attached with M threads" once it follows them all.
        said = b""
        deadline = time.monotonic() + STRACE_ATTACH
        while b"attached" not in said:
            left = deadline - time.monotonic()
            if left <= 0 or p.poll() is not None:
                pytest.fail(f"strace did not attach to {pid} within {STRACE_ATTACH}s: {said!r}")
            if select.select([p.stderr], [], [], left)[0]:
                said += os.read(p.stderr.fileno(), 4096)

        def finish() -> list[str]:
            p.terminate()
            p.wait(timeout=30)
            return out.read_text("utf-8", "replace").splitlines()

        return finish

    yield attach
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)


def completed_calls(lines: list[str]) -> list[str]:
    """Each system call as one line `NAME(ARGS) = RESULT`, in the order they
    returned (strace -f splits a call that another thread interrupts into
    `... <unfinished ...>` and `<... NAME resumed> ...`)."""
    pending: dict[str, str] = {}
    calls = []
    for line in lines:
        pid, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        m = re.match(r"<\.\.\. \w+ resumed>(.*)", rest)
        if m:
            rest = pending.pop(pid, "?(") + m.group(1)
        calls.append(re.sub(r"\)\s+= ", ") = ", rest))
    return calls


def synced_before(calls: list[str], reply: str) -> list[str]:
    """The paths fsync'd (with success) before the first write of `reply` to a socket."""
    synced = []
    for call in calls:
        if re.match(r"(sendto|write|writev|sendmsg)\(\d+<(socket|TCP)", call) and reply in call:
            return synced
        m = re.match(r"(fsync|fdatasync)\(\d+<([^>]*)>\) = 0$", call)
        if m:
            synced.append(m.group(2))
    raise AssertionError(f"no reply {reply!r} in the trace:\n" + "\n".join(calls[-40:]))


def assert_durable_before(calls: list[str], reply: str, data) -> None:
    synced = synced_before(calls, reply)
    incoming = str(data / "queue" / "incoming")
    bodies = [p for p in synced if p.startswith(incoming + "/") and not os.path.isdir(p)]
    assert bodies, f"no message body fsync'd before {reply!r}: {synced}"
    # The spool spreads bodies over subdirectories (crates/store/src/spool.rs):
    # the one holding the body is the directory whose entry must be durable.
    spool_dir = os.path.dirname(bodies[-1])
    assert spool_dir in synced, f"its directory was not fsync'd before {reply!r}: {synced}"
    wal = str(data / "db" / "postern.db-wal")
    assert wal in synced[synced.index(bodies[-1]):], f"the database was not fsync'd after the body, before {reply!r}: {synced}"


def test_250_comes_after_the_fsyncs(make_server, strace):
    server = make_server()
    finish = strace(server.pid)
    tok = token()
    with server.smtp() as s:
        s.ehlo()
        s.mail("sender@example.net")
        s.rcpt(ALICE)
        code, reply = s.data(make_message(tok))
        assert code == 250, reply
    calls = completed_calls(finish())
    assert_durable_before(calls, "250 2.0.0 OK: queued as", server.data)


# A body of at most this many octets is kept in the database with its row
# (crates/store/src/inline.rs, blob.rs HOLD); a larger one gets a file.
INLINE_MAX = 64 * 1024


def traced_append(make_server, strace, message: bytes):
    """One APPEND under strace: (its system calls, its OK reply, the data dir)."""
    server = make_server(config=NO_TLS_NEEDED, listen=PLAIN_IMAP)
    c = imaplib.IMAP4(*server.addr("imap"), timeout=IO_TIMEOUT)
    c.login(ALICE, ALICE_PASSWORD)
    finish = strace(server.pid)
    typ, data = c.append("INBOX", None, None, message)
    assert typ == "OK", data
    c.logout()
    calls = completed_calls(finish())
    tag_ok = re.compile(r"\b[A-Z]+\d+ OK \[APPENDUID ")
    reply = next(m.group(0) for call in calls if (m := tag_ok.search(call)))
    return calls, reply, server.data


def test_append_of_a_large_body_ok_comes_after_the_fsyncs(make_server, strace):
    big = make_message(token(), body=("y" * 78 + "\r\n") * (INLINE_MAX // 80 + 10))
    assert len(big) > INLINE_MAX
    calls, reply, data = traced_append(make_server, strace, big)
    assert_durable_before(calls, reply, data)


def test_a_small_append_is_durable_with_the_database_and_has_no_file(make_server, strace):
    calls, reply, data = traced_append(make_server, strace, make_message(token()))
    synced = synced_before(calls, reply)
    wal = str(data / "db" / "postern.db-wal")
    assert wal in synced, f"the database was not fsync'd before {reply!r}: {synced}"
    files = [p for sub in ("blobs", "queue/incoming") for p in (data / sub).rglob("*") if p.is_file()]
    assert not files, f"a body kept in the database also left a file: {files}"


# ---------------------------------------------------------------- kill -9 during APPENDs

KILLS = 8
APPENDERS = 3


def test_kill_during_appends_keeps_every_acknowledged_one(make_server):
    rng = random.Random(int(os.environ.get("CRASH_SEED", "22")))
    server = make_server(config=NO_TLS_NEEDED, listen=PLAIN_IMAP)
    acknowledged: list[str] = []
    lock = threading.Lock()
    interrupted = 0
    for kill in range(KILLS):
        if kill:
            server.start(PLAIN_IMAP)
        stop = threading.Event()
        in_flight = [0]

        def appender():
            try:
                c = imaplib.IMAP4(*server.addr("imap"), timeout=IO_TIMEOUT)
                c.login(ALICE, ALICE_PASSWORD)
                while not stop.is_set():
                    tok = token()
                    with lock:
                        in_flight[0] += 1
                    typ, _ = c.append("INBOX", None, None, make_message(tok, body="x" * rng.randrange(10, 20000) + "\r\n"))
                    with lock:
                        in_flight[0] -= 1
                        if typ == "OK":
                            acknowledged.append(tok)
            except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
                pass  # the kill

        threads = [threading.Thread(target=appender) for _ in range(APPENDERS)]
        for t in threads:
            t.start()
        before = len(acknowledged)
        wait_until(lambda: len(acknowledged) > before, 10, what="APPENDs answered OK")
        time.sleep(rng.uniform(0, 0.3))  # the random moment of the crash is the point of the test
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        interrupted += in_flight[0] > 0
    server.start(PLAIN_IMAP)
    stored = server.export(ALICE)
    lost = [tok for tok in acknowledged if tok not in stored]
    assert not lost, f"{len(lost)} of {len(acknowledged)} APPENDs answered OK are gone after kill -9: {lost[:5]}"
    doubled = [tok for tok in acknowledged if stored.count(f"Subject: test {tok}") != 1]
    assert not doubled, f"stored twice: {doubled[:5]}"
    assert interrupted >= KILLS // 2, f"only {interrupted} of {KILLS} kills landed while an APPEND was in flight"
