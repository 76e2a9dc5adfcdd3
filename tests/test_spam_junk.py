"""Learning from IMAP moves (issue 16 item 6, SPEC P7): a message a user moves
or copies into Junk is trained as spam, one moved or copied out of Junk as ham
(but not into Trash); the model the server learned is the one `spam check`
judges by."""

import random
import re

import pytest

from harness import ALICE, BOB, wait_until
from test_imap import IMAP_LISTEN, RawImap, imaps
from test_spam_cli import check, ham, spam


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def stats(server) -> tuple[int, int]:
    lines = server.cli("spam", "stats").stdout.splitlines()
    return int(lines[0].removeprefix("spam: ")), int(lines[1].removeprefix("ham: "))


def learned_lines(server) -> list[str]:
    return [l for l in server.log("mail.log").splitlines() if "event=spam-learned" in l]


def append(c, mailbox: str, messages: list[str]) -> None:
    for m in messages:
        typ, data = c.append(mailbox, None, None, m.encode())
        assert typ == "OK", data


def deliver_into_junk(server, messages: list[str]) -> None:
    """Ham the filter misfiled into alice's Junk (a rule on its From): it
    gets there without an APPEND into Junk, which would teach spam."""
    server.cli("spam", "rule", "add", "misfiled", "--header", "From", "--contains", "colleague@work.example", "--score", "10")

    def rule_applies():
        with server.smtp() as s:
            s.sendmail("colleague@work.example", [BOB], messages[0])
        return bool(server.messages(BOB, "Junk"))

    wait_until(rule_applies, what="the rule reached the running server (bob's Junk)")
    with server.smtp() as s:
        for m in messages:
            s.sendmail("colleague@work.example", [ALICE], m)
    # `spam check` (below) runs the rules too: this one is done.
    server.cli("spam", "rule", "del", "misfiled")


def test_moving_into_junk_teaches_spam_and_out_of_it_ham(imap_server, tmp_path):
    rng = random.Random(6)
    c = imaps(imap_server)
    append(c, "INBOX", [spam(rng, n) for n in range(6)])
    # Before any learning, the running server has no evidence: spam of the
    # same kind delivered over SMTP lands in INBOX.
    with imap_server.smtp() as s:
        s.sendmail("deals@promo.example", [ALICE], "X-Probe: before\r\n" + spam(rng, 50))
    imap_server.wait_for_message(ALICE, "X-Probe: before")
    # Appending into INBOX, or delivery into Junk, teaches nothing.
    deliver_into_junk(imap_server, [ham(rng, 100 + n) for n in range(6)])
    assert stats(imap_server) == (0, 0)

    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    r.cmd("s", "SELECT INBOX")
    assert r.cmd("m", "MOVE 1:6 Junk")[-1] == "m OK MOVE completed"
    # Learned before the tagged OK: no waiting.
    assert stats(imap_server) == (6, 0)
    assert re.search(r" user=alice@example\.org class=spam messages=6$", learned_lines(imap_server)[-1])

    # The six ham (first in Junk): out of Junk into INBOX by MOVE, one into
    # Archive by COPY; the last copied into Trash teaches nothing.
    r.cmd("j", "SELECT Junk")
    assert r.cmd("n", "UID MOVE 1:5 INBOX")[-1] == "n OK MOVE completed"
    assert stats(imap_server) == (6, 5)
    assert r.cmd("c", "UID COPY 6 Archive")[-1].startswith("c OK [COPYUID ")
    assert stats(imap_server) == (6, 6)
    assert r.cmd("t", "UID COPY 6 Trash")[-1].startswith("t OK [COPYUID ")
    # Moving between ordinary folders teaches nothing either.
    r.cmd("a", "SELECT Archive")
    assert r.cmd("b", "MOVE 1 INBOX")[-1] == "b OK MOVE completed"
    assert stats(imap_server) == (6, 6)
    assert len(learned_lines(imap_server)) == 3
    r.cmd("l", "LOGOUT")

    # The running server judges the next message by what it learned (it
    # reloads the model within a second): the same kind of spam now goes to Junk.
    probe = random.Random(61)

    def next_spam_in_junk():
        n = probe.randrange(10**6)
        with imap_server.smtp() as s:
            s.sendmail("deals@promo.example", [ALICE], f"X-Probe: after-{n}\r\n" + spam(probe, 800))
        return [m for m in imap_server.messages(ALICE, "Junk") if "X-Probe: after-" in m]

    junked = wait_until(next_spam_in_junk, what="new spam over SMTP judged by the learned model")
    assert "X-Spam-Flag: YES" in junked[0] and "BAYES(" in junked[0], junked[0][:600]

    # What the server learned judges new mail in another process.
    fresh = random.Random(60)
    (tmp_path / "s.eml").write_text(spam(fresh, 700))
    (tmp_path / "h.eml").write_text(ham(fresh, 701))
    rows = check(imap_server, tmp_path / "s.eml", tmp_path / "h.eml")
    assert [row["verdict"] for row in rows] == ["spam", "ham"], rows
    assert rows[0]["tests"].startswith("BAYES("), rows


