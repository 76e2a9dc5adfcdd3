"""The spam score at the end of DATA (issue 16 item 4, the part without DNS):
GTUBE is tagged (X-Spam-Flag, X-Spam-Score, X-Spam-Status, the subject tag)
and delivered into Junk; from spam.reject_score it is refused 550 5.7.1 and
nothing is stored; forged incoming X-Spam-* fields are removed; a model
trained with `postern spam train` reaches the running server; authenticated
submissions are not scored by default; mail.log carries score and tests."""

from __future__ import annotations

import imaplib
import random
import smtplib

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, IO_TIMEOUT, header_values, insecure_tls, make_message, token, wait_until

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}
SPAM_WORDS = "viagra casino winner prize cheap pills offer unsubscribe million dollars bonus click free credit".split()
HAM_WORDS = "meeting agenda minutes project review patch kernel build release schedule lunch report budget draft".split()


# GTUBE is worth 1000 points (crates/spam), so at the default reject_score
# (20) it is refused: these tests start above it to see it tagged, then lower it.
ABOVE_GTUBE = "2000"


@pytest.fixture
def server(make_server):
    return make_server(config={"spam.reject_score": ABOVE_GTUBE}, listen=IMAP_LISTEN)


def imap_folder(server, folder: str, tok: str) -> list[bytes]:
    host, port = server.addr("imaps")
    with imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT) as c:
        c.login(ALICE, ALICE_PASSWORD)
        c.select(folder, readonly=True)
        _, data = c.search(None, "SUBJECT", tok)
        return data[0].split()


def send(server, tok: str, body: str, sender: str, extra_headers: str = "") -> None:
    with server.smtp() as s:
        s.sendmail(sender, [ALICE], make_message(tok, sender, ALICE, body + "\r\n", extra_headers))


def in_folder(server, folder: str, tok: str) -> str:
    hits = [m for m in server.messages(ALICE, folder) if tok in m]
    assert len(hits) == 1, f"{len(hits)} copies of {tok} in {folder}"
    return hits[0]


def mail_log_line(server, sender: str) -> str:
    lines = [l for l in server.log("mail.log").splitlines() if f"from={sender}" in l and "event=" in l]
    assert lines, f"no mail.log line from {sender}: {server.log('mail.log')[-2000:]}"
    return lines[-1]


def test_gtube_is_tagged_into_junk(server):
    tok, sender = token(), f"{token()}@promo.example"
    send(server, tok, GTUBE, sender)
    wait_until(lambda: imap_folder(server, "Junk", tok), what="the GTUBE message in Junk")
    assert imap_folder(server, "INBOX", tok) == []
    stored = in_folder(server, "Junk", tok)
    assert header_values(stored, "X-Spam-Flag") == ["YES"]
    assert header_values(stored, "X-Spam-Score") == ["1000.0"]
    status = " ".join(header_values(stored, "X-Spam-Status")[0].split())
    assert status.startswith("Yes, score=1000.0 required=5.0 tests=") and "GTUBE" in status, status
    assert header_values(stored, "Subject") == [f"**SPAM** test {tok}"]
    line = mail_log_line(server, sender)
    assert "event=accepted" in line and "spam=1000.00" in line and "GTUBE=+1000.00" in line, line
    assert "event=spam-quarantined" in server.log("security.log")


def test_reject_score_refuses_550_and_stores_nothing(server):
    server.config_set("spam.reject_score", "20")  # the default
    sender = f"{token()}@promo.example"

    def refused():
        tok = token()
        try:
            send(server, tok, GTUBE, sender)
        except smtplib.SMTPDataError as e:
            assert (e.smtp_code, e.smtp_error[:5]) == (550, b"5.7.1"), e
            return tok
        return None  # accepted before the reload: into Junk, try again

    tok = wait_until(refused, what="550 5.7.1 after the reload")
    assert imap_folder(server, "INBOX", tok) == [] and imap_folder(server, "Junk", tok) == []
    line = mail_log_line(server, sender)
    assert "event=refused" in line and 'result="550 5.7.1"' in line and "spam=1000.00" in line, line
    assert "event=spam-rejected" in server.log("security.log")
    assert "queued" not in server.cli("queue", "list").stdout


