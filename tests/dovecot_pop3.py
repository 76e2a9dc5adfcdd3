"""A private Dovecot serving POP3 (STLS) on a loopback port for
test_pop3_fetch.py, and with `imap=True` IMAP (STARTTLS) on another for
test_import.py (folders with "/" as the separator), set up as bench/lib.sh's Dovecot: its own config, base
and state directories, a passwd-file with {PLAIN} passwords (so APOP works),
Maildirs owned by mail (uid 8). Needs root (Dovecot drops to mail)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CERTS = [
    ("/etc/dovecot/private/dovecot.pem", "/etc/dovecot/private/dovecot.key"),
    ("/etc/ssl/certs/ssl-cert-snakeoil.pem", "/etc/ssl/private/ssl-cert-snakeoil.key"),
]
MAIL_UID = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    def __init__(self, users: dict[str, str], imap: bool = False):
        # Not under pytest's tmp_path: its parents are 0700, and Dovecot's
        # auth and mail processes run as other users.
        root = self.root = Path(tempfile.mkdtemp(prefix="postern-dovecot-"))
        self.port = free_port()
        # 0: no IMAP listener.
        self.imap_port = free_port() if imap else 0
        self.users = users
        root.chmod(0o755)
        (root / "run").mkdir()
        (root / "state").mkdir()
        (root / "mail").mkdir()
        os.chown(root / "mail", MAIL_UID, MAIL_UID)
        lines = [f"{u}:{{PLAIN}}{p}:{MAIL_UID}:{MAIL_UID}::{root / 'mail' / u}::" for u, p in users.items()]
        (root / "users").write_text("\n".join(lines) + "\n")
        cert, key = next((c, k) for c, k in CERTS if os.access(c, os.R_OK) and os.access(k, os.R_OK))
        self.conf = root / "dovecot.conf"
        self.conf.write_text(f"""
instance_name = postern-fetch-test-{self.port}
base_dir = {root / 'run'}
state_dir = {root / 'state'}
protocols = pop3{' imap' if imap else ''}
listen = 127.0.0.1
log_path = {root / 'dovecot.log'}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain apop
first_valid_uid = {MAIL_UID}
mail_uid = mail
mail_gid = mail
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = {root / 'users'}
}}
userdb {{
  driver = passwd-file
  args = {root / 'users'}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
        # Dovecot's master forks into the background and keeps its stdout: not a pipe.
        subprocess.run(["dovecot", "-c", str(self.conf)], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        for port in [self.port, self.imap_port][: 1 + imap]:
            self.wait_listening(port)

    def wait_listening(self, port: int) -> None:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not listen: {self.log()}")
                time.sleep(0.05)

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user / "Maildir"

    def put(self, user: str, name: str, message: bytes) -> None:
        """Delivers a message into USER's Maildir (new/), as an MDA would."""
        maildir = self.root / "mail" / user / "Maildir"
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        tmp = maildir / "tmp" / name
        tmp.write_bytes(message)
        tmp.rename(maildir / "new" / name)
        for dirpath, dirs, files in os.walk(self.root / "mail" / user):
            os.chown(dirpath, MAIL_UID, MAIL_UID)
            for f in files:
                os.chown(os.path.join(dirpath, f), MAIL_UID, MAIL_UID)

    def count(self, user: str) -> int:
        maildir = self.root / "mail" / user / "Maildir"
        return sum(len(os.listdir(maildir / sub)) for sub in ("new", "cur") if (maildir / sub).exists())

    def log(self) -> str:
        p = self.root / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self) -> None:
        subprocess.run(["dovecot", "-c", str(self.conf), "stop"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        deadline = time.monotonic() + 10
        while (self.root / "run" / "master.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


def available(imap: bool = False) -> str | None:
    """Why Dovecot's POP3 (and IMAP when asked) cannot run here, or None."""
    if shutil.which("dovecot") is None or not Path("/usr/lib/dovecot/pop3").exists():
        return "dovecot-pop3d is not installed (scripts/test installs it)"
    if imap and not Path("/usr/lib/dovecot/imap").exists():
        return "dovecot-imapd is not installed (scripts/test installs it)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root here (it drops to the mail user)"
    if not any(os.access(c, os.R_OK) for c, _ in CERTS):
        return "no certificate for Dovecot (dovecot-core's or ssl-cert's snakeoil)"
    return None
