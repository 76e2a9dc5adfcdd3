"""POP3 download (issue 21 item 5, SPEC M7): the server fetches remote POP3
mailboxes into local users through its own delivery path, against a second
Postern (its POP3 and POP3S), Dovecot's POP3, and a fake server that drops
the connection in the middle of a RETR.

Every account is added before the remote has mail and its first scheduled
run (at once, for an account never run) is awaited, so each `fetch run`
below is the only run that sees the remote's new mail."""

from __future__ import annotations

import imaplib
import sqlite3

import pytest

from dovecot_pop3 import Dovecot, available as dovecot_available
from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, POP3_LISTEN, insecure_tls, make_message, token, tool_missing_is_a_failure, wait_until
from pop3_fake import FakePop3

IMAPS_LISTEN = {"imaps": "127.0.0.1:0"}
DAY = 86400


def add(local, owner: str, port: int, *opts: str, user: str = ALICE, password: str = ALICE_PASSWORD, host: str = "127.0.0.1") -> str:
    """`fetch add`, then waits for the account's first scheduled run; its id."""
    out = local.cli("fetch", "add", owner, "--host", host, "--port", str(port), "--user", user, "--password-stdin", *opts, input=password + "\n").stdout
    assert out.startswith("added fetch account "), out
    fid = out.split()[-1]
    wait_until(lambda: last_result(local, fid) is not None, 30, what=f"the first run of fetch account {fid}")
    return fid


def listing(local) -> dict[str, list[str]]:
    rows = [l.split("\t") for l in local.cli("fetch", "list").stdout.splitlines()]
    return {r[0]: r for r in rows}


def last_result(local, fid: str) -> str | None:
    row = listing(local)[fid]
    return None if row[6] == "never" else row[7]


def run(local, fid: str, check: bool = True) -> str:
    p = local.cli("fetch", "run", fid, check=check)
    return p.stdout.strip()


def imap_inbox(local, user: str, password: str) -> list[bytes]:
    host, port = local.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    try:
        c.login(user, password)
        c.select("INBOX", readonly=True)
        _, data = c.search(None, "ALL")
        out = []
        for n in data[0].split():
            _, parts = c.fetch(n, "(BODY.PEEK[])")
            out.append(parts[0][1])
        return out
    finally:
        c.logout()


def count(messages, tok: str) -> int:
    return sum(1 for m in messages if tok.encode() in (m if isinstance(m, bytes) else m.encode()))


def remote_count(remote, user: str = ALICE, password: str = ALICE_PASSWORD) -> int:
    p = remote.pop3s()
    p.user(user)
    p.pass_(password)
    n = p.stat()[0]
    p.quit()
    return n


@pytest.fixture
def pair(make_server):
    """(local, remote): the remote serves POP3 and POP3S."""
    remote = make_server(listen=POP3_LISTEN)
    local = make_server(listen=IMAPS_LISTEN)
    return local, remote


def test_fetch_from_postern_into_inbox_once_across_restarts(pair):
    local, remote = pair
    fid = add(local, BOB, remote.addr("pop3")[1], "--tls", "starttls", "--insecure", "--keep")
    assert last_result(local, fid).startswith("ok: fetched 0"), listing(local)
    toks = [token(), token()]
    for t in toks:
        remote.deliver(t)
    out = run(local, fid)
    assert out == f"{fid}\t{BOB}\tok: fetched 2, refused 0, failed 0, deleted 0, too big 0, left 2", out
    inbox = imap_inbox(local, BOB, BOB_PASSWORD)
    assert [count(inbox, t) for t in toks] == [1, 1]
    # Through the server's own SMTP session: a Received line of ours, the mail.log line.
    assert b"by mx.test" in inbox[0]
    assert "service=fetch" in local.log("mail.log") and "event=fetch" in local.log("mail.log")
    assert "ok: fetched 0," in run(local, fid)
    # Leave-on-server across a restart of the fetching server: nothing twice.
    local.stop()
    local.start(IMAPS_LISTEN)
    assert "ok: fetched 0," in run(local, fid)
    third = token()
    remote.deliver(third)
    assert "ok: fetched 1," in run(local, fid)
    inbox = imap_inbox(local, BOB, BOB_PASSWORD)
    assert len(inbox) == 3 and [count(inbox, t) for t in toks + [third]] == [1, 1, 1]
    assert remote_count(remote) == 3


def test_fetch_over_implicit_tls_deletes_without_keep(pair):
    local, remote = pair
    fid = add(local, BOB, remote.addr("pop3s")[1], "--tls", "implicit", "--insecure")
    t = token()
    remote.deliver(t)
    assert "ok: fetched 1, refused 0, failed 0, deleted 1," in run(local, fid)
    assert remote_count(remote) == 0
    assert count(local.messages(BOB), t) == 1


def test_certificate_is_verified_by_default(pair):
    local, remote = pair
    fid = add(local, BOB, remote.addr("pop3s")[1], "--tls", "implicit", "--keep")
    remote.deliver(token())
    out = run(local, fid, check=False)
    assert "failed: TLS: " in out and "certificate" in out, out
    assert local.messages(BOB) == []


