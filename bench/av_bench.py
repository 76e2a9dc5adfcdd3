"""Antivirus benchmark (issue 17): Postern's integrated engine (`postern av
scan`) against clamd (INSTREAM over loopback TCP), both loaded with the same
generated ClamAV database and scanning the same generated messages.

    python3 av_bench.py WORKDIR POSTERN_BIN CLAMD_BIN

Generates (seeded, reproducible): HASHES MD5 hash signatures (.hdb) and
BODIES body signatures (.ndb, a third with `??`, `{n-m}` or `(a|b)`), and
MESSAGES messages, each with a text part and one to three base64
attachments (random binary, a zip of two files, a text file); PLANTED per
cent carry a byte string one body signature matches, inside a zip. Runs
ABBA: postern, clamd, clamd, postern; prints messages/s, detections and
database load time of each run. Both use JOBS workers. Postern's
messages/s leave out its database load (each `av scan` is a new process),
timed separately by `av status`; clamd loads once, before the runs, and
gets 20 warm-up scans.
"""

import hashlib
import io
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

HASHES = int(os.environ.get("HASHES", 100_000))
BODIES = int(os.environ.get("BODIES", 10_000))
MESSAGES = int(os.environ.get("MESSAGES", 1000))
PLANTED = float(os.environ.get("PLANTED", 2))
JOBS = int(os.environ.get("JOBS", os.cpu_count() or 1))
SEED = 17


def log(*a):
    print(f"[{time.strftime('%T')}]", *a, file=sys.stderr, flush=True)


def body_sig(rng: random.Random, i: int) -> tuple[str, bytes]:
    """An .ndb line and a byte string it matches."""
    head = rng.randbytes(rng.randint(6, 12))
    tail = rng.randbytes(rng.randint(4, 8))
    kind = i % 6
    if kind == 0:
        hexsig, sample = head.hex() + "??" + tail.hex(), head + b"\x00" + tail
    elif kind == 1:
        hexsig, sample = head.hex() + "{2-6}" + tail.hex(), head + b"\x01\x02\x03" + tail
    elif kind == 2:
        alt = rng.randbytes(2)
        hexsig, sample = head.hex() + f"({alt.hex()}|{rng.randbytes(2).hex()})" + tail.hex(), head + alt + tail
    else:
        hexsig, sample = (head + tail).hex(), head + tail
    return f"Bench.Body.{i}:0:*:{hexsig}", sample


def generate_db(dbdir: str) -> list[bytes]:
    rng = random.Random(SEED)
    os.makedirs(dbdir, exist_ok=True)
    with open(f"{dbdir}/bench.hdb", "w") as f:
        for i in range(HASHES):
            f.write(f"{rng.randbytes(16).hex()}:{rng.randint(100, 10**6)}:Bench.Hash.{i}\n")
    samples = []
    with open(f"{dbdir}/bench.ndb", "w") as f:
        for i in range(BODIES):
            line, sample = body_sig(rng, i)
            f.write(line + "\n")
            samples.append(sample)
    return samples


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def text(rng: random.Random, n: int) -> str:
    words = "the of report meeting invoice budget draft attached please review thanks regards project".split()
    return " ".join(rng.choice(words) for _ in range(n))


def generate_messages(msgdir: str, samples: list[bytes]) -> int:
    rng = random.Random(SEED + 1)
    os.makedirs(msgdir, exist_ok=True)
    planted = 0
    for n in range(MESSAGES):
        m = EmailMessage()
        m["From"] = f"sender{n}@example.net"
        m["To"] = "alice@example.org"
        m["Subject"] = text(rng, 5)
        m.set_content(text(rng, 200) + "\n")
        for k in range(rng.randint(1, 3)):
            kind = rng.randrange(3)
            if kind == 0:
                m.add_attachment(rng.randbytes(rng.randint(10_000, 100_000)), maintype="application", subtype="octet-stream", filename=f"data{k}.bin")
            elif kind == 1:
                inner = {"a.txt": text(rng, 2000).encode(), "b.bin": rng.randbytes(20_000)}
                m.add_attachment(zip_of(inner), maintype="application", subtype="zip", filename=f"files{k}.zip")
            else:
                m.add_attachment(text(rng, 3000), filename=f"notes{k}.txt")
        if rng.random() * 100 < PLANTED:
            planted += 1
            payload = rng.randbytes(5000) + rng.choice(samples) + rng.randbytes(5000)
            m.add_attachment(zip_of({"invoice.exe": payload}), maintype="application", subtype="zip", filename="invoice.zip")
        with open(f"{msgdir}/{n:05d}.eml", "wb") as f:
            f.write(m.as_bytes())
    return planted


