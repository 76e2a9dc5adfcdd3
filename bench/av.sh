#!/usr/bin/env bash
# Antivirus benchmark (issue 17): Postern's integrated engine (`postern av
# scan`) against clamd (Debian's clamav-daemon, INSTREAM over loopback TCP),
# both with the same generated ClamAV database (100,000 MD5 hash and 10,000
# body signatures) over the same 1,000 generated messages with attachments.
# clamd gets only that database: freshclam is never run, nothing is fetched.
# Runs ABBA (postern, clamd, clamd, postern) and prints messages/s of each run,
# detections, database load time and the ratio.
#
# Usage: bench/av.sh   (root is needed to install clamav-daemon when missing)
# Environment (defaults in brackets):
#   HASHES [100000]  BODIES [10000]  MESSAGES [1000]  PLANTED [2] (% of messages)
#   JOBS [nproc]     workers on each side
#   POSTERN_BIN      [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern], built if missing
#   BENCH_TMPDIR     [${TMPDIR:-/tmp}]    KEEP_TMP [0]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
KEEP_TMP=${KEEP_TMP:-0}
POSTERN_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}
POSTERN_BIN=${POSTERN_BIN:-$POSTERN_TARGET/release/postern}
CLAMD=${CLAMD:-/usr/sbin/clamd}

TMP=$(mktemp -d "$BENCH_TMPDIR/postern-av-bench.XXXXXX")
chmod 755 "$TMP"
cleanup() { [[ $KEEP_TMP == 1 ]] && log "kept $TMP" || rm -rf "$TMP"; }
trap cleanup EXIT

if [[ ! -x $CLAMD ]]; then
    log "installing clamav-daemon (Debian); its services are not started"
    apt-get update -qq
    # policy-rc.d 101: no package may start a service (clamd, freshclam).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d; cleanup' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clamav-daemon >/dev/null
fi
if [[ ! -x $POSTERN_BIN ]]; then
    log "building $POSTERN_BIN"
    (cd "$HERE/.." && CARGO_TARGET_DIR=$POSTERN_TARGET cargo build --release -p postern >&2)
fi
log "$("$CLAMD" --version); $(nproc) CPUs"
python3 "$HERE/av_bench.py" "$TMP" "$POSTERN_BIN" "$CLAMD"
