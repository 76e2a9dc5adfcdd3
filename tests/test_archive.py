"""The journal archive for auditors (SPEC M8, issue 21 item 4): with
`archive.enabled`, mail in (port 25), out (submission to another domain) and
local (submission to local users) is archived once, with every envelope
recipient (Bcc included); auditors read it over IMAP, read-only, as
Archive/PERIOD folders; other users never see it; retention purges it.

The retention task runs on the server's injectable clock (its unit test moves
a ManualClock); here `postern archive purge --now TIME` gives the purge its
time, as the task would see it then."""

from __future__ import annotations

import datetime
import imaplib
import re
import smtplib
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, insecure_tls, make_message, token
from outbound import dns, REMOTE, outbound_config, submit, wait_queue_empty  # noqa: F401 (dns is a fixture)
from smtp_sink import Sink

AUDITOR = "audit@example.org"
AUDITOR_PASSWORD = "Ledger-9-Columns"
LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def postern(make_server, dns, sink):
    p = make_server(config=outbound_config(dns.address, sink.port, **{"archive.enabled": "true"}), start=False)
    p.add_user(AUDITOR, AUDITOR_PASSWORD)
    p.cli("user", "set", AUDITOR, "--role", "auditor")
    p.start(LISTEN)
    return p


def period() -> str:
    return time.strftime("%Y-%m", time.gmtime())


def search(server, *args: str) -> list[list[str]]:
    out = server.cli("archive", "search", *args).stdout
    return [line.split("\t") for line in out.splitlines()]


def imaps(server, user: str, password: str) -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    c.login(user, password)
    return c


def send_local_with_bcc(server) -> str:
    """alice to bob, with alice herself as a Bcc recipient: in no header."""
    tok = token()
    with server.submission(ALICE, ALICE_PASSWORD) as s:
        assert not s.sendmail(ALICE, [BOB, ALICE], make_message(tok, ALICE, BOB))
    return tok


def test_mail_in_out_and_local_is_archived_once_with_its_bcc(postern, sink):
    tok_in = token()
    assert not postern.deliver(tok_in, to=ALICE, sender="carol@example.net")
    tok_out = submit(postern, [f"dave@{REMOTE}", BOB])
    tok_local = send_local_with_bcc(postern)
    sink.wait_for(1)
    wait_queue_empty(postern)

    [e_in] = search(postern, "--text", tok_in)
    assert e_in[2:5] == ["in", "carol@example.net", ALICE]
    assert e_in[5] == f"test {tok_in}"
    [e_out] = search(postern, "--text", tok_out)
    assert e_out[2:5] == ["out", ALICE, f"dave@{REMOTE},{BOB}"]
    [e_local] = search(postern, "--text", tok_local)
    assert e_local[2:5] == ["local", ALICE, f"{BOB},{ALICE}"], "one entry for both local recipients, the Bcc included"
    assert len(search(postern)) == 3

    # Filters: sender, recipient (the Bcc one finds it), time.
    assert [e[0] for e in search(postern, "--from", "carol@")] == [e_in[0]]
    assert [e[0] for e in search(postern, "--to", f"dave@{REMOTE}")] == [e_out[0]]
    assert {e[0] for e in search(postern, "--to", ALICE)} == {e_in[0], e_local[0]}
    assert len(search(postern, "--since", "2000-01-01", "--before", "2999-01-01")) == 3
    assert search(postern, "--before", "2000-01-01") == []

    shown = postern.cli("archive", "show", e_local[0]).stdout
    assert shown.startswith(f"X-Postern-Archive-Id: {e_local[0]}\r\n"), shown
    assert "X-Postern-Archive-Direction: local\r\n" in shown
    assert f"X-Postern-Archive-To: <{ALICE}>\r\n" in shown
    assert "X-Postern-Archive-Client: 127.0.0.1\r\n" in shown
    assert f"Subject: test {tok_local}\r\n" in shown and f"token {tok_local}\r\n" in shown
    assert postern.cli("archive", "show", "99999", check=False).returncode != 0


