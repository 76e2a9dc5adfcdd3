#!/usr/bin/env bash
# Dovecot's imaptest stress mix against Postern and Dovecot in the same run (issue 18
# item 4): the same users, mbox and imaptest parameters on both, sides alternating
# ABBA (Dovecot, Postern, Postern, Dovecot), each on a fresh setup. Prints per run
# commands/s, server CPU per command, cores busy (the server's and imaptest's own) and
# imaptest errors, then the ratios Postern ÷ Dovecot. Everything listens on 127.0.0.1 only, over IMAPS.
#
# Usage: sudo IMAPTEST=/path/to/imaptest bench/imaptest.sh [imaptest args...]
#   default args: logout=0 (long-lived sessions); e.g. `bench/imaptest.sh` or
#   `CLIENTS=50 bench/imaptest.sh logout=0`; pass `-` for imaptest's default mix.
# Environment (defaults in brackets):
#   IMAPTEST      imaptest binary (required; how to build it: bench/imaptest-stress.sh's header)
#   CLIENTS [10]  SECS [30]  USERS [100]  MESSAGES [1000]  SIZE_KB [19] (the mbox imaptest APPENDs from)
#   ONLY [both]   postern or dovecot: that side once
#   WAIT_IDLE [0] seconds to wait before each run for the host's CPUs to be <= 10 % busy
#   POSTERN_BIN   [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   KEEP_TMP [0]  1: keep the temp dir (imaptest output, server logs)
# Root is needed for Dovecot (it runs as `mail`, packages installed by bench/imap-load.sh).

set -euo pipefail

CLIENTS=${CLIENTS:-10}
SECS=${SECS:-30}
USERS=${USERS:-100}
MESSAGES=${MESSAGES:-1000}
SIZE_KB=${SIZE_KB:-19}
ONLY=${ONLY:-both}
WAIT_IDLE=${WAIT_IDLE:-0}
KEEP_TMP=${KEEP_TMP:-0}
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
POSTERN_BIN=${POSTERN_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern}
IMAPTEST=${IMAPTEST:?set IMAPTEST to an imaptest binary (see bench/imaptest-stress.sh)}
DOMAIN=bench.test
PASSWORD=Load-Test-Pass-1
ARGS=("$@")
(( ${#ARGS[@]} )) || ARGS=(logout=0)
[[ ${ARGS[0]} == - ]] && ARGS=("${ARGS[@]:1}")

TMP="" ROOT="" POSTERN_PID="" SAMPLER_PID="" DV_CONF="" DV_RUN="" FAILED=0
declare -A HOST_BUSY=() R_CMDS=() R_RATE=() R_CPU=() R_MSPC=() R_CORES=() R_CCORES=() R_ERR=()
RESULTS=(R_CMDS R_RATE R_CPU R_MSPC R_CORES R_CCORES R_ERR)

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
    stop_process "$POSTERN_PID" postern
    stop_dovecot
    TMP=$ROOT drop_tmp
    rm -rf "${MBOX_DIR:-}"
}

make_mbox() {
    python3 - "$1" "$MESSAGES" "$SIZE_KB" <<'EOF'
import random, sys
path, count, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
words = [w for w in "the of and to in is was for on that with as by at from this mail server message".split()]
with open(path, "w", newline="") as f:
    for n in range(count):
        f.write(f"From sender{n}@{'bench.test'} Mon Dec  7 00:00:00 2026\n")
        f.write(f"From: Sender {n} <sender{n}@bench.test>\nTo: user@bench.test\n")
        f.write(f"Subject: message {n} {rnd.choice(words)}\nMessage-ID: <{n}.imaptest@bench.test>\n")
        f.write("Date: Mon, 7 Dec 2026 00:00:00 +0000\n\n")
        size = 0
        while size < kb * 1024:
            line = " ".join(rnd.choice(words) for _ in range(12)) + "\n"
            f.write(line)
            size += len(line)
        f.write("\n")
EOF
}

dovecot_master() { [[ -r $DV_RUN/master.pid ]] && tr -d ' \n' <"$DV_RUN/master.pid"; }

stop_dovecot() {
    [[ -n $DV_CONF && -r $DV_RUN/master.pid ]] || return 0
    local pid i
    pid=$(dovecot_master)
    dovecot -c "$DV_CONF" stop >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do [[ -n $pid && -d /proc/$pid ]] || break; sleep 0.1; done
    DV_CONF=""
}

# Dovecot 2.3 at its defaults (mail_fsync = optimized), maildir, users in a passwd-file
# with the Argon2id hash Postern stores for the same password.
start_dovecot() {
    local d=$TMP/dovecot i
    DV_CONF=$d/dovecot.conf DV_RUN=$d/run
    PORT=$(free_port 10993)
    mkdir -p "$DV_RUN" "$d/state"
    # The same Argon2id hash as Postern's users: the default mix logs in
    # often, and {PLAIN} would spare Dovecot the hashing Postern does.
    DV_PASSWORD_FIELD="{ARGON2ID}$(postern_password_hash "$d")" dovecot_users "$d" "$USERS"
    dovecot_cert
    cat >"$DV_CONF" <<EOC
instance_name = postern-imaptest
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
    port = $PORT
    ssl = yes
  }
}
EOC
    dovecot -c "$DV_CONF" || die "dovecot did not start (see $d/dovecot.log)"
    for ((i = 0; i < 100; i++)); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done
    check_loopback_only "$(dovecot_master)"
    SERVER_PIDS=$(dovecot_master)
}

