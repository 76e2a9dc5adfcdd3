#!/usr/bin/env bash
# The outbound crash loop (tests/test_outbound_crash.py) with many more kills
# than the test suite's 50: SIGKILL at random moments during delivery, restart,
# and check that every accepted recipient reached the sink at least once and
# none whose delivery was committed was sent again. Loopback only.
#
# Usage: bench/outbound-crash.sh            (ITERATIONS [500], SEED [random])
# Prints the test's summary line: recipients, kills, kills with deliveries
# outstanding, and repeated deliveries of acknowledged-but-unrecorded mail.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS=${ITERATIONS:-500}
SEED=${SEED:-$RANDOM}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}"
cargo build -q -p postern
python3 -c "import dnslib" 2>/dev/null || python3 -m pip install --quiet dnslib
echo "iterations=$ITERATIONS seed=$SEED"
POSTERN_BIN="$CARGO_TARGET_DIR/debug/postern" CRASH_ITERATIONS="$ITERATIONS" CRASH_SEED="$SEED" \
    python3 -m pytest -q -s -p no:cacheprovider tests/test_outbound_crash.py 2>&1 | grep -E "recipients|passed|failed|Error"
