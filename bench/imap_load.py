#!/usr/bin/env python3
"""IMAP load generator for bench/imap-load.sh (Python standard library only).

  imap_load.py populate --port P [--users N] [--messages 1000] [--seed 42]
      APPENDs the same deterministic set of messages (seeded; 2-50 KB, about a
      third multipart) to INBOX of user1..userN, one process per user.

  imap_load.py run --port P [--clients N] [--duration 30] [--warmup 5]
      N client processes, client k logged in as userk on its own mailbox, each
      looping over the iteration below until warm-up + duration is over. Only
      commands completed inside the timed window count. Prints one JSON object
      (ops, ops/s, per-command counts and mean latency, errors with samples).

One iteration, every command counted as one operation:
  SELECT INBOX; FETCH 1:* (FLAGS); FETCH <random range of 20> (ENVELOPE);
  UID FETCH <3 random> (BODY.PEEK[]); UID STORE +FLAGS (\\Seen) and UID STORE
  -FLAGS (\\Seen) on random messages; APPEND of a 5 KB message; SEARCH (UNSEEN,
  SUBJECT "word" or FROM "name", in turn); UID STORE +FLAGS (\\Deleted) on the
  appended message; UID EXPUNGE of it (EXPUNGE when the server lacks UIDPLUS).
Errors (counted in warm-up too): any tagged NO/BAD, a response that is short of what was asked (e.g.
fewer messages than requested), or an exception (then the client reconnects).

All connections use implicit TLS (IMAP4_SSL) without certificate verification:
the servers run on loopback with self-signed certificates.
"""

import argparse
import base64
import imaplib
import json
import multiprocessing as mp
import random
import re
import ssl
import sys
import time

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
         "xray yankee zulu invoice meeting report budget schedule project release "
         "server backup update review draft contract travel lunch agenda minutes "
         "quarterly summary notice reminder").split()
SENDERS = ["%s %s <%s.%s@sender%d.test>" % (f, l, f.lower(), l.lower(), i % 5)
           for i, (f, l) in enumerate(zip(
               "Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj "
               "Olivia Peggy Rupert Sybil Trent Victor Walter Yvonne".split(),
               "Smith Jones Brown Taylor Wilson Evans Thomas Roberts Walker Wright "
               "Green Hall Wood Clarke Hughes Baker Turner Hill Moore Ward".split()))]
SENDER_KEYS = [s.split()[0].lower() for s in SENDERS]   # what SEARCH FROM looks for


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def text_block(rng, size):
    """Plain-text lines of random words, about `size` bytes."""
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
        out.append(line)
        n += len(line) + 2
    return "\r\n".join(out)


