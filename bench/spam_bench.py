#!/usr/bin/env python3
"""5-fold cross-validation of three spam filters over the training half of the
SpamAssassin public corpus (bench/spam.sh prepares everything and calls this).

usage: spam_bench.py CORPUS WORK POSTERN_BIN [postern] [spamassassin] [rspamd]

CORPUS holds spam/ and ham/ (written by /work/shared/corpus/spam-train.sh).
Messages are sorted by name per class and message i goes to fold i % 5; for
each fold each filter starts from an empty model, learns the other four folds
and judges this one. Printed per filter: spam recall, ham false-positive rate
(over all five folds) and messages per second of judging (total messages
judged / wall time of judging, model loading included, learning excluded).
Nothing leaves 127.0.0.1: the daemons bind loopback, and no test that needs
DNS runs (SpamAssassin -L, rspamd's network modules off and its resolver
pointed at a dead loopback port).
"""

import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

FOLDS = int(os.environ.get("FOLDS", "5"))
JOBS = int(os.environ.get("JOBS", str(os.cpu_count() or 2)))


def log(*a):
    print(f"[{time.strftime('%T')}]", *a, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daemon exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port} after {timeout}s")


def make_folds(corpus: Path, work: Path):
    """work/foldK/{train,test}/{spam,ham}/ as symlinks to the corpus files."""
    folds = []
    for k in range(5):
        base = work / f"fold{k}"
        for part in ("train", "test"):
            for label in ("spam", "ham"):
                (base / part / label).mkdir(parents=True, exist_ok=True)
        folds.append(base)
    for label in ("spam", "ham"):
        for i, f in enumerate(sorted((corpus / label).iterdir())):
            for k, base in enumerate(folds):
                part = "test" if i % 5 == k else "train"
                (base / part / label / f.name).symlink_to(f.resolve())
    return folds[:FOLDS]


def tally(results):
    """results: list of (label, is_spam_verdict)."""
    spam = [v for label, v in results if label == "spam"]
    ham = [v for label, v in results if label == "ham"]
    return sum(spam) / len(spam), sum(ham) / len(ham), len(spam), len(ham), sum(ham)


def test_files(fold: Path):
    return [(label, p) for label in ("spam", "ham") for p in sorted((fold / "test" / label).iterdir())]


# ---------------------------------------------------------------- Postern
def run_postern(folds, work: Path, binary: str):
    results, judging, n = [], 0.0, 0
    for k, fold in enumerate(folds):
        data = work / f"postern{k}"
        subprocess.run([binary, "--data", data, "init", "--hostname", "bench.test", "--domain", "bench.test"], check=True, capture_output=True)
        for label in ("spam", "ham"):
            subprocess.run([binary, "--data", data, "spam", "train", f"--{label}", fold / "train" / label], check=True, capture_output=True)
        t = time.monotonic()
        out = subprocess.run([binary, "--data", data, "spam", "check", "--offline", fold / "test" / "spam", fold / "test" / "ham"],
                             check=True, capture_output=True, text=True).stdout
        judging += time.monotonic() - t
        for line in out.splitlines():
            path, _score, verdict, _tests = line.split("\t")
            label = Path(path).parent.name
            results.append((label, verdict == "spam"))
            n += 1
        log(f"postern fold {k}: {tally(results)[:2]}")
    return results, n / judging