def test_apop_against_postern(make_server):
    remote = make_server(config={"auth.apop": "true"}, listen=POP3_LISTEN)
    # APOP needs the password kept (sealed): set it again now that APOP is on.
    remote.cli("user", "passwd", ALICE, "--password-stdin", input=ALICE_PASSWORD + "\n")
    local = make_server(listen=IMAPS_LISTEN)
    fid = add(local, BOB, remote.addr("pop3")[1], "--tls", "none", "--apop", "--keep")
    t = token()
    remote.deliver(t)
    assert "ok: fetched 1," in run(local, fid)
    assert count(imap_inbox(local, BOB, BOB_PASSWORD), t) == 1
    # A wrong password is refused at APOP, and nothing is fetched.
    bad = add(local, ALICE, remote.addr("pop3")[1], "--tls", "none", "--apop", "--keep", password="wrong-password-1")
    assert "failed: the server refused APOP: -ERR [AUTH]" in last_result(local, bad)


def test_a_connection_dropped_mid_retr_loses_and_duplicates_nothing(make_server):
    local = make_server(listen=IMAPS_LISTEN)
    fake = FakePop3()
    try:
        fid = add(local, BOB, fake.port, "--tls", "none")
        toks = [token(), token(), token()]
        fake.messages = {f"uid-{i}": make_message(t, to=BOB) for i, t in enumerate(toks)}
        fake.drop_in_retr = "uid-1"
        out = run(local, fid, check=False)
        assert "failed: the server closed the connection at RETR" in out, out
        # The first was delivered and marked DELE, but the connection never
        # reached QUIT: still on the server. The second was cut: not delivered.
        assert [count(local.messages(BOB), t) for t in toks] == [1, 0, 0]
        assert len(fake.messages) == 3
        out = run(local, fid)
        assert "ok: fetched 2, refused 0, failed 0, deleted 3," in out, out
        assert [count(local.messages(BOB), t) for t in toks] == [1, 1, 1]
        assert fake.messages == {}
        retrs = [c for c in fake.commands if c.startswith("RETR")]
        assert retrs == ["RETR 1", "RETR 2", "RETR 2", "RETR 3"], fake.commands
    finally:
        fake.stop()


def test_delete_after_days_on_the_clock(pair):
    local, remote = pair
    fid = add(local, BOB, remote.addr("pop3s")[1], "--tls", "implicit", "--insecure", "--keep", "--delete-after", "3")
    t = token()
    remote.deliver(t)
    assert "ok: fetched 1, refused 0, failed 0, deleted 0," in run(local, fid)

    def age(days: int):
        # The record of when it was fetched, moved back (as the clock moving on).
        db = sqlite3.connect(local.data / "db" / "postern.db")
        db.execute("UPDATE fetch_seen SET first_seen = first_seen - ?", (days * DAY,))
        db.commit()
        db.close()

    age(2)
    assert "deleted 0," in run(local, fid)
    assert remote_count(remote) == 1
    age(1)
    assert "ok: fetched 0, refused 0, failed 0, deleted 1," in run(local, fid)
    assert remote_count(remote) == 0
    assert count(local.messages(BOB), t) == 1


def test_domain_mailbox_sorts_by_recipient_headers(pair):
    local, remote = pair
    fid = add(local, ALICE, remote.addr("pop3s")[1], "--tls", "implicit", "--insecure", "--domain-mailbox", "--fallback", ALICE)
    to_bob, to_nobody, delivered_to_bob = token(), token(), token()
    with remote.smtp() as s:
        # The remote mailbox gets the domain's mail: the envelope says alice, the headers differ.
        s.sendmail("sender@example.net", [ALICE], make_message(to_bob, to=BOB))
        s.sendmail("sender@example.net", [ALICE], make_message(to_nobody, to="nobody@example.org", extra_headers="Cc: someone@other.test\r\n"))
        s.sendmail("sender@example.net", [ALICE], make_message(delivered_to_bob, to="list@lists.test", extra_headers="Delivered-To: bob@example.org\r\n"))
    assert "ok: fetched 3," in run(local, fid)
    bob, alice = local.messages(BOB), local.messages(ALICE)
    assert [count(bob, t) for t in (to_bob, to_nobody, delivered_to_bob)] == [1, 0, 1]
    assert [count(alice, t) for t in (to_bob, to_nobody, delivered_to_bob)] == [0, 1, 0]


def test_the_password_is_sealed(pair):
    local, remote = pair
    secret = "Remote-Secret-Only-4-Here"
    add(local, BOB, remote.addr("pop3s")[1], "--tls", "implicit", "--insecure", password=secret)
    for f in (local.data / "db").iterdir():
        assert secret.encode() not in f.read_bytes(), f


@pytest.fixture
def dovecot():
    why = dovecot_available()
    if why and tool_missing_is_a_failure():
        pytest.fail(f"under CI=true: {why}")
    if why:
        pytest.skip(why)
    d = Dovecot({"carol": "Carol-Remote-5"})
    yield d
    d.stop()