def b64_block(rng, size):
    raw = rng.randbytes(size * 3 // 4)
    enc = base64.b64encode(raw).decode()
    return "\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def make_message(rng, n, user, size=None, msgid=None):
    """One RFC 5322 message with CRLF line ends; deterministic for a given rng state."""
    size = size or rng.randint(2 * 1024, 50 * 1024)
    sender = rng.choice(SENDERS)
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    day = 1 + n % 28
    msgid = msgid or "<bench-%s-%d@bench.test>" % (user.split("@")[0], n)
    hdr = ["From: " + sender,
           "To: " + user,
           "Subject: %s %d" % (subject, n),
           "Date: Mon, %02d Jun 2025 %02d:%02d:00 +0000" % (day, n % 24, n % 60),
           "Message-ID: " + msgid,
           "MIME-Version: 1.0"]
    multipart = rng.random() < 0.35
    if not multipart:
        hdr.append("Content-Type: text/plain; charset=us-ascii")
        body = text_block(rng, size - 300)
    else:
        b = "=_bench_%d" % n
        hdr.append('Content-Type: multipart/mixed; boundary="%s"' % b)
        text = text_block(rng, min(2000, size // 3))
        parts = ["This is a multi-part message in MIME format.",
                 "--" + b, "Content-Type: text/plain; charset=us-ascii", "", text]
        if rng.random() < 0.5:
            parts += ["--" + b, "Content-Type: text/html; charset=us-ascii", "",
                      "<html><body><p>" + text.replace("\r\n", "</p>\r\n<p>") + "</p></body></html>"]
        rest = max(512, size - 2 * len(text) - 600)
        parts += ["--" + b, "Content-Type: application/octet-stream; name=\"file%d.bin\"" % n,
                  "Content-Transfer-Encoding: base64",
                  "Content-Disposition: attachment; filename=\"file%d.bin\"" % n, "",
                  b64_block(rng, rest), "--" + b + "--", ""]
        body = "\r\n".join(parts)
    return ("\r\n".join(hdr) + "\r\n\r\n" + body + "\r\n").encode()


def user_name(fmt, k):
    return fmt.format(n=k)


def connect(args, k):
    c = imaplib.IMAP4_SSL(args.host, args.port, ssl_context=tls_context(), timeout=60)
    c.login(user_name(args.user_fmt, k), args.password)
    return c


# ---------------------------------------------------------------------------
def populate_one(args, k):
    user = user_name(args.user_fmt, k)
    rng = random.Random("%d/%d" % (args.seed, k))
    c = connect(args, k)
    nbytes = errors = 0
    first_err = None
    for n in range(1, args.messages + 1):
        msg = make_message(rng, n, user)
        nbytes += len(msg)
        typ, dat = c.append("INBOX", None, None, msg)
        if typ != "OK":
            errors += 1
            first_err = first_err or "APPEND -> %s %r" % (typ, dat)
    typ, dat = c.select("INBOX")
    count = int(dat[0]) if typ == "OK" else -1
    c.logout()
    return {"user": user, "bytes": nbytes, "errors": errors, "count": count, "first_error": first_err}


def populate(args):
    t0 = time.time()
    with mp.Pool(min(args.users, args.parallel)) as pool:
        res = pool.starmap(populate_one, [(args, k) for k in range(1, args.users + 1)])
    bad = [r for r in res if r["errors"] or r["count"] != args.messages]
    out = {"users": args.users, "messages_per_user": args.messages,
           "bytes": sum(r["bytes"] for r in res), "seconds": round(time.time() - t0, 1),
           "errors": sum(r["errors"] for r in res),
           "bad_mailboxes": [{"user": r["user"], "count": r["count"], "first_error": r["first_error"]} for r in bad]}
    print(json.dumps(out))
    return 1 if bad else 0


# ---------------------------------------------------------------------------
class Client:
    """One load client; counts what completes inside [t_start, t_end)."""

    def __init__(self, args, k, t_start, t_end):
        self.args, self.k, self.t_start, self.t_end = args, k, t_start, t_end
        self.user = user_name(args.user_fmt, k)
        self.rng = random.Random("load/%d/%d" % (args.seed, k))
        self.counts, self.lat, self.errors = {}, {}, {}
        self.samples = []
        self.c = None
        self.uids = []
        self.exists = 0
        self.uidplus = False
        self.n_append = 0
        self.search_turn = k

    def error(self, cmd, what):
        # Counted whenever they happen, warm-up included: a failure is a finding.
        self.errors[cmd] = self.errors.get(cmd, 0) + 1
        if len(self.samples) < 10:
            self.samples.append({"user": self.user, "t": round(time.time() - self.t_start, 2),
                                 "command": cmd, "response": what[:400]})

    def op(self, cmd, fn, check=None):
        """Runs fn() -> (typ, data); counts it; check(data) returns an error text or None."""
        t0 = time.time()
        typ, dat = fn()
        t1 = time.time()
        if self.t_start <= t1 < self.t_end:
            self.counts[cmd] = self.counts.get(cmd, 0) + 1
            self.lat[cmd] = self.lat.get(cmd, 0.0) + (t1 - t0)
        if typ != "OK":
            self.error(cmd, "%s %r" % (typ, dat))
            return None
        if check:
            problem = check(dat)
            if problem:
                self.error(cmd, problem)
        return dat

    def setup(self):
        self.c = connect(self.args, self.k)
        typ, caps = self.c.capability()
        self.uidplus = b"UIDPLUS" in caps[0].upper().split() if typ == "OK" else False
        typ, dat = self.c.select("INBOX")
        typ, dat = self.c.uid("SEARCH", None, "ALL")
        self.uids = [int(u) for u in dat[0].split()][: self.args.messages] if typ == "OK" else []
        if not self.uids:
            raise RuntimeError("no messages in INBOX of %s" % self.user)

    @staticmethod
    def fetched(dat):
        """Message numbers of the FETCH responses in an imaplib data list."""
        seen = set()
        for item in dat:
            line = item[0] if isinstance(item, tuple) else item
            if isinstance(line, bytes):
                m = re.match(rb"(\d+) \(", line)
                if m:
                    seen.add(int(m.group(1)))
        return seen

    def iteration(self):
        c, rng = self.c, self.rng

        def select_check(dat):
            try:
                self.exists = int(dat[0])
            except (ValueError, TypeError, IndexError):
                return "SELECT: no EXISTS count: %r" % dat
            return None if self.exists >= len(self.uids) else \
                "SELECT: EXISTS %d < %d messages loaded" % (self.exists, len(self.uids))
        self.op("SELECT", lambda: c.select("INBOX"), select_check)
        n = max(self.exists, 1)

        def want(expect, label):
            def check(dat):
                got = self.fetched(dat)
                missing = expect - got
                return None if not missing else "%s: %d of %d messages missing in the response (e.g. %s)" % (
                    label, len(missing), len(expect), sorted(missing)[:5])
            return check
        self.op("FETCH FLAGS", lambda: c.fetch("1:*", "(FLAGS)"),
                want(set(range(1, n + 1)), "FETCH 1:* (FLAGS)"))
        lo = rng.randint(1, max(1, n - 19))
        hi = min(n, lo + 19)
        self.op("FETCH ENVELOPE", lambda: c.fetch("%d:%d" % (lo, hi), "(ENVELOPE)"),
                want(set(range(lo, hi + 1)), "FETCH %d:%d (ENVELOPE)" % (lo, hi)))
        picks = rng.sample(self.uids, 3)

        def body_check(dat):
            lits = [x for x in dat if isinstance(x, tuple)]
            if len(lits) != 3:
                return "UID FETCH %s BODY.PEEK[]: %d literals instead of 3: %r" % (
                    ",".join(map(str, picks)), len(lits), [x[0] if isinstance(x, tuple) else x for x in dat][:6])
            for head, body in lits:
                if len(body) < 1024:
                    return "UID FETCH BODY.PEEK[]: body of %d bytes (%r)" % (len(body), head)
            return None
        self.op("FETCH BODY", lambda: c.uid("FETCH", ",".join(map(str, picks)), "(BODY.PEEK[])"), body_check)
        u1, u2 = rng.choice(self.uids), rng.choice(self.uids)
        self.op("STORE +FLAGS", lambda: c.uid("STORE", str(u1), "+FLAGS", "(\\Seen)"))
        self.op("STORE -FLAGS", lambda: c.uid("STORE", str(u2), "-FLAGS", "(\\Seen)"))

        self.n_append += 1
        tag_id = "<load-%s-%d-%d@bench.test>" % (self.user.split("@")[0], self.n_append, rng.getrandbits(32))
        msg = make_message(rng, 100000 + self.n_append, self.user, size=5 * 1024, msgid=tag_id)
        dat = self.op("APPEND", lambda: c.append("INBOX", None, None, msg))
        new_uid = None
        if dat:
            m = re.search(rb"APPENDUID \d+ (\d+)", dat[0] or b"")
            new_uid = m.group(1).decode() if m else None

        turn = self.search_turn % 3
        self.search_turn += 1
        if turn == 0:
            crit = ("UNSEEN",)
        elif turn == 1:
            crit = ("SUBJECT", '"%s"' % rng.choice(WORDS))
        else:
            crit = ("FROM", '"%s"' % rng.choice(SENDER_KEYS))
        self.op("SEARCH", lambda: c.search(None, *crit))

        if new_uid is None:
            # No APPENDUID (or the APPEND failed): find the message by its Message-ID.
            typ, sd = c.uid("SEARCH", None, "HEADER", "Message-ID", '"%s"' % tag_id)
            ids = sd[0].split() if typ == "OK" and sd and sd[0] else []
            new_uid = ids[-1].decode() if ids else None
            if dat and new_uid is None:
                self.error("APPEND", "appended message %s not found by UID SEARCH HEADER" % tag_id)
        if new_uid is not None:
            self.op("STORE +Deleted", lambda: c.uid("STORE", new_uid, "+FLAGS", "(\\Deleted)"))
            if self.uidplus:
                self.op("UID EXPUNGE", lambda: c._simple_command("UID", "EXPUNGE", new_uid))
            else:
                self.op("EXPUNGE", lambda: c.expunge())

    def run(self):
        while time.time() < self.t_end:
            try:
                if self.c is None:
                    self.setup()
                self.iteration()
            except Exception as e:  # noqa: BLE001 - every failure is a result here
                self.error("exception", "%s: %s" % (type(e).__name__, e))
                try:
                    if self.c is not None:
                        self.c.shutdown()
                except Exception:  # noqa: BLE001
                    pass
                self.c = None
                time.sleep(0.2)
        try:
            if self.c is not None:
                self.c.logout()
        except Exception:  # noqa: BLE001
            pass
        return {"counts": self.counts, "lat": self.lat, "errors": self.errors, "samples": self.samples}


def run_client(args, k, t_start, t_end, q):
    try:
        q.put(Client(args, k, t_start, t_end).run())
    except Exception as e:  # noqa: BLE001
        q.put({"counts": {}, "lat": {}, "errors": {"exception": 1},
               "samples": [{"user": user_name(args.user_fmt, k), "command": "client", "response": repr(e)}]})


def run(args):
    t_start = time.time() + 1 + args.warmup          # 1 s for the processes to start
    t_end = t_start + args.duration
    q = mp.Queue()
    procs = [mp.Process(target=run_client, args=(args, k, t_start, t_end, q))
             for k in range(1, args.clients + 1)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    counts, lat, errors, samples = {}, {}, {}, []
    for r in results:
        for d, src in ((counts, r["counts"]), (lat, r["lat"]), (errors, r["errors"])):
            for key, v in src.items():
                d[key] = d.get(key, 0) + v
        samples += r["samples"]
    ops = sum(counts.values())
    out = {"clients": args.clients, "duration": args.duration, "warmup": args.warmup,
           "ops": ops, "ops_per_s": round(ops / args.duration, 1),
           "errors": sum(errors.values()), "errors_by_command": errors,
           "counts": dict(sorted(counts.items())),
           "mean_ms": {k: round(1000 * lat[k] / counts[k], 2) for k in sorted(counts)},
           "error_samples": samples[:30]}
    print(json.dumps(out))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("populate", "run"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user-fmt", default="user{n}@bench.test")
    ap.add_argument("--password", default="Load-Test-Pass-1")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--users", type=int, default=10, help="populate: mailboxes to fill")
    ap.add_argument("--messages", type=int, default=1000, help="messages per mailbox")
    ap.add_argument("--parallel", type=int, default=4, help="populate: concurrent users")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=5)
    args = ap.parse_args()
    sys.exit(populate(args) if args.mode == "populate" else run(args))


if __name__ == "__main__":
    main()
