"""POP3 (RFC 1939) with STLS (RFC 2595) on the POP3 port and implicit TLS on
POP3S, CAPA and response codes (RFC 2449, RFC 3206), AUTH (RFC 5034): scripted
sessions with Python's poplib and by hand. Mail is delivered over SMTP first."""

import base64
import hashlib
import poplib
import signal
import smtplib
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, POP3_LISTEN, make_message, token, wait_until


def b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


def deliver_all(server, *toks, to=ALICE, body="Hello.\r\n"):
    for tok in toks:
        assert server.deliver(tok, to=to, body=body) == {}
    for tok in toks:
        server.wait_for_message(to, tok)


def text(lines: list[bytes]) -> str:
    return "\n".join(l.decode("utf-8", "replace") for l in lines)


def login_when_free(server, user=ALICE, password=ALICE_PASSWORD, timeout=10.0):
    """Logs in, retrying while the previous session of a dropped connection
    still holds the maildrop (the server notices the close asynchronously)."""

    def attempt():
        p = server.pop3s()
        p.user(user)
        try:
            p.pass_(password)
        except poplib.error_proto as e:
            p.close()
            assert b"[IN-USE]" in e.args[0], e
            return None
        return p

    return wait_until(attempt, timeout, what="the maildrop lock to be released")


# ------------------------------------------------------------ CAPA, STLS, policy


def test_capa_before_and_after_stls(pop3_server, tls):
    p = pop3_server.pop3()
    greeting = p.getwelcome().decode()
    assert greeting.startswith("+OK mx.test ")
    # No APOP timestamp: APOP is not offered.
    assert "<" not in greeting, greeting
    before = p.capa()
    assert "STLS" in before, before
    # Before TLS only challenge-response mechanisms (test_sasl.py): no USER, no PLAIN.
    assert "USER" not in before and before["SASL"] == ["SCRAM-SHA-256"], before
    for cap in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]:
        assert cap in before, before
    p.stls(tls)
    after = p.capa()
    assert "STLS" not in after, after
    assert "USER" in after and after["SASL"] == ["SCRAM-SHA-256", "PLAIN", "LOGIN"], after
    p.user(ALICE)
    assert p.pass_(ALICE_PASSWORD).startswith(b"+OK")
    assert p.capa() == after, "RFC 2449 §5: the same list in TRANSACTION state"
    p.quit()


def test_pop3s_capa_offers_logins_and_no_stls(pop3_server):
    p = pop3_server.pop3s()
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["SCRAM-SHA-256", "PLAIN", "LOGIN"], caps
    p.user(ALICE)
    p.pass_(ALICE_PASSWORD)
    assert p.stat() == (0, 0)
    p.quit()


def test_credentials_before_stls_are_refused_with_auth_code(pop3_server):
    p = pop3_server.pop3()
    with pytest.raises(poplib.error_proto) as e:
        p.user(ALICE)
    assert e.value.args[0].startswith(b"-ERR [AUTH] "), e.value
    assert b"STLS" in e.value.args[0]
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(ALICE_PASSWORD)
    assert e.value.args[0].startswith(b"-ERR [AUTH] ")
    p.quit()
    with pop3_server.raw_pop3() as r:
        assert r.err("AUTH PLAIN " + b64(b"\0" + ALICE.encode() + b"\0" + ALICE_PASSWORD.encode())).startswith("-ERR [AUTH] ")
        assert r.err("AUTH LOGIN").startswith("-ERR [AUTH] ")
        # Nothing was logged in.
        assert r.err("STAT").startswith("-ERR")
        r.ok("QUIT")


def test_apop_is_not_supported(pop3_server):
    with pop3_server.raw_pop3("pop3s") as r:
        assert r.err("APOP alice@example.org c4c9334bac560ecc979e58001b3e22fb") == "-ERR APOP is not supported"
        r.ok("QUIT")


def test_data_pipelined_after_stls_is_discarded(pop3_server):
    with pop3_server.raw_pop3() as r:
        r.send("STLS\r\nUSER injected\r\n")
        assert r.status().startswith("+OK")
        assert r.buf == b""
        r.wrap()
        # Had "USER injected" survived, its +OK would come first, and PASS would follow it.
        assert r.command("CAPA") == "+OK Capability list follows"
        assert "USER" in r.multi()
        assert r.err(f"PASS {ALICE_PASSWORD}") == "-ERR Send USER first"
        r.ok("QUIT")
    wait_until(lambda: "starttls-injection" in pop3_server.log("security.log"), 5)


