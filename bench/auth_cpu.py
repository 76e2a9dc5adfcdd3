"""CPU per message that message authentication adds (issue 15): Postern's
own CPU time (utime + stime from /proc/PID/stat, so the sender, the DNS
server and the rest of a shared host do not count) over N messages, with
the checks off and on, alternated ABBA in fresh data directories.

Every message comes from 127.0.0.1 as sender@peer.test, DKIM-signed
(rsa-sha256, dkimpy) by peer.test; a loopback DNS server publishes
peer.test's SPF (pass), DKIM key and DMARC (p=reject) records, so with the
checks on each message has SPF pass, one DKIM verification, ARC none and
DMARC pass, with answers from the resolver's cache after the first. The
"reports" side also has auth.dmarc_reports on (a store row per message).

Usage: python3 bench/auth_cpu.py [N] (POSTERN_BIN: a release build)
Prints each run, then the mean ms of CPU per message of each side and the
differences. The figure is what to report; the machine's noise is shown
by the spread of the two runs of each side.
"""

from __future__ import annotations

import base64
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import dkim  # noqa: E402  (dkimpy, as the tests use)
from dns_server import DnsServer  # noqa: E402

BIN = os.environ.get("POSTERN_BIN") or str(Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/postern-target")) / "release/postern")
DOMAIN = "bench.test"
PEER = "peer.test"
PER_CONNECTION = 100
TICKS = os.sysconf("SC_CLK_TCK")


def sh(*args: str, data: Path, input: bytes | None = None) -> None:
    subprocess.run([BIN, "--data", str(data), *args], check=True, capture_output=True, input=input)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def signed_message(key: bytes) -> bytes:
    body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n" * 80).encode()
    msg = (f"From: <sender@{PEER}>\r\nTo: <user1@{DOMAIN}>\r\nSubject: cpu\r\n"
           f"Date: Mon, 07 Dec 2026 00:00:00 +0000\r\nMessage-ID: <cpu@{PEER}>\r\n\r\n").encode() + body
    return dkim.sign(msg, b"sel", PEER.encode(), key, include_headers=[b"from", b"to", b"subject", b"date"]) + msg


def run(side: str, n: int, dns: str, msg: bytes, tmp: Path) -> float:
    data = tmp / f"{side}-{time.monotonic_ns()}"
    sh("init", "--hostname", DOMAIN, "--domain", DOMAIN, data=data)
    sh("user", "add", f"user1@{DOMAIN}", "--password-stdin", data=data, input=b"Load-Test-Pass-1\n")
    on = "false" if side == "off" else "true"
    settings = {"smtp.greeting_delay": '"0s"', "dns.resolver": f'"{dns}"', "spam.enabled": "false",
                "auth.dmarc_reports": "true" if side == "reports" else "false"}
    settings.update({f"auth.{c}": on for c in ("spf", "dkim", "arc", "dmarc")})
    for k, v in settings.items():
        sh("config", "set", k, v, data=data)
    out = open(tmp / "serve.out", "w+")
    listen = [a for s in ("submission", "smtps", "imap", "imaps", "pop3", "pop3s", "admin", "https", "http") for a in ("--listen", f"{s}=off")]
    proc = subprocess.Popen([BIN, "--data", str(data), "serve", "--listen", "smtp=127.0.0.1:0", *listen],
                            stdout=out, stderr=subprocess.DEVNULL, text=True)
    try:
        port = wait_port(out)
        send(port, msg, 10)  # warm: the resolver's cache, the first connections
        wait_accepted(data, 10)
        before = cpu_seconds(proc.pid)
        send(port, msg, n)
        wait_accepted(data, 10 + n)
        used = cpu_seconds(proc.pid) - before
        last = (data / "logs/mail.log").read_text().splitlines()[-1]
        want = "spf=off" if side == "off" else f"spf=pass dkim=pass:{PEER} dmarc=pass:none arc=none"
        assert want in last, f"the checks did not run as intended: {last}"
    finally:
        proc.terminate()
        proc.wait(30)
        subprocess.run(["rm", "-rf", str(data)], check=False)
    ms = used * 1000 / n
    print(f"{side:8} {n} messages  {used:.2f} s CPU  {ms:.3f} ms/message", flush=True)
    return ms


def wait_port(out) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out.seek(0)
        m = re.search(r"^listening smtp 127\.0\.0\.1:(\d+)$", out.read(), re.M)
        if m:
            return int(m.group(1))
        time.sleep(0.1)
    raise SystemExit("postern did not start")


def send(port: int, msg: bytes, n: int) -> None:
    left = n
    while left:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.peer.test", timeout=60) as s:
            for _ in range(min(left, PER_CONNECTION)):
                refused = s.sendmail(f"sender@{PEER}", [f"user1@{DOMAIN}"], msg)
                assert not refused, refused
                left -= 1


def wait_accepted(data: Path, n: int) -> None:
    log = data / "logs/mail.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if text.count("event=accepted") >= n:
            return
        time.sleep(0.05)
    raise SystemExit(f"only {text.count('event=accepted')} of {n} accepted")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        key = tmp / "k.pem"
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "2048"], check=True, capture_output=True)
        pub = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
        dns = DnsServer()
        address = dns.start()
        dns.txt(PEER, "v=spf1 ip4:127.0.0.1 -all")
        dns.txt(f"_dmarc.{PEER}", f"v=DMARC1; p=reject; rua=mailto:dmarc@{PEER}")
        dns.txt(f"sel._domainkey.{PEER}", "v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode())
        msg = signed_message(key.read_bytes())
        results: dict[str, list[float]] = {"off": [], "on": [], "reports": []}
        for side in ("off", "on", "reports", "reports", "on", "off"):
            results[side].append(run(side, n, address, msg, tmp))
        dns.stop()
    mean = {k: sum(v) / len(v) for k, v in results.items()}
    print(f"mean ms CPU/message: off {mean['off']:.3f}  on {mean['on']:.3f}  on+reports {mean['reports']:.3f}")
    print(f"checks add {mean['on'] - mean['off']:.3f} ms/message; reports add {mean['reports'] - mean['on']:.3f} more")


if __name__ == "__main__":
    main()
