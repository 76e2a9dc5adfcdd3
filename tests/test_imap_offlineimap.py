"""IMAP with offlineimap (issue 3), the second real synchronising client
after mbsync: it copies a mailbox down to a local Maildir, sends local flag
changes, deletions and new messages back up (APPEND with APPENDUID, UIDPLUS),
and a further run finds both sides equal. The number of messages is
OFFLINEIMAP_MESSAGES (default 200; 1,000 takes minutes against a debug
build)."""

import hashlib
import os
import re
import ssl
import subprocess
from pathlib import Path

import pytest

from harness import ALICE, ALICE_PASSWORD, require_tool
from test_imap import IMAP_LISTEN, imaps
from test_imap_mbsync import MAILDIR_FLAGS, flags_for, server_messages
from test_imap_mutate import message

MESSAGES = int(os.environ.get("OFFLINEIMAP_MESSAGES", "200"))

pytestmark = require_tool("offlineimap", "offlineimap not installed")


def fingerprint(server) -> str:
    """SHA-256 of the server's certificate: how offlineimap pins a self-signed one."""
    der = ssl.PEM_cert_to_DER_cert((server.data / "tls" / "cert.pem").read_text())
    return hashlib.sha256(der).hexdigest()


def write_config(server, work: Path) -> Path:
    host, port = server.addr("imaps")
    rc = work / "offlineimaprc"
    rc.write_text(
        f"""[general]
accounts = postern
metadata = {work / 'meta'}
ui = basic

[Account postern]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {work / 'mail'}

[Repository remote]
type = IMAP
remotehost = {host}
remoteport = {port}
remoteuser = {ALICE}
remotepass = {ALICE_PASSWORD}
ssl = yes
cert_fingerprint = {fingerprint(server)}
folderfilter = lambda name: name in ['INBOX', 'Local']
createfolders = True
"""
    )
    return rc


def offlineimap(rc: Path) -> str:
    p = subprocess.run(
        ["offlineimap", "-c", str(rc), "-o"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=600,
    )
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, f"offlineimap exited {p.returncode}:\n{out[-4000:]}"
    assert "ERROR" not in out, out[-4000:]
    return out


def local_messages(folder: Path) -> dict[str, tuple[bytes, set[str], Path]]:
    """token -> (bytes, IMAP flags, file) for each message in a Maildir folder."""
    out = {}
    for sub in ("cur", "new"):
        for f in (folder / sub).iterdir():
            data = f.read_bytes()
            m = re.search(rb"^token (\S+)", data, re.M)
            assert m, f.name
            letters = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
            out[m.group(1).decode()] = (data, {MAILDIR_FLAGS[c] for c in letters if c in MAILDIR_FLAGS}, f)
    return out


def set_flags(path: Path, flags: set[str]):
    letters = "".join(sorted(k for k, v in MAILDIR_FLAGS.items() if v in flags))
    base = path.name.split(":2,", 1)[0]
    path.rename(path.parent.parent / "cur" / f"{base}:2,{letters}")


def test_offlineimap_down_and_up_with_flags(make_server, tmp_path):
    server = make_server(listen=IMAP_LISTEN)
    c = imaps(server)
    for i in range(MESSAGES):
        flags = "(" + " ".join(flags_for(i)) + ")"
        body = f"message number {i}\r\n" * (1 + i % 5)
        typ, data = c.append("INBOX", flags, '"05-Jan-2024 10:00:00 +0000"', message(f"m{i:05d}", body=body))
        assert typ == "OK", data
    assert c.create("Local")[0] == "OK"
    rc = write_config(server, tmp_path)

    # Down: every message, byte for byte (Maildir keeps LF), with its flags.
    offlineimap(rc)
    local = local_messages(tmp_path / "mail" / "INBOX")
    remote = server_messages(c, "INBOX")
    assert len(local) == len(remote) == MESSAGES
    for tok, (data, flags) in remote.items():
        assert local[tok][0].replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n"), tok
        assert local[tok][1] == flags, (tok, local[tok][1], flags)

    # Local changes: flags set and cleared, one message deleted, new ones written.
    changed = {}
    gone = sorted(local)[0]
    local[gone][2].unlink()
    for i, (tok, (_data, flags, path)) in enumerate(sorted(local.items())):
        if tok == gone or i % 3 == 2:
            continue
        new = (flags | {"\\Flagged"}) - {"\\Seen"} if i % 3 == 0 else flags | {"\\Answered", "\\Seen"}
        set_flags(path, new)
        changed[tok] = new
    for n, folder in enumerate(["INBOX", "Local"]):
        d = tmp_path / "mail" / folder
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        up = message(f"up{n}", body="written locally\r\n").replace(b"\r\n", b"\n")
        (d / "new" / f"1700000000.{n}.client").write_bytes(up)

    # Up: the server follows.
    offlineimap(rc)
    remote = server_messages(c, "INBOX")
    assert len(remote) == MESSAGES, "one deleted, one added"
    assert gone not in remote
    assert "up0" in remote
    for tok, flags in changed.items():
        assert remote[tok][1] == flags, (tok, remote[tok][1], flags)
    assert list(server_messages(c, "Local")) == ["up1"]

    # A change made on the server comes down; then both sides agree.
    c.select("INBOX")
    typ, _ = c.uid("SEARCH", None, "ALL")
    assert typ == "OK"
    assert c.store("1", "+FLAGS", "(\\Draft)")[0] == "OK"
    offlineimap(rc)
    local = local_messages(tmp_path / "mail" / "INBOX")
    remote = server_messages(c, "INBOX")
    assert {t: v[1] for t, v in local.items()} == {t: v[1] for t, v in remote.items()}