def test_stls_when_tls_is_active_or_after_login_is_refused(pop3_server):
    with pop3_server.raw_pop3("pop3s") as r:
        assert r.err("STLS") == "-ERR Command not permitted when TLS active"
        r.ok("QUIT")
    with pop3_server.raw_pop3() as r:
        r.stls()
        assert r.err("STLS") == "-ERR Command not permitted when TLS active"
        r.ok(f"USER {ALICE}")
        r.ok(f"PASS {ALICE_PASSWORD}")
        assert r.err("STLS").startswith("-ERR Command not valid in TRANSACTION state")
        r.ok("QUIT")


# ------------------------------------------------------------ SASL


def test_auth_plain_with_initial_response_and_login_after_tls(pop3_server):
    with pop3_server.raw_pop3("pop3s") as r:
        r.ok("AUTH PLAIN " + b64(b"\0" + ALICE.encode() + b"\0" + ALICE_PASSWORD.encode()))
        r.ok("STAT")
        r.ok("QUIT")
    with pop3_server.raw_pop3() as r:
        r.stls()
        assert r.command("AUTH LOGIN") == "+ VXNlcm5hbWU6"
        assert r.command(b64(ALICE.encode())) == "+ UGFzc3dvcmQ6"
        r.ok(b64(ALICE_PASSWORD.encode()))
        r.ok("QUIT")
    with pop3_server.raw_pop3("pop3s") as r:
        assert r.command("AUTH PLAIN") == "+ "
        r.ok(b64(b"\0" + ALICE.encode() + b"\0" + ALICE_PASSWORD.encode()))
        r.ok("QUIT")