# ---------------------------------------------------------- SpamAssassin
def run_spamassassin(folds, work: Path):
    results, judging, n = [], 0.0, 0
    for k, fold in enumerate(folds):
        home = work / f"sa{k}"
        site = home / "etc"
        site.mkdir(parents=True)
        os.chmod(home, 0o777)
        for pre in Path("/etc/spamassassin").glob("*.pre"):
            shutil.copy(pre, site)
        bayes = home / "bayes"
        bayes.mkdir()
        os.chmod(bayes, 0o777)
        (site / "local.cf").write_text(
            f"use_bayes 1\nbayes_auto_learn 0\nbayes_path {bayes}/bayes\nbayes_file_mode 0777\n"
            "use_auto_whitelist 0\nskip_rbl_checks 1\n")
        env = {**os.environ, "HOME": str(home)}
        for label in ("spam", "ham"):
            subprocess.run(["sa-learn", "--siteconfigpath", site, "--dbpath", bayes, "--no-sync", f"--{label}", fold / "train" / label],
                           check=True, capture_output=True, env=env)
        subprocess.run(["sa-learn", "--siteconfigpath", site, "--dbpath", bayes, "--sync"], check=True, capture_output=True, env=env)
        subprocess.run(["chmod", "-R", "a+rwX", home], check=True)
        port = free_port()
        spamd = subprocess.Popen(["spamd", "-L", "--siteconfigpath", str(site), "--listen", f"127.0.0.1:{port}", "--allowed-ips", "127.0.0.1",
                                  "--max-children", str(JOBS), "--min-children", str(JOBS), "-u", "nobody", "--syslog", "stderr",
                                  "--pidfile", str(home / "spamd.pid")],
                                 stdout=subprocess.DEVNULL, stderr=open(home / "spamd.log", "w"), env=env)
        try:
            wait_port(port, spamd)
            files = test_files(fold)
            t = time.monotonic()

            def one(item):
                label, path = item
                with open(path, "rb") as f:
                    r = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(port), "-c", "-t", "120"], stdin=f, capture_output=True, text=True)
                return label, r.returncode == 1

            with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
                got = list(ex.map(one, files))
            judging += time.monotonic() - t
            results += got
            n += len(got)
        finally:
            spamd.terminate()
            spamd.wait(30)
        log(f"spamassassin fold {k}: {tally(results)[:2]}")
    return results, n / judging


# --------------------------------------------------------------- rspamd
RSPAMD_OFF = ["rbl", "surbl", "fuzzy_check", "dcc", "asn", "emails", "whitelist", "dmarc", "spf", "dkim", "arc",
              "mx_check", "url_redirector", "phishing", "reputation", "neural", "greylist", "ratelimit", "replies",
              "history_redis", "rspamd_update", "external_services", "antivirus", "bimi", "p0f", "elastic", "clickhouse",
              "metadata_exporter", "hfilter", "once_received", "dkim_signing"]


def rspamd_config(home: Path, normal: int, controller: int, redis: int):
    local = home / "local"
    (local / "local.d").mkdir(parents=True)
    d = local / "local.d"
    (d / "worker-normal.inc").write_text(f'bind_socket = "127.0.0.1:{normal}";\ncount = {JOBS};\n')
    (d / "worker-controller.inc").write_text(f'bind_socket = "127.0.0.1:{controller}";\nsecure_ip = "127.0.0.1";\npassword = "";\n')
    (d / "worker-proxy.inc").write_text(f'bind_socket = "127.0.0.1:{free_port()}";\nupstream "local" {{ default = yes; self_scan = yes; }}\n')
    (d / "worker-fuzzy.inc").write_text("count = 0;\n")
    (d / "options.inc").write_text('dns { nameserver = ["127.0.0.1:9"]; timeout = 0.1s; retransmits = 0; }\n'
                                   'local_addrs = "127.0.0.0/8";\n')
    (d / "logging.inc").write_text(f'type = "file";\nfilename = "{home}/rspamd.log";\nlevel = "error";\n')
    (d / "redis.conf").write_text(f'servers = "127.0.0.1:{redis}";\n')
    (d / "classifier-bayes.conf").write_text(f'backend = "redis";\nservers = "127.0.0.1:{redis}";\nautolearn = false;\n')
    for m in RSPAMD_OFF:
        (d / f"{m}.conf").write_text("enabled = false;\n")
    return local


