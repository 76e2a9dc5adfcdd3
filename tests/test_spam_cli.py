"""`postern spam train|check|stats` (issue 16 items 6 and 7): the learning
classifier trained from files, a Maildir and an mbox, its model kept in the
store across processes, and `spam check`'s one line per message."""

import random
import re

from harness import Postern

SPAM_WORDS = "viagra casino winner prize cheap pills offer unsubscribe million dollars bonus click free credit".split()
HAM_WORDS = "meeting agenda minutes project review patch kernel build release schedule lunch report budget draft".split()
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
LINE = re.compile(r"^(?P<path>[^\t]+)\t(?P<score>-?\d+\.\d\d)\t(?P<verdict>spam|ham)\t(?P<tests>[^\t]*)$")


def message(rng: random.Random, words: list[str], n: int, sender: str, body_extra: str = "") -> str:
    subject = " ".join(rng.sample(words, 3))
    body = " ".join(rng.choice(words) for _ in range(40))
    return (
        f"From: {sender}\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
        f"Date: Mon, 7 Dec 2026 00:00:{n % 60:02d} +0000\r\nMessage-ID: <{n}@{sender.split('@')[1]}>\r\n"
        f"\r\n{body}\r\n{body_extra}"
    )


def spam(rng, n):
    return message(rng, SPAM_WORDS, n, "deals@promo.example")


def ham(rng, n):
    return message(rng, HAM_WORDS, n, "colleague@work.example")


def mbox(messages: list[str]) -> str:
    out = ""
    for m in messages:
        # mboxrd: a body line starting with From is quoted.
        body = re.sub(r"(?m)^(>*From )", r">\1", m.replace("\r\n", "\n"))
        out += f"From sender@example.net Mon Dec  7 00:00:00 2026\n{body}\n"
    return out


def trained(tmp_path) -> Postern:
    """A data directory trained on 12 spam (6 files given one by one, 6 in a
    directory) and 12 ham (6 in a Maildir, 6 in one mbox)."""
    rng = random.Random(16)
    p = Postern(tmp_path / "p")
    p.workdir.mkdir()
    p.init()
    spam_dir = tmp_path / "spam"
    spam_dir.mkdir()
    files = []
    for n in range(12):
        f = spam_dir / f"{n:02d}.eml" if n >= 6 else tmp_path / f"single{n}.eml"
        f.write_text(spam(rng, n))
        files.append(f)
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(6):
        (maildir / ("cur" if n % 2 else "new") / f"{n}.host:2,S").write_text(ham(rng, 100 + n))
    # A message still being written (Maildir tmp/) is not a message yet.
    (maildir / "tmp" / "partial").write_text(spam(rng, 999))
    (tmp_path / "ham.mbox").write_text(mbox([ham(rng, 200 + n) for n in range(6)]))

    out = p.cli("spam", "train", "--spam", *[str(f) for f in files[:6]], str(spam_dir)).stdout
    assert out == "trained 12 spam messages\n"
    out = p.cli("spam", "train", "--ham", str(maildir), str(tmp_path / "ham.mbox")).stdout
    assert out == "trained 12 ham messages\n"
    return p


def check(p: Postern, *paths) -> list[dict]:
    out = p.cli("spam", "check", "--offline", *[str(x) for x in paths]).stdout
    rows = []
    for line in out.splitlines():
        m = LINE.match(line)
        assert m, f"not PATH\\tSCORE\\tspam|ham\\tTESTS: {line!r}"
        rows.append(m.groupdict())
    return rows


def test_trained_model_survives_into_new_processes_and_judges(tmp_path):
    p = trained(tmp_path)
    stats = p.cli("spam", "stats").stdout.splitlines()
    assert stats[:2] == ["spam: 12", "ham: 12"], stats
    assert re.fullmatch(r"tokens: \d+", stats[2]) and int(stats[2].split()[1]) > 20, stats

    rng = random.Random(99)
    new = tmp_path / "new"
    new.mkdir()
    (new / "a-spam.eml").write_text(spam(rng, 500))
    (new / "b-ham.eml").write_text(ham(rng, 501))
    rows = check(p, new / "a-spam.eml", new / "b-ham.eml")
    assert [r["path"] for r in rows] == [str(new / "a-spam.eml"), str(new / "b-ham.eml")]
    assert [r["verdict"] for r in rows] == ["spam", "ham"], rows
    assert float(rows[0]["score"]) >= 5.0 > float(rows[1]["score"])
    assert rows[0]["tests"].startswith("BAYES("), rows

    # Each check is its own process reading the store: train more, see it counted.
    p.cli("spam", "train", "--ham", str(new / "b-ham.eml"))
    assert p.cli("spam", "stats").stdout.splitlines()[:2] == ["spam: 12", "ham: 13"]


def test_check_names_each_message_of_an_mbox_and_follows_tag_score(tmp_path):
    p = trained(tmp_path)
    rng = random.Random(7)
    box = tmp_path / "check.mbox"
    box.write_text(mbox([spam(rng, 1), ham(rng, 2)]))
    rows = check(p, box)
    assert [r["path"] for r in rows] == [f"{box}#1", f"{box}#2"]
    assert [r["verdict"] for r in rows] == ["spam", "ham"]

    p.config_set("spam.reject_score", "200")
    p.config_set("spam.tag_score", "100")
    assert [r["verdict"] for r in check(p, box)] == ["ham", "ham"]


def test_gtube_is_spam_far_over_reject_even_untrained(tmp_path):
    p = Postern(tmp_path / "p")
    p.workdir.mkdir()
    p.init()
    f = tmp_path / "gtube.eml"
    f.write_text(f"From: a@b.example\r\nSubject: test\r\n\r\n{GTUBE}\r\n")
    plain = tmp_path / "plain.eml"
    plain.write_text("From: a@b.example\r\nSubject: test\r\n\r\nhello\r\n")
    rows = check(p, f, plain)
    assert rows[0]["verdict"] == "spam"
    assert float(rows[0]["score"]) >= 1000, rows
    assert "GTUBE=+1000.00" in rows[0]["tests"].split(","), rows
    reject = float(p.cli("config", "get", "spam.reject_score").stdout)
    assert float(rows[0]["score"]) > 10 * reject
    assert rows[1]["verdict"] == "ham" and "GTUBE" not in rows[1]["tests"]


def test_train_needs_a_class_and_an_existing_path(tmp_path):
    p = Postern(tmp_path / "p")
    p.workdir.mkdir()
    p.init()
    r = p.cli("spam", "train", str(tmp_path), check=False)
    assert r.returncode == 2, r
    r = p.cli("spam", "train", "--spam", str(tmp_path / "missing.eml"), check=False)
    assert r.returncode == 1 and "missing.eml" in r.stderr, r
    # Nothing trained (the counters follow, test_greylist.py).
    assert p.cli("spam", "stats").stdout.splitlines()[:3] == ["spam: 0", "ham: 0", "tokens: 0"]


def test_check_keeps_order_past_one_batch(tmp_path):
    """`spam check` scores CHECK_BATCH (512) messages at a time on every core;
    the lines still come out one per message, in order."""
    p = trained(tmp_path)
    rng = random.Random(3)
    box = tmp_path / "many.mbox"
    kinds = [n % 3 == 0 for n in range(1200)]
    box.write_text(mbox([spam(rng, n) if is_spam else ham(rng, n) for n, is_spam in enumerate(kinds)]))
    rows = check(p, box)
    assert [r["path"] for r in rows] == [f"{box}#{n + 1}" for n in range(1200)]
    assert [r["verdict"] == "spam" for r in rows] == kinds