def test_auth_failures_cancel_and_unknown_mechanism(pop3_server):
    with pop3_server.raw_pop3("pop3s") as r:
        assert r.err("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism"
        assert r.command("AUTH PLAIN") == "+ "
        assert r.err("*") == "-ERR Authentication cancelled"
        assert r.err("AUTH PLAIN not-base64!") == "-ERR Invalid base64 or SASL message"
        assert r.err("AUTH PLAIN " + b64(b"\0" + ALICE.encode() + b"\0wrong")) == "-ERR [AUTH] Invalid credentials"
        r.ok("QUIT")


# ------------------------------------------------------------ the commands


def test_every_transaction_command(pop3_server):
    one, two, three = token(), token(), token()
    deliver_all(pop3_server, one, two, three)
    p = pop3_server.pop3_login(tls="stls")
    count, octets = p.stat()
    assert count == 3
    resp, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert [int(l.split()[0]) for l in listing] == [1, 2, 3]
    assert sum(sizes) == octets
    assert p.list(2) == f"+OK 2 {sizes[1]}".encode()
    resp, uids, _ = p.uidl()
    uids = [u.split()[1].decode() for u in uids]
    assert len(set(uids)) == 3 and all(0 < len(u) <= 70 and u.isprintable() and " " not in u for u in uids)
    assert p.uidl(3) == f"+OK 3 {uids[2]}".encode()

    resp, lines, wire = p.retr(1)
    assert resp == f"+OK {sizes[0]} octets".encode()
    assert one in text(lines)
    # Stored with CRLF and nothing to stuff: the listed size is what came on the wire.
    assert wire == sizes[0] == sum(len(l) + 2 for l in lines)

    resp, lines, _ = p.top(2, 0)
    assert lines[-1] == b"" and f"Subject: test {two}".encode() in lines
    assert f"token {two}".encode() not in lines
    resp, lines, _ = p.top(2, 1)
    assert lines[-1] == f"token {two}".encode()

    assert p.dele(2).startswith(b"+OK")
    assert p.stat() == (2, octets - sizes[1])
    assert [l.split()[0] for l in p.list()[1]] == [b"1", b"3"]
    assert [l.split()[0] for l in p.uidl()[1]] == [b"1", b"3"]
    for call in (lambda: p.retr(2), lambda: p.dele(2), lambda: p.list(2), lambda: p.top(2, 0), lambda: p.uidl(2)):
        with pytest.raises(poplib.error_proto, match="already deleted"):
            call()
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (3, octets)
    assert p.noop().startswith(b"+OK")
    p.dele(3)
    assert b"2 messages left" in p.quit()
    left = pop3_server.messages(ALICE)
    assert [tok for tok in (one, two, three) if any(tok in m for m in left)] == [one, two]


def test_errors_are_answered_and_the_session_goes_on(pop3_server):
    deliver_all(pop3_server, token())
    with pop3_server.raw_pop3("pop3s") as r:
        assert r.err("STAT") == "-ERR Command not valid in AUTHORIZATION state: log in first"
        assert r.err("RETR 1").startswith("-ERR Command not valid in AUTHORIZATION")
        assert r.err("FROB") == "-ERR Unknown command"
        assert r.err("PASS x") == "-ERR Send USER first"
        r.ok(f"USER {ALICE}")
        r.ok(f"PASS {ALICE_PASSWORD}")
        assert r.err(f"USER {ALICE}").startswith("-ERR Command not valid in TRANSACTION state")
        assert r.err("AUTH PLAIN").startswith("-ERR Command not valid in TRANSACTION state")
        assert r.err("RETR 0") == "-ERR No such message"
        assert r.err("RETR 2") == "-ERR No such message"
        assert r.err("DELE 99999999999999") == "-ERR No such message"
        assert r.err("LIST x") == "-ERR Invalid message number"
        assert r.err("TOP 1") == "-ERR Syntax error in arguments"
        assert r.err("RETR") == "-ERR Syntax error in arguments"
        assert r.err(b"NOOP\xff").startswith("-ERR Syntax error")
        # RFC 2449 §4: 255 octets per command line, CRLF included.
        assert r.err("LIST " + "1" * 300).startswith("-ERR Line too long")
        r.ok("NOOP" + " " * (255 - 6))
        r.ok("STAT")
        r.ok("QUIT")


def test_too_many_errors_close_the_session(pop3_server):
    with pop3_server.raw_pop3() as r:
        for _ in range(19):
            r.err("FROB")
        assert r.err("FROB") == "-ERR Too many errors, closing connection"
        assert r.lines_until_eof(5) == []


def test_pipelined_commands_are_answered_in_order(pop3_server):
    deliver_all(pop3_server, token())
    with pop3_server.raw_pop3("pop3s") as r:
        r.send(f"USER {ALICE}\r\nPASS {ALICE_PASSWORD}\r\nSTAT\r\nLIST\r\nNOOP\r\nQUIT\r\n")
        assert r.status().startswith("+OK")
        assert r.status().startswith("+OK Logged in")
        assert r.status().startswith("+OK 1 ")
        assert r.status().startswith("+OK 1 messages")
        assert len(r.multi()) == 1
        assert r.status() == "+OK"
        assert "signing off" in r.status()


# ------------------------------------------------------------ dot-stuffing, line ends


def test_dot_stuffing_round_trip(pop3_server):
    tok = token()
    body = ".hidden line\r\n..two dots\r\n.\r\nplain\r\n"
    deliver_all(pop3_server, tok, body=body)
    p = pop3_server.pop3_login()
    resp, lines, wire = p.retr(1)
    assert lines[-4:] == [b".hidden line", b"..two dots", b".", b"plain"], lines[-6:]
    # poplib counts octets after un-stuffing: the listed size is exact (RFC 1939 §11).
    assert wire == int(resp.split()[1])
    resp, lines, _ = p.top(1, 2)
    assert lines[-2:] == [f"token {tok}".encode(), b".hidden line"]
    p.quit()


# ------------------------------------------------------------ locking and deletion


def test_a_second_session_gets_in_use(pop3_server):
    first = pop3_server.pop3_login()
    second = pop3_server.pop3s()
    second.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        second.pass_(ALICE_PASSWORD)
    assert e.value.args[0].startswith(b"-ERR [IN-USE] "), e.value
    # Another user is not affected.
    other = pop3_server.pop3_login(BOB, BOB_PASSWORD)
    other.quit()
    first.quit()
    # QUIT released the lock before its reply: the next login works at once.
    second.user(ALICE)
    assert second.pass_(ALICE_PASSWORD).startswith(b"+OK")
    second.quit()


def test_dele_then_dropped_connection_deletes_nothing(pop3_server):
    tok = token()
    deliver_all(pop3_server, tok)
    p = pop3_server.pop3_login()
    p.dele(1)
    p.close()  # the connection drops without QUIT
    p = login_when_free(pop3_server)
    assert p.stat()[0] == 1
    p.quit()
    assert len(pop3_server.find(ALICE, tok)) == 1


def test_dele_and_quit_removes_the_message(pop3_server):
    gone, kept = token(), token()
    deliver_all(pop3_server, gone, kept)
    p = pop3_server.pop3_login()
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    assert pop3_server.find(ALICE, gone) == []
    assert len(pop3_server.find(ALICE, kept)) == 1
    p = pop3_server.pop3_login()
    assert p.stat()[0] == 1
    assert kept in text(p.retr(1)[1])
    p.quit()


def test_mail_arriving_during_a_session_is_seen_by_the_next(pop3_server):
    deliver_all(pop3_server, token())
    p = pop3_server.pop3_login()
    late = token()
    deliver_all(pop3_server, late)
    assert p.stat()[0] == 1, "the maildrop is a snapshot taken at login"
    p.quit()
    p = pop3_server.pop3_login()
    assert p.stat()[0] == 2
    p.quit()


# ------------------------------------------------------------ UIDL stability


def test_uidl_is_stable_across_sessions_and_restarts(make_server):
    server = make_server(listen=POP3_LISTEN)
    a, b = token(), token()
    deliver_all(server, a, b)
    p = server.pop3_login()
    first = p.uidl()[1]
    p.quit()
    p = server.pop3_login(tls="stls")
    assert p.uidl()[1] == first
    p.dele(1)
    p.quit()
    server.stop()
    server.start(POP3_LISTEN)
    p = server.pop3_login()
    after = p.uidl()[1]
    assert [u.split()[1] for u in after] == [first[1].split()[1]], "the surviving message keeps its UIDL"
    p.quit()
    # The deleted message delivered again is a new message with a new UIDL.
    deliver_all(server, a)
    p = server.pop3_login()
    ids = [u.split()[1] for u in p.uidl()[1]]
    assert len(ids) == 2 and len(set(ids)) == 2 and first[1].split()[1] in ids
    assert first[0].split()[1] not in ids
    p.quit()


# ------------------------------------------------------------ brute force


def test_three_failed_logins_close_the_session(pop3_server):
    p = pop3_server.pop3s()
    started = time.monotonic()
    for attempt in range(3):
        p.user(ALICE)
        with pytest.raises(poplib.error_proto) as e:
            p.pass_(f"wrong-{attempt}")
        assert e.value.args[0].startswith(b"-ERR [AUTH] ")
    assert time.monotonic() - started >= 2.5, "failed logins are answered after a delay"
    assert b"closing" in e.value.args[0]
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        p.noop()
    log = wait_until(lambda: pop3_server.log("security.log").count("auth-failed") >= 3 and pop3_server.log("security.log"), 5)
    lines = [l for l in log.splitlines() if "auth-failed" in l]
    assert len(lines) == 3
    assert all("service=pop3" in l and ALICE in l and "127.0.0.1" in l and "invalid credentials" in l for l in lines), lines
    assert "wrong-" not in log, "a password reached the security log"


# ------------------------------------------------------------ shutdown


def test_shutdown_closes_idle_sessions_deleting_nothing(make_server):
    server = make_server(listen=POP3_LISTEN)
    tok = token()
    deliver_all(server, tok)
    with server.raw_pop3("pop3s") as r:
        r.ok(f"USER {ALICE}")
        r.ok(f"PASS {ALICE_PASSWORD}")
        r.ok("DELE 1")
        server.proc.send_signal(signal.SIGTERM)
        assert r.lines_until_eof(10) == ["-ERR [SYS/TEMP] server shutting down"]
    assert server.stop(timeout=15) == 0
    assert len(server.find(ALICE, tok)) == 1


# ------------------------------------------------------------ big messages


def test_50_mb_message_is_retrieved_exactly_with_bounded_memory(pop3_server):
    tok = token()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-big-line\r\n"
    body = line * (50_000_000 // len(line))
    message = make_message(tok, body=body)
    with smtplib.SMTP(*pop3_server.addr("smtp"), local_hostname="client.test", timeout=300) as s:
        assert s.sendmail("sender@example.net", [ALICE], message) == {}
    p = pop3_server.pop3_login(timeout=300)
    (count, size) = p.stat()
    assert count == 1
    resp, lines, wire = p.retr(1)
    assert wire == size
    got = b"\r\n".join(lines) + b"\r\n"
    # The server adds its trace headers in front; the rest is what was sent, byte for byte.
    assert got.endswith(message)
    assert hashlib.sha256(got[-len(message):]).hexdigest() == hashlib.sha256(message).hexdigest()
    peak_mb = pop3_server.peak_rss_kb() / 1024
    assert peak_mb < 200, f"server peak RSS {peak_mb:.0f} MB after receiving and serving 50 MB"
    p.quit()
