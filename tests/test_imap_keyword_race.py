"""Keywords under concurrency (issue 18 item 1): RFC 3501 §7.2.6 / RFC 9051
§7.3.5 for every session, whichever session created the keyword and whichever
command first shows it. Session A (imaplib) changes the mailbox; session B
(raw socket) is selected on it, and every untagged response B receives is
checked in order against the two rules imaptest checks:

- a FETCH shows a keyword only once an earlier FLAGS announced it
  ("Keyword used without being in FLAGS");
- a FLAGS never leaves out a keyword that a message in B's view still
  carries ("Keyword '$x' dropped, but it still had N references").

Deterministic: A's change is complete (tagged OK) before B's command."""

import re

import pytest

from harness import ALICE, token
from test_imap import IMAP_LISTEN, RawImap, imaps

LITERAL = re.compile(r"\{(\d+)\+?\}$")


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def message(tok: str) -> bytes:
    return f"From: a@example.net\r\nTo: {ALICE}\r\nSubject: {tok}\r\n\r\nbody {tok}\r\n".encode()


def keywords(flag_list: str) -> set[str]:
    return {f.lower() for f in flag_list.split() if not f.startswith("\\")}


class Watcher(RawImap):
    """Session B: reads whole responses (literals included) and keeps the
    view a client builds from them, asserting both rules on each line."""

    def __init__(self, server):
        super().__init__(server.addr("imaps"), tls=True)
        self.login()
        self.announced: set[str] | None = None
        self.msgs: list[set[str]] = []
        self.seen: list[str] = []

    def response(self) -> str:
        line = self.line()
        while m := LITERAL.search(line):
            n = int(m.group(1))
            while len(self.buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError(self.buf)
                self.buf += chunk
            self.buf = self.buf[n:]
            line = line[: m.start()] + "<literal>" + self.line()
        self.check(line)
        return line

    def check(self, line: str) -> None:
        self.seen.append(line)
        history = "\n".join(self.seen[-12:])
        if m := re.match(r"\* FLAGS \((.*)\)$", line):
            new = keywords(m.group(1))
            in_use = set().union(*self.msgs)
            assert in_use <= new, f"FLAGS dropped {in_use - new}, still in use:\n{history}"
            self.announced = new
        elif m := re.match(r"\* OK \[PERMANENTFLAGS \((.*)\)\]", line):
            perm = m.group(1)
            assert "\\*" in perm.split(), line
            assert self.announced is not None and self.announced <= keywords(perm), history
        elif m := re.match(r"\* (\d+) EXISTS$", line):
            n = int(m.group(1))
            self.msgs.extend(set() for _ in range(n - len(self.msgs)))
        elif m := re.match(r"\* (\d+) EXPUNGE$", line):
            del self.msgs[int(m.group(1)) - 1]
        elif m := re.match(r"\* (\d+) FETCH \(.*\bFLAGS \(([^)]*)\)", line):
            shown = keywords(m.group(2))
            unknown = shown - (self.announced or set())
            assert not unknown, f"{unknown} shown before a FLAGS announced it:\n{history}"
            self.msgs[int(m.group(1)) - 1] = shown

    def run(self, tag: str, text: str) -> list[str]:
        self.send(f"{tag} {text}\r\n")
        return self.until(tag + " ")

    def until(self, prefix: str) -> list[str]:
        lines = []
        while True:
            lines.append(self.response())
            if lines[-1].startswith(prefix):
                return lines

    def ok(self, tag: str, text: str) -> list[str]:
        lines = self.run(tag, text)
        assert lines[-1].startswith(f"{tag} OK"), lines
        return lines

    def showed(self, keyword: str) -> bool:
        return any(keyword.lower() in m for m in self.msgs)


def setup(server, n=3):
    """A (imaplib) with INBOX selected holding n messages, B selected on it."""
    a = imaps(server)
    for _ in range(n):
        assert a.append("INBOX", None, None, message(token()))[0] == "OK"
    assert a.select("INBOX")[0] == "OK"
    b = Watcher(server)
    b.ok("s", "SELECT INBOX")
    assert len(b.msgs) == n and b.announced == set()
    return a, b


def store(a, seq: str, op: str, flags: str) -> None:
    typ, data = a.store(seq, op, flags)
    assert typ == "OK", data


def test_keyword_of_a_new_message_announced_before_fetch(imap_server):
    """APPEND by another session with a new keyword: B learns of the message
    by NOOP, then its FETCH shows the keyword — after a FLAGS with it. And a
    later FLAGS (another new keyword) still carries it."""
    a, b = setup(imap_server)
    assert a.append("INBOX", "($Fresh1)", None, message(token()))[0] == "OK"
    b.ok("n", "NOOP")
    assert len(b.msgs) == 4
    b.ok("f", "FETCH 1:* (UID FLAGS)")
    assert b.showed("$Fresh1")
    store(a, "1", "+FLAGS", "($Later)")
    b.ok("n2", "NOOP")
    assert b.showed("$Later") and {"$fresh1", "$later"} <= b.announced


def test_keyword_shown_by_fetch_that_sets_seen(imap_server):
    """A FETCH of BODY[TEXT] sets \\Seen and reports FLAGS as the store has
    them now, with a keyword A set that B has not heard of yet."""
    a, b = setup(imap_server)
    store(a, "2", "+FLAGS", "($Fetched)")
    lines = b.ok("f", "FETCH 2 (BODY[TEXT])")
    assert b.showed("$Fetched"), lines
    assert any("\\Seen" in l and "FETCH" in l for l in lines), lines


def test_keywords_of_others_in_own_store_response(imap_server):
    """B's STORE of its own new keyword on two messages on which A set two
    other new keywords: each FETCH comes after a FLAGS naming all it shows."""
    a, b = setup(imap_server)
    store(a, "1", "+FLAGS", "($Theirs1)")
    store(a, "2", "+FLAGS", "($Theirs2)")
    lines = b.ok("st", "STORE 1:2 +FLAGS ($Mine)")
    assert b.showed("$Theirs1") and b.showed("$Theirs2") and b.showed("$Mine"), lines
    # Nothing new: no second announcement.
    again = b.ok("st2", "STORE 1:2 +FLAGS ($Mine)")
    assert not any(l.startswith("* FLAGS") for l in again), again


def test_keywords_reach_an_idle_session_in_order(imap_server):
    """In IDLE: a new message with a keyword (EXISTS), then a flag change on
    an old one; after DONE, a FETCH of everything."""
    a, b = setup(imap_server)
    b.send("i IDLE\r\n")
    assert b.response().startswith("+ ")
    assert a.append("INBOX", "($Idle1)", None, message(token()))[0] == "OK"
    b.until("* 4 EXISTS")
    store(a, "2", "+FLAGS", "($Idle2)")
    b.until("* 2 FETCH")
    b.send("DONE\r\n")
    b.until("i OK")
    b.ok("f", "FETCH 1:* FLAGS")
    assert b.showed("$Idle1") and b.showed("$Idle2")


def test_search_keyword_then_unsolicited_fetch(imap_server):
    """SEARCH KEYWORD for a keyword A just created: the unsolicited FETCH
    after the SEARCH comes after the FLAGS announcing it."""
    a, b = setup(imap_server)
    store(a, "3", "+FLAGS", "($Searched)")
    lines = b.ok("se", "SEARCH KEYWORD $Searched")
    assert b.showed("$Searched"), lines
    lines = b.ok("se2", "SEARCH KEYWORD $Searched")
    assert "* SEARCH 3" in lines, lines


def test_flags_keep_a_keyword_no_message_uses_any_more(imap_server):
    """Removing the last use of a keyword does not drop it from FLAGS
    while selected (a superset is allowed; a client may still hold it)."""
    a, b = setup(imap_server)
    store(a, "1", "+FLAGS", "($Gone)")
    b.ok("n", "NOOP")
    store(a, "1", "-FLAGS", "($Gone)")
    store(a, "2", "+FLAGS", "($Next)")
    lines = b.ok("n2", "NOOP")
    flags = [l for l in lines if l.startswith("* FLAGS")]
    assert flags and "$Gone" in flags[-1] and "$Next" in flags[-1], lines


def test_watcher_catches_a_keyword_shown_unannounced():
    """The checker itself: it fails on the two faults imaptest reports."""
    w = Watcher.__new__(Watcher)
    w.announced, w.msgs, w.seen = None, [set()], []
    w.check("* FLAGS (\\Seen $A)")
    w.check("* 1 FETCH (FLAGS ($A))")
    with pytest.raises(AssertionError, match="shown before"):
        w.check("* 1 FETCH (FLAGS ($B))")
    with pytest.raises(AssertionError, match="dropped"):
        w.check("* FLAGS (\\Seen)")

