"""mutt (Debian's) reads a MIME message over IMAPS: the index from its header
fetch, the whole message piped, and a base64 attachment piped decoded.
mutt needs a terminal: it runs on a pseudo-terminal, driven by `push`."""

import base64
import os
import select
import subprocess
import time

import pytest

from harness import ALICE, ALICE_PASSWORD, token, wait_until, require_tool

pytestmark = require_tool("mutt", "mutt is not installed (scripts/test installs it)")

MUTT_DEADLINE = 60.0


def run_mutt(home, rc) -> tuple[int, bytes]:
    """Runs `mutt -n -F rc` on a pseudo-terminal until it exits; its exit code and screen output."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTT")}
    env.update(HOME=str(home), TERM="vt100", LANG="C.UTF-8")
    proc = subprocess.Popen(["mutt", "-n", "-F", str(rc)], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + MUTT_DEADLINE
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"mutt still running after {MUTT_DEADLINE}s; screen: {screen[-2000:]!r}")
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:  # the terminal closed: mutt is exiting
                    pass
        return proc.wait(timeout=10), screen
    finally:
        os.close(master)


def test_mutt_reads_a_mime_message_over_imaps(make_server, tmp_path):
    server = make_server(listen={"imaps": "127.0.0.1:0"})
    tok = token()
    attached = bytes(range(256)) * 4
    b64 = base64.encodebytes(attached).replace(b"\n", b"\r\n")
    message = (
        f"From: Sender <sender@example.net>\r\nTo: {ALICE}\r\nSubject: mutt {tok}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        f"--b\r\nContent-Type: text/plain\r\n\r\nsee attached {tok}\r\n"
        "--b\r\nContent-Type: application/octet-stream; name=data.bin\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=data.bin\r\n\r\n"
    ).encode() + b64 + b"\r\n--b--\r\n"
    with server.smtp() as s:
        assert s.sendmail("sender@example.net", [ALICE], message) == {}
    server.wait_for_message(ALICE, tok)

    host, port = server.addr("imaps")
    home = tmp_path / "mutt-home"
    home.mkdir()
    piped, att = home / "message.txt", home / "data.bin"
    rc = home / "muttrc"
    # The server's self-signed certificate is trusted as is; no caches, no prompts.
    rc.write_text(
        f'set certificate_file="{server.data / "tls" / "cert.pem"}"\n'
        "set ssl_verify_host=no\n"
        f'set imap_user="{ALICE}"\nset imap_pass="{ALICE_PASSWORD}"\n'
        f'set folder="imaps://{host}:{port}/"\nset spoolfile="+INBOX"\n'
        'set quit=yes\nset wait_key=no\nset pipe_decode=yes\nset mail_check=0\nset header_cache=""\n'
        f'push "<pipe-message>cat > {piped}<enter><view-attachments><last-entry><pipe-entry>cat > {att}<enter><exit><quit>"\n'
    )
    code, screen = run_mutt(home, rc)
    assert code == 0, screen[-2000:]
    assert f"mutt {tok}".encode() in screen, "the index did not list the message"
    text = piped.read_text("utf-8", "replace")
    assert f"Subject: mutt {tok}" in text and f"see attached {tok}" in text, text
    assert att.read_bytes() == attached
