"""Backup and restore (issue 21 items 1 and 2, SPEC M9).

`postern --data DIR backup DEST` takes a consistent snapshot while the server
serves: the database through SQLite's online backup, bodies hard-linked as of
that instant, settings and keys, a manifest with a SHA-256 per file.
`restore` rebuilds a data directory that serves the same mailboxes with the
same UIDs, UIDVALIDITY, POP3 UIDLs and flags."""

from __future__ import annotations

import imaplib
import json
import os
import random
import re
import threading
import time
from pathlib import Path

import pytest

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, POP3_LISTEN, Postern, insecure_tls, make_message, require_tool, token, wait_until
from test_encryption import PASSPHRASE, files_containing, passphrase_file

LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0", **POP3_LISTEN}
SENDERS = 20
FLAGGERS = 5
# Messages whose flags the flaggers keep changing during the backup; the others' are fixed before it.
CHURNED = 10
PRELOAD = 30
TOK = re.compile(rb"token (t[0-9a-f]{16})")


def imaps(server: Postern) -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    c.login(ALICE, ALICE_PASSWORD)
    return c


def imap_state(server: Postern, folder: str = "INBOX") -> tuple[int, dict[str, tuple[int, str]]]:
    """UIDVALIDITY and token → (UID, flags) of every message in `folder`."""
    c = imaps(server)
    typ, _ = c.select(f'"{folder}"', readonly=True)
    assert typ == "OK"
    validity = int(c.response("UIDVALIDITY")[1][0])
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[TEXT])")
    assert typ == "OK", data
    out = {}
    for part in data:
        if isinstance(part, tuple):
            uid = int(re.search(rb"UID (\d+)", part[0]).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", part[0]).group(1).decode().split()
            # \Recent belongs to a session, not to the message.
            flags = " ".join(sorted(f for f in flags if f != "\\Recent"))
            m = TOK.search(part[1])
            if m:
                out[m.group(1).decode()] = (uid, flags)
    c.logout()
    return validity, out


def uidls(server: Postern) -> dict[str, str]:
    """token → POP3 UIDL."""
    p = server.pop3_login()
    _, listing, _ = p.uidl()
    out = {}
    for line in listing:
        n, uidl = line.decode().split()
        _, lines, _ = p.top(int(n), 2)
        m = TOK.search(b"\r\n".join(lines))
        if m:
            out[m.group(1).decode()] = uidl
    p.quit()
    return out


def restored_server(tmp_path: Path, name: str = "restored") -> Postern:
    r = Postern(tmp_path / name)
    r.workdir.mkdir()
    return r


def backup_dir(dest: Path) -> Path:
    [one] = [d for d in dest.iterdir() if not d.name.startswith(".")]
    return one


def test_backup_under_load_restores_every_acknowledged_message(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    for _ in range(PRELOAD):
        server.deliver(token())
    c = imaps(server)
    c.select("INBOX")
    c.uid("STORE", f"{CHURNED + 1}:{PRELOAD // 2}", "+FLAGS", r"(\Seen $Work)")
    c.uid("STORE", f"{PRELOAD // 2 + 1}:{PRELOAD}", "+FLAGS", r"(\Answered \Flagged)")
    c.logout()
    # A message for another domain stays queued (no DNS): the queue is in the backup too.
    queued = token()
    with server.submission() as s:
        s.sendmail(ALICE, ["someone@remote.example"], make_message(queued, ALICE, "someone@remote.example"))

    stop = threading.Event()
    acked: list[tuple[float, str]] = []
    errors: list[str] = []

    def send():
        try:
            with server.smtp() as s:
                while not stop.is_set():
                    tok = token()
                    s.sendmail("sender@example.net", [ALICE], make_message(tok))
                    acked.append((time.monotonic(), tok))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"sender: {e!r}")

    def flag(seed: int):
        rnd = random.Random(seed)
        try:
            c = imaps(server)
            c.select("INBOX")
            while not stop.is_set():
                op = rnd.choice(["+FLAGS", "-FLAGS"])
                typ, data = c.uid("STORE", str(rnd.randint(1, CHURNED)), op, r"(\Flagged \Seen)")
                assert typ == "OK", data
            c.logout()
        except Exception as e:  # noqa: BLE001
            errors.append(f"flagger: {e!r}")

    threads = [threading.Thread(target=send) for _ in range(SENDERS)] + [threading.Thread(target=flag, args=(i,)) for i in range(FLAGGERS)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= 40, 60, what="load running")
    dest = tmp_path / "backups"
    began = time.monotonic()
    done = server.cli("backup", str(dest))
    after = len(acked)
    wait_until(lambda: len(acked) >= after + 20, 60, what="load after the backup")
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert re.search(r"^backup \d{8}T\d{6}Z(-\d+)? written to .*: \d+ files", done.stdout, re.M), done.stdout
    assert "backup: database snapshot taken" in done.stderr, done.stderr
    before = {tok for at, tok in acked if at < began}
    assert len(before) >= 40

    verified = server.cli("backup", "verify", str(dest))
    assert "all checksums match" in verified.stdout, verified.stdout

    live_validity, live = imap_state(server)
    live_uidls = uidls(server)
    restored = restored_server(tmp_path)
    out = restored.cli("restore", str(dest))
    assert "restored backup" in out.stdout, out.stdout
    restored.start(LISTEN)
    try:
        validity, got = imap_state(restored)
        got_uidls = uidls(restored)
        queue = restored.cli("queue", "list").stdout
    finally:
        restored.stop()
    assert validity == live_validity
    missing = sorted(before - set(got))
    assert not missing, f"{len(missing)} acknowledged messages not restored: {missing[:5]}"
    for tok, (uid, flags) in got.items():
        assert live[tok][0] == uid, tok
        assert got_uidls[tok] == live_uidls[tok], tok
    # The flags of messages nobody touched during the backup are exactly the same.
    fixed = {tok: v for tok, v in live.items() if CHURNED < v[0] <= PRELOAD}
    assert len(fixed) == PRELOAD - CHURNED
    for tok, (uid, flags) in fixed.items():
        assert got[tok][1] == flags, (uid, got[tok][1], flags)
    assert sum("$Work" in f for _, f in got.values()) == PRELOAD // 2 - CHURNED
    assert "someone@remote.example" in queue, queue
    assert (restored.data / "postern.toml").read_text() == (server.data / "postern.toml").read_text()
    assert (restored.data / "keys" / "server.key").read_bytes() == (server.data / "keys" / "server.key").read_bytes()


def test_verify_names_a_flipped_byte_and_restore_refuses_it(make_server, tmp_path):
    server = make_server()
    server.deliver(token())
    dest = tmp_path / "backups"
    server.cli("backup", str(dest))
    db = backup_dir(dest) / "db" / "postern.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0x01
    db.write_bytes(bytes(data))
    # verify needs no data directory.
    p = server.cli("backup", "verify", str(dest), check=False)
    assert p.returncode == 1, p
    assert re.search(r"^\S+/db/postern\.db: checksum [0-9a-f]{64}, the manifest says [0-9a-f]{64}$", p.stdout, re.M), p.stdout
    assert "1 problems found" in p.stderr
    r = restored_server(tmp_path)
    p = r.cli("restore", str(dest), check=False)
    assert p.returncode == 1 and "the backup is damaged" in p.stderr, p.stderr
    assert not r.data.exists() or not any(r.data.iterdir())


def test_incremental_copies_only_new_bodies(make_server, tmp_path):
    server = make_server()
    for _ in range(5):
        server.deliver(token())
    dest = tmp_path / "backups"
    server.cli("backup", str(dest))
    first = backup_dir(dest)
    for _ in range(3):
        server.deliver(token())
    p = server.cli("backup", str(dest), "--incremental")
    assert f", 5 from {first.name};" in p.stdout, p.stdout
    second = max(d for d in dest.iterdir() if d.name != first.name and not d.name.startswith("."))
    m = json.loads((second / "manifest.json").read_text())
    assert m["previous"] == first.name
    bodies = [f for f in m["files"] if f["path"].startswith("blobs/")]
    assert sum(not f["reused"] for f in bodies) == 3
    assert sum(f["reused"] for f in bodies) == 5
    for f in bodies:
        if f["reused"]:
            # The very same file as the previous backup's: a hard link, no copy.
            assert os.stat(second / f["path"]).st_ino == os.stat(first / f["path"]).st_ino
    assert "all checksums match" in server.cli("backup", "verify", str(dest)).stdout
    # --keep 2: the first goes; the second is complete by itself.
    p = server.cli("backup", str(dest), "--incremental", "--keep", "2")
    assert f"deleted old backup {first.name}" in p.stdout
    assert server.cli("backup", "verify", str(dest)).stdout.count("all checksums match") == 2


def test_restore_refuses_a_non_empty_directory(make_server, tmp_path):
    server = make_server()
    dest = tmp_path / "backups"
    server.cli("backup", str(dest))
    r = restored_server(tmp_path)
    r.data.mkdir()
    (r.data / "notes.txt").write_text("mine")
    p = r.cli("restore", str(dest), check=False)
    assert p.returncode == 1, p
    assert "is not empty: restore only into a new or empty directory" in p.stderr, p.stderr
    assert [x.name for x in r.data.iterdir()] == ["notes.txt"]


def test_encrypted_store_backup_stays_encrypted(make_server, tmp_path, monkeypatch):
    server = make_server(start=False, listen=LISTEN)
    server.cli("encryption", "enable", input=PASSPHRASE + "\n")
    monkeypatch.setenv("POSTERN_PASSPHRASE_FILE", str(passphrase_file(tmp_path)))
    server.start(LISTEN)
    marker = "Backup-Marker-" + token()
    tok = token()
    server.deliver(tok, body=f"{marker}\r\n")
    dest = tmp_path / "backups"
    server.cli("backup", str(dest))
    m = json.loads((backup_dir(dest) / "manifest.json").read_text())
    assert m["encrypted"] is True
    assert files_containing(dest, marker.encode()) == []
    assert files_containing(dest, b"alice@example.org") == [], "the database copy is encrypted too"
    assert (backup_dir(dest) / "encryption.json").exists()
    r = restored_server(tmp_path)
    r.cli("restore", str(dest))
    r.start(LISTEN)
    try:
        _, got = imap_state(r)
    finally:
        r.stop()
    assert tok in got


def test_restore_one_user_into_the_running_server(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    toks = [token() for _ in range(3)]
    for t in toks:
        server.deliver(t)
    c = imaps(server)
    c.select("INBOX")
    c.uid("STORE", "2", "+FLAGS", r"(\Flagged)")
    c.logout()
    dest = tmp_path / "backups"
    server.cli("backup", str(dest))
    # The user deletes everything; the admin brings it back beside the live INBOX.
    c = imaps(server)
    c.select("INBOX")
    c.uid("STORE", "1:*", "+FLAGS", r"(\Deleted)")
    c.expunge()
    c.logout()
    p = server.cli("restore", str(dest), "--user", ALICE, "--folder", "INBOX")
    folder = f"Restored/{backup_dir(dest).name}/INBOX"
    assert f"{folder}: 3 messages" in p.stdout, p.stdout
    _, got = imap_state(server, folder)
    assert sorted(got) == sorted(toks)
    assert got[toks[1]][1] == r"\Flagged"
    _, inbox = imap_state(server)
    assert inbox == {}


def test_scheduled_backup_is_taken_by_the_server(make_server, tmp_path):
    # The shortest interval accepted (backup_schedule::MIN_INTERVAL): one backup a minute.
    server = make_server(config={"backup.schedule": '"60s"', "backup.keep": "1"})
    tok = token()
    server.deliver(tok)
    line = wait_until(lambda: re.search(r"^.*event=backup .*$", server.log("mail.log"), re.M), 90, interval=0.5, what="a scheduled backup")
    assert "files=" in line.group(0) and "deleted=0" in line.group(0), line.group(0)
    dest = server.data / "backups"
    assert "all checksums match" in server.cli("backup", "verify", str(dest)).stdout
    # The backup leaves itself out of the next one.
    m = json.loads((backup_dir(dest) / "manifest.json").read_text())
    assert not [f for f in m["files"] if f["path"].startswith("backups/")]
    bad = server.cli("config", "set", "backup.schedule", '"weekly"', check=False)
    assert bad.returncode != 0 and "backup.schedule" in bad.stderr, bad.stderr


@require_tool("mbsync", "isync (mbsync) not installed")
def test_mbsync_finds_nothing_new_after_a_restore(make_server, tmp_path):
    """A client synchronised before the backup, pointed at the restored server,
    downloads nothing again: same UIDVALIDITY, same UIDs (mbsync's state)."""
    from test_imap_mbsync import mbsync, write_config

    server = make_server(listen=LISTEN)
    toks = [token() for _ in range(12)]
    for t in toks:
        server.deliver(t)
    work = tmp_path / "client"
    work.mkdir()
    rc = write_config(server, work)
    mbsync(rc)
    inbox = work / "mail" / "INBOX"
    files = lambda: sorted(p.name for sub in ("cur", "new") for p in (inbox / sub).iterdir())  # noqa: E731
    before = files()
    assert len(before) == len(toks)
    dest = tmp_path / "backups"
    server.cli("backup", str(dest))
    restored = restored_server(tmp_path)
    restored.cli("restore", str(dest))
    restored.start(LISTEN)
    try:
        host, port = server.addr("imaps")
        new_host, new_port = restored.addr("imaps")
        text = rc.read_text().replace(f"Port {port}\n", f"Port {new_port}\n")
        text = text.replace(str(server.data / "tls" / "cert.pem"), str(restored.data / "tls" / "cert.pem"))
        rc.write_text(text)
        out = mbsync(rc)
    finally:
        restored.stop()
    assert "UIDVALIDITY" not in out, out
    assert files() == before, out


def test_backup_to_another_filesystem_copies_bodies(make_server, tmp_path):
    """DEST on another filesystem (tmpfs): bodies are copied, not linked;
    an incremental backup there still copies only the new ones."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) here")
    server = make_server()
    for _ in range(3):
        server.deliver(token())
    dest = Path(tempfile.mkdtemp(prefix="postern-backup-test-", dir=shm))
    try:
        p = server.cli("backup", str(dest))
        assert "bodies 0 linked, 3 copied" in p.stdout, p.stdout
        server.deliver(token())
        p = server.cli("backup", str(dest), "--incremental")
        assert ", 3 from " in p.stdout and "bodies 0 linked, 1 copied" in p.stdout, p.stdout
        assert server.cli("backup", "verify", str(dest)).stdout.count("all checksums match") == 2
    finally:
        shutil.rmtree(dest)
