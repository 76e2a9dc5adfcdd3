"""IMAP (issue 3, first step): imaplib and raw sockets against the real binary.
Mail arrives over SMTP and is read, flagged and expunged over IMAP."""

import base64
import imaplib
import re
import socket
import ssl
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, IO_TIMEOUT, insecure_tls, make_message, token, wait_until

IMAP_LISTEN = {"imap": "127.0.0.1:0", "imaps": "127.0.0.1:0"}


@pytest.fixture
def imap_server(make_server):
    return make_server(listen=IMAP_LISTEN)


def imaps(server, user=ALICE, password=ALICE_PASSWORD) -> imaplib.IMAP4_SSL:
    host, port = server.addr("imaps")
    c = imaplib.IMAP4_SSL(host, port, ssl_context=insecure_tls(), timeout=IO_TIMEOUT)
    if user:
        c.login(user, password)
    return c


class RawImap:
    """Exact bytes out, lines in: for what imaplib hides (continuations, limits, STARTTLS)."""

    def __init__(self, addr, tls=False):
        self.sock = socket.create_connection(addr, timeout=IO_TIMEOUT)
        if tls:
            self.sock = insecure_tls().wrap_socket(self.sock, server_hostname="mx.test")
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until_tagged(self, tag):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if l.startswith(tag + " "):
                return lines

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until_tagged(tag)

    def starttls(self):
        assert self.cmd("st", "STARTTLS")[-1].startswith("st OK")
        self.sock = insecure_tls().wrap_socket(self.sock, server_hostname="mx.test")

    def login(self):
        r = self.cmd("lg", f'LOGIN "{ALICE}" "{ALICE_PASSWORD}"')
        assert r[-1].startswith("lg OK"), r

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- greeting, TLS, login


def test_before_tls_login_is_disabled(imap_server):
    r = RawImap(imap_server.addr("imap"))
    assert r.greeting.startswith("* OK [CAPABILITY IMAP4rev1"), r.greeting
    caps = r.cmd("a", "CAPABILITY")[0].split()
    assert "STARTTLS" in caps and "LOGINDISABLED" in caps and "AUTH=PLAIN" not in caps, caps
    assert "NO [PRIVACYREQUIRED]" in r.cmd("b", f'LOGIN "{ALICE}" "{ALICE_PASSWORD}"')[-1]
    assert "NO [PRIVACYREQUIRED]" in r.cmd("c", "AUTHENTICATE PLAIN")[-1]
    assert r.cmd("d", "SELECT INBOX")[-1].startswith("d BAD"), "wrong state"


def test_starttls_then_login(imap_server):
    r = RawImap(imap_server.addr("imap"))
    r.starttls()
    caps = r.cmd("a", "CAPABILITY")[0].split()
    assert "AUTH=PLAIN" in caps and "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
    r.login()
    assert r.cmd("b", "STARTTLS")[-1].startswith("b BAD")


def test_commands_pipelined_after_starttls_are_discarded(imap_server):
    r = RawImap(imap_server.addr("imap"))
    r.send("a STARTTLS\r\nb LOGOUT\r\n")
    assert r.line().startswith("a OK")
    r.sock = insecure_tls().wrap_socket(r.sock, server_hostname="mx.test")
    r.buf = b""
    assert r.cmd("c", "NOOP") == ["c OK NOOP completed"], "the injected LOGOUT ran"
    assert "starttls-injection" in imap_server.log("security.log")


def test_login_and_authenticate_plain_on_imaps(imap_server):
    c = imaps(imap_server)
    assert c.state == "AUTH"
    c.logout()
    c = imaps(imap_server, user=None)
    c.authenticate("PLAIN", lambda _: f"\0{BOB}\0{BOB_PASSWORD}".encode())
    assert c.state == "AUTH"
    c.logout()
    # SASL-IR: the initial response on the command line (RFC 4959).
    r = RawImap(imap_server.addr("imaps"), tls=True)
    ir = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()
    assert r.cmd("a", f"AUTHENTICATE PLAIN {ir}")[-1].startswith("a OK [CAPABILITY")


