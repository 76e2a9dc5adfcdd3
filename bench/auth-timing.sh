#!/usr/bin/env bash
# Login timing benchmark (issue 6 item 4): an unknown user and an existing user
# with a wrong password must get the same reply and take the same time. Starts a
# Postern with IMAPS on 127.0.0.1 only, in a temp dir removed at exit, and times
# SAMPLES failed logins of each kind, alternated, in pairs on one connection
# (bench/auth_timing.py); prints medians, p90, the median of the paired
# differences (unknown minus wrong) with its 95 % confidence interval, and
# whether the replies were identical. See bench/README.md for the method.
#
# The verdict is on the difference in milliseconds, not on a ratio: every
# failure waits out the fixed 1 s failure delay, so a ratio within 0.9..1.1
# would let an unknown user skip the 30-45 ms Argon2 hash unseen.
#
# Usage: bench/auth-timing.sh          (no root needed; nothing is installed)
# Environment (defaults in brackets):
#   SAMPLES [100]      failed logins of each kind (each waits out the 1 s failure delay)
#   MODE [login]       login (IMAP LOGIN) | plain (AUTHENTICATE PLAIN with SASL-IR)
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   BENCH_TMPDIR       [${TMPDIR:-/tmp}] where the temp dir goes
#   KEEP_TMP [0]       1: keep the temp dir (logs, JSON result)
#   WAIT_IDLE [0]      seconds to wait first for the host's CPUs to be <= 10 % busy
#   MAX_DIFF_MS [5]    the most the two kinds may differ, in ms (a skipped hash: 30-45)
# Exit status: 0 when the replies were identical and the 95 % confidence interval
# of the median paired difference lies within ±MAX_DIFF_MS; 1 when the replies
# differ or the interval lies partly outside (a timing difference, or too few
# SAMPLES to tell: the interval is printed, and is wider than 2×MAX_DIFF_MS then).

set -euo pipefail

SAMPLES=${SAMPLES:-100}
MODE=${MODE:-login}
KEEP_TMP=${KEEP_TMP:-0}
WAIT_IDLE=${WAIT_IDLE:-0}
MAX_DIFF_MS=${MAX_DIFF_MS:-5}
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
POSTERN_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}
POSTERN_BIN=${POSTERN_BIN:-$POSTERN_TARGET/release/postern}

DOMAIN=bench.test
USER_ADDR=user1@$DOMAIN
UNKNOWN_ADDR=nobody@$DOMAIN
PASSWORD=Timing-Test-Pass-1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

TMP=""
POSTERN_PID=""
SAMPLER_PID=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

check_params() {
    [[ $SAMPLES =~ ^[1-9][0-9]*$ ]] || die "SAMPLES must be a positive integer (got '$SAMPLES')"
    [[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a non-negative integer"
    [[ $MAX_DIFF_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MAX_DIFF_MS must be a non-negative number"
    ((SAMPLES >= 10)) || die "SAMPLES must be at least 10 (the confidence interval needs them)"
    [[ $MODE =~ ^(login|plain)$ ]] || die "MODE must be login or plain"
    command -v python3 >/dev/null || die "python3 is needed"
}

# A fresh data dir with one user; the brute-force guard off (login_failures = 0)
# so the probe's failures never block 127.0.0.1; IMAPS on 127.0.0.1:0 only.
setup_postern() {
    if [[ ! -x $POSTERN_BIN ]]; then
        log "building postern ($POSTERN_BIN missing)"
        (cd "$REPO" && CARGO_TARGET_DIR=$POSTERN_TARGET cargo build --release -p postern >&2) \
            || die "cargo build failed"
    fi
    local pn=("$POSTERN_BIN" --data "$TMP/postern")
    "${pn[@]}" init --hostname "$DOMAIN" --domain "$DOMAIN" >&2 || die "postern init failed"
    printf '%s\n' "$PASSWORD" | "${pn[@]}" user add "$USER_ADDR" --password-stdin >/dev/null \
        || die "postern user add failed"
    "${pn[@]}" config set security.login_failures 0 >/dev/null || die "config set failed"
    local out=$TMP/postern.out
    : >"$out"
    "${pn[@]}" serve --listen smtp=off --listen submission=off --listen smtps=off \
        --listen pop3=off --listen pop3s=off --listen imap=off \
        --listen admin=off --listen https=off --listen http=off \
        --listen imaps=127.0.0.1:0 >"$out" 2>"$TMP/postern.err" &
    POSTERN_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        grep -qx 'ready' "$out" && break
        [[ -d /proc/$POSTERN_PID ]] || break
        sleep 0.1
    done
    grep -qx 'ready' "$out" || { cat "$out" "$TMP/postern.err" >&2; die "postern serve did not print 'ready'"; }
    PN_PORT=$(sed -n 's/^listening imaps 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$out" | head -n1)
    [[ -n $PN_PORT ]] || die "no 'listening imaps 127.0.0.1:PORT' line"
    check_loopback_only "$POSTERN_PID"
    log "postern (pid $POSTERN_PID) on imaps 127.0.0.1:$PN_PORT"
}

stop_postern() {
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
}

cleanup() {
    local rc=$?
    stop_postern
    drop_tmp
    exit "$rc"
}

main() {
    check_params
    declare -gA HOST_BUSY
    TMP=$(mktemp -d "$BENCH_TMPDIR/postern-auth-timing.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    setup_postern
    check_idle postern
    log "timing $SAMPLES failed logins of each kind ($MODE), alternated"
    local r=$TMP/result.json
    python3 "$REPO/bench/auth_timing.py" --port "$PN_PORT" --user "$USER_ADDR" \
        --unknown "$UNKNOWN_ADDR" --samples "$SAMPLES" --mode "$MODE" >"$r" \
        || die "the timing probe failed"
    echo "postern: $POSTERN_BIN, mode $MODE, $SAMPLES samples each, host busy before: ${HOST_BUSY[postern]}%"
    echo "unknown user:   median $(json "$r" 'd["unknown_user"]["median_ms"]') ms, p90 $(json "$r" 'd["unknown_user"]["p90_ms"]') ms, min $(json "$r" 'd["unknown_user"]["min_ms"]') ms"
    echo "wrong password: median $(json "$r" 'd["wrong_password"]["median_ms"]') ms, p90 $(json "$r" 'd["wrong_password"]["p90_ms"]') ms, min $(json "$r" 'd["wrong_password"]["min_ms"]') ms"
    echo "ratio unknown/wrong: median $(json "$r" 'd["ratio_median"]'), p90 $(json "$r" 'd["ratio_p90"]'); median difference $(json "$r" 'd["diff_median_ms"]') ms"
    echo "paired difference unknown-wrong: median $(json "$r" 'd["paired_diff_median_ms"]') ms, 95 % CI $(json "$r" '"%s..%s" % tuple(d["paired_diff_ci95_ms"])') ms (pass: within ±$MAX_DIFF_MS ms)"
    echo "same reply: $(json "$r" 'd["same_reply"]') ($(json "$r" '" | ".join(d["replies"])'))"
    json "$r" "d['same_reply'] and -$MAX_DIFF_MS <= d['paired_diff_ci95_ms'][0] and d['paired_diff_ci95_ms'][1] <= $MAX_DIFF_MS" | grep -qx True
}

main "$@"
