"""Encryption at rest (issue 14 item 3, SPEC X9): bodies, the queue's spool
and the database are encrypted; a marker delivered by SMTP and APPENDed by
IMAP is in no file under the data directory, yet IMAP, POP3 and export
return it byte for byte; a wrong passphrase stops the server before it
touches anything; a conversion killed at random moments resumes."""

from __future__ import annotations

import hashlib
import imaplib
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, POP3_LISTEN, insecure_tls, make_message, token, wait_until

LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0", **POP3_LISTEN}
PASSPHRASE = "correct horse battery staple"
# A body spanning several 64 KiB chunks, so partial FETCH seeks across them.
BIG = 3 * 65536 + 1234


def files_containing(root: Path, needle: bytes) -> list[str]:
    """`grep -r`, in Python: every file under `root` whose bytes hold `needle`."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            try:
                if needle in p.read_bytes():
                    hits.append(str(p.relative_to(root)))
            except FileNotFoundError:
                pass  # a file the server removed meanwhile (a WAL, a spool file)
    return hits


def files_containing_any(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            data = p.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(p.relative_to(root)))
    return hits


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(Path(d, n).relative_to(root)): hashlib.sha256(Path(d, n).read_bytes()).hexdigest()
        for d, _, names in os.walk(root)
        for n in names
    }


def passphrase_file(tmp_path: Path, text: str = PASSPHRASE, mode: int = 0o600) -> Path:
    p = tmp_path / f"pass-{hashlib.sha1(text.encode()).hexdigest()[:8]}-{mode:o}"
    p.write_text(text + "\n")
    p.chmod(mode)
    return p


def imaps(server):
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    c.login(ALICE, ALICE_PASSWORD)
    return c


def fetch_all(server) -> list[bytes]:
    c = imaps(server)
    c.select("INBOX")
    typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
    assert typ == "OK", data
    bodies = [part[1] for part in data if isinstance(part, tuple)]
    c.logout()
    return bodies


def pop3_all(server) -> list[bytes]:
    p = server.pop3_login()
    count, _ = p.stat()
    # poplib splits lines and undoes dot-stuffing; join with CRLF again.
    out = [b"\r\n".join(p.retr(i)[1]) + b"\r\n" for i in range(1, count + 1)]
    p.quit()
    return out


def export_all(server) -> list[bytes]:
    """The mbox export's messages, as bytes with CRLF line ends again."""
    return [m.replace("\n", "\r\n").encode() for m in server.messages(ALICE)]


