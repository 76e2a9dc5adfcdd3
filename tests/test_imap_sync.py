"""IMAP resynchronisation (issue 3): CONDSTORE and QRESYNC (RFC 7162), and
RENAME INBOX (RFC 3501 §6.3.5), with raw sockets against the real binary."""

import re

import pytest

from harness import ALICE, token
from test_imap import IMAP_LISTEN, RawImap, imaps


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def raw(server):
    r = RawImap(server.addr("imaps"), tls=True)
    r.login()
    return r


def put(server, mailbox, n):
    """Appends n messages; returns their tokens."""
    c = imaps(server)
    toks = []
    for _ in range(n):
        tok = token()
        msg = f"From: a@example.net\r\nTo: {ALICE}\r\nSubject: {tok}\r\n\r\nbody {tok}\r\n".encode()
        typ, data = c.append(mailbox, None, None, msg)
        assert typ == "OK", data
        toks.append(tok)
    c.logout()
    return toks


def ok(lines):
    assert re.match(r"^\S+ OK", lines[-1]), lines
    return lines


def number(lines, pattern):
    for l in lines:
        m = re.search(pattern, l)
        if m:
            return int(m.group(1))
    raise AssertionError(f"{pattern!r} not in {lines}")


def test_capabilities_advertise_condstore_and_qresync(imap_server):
    r = raw(imap_server)
    caps = ok(r.cmd("c", "CAPABILITY"))[0].split()
    assert "CONDSTORE" in caps and "QRESYNC" in caps, caps
    assert "ESEARCH" in caps and "MULTIAPPEND" in caps, caps
    assert "UTF8=ACCEPT" in caps, caps  # RFC 6855, test_imap_utf8.py
    # Not implemented: never advertised.
    assert "IMAP4rev2" in caps and "SEARCHRES" in caps, caps


