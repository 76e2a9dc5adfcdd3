#!/usr/bin/env bash
# IMAP load benchmark: operations per second that CLIENTS concurrent IMAP clients get
# out of Postern and, in the same run and with the same load, out of Dovecot (maildir).
# Both are filled with the same deterministic 1,000-message mailboxes (APPENDed through
# each server) before the timed run. Runs the sides ABBA — Dovecot, Postern, Postern,
# Dovecot — each on a fresh setup, and prints every run's rate, errors and peak
# memory, the ratio of each order and their mean. Postern runs twice per round,
# with a plaintext and with an encrypted store (issue 14 item 4): Dovecot,
# plaintext, encrypted, encrypted, plaintext, Dovecot; encrypted / plaintext is
# printed too. Everything listens on 127.0.0.1
# only, over implicit TLS (IMAPS), and lives in a temp dir that is removed at exit.
# See bench/README.md for the method.
#
# Usage: bench/imap-load.sh            (as root: installs packages, runs daemons)
# Environment (defaults in brackets):
#   CLIENTS [10]       concurrent clients; client k uses userk's own mailbox
#   DURATION [30]      seconds of timed load
#   WARMUP [5]         seconds of untimed load before that
#   MESSAGES [1000]    messages loaded into each mailbox before the run
#   SEED [42]          seed of the generated messages and of the clients' choices
#   ONLY [both]        both (ABBA: six runs, four with ENCRYPTED=0|1) | dovecot: Dovecot once |
#                      postern: Postern only (plaintext and encrypted ABBA, or once)
#   ENCRYPTED [both]   both: Postern with a plaintext and with an encrypted store (encryption
#                      enable); 0: plaintext only; 1: encrypted only
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   BENCH_TMPDIR       [${TMPDIR:-/tmp}] where the temp dir goes (use a real disk, not tmpfs)
#   KEEP_TMP [0]       1: keep the temp dir (logs, mailboxes, JSON results)
#   WAIT_IDLE [0]      seconds to wait, before each timed run, for other work on the
#                      host to stop (CPUs <= 10 % busy); a warning is printed either way
# Exit status: 0 when both sides ran without any error, 1 otherwise.

set -euo pipefail

CLIENTS=${CLIENTS:-10}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-5}
MESSAGES=${MESSAGES:-1000}
SEED=${SEED:-42}
ONLY=${ONLY:-both}
ENCRYPTED=${ENCRYPTED:-both}
KEEP_TMP=${KEEP_TMP:-0}
WAIT_IDLE=${WAIT_IDLE:-0}
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
POSTERN_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}
POSTERN_BIN=${POSTERN_BIN:-$POSTERN_TARGET/release/postern}

DOMAIN=bench.test
PASSWORD=Load-Test-Pass-1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOAD=(python3 "$REPO/bench/imap_load.py")

TMP=""                          # the current side's dir in ROOT
ROOT=""                         # the run's temp dir, set in main
POSTERN_PID=""
SAMPLER_PID=""
DV_CONF="" DV_RUN="" PN_DATA=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
# A field of a one-line JSON object: json FILE EXPR (Python expression on `d`).
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