def test_marker_is_in_no_file_and_is_served_byte_for_byte(make_server, tmp_path, monkeypatch):
    server = make_server(listen=LISTEN)
    marker = "mk" + token()
    # Before: plaintext, one message by SMTP and one by APPEND.
    sent_a = make_message(marker + "a", body=f"first {marker}\r\n")
    with server.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], sent_a)
    big = make_message(marker + "b", body=(f"big {marker} line\r\n" * 12000).encode()[:BIG] + b"\r\n")
    c = imaps(server)
    assert c.append("INBOX", None, None, big)[0] == "OK"
    c.logout()
    server.wait_for_message(ALICE, marker + "a")
    assert files_containing(server.data, marker.encode()), "the marker is on disk before encryption"

    # The conversion refuses while the server runs: it holds the database open.
    refused = server.cli("encryption", "enable", input=PASSPHRASE + "\n", check=False)
    assert refused.returncode == 1
    assert "is running on" in refused.stderr and "stop it first" in refused.stderr
    assert "encryption: off" in server.cli("encryption", "status").stdout
    server.stop()

    done = server.cli("encryption", "enable", input=PASSPHRASE + "\n")
    assert "bodies: 2/2" in done.stdout and done.stdout.rstrip().endswith("encryption: on"), done.stdout
    status = server.cli("encryption", "status").stdout
    assert "encryption: on" in status and "bodies: 2 of 2 encrypted" in status
    assert "kdf: argon2id m=19456 KiB t=2 p=1" in status and "database: encrypted" in status
    assert files_containing(server.data, marker.encode()) == []

    # The server takes its key from POSTERN_PASSPHRASE_FILE; new mail is encrypted as it arrives.
    monkeypatch.setenv("POSTERN_PASSPHRASE_FILE", str(passphrase_file(tmp_path)))
    server.start(LISTEN)
    sent_c = make_message(marker + "c", body=f"third {marker}\r\n")
    with server.smtp() as s:
        s.sendmail("sender@example.net", [ALICE], sent_c)
    appended = make_message(marker + "d", body=f"fourth {marker}\r\n".encode())
    c = imaps(server)
    assert c.append("INBOX", None, None, appended)[0] == "OK"
    c.select("INBOX")
    # Partial FETCH across chunk boundaries of the big encrypted body.
    typ, data = c.uid("FETCH", "2", "(BODY.PEEK[]<65530.70000>)")
    assert typ == "OK" and data[0][1] == big[65530 : 65530 + 70000]
    c.logout()

    imap = fetch_all(server)
    assert len(imap) == 4
    assert imap[1] == big and imap[3] == appended
    # SMTP mail as sent, after the Received field the server adds.
    assert imap[0].endswith(sent_a) and imap[2].endswith(sent_c)
    assert pop3_all(server) == imap
    assert export_all(server) == imap
    # Running, with the WAL in use: still nowhere.
    assert files_containing(server.data, marker.encode()) == []
    server.stop()
    assert files_containing(server.data, marker.encode()) == []

    # And back: every message is intact in plaintext.
    monkeypatch.delenv("POSTERN_PASSPHRASE_FILE")
    done = server.cli("encryption", "disable", input=PASSPHRASE + "\n")
    assert done.stdout.rstrip().endswith("encryption: off")
    assert "encryption: off" in server.cli("encryption", "status").stdout
    assert not (server.data / "encryption.json").exists()
    assert export_all(server) == imap
    assert files_containing(server.data, marker.encode())


# The first octets of an encrypted body (crates/store/src/crypt/stream.rs).
MAGIC = b"\x89PTNENC\x01"


def test_plaintext_body_beginning_with_the_magic(make_server, tmp_path, monkeypatch):
    """A message whose first octets are the encrypted format's magic (issue 14's
    last note) is the plaintext it is: served as APPENDed while the store is
    plaintext, then encrypted by `encryption enable` like any other body.
    Before, the store judged bodies by their first octets: the FETCH failed
    and the conversion skipped the body, leaving it plaintext on disk."""
    server = make_server(listen=LISTEN)
    marker = "mk" + token()
    odd = MAGIC + b"not a header\r\n" + make_message(marker, body=f"magic {marker}\r\n")
    c = imaps(server)
    assert c.append("INBOX", None, None, odd)[0] == "OK"
    c.logout()
    assert fetch_all(server) == [odd]
    server.stop()

    server.cli("encryption", "enable", input=PASSPHRASE + "\n")
    assert files_containing(server.data, marker.encode()) == []
    monkeypatch.setenv("POSTERN_PASSPHRASE_FILE", str(passphrase_file(tmp_path)))
    server.start(LISTEN)
    assert fetch_all(server) == [odd]


def serve_once(server, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [server.bin, "--data", str(server.data), "serve", "--listen", "smtp=127.0.0.1:0"],
        env={**os.environ, **env}, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
    )


def test_wrong_passphrase_refused_and_nothing_touched(make_server, tmp_path):
    server = make_server()
    server.deliver(token())
    server.stop()
    server.cli("encryption", "enable", input=PASSPHRASE + "\n")
    before = tree_hashes(server.data)

    wrong = serve_once(server, {"POSTERN_PASSPHRASE_FILE": str(passphrase_file(tmp_path, "wrong horse"))})
    assert wrong.returncode == 1
    assert b"wrong passphrase or key file: the data key does not unwrap" in wrong.stderr, wrong.stderr
    # A key readable by others is refused, not used.
    loose = serve_once(server, {"POSTERN_PASSPHRASE_FILE": str(passphrase_file(tmp_path, mode=0o644))})
    assert loose.returncode == 1 and b"lets others read the key; chmod 600 it" in loose.stderr, loose.stderr
    # No passphrase at all (stdin empty).
    none = serve_once(server, {})
    assert none.returncode == 1 and b"the store is encrypted: give its passphrase" in none.stderr, none.stderr
    # The CLI the same way.
    p = server.cli("--key-file", str(passphrase_file(tmp_path, "wrong horse")), "export", ALICE, check=False)
    assert p.returncode == 1 and "wrong passphrase" in p.stderr
    assert tree_hashes(server.data) == before

    # The right key file opens it.
    p = server.cli("--key-file", str(passphrase_file(tmp_path)), "export", ALICE)
    assert p.stdout.startswith("From ")


