#!/usr/bin/env bash
# Memory per idle IMAP session (issue 18 items 3 and 4): SESSIONS sessions over implicit
# TLS (IMAPS), each logged in, INBOX selected, in IDLE, against Postern and, in the same
# run, Dovecot (maildir; high-performance login mode, one imap process per session as
# Dovecot always has). For each: the server's memory before and with them connected
# (RSS and PSS summed over its processes; PSS counts shared pages once), the KiB per
# session, and how long one more login takes while they are all connected.
# Everything listens on 127.0.0.1 only and lives in a temp dir removed at exit.
#
# Usage: bench/imap-idle.sh      (as root for Dovecot: starts it, runs it as `mail`)
# Environment (defaults in brackets):
#   SESSIONS [1000]    idle sessions
#   USERS [10]         they log in as user1..USERS in turn
#   ONLY [both]        both | postern | dovecot
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   KEEP_TMP [0]       1: keep the temp dir

set -euo pipefail

SESSIONS=${SESSIONS:-1000}
USERS=${USERS:-10}
ONLY=${ONLY:-both}
KEEP_TMP=${KEEP_TMP:-0}
POSTERN_BIN=${POSTERN_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern}
PASSWORD=Load-Test-Pass-1
DOMAIN=bench.test
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POSTERN_PID="" CLIENT_PID="" DV_CONF="" DV_RUN=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $SESSIONS =~ ^[1-9][0-9]*$ && $USERS =~ ^[1-9][0-9]*$ ]] || die "SESSIONS and USERS must be positive integers"
[[ $ONLY =~ ^(both|postern|dovecot)$ ]] || die "ONLY must be both, postern or dovecot"
# One descriptor per session in each process (the client, the server), and some; the
# limit is per process, so SESSIONS + 1024 (10,000 sessions fit a hard limit of 20,000).
ulimit -n $((SESSIONS + 1024)) 2>/dev/null || die "cannot raise the open-files limit to $((SESSIONS + 1024)) (hard limit $(ulimit -Hn))"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/postern-idle.XXXXXX")
chmod 755 "$TMP"
cleanup() {
    exec 3>&- 2>/dev/null || true
    [[ -n $CLIENT_PID ]] && { kill "$CLIENT_PID" 2>/dev/null || true; wait "$CLIENT_PID" 2>/dev/null || true; }
    [[ -n $POSTERN_PID ]] && stop_process "$POSTERN_PID" postern
    stop_dovecot
    drop_tmp
}
trap cleanup EXIT

# "rss_kib pss_kib" summed over the process trees rooted at $@.
memory_kib() {
    process_tree "$@" | sed 's|.*|/proc/&/smaps_rollup|' | xargs -r cat 2>/dev/null \
        | awk '/^Rss:/ {r += $2} /^Pss:/ {p += $2} END {print r + 0, p + 0}'
}

# Waits up to $2 seconds for line $3 of file $1; prints it.
wait_line() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -e $1 && $(wc -l <"$1") -ge $3 ]] && { sed -n "${3}p" "$1"; return 0; }
        sleep 0.1
    done
    die "no line $3 in $1 after $2 s: $(cat "$1" 2>/dev/null)"
}

start_postern() {
    local data=$TMP/postern n i
    "$POSTERN_BIN" --data "$data" init --hostname "$DOMAIN" --domain "$DOMAIN" >/dev/null
    for ((n = 1; n <= USERS; n++)); do
        printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$data" user add "user$n@$DOMAIN" --password-stdin >/dev/null
    done
    # The defaults cap sessions per user+address (10) and per address (20): all come from 127.0.0.1.
    "$POSTERN_BIN" --data "$data" config set imap.max_per_user_ip 0 >/dev/null
    "$POSTERN_BIN" --data "$data" config set access.imaps.max_per_ip 0 >/dev/null
    "$POSTERN_BIN" --data "$data" serve --listen smtp=off --listen submission=off \
        --listen smtps=off --listen pop3=off --listen pop3s=off --listen imap=off \
        --listen admin=off --listen http=off --listen https=off \
        --listen imaps=127.0.0.1:0 >"$TMP/postern.out" 2>"$TMP/postern.err" &
    POSTERN_PID=$!
    for ((i = 0; i < 300; i++)); do grep -qsx ready "$TMP/postern.out" && break; sleep 0.1; done
    grep -qx ready "$TMP/postern.out" || die "postern did not start: $(cat "$TMP/postern.out" "$TMP/postern.err")"
    PORT=$(sed -n 's/^listening imaps 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$TMP/postern.out" | head -n1)
    check_loopback_only "$POSTERN_PID"
}

# A private Dovecot serving IMAPS only on 127.0.0.1 (as in bench/imap-load.sh), with
# limits raised for SESSIONS sessions from one address.
start_dovecot() {
    local d=$TMP/dovecot i
    local procs=$((SESSIONS + 100))
    DV_CONF=$d/dovecot.conf DV_RUN=$d/run
    PORT=$(free_port 10993)
    mkdir -p "$DV_RUN" "$d/state"
    dovecot_users "$d" "$USERS"
    dovecot_cert
    cat >"$DV_CONF" <<EOC
instance_name = postern-idle-bench
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
mail_max_userip_connections = $procs
default_process_limit = $procs
default_client_limit = $((procs * 3))
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
  # High-performance mode: a few login processes proxy many connections (TLS included).
  service_count = 0
  process_min_avail = 2
  client_limit = $((procs * 2))
}
service imap {
  process_limit = $procs
}
EOC
    dovecot -c "$DV_CONF" || die "dovecot did not start (see $d/dovecot.log)"
    for ((i = 0; i < 100; i++)); do
        ss -Hltn "sport = :$PORT" | grep -q . && break
        sleep 0.1
    done
    ss -Hltn "sport = :$PORT" | grep -q . || die "dovecot does not listen on $PORT"
    check_loopback_only "$(dovecot_master)"
}

