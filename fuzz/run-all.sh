#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS seconds each (default 30) and exits
# non-zero if any of them crashed, hung or failed to build.
#
#   fuzz/run-all.sh                          # all targets, 30 s each
#   FUZZ_SECONDS=300 fuzz/run-all.sh         # longer
#   fuzz/run-all.sh smtp_command size_units  # only these
#
# Works on stable Rust: RUSTC_BOOTSTRAP=1 unlocks the nightly flags cargo-fuzz
# passes (-Zsanitizer=address). Crashing inputs land in fuzz/artifacts/TARGET/;
# the growing corpus in fuzz/corpus/TARGET/ (both git-ignored).
set -uo pipefail

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-30}"
timeout="${FUZZ_TIMEOUT:-20}"   # seconds one input may take before it counts as a hang

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build || { echo "build failed" >&2; exit 2; }

failed=()
for t in "${targets[@]}"; do
    echo "=== $t: ${seconds}s ==="
    mkdir -p "corpus/$t"
    corpora=("corpus/$t")
    [ -d "seeds/$t" ] && corpora+=("seeds/$t")
    flags=(-max_total_time="$seconds" -timeout="$timeout" -print_final_stats=1)
    [ -f "dict/$t.dict" ] && flags+=(-dict="dict/$t.dict")
    if ! cargo fuzz run "$t" "${corpora[@]}" -- "${flags[@]}"; then
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds}s without a crash"
