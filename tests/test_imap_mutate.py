"""IMAP (issue 3): APPEND, COPY, MOVE, UIDPLUS, QUOTA, APPENDLIMIT and SEARCH,
with imaplib and raw sockets against the real binary."""

import base64
import imaplib
import re
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, IO_TIMEOUT, POP3_LISTEN, insecure_tls, token
from test_imap import IMAP_LISTEN, RawImap, imaps

CAROL = "carol@example.org"
CAROL_PASSWORD = "Christmas-3-Song"


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def message(tok, subject=None, sender="Sender <sender@example.net>", to=ALICE, date="Fri, 05 Jan 2024 10:00:00 +0100", body="Hello.\r\n", extra="", token_line=True):
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject or 'test ' + tok}\r\nDate: {date}\r\nMessage-ID: <{tok}@client.test>\r\n{extra}\r\n"
    first = f"token {tok}\r\n".encode() if token_line else b""
    return head.encode() + first + (body.encode() if isinstance(body, str) else body)


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def code(data, name):
    """The numbers of a response code such as APPENDUID in a reply's text."""
    text = b" ".join(d if isinstance(d, bytes) else b"" for d in data).decode()
    m = re.search(r"\[" + name + r" ([^\]]*)\]", text)
    assert m, f"no [{name} ...] in {text!r}"
    return m.group(1).split()


def uidvalidity(c, mailbox):
    typ, data = c.status(mailbox, "(UIDVALIDITY)")
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


# ---------------------------------------------------------------- APPEND


def test_capabilities_after_login(imap_server):
    c = imaps(imap_server)
    caps = c.capabilities
    for cap in ["UIDPLUS", "MOVE", "QUOTA", "QUOTA=RES-STORAGE", f"APPENDLIMIT={50 << 20}"]:
        assert cap in caps, caps