dovecot_master() { [[ -r $DV_RUN/master.pid ]] && tr -d ' \n' <"$DV_RUN/master.pid"; }

stop_dovecot() {
    [[ -n $DV_CONF && -r $DV_RUN/master.pid ]] || return 0
    local pid i
    pid=$(dovecot_master)
    dovecot -c "$DV_CONF" stop >/dev/null 2>&1 || true
    for ((i = 0; i < 300; i++)); do
        [[ -n $pid && -d /proc/$pid ]] || break
        sleep 0.1
    done
    DV_CONF=""
}

# measure SIDE ROOT_PID: one warm-up session (so the baseline includes what the first
# login sets up), then SESSIONS idle ones; logs the figures.
measure() {
    local side=$1 root=$2 warm up login before after opened
    rm -f "$TMP/warm" "$TMP/hold" "$TMP/warm.out" "$TMP/clients.out"
    mkfifo "$TMP/warm" "$TMP/hold"
    python3 "$REPO/bench/imap_idle.py" --port "$PORT" --sessions 1 <"$TMP/warm" >"$TMP/warm.out" &
    warm=$!
    exec 3>"$TMP/warm"
    wait_line "$TMP/warm.out" 60 2 >/dev/null
    exec 3>&-
    wait "$warm"
    sleep 2
    read -r -a before < <(memory_kib "$root")

    python3 "$REPO/bench/imap_idle.py" --port "$PORT" --sessions "$SESSIONS" --users "$USERS" \
        <"$TMP/hold" >"$TMP/clients.out" &
    CLIENT_PID=$!
    exec 3>"$TMP/hold"
    # Logins are Argon2 checks on two threads: some 70 ms each on a busy 2-core host.
    up=$(wait_line "$TMP/clients.out" $((1200 + SESSIONS / 5)) 1)
    login=$(wait_line "$TMP/clients.out" 60 2)
    sleep 2
    read -r -a after < <(memory_kib "$root")
    exec 3>&-
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=""
    opened=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sessions"])' "$up")
    log "$side: clients: $up"
    log "$side: while connected: $login"
    (( opened > 0 )) || die "$side: no session opened"
    log "$side: RSS $(kib_to_mib "${before[0]}") -> $(kib_to_mib "${after[0]}") MiB, PSS" \
        "$(kib_to_mib "${before[1]}") -> $(kib_to_mib "${after[1]}") MiB with $opened idle sessions"
    log "$side: per session: $(calc "(${after[0]} - ${before[0]}) / $opened") KiB RSS," \
        "$(calc "(${after[1]} - ${before[1]}) / $opened") KiB PSS"
}

if [[ $ONLY != dovecot ]]; then
    [[ -x $POSTERN_BIN ]] || die "no postern binary at $POSTERN_BIN (cargo build --release -p postern)"
    start_postern
    measure postern "$POSTERN_PID"
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
fi
if [[ $ONLY != postern ]]; then
    (( EUID == 0 )) || die "run as root for Dovecot (or ONLY=postern)"
    command -v dovecot >/dev/null || die "dovecot is not installed (apt-get install dovecot-imapd)"
    start_dovecot
    log "dovecot $(dovecot --version | cut -d' ' -f1) on imaps 127.0.0.1:$PORT"
    measure dovecot "$(dovecot_master)"
    stop_dovecot
fi