def test_an_auditor_reads_the_archive_over_imap_and_cannot_change_it(postern):
    tok = send_local_with_bcc(postern)
    folder = f"Archive/{period()}"
    c = imaps(postern, AUDITOR, AUDITOR_PASSWORD)
    typ, listed = c.list('""', "Archive/*")
    assert typ == "OK" and any(f'"{folder}"'.encode() in l or folder.encode() in l for l in listed), listed
    # SELECT opens it read-only, as EXAMINE does (imaplib refuses to go on).
    with pytest.raises(imaplib.IMAP4.readonly):
        c.select(folder)
    typ, data = c.select(folder, readonly=True)
    assert typ == "OK" and data == [b"1"], data
    typ, data = c.uid("SEARCH", None, "TEXT", tok)
    assert typ == "OK" and len(data[0].split()) == 1, data
    uid = data[0].split()[0]
    typ, data = c.uid("FETCH", uid, "(BODY.PEEK[])")
    body = data[0][1].decode()
    assert f"X-Postern-Archive-To: <{ALICE}>\r\n" in body, "the auditor sees the Bcc recipient"
    assert f"token {tok}" in body

    typ, data = c.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
    assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)
    typ, data = c.expunge()
    assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)
    typ, data = c.append(folder, None, None, make_message(token(), ALICE, BOB))
    assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)
    c.select("INBOX")
    typ, data = c.delete(folder)
    assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)
    typ, data = c.rename(folder, "Mine")
    assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)
    typ, data = c.copy("1:*", folder)
    assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)
    c.logout()

    # Nothing changed: the entry is still there, whole.
    assert len(search(postern, "--text", tok)) == 1


def test_a_normal_user_never_sees_the_archive(postern):
    send_local_with_bcc(postern)
    folder = f"Archive/{period()}"
    c = imaps(postern, BOB, BOB_PASSWORD)
    typ, listed = c.list('""', "*")
    assert typ == "OK" and not any(b"Archive/" in l for l in listed), listed
    typ, data = c.select(folder, readonly=True)
    assert typ == "NO", (typ, data)
    c.logout()


def test_retention_purges_entries_older_than_it(postern):
    tok = send_local_with_bcc(postern)
    [entry] = search(postern, "--text", tok)
    postern.stop()
    postern.config_set("archive.retention", '"30d"')
    now = int(time.time())
    out = postern.cli("archive", "purge", "--now", str(now + 29 * 86400)).stdout
    assert out.strip() == "purged 0 entries"
    assert len(search(postern, "--text", tok)) == 1
    out = postern.cli("archive", "purge", "--now", str(now + 31 * 86400)).stdout
    assert out.strip() == "purged 1 entries"
    assert search(postern) == []
    assert postern.cli("archive", "show", entry[0], check=False).returncode != 0
    # The users' own copies are theirs: purging the archive leaves them.
    assert postern.find(BOB, tok)


def test_nothing_is_archived_when_archiving_is_off(make_server):
    p = make_server()
    tok = token()
    assert not p.deliver(tok, to=ALICE)
    send_local_with_bcc(p)
    p.wait_for_message(ALICE, tok)
    assert search(p) == []
    assert re.search(r"event=accepted", p.log("mail.log"))


def test_weekly_periods_make_weekly_folders(make_server):
    p = make_server(config={"archive.enabled": "true", "archive.period": '"week"'}, start=False)
    p.add_user(AUDITOR, AUDITOR_PASSWORD)
    p.cli("user", "set", AUDITOR, "--role", "auditor")
    p.start(LISTEN)
    tok = send_local_with_bcc(p)
    iso = datetime.datetime.now(datetime.timezone.utc).isocalendar()
    folder = f"Archive/{iso[0]:04d}-W{iso[1]:02d}"
    c = imaps(p, AUDITOR, AUDITOR_PASSWORD)
    typ, data = c.select(folder, readonly=True)
    assert typ == "OK" and data == [b"1"], (typ, data)
    typ, data = c.search(None, "TEXT", tok)
    assert data[0] == b"1", data
    typ, data = c.select(f"Archive/{period()}", readonly=True)
    assert typ == "NO", "no monthly folder when the period is the week"
    c.logout()


