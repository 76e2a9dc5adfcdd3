#!/usr/bin/env bash
# Dovecot's imaptest stress mix against Postern (issue 18 item 1): CLIENTS concurrent
# clients, all logged in as ONE user and working on the same INBOX (the most contention
# on its keywords and flags), for SECS seconds, RUNS times, each on a fresh data dir.
# Prints each run's error count and the errors by kind; exits 1 if any run had one.
# Everything listens on 127.0.0.1 only, over implicit TLS (IMAPS).
#
# Usage: IMAPTEST=/path/to/imaptest bench/imaptest-stress.sh [imaptest args...]
#   e.g. bench/imaptest-stress.sh logout=0      (clients stay logged in)
#        bench/imaptest-stress.sh               (imaptest's default login/logout mix)
# Environment (defaults in brackets):
#   IMAPTEST           imaptest binary (required). Building it on Debian 12: dovecot-dev,
#                      autoconf, automake, libtool; imaptest commit 924f619 (the last
#                      before Dovecot 2.4 APIs), `echo 0 > version`, ./autogen.sh,
#                      ./configure --with-dovecot=/usr/lib/dovecot, make; and pass NULL as
#                      the 4th argument of the three imap_parser_create() calls, as
#                      Debian's 2.3.19 headers want it. It needs LD_LIBRARY_PATH to reach
#                      libdovecot.so (set here to /usr/lib/dovecot).
#   CLIENTS [10]  SECS [30]  RUNS [5]  MESSAGES [100] (in the mbox imaptest APPENDs from)
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   KEEP_TMP [0]       1: keep the temp dir (imaptest output, postern logs)

set -euo pipefail

CLIENTS=${CLIENTS:-10}
SECS=${SECS:-30}
RUNS=${RUNS:-5}
MESSAGES=${MESSAGES:-100}
KEEP_TMP=${KEEP_TMP:-0}
POSTERN_BIN=${POSTERN_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern}
IMAPTEST=${IMAPTEST:?set IMAPTEST to an imaptest binary (see the header of this script)}
USER_ADDR=stress@bench.test
PASSWORD=Load-Test-Pass-1
POSTERN_PID=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/postern-imaptest.XXXXXX")
cleanup() {
    [[ -n $POSTERN_PID ]] && stop_process "$POSTERN_PID" postern
    if (( KEEP_TMP )); then log "kept $ROOT"; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT

# An mbox of MESSAGES small messages for imaptest to APPEND from.
python3 - "$ROOT/mbox" "$MESSAGES" <<'EOF'
import sys
with open(sys.argv[1], "w", newline="") as f:
    for n in range(int(sys.argv[2])):
        f.write(f"From sender{n}@bench.test Mon Dec  7 00:00:00 2026\r\n")
        f.write(f"From: Sender {n} <sender{n}@bench.test>\r\nTo: stress@bench.test\r\n")
        f.write(f"Subject: message {n}\r\nMessage-ID: <{n}@bench.test>\r\n")
        f.write("Date: Mon, 7 Dec 2026 00:00:00 +0000\r\n\r\n")
        f.write("".join(f"line {i} of message {n}\r\n" for i in range(1 + n % 40)) + "\r\n")
EOF

start_postern() {
    local data=$1 out=$1.out i
    "$POSTERN_BIN" --data "$data" init --hostname bench.test --domain bench.test >/dev/null
    printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$data" user add "$USER_ADDR" --password-stdin >/dev/null
    # Every client is the same user from the same address: no per-user+IP or
    # per-IP connection cap (10 and 20 by default) in the way.
    "$POSTERN_BIN" --data "$data" config set imap.max_per_user_ip 0 >/dev/null
    "$POSTERN_BIN" --data "$data" config set access.imaps.max_per_ip 0 >/dev/null
    "$POSTERN_BIN" --data "$data" serve --listen smtp=off --listen submission=off \
        --listen smtps=off --listen pop3=off --listen pop3s=off --listen imap=off \
        --listen admin=off --listen http=off --listen https=off \
        --listen imaps=127.0.0.1:0 >"$out" 2>"$data.err" &
    POSTERN_PID=$!
    for ((i = 0; i < 300; i++)); do
        grep -qsx 'ready' "$out" && break
        sleep 0.1
    done
    grep -qx 'ready' "$out" || die "postern did not start: $(cat "$out" "$data.err")"
    PORT=$(sed -n 's/^listening imaps 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$out" | head -n1)
}

total=0
for ((run = 1; run <= RUNS; run++)); do
    start_postern "$ROOT/data$run"
    out=$ROOT/imaptest$run.out
    LD_LIBRARY_PATH=/usr/lib/dovecot "$IMAPTEST" host=127.0.0.1 port="$PORT" ssl=any-cert \
        user="$USER_ADDR" pass="$PASSWORD" mbox="$ROOT/mbox" clients="$CLIENTS" secs="$SECS" \
        "$@" >"$out" 2>&1 || true
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
    errors=$(grep -c 'Error: ' "$out" || true)
    total=$((total + errors))
    unannounced=$(grep -c 'Keyword used without being in FLAGS' "$out" || true)
    dropped=$(grep -c "dropped, but it still had" "$out" || true)
    log "run $run: clients=$CLIENTS secs=$SECS ${*:-(default mix)}: $errors errors" \
        "($unannounced 'Keyword used without being in FLAGS', $dropped 'Keyword dropped')"
    # Errors by kind: the message without its numbers and names.
    grep 'Error: ' "$out" | sed -E 's/^.*Error: //; s/[0-9]+/N/g; s/'"'"'[^'"'"']*'"'"'/K/g' \
        | cut -c1-100 | sort | uniq -c | sort -rn | head -5 >&2 || true
    tail -n 3 "$out" >&2
done
log "total: $total errors in $RUNS runs"
(( total == 0 ))