start_postern() {
    local data=$TMP/postern out=$TMP/postern.out n i
    "$POSTERN_BIN" --data "$data" init --hostname "$DOMAIN" --domain "$DOMAIN" >/dev/null
    for ((n = 1; n <= USERS; n++)); do
        printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$data" user add "user$n@$DOMAIN" --password-stdin >/dev/null
    done
    # All clients come from 127.0.0.1: no per-IP or per-user+IP cap in the way.
    "$POSTERN_BIN" --data "$data" config set imap.max_per_user_ip 0 >/dev/null
    "$POSTERN_BIN" --data "$data" config set access.imaps.max_per_ip 0 >/dev/null
    "$POSTERN_BIN" --data "$data" serve --listen smtp=off --listen submission=off \
        --listen smtps=off --listen pop3=off --listen pop3s=off --listen imap=off \
        --listen admin=off --listen http=off --listen https=off \
        --listen imaps=127.0.0.1:0 >"$out" 2>"$TMP/postern.err" &
    POSTERN_PID=$!
    for ((i = 0; i < 300; i++)); do grep -qsx ready "$out" && break; sleep 0.1; done
    grep -qx ready "$out" || die "postern did not start: $(cat "$out" "$TMP/postern.err")"
    PORT=$(sed -n 's/^listening imaps 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$out" | head -n1)
    check_loopback_only "$POSTERN_PID"
    SERVER_PIDS=$POSTERN_PID
}

# Runs imaptest against $PORT and records the side's figures.
measure() {
    local side=$1 out=$TMP/imaptest.out cpu0 t0 wall cpu client
    check_idle "$side"
    cpu0=$(cpu_seconds "$SERVER_PIDS")
    t0=$(now)
    LD_LIBRARY_PATH=/usr/lib/dovecot /usr/bin/time -f '%U %S' -o "$TMP/imaptest.time" "$IMAPTEST" host=127.0.0.1 port="$PORT" ssl=any-cert \
        user="user%d@$DOMAIN" users="$USERS" pass="$PASSWORD" mbox="$MBOX" \
        clients="$CLIENTS" secs="$SECS" "${ARGS[@]}" >"$out" 2>&1 || true
    wall=$(calc "$(now) - $t0" 2)
    cpu=$(calc "$(cpu_seconds "$SERVER_PIDS") - $cpu0" 2)
    # The last line is the Totals row: one count per command kind.
    R_CMDS[$side]=$(tail -n 1 "$out" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }')
    R_RATE[$side]=$(calc "${R_CMDS[$side]} / $SECS")
    R_CPU[$side]=$cpu
    R_MSPC[$side]=$(calc "1000 * $cpu / (${R_CMDS[$side]} + 0.001)" 3)
    R_CORES[$side]=$(calc "$cpu / $wall" 2)
    # imaptest's own CPU: with the server's, it says how much of the host was left idle.
    client=$(tail -n 1 "$TMP/imaptest.time" | awk '{ print $1 + $2 }')
    R_CCORES[$side]=$(calc "$client / $wall" 2)
    R_ERR[$side]=$(grep -c 'Error: ' "$out" || true)
    (( R_CMDS[$side] > 0 )) || FAILED=1
    log "$side: ${R_CMDS[$side]} commands, ${R_RATE[$side]}/s, ${R_MSPC[$side]} ms CPU per command," \
        "${R_CORES[$side]} cores busy (imaptest ${R_CCORES[$side]}), ${R_ERR[$side]} errors"
    grep 'Error: ' "$out" | sed -E 's/^.*Error: //; s/[0-9]+/N/g' | cut -c1-90 | sort | uniq -c \
        | sort -rn | head -3 >&2 || true
}

run_dovecot_side() { start_dovecot; measure dovecot; stop_dovecot; }
run_postern_side() {
    start_postern
    measure postern
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
}

summary() {
    local side round k
    printf '\nimaptest %s, clients=%s secs=%s users=%s, mbox %s x %s KiB\n' \
        "${ARGS[*]:-(default mix)}" "$CLIENTS" "$SECS" "$USERS" "$MESSAGES" "$SIZE_KB"
    printf '%-12s %10s %10s %14s %8s %9s %8s\n' run commands cmds/s 'ms CPU/cmd' cores imaptest errors
    while read -r side round; do
        k=$side/$round
        printf '%-12s %10s %10s %14s %8s %9s %8s\n' "$k" "${R_CMDS[$k]:--}" "${R_RATE[$k]:--}" \
            "${R_MSPC[$k]:--}" "${R_CORES[$k]:--}" "${R_CCORES[$k]:--}" "${R_ERR[$k]:--}"
    done < <(abba_runs dovecot "$ONLY")
    [[ $ONLY == both ]] || return 0
    read -r r1 r2 rm < <(pair_ratios "${R_RATE[postern/1]}" "${R_RATE[dovecot/1]}" \
        "${R_RATE[postern/2]}" "${R_RATE[dovecot/2]}")
    read -r c1 c2 cm < <(pair_ratios "${R_MSPC[postern/1]}" "${R_MSPC[dovecot/1]}" \
        "${R_MSPC[postern/2]}" "${R_MSPC[dovecot/2]}")
    printf 'cmds/s Postern / Dovecot: %s (Dovecot first), %s (Postern first), mean %s\n' "$r1" "$r2" "$rm"
    printf 'CPU per command Postern / Dovecot: %s, %s, mean %s\n' "$c1" "$c2" "$cm"
}

(( EUID == 0 )) || [[ $ONLY == postern ]] || die "run as root (Dovecot), or ONLY=postern"
[[ -x $POSTERN_BIN ]] || die "no $POSTERN_BIN (cargo build --release -p postern)"
[[ -x /usr/bin/time ]] || die "no /usr/bin/time (apt-get install time): it measures imaptest's CPU"
MBOX_DIR=$(mktemp -d "$BENCH_TMPDIR/imaptest-mbox.XXXXXX")
MBOX=$MBOX_DIR/mbox
make_mbox "$MBOX"
run_abba dovecot imaptest-run