def test_literal_plus_after_login_literal_minus_before(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    before = r.cmd("c", "CAPABILITY")[0].split()
    assert "LITERAL-" in before and "LITERAL+" not in before, before
    r.login()
    after = ok(r.cmd("c2", "CAPABILITY"))[0].split()
    assert "LITERAL+" in after and "LITERAL-" not in after, after
    # Over 4096 octets, no continuation request waited for: APPEND (streamed)
    # and any other command (framed).
    msg = f"From: a@example.net\r\nSubject: big\r\n\r\n{'x' * 6000}\r\n"
    r.send(f"a APPEND INBOX {{{len(msg)}+}}\r\n{msg}\r\n")
    assert ok(r.until_tagged("a"))[-1].startswith("a OK")
    ok(r.cmd("s", "SELECT INBOX"))
    needle = "x" * 5000
    r.send(f"b SEARCH BODY {{{len(needle)}+}}\r\n{needle}\r\n")
    assert ok(r.until_tagged("b"))[0] == "* SEARCH 1"


def test_highestmodseq_only_once_condstore_is_enabled(imap_server):
    put(imap_server, "INBOX", 2)
    r = raw(imap_server)
    plain = ok(r.cmd("s1", "SELECT INBOX"))
    assert not any("HIGHESTMODSEQ" in l for l in plain), plain
    with_param = ok(r.cmd("s2", "SELECT INBOX (CONDSTORE)"))
    first = number(with_param, r"\[HIGHESTMODSEQ (\d+)\]")
    # STATUS HIGHESTMODSEQ agrees, and the value grows with each change.
    st = ok(r.cmd("st", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)"))
    assert number(st, r"HIGHESTMODSEQ (\d+)") == first
    ok(r.cmd("f", "STORE 1 +FLAGS (\\Flagged)"))
    again = ok(r.cmd("s3", "EXAMINE INBOX"))
    assert number(again, r"\[HIGHESTMODSEQ (\d+)\]") > first


def test_enable_condstore_fetch_modseq_and_changedsince(imap_server):
    put(imap_server, "INBOX", 3)
    r = raw(imap_server)
    assert "* ENABLED CONDSTORE" in ok(r.cmd("e", "ENABLE CONDSTORE"))
    sel = ok(r.cmd("s", "SELECT INBOX"))
    hms = number(sel, r"\[HIGHESTMODSEQ (\d+)\]")
    lines = ok(r.cmd("f", "FETCH 1:* (FLAGS MODSEQ)"))
    modseqs = [int(m) for m in re.findall(r"MODSEQ \((\d+)\)", " ".join(lines))]
    assert len(modseqs) == 3 and max(modseqs) <= hms
    # STORE answers with the new MODSEQ.
    st = ok(r.cmd("st", "STORE 2 +FLAGS (\\Seen)"))
    new = number(st, r"\* 2 FETCH .*MODSEQ \((\d+)\)")
    assert new > hms
    # Only message 2 changed since hms; CHANGEDSINCE adds MODSEQ by itself.
    ch = ok(r.cmd("c", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})"))
    fetches = [l for l in ch if " FETCH " in l and l.startswith("*")]
    assert len(fetches) == 1 and fetches[0].startswith("* 2 FETCH"), ch
    assert f"MODSEQ ({new})" in fetches[0] and "\\Seen" in fetches[0]
    # UNCHANGEDSINCE below message 2's MODSEQ: refused, MODIFIED names it.
    refused = r.cmd("u", f"UID STORE 1:3 (UNCHANGEDSINCE {hms}) +FLAGS.SILENT (\\Answered)")
    assert re.match(r"u OK \[MODIFIED (\d+)\]", refused[-1]), refused
    # .SILENT with CONDSTORE still reports the new MODSEQs of 1 and 3.
    assert sum(1 for l in refused if re.match(r"\* \d FETCH \(UID \d+ MODSEQ \(\d+\)\)", l)) == 2, refused


def test_fetch_modseq_enables_condstore_while_selected(imap_server):
    put(imap_server, "INBOX", 1)
    r = raw(imap_server)
    ok(r.cmd("s", "SELECT INBOX"))
    lines = ok(r.cmd("f", "FETCH 1 (MODSEQ)"))
    assert any(re.match(r"\* OK \[HIGHESTMODSEQ \d+\]", l) for l in lines), lines


def test_other_session_changes_arrive_with_modseq(imap_server):
    put(imap_server, "INBOX", 2)
    a, b = raw(imap_server), raw(imap_server)
    ok(a.cmd("e", "ENABLE CONDSTORE"))
    ok(a.cmd("s", "SELECT INBOX"))
    ok(b.cmd("s", "SELECT INBOX"))
    ok(b.cmd("st", "STORE 1 +FLAGS.SILENT (\\Flagged)"))
    lines = ok(a.cmd("n", "NOOP"))
    assert any(re.match(r"\* 1 FETCH \(UID \d+ FLAGS \(\\Recent \\Flagged\) MODSEQ \(\d+\)\)", l) for l in lines), lines


def test_qresync_select_reports_vanished_and_changed_flags(imap_server):
    put(imap_server, "INBOX", 5)
    a = raw(imap_server)
    ok(a.cmd("e", "ENABLE QRESYNC"))
    sel = ok(a.cmd("s", "SELECT INBOX"))
    validity = number(sel, r"\[UIDVALIDITY (\d+)\]")
    hms = number(sel, r"\[HIGHESTMODSEQ (\d+)\]")
    uids = [int(u) for u in re.findall(r"UID (\d+)", " ".join(ok(a.cmd("f", "FETCH 1:* (UID)"))))]
    assert len(uids) == 5
    a.close()

    # Another session flags one message and expunges two.
    b = raw(imap_server)
    ok(b.cmd("s", "SELECT INBOX"))
    ok(b.cmd("st", f"UID STORE {uids[1]},{uids[3]},{uids[4]} +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("x", f"UID EXPUNGE {uids[3]}:{uids[4]}"))
    ok(b.cmd("f", f"UID STORE {uids[0]} +FLAGS.SILENT (\\Seen)"))
    b.close()

    c = raw(imap_server)
    assert "* ENABLED QRESYNC" in ok(c.cmd("e", "ENABLE QRESYNC"))
    lines = ok(c.cmd("s", f"SELECT INBOX (QRESYNC ({validity} {hms} 1:{uids[-1]}))"))
    assert f"* VANISHED (EARLIER) {uids[3]}:{uids[4]}" in lines, lines
    fetched = {int(m.group(1)): l for l in lines if (m := re.match(r"\* \d+ FETCH \(UID (\d+)", l))}
    assert set(fetched) == {uids[0], uids[1]}, lines
    assert "\\Seen" in fetched[uids[0]] and "\\Deleted" in fetched[uids[1]]
    assert all("MODSEQ (" in l for l in fetched.values())
    assert number(lines, r"\[HIGHESTMODSEQ (\d+)\]") > hms
    # VANISHED comes before the FETCHes (RFC 7162 §3.2.5.1).
    assert lines.index(f"* VANISHED (EARLIER) {uids[3]}:{uids[4]}") < min(lines.index(l) for l in fetched.values())

    # UID FETCH with CHANGEDSINCE and VANISHED gives the same answer.
    lines = ok(c.cmd("u", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)"))
    assert f"* VANISHED (EARLIER) {uids[3]}:{uids[4]}" in lines, lines
    assert len([l for l in lines if " FETCH " in l and l.startswith("*")]) == 2

    # A wrong UIDVALIDITY: a plain SELECT, no resync data; [CLOSED] first.
    lines = ok(c.cmd("s2", f"SELECT INBOX (QRESYNC ({validity + 1} {hms}))"))
    assert lines[0] == "* OK [CLOSED] Previous mailbox closed", lines
    assert not any("VANISHED" in l or "FETCH" in l for l in lines), lines


def test_qresync_expunge_and_move_report_vanished(imap_server):
    put(imap_server, "INBOX", 4)
    a, b = raw(imap_server), raw(imap_server)
    ok(a.cmd("e", "ENABLE QRESYNC"))
    ok(a.cmd("s", "SELECT INBOX"))
    uids = [int(u) for u in re.findall(r"UID (\d+)", " ".join(ok(a.cmd("f", "FETCH 1:* (UID)"))))]
    ok(a.cmd("st", "STORE 1 +FLAGS.SILENT (\\Deleted)"))
    lines = ok(a.cmd("x", "EXPUNGE"))
    assert re.match(r"x OK \[HIGHESTMODSEQ \d+\]", lines[-1]), lines
    assert f"* VANISHED {uids[0]}" in lines and not any("EXPUNGE" in l and l.startswith("*") for l in lines), lines
    lines = ok(a.cmd("m", f"UID MOVE {uids[1]}:{uids[2]} Archive"))
    assert f"* VANISHED {uids[1]}:{uids[2]}" in lines, lines
    # Expunged by another session: VANISHED on the next NOOP.
    ok(b.cmd("s", "SELECT INBOX"))
    ok(b.cmd("st", "STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("x", "EXPUNGE"))
    lines = ok(a.cmd("n", "NOOP"))
    assert f"* VANISHED {uids[3]}" in lines, lines
    # Without ENABLE QRESYNC, the old EXPUNGE form.
    put(imap_server, "INBOX", 1)
    ok(b.cmd("n", "NOOP"))
    ok(b.cmd("st", "STORE 1 +FLAGS.SILENT (\\Deleted)"))
    assert "* 1 EXPUNGE" in ok(b.cmd("x", "EXPUNGE"))


def test_qresync_errors(imap_server):
    r = raw(imap_server)
    # QRESYNC parameter without ENABLE QRESYNC: BAD (RFC 7162 §3.2.5).
    assert r.cmd("s", "SELECT INBOX (QRESYNC (1 1))")[-1].startswith("s BAD")
    ok(r.cmd("s2", "SELECT INBOX"))
    # VANISHED needs QRESYNC and UID FETCH.
    assert r.cmd("f", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")[-1].startswith("f BAD")


def test_rename_inbox_moves_messages_and_leaves_it_empty(imap_server):
    toks = put(imap_server, "INBOX", 3)
    r = raw(imap_server)
    ok(r.cmd("rn", "RENAME INBOX Old-Inbox"))
    st = ok(r.cmd("s1", "STATUS INBOX (MESSAGES)"))
    assert number(st, r"MESSAGES (\d+)") == 0
    st = ok(r.cmd("s2", 'STATUS "Old-Inbox" (MESSAGES)'))
    assert number(st, r"MESSAGES (\d+)") == 3
    ok(r.cmd("sel", 'SELECT "Old-Inbox"'))
    body = " ".join(ok(r.cmd("f", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")))
    assert all(t in body for t in toks)
    # The name must be new; INBOX cannot become its own child.
    assert r.cmd("again", "RENAME INBOX Old-Inbox")[-1].startswith("again NO [ALREADYEXISTS]")
    assert r.cmd("child", "RENAME INBOX INBOX/sub")[-1].startswith("child NO")


# ---------------------------------------------------------------- LIST-EXTENDED, LIST-STATUS


def test_list_extended_selection_and_return_options(imap_server):
    r = raw(imap_server)
    caps = ok(r.cmd("c", "CAPABILITY"))[0].split()
    assert "LIST-EXTENDED" in caps and "LIST-STATUS" in caps, caps
    for name in ["Projects", "Projects/Alpha", "Projects/Beta"]:
        ok(r.cmd("cr", f"CREATE {name}"))
    ok(r.cmd("s1", "SUBSCRIBE Projects/Alpha"))
    # SUBSCRIBED selection: \Subscribed on each; RECURSIVEMATCH brings the
    # unsubscribed parent with CHILDINFO when the subscribed child is not
    # itself matched by the pattern (RFC 5258 §3, as Dovecot does).
    lines = ok(r.cmd("a", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Projects"'))
    assert lines[:-1] == ['* LIST (\\HasChildren) "/" "Projects" ("CHILDINFO" ("SUBSCRIBED"))'], lines
    lines = ok(r.cmd("a2", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Projects*"'))
    assert lines[:-1] == ['* LIST (\\HasNoChildren \\Subscribed) "/" "Projects/Alpha"'], lines
    # Several patterns; RETURN (SUBSCRIBED CHILDREN).
    lines = ok(r.cmd("b", 'LIST "" ("INBOX" "Projects/%") RETURN (SUBSCRIBED CHILDREN)'))
    names = [l.rsplit(" ", 1)[1] for l in lines[:-1]]
    assert names == ['"INBOX"', '"Projects/Alpha"', '"Projects/Beta"'], lines
    assert "\\Subscribed" in lines[1] and "\\Subscribed" not in lines[2]
    # SPECIAL-USE selection: only the special folders.
    lines = ok(r.cmd("s", 'LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)'))
    assert sorted(l.split(" ")[-1].strip('"') for l in lines[:-1]) == ["Archive", "Drafts", "Junk", "Sent", "Trash"], lines
    # Errors: RECURSIVEMATCH alone, unknown options.
    assert r.cmd("e1", 'LIST (RECURSIVEMATCH) "" "*"')[-1].startswith("e1 BAD")
    assert r.cmd("e2", 'LIST "" "*" RETURN (FROB)')[-1].startswith("e2 BAD")


def test_list_status(imap_server):
    put(imap_server, "INBOX", 2)
    r = raw(imap_server)
    ok(r.cmd("s", "SELECT INBOX"))
    ok(r.cmd("st", "STORE 1 +FLAGS.SILENT (\\Seen)"))
    lines = ok(r.cmd("l", 'LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN HIGHESTMODSEQ))'))
    i = lines.index('* LIST (\\HasNoChildren) "/" "INBOX"')
    assert re.match(r"\* STATUS \"INBOX\" \(MESSAGES 2 UNSEEN 1 HIGHESTMODSEQ \d+\)", lines[i + 1]), lines
    statuses = [l for l in lines if l.startswith("* STATUS")]
    assert len(statuses) == 6, lines


def test_new_keywords_are_announced_in_flags(imap_server):
    """RFC 3501 §7.2.6: a keyword appears in FLAGS before a FETCH uses it —
    for the session that stores it and for another one watching (imaptest
    counted thousands of 'keyword used without being in FLAGS')."""
    put(imap_server, "INBOX", 2)
    a, b = raw(imap_server), raw(imap_server)
    ok(a.cmd("s", "SELECT INBOX"))
    ok(b.cmd("s", "SELECT INBOX"))
    lines = ok(a.cmd("k", "STORE 1 +FLAGS ($Project)"))
    flags_at = next(i for i, l in enumerate(lines) if l.startswith("* FLAGS"))
    fetch_at = next(i for i, l in enumerate(lines) if "FETCH" in l)
    assert "$Project" in lines[flags_at] and flags_at < fetch_at, lines
    assert any("PERMANENTFLAGS" in l and "$Project" in l and "\\*" in l for l in lines), lines
    seen = ok(b.cmd("n", "NOOP"))
    assert any(l.startswith("* FLAGS") and "$Project" in l for l in seen), seen
    again = ok(raw(imap_server).cmd("s", "SELECT INBOX"))
    assert any(l.startswith("* FLAGS") and "$Project" in l for l in again), again