def test_conversion_killed_at_random_moments_resumes(make_server, tmp_path, monkeypatch):
    """kill -9 during `encryption enable` and `disable`, 20 rounds over a store
    of 200 messages: every message reads back intact in every state, and once
    finished no plaintext body is left on disk (temporary files included)."""
    messages = int(os.environ.get("CRYPT_MESSAGES", "200"))
    rounds = int(os.environ.get("CRYPT_ROUNDS", "20"))
    server = make_server()
    tokens = [token() for _ in range(messages)]
    with server.smtp() as s:
        for i, tok in enumerate(tokens):
            # Mostly small; every tenth spans three 64 KiB chunks.
            body = f"line {tok}\r\n" * (6000 if i % 10 == 0 else 1 + (i % 7) * 40)
            s.sendmail("sender@example.net", [ALICE], make_message(tok, body=body))
    server.stop()
    expected = server.export(ALICE)
    assert all(t in expected for t in tokens)
    monkeypatch.setenv("POSTERN_PASSPHRASE_FILE", str(passphrase_file(tmp_path)))
    cmd = lambda what: [server.bin, "--data", str(server.data), "encryption", what]

    # How long a whole run takes, to kill within it.
    t0 = time.monotonic()
    server.cli("encryption", "enable")
    span = time.monotonic() - t0
    rng = random.Random(int(os.environ.get("CRYPT_SEED", "14")))
    # Rounds count only when the kill left a conversion half-way (a run that
    # finished first, or was killed before it began, is tried again). The
    # window [lo, hi] to kill in narrows with each miss, so a run whose
    # length differs from the first one's (a loaded machine) still lands.
    lo, hi = 0.0, span
    attempts = midway = 0
    while midway < rounds and attempts < 4 * rounds:
        what = "disable" if attempts % 2 == 0 else "enable"
        attempts += 1
        p = subprocess.Popen(cmd(what), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        at = rng.uniform(lo, hi)
        time.sleep(at)
        finished = p.poll() is not None
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert server.export(ALICE) == expected, f"attempt {attempts} ({what})"
        if "converting" in server.cli("encryption", "status").stdout:
            midway += 1
            refused = serve_once(server, {})
            assert refused.returncode == 1 and b"was interrupted: run it again" in refused.stderr
        elif finished:
            hi = max(lo + 0.001, at * 0.9)
        else:
            lo = min(at, hi * 0.9)
        if hi - lo < 0.005:  # a fluke narrowed it to nothing: start over
            lo, hi = 0.0, span
    print(f"{midway} conversions killed half-way in {attempts} attempts; a whole run took {span:.2f}s")
    assert midway == rounds, f"only {midway} of {attempts} kills landed inside a conversion"

    server.cli("encryption", "enable")
    status = server.cli("encryption", "status").stdout
    assert "encryption: on" in status and f"bodies: {messages} of {messages} encrypted" in status, status
    # Every message carries "token t…" and its Subject "test t…": one pass over every file.
    leaks = [f for f in files_containing_any(server.data, [b"token t", b"Subject: test t"])]
    assert leaks == [], f"plaintext bodies on disk: {leaks[:5]}"
    assert not [f for f in tree_hashes(server.data) if "crypt-tmp" in f]
    assert server.export(ALICE) == expected
    server.cli("encryption", "disable")
    assert server.export(ALICE) == expected
