"""Outbound delivery (issue 5): mail for other domains goes by MX to a sink on
loopback, found through a DNS server the test runs; 4xx defers, 5xx bounces
with a DSN, null MX bounces at once, the queue can be steered from the CLI."""

from __future__ import annotations

import re
import ssl
import subprocess

import pytest

from harness import ALICE, BOB, make_message, token, wait_until
from outbound import dns, REMOTE, dsn_fields, outbound_config, parse, queue_id_of, queue_lines, submit, wait_queue_empty  # noqa: F401 (dns is a fixture)
from smtp_sink import Sink


@pytest.fixture
def sink():
    s = Sink(capabilities=["PIPELINING", "8BITMIME", "SIZE 52428800", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8"]).start()
    yield s
    s.stop()


@pytest.fixture
def postern(make_server, dns, sink):
    return make_server(config=outbound_config(dns.address, sink.port))


def test_remote_recipient_is_delivered_by_mx(postern, sink, dns):
    tok = submit(postern, f"carol@{REMOTE}")
    got = sink.wait_for(1)[0]
    assert got.mail_from == ALICE and got.rcpts == [f"carol@{REMOTE}"]
    assert tok.encode() in got.body
    assert got.helo == "mx.test", "EHLO with the configured hostname"
    assert (REMOTE, "MX") in dns.queries
    wait_queue_empty(postern)
    # The line is written just after the result is committed.
    wait_until(lambda: re.search(rf"event=outbound .*to=carol@{REMOTE} .*result=sent", postern.log("mail.log")), 10,
               what="the delivery in mail.log")


def test_one_connection_carries_several_messages_and_recipients(postern, sink):
    toks = [submit(postern, [f"r{i}@{REMOTE}", f"s{i}@{REMOTE}"]) for i in range(5)]
    got = sink.wait_for(5)
    assert sorted(len(m.rcpts) for m in got) == [2] * 5
    for tok in toks:
        assert sum(tok.encode() in m.body for m in got) == 1
    wait_queue_empty(postern)


def test_wire_format_is_crlf_and_dot_stuffed(postern, sink):
    # Bare LF, bare CR and dot lines in the stored body must not end the data early.
    # BDAT stores the body byte for byte (smtplib's DATA would stuff dots itself).
    tok = token()
    body = f"Subject: {tok}\r\n\r\nline1\n.\nline2\r.\r\n.leading dot\r\n..two\nlast line without newline".encode()
    with postern.submission() as s:
        s.mail(ALICE)
        s.rcpt(f"dot@{REMOTE}")
        s.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        assert s.getreply()[0] == 250
    got = sink.wait_for(1)[0]
    assert len(sink.messages) == 1
    assert b"\r\n" in got.raw
    assert re.search(rb"(?<!\r)\n", got.raw) is None, "no bare LF on the wire"
    assert re.search(rb"\r(?!\n)", got.raw) is None, "no bare CR on the wire"
    text = got.body.decode()
    assert tok in text
    assert text.endswith("\r\n\r\nline1\r\n.\r\nline2\r\n.\r\n.leading dot\r\n..two\r\nlast line without newline\r\n"), text
    assert b"\r\nline1\r\n..\r\nline2\r\n..\r\n..leading dot\r\n...two\r\n" in got.raw, got.raw
    for piece in ["line1\r\n.\r\nline2\r\n.\r\n", ".leading dot\r\n", "..two\r\n", "last line without newline\r\n"]:
        assert piece in text, (piece, text)


def test_4xx_defers_then_delivers(postern, sink):
    sink.rcpt_reply = lambda rcpt, n: (451, "4.3.0 try again later") if n == 1 else None
    submit(postern, f"later@{REMOTE}")
    wait_until(lambda: "deferred" in queue_lines(postern), 10, what="a deferred recipient")
    assert "451 4.3.0 try again later" in queue_lines(postern)
    sink.wait_for(1)
    wait_queue_empty(postern)
    assert sink.rcpt_attempts[f"later@{REMOTE}"] == 2


def test_5xx_bounces_with_a_dsn_to_the_sender(postern, sink):
    sink.rcpt_reply = lambda rcpt, n: (550, "5.1.1 <nobody@example.net>: no such user") if rcpt.startswith("nobody") else None
    tok = submit(postern, [f"nobody@{REMOTE}", f"somebody@{REMOTE}"], rcpt_options=["NOTIFY=FAILURE"],
                 mail_options=["RET=HDRS", "ENVID=env-42"])
    sink.wait_for(1)
    wait_queue_empty(postern)
    dsn = postern.wait_for_message(ALICE, "Undelivered", timeout=15)
    msg = parse(dsn)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert "MAILER-DAEMON@mx.test" in msg["From"]
    assert "Return-Path: <>" in dsn, "a DSN comes from the null sender"
    per_message, per_rcpt = dsn_fields(msg)
    assert per_message["reporting-mta"] == "dns; mx.test"
    assert per_message["original-envelope-id"] == "env-42"
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["final-recipient"].replace(" ", "").lower() == f"rfc822;nobody@{REMOTE}"
    assert r["action"] == "failed" and r["status"] == "5.1.1"
    assert "no such user" in r["diagnostic-code"] and r["diagnostic-code"].lower().startswith("smtp;")
    returned = [p for p in msg.walk() if p.get_content_type() == "text/rfc822-headers"]
    assert returned and tok in returned[0].get_content(), "RET=HDRS returns the headers"


def test_notify_never_and_null_sender_get_no_dsn(postern, sink):
    sink.rcpt_reply = lambda rcpt, n: (550, "5.1.1 no such user")
    submit(postern, f"ghost@{REMOTE}", rcpt_options=["NOTIFY=NEVER"])
    # RFC 5321 §4.5.5 / RFC 3464: a message from the null sender (a DSN itself)
    # never causes a DSN; smtp.trusted_group lets it in unauthenticated, as a
    # bounce from an internal host would come.
    postern.cli("ipgroup", "add", "inside", "127.0.0.1")
    postern.stop()
    postern.config_set("smtp.trusted_group", '"inside"')
    postern.start()
    with postern.raw() as r:
        r.ehlo()
        r.expect("MAIL FROM:<>", 250)
        r.expect(f"RCPT TO:<nobody@{REMOTE}>", 250)
        r.expect("DATA", 354)
        r.send(make_message(token(), "MAILER-DAEMON@client.test", f"nobody@{REMOTE}") + b".\r\n")
        assert r.reply().code == 250
    wait_queue_empty(postern)
    for rcpt in (f"ghost@{REMOTE}", f"nobody@{REMOTE}"):
        wait_until(lambda: re.search(rf"event=outbound .*to={rcpt} .*result=bounced", postern.log("mail.log")), 10,
                   what=f"the bounce of {rcpt} in mail.log")
    assert sink.rcpt_attempts == {f"ghost@{REMOTE}": 1, f"nobody@{REMOTE}": 1}, "a DSN to a remote sender would try the sink again"
    assert not postern.find(ALICE, "Undelivered")
    # Two outbound attempts, two bounces, and nothing more: no DSN was queued.
    assert postern.log("mail.log").count("event=outbound ") == 2, postern.log("mail.log")


def test_null_mx_bounces_at_once(postern, sink, dns):
    dns.null_mx("nomail.example")
    submit(postern, "someone@nomail.example")
    dsn = postern.wait_for_message(ALICE, "Undelivered", timeout=15)
    _, per_rcpt = dsn_fields(parse(dsn))
    assert per_rcpt[0]["status"] == "5.1.10"
    assert not sink.messages


def test_unknown_domain_bounces_and_dns_failure_defers(postern, dns):
    submit(postern, "x@does-not-exist.example")
    dsn = postern.wait_for_message(ALICE, "Undelivered", timeout=15)
    assert dsn_fields(parse(dsn))[1][0]["status"] == "5.1.2"
    dns.servfail("flaky.example")
    submit(postern, "y@flaky.example")
    wait_until(lambda: "deferred" in queue_lines(postern), 10, what="deferral on SERVFAIL")


def test_private_mx_refused_unless_allowed(make_server, dns, sink):
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.allow_private": "false"}))
    submit(server, f"lan@{REMOTE}")
    dsn = server.wait_for_message(ALICE, "Undelivered", timeout=15)
    r = dsn_fields(parse(dsn))[1][0]
    assert r["status"] == "5.4.4" and "allow_private" in r["diagnostic-code"]
    assert not sink.messages


def test_mx_preference_and_fallback(make_server, dns, sink):
    # The preferred MX (5) answers 421 at once; the backup (20) takes the mail.
    # The DNS answer lists the backup first: order comes from the preference
    # (RFC 5321 §5.1), not from the answer.
    busy = Sink(host="127.0.0.3", port=sink.port)
    busy.greeting = (421, "4.3.2 down.example.net busy")
    busy.start()
    try:
        dns.clear(REMOTE)
        dns.mx(REMOTE, [(20, "backup." + REMOTE), (5, "down." + REMOTE)])
        dns.a("down." + REMOTE, "127.0.0.3")
        dns.a("backup." + REMOTE, "127.0.0.1")
        server = make_server(config=outbound_config(dns.address, sink.port))
        submit(server, f"pref@{REMOTE}")
        assert sink.wait_for(1)[0].rcpts == [f"pref@{REMOTE}"]
        wait_queue_empty(server)
        # Tried before the backup: once the backup has the mail nothing would go to it.
        assert busy.sessions == 1 and not busy.messages, f"the preferred MX saw {busy.sessions} sessions"
        assert sink.sessions == 1
    finally:
        busy.stop()


def test_give_up_bounces_with_failed_action(make_server, dns, sink):
    sink.rcpt_reply = lambda rcpt, n: (451, "4.2.1 mailbox busy")
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.give_up": '"3s"'}))
    submit(server, f"busy@{REMOTE}")
    dsn = server.wait_for_message(ALICE, "Undelivered", timeout=20)
    r = dsn_fields(parse(dsn))[1][0]
    assert r["action"] == "failed" and r["status"] == "4.2.1"
    assert sink.rcpt_attempts[f"busy@{REMOTE}"] >= 2
    wait_queue_empty(server)


def test_delay_warning(make_server, dns, sink):
    sink.rcpt_reply = lambda rcpt, n: (451, "4.2.1 mailbox busy") if n < 4 else None
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.delay_warning": '"1s"'}))
    submit(server, f"slow@{REMOTE}")
    dsn = server.wait_for_message(ALICE, "Delayed", timeout=20)
    r = dsn_fields(parse(dsn))[1][0]
    assert r["action"] == "delayed" and "will-retry-until" in r
    sink.wait_for(1)
    wait_queue_empty(server)
    assert len(server.find(ALICE, "Delayed")) == 1, "one warning only"


def test_smtputf8_needed_but_not_offered_bounces(make_server, dns):
    plain = Sink(capabilities=["8BITMIME", "ENHANCEDSTATUSCODES"]).start()
    try:
        server = make_server(config=outbound_config(dns.address, plain.port))
        submit(server, f"ütf@{REMOTE}", mail_options=["SMTPUTF8"])
        dsn = server.wait_for_message(ALICE, "Undelivered", timeout=15)
        assert dsn_fields(parse(dsn))[1][0]["status"] == "5.6.7"
        assert not plain.messages
    finally:
        plain.stop()


def test_starttls_to_the_sink(make_server, dns, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=mx1.example.net", "-addext", "subjectAltName=DNS:mx1.example.net",
                    "-addext", "basicConstraints=critical,CA:FALSE"],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    tls_sink = Sink(capabilities=["PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES"], tls_context=ctx).start()
    try:
        server = make_server(config=outbound_config(dns.address, tls_sink.port))
        submit(server, f"secure@{REMOTE}")
        assert tls_sink.wait_for(1)[0].tls
        wait_queue_empty(server)
        wait_until(lambda: re.search(r"to=secure@example.net .*tls=\"?unverified TLS", server.log("mail.log")), 10,
                   what="an unverified TLS delivery in mail.log")
        # With the sink's certificate trusted and verification required, it is verified.
        (server.data / "sink-ca.pem").write_bytes(cert.read_bytes())
        server.stop()
        server.config_set("delivery.ca_file", '"sink-ca.pem"')
        server.config_set("delivery.tls", '"verify"')
        server.start()
        submit(server, f"verified@{REMOTE}")
        tls_sink.wait_for(2)
        wait_until(lambda: re.search(r"to=verified@example.net .*tls=\"?verified TLS", server.log("mail.log")), 15,
                   what="a verified TLS delivery in mail.log")
    finally:
        tls_sink.stop()


def test_smarthost_with_auth(make_server, dns, tmp_path):
    relay = Sink(capabilities=["AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES"], users={"relayuser": "p@ss:word"}, require_auth=True).start()
    try:
        url = f'"smtp://relayuser:p%40ss%3Aword@127.0.0.1:{relay.port}"'
        server = make_server(config=outbound_config(dns.address, 1, **{"delivery.relay": url}))
        submit(server, "far@elsewhere.example")
        got = relay.wait_for(1)[0]
        assert got.auth == "relayuser" and got.rcpts == ["far@elsewhere.example"]
        wait_queue_empty(server)
        assert "p@ss:word" not in server.log("mail.log")
    finally:
        relay.stop()


def deferred_for_an_hour(make_server, dns, sink, rcpt: str):
    """A running server whose one message to `rcpt` was refused with 451 and
    waits an hour for its next try; returns the server and the queue id."""
    sink.rcpt_reply = lambda rcpt, n: (451, "4.3.0 not yet")
    server = make_server(config=outbound_config(dns.address, sink.port, **{"delivery.retry": '["1h"]'}))
    submit(server, rcpt)
    wait_until(lambda: "deferred" in queue_lines(server), 10, what="a deferral")
    return server, queue_id_of(server)


def test_queue_hold_release_retry_delete(make_server, dns, sink):
    server, qid = deferred_for_an_hour(make_server, dns, sink, f"steer@{REMOTE}")
    assert re.search(r"deferred  attempts=1  next=(59m|1h)  last_error=451 4.3.0 not yet", queue_lines(server))
    sink.rcpt_reply = lambda rcpt, n: None
    server.cli("queue", "hold", qid)
    assert "[held]" in queue_lines(server)
    server.cli("queue", "retry", qid)
    # retry signals the server to look at the queue at once (SIGUSR1); a message
    # submitted after that goes out, and only after the queue was looked at
    # with the held one due does the check below mean anything.
    wait_until(lambda: "event=queue-run-requested" in server.log("mail.log"), 10, what="the nudge in mail.log")
    submit(server, f"bystander@{REMOTE}")
    assert sink.wait_for(1)[0].rcpts == [f"bystander@{REMOTE}"]
    assert len(sink.messages) == 1 and sink.rcpt_attempts[f"steer@{REMOTE}"] == 1, "a held message is not tried"
    assert "[held]" in queue_lines(server)
    server.cli("queue", "release", qid)
    assert sink.wait_for(2)[1].rcpts == [f"steer@{REMOTE}"]
    wait_queue_empty(server)
    # release signals too.
    wait_until(lambda: server.log("mail.log").count("event=queue-run-requested") == 2, 10, what="the second nudge in mail.log")
    assert server.proc.poll() is None, "the server survives the signal"
    # delete: a deferred message leaves the queue without a bounce
    sink.rcpt_reply = lambda rcpt, n: (451, "4.3.0 not yet")
    submit(server, f"drop@{REMOTE}")
    wait_until(lambda: "deferred" in queue_lines(server), 10, what="a deferral")
    qid = queue_id_of(server)
    server.cli("queue", "delete", qid)
    assert "queue is empty" in queue_lines(server)
    assert not server.find(ALICE, "Undelivered")
    p = server.cli("queue", "delete", qid, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr
    # retry --all brings a deferred message forward
    submit(server, f"again@{REMOTE}")
    wait_until(lambda: "deferred" in queue_lines(server), 10, what="a deferral")
    sink.rcpt_reply = lambda rcpt, n: None
    server.cli("queue", "retry", "--all")
    wait_until(lambda: any(f"again@{REMOTE}" in m.rcpts for m in sink.messages), 30,
               what=f"retry --all; mail.log: {server.log('mail.log')[-600:]}")


def test_queue_show_finds_the_body_by_id(make_server, dns, sink):
    """`queue show` reads the body through the store by its id (issue 14: never
    by path): its size, then `missing` once the body is gone."""
    server, qid = deferred_for_an_hour(make_server, dns, sink, f"show@{REMOTE}")
    shown = server.cli("queue", "show", qid).stdout.splitlines()
    assert shown[0].startswith(f"{qid}  ") and f"show@{REMOTE}  deferred" in shown[1], shown
    size = (server.data / "blobs" / qid[-2:] / qid).stat().st_size
    assert shown[-1] == f"body: {size} octets", shown
    (server.data / "blobs" / qid[-2:] / qid).unlink()
    assert server.cli("queue", "show", qid).stdout.splitlines()[-1] == "body: missing"


def test_queue_commands_work_without_a_running_server(make_server, dns, sink):
    server, qid = deferred_for_an_hour(make_server, dns, sink, f"later@{REMOTE}")
    server.stop()
    sink.rcpt_reply = lambda rcpt, n: None
    assert "1 recipients will be tried now" in server.cli("queue", "retry", "--all").stdout
    server.cli("queue", "hold", qid)
    server.cli("queue", "release", qid)
    server.start()
    assert any(f"later@{REMOTE}" in m.rcpts for m in sink.wait_for(1))
    wait_queue_empty(server)


def test_local_and_remote_recipients_in_one_message(postern, sink):
    tok = submit(postern, [BOB, f"dave@{REMOTE}"])
    postern.wait_for_message(BOB, tok)
    assert tok.encode() in sink.wait_for(1)[0].body
    wait_queue_empty(postern)


def test_chunking_dsn_parameters_and_source_address(make_server, dns):
    rich = Sink(capabilities=["PIPELINING", "CHUNKING", "DSN", "8BITMIME", "SIZE 0", "ENHANCEDSTATUSCODES"]).start()
    try:
        server = make_server(config=outbound_config(dns.address, rich.port, **{"delivery.source_address": '"127.0.0.2"'}))
        tok = submit(server, f"rich@{REMOTE}", body="caf\u00e9\r\n".encode(), mail_options=["RET=HDRS", "ENVID=e1", "BODY=8BITMIME"],
                     rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;orig@example.net"])
        got = rich.wait_for(1)[0]
        assert got.bdat and tok.encode() in got.body and "café".encode() in got.body
        assert "RET=HDRS" in got.mail_params and "ENVID=e1" in got.mail_params and "BODY=8BITMIME" in got.mail_params
        assert got.rcpt_params == ["NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig@example.net"]
        assert got.peer == "127.0.0.2", "sent from delivery.source_address"
        wait_queue_empty(server)
        assert not server.find(ALICE, "Successful"), "a DSN-capable server reports success itself"
    finally:
        rich.stop()


def test_notify_success_to_a_server_without_dsn_gets_a_relayed_notice(postern, sink):
    sink.capabilities = ["PIPELINING", "ENHANCEDSTATUSCODES"]
    submit(postern, f"happy@{REMOTE}", rcpt_options=["NOTIFY=SUCCESS"])
    sink.wait_for(1)
    report = postern.wait_for_message(ALICE, "Successful", timeout=15)
    r = dsn_fields(parse(report))[1][0]
    assert r["action"] == "relayed" and r["status"] == "2.0.0"


def test_results_are_recorded_while_mail_keeps_arriving(postern, sink):
    """Deliveries recorded while the committer is busy with new mail: every
    result must be recorded (a lost result means a second delivery)."""
    import threading
    from collections import Counter

    def submitter(k: int) -> None:
        for i in range(10):
            submit(postern, f"live{k}-{i}@{REMOTE}")

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.wait_for(40, timeout=60)
    wait_queue_empty(postern, timeout=60)
    counts = Counter(r for m in sink.messages for r in m.rcpts)
    assert len(counts) == 40 and max(counts.values()) == 1, [r for r, n in counts.items() if n > 1]
    assert "queue-record-failed" not in postern.log("mail.log")