def test_failed_logins_are_delayed_logged_and_limited(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    t = time.monotonic()
    assert "NO [AUTHENTICATIONFAILED]" in r.cmd("a", f'LOGIN "{ALICE}" "wrong"')[-1]
    assert time.monotonic() - t >= 1.0, "no delay after a failed login"
    r.cmd("b", f'LOGIN "{ALICE}" "wrong"')
    last = r.cmd("c", f'LOGIN "{ALICE}" "wrong"')
    assert any(l.startswith("* BYE") for l in last), last
    with pytest.raises((EOFError, ConnectionError, ssl.SSLError)):
        r.cmd("d", "NOOP")
    assert "auth-failed" in imap_server.log("security.log")


def test_id_namespace_enable(imap_server):
    c = imaps(imap_server)
    typ, data = c.xatom("ID", "NIL")
    assert typ == "OK" and b"Postern" in c.untagged_responses["ID"][0]
    typ, data = c.namespace()
    assert typ == "OK" and data[0] == b'(("" "/")) NIL NIL', data
    typ, data = c.enable("CONDSTORE")
    assert typ == "OK"


# ---------------------------------------------------------------- folders


def test_list_shows_special_use_and_children(imap_server):
    c = imaps(imap_server)
    c.create("Work/Clients")
    typ, data = c.list()
    assert typ == "OK"
    lines = [d.decode() for d in data]
    assert any(l.endswith('"INBOX"') for l in lines), lines
    assert '(\\HasNoChildren \\Sent) "/" "Sent"' in lines, lines
    assert '(\\HasChildren) "/" "Work"' in lines, lines
    typ, data = c.list('""', "%")
    assert not any(b"Work/Clients" in d for d in data), data
    typ, data = c.list("Work/", "%")
    assert [d.decode() for d in data] == ['(\\HasNoChildren) "/" "Work/Clients"']
    typ, data = c.list('""', '""')
    assert data == [b'(\\Noselect) "/" ""']


def test_create_rename_delete_subscribe(imap_server):
    c = imaps(imap_server)
    assert c.create("Projects")[0] == "OK"
    typ, data = c.create("Projects")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    assert c.subscribe("Projects")[0] == "OK"
    assert c.rename("Projects", "Archive/Projects")[0] == "OK"
    typ, data = c.lsub('""', "Archive/*")
    assert any(b"Archive/Projects" in d for d in data if d), "the subscription follows RENAME"
    assert c.unsubscribe("Archive/Projects")[0] == "OK"
    typ, data = c.lsub('""', "Archive/*")
    assert data == [None] or all(b"Projects" not in d for d in data if d), data
    assert c.subscribe("Archive/Projects")[0] == "OK"
    typ, data = c.lsub('""', "Archive/*")
    assert any(b"Archive/Projects" in d for d in data), data
    typ, data = c.delete("Archive")
    assert typ == "NO" and b"HASCHILDREN" in data[0]
    assert c.delete("Archive/Projects")[0] == "OK"
    typ, data = c.delete("INBOX")
    assert typ == "NO"
    typ, data = c.delete("Nope")
    assert typ == "NO" and b"NONEXISTENT" in data[0]


def test_bad_names_are_refused_and_utf7_round_trips(imap_server):
    c = imaps(imap_server)
    for bad in ['"../bob"', '"a/../../x"', '"a//b"']:
        typ, data = c._simple_command("CREATE", bad)
        assert typ == "NO", (bad, data)
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    r.send("a CREATE {4}\r\n")
    assert r.line().startswith("+")
    r.send("x\r\ny\r\n")
    assert r.until_tagged("a")[-1].startswith("a NO"), "CR LF in a name"
    assert c._simple_command("CREATE", '"Entw&APw-rfe"')[0] == "OK"
    typ, data = c.list('""', "Entw*")
    assert data == [b'(\\HasNoChildren) "/" "Entw&APw-rfe"'], data
    # Not modified UTF-7: no such name can exist, so NO rather than BAD (imaptest).
    typ, data = c._simple_command("CREATE", '"&Jjo!"')
    assert typ == "NO" and b"UTF-7" in data[0], data
    typ, data = c._simple_command("SELECT", '"&Jjo!"')
    assert typ == "NO", data
    typ, data = c.list('""', '"&Jjo!*"')
    assert typ == "OK" and data == [None], data


def test_status(imap_server):
    imap_server.deliver(token())
    c = imaps(imap_server)
    wait_until(lambda: b"MESSAGES 1" in c.status("INBOX", "(MESSAGES)")[1][0], what="delivery")
    typ, data = c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)")
    # Nobody has selected INBOX since the delivery: the message is recent.
    assert re.search(rb"MESSAGES 1 UNSEEN 1 UIDNEXT 2 UIDVALIDITY \d+ RECENT 1", data[0]), data


