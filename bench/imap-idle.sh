#!/usr/bin/env bash
# Memory per idle IMAP session (issue 18 item 3): SESSIONS sessions over implicit TLS
# (IMAPS), each logged in, INBOX selected, in IDLE; reports the server's RSS before and
# with them connected, the KiB per session (TLS included), and how long one more login
# takes while they are all connected. Postern only for now (Dovecot: not yet).
# Everything listens on 127.0.0.1 only and lives in a temp dir removed at exit.
#
# Usage: bench/imap-idle.sh
# Environment (defaults in brackets):
#   SESSIONS [1000]    idle sessions
#   USERS [10]         they log in as user1..USERS in turn
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   KEEP_TMP [0]       1: keep the temp dir

set -euo pipefail

SESSIONS=${SESSIONS:-1000}
USERS=${USERS:-10}
KEEP_TMP=${KEEP_TMP:-0}
POSTERN_BIN=${POSTERN_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern}
PASSWORD=Load-Test-Pass-1
DOMAIN=bench.test
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POSTERN_PID="" CLIENT_PID=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $SESSIONS =~ ^[1-9][0-9]*$ && $USERS =~ ^[1-9][0-9]*$ ]] || die "SESSIONS and USERS must be positive integers"
[[ -x $POSTERN_BIN ]] || die "no postern binary at $POSTERN_BIN (cargo build --release -p postern)"
# One descriptor per session on each side, and some.
ulimit -n $((SESSIONS * 2 + 1024)) 2>/dev/null || die "cannot raise the open-files limit to $((SESSIONS * 2 + 1024))"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/postern-idle.XXXXXX")
cleanup() {
    exec 3>&- 2>/dev/null || true
    [[ -n $CLIENT_PID ]] && { kill "$CLIENT_PID" 2>/dev/null || true; wait "$CLIENT_PID" 2>/dev/null || true; }
    [[ -n $POSTERN_PID ]] && stop_process "$POSTERN_PID" postern
    drop_tmp
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Waits up to $2 seconds for line $3 of file $1; prints it.
wait_line() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ $(wc -l <"$1") -ge $3 ]] && { sed -n "${3}p" "$1"; return 0; }
        sleep 0.1
    done
    die "no line $3 in $1 after $2 s: $(cat "$1")"
}

data=$TMP/postern
"$POSTERN_BIN" --data "$data" init --hostname "$DOMAIN" --domain "$DOMAIN" >/dev/null
for ((n = 1; n <= USERS; n++)); do
    printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$data" user add "user$n@$DOMAIN" --password-stdin >/dev/null
done
# The defaults cap sessions per user+address (10) and per address (20): all come from 127.0.0.1.
"$POSTERN_BIN" --data "$data" config set imap.max_per_user_ip 0 >/dev/null
"$POSTERN_BIN" --data "$data" config set access.imaps.max_per_ip 0 >/dev/null
"$POSTERN_BIN" --data "$data" serve --listen smtp=off --listen submission=off \
    --listen smtps=off --listen pop3=off --listen pop3s=off --listen imap=off \
    --listen imaps=127.0.0.1:0 >"$TMP/postern.out" 2>"$TMP/postern.err" &
POSTERN_PID=$!
wait_line "$TMP/postern.out" 30 1 >/dev/null
for ((i = 0; i < 300; i++)); do grep -qx ready "$TMP/postern.out" && break; sleep 0.1; done
grep -qx ready "$TMP/postern.out" || die "postern did not start: $(cat "$TMP/postern.out" "$TMP/postern.err")"
PORT=$(sed -n 's/^listening imaps 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$TMP/postern.out" | head -n1)
check_loopback_only "$POSTERN_PID"

# One session first, so the baseline includes what the first login sets up
# (password hashing threads, store readers, the TLS config).
mkfifo "$TMP/warm" "$TMP/hold"
python3 "$REPO/bench/imap_idle.py" --port "$PORT" --sessions 1 <"$TMP/warm" >"$TMP/warm.out" &
warm=$!
exec 3>"$TMP/warm"
wait_line "$TMP/warm.out" 60 2 >/dev/null
exec 3>&-
wait "$warm"
sleep 1
before=$(rss_kib "$POSTERN_PID")

python3 "$REPO/bench/imap_idle.py" --port "$PORT" --sessions "$SESSIONS" --users "$USERS" \
    <"$TMP/hold" >"$TMP/clients.out" &
CLIENT_PID=$!
exec 3>"$TMP/hold"
up=$(wait_line "$TMP/clients.out" 600 1)
login=$(wait_line "$TMP/clients.out" 60 2)
sleep 2
after=$(rss_kib "$POSTERN_PID")
log "clients: $up"
log "while connected: $login"
opened=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sessions"])' "$up")
(( opened > 0 )) || die "no session opened"
log "postern RSS: $(kib_to_mib "$before") MiB before, $(kib_to_mib "$after") MiB with $opened idle sessions"
log "per session: $(calc "($after - $before) / $opened") KiB"
