"""Import and export (issue 21 item 3, SPEC M9): a Maildir as Dovecot writes
it and an mbox as Postern's own export writes it come in with their flags,
dates and folders, and are searched like delivered mail; malformed mbox
"From " lines are kept as text and reported; a large mbox streams in bounded
memory."""

from __future__ import annotations

import datetime
import imaplib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dovecot_pop3 import Dovecot, available as dovecot_available
from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, insecure_tls, token

LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}
# The generated mbox of the streaming test: ~200 MB unless overridden.
BIG_MBOX_MB = int(os.environ.get("POSTERN_BIG_MBOX_MB", "200"))
# The importer's peak RSS must stay below this whatever the file's size.
RSS_LIMIT_KB = 64 * 1024


def imaps(server, user=ALICE, password=ALICE_PASSWORD) -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    c.login(user, password)
    return c


def folder_state(server, folder: str, user=ALICE, password=ALICE_PASSWORD) -> list[tuple[str, str, bytes]]:
    """(flags without \\Recent, INTERNALDATE, body) of each message, in UID order."""
    return mailbox_state(imaps(server, user, password), folder)


def mailbox_state(c: imaplib.IMAP4, folder: str) -> list[tuple[str, str, bytes]]:
    """folder_state over any logged-in connection (Postern's or Dovecot's); logs out."""
    typ, data = c.select(f'"{folder}"', readonly=True)
    assert typ == "OK", (folder, data)
    typ, data = c.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK", data
    out = []
    for part in data:
        if isinstance(part, tuple):
            head = part[0].decode()
            flags = re.search(r"FLAGS \(([^)]*)\)", head).group(1).split()
            flags = " ".join(sorted(f for f in flags if f != "\\Recent"))
            date = re.search(r'INTERNALDATE "([^"]+)"', head).group(1)
            out.append((flags, date, part[1]))
    c.logout()
    return out


def search(server, folder: str, word: str) -> list[bytes]:
    c = imaps(server)
    c.select(f'"{folder}"', readonly=True)
    typ, data = c.uid("SEARCH", "BODY", word)
    c.logout()
    assert typ == "OK", data
    return data[0].split()


def imap_date(unix: int) -> str:
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(unix)).lstrip("0")


def write(path: Path, text: str, mtime: int) -> None:
    path.write_bytes(text.encode())
    os.utime(path, (mtime, mtime))


def dovecot_maildir(root: Path) -> None:
    """A Maildir++ tree as Dovecot 2.3 writes it: dovecot-uidlist, keywords
    in dovecot-keywords (letters a, b… in the info), `,S=`/`,W=` sizes in
    the names, `.Sub.Folder` folders, unseen mail in new/."""
    # "Körbe": Dovecot writes folder names in IMAP's modified UTF-7.
    for d in ["", ".Sent", ".Work.2026", ".K&APY-rbe"]:
        for sub in ["cur", "new", "tmp"]:
            (root / d / sub).mkdir(parents=True, exist_ok=True)
    (root / "dovecot-keywords").write_text("0 $Work\n1 Later\n")
    (root / ".Work.2026" / "dovecot-keywords").write_text("0 Later\n")
    (root / "dovecot-uidlist").write_text("3 V1700000000 N3 G0123456789abcdef\n")
    (root / "subscriptions").write_text("Sent\nWork/2026\n")
    msg = "From: a@example.net\nTo: alice@example.org\nSubject: {s}\n\nword-{w}\n"
    write(root / "cur" / "1700000000.M1P100.old,S=80,W=84:2,FSa", msg.format(s="one", w="kiwi"), 1_700_000_000)
    write(root / "cur" / "1700000050.M2P100.old,S=80,W=84:2,RSb", msg.format(s="two", w="mango"), 1_700_000_050)
    write(root / "new" / "1700000100.M3P100.old,S=80,W=84", msg.format(s="three", w="papaya"), 1_700_000_100)
    write(root / ".Sent" / "cur" / "1700000200.M4P100.old,S=80,W=84:2,S", msg.format(s="sent", w="quince"), 1_700_000_200)
    write(root / ".Work.2026" / "cur" / "1700000300.M5P100.old,S=80,W=84:2,a", msg.format(s="work", w="rhubarb"), 1_700_000_300)
    write(root / ".K&APY-rbe" / "cur" / "1700000400.M6P100.old,S=80,W=84:2,", msg.format(s="baskets", w="sloe"), 1_700_000_400)