def run_postern(bin_: str, data: str, msgdir: str) -> dict:
    t0 = time.monotonic()
    subprocess.run([bin_, "--data", data, "av", "status"], check=True, capture_output=True)
    load = time.monotonic() - t0
    t0 = time.monotonic()
    # GNU time's %M: the scan's peak RSS in KiB, the counterpart of clamd's
    # VmHWM. (A child's own rusage would also count this script's memory,
    # which the kernel charges to a forked child until it execs.)
    timed = ["/usr/bin/time", "-f", "%M", "-o", f"{data}/scan.rss"] if os.path.exists("/usr/bin/time") else []
    p = subprocess.run(timed + [bin_, "--data", data, "av", "scan", msgdir], capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode not in (0, 1):
        sys.exit(f"postern av scan failed: {p.stderr}")
    rss = int(open(f"{data}/scan.rss").read().split()[-1]) if timed else 0
    lines = p.stdout.splitlines()
    found = sum(1 for l in lines if l.endswith(" FOUND"))
    unscannable = sum(1 for l in lines if ": UNSCANNABLE " in l)
    return {"messages": len(lines), "seconds": wall - load, "found": found, "unscannable": unscannable, "load": load, "rss": rss}


CLAMD_CONF = """Foreground yes
TCPSocket {port}
TCPAddr 127.0.0.1
DatabaseDirectory {db}
LogFile {work}/clamd.log
PidFile {work}/clamd.pid
TemporaryDirectory {work}
MaxThreads {jobs}
StreamMaxLength 100M
MaxScanSize 100M
MaxFileSize 100M
MaxRecursion 5
MaxFiles 1000
ScanMail yes
ScanArchive yes
Bytecode no
DisableCache yes
"""


def clamd_cmd(port: int, cmd: bytes, payload: bytes | None = None, timeout: float = 120) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"z" + cmd + b"\0")
        if payload is not None:
            for i in range(0, len(payload), 1 << 16):
                chunk = payload[i : i + (1 << 16)]
                s.sendall(struct.pack(">I", len(chunk)) + chunk)
            s.sendall(struct.pack(">I", 0))
        out = b""
        while not out.endswith(b"\0"):
            got = s.recv(4096)
            if not got:
                break
            out += got
    return out.rstrip(b"\0").decode()


def start_clamd(bin_: str, work: str, dbdir: str) -> tuple[subprocess.Popen, int, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = f"{work}/clamd.conf"
    with open(conf, "w") as f:
        f.write(CLAMD_CONF.format(port=port, db=dbdir, work=work, jobs=JOBS))
    t0 = time.monotonic()
    proc = subprocess.Popen([bin_, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"clamd exited {proc.returncode}; see {work}/clamd.log")
        try:
            if clamd_cmd(port, b"PING", timeout=2) == "PONG":
                return proc, port, time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    sys.exit("clamd did not answer PING within 600 s")


def run_clamd(port: int, msgdir: str, load: float) -> dict:
    files = sorted(os.listdir(msgdir))
    data = [open(f"{msgdir}/{f}", "rb").read() for f in files]
    t0 = time.monotonic()
    with ThreadPoolExecutor(JOBS) as pool:
        answers = list(pool.map(lambda b: clamd_cmd(port, b"INSTREAM", b), data))
    wall = time.monotonic() - t0
    found = sum(1 for a in answers if a.endswith(" FOUND"))
    errors = [a for a in answers if not a.endswith((" FOUND", ": OK"))]
    return {"messages": len(answers), "seconds": wall, "found": found, "unscannable": len(errors), "load": load}


def peak_rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    work, postern_bin, clamd_bin = sys.argv[1:4]
    dbdir, msgdir, data = f"{work}/db", f"{work}/messages", f"{work}/postern"
    log(f"generating {HASHES} hash and {BODIES} body signatures, {MESSAGES} messages")
    samples = generate_db(dbdir)
    planted = generate_messages(msgdir, samples)
    size = sum(os.path.getsize(f"{msgdir}/{f}") for f in os.listdir(msgdir))
    log(f"{MESSAGES} messages, {size / 1e6:.1f} MB, {planted} with a planted signature; {JOBS} workers")
    os.makedirs(data)
    subprocess.run([postern_bin, "--data", data, "init", "--hostname", "mx.example.org", "--domain", "example.org"], check=True, capture_output=True)
    subprocess.run([postern_bin, "--data", data, "av", "update", "--from", dbdir], check=True, capture_output=True)
    clamd, port, clamd_load = start_clamd(clamd_bin, work, dbdir)
    log(f"clamd loaded the database in {clamd_load:.1f} s")
    # clamd's first scans are slow (lazy set-up); postern has no state to warm.
    for f in sorted(os.listdir(msgdir))[:20]:
        clamd_cmd(port, b"INSTREAM", open(f"{msgdir}/{f}", "rb").read())
    results = []
    try:
        for side in ("postern", "clamd", "clamd", "postern"):
            r = run_postern(postern_bin, data, msgdir) if side == "postern" else run_clamd(port, msgdir, clamd_load)
            r["side"] = side
            results.append(r)
            log(f"{side}: {r['messages'] / r['seconds']:.0f} messages/s, found {r['found']}, unscannable/errors {r['unscannable']}")
        clamd_rss = peak_rss_kib(clamd.pid)
        postern_rss = max(r["rss"] for r in results if r["side"] == "postern")
    finally:
        clamd.terminate()
        clamd.wait(30)
    print(f"planted: {planted} of {MESSAGES} messages ({size / 1e6:.1f} MB); database: {HASHES} hash + {BODIES} body signatures; {JOBS} workers")
    print("side     run  messages/s  MB/s   found  unscannable  db load s")
    for i, r in enumerate(results):
        rate = r["messages"] / r["seconds"]
        print(f"{r['side']:<8} {i + 1:>3}  {rate:>10.0f}  {size / 1e6 / r['seconds']:>5.1f}  {r['found']:>5}  {r['unscannable']:>11}  {r['load']:>9.2f}")
    mean = lambda side: sum(r["messages"] / r["seconds"] for r in results if r["side"] == side) / 2
    print(f"ratio postern/clamd (mean of two runs each): {mean('postern') / mean('clamd'):.2f}")
    print(f"peak RSS: clamd {clamd_rss / 1024:.0f} MiB, postern av scan {postern_rss / 1024:.0f} MiB" + ("" if postern_rss else " (no /usr/bin/time)"))


if __name__ == "__main__":
    main()
