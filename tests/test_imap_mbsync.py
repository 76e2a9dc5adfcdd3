"""IMAP with a real synchronising client (issue 3): isync's mbsync copies a
mailbox down to a local Maildir and changes made there back up, flags
intact. The number of messages is MBSYNC_MESSAGES (default 200; the issue
asks for 1,000, which takes minutes against a debug build)."""

import imaplib
import os
import re
import subprocess
from pathlib import Path

import pytest

from test_imap import IMAP_LISTEN, imaps
from test_imap_mutate import message
from harness import ALICE, ALICE_PASSWORD, require_tool

MESSAGES = int(os.environ.get("MBSYNC_MESSAGES", "200"))

pytestmark = require_tool("mbsync", "isync (mbsync) not installed")

# Maildir flag letters (https://cr.yp.to/proto/maildir.html) and their IMAP flags.
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def flags_for(i):
    out = []
    if i % 2 == 0:
        out.append("\\Seen")
    if i % 7 == 0:
        out.append("\\Flagged")
    if i % 11 == 0:
        out.append("\\Answered")
    return out


def without_tuid(data: bytes) -> bytes:
    """mbsync marks the messages it copies with an X-TUID field of its own."""
    return re.sub(rb"^X-TUID: [^\n]*\n", b"", data, flags=re.M)


def write_config(server, work: Path) -> Path:
    host, port = server.addr("imaps")
    maildir = work / "mail"
    maildir.mkdir()
    rc = work / "mbsyncrc"
    rc.write_text(
        f"""IMAPAccount postern
Host {host}
Port {port}
User {ALICE}
Pass {ALICE_PASSWORD}
SSLType IMAPS
CertificateFile {server.data / 'tls' / 'cert.pem'}
PipelineDepth 50

IMAPStore remote
Account postern

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Local
Create Both
Expunge Both
SyncState *
Sync All
"""
    )
    return rc


def mbsync(rc: Path):
    p = subprocess.run(["mbsync", "-c", str(rc), "-a"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, f"mbsync exited {p.returncode}:\n{out[-4000:]}"
    return out


def local_messages(folder: Path) -> dict[str, tuple[bytes, set[str]]]:
    """token -> (bytes, IMAP flags) for each message in a Maildir folder."""
    out = {}
    for sub in ("cur", "new"):
        for f in (folder / sub).iterdir():
            data = f.read_bytes()
            m = re.search(rb"^token (\S+)", data, re.M)
            assert m, f.name
            letters = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
            out[m.group(1).decode()] = (data, {MAILDIR_FLAGS[c] for c in letters if c in MAILDIR_FLAGS}, f)
    return out


def server_messages(c: imaplib.IMAP4, mailbox: str) -> dict[str, tuple[bytes, set[str]]]:
    typ, data = c.select(mailbox, readonly=True)
    assert typ == "OK", data
    out = {}
    if int(data[0]) == 0:
        return out
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
    assert typ == "OK"
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
        tok = re.search(rb"^token (\S+)", body, re.M).group(1).decode()
        out[tok] = (body, flags - {"\\Recent"})
    return out


def test_mbsync_down_and_up_with_flags(make_server, tmp_path):
    server = make_server(listen=IMAP_LISTEN)
    c = imaps(server)
    for i in range(MESSAGES):
        flags = "(" + " ".join(flags_for(i)) + ")"
        typ, data = c.append("INBOX", flags, '"05-Jan-2024 10:00:00 +0000"', message(f"m{i:05d}", body=f"message number {i}\r\n" * (1 + i % 5)))
        assert typ == "OK", data
    rc = write_config(server, tmp_path)

    # Down: every message, byte-exact, with its flags.
    mbsync(rc)
    local = local_messages(tmp_path / "mail" / "INBOX")
    remote = server_messages(c, "INBOX")
    assert len(local) == len(remote) == MESSAGES
    for tok, (data, flags) in remote.items():
        # Maildir keeps LF line ends; mbsync converts both ways.
        assert without_tuid(local[tok][0]).replace(b"\n", b"\r\n") == data, tok
        assert local[tok][1] == flags, (tok, local[tok][1], flags)

    # Local changes: flags set and cleared, a message deleted, new ones written.
    changed = {}
    gone = sorted(local)[-1]
    local[gone][2].unlink()
    for i, (tok, (data, flags, path)) in enumerate(sorted(local.items())):
        if tok == gone:
            continue
        if i % 3 == 0:
            new = (flags | {"\\Flagged"}) - {"\\Seen"}
        elif i % 3 == 1:
            new = flags | {"\\Answered", "\\Seen"}
        else:
            continue
        letters = "".join(sorted(k for k, v in MAILDIR_FLAGS.items() if v in new))
        base = path.name.split(":2,", 1)[0]
        path.rename(path.parent.parent / "cur" / f"{base}:2,{letters}")
        changed[tok] = new
    for n, folder in enumerate(["INBOX", "Local"]):
        d = tmp_path / "mail" / folder
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "new" / f"1700000000.{n}.client").write_bytes(message(f"up{n}", body="written locally\r\n").replace(b"\r\n", b"\n"))

    # Up: the server follows.
    mbsync(rc)
    remote = server_messages(c, "INBOX")
    assert len(remote) == MESSAGES, "one deleted, one added"
    assert gone not in remote
    assert "up0" in remote and without_tuid(remote["up0"][0]) == message("up0", body="written locally\r\n")
    for tok, flags in changed.items():
        assert remote[tok][1] == flags, (tok, remote[tok][1], flags)
    local_box = server_messages(c, "Local")
    assert list(local_box) == ["up1"], "folder created on the server and filled"

    # A second run has nothing to do, and the two sides agree.
    mbsync(rc)
    local = local_messages(tmp_path / "mail" / "INBOX")
    remote = server_messages(c, "INBOX")
    assert {t: v[1] for t, v in local.items()} == {t: v[1] for t, v in remote.items()}
