"""The mail log and the security log (A6, X10): what an admin reads after the fact."""

import base64
import re
import smtplib

import pytest

from harness import ALICE, ALICE_PASSWORD, insecure_tls, make_message, token, wait_until


def log_lines(server, name, *needles):
    return [l for l in server.log(name).splitlines() if all(n in l for n in needles)]


def result_of(line: str) -> str:
    """The value of `result=` in a key=value log line (quoted or bare)."""
    m = re.search(r'\bresult=("(?:[^"\\]|\\.)*"|\S+)', line)
    assert m, line
    return m.group(1)


def queue_id_candidates(server, reply: bytes) -> set[str]:
    """Ids the accepted message may go by: hex words in the 250 reply ("queued as
    ID") and the names of body files (a body's id is its queue id, DESIGN.md)."""
    ids = set(re.findall(r"\b[0-9A-Fa-f]{8,64}\b", reply.decode("utf-8", "replace")))
    blobs = server.data / "blobs"
    if blobs.exists():
        ids |= {p.name for p in blobs.rglob("*") if p.is_file()}
    return ids


def test_mail_log_has_accepted_and_refused_messages(make_server):
    server = make_server(config={"smtp.max_message_size": "100K"})
    ok, refused = token(), token()
    with server.smtp() as s:
        s.ehlo()
        s.mail("sender@example.net")
        s.rcpt(ALICE)
        code, reply = s.data(make_message(ok))
        assert code == 250
        ids = queue_id_candidates(server, reply)
        s.rset()
        s.mail("sender@example.net")
        s.rcpt(ALICE)
        code, _ = s.data(make_message(refused, body="y" * 200_000))
        assert code == 552

    def accepted_line():
        lines = [l for l in log_lines(server, "mail.log", "127.0.0.1", "result=") if any(i in l for i in ids)]
        assert lines, f"no mail.log line with a queue id of {ids}, the client IP and result=:\n{server.log('mail.log')}"
        return lines[0]

    line = wait_until(accepted_line, 5, what="the accepted message in mail.log")
    assert "event=accepted " in line and result_of(line) == '"250 2.0.0"', line

    # The refused message: its own event and the exact reply it got, 552 5.3.4.
    def refused_line():
        lines = log_lines(server, "mail.log", "event=refused", "client=127.0.0.1", f"to={ALICE}")
        assert [result_of(l) for l in lines] == ['"552 5.3.4"'], f"expected one refused line with 552 5.3.4:\n{server.log('mail.log')}"
        return lines

    wait_until(refused_line, 5, what="the refused message in mail.log")


def test_security_log_records_failed_auth_without_the_password(server):
    wrong = "Wr0ng-pass-zq9"
    with server.smtp("submission") as s:
        s.ehlo()
        s.starttls(context=insecure_tls())
        s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(ALICE, wrong)
        s.login(ALICE, ALICE_PASSWORD)

    lines = wait_until(lambda: log_lines(server, "security.log", ALICE, "127.0.0.1"), 5, what="a failed AUTH in security.log")
    assert lines
    secrets = [wrong, ALICE_PASSWORD]
    secrets += [base64.b64encode(f"\0{ALICE}\0{p}".encode()).decode() for p in (wrong, ALICE_PASSWORD)]
    secrets += [base64.b64encode(p.encode()).decode() for p in (wrong, ALICE_PASSWORD)]
    for name in ("security.log", "mail.log"):
        text = server.log(name)
        for secret in secrets:
            assert secret not in text, f"{name} contains a password: {secret!r}"
    for secret in (wrong, ALICE_PASSWORD):
        assert secret not in server.stderr(), "the server printed a password"


def test_security_log_records_relay_attempts(server):
    with server.smtp() as s:
        s.ehlo()
        s.mail("spammer@example.net")
        code, _ = s.rcpt("victim@remote.test")
        assert code == 554
    wait_until(lambda: log_lines(server, "security.log", "127.0.0.1", "victim@remote.test"), 5, what="the relay attempt in security.log")


def test_security_log_is_rate_limited_per_client(make_server):
    """Issue 6: refusals are logged, but a client refused 50 times in a minute
    gets 10 lines and one `log-suppressed` line with the count (written when
    the window ends, or at shutdown), so it cannot fill the disk."""
    import socket

    from harness import IO_TIMEOUT

    server = make_server()
    server.cli("security", "block", "127.0.0.1")

    def refused_greeting() -> bytes:
        with socket.create_connection(server.addr("smtp"), timeout=IO_TIMEOUT) as s:
            return s.recv(512)

    wait_until(lambda: refused_greeting().startswith(b"421 "), what="the block to apply")
    for _ in range(50):
        assert refused_greeting().startswith(b"421 ")
    refused = log_lines(server, "security.log", "event=connection-refused", "client=127.0.0.1")
    assert len(refused) == 10, refused
    server.stop()
    log = server.log("security.log")
    [summary] = [l for l in log.splitlines() if "event=log-suppressed" in l]
    assert "client=127.0.0.1 of=connection-refused" in summary, summary
    suppressed = int(re.search(r"\bsuppressed=(\d+)", summary).group(1))
    assert suppressed >= 41, summary  # 51+ refusals (the wait included), 10 written
    assert len(log.splitlines()) <= 12, log  # the CLI's block line, 10 refusals, the summary