# ---------------------------------------------------------------- messages


def deliver_and_select(server, c, tok, count=1):
    server.deliver(tok)
    wait_until(lambda: int(c.select("INBOX")[1][0]) >= count, what="delivery")


def test_fetch_delivered_message(imap_server):
    tok = token()
    c = imaps(imap_server)
    deliver_and_select(imap_server, c, tok)
    stored = imap_server.find(ALICE, tok)[0]
    typ, data = c.fetch("1", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert re.match(rb'1 \(UID 1 FLAGS \(\\Recent\) RFC822.SIZE \d+ INTERNALDATE "\d\d-\w{3}-\d{4} [\d:]{8} \+0000"\)', data[0]), data
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == f"Subject: test {tok}\r\n\r\n".encode(), data
    typ, data = c.uid("FETCH", "1", "(BODY.PEEK[])")
    body = data[0][1]
    assert tok.encode() in body and body.replace(b"\r\n", b"\n").decode() == stored, data
    assert b"UID 1" in data[0][0]
    typ, data = c.fetch("1", "(BODY.PEEK[TEXT]<0.5>)")
    assert data[0][0].endswith(b"BODY[TEXT]<0> {5}") and data[0][1] == b"token", data
    typ, data = c.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0], "PEEK set \\Seen"
    typ, data = c.fetch("1", "(BODY[HEADER])")
    assert b"\\Seen" in data[0][0] or b"\\Seen" in b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data), data
    typ, data = c.fetch("1", "(ENVELOPE)")
    assert typ == "OK" and f"test {tok}".encode() in data[0], data


def test_large_message_streams_whole(imap_server):
    tok = token()
    big = ("x" * 998 + "\r\n") * 3000  # ~3 MB
    imap_server.deliver(tok, body=big)
    c = imaps(imap_server)
    wait_until(lambda: int(c.select("INBOX")[1][0]) >= 1, what="delivery")
    typ, data = c.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
    size = int(re.search(rb"RFC822.SIZE (\d+)", data[0][0]).group(1))
    assert len(data[0][1]) == size > 3_000_000


def test_store_expunge_and_other_sessions_see_it(imap_server):
    c, d = imaps(imap_server), imaps(imap_server)
    deliver_and_select(imap_server, c, token())
    deliver_and_select(imap_server, c, token(), count=2)
    d.select("INBOX")
    typ, data = c.store("1", "+FLAGS", "(\\Deleted $Work)")
    assert b"FLAGS ($Work \\Deleted)" in data[0], data
    typ, data = c.store("2", "-FLAGS.SILENT", "(\\Seen)")
    assert data == [None], "SILENT answered with FETCH"
    # The other session learns of the flag change at NOOP (RFC 3501 §7.4.1).
    d.noop()
    assert any(b"\\Deleted" in x for x in d.untagged_responses.get("FETCH", [])), d.untagged_responses
    typ, data = c.expunge()
    assert data == [b"1"], data
    d.noop()
    assert d.untagged_responses.get("EXPUNGE") == [b"1"], d.untagged_responses
    typ, data = c.fetch("1:*", "(UID)")
    assert data == [b"1 (UID 2)"], data
    with pytest.raises(imaplib.IMAP4.error, match="sequence number"):
        c.store("5", "+FLAGS", "(\\Seen)")
    c.store("1", "+FLAGS", "(\\Deleted)")
    assert c.close()[0] == "OK"
    c.select("INBOX")
    assert c.fetch("1:*", "(UID)")[1] == [None]


