#!/usr/bin/env bash
# Spam filter benchmark (issue 16): Postern's `spam check --offline`,
# SpamAssassin with Bayes (spamd -L, local tests only) and rspamd with Bayes
# (redis on loopback, network modules off), in one run on one machine, each
# judged by 5-fold cross-validation over the TRAINING half of the public
# SpamAssassin corpus (the other half is the acceptance set: never here).
# Prints, per filter: spam recall, ham false-positive rate, messages/s judged.
#
# Usage: bench/spam.sh [postern] [spamassassin] [rspamd]   (default: all three; root
#        is needed to install the Debian packages when missing)
# Environment (defaults in brackets):
#   FOLDS [5]       folds run (of the five; fewer for a quick look)
#   JOBS [nproc]    parallel workers of each daemon / client
#   CORPUS          an existing training half (spam/, ham/) instead of downloading it
#   POSTERN_BIN     [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern], built if missing
#   BENCH_TMPDIR    [${TMPDIR:-/tmp}]    KEEP_TMP [0]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
KEEP_TMP=${KEEP_TMP:-0}
POSTERN_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}
POSTERN_BIN=${POSTERN_BIN:-$POSTERN_TARGET/release/postern}
WHICH=("$@")
[[ ${#WHICH[@]} -gt 0 ]] || WHICH=(postern spamassassin rspamd)

TMP=$(mktemp -d "$BENCH_TMPDIR/postern-spam-bench.XXXXXX")
chmod 755 "$TMP"
cleanup() { [[ $KEEP_TMP == 1 ]] && log "kept $TMP" || rm -rf "$TMP"; }
trap cleanup EXIT

need=()
for w in "${WHICH[@]}"; do
    case $w in
        spamassassin) command -v spamd >/dev/null || need+=(spamassassin spamc spamd) ;;
        rspamd) command -v rspamd >/dev/null && command -v redis-server >/dev/null || need+=(rspamd redis-server) ;;
    esac
done
if [[ ${#need[@]} -gt 0 ]]; then
    log "installing ${need[*]} (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ -z ${CORPUS:-} ]]; then
    CORPUS=$TMP/corpus
    log "fetching the training half of the corpus"
    /work/shared/corpus/spam-train.sh "$CORPUS" >&2
fi
if [[ ! -x $POSTERN_BIN ]]; then
    log "building $POSTERN_BIN"
    (cd "$HERE/.." && CARGO_TARGET_DIR=$POSTERN_TARGET cargo build --release -p postern >&2)
fi
log "corpus: $(ls "$CORPUS/spam" | wc -l) spam, $(ls "$CORPUS/ham" | wc -l) ham; $(nproc) CPUs"
python3 "$HERE/spam_bench.py" "$CORPUS" "$TMP/work" "$POSTERN_BIN" "${WHICH[@]}"