def test_forged_spam_headers_are_removed(server):
    tok = token()
    forged = "X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=99\r\n\ttests=FORGED\r\n"
    send(server, tok, "Lunch at noon?", "friend@example.net", forged)
    stored = server.wait_for_message(ALICE, tok)
    assert "X-Spam-" not in stored and "FORGED" not in stored, stored
    assert header_values(stored, "Subject") == [f"test {tok}"]
    assert imap_folder(server, "INBOX", tok) != []


def corpus(tmp_path, rng: random.Random, words: list[str], sender: str, n: int):
    out = tmp_path / sender.split("@")[0]
    out.mkdir()
    for i in range(n):
        body = " ".join(rng.choice(words) for _ in range(40))
        (out / f"{i}.eml").write_text(
            f"From: {sender}\r\nTo: {ALICE}\r\nSubject: {' '.join(rng.sample(words, 3))}\r\n"
            f"Date: Mon, 7 Dec 2026 00:00:{i:02d} +0000\r\nMessage-ID: <{i}@x.example>\r\n\r\n{body}\r\n"
        )
    return out


def test_training_reaches_the_running_server(server, tmp_path):
    rng = random.Random(16)
    body = " ".join(rng.choice(SPAM_WORDS) for _ in range(40))
    # Untrained: no BAYES points, so the same kind of message is delivered.
    tok = token()
    send(server, tok, body, "deals@promo.example")
    assert "X-Spam-Flag" not in server.wait_for_message(ALICE, tok)
    assert "spam_tests=" in mail_log_line(server, "deals@promo.example")
    assert "BAYES" not in mail_log_line(server, "deals@promo.example")
    server.cli("spam", "train", "--spam", str(corpus(tmp_path, rng, SPAM_WORDS, "deals@promo.example", 20)))
    server.cli("spam", "train", "--ham", str(corpus(tmp_path, rng, HAM_WORDS, "colleague@work.example", 20)))

    def tagged():
        t = token()
        send(server, t, " ".join(rng.choice(SPAM_WORDS) for _ in range(40)), "deals@promo.example")
        folder = wait_until(lambda: next((f for f in ("INBOX", "Junk") if imap_folder(server, f, t)), None))
        return t if folder == "Junk" else None

    tok = wait_until(tagged, timeout=10, what="spam tagged once the model is reloaded")
    stored = in_folder(server, "Junk", tok)
    assert header_values(stored, "X-Spam-Flag") == ["YES"]
    assert "BAYES(" in header_values(stored, "X-Spam-Status")[0]
    # Ham of the trained kind is still delivered.
    tok = token()
    send(server, tok, " ".join(rng.choice(HAM_WORDS) for _ in range(40)), "colleague@work.example")
    assert "X-Spam-Flag" not in server.wait_for_message(ALICE, tok)


def test_authenticated_submission_is_not_scored(server):
    tok = token()
    with server.submission() as s:
        s.sendmail(ALICE, [BOB], make_message(tok, ALICE, BOB, GTUBE + "\r\n"))
    stored = server.wait_for_message(BOB, tok)
    assert "X-Spam-" not in stored and "**SPAM**" not in stored
    line = mail_log_line(server, ALICE)
    assert "event=accepted" in line and "spam=" not in line, line


def test_discard_answers_250_and_keeps_nothing(make_server):
    server = make_server(config={"spam.reject_action": '"discard"'}, listen=IMAP_LISTEN)
    tok, sender = token(), f"{token()}@promo.example"
    send(server, tok, GTUBE, sender)  # smtplib raises unless 250
    line = mail_log_line(server, sender)
    assert "event=discarded" in line and 'result="250 2.0.0"' in line and "spam=1000.00" in line, line
    assert imap_folder(server, "INBOX", tok) == [] and imap_folder(server, "Junk", tok) == []
    assert "event=spam-discarded" in server.log("security.log")
    assert "queued" not in server.cli("queue", "list").stdout
