"""fetchmail (Debian's) against Postern's POP3: STLS on the POP3 port and
implicit TLS on POP3S with the certificate checked, leave-on-server with
UIDL tracking across a server restart, then fetch-and-delete."""

import os
import subprocess
from pathlib import Path

import pytest

from harness import ALICE, ALICE_PASSWORD, HOSTNAME, POP3_LISTEN, token, require_tool

pytestmark = require_tool("fetchmail", "fetchmail is not installed (scripts/test installs it)")

# fetchmail's exit codes (man fetchmail, EXIT CODES).
FETCHED, NO_MAIL = 0, 1


class Fetchmail:
    """fetchmail runs with HOME in a private directory, an rc file of mode
    0600 there, an idfile for UIDL tracking, and an MDA appending to a file."""

    def __init__(self, home: Path):
        self.home = home
        home.mkdir()
        self.idfile = home / "fetchids"
        self.out = home / "delivered"
        self.rc = home / ".fetchmailrc"

    def run(self, server, service: str, keep: bool) -> subprocess.CompletedProcess:
        host, port = server.addr(service)
        # The server's self-signed certificate is the trust anchor, checked for its name.
        tls = "ssl" if service == "pop3s" else "sslproto 'TLS1.2+'"
        rc = (
            "set no syslog\n"
            f'set idfile "{self.idfile}"\n'
            f"poll {host} protocol pop3 port {port} uidl auth password timeout 60\n"
            f'  user "{ALICE}" there with password "{ALICE_PASSWORD}" is "{os.environ.get("USER", "root")}" here\n'
            f'  {tls} sslcertck sslcertfile "{server.data / "tls" / "cert.pem"}" sslcommonname "{HOSTNAME}"\n'
            f'  mda "cat >> {self.out}"\n'
            f"  {'keep' if keep else 'no keep fetchall'}\n"
        )
        self.rc.write_text(rc)
        self.rc.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if k not in ("FETCHMAILHOME", "FETCHMAILUSER")}
        env["HOME"] = str(self.home)
        return subprocess.run(
            ["fetchmail", "--nodetach", "-v", "-f", str(self.rc)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def expect(self, server, service: str, keep: bool, code: int) -> str:
        r = self.run(server, service, keep)
        assert r.returncode == code, f"fetchmail exited {r.returncode}, expected {code}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        return r.stdout + r.stderr

    def delivered(self) -> str:
        return self.out.read_text("utf-8", "replace") if self.out.exists() else ""


def test_fetchmail_keeps_with_uidl_across_a_restart_then_deletes(make_server, tmp_path):
    server = make_server(listen=POP3_LISTEN)
    toks = [token() for _ in range(3)]
    for tok in toks:
        assert server.deliver(tok) == {}
    for tok in toks:
        server.wait_for_message(ALICE, tok)
    fm = Fetchmail(tmp_path / "fetchmail-home")

    # 1. STLS on the POP3 port, leaving the mail on the server.
    log = fm.expect(server, "pop3", keep=True, code=FETCHED)
    assert "STLS" in log, log
    assert all(fm.delivered().count(f"token {tok}") == 1 for tok in toks), fm.delivered()[:2000]
    assert len(server.messages(ALICE)) == 3

    # 2. After a restart, over POP3S: the UIDLs are unchanged, so nothing is new.
    server.stop()
    server.start(POP3_LISTEN)
    before = fm.delivered()
    fm.expect(server, "pop3s", keep=True, code=NO_MAIL)
    assert fm.delivered() == before

    # 3. One new message: only it is fetched.
    new = token()
    assert server.deliver(new) == {}
    server.wait_for_message(ALICE, new)
    fm.expect(server, "pop3", keep=True, code=FETCHED)
    assert all(fm.delivered().count(f"token {tok}") == 1 for tok in toks + [new])

    # 4. Without keep: everything is fetched and deleted; the mailbox ends empty.
    fm.out.unlink()
    fm.expect(server, "pop3s", keep=False, code=FETCHED)
    assert all(fm.delivered().count(f"token {tok}") == 1 for tok in toks + [new])
    assert server.messages(ALICE) == []
    fm.expect(server, "pop3s", keep=False, code=NO_MAIL)
