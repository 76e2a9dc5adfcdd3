"""clamd as a second engine (issue 17 item 3): a real clamd (Debian's
clamav-daemon) started on a loopback port with a one-signature database the
test writes (freshclam never runs). A message only clamd's database knows is
refused 554 naming clamd's signature; EICAR (only the integrated engine knows
it here) still is; over clamd's StreamMaxLength the message is unscannable;
clamd down (connection refused) or hanging (accepts, never answers) is
`451 4.7.1` by default, or delivered with a warning with
`av.engine_failure = "deliver"`."""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import struct
import subprocess
import time

import pytest

from harness import ALICE, header_values, make_message, token, tool_missing_is_a_failure, wait_until

# /usr/sbin is not on every user's PATH.
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MARKER = b"POSTERN-CLAMD-ONLY-TEST-PATTERN-4711"
SIG = "Postern.Test.ClamdOnly"
STREAM_MAX = 200 * 1024
START_DEADLINE = 120.0

CLAMD_CONF = """Foreground yes
TCPSocket {port}
TCPAddr 127.0.0.1
DatabaseDirectory {db}
LogFile {work}/clamd.log
PidFile {work}/clamd.pid
TemporaryDirectory {work}
StreamMaxLength {stream_max}
Bytecode no
"""


def clamd_cmd(port: int, cmd: bytes, timeout: float = 2) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"z" + cmd + b"\0")
        out = b""
        while not out.endswith(b"\0"):
            got = s.recv(4096)
            if not got:
                break
            out += got
    return out.rstrip(b"\0").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def clamd(tmp_path_factory):
    if not os.path.exists(CLAMD):
        if tool_missing_is_a_failure():
            pytest.fail("clamd is missing under CI=true (scripts/test installs clamav-daemon)")
        pytest.skip("the second engine's test runs a real clamd (Debian clamav-daemon)")
    work = tmp_path_factory.mktemp("clamd")
    db = work / "db"
    db.mkdir()
    (db / "postern-test.ndb").write_text(f"{SIG}:0:*:{MARKER.hex()}\n")
    port = free_port()
    conf = work / "clamd.conf"
    conf.write_text(CLAMD_CONF.format(port=port, db=db, work=work, stream_max=STREAM_MAX))
    proc = subprocess.Popen([CLAMD, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pong():
        assert proc.poll() is None, f"clamd exited {proc.returncode}: {(work / 'clamd.log').read_text(errors='replace')[-2000:]}"
        try:
            return clamd_cmd(port, b"PING") == "PONG"
        except OSError:
            return False

    try:
        wait_until(pong, timeout=START_DEADLINE, interval=0.2, what="clamd answering PING")
        yield f"tcp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def refused(server, raw: bytes) -> tuple[int, str]:
    with server.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@outside.example", [ALICE], raw)
    return e.value.smtp_code, e.value.smtp_error.decode()


def test_either_engine_finds_a_virus(make_server, clamd):
    server = make_server(config={"av.clamd": f'"{clamd}"'})
    code, text = refused(server, make_message(token(), body=b"look: " + MARKER + b"\r\n"))
    # clamd names signatures from unofficial databases NAME.UNOFFICIAL.
    assert code == 554 and text.startswith(f"5.7.1 Virus found: {SIG}"), (code, text)
    assert refused(server, make_message(token(), body=EICAR + b"\r\n")) == (554, "5.7.1 Virus found: Eicar-Test-Signature")
    tok = token()
    with server.smtp() as s:
        s.sendmail("a@outside.example", [ALICE], make_message(tok, body="nothing to see\r\n"))
    stored = server.wait_for_message(ALICE, tok)
    assert header_values(stored, "X-Postern-Virus-Scan") == []
    assert f"virus={SIG}" in server.log("mail.log")


def test_over_clamd_stream_limit_is_unscannable(make_server, clamd):
    server = make_server(config={"av.clamd": f'"{clamd}"'})
    tok = token()
    big = (b"x" * 998 + b"\r\n") * (2 * STREAM_MAX // 1000)
    with server.smtp() as s:
        s.sendmail("a@outside.example", [ALICE], make_message(tok, body=big))
    stored = server.wait_for_message(ALICE, tok)
    assert header_values(stored, "X-Postern-Virus-Scan") == ["unscannable (over clamd's StreamMaxLength)"]


def test_clamd_down_is_451_or_delivered_with_a_warning(make_server):
    port = free_port()  # nothing listens there: connection refused
    server = make_server(config={"av.clamd": f'"tcp://127.0.0.1:{port}"'})
    assert refused(server, make_message(token())) == (451, "4.7.1 Virus scanner temporarily unavailable, try again later")
    assert "event=av-engine-failed" in server.log("security.log")

    def failures():
        out = server.cli("spam", "stats").stdout
        return "av-engine-failed: 1\n" in out or None

    wait_until(failures, what="av-engine-failed counted")

    server.config_set("av.engine_failure", '"deliver"')
    server.stop()
    server.start()
    tok = token()
    with server.smtp() as s:
        s.sendmail("a@outside.example", [ALICE], make_message(tok))
    stored = server.wait_for_message(ALICE, tok)
    [warning] = header_values(stored, "X-Postern-Virus-Scan")
    assert warning.startswith("not scanned by clamd ("), warning
    # The integrated engine still refuses what it knows while clamd is down.
    assert refused(server, make_message(token(), body=EICAR + b"\r\n"))[0] == 554


def test_clamd_hanging_is_451_after_the_timeout(make_server):
    # Accepts (the kernel's backlog) and never answers.
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)
    try:
        port = hang.getsockname()[1]
        server = make_server(config={"av.clamd": f'"tcp://127.0.0.1:{port}"', "av.clamd_timeout": '"1s"'})
        started = time.monotonic()
        assert refused(server, make_message(token())) == (451, "4.7.1 Virus scanner temporarily unavailable, try again later")
        took = time.monotonic() - started
        assert 1.0 <= took < 10, took
        assert "no answer within 1s" in server.log("mail.log")
    finally:
        hang.close()