def test_dovecot_stls_keep_across_restarts(make_server, dovecot):
    local = make_server(listen=IMAPS_LISTEN)
    fid = add(local, BOB, dovecot.port, "--tls", "starttls", "--insecure", "--keep", user="carol", password="Carol-Remote-5")
    assert last_result(local, fid).startswith("ok:"), dovecot.log()
    toks = [token(), token()]
    for i, t in enumerate(toks):
        dovecot.put("carol", f"1000{i}.M1P1.test", make_message(t, to="carol@remote.test"))
    assert "ok: fetched 2," in run(local, fid)
    local.stop()
    local.start(IMAPS_LISTEN)
    assert "ok: fetched 0," in run(local, fid)
    inbox = imap_inbox(local, BOB, BOB_PASSWORD)
    assert [count(inbox, t) for t in toks] == [1, 1]
    assert dovecot.count("carol") == 2


def test_dovecot_apop(make_server, dovecot):
    local = make_server(listen=IMAPS_LISTEN)
    # No TLS and no plaintext login allowed by this Dovecot: APOP still logs in.
    fid = add(local, BOB, dovecot.port, "--tls", "none", "--apop", user="carol", password="Carol-Remote-5")
    assert last_result(local, fid).startswith("ok:"), (last_result(local, fid), dovecot.log())
    t = token()
    dovecot.put("carol", "2000.M1P1.test", make_message(t, to="carol@remote.test"))
    assert "ok: fetched 1, refused 0, failed 0, deleted 1," in run(local, fid)
    assert count(local.messages(BOB), t) == 1
    assert dovecot.count("carol") == 0


def test_filters_apply_to_fetched_mail(make_server):
    remote = make_server(listen=POP3_LISTEN)
    local = make_server(start=False)
    local.cli("spam", "rule", "add", "pills", "--header", "Subject", "--contains", "cheap pills", "--score", "10")
    local.cli("spam", "rule", "add", "buynow", "--header", "Subject", "--contains", "buy now", "--reject")
    local.start(IMAPS_LISTEN)
    fid = add(local, BOB, remote.addr("pop3s")[1], "--tls", "implicit", "--insecure", "--keep")
    plain, pills, buy = token(), token(), token()
    with remote.smtp() as s:
        for tok, subject in ((plain, "Hello"), (pills, "Cheap pills"), (buy, "Buy now")):
            msg = make_message(tok, to=BOB).replace(f"Subject: test {tok}".encode(), f"Subject: {subject} {tok}".encode())
            s.sendmail("sender@example.net", [ALICE], msg)
    # The spam rules of the fetching server judge each message: INBOX, Junk, refused.
    assert "ok: fetched 2, refused 1, failed 0," in run(local, fid)
    assert count(local.messages(BOB), plain) == 1
    junk = local.messages(BOB, "Junk")
    assert count(junk, pills) == 1 and "X-Spam-Flag: YES" in [m for m in junk if pills in m][0]
    assert count(local.messages(BOB) + junk, buy) == 0
    assert "event=spam-rejected" in local.log("security.log")
    # The refused one is not fetched again.
    assert "ok: fetched 0, refused 0," in run(local, fid)


def test_cli_add_list_del_and_run_needs_the_server(make_server):
    local = make_server(start=False)
    base = ["fetch", "add", BOB, "--host", "127.0.0.1", "--user", "u", "--password-stdin"]
    # --delete-after needs --keep, --domain-mailbox needs --fallback (clap: exit 2).
    assert local.cli(*base, "--delete-after", "3", input="pw\n", check=False).returncode == 2
    assert local.cli(*base, "--domain-mailbox", input="pw\n", check=False).returncode == 2
    bad = local.cli(*base, "--tls", "sometimes", input="pw\n", check=False)
    assert bad.returncode == 1 and "--tls sometimes: implicit, starttls or none" in bad.stderr
    unknown = local.cli("fetch", "add", "nobody@example.org", "--host", "h", "--user", "u", "--password-stdin", input="pw\n", check=False)
    assert unknown.returncode == 1 and "nobody@example.org" in unknown.stderr
    clear = local.cli(*base, "--tls", "none", input="pw\n")
    assert "in the clear" in clear.stderr
    assert local.cli(*base, "--keep", "--delete-after", "3", "--interval", "5m", input="pw\n").stdout == "added fetch account 2\n"
    rows = listing(local)
    assert rows["1"][2:6] == ["127.0.0.1:110", "none", "u", "user-pass,delete"], rows
    assert rows["2"][2:8] == ["127.0.0.1:995", "implicit", "u", "user-pass,keep,delete-after=3d,interval=300s", "never", "-"], rows
    p = local.cli("fetch", "run", "1", check=False)
    assert p.returncode == 1 and "no server runs on" in p.stderr, p.stderr
    assert local.cli("fetch", "del", "1").stdout == "deleted fetch account 1\n"
    assert list(listing(local)) == ["2"]
    assert local.cli("fetch", "del", "1", check=False).returncode == 1