def test_a_copy_of_a_big_selection_learns_only_its_limit(imap_server):
    """MAX_LEARNED_PER_COMMAND (crates/imap/src/session/junk.rs): 500."""
    c = imaps(imap_server)
    rng = random.Random(7)
    append(c, "INBOX", [spam(rng, n) for n in range(501)])
    c.select("INBOX")
    typ, data = c.copy("1:*", "Junk")
    assert typ == "OK", data
    assert len(learned_lines(imap_server)) == 1
    assert stats(imap_server) == (500, 0)
    c.select("Junk")
    assert len(c.search(None, "ALL")[1][0].split()) == 501, "all copied, though only 500 learned"


def test_a_renamed_junk_folder_still_teaches(imap_server):
    """Junk is told by its special use (RFC 6154 \\Junk), not by its name."""
    c = imaps(imap_server)
    typ, data = c.rename("Junk", "Spam")
    assert typ == "OK", data
    typ, data = c.create("Junk")
    assert typ == "OK", data
    append(c, "INBOX", [spam(random.Random(8), n) for n in range(2)])
    c.select("INBOX")
    assert c.copy("1", "Junk")[0] == "OK"
    assert stats(imap_server) == (0, 0), "a folder merely named Junk taught"
    assert c.copy("2", "Spam")[0] == "OK"
    assert stats(imap_server) == (1, 0)


def test_appending_into_junk_teaches_spam(imap_server):
    """Clients that move by APPEND and EXPUNGE (or file into Junk
    themselves) teach as a MOVE does; an APPEND elsewhere teaches nothing."""
    rng = random.Random(9)
    c = imaps(imap_server)
    append(c, "INBOX", [spam(rng, n) for n in range(2)])
    assert stats(imap_server) == (0, 0)
    append(c, "Junk", [spam(rng, 10 + n) for n in range(3)])
    # Learned before the tagged OK: no waiting.
    assert stats(imap_server) == (3, 0)
    lines = learned_lines(imap_server)
    assert len(lines) == 3 and all(re.search(r" user=alice@example\.org class=spam messages=1$", l) for l in lines), lines
    c.select("Junk")
    assert len(c.search(None, "ALL")[1][0].split()) == 3


def test_learn_from_junk_false_teaches_nothing(make_server):
    server = make_server(config={"spam.learn_from_junk": "false"}, listen=IMAP_LISTEN)
    rng = random.Random(10)
    c = imaps(server)
    append(c, "INBOX", [spam(rng, n) for n in range(2)])
    append(c, "Junk", [spam(rng, 10)])
    c.select("INBOX")
    assert c.copy("1", "Junk")[0] == "OK"
    r = RawImap(server.addr("imaps"), tls=True)
    r.login()
    r.cmd("s", "SELECT INBOX")
    assert r.cmd("m", "MOVE 2 Junk")[-1] == "m OK MOVE completed"
    r.cmd("j", "SELECT Junk")
    assert r.cmd("n", "UID MOVE 1 INBOX")[-1] == "n OK MOVE completed"
    r.cmd("l", "LOGOUT")
    assert stats(server) == (0, 0)
    assert learned_lines(server) == []