def http(url: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


def run_rspamd(folds, work: Path):
    results, judging, n = [], 0.0, 0
    for k, fold in enumerate(folds):
        home = work / f"rspamd{k}"
        for sub in ("db", "run", "redis"):
            (home / sub).mkdir(parents=True)
        subprocess.run(["chmod", "-R", "a+rwX", home], check=True)
        rport, nport, cport = free_port(), free_port(), free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                  "--dir", str(home / "redis")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = rspamd_config(home, nport, cport, rport)
        rspamd = subprocess.Popen(["rspamd", "-f", "-i", "-u", "_rspamd", "-g", "_rspamd", "--var", f"LOCAL_CONFDIR={local}", "--var", f"DBDIR={home}/db",
                                   "--var", f"RUNDIR={home}/run", "--var", f"LOGDIR={home}"],
                                  stdout=open(home / "stdout.log", "w"), stderr=subprocess.STDOUT)
        try:
            wait_port(rport, redis)
            wait_port(nport, rspamd)
            wait_port(cport, rspamd)

            def learn(item):
                label, path = item
                r = http(f"http://127.0.0.1:{cport}/learn{label}", Path(path).read_bytes())
                if r.get("success") is not True:
                    # 204 (empty body): rspamd's default learn_condition
                    # (lua_bayes_learn.can_learn) skips a message its Bayes already
                    # puts in that class at >= 95 %, or one with under 11 tokens;
                    # an error: the same Message-ID was learned before.
                    key = f"{label}: {'skipped' if r == {} else 'already learned'}"
                    REFUSED[key] = REFUSED.get(key, 0) + 1
                return r.get("success") is True

            train = [(label, p) for label in ("spam", "ham") for p in sorted((fold / "train" / label).iterdir())]
            learned = sum(_quiet(learn, it) for it in train)
            # The controller's /stat lags behind redis; count the answers instead.
            log(f"rspamd fold {k}: Bayes learned {learned} of {len(train)} messages; not learned: {REFUSED}")
            REFUSED.clear()
            files = test_files(fold)
            t = time.monotonic()

            def one(item):
                label, path = item
                r = http(f"http://127.0.0.1:{nport}/checkv2", Path(path).read_bytes())
                return label, r.get("action") in ("reject", "add header", "rewrite subject")

            with concurrent.futures.ThreadPoolExecutor(JOBS * 2) as ex:
                got = list(ex.map(one, files))
            judging += time.monotonic() - t
            results += got
            n += len(got)
        finally:
            for p in (rspamd, redis):
                p.terminate()
                p.wait(30)
        log(f"rspamd fold {k}: {tally(results)[:2]}")
    return results, n / judging


REFUSED: dict = {}


def _quiet(fn, item) -> bool:
    try:
        return fn(item)
    except urllib.error.HTTPError as e:
        # rspamd answers 208 / an error when a message was already learned, or is too short.
        if e.code not in (208, 400, 404):
            raise
        return False


def main():
    corpus, work, binary = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    which = sys.argv[4:] or ["postern", "spamassassin", "rspamd"]
    folds = make_folds(corpus, work)
    rows = []
    for name in which:
        log(f"{name}: {FOLDS}-fold run")
        try:
            if name == "postern":
                res, rate = run_postern(folds, work, binary)
            elif name == "spamassassin":
                res, rate = run_spamassassin(folds, work)
            else:
                res, rate = run_rspamd(folds, work)
        except (subprocess.CalledProcessError, SystemExit, OSError) as e:
            log(f"{name} failed: {e}")
            rows.append(f"{name}\tfailed: {e}")
            continue
        recall, fp, ns, nh, fps = tally(res)
        rows.append(f"{name}\t{100 * recall:.1f} %\t{100 * fp:.2f} % ({fps} of {nh})\t{rate:.0f}")
    print(f"filter\tspam recall ({FOLDS}-fold)\tham false positives\tmessages/s judging")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