check_params() {
    local v
    for v in WAIT_IDLE SEED; do
        [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer"
    done
    for v in CLIENTS DURATION WARMUP MESSAGES; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
    done
    (( MESSAGES >= 3 )) || die "MESSAGES must be at least 3"
    [[ $ONLY =~ ^(both|postern|dovecot)$ ]] || die "ONLY must be both, postern or dovecot"
    [[ $ENCRYPTED =~ ^(0|1|both)$ ]] || die "ENCRYPTED must be 0, 1 or both"
    (( EUID == 0 )) || die "run as root (installs packages, starts Dovecot)"
}

# ---------------------------------------------------------------------------
# install: Debian packages for the reference server (Python 3 is the load generator).
install() {
    local pkgs=() p
    for p in dovecot-core dovecot-imapd python3 ssl-cert; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
    done
    if (( ${#pkgs[@]} )); then
        log "installing ${pkgs[*]}"
        # Keep the packages' system-wide services from starting (they would bind
        # 0.0.0.0:143 and friends): deny service starts while installing.
        local own_policy=0
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
        if (( own_policy )); then rm -f /usr/sbin/policy-rc.d; fi
    fi
}

# ---------------------------------------------------------------------------
# Helpers (as in bench/smtp-delivery.sh).

# A TCP port nobody listens on, from $1 upwards.

# ---------------------------------------------------------------------------
# setup_dovecot: a private Dovecot (config in $TMP/dovecot) serving IMAPS only, on
# 127.0.0.1:$DV_PORT, with user1..userCLIENTS in a passwd-file and maildirs under
# $TMP/dovecot/mail. TLS uses the certificate Debian's dovecot-core generated
# (/etc/dovecot/private), or the ssl-cert snakeoil one.
setup_dovecot() {
    local d=$TMP/dovecot
    DV_CONF=$d/dovecot.conf
    DV_RUN=$d/run
    DV_PORT=$(free_port 10993)
    mkdir -p "$DV_RUN" "$d/state"
    dovecot_users "$d" "$CLIENTS"
    dovecot_cert

    cat >"$DV_CONF" <<EOC
# Private Dovecot for the benchmark: IMAPS on loopback only, maildir, defaults otherwise
# (mail_fsync = optimized, one imap-login process per connection, one imap process per
# session).
instance_name = postern-imap-bench
base_dir = $DV_RUN
state_dir = $d/state
protocols = imap
listen = 127.0.0.1
log_path = $d/dovecot.log
ssl = required
ssl_cert = <$DV_CERT
ssl_key = <$DV_KEY
first_valid_uid = 8
mail_uid = mail
mail_gid = mail
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = $d/users
}
userdb {
  driver = passwd-file
  args = $d/users
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DV_PORT
    ssl = yes
  }
}
EOC
    dovecot -c "$DV_CONF" || die "dovecot did not start (see $d/dovecot.log)"
    local i
    for ((i = 0; i < 100; i++)); do
        ss -Hltn "sport = :$DV_PORT" | grep -q . && break
        sleep 0.1
    done
    ss -Hltn "sport = :$DV_PORT" | grep -q . || die "dovecot does not listen on $DV_PORT"
    check_loopback_only "$(dovecot_master)"
    log "dovecot $(dovecot --version | cut -d' ' -f1) (pid $(dovecot_master)) on imaps 127.0.0.1:$DV_PORT, maildirs in $d/mail"
}

dovecot_master() { [[ -r $DV_RUN/master.pid ]] && tr -d ' \n' <"$DV_RUN/master.pid"; }

stop_dovecot() {
    [[ -n $DV_CONF && -r $DV_RUN/master.pid ]] || return 0
    local pid i
    pid=$(dovecot_master)
    dovecot -c "$DV_CONF" stop >/dev/null 2>&1 || true
    # Wait for the master (and so its children) to be gone before the files go.
    for ((i = 0; i < 100; i++)); do
        [[ -n $pid && -d /proc/$pid ]] || break
        sleep 0.1
    done
    DV_CONF=""
}

# ---------------------------------------------------------------------------
# setup_postern SIDE: a fresh data dir with user1..userCLIENTS, IMAPS on 127.0.0.1:<free port>,
# every other listener off; encrypted at rest on the `encrypted` side.
setup_postern() {
    if [[ ! -x $POSTERN_BIN ]]; then
        log "building postern ($POSTERN_BIN missing)"
        (cd "$REPO" && CARGO_TARGET_DIR=$POSTERN_TARGET cargo build --release -p postern >&2) \
            || { log "error: cargo build failed"; return 1; }
        [[ -x $POSTERN_BIN ]] || { log "error: $POSTERN_BIN still missing after the build"; return 1; }
    fi
    PN_DATA=$TMP/postern
    "$POSTERN_BIN" --data "$PN_DATA" init --hostname "$DOMAIN" --domain "$DOMAIN" >&2 \
        || { log "error: postern init failed"; return 1; }
    postern_encrypt "$1" "$PN_DATA" "$TMP" || return 1
    local n
    for ((n = 1; n <= CLIENTS; n++)); do
        printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$PN_DATA" user add "user$n@$DOMAIN" --password-stdin >/dev/null \
            || { log "error: postern user add user$n@$DOMAIN failed"; return 1; }
    done

    local out=$TMP/postern.out
    : >"$out"
    "$POSTERN_BIN" --data "$PN_DATA" serve --listen smtp=off --listen submission=off \
        --listen smtps=off --listen pop3=off --listen pop3s=off --listen imap=off \
        --listen imaps=127.0.0.1:0 --listen admin=off --listen https=off --listen http=off \
        >"$out" 2>"$TMP/postern.err" &
    POSTERN_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        grep -qx 'ready' "$out" && break
        [[ -d /proc/$POSTERN_PID ]] || break
        sleep 0.1
    done
    if ! grep -qx 'ready' "$out"; then
        log "error: postern serve did not print 'ready'; stdout/stderr:"
        cat "$out" "$TMP/postern.err" >&2
        return 1
    fi
    PN_PORT=$(sed -n 's/^listening imaps 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$out" | head -n1)
    [[ -n $PN_PORT ]] || { log "error: no 'listening imaps 127.0.0.1:PORT' line"; cat "$out" >&2; return 1; }
    check_loopback_only "$POSTERN_PID"
    log "postern (pid $POSTERN_PID) on imaps 127.0.0.1:$PN_PORT, data in $PN_DATA"
}

stop_postern() {
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
}

# ---------------------------------------------------------------------------
# populate SIDE PORT: APPENDs the seeded MESSAGES messages to each user's INBOX.
populate() {
    local side=$1 port=$2 t0
    log "$side: appending $MESSAGES messages to each of $CLIENTS mailboxes"
    t0=$(now)
    if ! "${LOAD[@]}" populate --port "$port" --users "$CLIENTS" --messages "$MESSAGES" \
            --parallel "$CLIENTS" --seed "$SEED" >"$TMP/$side.populate.json"; then
        log "$side: populating failed: $(cat "$TMP/$side.populate.json" 2>/dev/null)"
        return 1
    fi
    R_POP_S[$side]=$(calc "$(now) - $t0")
    R_POP_MB[$side]=$(json "$TMP/$side.populate.json" "round(d['bytes'] / 2**20, 1)")
    log "$side: ${R_POP_MB[$side]} MiB appended in ${R_POP_S[$side]} s"
}

# measure SIDE PORT PIDS...: the timed load; sets the R_* results of SIDE.
measure() {
    local side=$1 port=$2; shift 2
    sync
    sleep 1
    check_idle "$side"
    local pid
    # Peak RSS of the load only: reset the high-water marks (populating raised them).
    for pid in $(process_tree "$@"); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
    R_RSS0[$side]=$(kib_to_mib "$(process_tree "$@" | sed 's|.*|/proc/&/status|' | xargs -r cat 2>/dev/null \
        | awk '/^VmRSS:/ {r += $2} END {print r + 0}')")
    local cpu0 host0 t0
    cpu0=$(cpu_seconds "$@")
    host0=$(host_ticks)
    log "$side: $CLIENTS clients, ${WARMUP} s warm-up + ${DURATION} s timed"
    start_sampler "$TMP/$side.mem" "$@"
    t0=$(now)
    "${LOAD[@]}" run --port "$port" --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" \
        --seed "$SEED" --messages "$MESSAGES" >"$TMP/$side.run.json" || true
    R_CPU[$side]=$(calc "$(cpu_seconds "$@") - $cpu0" 2)
    R_HOST_CPU[$side]=$(awk -v a="$host0" -v b="$(host_ticks)" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f", (y[1] - x[1]) / hz }')
    R_WALL[$side]=$(calc "$(now) - $t0")
    stop_sampler
    local mem=(0 0)
    [[ -r $TMP/$side.mem ]] && read -r -a mem <"$TMP/$side.mem"
    R_RSS[$side]=$(kib_to_mib "${mem[0]}")
    R_PSS[$side]=$(kib_to_mib "${mem[1]}")
    if [[ ! -s $TMP/$side.run.json ]]; then
        log "$side: the load generator produced no result"
        R_OPS[$side]=-; FAILED=1; return
    fi
    R_OPS[$side]=$(json "$TMP/$side.run.json" "d['ops_per_s']")
    R_NOPS[$side]=$(json "$TMP/$side.run.json" "d['ops']")
    R_ERR[$side]=$(json "$TMP/$side.run.json" "d['errors']")
    R_CMDS[$side]=$(json "$TMP/$side.run.json" \
        "', '.join('%s %d (%.1f ms)' % (k, v, d['mean_ms'][k]) for k, v in d['counts'].items())")
    (( R_ERR[$side] == 0 )) || FAILED=1
    log "$side: ${R_OPS[$side]} ops/s, ${R_ERR[$side]} errors"
    if (( R_ERR[$side] )); then
        log "$side: errors by command: $(json "$TMP/$side.run.json" "d['errors_by_command']")"
        json "$TMP/$side.run.json" "'\n'.join('  %(user)s %(command)s -> %(response)s' % s for s in d['error_samples'])" >&2
    fi
}

run_dovecot_side() {
    setup_dovecot
    if populate dovecot "$DV_PORT"; then
        measure dovecot "$DV_PORT" "$(dovecot_master)"
    else
        R_OPS[dovecot]=-; FAILED=1
    fi
    local errs
    errs=$(grep -ciE 'error|panic|fatal' "$TMP/dovecot/dovecot.log" || true)
    R_LOGERR[dovecot]=$errs
    (( errs == 0 )) || { log "dovecot log: $errs error lines, e.g.:"; grep -iE 'error|panic|fatal' "$TMP/dovecot/dovecot.log" | head -n 5 >&2; }
    stop_dovecot
}

# run_postern_side [SIDE]: `postern` (plaintext store) or `encrypted`.
run_postern_side() {
    local side=${1:-postern}
    if ! setup_postern "$side"; then
        R_OPS[$side]=-; FAILED=1
        stop_postern
        return
    fi
    if populate "$side" "$PN_PORT"; then
        measure "$side" "$PN_PORT" "$POSTERN_PID"
        R_HWM[$side]=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$POSTERN_PID/status" 2>/dev/null || echo -)
    else
        R_OPS[$side]=-; FAILED=1
    fi
    local errs
    errs=$(grep -ciE 'error|panic|warn' "$TMP/postern.err" || true)
    R_LOGERR[$side]=$errs
    (( errs == 0 )) || { log "postern stderr: $errs error/warning lines, e.g.:"; grep -iE 'error|panic|warn' "$TMP/postern.err" | head -n 5 >&2; }
    stop_postern
}

run_encrypted_side() { run_postern_side encrypted; }

# ---------------------------------------------------------------------------
RESULTS=(R_POP_S R_POP_MB R_OPS R_NOPS R_ERR R_CMDS R_RSS R_PSS R_HWM R_CPU R_HOST_CPU R_WALL R_LOGERR R_RSS0 HOST_BUSY R_MS_OP)

summary() {
    local fs
    fs=$(df --output=fstype "$ROOT" | tail -n1)
    echo
    echo "=== imap-load summary ==="
    echo "parameters: clients=$CLIENTS duration_s=$DURATION warmup_s=$WARMUP messages=$MESSAGES seed=$SEED encrypted=$ENCRYPTED"
    echo "host: $(nproc) CPUs, temp dir on $fs, $(uname -r)"
    local side round k name n=0
    while read -r side round; do
        k=$side/$round
        name="$(side_name "$side") (run $((++n)))"
        echo "$name populate: ${R_POP_MB[$k]:--} MiB in $((CLIENTS * MESSAGES)) APPENDs, ${R_POP_S[$k]:--} s"
        echo "$name ops/s: ${R_OPS[$k]:--} (${R_NOPS[$k]:--} ops in $DURATION s; errors ${R_ERR[$k]:--}; error lines in server log ${R_LOGERR[$k]:--})"
        echo "$name per command: ${R_CMDS[$k]:--}"
        local per_op=-
        [[ ${R_NOPS[$k]:-0} != 0 && ${R_NOPS[$k]:--} != - ]] && per_op=$(calc "${R_CPU[$k]} * 1000 / ${R_NOPS[$k]}" 3)
        R_MS_OP[$k]=$per_op
        echo "$name server CPU: ${R_CPU[$k]:--} s over ${R_WALL[$k]:--} s incl. warm-up (${per_op} ms per timed op, upper bound); whole host meanwhile: ${R_HOST_CPU[$k]:--} CPU s; host busy just before: ${HOST_BUSY[$k]:--}%"
        if [[ $side != dovecot ]]; then
            echo "$name peak RSS: ${R_HWM[$k]:--} MiB (VmHWM over the load; RSS ${R_RSS0[$k]:--} MiB before it); sampled peak PSS ${R_PSS[$k]:--} MiB"
        else
            echo "$name peak RSS: ${R_RSS[$k]:--} MiB (sum over all Dovecot processes, sampled every 1 s; ${R_RSS0[$k]:--} MiB before the load); PSS ${R_PSS[$k]:--} MiB"
        fi
    done < <(abba_runs dovecot "$ONLY" $(postern_sides))
    ratio_lines "ops/s" R_OPS dovecot
    ratio_lines "server CPU per op" R_MS_OP dovecot
    (( FAILED == 0 )) && echo "result: ok" || echo "result: FAILED (errors; see above)"
}

cleanup() {
    local rc=$?
    stop_sampler
    stop_postern
    stop_dovecot
    TMP=$ROOT
    drop_tmp
    exit "$rc"
}

main() {
    check_params
    install
    declare -gA "${RESULTS[@]}"
    FAILED=0
    run_abba dovecot postern-imap-bench $(postern_sides)
}

main "$@"