def test_append_with_flags_and_date_round_trips_byte_exact(imap_server):
    tok = token()
    # 8-bit text and a long line: stored and given back exactly as sent.
    raw = message(tok, body="Gr\u00fc\u00dfe aus K\u00f6ln\r\n".encode() + b"x" * 5000 + b"\r\n")
    c = imaps(imap_server)
    data = ok(c.append("INBOX", r"(\Seen $Work)", '"05-Jan-2024 10:00:00 +0100"', raw))
    validity, uid = map(int, code(data, "APPENDUID"))
    assert validity == uidvalidity(c, "INBOX")
    c.select("INBOX")
    typ, data = c.uid("FETCH", str(uid), "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    head, body = data[0]
    assert body == raw
    assert b"$Work" in head and b"\\Seen" in head, head
    assert b'INTERNALDATE "05-Jan-2024 09:00:00 +0000"' in head, head
    assert f"RFC822.SIZE {len(raw)}".encode() in head
    # Without flags and date: no flags, INTERNALDATE about now; UIDs go up.
    data = ok(c.append("Archive", None, None, message(token())))
    assert int(code(data, "APPENDUID")[1]) == 1
    data = ok(c.append("INBOX", None, None, message(token())))
    assert int(code(data, "APPENDUID")[1]) == uid + 1


def test_append_into_the_selected_mailbox_announces_it(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    r.cmd("s", "SELECT INBOX")
    msg = message(token())
    r.send(f"a APPEND INBOX {{{len(msg)}}}\r\n")
    assert r.line().startswith("+ ")
    r.send(msg + b"\r\n")
    lines = r.until_tagged("a")
    assert "* 1 EXISTS" in lines, lines
    assert re.match(r"a OK \[APPENDUID \d+ 1\]", lines[-1]), lines


def test_append_refusals_keep_the_session_in_step(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    # No such mailbox: refused before the "+", the client never sends the literal.
    r.send("a APPEND Nowhere {10}\r\n")
    assert r.line() == "a NO [TRYCREATE] Mailbox does not exist"
    # Non-synchronising (LITERAL-): the literal is on its way and is skipped.
    r.send("b APPEND Nowhere {10+}\r\n0123456789\r\n")
    assert r.line().startswith("b NO [TRYCREATE]")
    r.send("c APPEND INBOX {12+}\r\nSubject: x\r\n\r\n")
    assert re.match(r"c OK \[APPENDUID \d+ 1\]", r.until_tagged("c")[-1])
    # MULTIAPPEND (RFC 3502) with a refused second message: neither is kept.
    r.send("d APPEND INBOX {12+}\r\nSubject: y\r\n {0+}\r\n\r\n")
    assert r.until_tagged("d")[-1].startswith("d NO")
    # \Recent cannot be set; an empty message is refused; a NUL is not CHAR8.
    assert r.cmd("e", "APPEND INBOX (\\Recent) {1+}\r\nx")[-1].startswith("e BAD")
    assert r.cmd("f", "APPEND INBOX {0}")[-1].startswith("f NO")
    r.send("g APPEND INBOX {3}\r\n")
    assert r.line().startswith("+")
    r.send(b"a\0b\r\n")
    assert r.until_tagged("g")[-1].startswith("g BAD")
    assert r.cmd("h", "STATUS INBOX (MESSAGES)")[0] == '* STATUS "INBOX" (MESSAGES 1)'
    # literal8 (RFC 3516): taken, but NUL in a header cannot be stored.
    r.send(b"j APPEND INBOX ~{3+}\r\na\0b\r\n")
    assert r.until_tagged("j")[-1].startswith("j NO [UNKNOWN-CTE]")
    r.send("k APPEND INBOX ~{12+}\r\nSubject: k\r\n\r\n")
    assert re.match(r"k OK \[APPENDUID \d+ 2\]", r.until_tagged("k")[-1])
    # A client that goes away mid-literal leaves nothing behind.
    r.send("i APPEND INBOX {100}\r\n")
    assert r.line().startswith("+")
    r.send("Subject: cut short")
    r.close()
    c = imaps(imap_server)
    assert b"MESSAGES 2" in c.status("INBOX", "(MESSAGES)")[1][0]


def test_multiappend_keeps_all_or_none(imap_server):
    """RFC 3502: several messages in one APPEND, each with its own flags and
    date, synchronising and not; one transaction, APPENDUID with every UID.
    More than MAX_MULTIAPPEND (1000) messages: refused, none kept."""
    assert "MULTIAPPEND" in imaps(imap_server).capabilities
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    assert r.cmd("s", "SELECT Drafts")[-1].startswith("s OK")
    one, two = b"Subject: one\r\n\r\n1\r\n", b"Subject: two\r\n\r\n2\r\n"
    r.send(b"a APPEND Drafts (\\Seen) {%d}\r\n" % len(one))
    assert r.line().startswith("+")
    r.send(one + b' (\\Flagged $Two) "05-Jan-2024 10:00:00 +0100" {%d}\r\n' % len(two))
    assert r.line().startswith("+"), "the second literal is invited too"
    r.send(two + b" {%d+}\r\n" % len(one) + one + b"\r\n")
    lines = r.until_tagged("a")
    assert re.match(r"a OK \[APPENDUID \d+ 1:3\]", lines[-1]), lines
    assert "* 3 EXISTS" in lines, lines
    f = r.cmd("f", "FETCH 1:3 (FLAGS INTERNALDATE)")
    assert "\\Seen" in f[0] and "$Two" in f[1] and "05-Jan-2024 09:00:00 +0000" in f[1], f
    # Over the limit: the 1001st message is refused, none of them kept.
    many = b"".join(b" {%d+}\r\n" % len(one) + one for _ in range(1000))
    r.send(b"b APPEND Drafts {%d+}\r\n" % len(one) + one + many + b"\r\n")
    assert r.until_tagged("b")[-1].startswith("b NO [LIMIT]")
    assert r.cmd("c", "STATUS Drafts (MESSAGES)")[0] == '* STATUS "Drafts" (MESSAGES 3)'


def test_append_binary_literal8_is_stored_as_base64(imap_server):
    """RFC 3516 §4.4: a ~{N} message whose part carries NUL is kept with that
    part re-encoded as base64; BINARY gives the octets back (imaptest
    append-binary). Over MAX_BINARY_APPEND (8 MiB) it is refused instead."""
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    content = b"\0-\xe4\n\r\n\n"
    msg = b"From: user@example.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + content
    r.send(b"a APPEND INBOX ~{%d}\r\n" % len(msg))
    assert r.line().startswith("+")
    r.send(msg + b"\r\n")
    assert r.until_tagged("a")[-1].startswith("a OK [APPENDUID")
    c = imaps(imap_server)
    c.select("INBOX", readonly=True)
    typ, data = c.fetch("1", "(BODY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1] BODY.PEEK[HEADER])")
    assert typ == "OK", data
    assert data[0][1] == base64.b64encode(content) + b"\r\n", data
    assert b"BINARY.SIZE[1] 7" in data[1][0] and data[1][1] == content, data
    assert b"Content-Transfer-Encoding: base64" in data[2][1], data
    # The limit: a larger binary message with NUL is read and refused.
    big = b"Subject: big\r\n\r\n" + b"\0" * (8 * 1024 * 1024 + 1)
    r.send(b"b APPEND INBOX ~{%d}\r\n" % len(big))
    assert r.line().startswith("+")
    r.sock.sendall(big + b"\r\n")
    assert r.until_tagged("b")[-1].startswith("b NO [UNKNOWN-CTE]")
    assert b"MESSAGES 1" in c.status("INBOX", "(MESSAGES)")[1][0]


def test_append_over_appendlimit_is_refused_before_reading(make_server):
    server = make_server(config={"smtp.max_message_size": "2K"}, listen=IMAP_LISTEN)
    c = imaps(server)
    assert "APPENDLIMIT=2048" in c.capabilities, c.capabilities
    r = RawImap(server.addr("imaps"), tls=True)
    r.login()
    r.send("a APPEND INBOX {2049}\r\n")
    assert r.line() == "a NO [TOOBIG] Message larger than APPENDLIMIT"
    r.send("b APPEND INBOX {4294967295}\r\n")
    assert r.line().startswith("b NO [TOOBIG]")
    assert r.cmd("c", "NOOP")[-1] == "c OK NOOP completed"
    # Exactly at the limit is fine.
    msg = message(token())
    msg += b"x" * (2048 - len(msg))
    data = ok(c.append("INBOX", None, None, msg))
    assert code(data, "APPENDUID")
    # A non-synchronising literal over APPENDLIMIT (RFC 7888 §4) is not read: BAD, BYE.
    r.send("d APPEND INBOX {5000+}\r\n")
    assert r.line().startswith("d BAD [TOOBIG]")
    assert r.line().startswith("* BYE")


def test_large_append_streams_to_disk(imap_server):
    c = imaps(imap_server)
    c.select("INBOX")
    before = imap_server.peak_rss_kb()
    big = message(token(), body=("y" * 998 + "\r\n") * 20_000)  # 20 MB
    data = ok(c.append("INBOX", None, None, big))
    uid = code(data, "APPENDUID")[1]
    grew = imap_server.peak_rss_kb() - before
    assert grew < 12_000, f"server memory grew by {grew} kB for a 20 MB APPEND"
    typ, data = c.uid("FETCH", uid, "(RFC822.SIZE)")
    assert f"RFC822.SIZE {len(big)}".encode() in data[0]
    typ, data = c.uid("FETCH", uid, "(BODY.PEEK[])")
    assert data[0][1] == big


# ---------------------------------------------------------------- quota


def add_carol(server, quota):
    server.cli("user", "add", CAROL, "--password-stdin", "--quota", quota, input=CAROL_PASSWORD + "\n")


def test_quota_is_reported_and_enforced(imap_server):
    add_carol(imap_server, "10K")
    c = imaps(imap_server, CAROL, CAROL_PASSWORD)
    typ, data = c.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'"INBOX" ""'] and data[1] == [b'"" (STORAGE 0 10)'], data
    first = message(token(), body="z" * 6000)
    ok(c.append("INBOX", None, None, first))
    typ, data = c.getquota('""')
    assert data == [f'"" (STORAGE {-(-len(first) // 1024)} 10)'.encode()], data
    typ, data = c.append("INBOX", None, None, message(token(), body="z" * 6000))
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    c.select("INBOX")
    typ, data = c.copy("1", "Archive")
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    # A move takes no more room.
    typ, data = c._simple_command("MOVE", "1", "Archive")
    assert typ == "OK", data
    typ, data = c._simple_command("SETQUOTA", '""', "(STORAGE 99999)")
    assert typ == "NO"
    typ, data = c.getquota('"other"')
    assert typ == "NO"
    # Unlimited users have a root with no resource limits.
    a = imaps(imap_server)
    typ, data = a.getquotaroot("INBOX")
    assert data[1] == [b'"" ()'], data


# ---------------------------------------------------------------- COPY, MOVE


def fill(c, mailbox, count, **kw):
    uids = []
    for _ in range(count):
        data = ok(c.append(mailbox, None, None, message(token(), **kw)))
        uids.append(int(code(data, "APPENDUID")[1]))
    return uids


def test_copy_reports_copyuid(imap_server):
    c = imaps(imap_server)
    fill(c, "INBOX", 4)
    fill(c, "Archive", 2)
    c.select("INBOX")
    c.store("2", "+FLAGS", r"(\Flagged)")
    # imaplib's uid() returns untagged data; the tagged text holds COPYUID.
    typ, data = c._simple_command("UID", "COPY", "2:4", "Archive")
    assert typ == "OK", data
    validity, src, dst = code(data, "COPYUID")
    assert (int(validity), src, dst) == (uidvalidity(c, "Archive"), "2:4", "3:5")
    typ, data = c.copy("1,3", "Archive")
    assert code(data, "COPYUID")[1:] == ["1,3", "6:7"]
    typ, data = c.copy("1", "Nowhere")
    assert typ == "NO" and b"[TRYCREATE]" in data[0]
    typ, data = c._simple_command("UID", "COPY", "99", "Archive")
    assert typ == "OK" and b"COPYUID" not in data[0], "nothing copied, no COPYUID"
    c.select("Archive", readonly=True)
    typ, data = c.uid("FETCH", "3", "(FLAGS)")
    assert b"\\Flagged" in data[0], "flags copied"
    assert len(c.search(None, "ALL")[1][0].split()) == 7
    # The source is untouched.
    c.select("INBOX")
    assert len(c.search(None, "ALL")[1][0].split()) == 4


def test_move_answers_copyuid_then_expunges(imap_server):
    c = imaps(imap_server)
    fill(c, "INBOX", 5)
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    r.cmd("s", "SELECT INBOX")
    lines = r.cmd("m", "UID MOVE 2,4:5 Archive")
    v = uidvalidity(c, "Archive")
    assert lines == [f"* OK [COPYUID {v} 2,4:5 1:3] Moved", "* 5 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE", "m OK MOVE completed"], lines
    assert r.cmd("f", "FETCH 1:* (UID)")[:-1] == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"]
    lines = r.cmd("n", "MOVE 2 Archive")
    assert lines[0] == f"* OK [COPYUID {v} 3 4] Moved" and lines[1] == "* 2 EXPUNGE", lines
    assert r.cmd("t", "MOVE 1 Nowhere")[-1].startswith("t NO [TRYCREATE]")
    r.cmd("e", "EXAMINE INBOX")
    assert r.cmd("u", "MOVE 1 Archive")[-1].startswith("u NO")
    # Another session with INBOX selected learns of the expunges.
    c.select("Archive")
    assert len(c.search(None, "ALL")[1][0].split()) == 4


def test_move_keeps_pop3_uidl(make_server):
    server = make_server(listen={**IMAP_LISTEN, **POP3_LISTEN})
    tok = token()
    server.deliver(tok)
    server.wait_for_message(ALICE, tok)

    def uidl():
        p = server.pop3_login()
        try:
            return [line.split()[1] for line in p.uidl()[1]]
        finally:
            p.quit()

    before = uidl()
    assert len(before) == 1
    c = imaps(server)
    c.select("INBOX")
    ok(c.store("1", "+FLAGS", "(\\Flagged \\Seen $Work)"))
    c.close()
    assert uidl() == before, "UIDL changed across an IMAP flag change"
    c.select("INBOX")
    ok(c.uid("MOVE", "1", "Archive"))
    assert uidl() == []
    c.select("Archive")
    ok(c.uid("MOVE", "1", "INBOX"))
    c.logout()
    assert uidl() == before, "UIDL changed across INBOX -> Archive -> INBOX"
    # A copy is a new message with a UIDL of its own.
    c = imaps(server)
    c.select("INBOX")
    ok(c.copy("1", "INBOX"))
    c.logout()
    after = uidl()
    assert len(after) == 2 and after[0] == before[0] and after[1] != before[0], after


# ---------------------------------------------------------------- SEARCH


@pytest.fixture
def searchable(imap_server):
    """INBOX with four messages of known flags, dates, headers and bodies."""
    c = imaps(imap_server)
    c.append("INBOX", r"(\Seen)", '"01-Jan-2024 12:00:00 +0000"', message("m1", subject="Quarterly REPORT", sender="Alice Example <alice@example.org>", date="Mon, 1 Jan 2024 09:00:00 +0100", extra="X-Priority: 1\r\n", body="The numbers are in.\r\n"))
    c.append("INBOX", r"(\Answered \Flagged $Work)", '"02-Jan-2024 12:00:00 +0000"', message("m2", subject="=?utf-8?q?Sm=C3=B6rg=C3=A5sbord?=", sender="=?utf-8?q?Bj=C3=B6rn?= <bjorn@example.net>", date="Tue, 2 Jan 2024 23:59:00 -0800", extra="Cc: carol@example.com\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", body="SGVqIHDDpSBkaWcsIGJvbmpvdXIh\r\n", token_line=False))
    c.append("INBOX", r"(\Deleted \Draft)", '"03-Jan-2024 12:00:00 +0000"', message("m3", subject="draft", sender="carol@example.com", date="Wed, 3 Jan 2024 10:00:00 +0000", extra="Bcc: secret@example.org\r\n", body="nothing to see\r\n"))
    c.append("INBOX", None, '"04-Jan-2024 12:00:00 +0000"', message("m4", subject="no flags", date="Thu, 4 Jan 2024 10:00:00 +0000", body="plain body with the word REPORT and " + "padding " * 500 + "\r\n"))
    c.select("INBOX")
    return c


def found(c, *criteria, uid=False, charset=None):
    if uid:
        typ, data = c.uid("SEARCH", *([f"CHARSET {charset}"] if charset else []), *criteria)
    else:
        typ, data = c.search(charset, *criteria)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def test_search_flags_sets_sizes_dates(searchable):
    c = searchable
    assert found(c, "ALL") == [1, 2, 3, 4]
    assert found(c, "SEEN") == [1] and found(c, "UNSEEN") == [2, 3, 4]
    assert found(c, "ANSWERED") == [2] and found(c, "UNANSWERED") == [1, 3, 4]
    assert found(c, "FLAGGED") == [2] and found(c, "UNFLAGGED") == [1, 3, 4]
    assert found(c, "DELETED") == [3] and found(c, "UNDELETED") == [1, 2, 4]
    assert found(c, "DRAFT") == [3] and found(c, "UNDRAFT") == [1, 2, 4]
    assert found(c, "KEYWORD", "$work") == [2] and found(c, "UNKEYWORD", "$Work") == [1, 3, 4]
    # Appended, then selected first by this session: all recent (RFC 3501 §2.3.2).
    assert found(c, "RECENT") == [1, 2, 3, 4] and found(c, "NEW") == [2, 3, 4] and found(c, "OLD") == []
    assert found(c, "2:3") == [2, 3] and found(c, "*") == [4] and found(c, "1,4") == [1, 4]
    assert found(c, "UID", "2:3") == [2, 3]
    assert found(c, "UID", "3:*", uid=True) == [3, 4], "UID SEARCH answers UIDs"
    assert found(c, "LARGER", "3000") == [4] and found(c, "SMALLER", "3000") == [1, 2, 3]
    assert found(c, "BEFORE", "2-Jan-2024") == [1]
    assert found(c, "ON", "2-Jan-2024") == [2]
    assert found(c, "SINCE", "3-Jan-2024") == [3, 4]
    assert found(c, "SENTBEFORE", "2-Jan-2024") == [1]
    assert found(c, "SENTON", "2-Jan-2024") == [2], "Date: as written, zone disregarded"
    assert found(c, "SENTSINCE", "3-Jan-2024") == [3, 4]


def test_search_text_keys(searchable):
    c = searchable
    assert found(c, "FROM", "alice") == [1]
    assert found(c, "FROM", "BJORN@example.net") == [2]
    assert found(c, "TO", ALICE) == [1, 2, 3, 4]
    assert found(c, "CC", "carol") == [2]
    assert found(c, "BCC", "secret") == [3]
    assert found(c, "SUBJECT", "report") == [1]
    assert found(c, "HEADER", "X-Priority", "1") == [1]
    assert found(c, "HEADER", "x-priority", '""') == [1]
    assert found(c, "BODY", "bonjour") == [2], "base64 body decoded"
    assert found(c, "BODY", "report") == [4]
    assert found(c, "TEXT", "report") == [1, 4]
    # 8-bit needles come as literals, with CHARSET UTF-8; RFC 2047 words are decoded.
    c.literal = "bj\u00f6rn".encode()
    assert found(c, "FROM", charset="UTF-8") == [2]
    c.literal = "SM\u00d6RG\u00c5S".encode()
    assert found(c, "SUBJECT", charset="UTF-8") == [2]
    assert found(c, "SUBJECT", "draft", charset="US-ASCII") == [3]
    typ, data = c.search("KOI8-R", "ALL")
    assert typ == "NO" and data[0].startswith(b"[BADCHARSET (UTF-8 US-ASCII)]"), data


def test_search_combinations(searchable):
    c = searchable
    assert found(c, "NOT", "SEEN") == [2, 3, 4]
    assert found(c, "OR", "SEEN", "FLAGGED") == [1, 2]
    assert found(c, "SEEN", "FLAGGED") == []
    assert found(c, "(OR DELETED SEEN)", "SUBJECT", "draft") == [3]
    assert found(c, "NOT", "(OR 1 2)", "NOT", "DELETED") == [4]
    assert found(c, "OR", "(FROM carol TEXT nothing)", "UID 1") == [1, 3]
    assert found(c, "UNSEEN", "NOT", "OR", "BODY", "bonjour", "HEADER", "bcc", "secret") == [4]
    assert found(c, "UID", "1:3", "OR", "OR", "OR", "FROM", "alice", "SUBJECT", "draft", "CC", "carol", "BODY", "nobody", uid=True) == [1, 2, 3]


def test_deep_nesting_is_refused(imap_server, searchable):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    r.cmd("s", "SELECT INBOX")
    assert r.cmd("a", "SEARCH " + "NOT " * 8 + "ALL")[0] == "* SEARCH 1 2 3 4"
    assert r.cmd("b", "SEARCH " + "NOT " * 9 + "ALL")[-1].startswith("b BAD")
    assert r.cmd("c", "SEARCH " + "(" * 500 + "ALL" + ")" * 500)[-1].startswith("c BAD")
    assert r.cmd("d", "SEARCH " + "OR ALL " * 2000 + "ALL")[-1].startswith("d BAD")
    assert r.cmd("e", "NOOP")[-1] == "e OK NOOP completed"


def test_search_needs_a_selected_mailbox_and_is_cheap(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    assert r.cmd("a", "SEARCH ALL")[-1].startswith("a BAD")
    c = imaps(imap_server)
    fill(c, "INBOX", 3)
    c.select("INBOX")
    t = time.monotonic()
    big = ",".join(f"{i}:{i + 2}" for i in range(11, 10_000, 10))
    assert found(c, "UID", big, uid=True) == []
    assert found(c, "NOT", "UID", big, uid=True) == [1, 2, 3]
    assert time.monotonic() - t < 5


def test_esearch_return_options(imap_server, searchable):
    """RFC 4731: SEARCH RETURN (MIN MAX ALL COUNT) answers with one ESEARCH
    line carrying the command's tag; RETURN () means ALL."""
    c = searchable
    assert "ESEARCH" in c.capabilities
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    assert r.cmd("a", "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")[0] == '* ESEARCH (TAG "a") MIN 2 MAX 4 ALL 2:4 COUNT 3'
    assert r.cmd("b", "UID SEARCH RETURN () SEEN")[0] == '* ESEARCH (TAG "b") UID ALL 1'
    assert r.cmd("c", "SEARCH RETURN (COUNT) CHARSET UTF-8 SUBJECT nothing-like-it")[0] == '* ESEARCH (TAG "c") COUNT 0'
    assert r.cmd("d", "SEARCH RETURN (MIN) 1000")[0] == '* ESEARCH (TAG "d")'
    lines = r.cmd("e", "SEARCH RETURN (ALL) MODSEQ 1")
    assert lines[-2].startswith('* ESEARCH (TAG "e") ALL 1:4 MODSEQ '), lines
    assert r.cmd("f", "SEARCH RETURN (SAVE) ALL")[0].startswith("f OK"), "SAVE alone: no ESEARCH (RFC 5182 §2.4)"
    assert r.cmd("g", "SEARCH RETURN MIN ALL")[-1].startswith("g BAD")