def test_examine_is_read_only(imap_server):
    c = imaps(imap_server)
    deliver_and_select(imap_server, c, token())
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK", data
    # RFC 3501 §6.3.2: EXAMINE's tagged OK carries [READ-ONLY] (imaplib files it
    # under the response code's name).
    assert "READ-ONLY" in c.untagged_responses, c.untagged_responses
    typ, data = c.store("1", "+FLAGS", "(\\Seen)")
    assert typ == "NO"
    c.fetch("1", "(BODY[])")
    assert b"\\Seen" not in c.fetch("1", "(FLAGS)")[1][0], "EXAMINE set \\Seen"
    assert c.unselect()[0] == "OK"
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    assert r.cmd("f", "FETCH 1 (FLAGS)")[-1].startswith("f BAD"), "FETCH with no mailbox selected"


# How soon an IDLE client hears of a message after its 250 (it takes well under
# a second; the margin is for loaded CI machines).
IDLE_NOTICE = 2.0


def test_idle_sees_delivery_at_once(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    r.cmd("s", "SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.line().startswith("+")
    imap_server.deliver(token())
    accepted = time.monotonic()
    assert r.line() == "* 1 EXISTS"
    # "At once": within the IDLE wake-up, not at some later poll (a 15 s poll
    # would also end in EXISTS; IO_TIMEOUT is 15 s).
    elapsed = time.monotonic() - accepted
    assert elapsed < IDLE_NOTICE, f"EXISTS came {elapsed:.2f}s after the 250"
    r.send("DONE\r\n")
    assert r.until_tagged("i")[-1].startswith("i OK")


def test_huge_sequence_set_is_cheap(imap_server):
    c = imaps(imap_server)
    deliver_and_select(imap_server, c, token())
    t = time.monotonic()
    typ, data = c.uid("FETCH", "1:4294967295", "(FLAGS)")
    assert typ == "OK" and len(data) == 1
    typ, data = c.uid("FETCH", ",".join(f"{i}:4294967295" for i in range(1, 1000)), "(UID)")
    assert typ == "OK" and len(data) == 1
    assert time.monotonic() - t < 5


# ---------------------------------------------------------------- limits


def test_huge_literal_before_login_is_refused_without_reading(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.send("a LOGIN {4294967295}\r\n")
    l = r.line()
    assert l.startswith("a BAD [TOOBIG]"), l
    assert r.cmd("b", "NOOP")[-1] == "b OK NOOP completed", "session still usable"
    r.send("c LOGIN {2000}\r\n")
    assert r.line().startswith("c BAD [TOOBIG]"), "literal over the limit before login"


def test_large_non_synchronising_literal_ends_session(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.login()
    # LITERAL+ after login: non-synchronising literals up to the 64 KiB limit.
    r.send("a CREATE {70000+}\r\n")
    lines = [r.line(), r.line()]
    assert lines[0].startswith("a BAD [TOOBIG]") and lines[1].startswith("* BYE"), lines


def test_literals_synchronising_and_not(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    user, pw = ALICE.encode(), ALICE_PASSWORD.encode()
    r.send(b"a LOGIN {%d}\r\n" % len(user))
    assert r.line().startswith("+ ")
    r.send(user + b" {%d+}\r\n" % len(pw) + pw + b"\r\n")
    assert r.until_tagged("a")[-1].startswith("a OK")


def test_long_line_and_garbage_get_bad(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    # Long UID sets are real: 20 KB is fine, as with Dovecot's 64 KiB default.
    r.login()
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    assert r.cmd("u", "UID FETCH " + ",".join(str(n) for n in range(1, 4000)) + " (FLAGS)")[-1].startswith("u OK")
    # Over the limit, the answer carries the command's tag so the client is not left waiting.
    r.send("a NOOP " + "x" * 70000 + "\r\n")
    assert r.line().startswith("a BAD [TOOBIG]")
    assert r.cmd("b", "FROBNICATE")[-1].startswith("b BAD")
    assert r.cmd("c", "NOOP")[-1] == "c OK NOOP completed"


def test_too_many_errors_close_the_session(imap_server):
    r = RawImap(imap_server.addr("imaps"), tls=True)
    r.send("".join(f"e{i} FROB\r\n" for i in range(25)))
    lines = []
    with pytest.raises((EOFError, ConnectionError, ssl.SSLError)):
        while True:
            lines.append(r.line())
    assert any(l.startswith("* BYE") for l in lines), lines
    assert sum(1 for l in lines if " BAD " in l) == 20, lines
