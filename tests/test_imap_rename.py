"""RENAME INBOX (issue 3, RFC 3501 §6.3.5, RFC 9051 §6.3.6): the messages move
to a new folder in one store transaction (fresh UIDs, flags kept), INBOX stays
and is empty, a session idling on INBOX sees the EXPUNGEs, and a name that
exists is refused with ALREADYEXISTS. imaplib and raw sockets against the real binary."""

import re

import pytest

from harness import make_message, token
from test_imap import IMAP_LISTEN, imaps
from test_imap_sync import ok, raw

COUNT = 50


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def fill_inbox(server):
    """COUNT messages in INBOX; every third \\Flagged, every fifth $Work. Their tokens."""
    c = imaps(server)
    toks = []
    for i in range(COUNT):
        tok = token()
        flags = " ".join(f for f, on in [("\\Flagged", i % 3 == 0), ("$Work", i % 5 == 0)] if on)
        typ, _ = c.append("INBOX", f"({flags})" if flags else None, None, make_message(tok))
        assert typ == "OK"
        toks.append(tok)
    c.logout()
    return toks


def flags_by_token(c, mailbox):
    typ, _ = c.select(mailbox)
    assert typ == "OK"
    typ, data = c.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta, header = item[0].decode(), item[1].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        flags = set(re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split())
        out[header.split(":", 1)[1].strip()] = (uid, flags)
    return out


def test_rename_inbox_moves_all_messages_with_flags(imap_server):
    toks = fill_inbox(imap_server)
    c = imaps(imap_server)
    before = flags_by_token(c, "INBOX")
    assert len(before) == COUNT
    c.close()
    c.create("INBOX/Kept")
    typ, data = c.rename("INBOX", "Archive/Old")
    assert typ == "OK", data
    assert c.select("INBOX") == ("OK", [b"0"]), "INBOX stays, empty"
    after = flags_by_token(c, "Archive/Old")
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}, "flags kept"
    assert sorted(v[0] for v in after.values()) == list(range(1, COUNT + 1)), "fresh UIDs from 1"
    assert set(after) == {f"test {t}" for t in toks}
    typ, data = c.list()
    names = b" ".join(data).decode()
    assert "INBOX/Kept" in names, "inferiors of INBOX are not renamed"
    c.logout()


def test_idling_session_sees_the_expunges(imap_server):
    fill_inbox(imap_server)
    r = raw(imap_server)
    ok(r.cmd("s", "SELECT INBOX"))
    r.send("i IDLE\r\n")
    assert r.line().startswith("+")
    c = imaps(imap_server)
    typ, data = c.rename("INBOX", "Moved")
    assert typ == "OK", data
    gone = [r.line() for _ in range(COUNT)]
    assert all(re.fullmatch(r"\* \d+ EXPUNGE", l) for l in gone), gone
    r.send("DONE\r\n")
    ok(r.until_tagged("i"))
    status = ok(r.cmd("st", "STATUS Moved (MESSAGES)"))
    assert f"MESSAGES {COUNT})" in status[0], status
    # A delivery after the rename lands in the (empty) INBOX.
    imap_server.deliver(token())
    assert c.select("INBOX") == ("OK", [b"1"])
    c.logout()


def test_rename_inbox_to_an_existing_name_is_refused(imap_server):
    fill_inbox(imap_server)
    r = raw(imap_server)
    ok(r.cmd("c", "CREATE Taken"))
    no = r.cmd("r", "RENAME INBOX Taken")[-1]
    assert no.startswith("r NO [ALREADYEXISTS]"), no
    no = r.cmd("r2", "RENAME INBOX inbox/sub")[-1]
    assert no.startswith("r2 NO"), no
    st = ok(r.cmd("st", "STATUS INBOX (MESSAGES)"))
    assert f"MESSAGES {COUNT})" in st[0], "nothing moved"
