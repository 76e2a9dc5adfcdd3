#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS seconds each (default 600, the
# hardening issue's ten minutes) and exits non-zero if any of them crashed,
# hung, went past the memory limits or failed to build.
#
#   fuzz/run-all.sh                          # all targets, 10 min each
#   FUZZ_SECONDS=30 fuzz/run-all.sh          # a quick pass
#   fuzz/run-all.sh smtp_command size_units  # only these
#
# Limits, so unbounded allocation and quadratic loops fail like crashes do:
# FUZZ_RSS_MB (default 2048) for the whole process, FUZZ_MALLOC_MB (default
# 256) for one allocation, FUZZ_TIMEOUT (default 10 s) for one input.
#
# Works on stable Rust: RUSTC_BOOTSTRAP=1 unlocks the nightly flags cargo-fuzz
# passes (-Zsanitizer=address). Crashing inputs land in fuzz/artifacts/TARGET/;
# the growing corpus in fuzz/corpus/TARGET/ (both git-ignored).
set -uo pipefail

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-600}"
timeout="${FUZZ_TIMEOUT:-10}"   # seconds one input may take before it counts as a hang
rss_mb="${FUZZ_RSS_MB:-2048}"
malloc_mb="${FUZZ_MALLOC_MB:-256}"

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
    flags=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" -print_final_stats=1)
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