def test_the_archive_is_encrypted_at_rest_with_the_store(make_server, tmp_path, monkeypatch):
    p = make_server(config={"archive.enabled": "true"}, start=False)
    p.cli("encryption", "enable", input="correct horse battery staple\n")
    key = tmp_path / "passphrase"
    key.write_text("correct horse battery staple\n")
    key.chmod(0o600)
    monkeypatch.setenv("POSTERN_PASSPHRASE_FILE", str(key))
    p.start()
    tok = send_local_with_bcc(p)
    [entry] = search(p, "--text", tok)
    assert f"token {tok}" in p.cli("archive", "show", entry[0]).stdout
    p.stop()
    on_disk = [f for f in p.data.rglob("*") if f.is_file() and tok.encode() in f.read_bytes()]
    assert on_disk == [], "neither body nor envelope in the clear"


def test_bounces_and_delay_warnings_delivered_here_are_archived(make_server, dns, sink):
    """The queue's notices to a local sender (a DSN for a 5xx, a delay
    warning for a 4xx that lasts) are archived too: local, from <>, to the
    original sender, once each."""
    sink.rcpt_reply = lambda rcpt, n: (
        (550, "5.1.1 no such user") if rcpt.startswith("nobody") else (451, "4.2.1 mailbox busy") if n < 4 else None
    )
    config = {"archive.enabled": "true", "delivery.delay_warning": '"1s"'}
    p = make_server(config=outbound_config(dns.address, sink.port, **config))
    tok_bounced = submit(p, f"nobody@{REMOTE}")
    tok_slow = submit(p, f"slow@{REMOTE}")
    p.wait_for_message(ALICE, "Undelivered", timeout=20)
    p.wait_for_message(ALICE, "Delayed", timeout=20)
    sink.wait_for(1)
    wait_queue_empty(p)

    # Each notice returns the original's headers, so its text finds both.
    for tok, rcpt in ((tok_bounced, f"nobody@{REMOTE}"), (tok_slow, f"slow@{REMOTE}")):
        entries = search(p, "--text", tok)
        assert [e[2:5] for e in entries] == [["out", ALICE, rcpt], ["local", "", ALICE]], entries
    assert len(search(p)) == 4, "two messages, two notices, each archived once"
    [bounce] = [e for e in search(p, "--text", tok_bounced) if e[2] == "local"]
    assert bounce[5].startswith("Undelivered"), bounce
    shown = p.cli("archive", "show", bounce[0]).stdout
    assert "X-Postern-Archive-Direction: local\r\n" in shown
    assert "X-Postern-Archive-From: <>\r\n" in shown and f"X-Postern-Archive-To: <{ALICE}>\r\n" in shown, shown
    assert "Content-Type: multipart/report" in shown and "report-type=delivery-status" in shown, shown
    [delayed] = [e for e in search(p, "--text", tok_slow) if e[2] == "local"]
    assert delayed[5].startswith("Delayed"), delayed


def test_mail_the_server_itself_commits_is_archived_too(make_server):
    """A virus notice to the admin and a message released from quarantine
    reach mailboxes without an SMTP session of their own: they are archived
    as `local` mail all the same (the refused original never was)."""
    from test_av_smtp import infected_messages
    from harness import wait_until

    server = make_server(
        config={
            "archive.enabled": "true",
            "av.quarantine": "true",
            "av.notify_admin": f'"{BOB}"',
        },
        listen=LISTEN,
    )
    tok, sender = token(), f"{token()}@outside.example"
    with server.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail(sender, [ALICE], infected_messages(tok, sender)["zip"])
    assert e.value.smtp_code == 554
    # The notice to the admin: from the null sender, to bob.
    notices = wait_until(lambda: search(server, "--to", BOB), what="the admin notice in the archive")
    assert [(n[2], n[3], n[4]) for n in notices] == [("local", "", BOB)]
    assert search(server, "--text", tok) == [], "a refused message is not archived"

    [row] = [l.split("\t") for l in server.cli("av", "quarantine", "list").stdout.splitlines()]
    server.cli("av", "quarantine", "release", row[0])
    [released] = search(server, "--text", tok)
    assert released[2:5] == ["local", sender, ALICE]