def test_dovecot_maildir_keeps_flags_dates_and_folders(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    root = tmp_path / "Maildir"
    dovecot_maildir(root)
    p = server.cli("import", ALICE, "--maildir", str(root))
    assert "INBOX: 3 messages" in p.stdout and "Sent: 1 messages" in p.stdout and "Work/2026: 1 messages" in p.stdout, p.stdout
    assert "Körbe: 1 messages" in p.stdout, p.stdout
    assert "imported 6 messages for alice@example.org" in p.stdout
    inbox = folder_state(server, "INBOX")
    assert [(f, d) for f, d, _ in inbox] == [
        ("$Work \\Flagged \\Seen", imap_date(1_700_000_000)),
        ("Later \\Answered \\Seen", imap_date(1_700_000_050)),
        ("", imap_date(1_700_000_100)),
    ]
    # Stored with CRLF line ends, as delivered mail is.
    assert inbox[0][2] == b"From: a@example.net\r\nTo: alice@example.org\r\nSubject: one\r\n\r\nword-kiwi\r\n"
    assert [f for f, _, _ in folder_state(server, "Sent")] == ["\\Seen"]
    assert [f for f, _, _ in folder_state(server, "Work/2026")] == ["Later"]
    # Searched like delivered mail.
    assert search(server, "INBOX", "papaya") == [b"3"]
    assert search(server, "Work/2026", "rhubarb") == [b"1"]
    assert search(server, "K&APY-rbe", "sloe") == [b"1"]


DOVECOT_USER, DOVECOT_PASSWORD = "carol", "Carol-Remote-5"
# What is APPENDed to Dovecot: (folder, flags, INTERNALDATE or None for now,
# message). The unflagged message first and one in new/ between flagged ones
# in cur/: Dovecot's UIDs, not its file names, say the order.
DOVECOT_APPENDS = [
    ("INBOX", "()", '"01-Jan-2020 10:00:00 +0000"', b"Subject: plain\r\n\r\nnothing set\r\n"),
    ("INBOX", r"(\Seen)", '"02-Feb-2021 11:30:00 -0500"', b"Subject: seen\r\n\r\nFrom here on\r\n.\r\n"),
    ("INBOX", r"(\Answered $Label1)", '"03-Mar-2022 23:59:59 +0200"',
     b"Subject: =?utf-8?q?r=C3=A9ponse?=\r\nX-Long: a\r\n folded header\r\n\r\nvoil\xc3\xa0\r\n"),
    ("INBOX", r"(\Flagged Work)", None, b"Subject: flagged\r\n\r\n" + b"x" * 990 + b"\r\n"),
    ("INBOX", r"(\Deleted \Seen)", '"04-Apr-2023 04:04:04 +0000"', b"Subject: deleted, not expunged\r\n\r\ngone?\r\n"),
    ("INBOX", "()", '"05-May-2024 05:05:05 +0000"', b"Subject: unseen again\r\n\r\nnew/\r\n"),
    ("INBOX", r"(\Draft $Label1 Work)", '"06-Jun-2025 06:06:06 -0700"', b"Subject: draft\r\n\r\nno end of line"),
    ("Sub/Folder", r"(\Seen Work)", '"07-Jul-2025 07:07:07 +0000"', b"Subject: sub one\r\n\r\nin a subfolder\r\n"),
    ("Sub/Folder", "()", '"08-Aug-2025 08:08:08 +0000"', b"Subject: sub two\r\n\r\nunseen\r\n"),
    # "Körbe", in IMAP's modified UTF-7 as both servers name it without UTF8=ACCEPT.
    ("K&APY-rbe", r"(\Answered)", '"09-Sep-2025 09:09:09 +0000"', b"Subject: baskets\r\n\r\nsloe\r\n"),
]


@pytest.fixture
def dovecot():
    why = dovecot_available(imap=True)
    if why:
        pytest.skip(why)
    d = Dovecot({DOVECOT_USER: DOVECOT_PASSWORD}, imap=True)
    yield d
    d.stop()


def dovecot_imap(d: Dovecot) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", d.imap_port, timeout=IO_TIMEOUT)
    c.starttls(insecure_tls())
    c.login(DOVECOT_USER, DOVECOT_PASSWORD)
    return c


def instant(date: str) -> float:
    """An IMAP date-time (RFC 3501 §9) as Unix seconds."""
    return datetime.datetime.strptime(date.strip().strip('"').strip(), "%d-%b-%Y %H:%M:%S %z").timestamp()


def test_maildir_written_by_dovecot_comes_across_whole(make_server, dovecot):
    """Dovecot itself writes the Maildir (APPEND over its IMAP): file names,
    dovecot-keywords per folder, dovecot-uidlist, `.Sub.Folder`, mUTF-7
    names; Postern imports it and serves the same messages, flags, keywords,
    INTERNALDATEs and folders, in the same order, byte for byte."""
    c = dovecot_imap(dovecot)
    for folder in sorted({f for f, _, _, _ in DOVECOT_APPENDS} - {"INBOX"}):
        typ, data = c.create(f'"{folder}"')
        assert typ == "OK", data
    for folder, flags, date, message in DOVECOT_APPENDS:
        typ, data = c.append(f'"{folder}"', flags, date, message)
        assert typ == "OK", data
    c.logout()
    folders = ["INBOX", "Sub/Folder", "K&APY-rbe"]
    theirs = {f: mailbox_state(dovecot_imap(dovecot), f) for f in folders}
    # Dovecot kept what it was given (dates as instants; it answers in UTC).
    for folder in folders:
        sent = [(flags, date, m) for f, flags, date, m in DOVECOT_APPENDS if f == folder]
        got = theirs[folder]
        assert [m for _, _, m in got] == [m for _, _, m in sent], folder
        assert [f for f, _, _ in got] == [" ".join(sorted(f.strip("()").split())) for f, _, _ in sent], folder
        dated = [(g[1], d) for g, (_, d, _) in zip(got, sent) if d]
        assert [instant(g) for g, _ in dated] == [instant(d) for _, d in dated], folder
    maildir = dovecot.maildir(DOVECOT_USER)
    assert (maildir / "dovecot-keywords").read_text() == "0 $Label1\n1 Work\n"
    assert (maildir / ".Sub.Folder" / "cur").is_dir() and (maildir / ".K&APY-rbe" / "cur").is_dir()
    assert len(os.listdir(maildir / "new")) == 2, "unflagged mail waits in new/"

    server = make_server(listen=LISTEN)
    p = server.cli("import", ALICE, "--maildir", str(maildir))
    assert "INBOX: 7 messages" in p.stdout and "Sub/Folder: 2 messages" in p.stdout, p.stdout
    assert "Körbe: 1 messages" in p.stdout and "imported 10 messages for alice@example.org" in p.stdout, p.stdout
    for folder in folders:
        assert folder_state(server, folder) == theirs[folder], folder


def test_dovecot_fs_layout_under_a_folder(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    root = tmp_path / "mail"
    for d in ["INBOX", "Lists/rust"]:
        for sub in ["cur", "new", "tmp"]:
            (root / d / sub).mkdir(parents=True)
    write(root / "INBOX" / "cur" / "1700000000.M1P1.h:2,S", "Subject: a\n\nx\n", 1_700_000_000)
    write(root / "Lists" / "rust" / "cur" / "1700000001.M2P1.h:2,F", "Subject: b\n\ny\n", 1_700_000_001)
    p = server.cli("import", ALICE, "--maildir", str(root), "--folder", "Old")
    assert "Old/INBOX: 1 messages" in p.stdout and "Old/Lists/rust: 1 messages" in p.stdout, p.stdout
    assert [f for f, _, _ in folder_state(server, "Old/Lists/rust")] == ["\\Flagged"]


def test_mbox_export_round_trips_flags_dates_and_from_lines(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    toks = [token() for _ in range(3)]
    server.deliver(toks[0])
    # A body line starting "From " and one already quoted: mboxrd quotes both, import unquotes both.
    server.deliver(toks[1], body="From here on\r\n>From there\r\n\r\n")
    server.deliver(toks[2])
    c = imaps(server)
    c.select("INBOX")
    c.uid("STORE", "1", "+FLAGS", r"(\Seen)")
    c.uid("STORE", "2", "+FLAGS", r"(\Answered $Work)")
    c.uid("STORE", "3", "+FLAGS", r"(\Flagged \Draft)")
    c.logout()
    mbox = tmp_path / "alice.mbox"
    mbox.write_text(server.cli("export", ALICE, "--flags").stdout)
    assert "\n>From here on\n>>From there\n" in mbox.read_text()
    p = server.cli("import", BOB, "--mbox", str(mbox), "--folder", "From Alice")
    assert "From Alice: 3 messages" in p.stdout, p.stdout
    assert "kept as text" not in p.stdout
    before = folder_state(server, "INBOX")
    after = folder_state(server, "From Alice", BOB, BOB_PASSWORD)
    assert after == before
    assert [f for f, _, _ in after] == ["\\Seen", "$Work \\Answered", "\\Draft \\Flagged"]
    # Without --flags the export is what it was: no Status headers.
    assert "Status:" not in server.cli("export", ALICE).stdout


def test_maildir_export_reads_back(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    root = tmp_path / "Maildir"
    dovecot_maildir(root)
    server.cli("import", ALICE, "--maildir", str(root))
    out = tmp_path / "exported"
    p = server.cli("export", ALICE, "--maildir", str(out))
    assert "INBOX: 3 messages" in p.stdout, p.stdout
    names = sorted(os.listdir(out / "cur"))
    assert names[0].startswith("1700000000.") and names[0].endswith(":2,FSa"), names
    assert (out / "dovecot-keywords").read_text() == "0 $Work\n1 Later\n"
    assert os.stat(out / "cur" / names[0]).st_mtime == 1_700_000_000
    assert (out / ".Work.2026" / "cur").is_dir()
    assert len(os.listdir(out / ".K&APY-rbe" / "cur")) == 1
    server.cli("import", BOB, "--maildir", str(out), "--folder", "Copy")
    assert folder_state(server, "Copy/Work/2026", BOB, BOB_PASSWORD)[0][0] == "Later"
    assert [(f, d) for f, d, _ in folder_state(server, "Copy", BOB, BOB_PASSWORD)] == [
        (f, d) for f, d, _ in folder_state(server, "INBOX")
    ]


def test_malformed_from_lines_are_kept_and_reported(make_server, tmp_path):
    server = make_server(listen=LISTEN)
    mbox = tmp_path / "mboxo"
    mbox.write_text(
        "From a@example.net Thu Nov 14 22:13:20 2023\n"
        "Subject: one\n"
        "\n"
        "Dear all,\n"
        "From what I hear, this line was never quoted.\n"
        "\n"
        "From the desk of nobody, and no date\n"
        "\n"
        "From b@example.net Thu Nov 14 22:15:00 2023\n"
        "Subject: two\n"
        "\n"
        "bye\n"
    )
    p = server.cli("import", ALICE, "--mbox", str(mbox))
    assert "INBOX: 2 messages" in p.stdout, p.stdout
    assert '2 "From " lines were no separator and were kept as text (unquoted mboxo?): lines 5, 7' in p.stdout, p.stdout
    msgs = folder_state(server, "INBOX")
    assert msgs[0][2] == (
        b"Subject: one\r\n\r\nDear all,\r\nFrom what I hear, this line was never quoted.\r\n\r\n"
        b"From the desk of nobody, and no date\r\n"
    )
    assert msgs[0][1] == imap_date(1_700_000_000)
    assert msgs[1][2] == b"Subject: two\r\n\r\nbye\r\n"


def peak_rss_kb(cmd: list[str]) -> tuple[str, int]:
    """Runs `cmd` under a Python of its own, so RUSAGE_CHILDREN's peak is
    this command's alone (not the earlier CLI runs', e.g. argon2 in user add)."""
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=1200)\n"
        "sys.stdout.write(p.stdout.decode())\n"
        "print(f'PEAK {p.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}')\n"
    )
    p = subprocess.run([sys.executable, "-c", probe, *cmd], stdout=subprocess.PIPE, timeout=1300, check=True)
    out = p.stdout.decode()
    code, peak = re.search(r"^PEAK (-?\d+) (\d+)$", out, re.M).groups()
    assert code == "0", out
    return out, int(peak)


def test_large_mbox_streams_in_bounded_memory(make_server, tmp_path):
    """~200 MB of mbox (POSTERN_BIG_MBOX_MB) imported with a peak RSS under
    RSS_LIMIT_KB: the importer holds one line, never a message or the file."""
    server = make_server(start=False)
    mbox = tmp_path / "big.mbox"
    line = ("x" * 998 + "\n").encode()
    per_message = 1000  # lines, ~1 MB a message
    messages = BIG_MBOX_MB
    with open(mbox, "wb") as f:
        for i in range(messages):
            f.write(f"From a@example.net Thu Nov 14 22:13:20 2023\nSubject: big {i}\n\n".encode())
            f.write(line * per_message)
            f.write(b"\n")
    try:
        started = time.monotonic()
        out, peak = peak_rss_kb([server.bin, "--data", str(server.data), "import", ALICE, "--mbox", str(mbox)])
        took = time.monotonic() - started
        assert f"INBOX: {messages} messages" in out, out
        print(f"imported {mbox.stat().st_size >> 20} MB in {took:.1f} s, peak RSS {peak} kB")
        assert peak < RSS_LIMIT_KB, f"peak RSS {peak} kB for a {mbox.stat().st_size >> 20} MB mbox"
    finally:
        mbox.unlink()
