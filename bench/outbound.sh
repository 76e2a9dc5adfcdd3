#!/usr/bin/env bash
# Outbound delivery benchmark: how fast a queue of mail for other domains drains
# into a relay, for Postern and, in the same run and with the same messages, for
# Postfix relaying to the same kind of sink (Postfix's smtp-sink, which accepts
# and discards). Runs the sides ABBA — Postfix, Postern, Postern, Postfix — each
# on a fresh setup, with the same limit of CONNECTIONS connections at once, and
# prints every run, the ratio of each order and their mean. Everything listens
# on 127.0.0.1 only and lives in a temp dir that is removed at exit. See
# bench/README.md for the method and how to read the figures.
#
# Usage: bench/outbound.sh            (as root: installs packages, runs daemons)
# Environment (defaults in brackets):
#   MESSAGES [10000]   messages, each to one recipient out of r0..r9 @ d0..d9.example
#   SIZE_KB  [5]       body size in KiB (headers, ~0.3 KiB, come on top)
#   THREADS  [8]       concurrent submission sessions of the injector (each sends
#                      its share of the messages over one session)
#   MODE [flush]       flush: inject with the sink down (every message is deferred),
#                      then start the sink and flush the queue; the time from the
#                      flush command to an empty queue is measured.
#                      live: the sink is up; the time from the first submission to
#                      an empty queue is measured (injection included).
#   DEADLINE [600]     seconds allowed for the queue to drain
#   STALL [60]         give up when the sink's count has not moved for this long
#   CONNECTIONS [20]   outbound connections at once, the same for both sides:
#                      Postern's delivery.max_connections, Postfix's
#                      default_destination_concurrency_limit (its default, 20; the
#                      relayhost is Postfix's one destination)
#   ONLY [both]        both (ABBA: four runs) | postern | postfix: run only one side, once
#   PN_CONFIG          extra Postern settings, "key=value …" (postern config set;
#                      one of delivery.max_connections makes the sides unequal)
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   BENCH_TMPDIR       [${TMPDIR:-/tmp}] where the temp dir goes (use a real disk, not tmpfs)
#   KEEP_TMP [0]       1: keep the temp dir (configs, logs, sink counters)
#   WAIT_IDLE [0]      seconds to wait, before each measured phase, for other work on
#                      the host to stop (CPUs <= 10 % busy); a warning is printed either way
# Exit status: 0 when every message of every side reached the sink exactly once and
# left the queue.

set -euo pipefail

MESSAGES=${MESSAGES:-10000}
SIZE_KB=${SIZE_KB:-5}
THREADS=${THREADS:-8}
MODE=${MODE:-flush}
DEADLINE=${DEADLINE:-600}
STALL=${STALL:-60}
CONNECTIONS=${CONNECTIONS:-20}
ONLY=${ONLY:-both}
KEEP_TMP=${KEEP_TMP:-0}
WAIT_IDLE=${WAIT_IDLE:-0}
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
POSTERN_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}
POSTERN_BIN=${POSTERN_BIN:-$POSTERN_TARGET/release/postern}

DOMAIN=bench.test               # the sending side's own domain
DOMAINS=10 LOCALS=10            # recipients r0..r9 @ d0..d9.example
SENDER=bench@$DOMAIN
PASSWORD=Relay-Pass-2026
SMTP_SINK=/usr/sbin/smtp-sink
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INJECT=(python3 "$REPO/bench/outbound_inject.py")

TMP=""                          # the current side's dir in ROOT
ROOT=""                         # the run's temp dir, set in main
POSTERN_PID=""
SAMPLER_PID=""
SINK_PID=""
INJECT_PID=""
PF_CONF="" PF_QUEUE="" PN_DATA="" PN_BIN=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

check_params() {
    local v
    [[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds"
    for v in MESSAGES SIZE_KB THREADS DEADLINE STALL CONNECTIONS; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
    done
    [[ $ONLY =~ ^(both|postern|postfix)$ ]] || die "ONLY must be both, postern or postfix"
    [[ $MODE =~ ^(flush|live)$ ]] || die "MODE must be flush or live"
    (( EUID == 0 )) || die "run as root (installs packages, starts Postfix)"
}

# ---------------------------------------------------------------------------
# install: Postfix (the reference, and smtp-sink), sqlite3, python3, openssl.
install() {
    local pkgs=() p
    for p in postfix sqlite3 python3 openssl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
    done
    if (( ${#pkgs[@]} )); then
        log "installing ${pkgs[*]}"
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        # Keep the packages' system-wide services from starting (Postfix would
        # bind 0.0.0.0:25): deny service starts while installing.
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
    [[ -x $SMTP_SINK ]] || SMTP_SINK=$(dpkg -L postfix | grep '/smtp-sink$' | head -n1)
    [[ -x $SMTP_SINK ]] || die "smtp-sink not found in the postfix package"
}

# ---------------------------------------------------------------------------
# The sink: smtp-sink with its default capabilities (PIPELINING, 8BITMIME, DSN,
# ENHANCEDSTATUSCODES, ...; no STARTTLS), one per side, counters on stdout.

start_sink() {
    local side=$1
    : >"$TMP/$side.sink"
    "$SMTP_SINK" -c -u nobody "127.0.0.1:$SINK_PORT" 1024 >"$TMP/$side.sink" 2>"$TMP/$side.sink.err" &
    SINK_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        ss -Hltn "sport = :$SINK_PORT" | grep -q . && break
        [[ -d /proc/$SINK_PID ]] || break
        sleep 0.05
    done
    ss -Hltn "sport = :$SINK_PORT" | grep -q . || die "smtp-sink did not listen on $SINK_PORT: $(cat "$TMP/$side.sink.err")"
    check_loopback_only "$SINK_PID"
}

stop_sink() {
    [[ -n $SINK_PID ]] || return 0
    kill "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=""
}

# Messages the sink has taken (a "." answered with 250) so far.
sink_count() {
    local s
    s=$(tail -c 64 "$TMP/$1.sink" 2>/dev/null) || true
    [[ $s =~ mesg=([0-9]+)[^m]*$ ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

# ---------------------------------------------------------------------------
# Postfix: a private instance (config in $TMP/postfix) with smtpd on 127.0.0.1:$PF_PORT
# (STARTTLS offered, relaying for 127.0.0.0/8) and relayhost = the sink.
setup_postfix() {
    local d=$TMP/pf
    PF_CONF=$d/postfix
    PF_QUEUE=$d/spool
    PF_PORT=$(free_port 2525)
    mkdir -p "$PF_CONF" "$PF_QUEUE" "$d/postfix-data"
    chmod 755 "$d"
    chown postfix: "$d/postfix-data"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PF_CONF/key.pem" -out "$PF_CONF/cert.pem" \
        -days 2 -subj "/CN=mx.$DOMAIN" >/dev/null 2>&1 || die "openssl could not make a certificate"

    cat >"$PF_CONF/main.cf" <<EOF
# Private Postfix for the outbound benchmark: takes mail from 127.0.0.0/8 and
# relays everything to the sink. Connections at once to the relayhost: CONNECTIONS,
# as for Postern (20 is Postfix's default). Queue fsync, connection caching and
# all other tuning at Postfix defaults.
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $d/postfix-data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
default_destination_concurrency_limit = $CONNECTIONS
alias_maps =
alias_database =
local_transport = error:benchmark: no local delivery
smtpd_tls_cert_file = $PF_CONF/cert.pem
smtpd_tls_key_file = $PF_CONF/key.pem
smtpd_tls_security_level = may
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
maillog_file = $d/postfix.log
maillog_file_prefixes = $d
biff = no
EOF

    # Services as in Debian's master.cf, minus chroot (paths are outside the spool)
    # and with smtpd bound to loopback on a high port.
    cat >"$PF_CONF/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
proxywrite unix - - n -  1 proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

    postfix -c "$PF_CONF" check >&2 || die "postfix check failed"
    postfix -c "$PF_CONF" start >&2 || die "postfix did not start (see $d/postfix.log)"
    local i
    for ((i = 0; i < 100; i++)); do
        ss -Hltn "sport = :$PF_PORT" | grep -q . && break
        sleep 0.1
    done
    ss -Hltn "sport = :$PF_PORT" | grep -q . || die "postfix does not listen on $PF_PORT"
    check_loopback_only "$(pf_master)"
    log "postfix on 127.0.0.1:$PF_PORT, relayhost [127.0.0.1]:$SINK_PORT, queue in $PF_QUEUE"
}

pf_master() { [[ -r $PF_QUEUE/pid/master.pid ]] && tr -d ' \n' <"$PF_QUEUE/pid/master.pid"; }

stop_postfix() {
    [[ -n $PF_CONF && -r $PF_QUEUE/pid/master.pid ]] && postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
    local i p
    for ((i = 0; i < 100; i++)); do
        p=$(pf_master 2>/dev/null || true)
        [[ -n $p && -d /proc/$p ]] || break
        sleep 0.1
    done
    PF_CONF=""
}

# Queue files Postfix holds in $1.. (incoming, active, deferred, maildrop, hold).
pf_files() {
    local q n=0
    for q in "$@"; do
        n=$((n + $(find "$PF_QUEUE/$q" -type f 2>/dev/null | wc -l)))
    done
    echo "$n"
}

# ---------------------------------------------------------------------------
# Postern: a fresh data dir, one user (the sender), the relay = the sink;
# submission on 127.0.0.1:<free port>, every other listener off.
setup_postern() {
    if [[ ! -x $POSTERN_BIN ]]; then
        log "building postern ($POSTERN_BIN missing)"
        (cd "$REPO" && CARGO_TARGET_DIR=$POSTERN_TARGET cargo build --release -p postern >&2) \
            || { log "error: cargo build failed"; return 1; }
        [[ -x $POSTERN_BIN ]] || { log "error: $POSTERN_BIN still missing after the build"; return 1; }
    fi
    # A private copy: a rebuild of the shared target dir during the run must not
    # change the binary the CLI commands below use.
    mkdir -p "$TMP/bin"
    cp "$POSTERN_BIN" "$TMP/bin/postern"
    PN_BIN=$TMP/bin/postern
    PN_DATA=$TMP/postern
    local pn=("$PN_BIN" --data "$PN_DATA")
    "${pn[@]}" init --hostname "mx.$DOMAIN" --domain "$DOMAIN" >&2 || { log "error: postern init failed"; return 1; }
    printf '%s\n' "$PASSWORD" | "${pn[@]}" user add "$SENDER" --password-stdin >/dev/null \
        || { log "error: postern user add $SENDER failed"; return 1; }
    # Everything through the sink; a failed attempt waits an hour (so in flush mode
    # nothing is retried before `queue retry --all`). Connections at once:
    # CONNECTIONS, as for Postfix (Postern's default is 40); the other limits at
    # their defaults (max_per_domain 8 per recipient domain: 10 domains can
    # fill them all).
    "${pn[@]}" config set delivery.relay "\"smtp://127.0.0.1:$SINK_PORT\"" >/dev/null \
        && "${pn[@]}" config set delivery.retry '["1h"]' >/dev/null \
        && "${pn[@]}" config set delivery.max_connections "$CONNECTIONS" >/dev/null \
        || { log "error: postern config set failed"; return 1; }
    local k kv
    # PN_CONFIG="key=value …": extra settings (e.g. delivery.connection_cache_time='"0s"').
    for kv in ${PN_CONFIG:-}; do
        "${pn[@]}" config set "${kv%%=*}" "${kv#*=}" >/dev/null || { log "error: config set $kv failed"; return 1; }
    done
    PN_LIMITS=""
    for k in max_connections max_per_domain max_messages_per_connection connection_cache_time; do
        PN_LIMITS+="$k=$("${pn[@]}" config get "delivery.$k" 2>/dev/null || echo '?') "
    done

    local out=$TMP/postern.out
    : >"$out"
    "${pn[@]}" serve --listen submission=127.0.0.1:0 --listen smtp=off \
        --listen smtps=off --listen imap=off --listen imaps=off \
        --listen pop3=off --listen pop3s=off \
        --listen admin=off --listen https=off --listen http=off >"$out" 2>"$TMP/postern.err" &
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
    PN_PORT=$(sed -n 's/^listening submission 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$out" | head -n1)
    [[ -n $PN_PORT ]] || { log "error: no 'listening submission 127.0.0.1:PORT' line"; cat "$out" >&2; return 1; }
    check_loopback_only "$POSTERN_PID"
    log "postern (pid $POSTERN_PID) submission on 127.0.0.1:$PN_PORT, relay smtp://127.0.0.1:$SINK_PORT, data in $PN_DATA"
}

stop_postern() {
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
}

pn_sql() { sqlite3 -cmd '.timeout 5000' "$PN_DATA/db/postern.db" "$1" 2>/dev/null || echo -1; }

# ---------------------------------------------------------------------------
# Per-side hooks: queue state, flush command, log checks.

# Recipients (= messages) still in the queue; cheap, for polling.
queued() {
    case $1 in
        postern) pn_sql "select count(*) from queue_recipients where status in ('pending','deferred')" ;;
        postfix) pf_files incoming active deferred maildrop hold ;;
    esac
}

# In flush mode, after the injection: true once every message is deferred and
# none is being tried (the queue is quiet).
all_deferred() {
    case $1 in
        postern) [[ $(pn_sql "select count(*) from queue_recipients where status = 'deferred'") == "$MESSAGES" ]] ;;
        postfix) [[ $(pf_files deferred) == "$MESSAGES" && $(pf_files incoming active maildrop) == 0 ]] ;;
    esac
}

# The official "is the queue empty" of each product.
queue_empty() {
    case $1 in
        postern) "$PN_BIN" --data "$PN_DATA" queue list 2>/dev/null | grep -q 'queue is empty' ;;
        postfix) postqueue -c "$PF_CONF" -p 2>/dev/null | grep -q 'Mail queue is empty' ;;
    esac
}

flush_queue() {
    case $1 in
        postern) "$PN_BIN" --data "$PN_DATA" queue retry --all >/dev/null ;;
        postfix) postqueue -c "$PF_CONF" -f ;;
    esac
}

side_log() {
    case $1 in
        postern) echo "$PN_DATA/logs/mail.log" ;;
        postfix) echo "$TMP/pf/postfix.log" ;;
    esac
}

# Delivery results logged after line $2 of the side's log: "sent deferred bounced",
# and the recipients of the sent ones, counted, into $TMP/SIDE.rcpts.
log_results() {
    local side=$1 from=$2 f
    f=$(side_log "$side")
    case $side in
        postern)
            tail -n +"$((from + 1))" "$f" | awk -v out="$TMP/$side.rcpts" '
                / event=outbound / {
                    r = ""; to = ""
                    for (i = 1; i <= NF; i++) {
                        if ($i ~ /^result=/) r = substr($i, 8)
                        if ($i ~ /^to=/) to = substr($i, 4)
                    }
                    n[r]++; if (r == "sent") print to >out
                }
                END { printf "%d %d %d\n", n["sent"], n["deferred"], n["bounced"] }' ;;
        postfix)
            tail -n +"$((from + 1))" "$f" | awk -v out="$TMP/$side.rcpts" '
                / status=/ && / to=</ {
                    to = ""; r = ""
                    for (i = 1; i <= NF; i++) {
                        if ($i ~ /^to=</) { to = $i; gsub(/^to=<|>,?$/, "", to) }
                        if ($i ~ /^status=/) r = substr($i, 8)
                    }
                    n[r]++; if (r == "sent") print to >out
                }
                END { printf "%d %d %d\n", n["sent"], n["deferred"], n["bounced"] }' ;;
    esac
}

# Whether the sent recipients are exactly the injected ones (each address as often).
check_recipients() {
    local side=$1
    "${INJECT[@]}" --port 1 --sender "$SENDER" --messages "$MESSAGES" --domains "$DOMAINS" --locals "$LOCALS" --list \
        | sort | uniq -c >"$TMP/expected.rcpts"
    sort "$TMP/$side.rcpts" | uniq -c | cmp -s - "$TMP/expected.rcpts"
}

# ---------------------------------------------------------------------------
# inject SIDE: sends the messages; the injector's report goes to $TMP/SIDE.inject.json.
inject() {
    local side=$1 args=(--sender "$SENDER" --messages "$MESSAGES" --threads "$THREADS"
        --size-kb "$SIZE_KB" --domains "$DOMAINS" --locals "$LOCALS" --starttls)
    case $side in
        postern)
            printf '%s\n' "$PASSWORD" >"$TMP/password"
            args+=(--port "$PN_PORT" --user "$SENDER" --password-file "$TMP/password") ;;
        postfix) args+=(--port "$PF_PORT") ;;
    esac
    "${INJECT[@]}" "${args[@]}" >"$TMP/$side.inject.json"
}

# Stops a background injector (live mode): the python process, then its subshell.
stop_injector() {
    [[ -n $INJECT_PID ]] || return 0
    pkill -P "$INJECT_PID" 2>/dev/null || true
    kill "$INJECT_PID" 2>/dev/null || true
    wait "$INJECT_PID" 2>/dev/null || true
    INJECT_PID=""
}

# inject_result SIDE RC: reads what the injector reported; sets R_INJECT_S.
inject_result() {
    local side=$1 rc=$2
    R_INJECT_S[$side]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$TMP/$side.inject.json" 2>/dev/null || echo -)
    if (( rc )); then
        log "$side: injection failed: $(cat "$TMP/$side.inject.json")"
        return 1
    fi
    log "$side: $MESSAGES messages submitted in ${R_INJECT_S[$side]} s ($(calc "$MESSAGES / ${R_INJECT_S[$side]}") /s)"
}

# measure SIDE PIDS...: inject and drain (in MODE's order); sets R_* results.
measure() {
    local side=$1; shift
    local t0 t_first="" t_sink="" t_done="" count=0 log_from
    if [[ $MODE == flush ]]; then
        log "$side: injecting $MESSAGES x ${SIZE_KB} KiB with the sink down ($THREADS sessions)"
        local rc=0
        inject "$side" || rc=$?
        inject_result "$side" "$rc" || { FAILED=1; return; }
    fi
    sync
    sleep 1
    check_idle "$side"
    if [[ $MODE == flush ]]; then
        # After the wait too: Postfix retries its deferred queue every 5 minutes.
        local i
        for ((i = 0; i < 600; i++)); do all_deferred "$side" && break; sleep 0.5; done
        all_deferred "$side" || { log "$side: not every message was deferred after 300 s ($(queued "$side") queued)"; FAILED=1; return; }
        log "$side: all $MESSAGES messages deferred; starting the sink and flushing"
    fi
    log_from=$(wc -l <"$(side_log "$side")" 2>/dev/null || echo 0)
    [[ $MODE == flush ]] && start_sink "$side"
    # Peak RSS over the measured phase only.
    local pid
    [[ $side == postern ]] && R_RSS0[postern]=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$POSTERN_PID/status" 2>/dev/null || echo -)
    for pid in $(process_tree "$@"); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
    local cpu0 host0
    cpu0=$(cpu_seconds "$@")
    host0=$(host_ticks)
    start_sampler "$TMP/$side.mem" "$@"
    t0=$(now)
    if [[ $MODE == flush ]]; then
        flush_queue "$side" || log "$side: the flush command failed"
    else
        # The injector runs while the queue drains; the sink is watched meanwhile.
        log "$side: injecting $MESSAGES x ${SIZE_KB} KiB with the sink up ($THREADS sessions)"
        inject "$side" &
        INJECT_PID=$!
    fi
    local deadline=$(( $(date +%s) + DEADLINE )) polls=0 last=-1 last_change
    last_change=$(date +%s)
    while :; do
        if [[ -n $INJECT_PID ]] && ! kill -0 "$INJECT_PID" 2>/dev/null; then
            local rc=0
            wait "$INJECT_PID" || rc=$?
            INJECT_PID=""
            inject_result "$side" "$rc" || FAILED=1
        fi
        count=$(sink_count "$side")
        [[ -z $t_first ]] && (( count > 0 )) && t_first=$(now)
        (( count != last )) && { last=$count; last_change=$(date +%s); }
        # (In live mode the queue is only done once everything was submitted.)
        if (( count >= MESSAGES )); then
            [[ -n $t_sink ]] || t_sink=$(now)
            if [[ -z $INJECT_PID ]] && queue_empty "$side"; then t_done=$(now); break; fi
        elif (( ++polls % 25 == 0 )) && [[ -z $INJECT_PID && $(queued "$side") == 0 ]]; then
            # Empty queue without every message at the sink: something bounced.
            queue_empty "$side" && break
        fi
        (( $(date +%s) < deadline )) || { log "$side: deadline (${DEADLINE}s) reached"; break; }
        if [[ -z $INJECT_PID ]] && (( $(date +%s) - last_change >= STALL )); then
            log "$side: the sink count has not moved for ${STALL}s ($count); giving up"
            break
        fi
        sleep 0.1
    done
    if [[ -n $INJECT_PID ]]; then
        stop_injector
        log "$side: injection cut short"
        FAILED=1
    fi
    R_CPU[$side]=$(calc "$(cpu_seconds "$@") - $cpu0" 2)
    R_HOST_CPU[$side]=$(awk -v a="$host0" -v b="$(host_ticks)" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f", (y[1] - x[1]) / hz }')
    stop_sampler
    if [[ $side == postern ]]; then
        R_HWM[postern]=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$POSTERN_PID/status" 2>/dev/null || echo -)
    fi
    local mem=(0 0)
    [[ -r $TMP/$side.mem ]] && read -r -a mem <"$TMP/$side.mem"
    R_RSS[$side]=$(kib_to_mib "${mem[0]}")
    R_PSS[$side]=$(kib_to_mib "${mem[1]}")
    count=$(sink_count "$side")
    R_COUNT[$side]=$count
    if [[ $side == postern ]]; then
        # Outcomes Postern failed to record (the message stays queued, and is sent again).
        R_RECFAIL[$side]="$(tail -n +"$((log_from + 1))" "$(side_log "$side")" | grep -c 'event=queue-record-failed' || true) in the measured phase, $(grep -c 'event=queue-record-failed' "$(side_log "$side")" || true) in all"
    fi
    # Let the last log lines land, then read the delivery results.
    sleep 0.5
    read -r R_SENT[$side] R_DEFERRED[$side] R_BOUNCED[$side] < <(log_results "$side" "$log_from")
    R_RCPTS_OK[$side]=no
    check_recipients "$side" && R_RCPTS_OK[$side]=yes
    (( count > MESSAGES )) && log "$side: the sink took $count messages for $MESSAGES submitted: $((count - MESSAGES)) duplicate deliveries"
    if [[ -n $t_done ]] && (( count == MESSAGES )); then
        R_S[$side]=$(calc "$t_done - $t0" 2)
        R_RATE[$side]=$(calc "$MESSAGES / ($t_done - $t0)")
        R_SINK_S[$side]=$(calc "$t_sink - $t0" 2)
        R_FIRST_S[$side]=$(calc "$t_first - $t0" 2)
        R_STEADY[$side]=$(calc "$MESSAGES / ($t_done - $t_first)")
        log "$side: queue empty after ${R_S[$side]} s; the sink took all $MESSAGES"
    else
        R_S[$side]=- R_RATE[$side]=- R_SINK_S[$side]=- R_FIRST_S[$side]=- R_STEADY[$side]=-
        FAILED=1
        log "$side: the sink took $count of $MESSAGES; queue $(queue_empty "$side" && echo empty || echo "not empty ($(queued "$side") left)")"
    fi
    if [[ ${R_SENT[$side]} != "$MESSAGES" || ${R_RCPTS_OK[$side]} != yes ]]; then
        FAILED=1
        log "$side: the log shows ${R_SENT[$side]} sent (want $MESSAGES), ${R_DEFERRED[$side]} deferred, ${R_BOUNCED[$side]} bounced; recipients as injected: ${R_RCPTS_OK[$side]}"
    fi
    stop_sink
}

run_postfix_side() {
    SINK_PORT=$(free_port 2600)
    [[ $MODE == live ]] && start_sink postfix
    setup_postfix
    measure postfix "$(pf_master)"
    if [[ ${R_RATE[postfix]} == - ]]; then
        log "postfix queue:"; postqueue -c "$PF_CONF" -p 2>&1 | tail -n 5 >&2 || true
        log "postfix log tail:"; tail -n 5 "$TMP/pf/postfix.log" >&2 || true
    fi
    stop_postfix
    stop_sink
}

run_postern_side() {
    SINK_PORT=$(free_port 2600)
    [[ $MODE == live ]] && start_sink postern
    if ! setup_postern; then
        R_RATE[postern]=-; FAILED=1
        stop_postern; stop_sink
        return
    fi
    measure postern "$POSTERN_PID"
    if [[ ${R_RATE[postern]} == - ]]; then
        log "postern queue:"; "$PN_BIN" --data "$PN_DATA" queue list 2>&1 | tail -n 5 >&2 || true
        log "postern mail.log tail:"; tail -n 5 "$PN_DATA/logs/mail.log" >&2 || true
        log "postern stderr tail:"; tail -n 10 "$TMP/postern.err" >&2 || true
    fi
    stop_postern
    stop_sink
}

# ---------------------------------------------------------------------------
per_msg_ms() { [[ -n $1 && $1 != - ]] && calc "$1 * 1000 / $MESSAGES" 2 || echo -; }

RESULTS=(R_COUNT R_INJECT_S R_S R_RATE R_SINK_S R_FIRST_S R_STEADY R_RSS R_RSS0 R_PSS R_HWM R_CPU R_HOST_CPU
    R_SENT R_DEFERRED R_BOUNCED R_RCPTS_OK R_RECFAIL HOST_BUSY)

summary() {
    local fs side what
    fs=$(df --output=fstype "$ROOT" | tail -n1)
    [[ $MODE == flush ]] && what="from the flush command" || what="from the first submission"
    echo
    echo "=== outbound summary ==="
    echo "parameters: mode=$MODE messages=$MESSAGES size_kb=$SIZE_KB threads=$THREADS recipients=$((DOMAINS * LOCALS)) across $DOMAINS domains"
    echo "host: $(nproc) CPUs, temp dir on $fs, $(uname -r); postfix $(postconf -d -h mail_version 2>/dev/null)"
    echo "limits: postern ${PN_LIMITS:--}; postfix default_destination_concurrency_limit=$CONNECTIONS (one destination: the relayhost) default_process_limit=$(postconf -d -h default_process_limit) smtp_connection_cache_on_demand=$(postconf -d -h smtp_connection_cache_on_demand)"
    local round k n=0 name
    while read -r side round; do
        k=$side/$round
        name="$side (run $((++n)))"
        echo "$name injected in: ${R_INJECT_S[$k]:--} s"
        echo "$name delivered/s: ${R_RATE[$k]:--} (queue empty ${R_S[$k]:--} s $what; sink had all ${R_SINK_S[$k]:--} s; first at the sink ${R_FIRST_S[$k]:--} s; first-at-sink to empty: ${R_STEADY[$k]:--}/s)"
        echo "$name sink count: ${R_COUNT[$k]:-0}/$MESSAGES; log: ${R_SENT[$k]:--} sent, ${R_DEFERRED[$k]:--} deferred, ${R_BOUNCED[$k]:--} bounced; recipients as injected: ${R_RCPTS_OK[$k]:--}"
        [[ $side == postern ]] && echo "$name queue-record-failed events: ${R_RECFAIL[$k]:--}"
        echo "$name server CPU: ${R_CPU[$k]:--} s ($(per_msg_ms "${R_CPU[$k]:-}") ms per message); whole host meanwhile: ${R_HOST_CPU[$k]:--} CPU s; host busy just before: ${HOST_BUSY[$k]:--}%"
        if [[ $side == postern ]]; then
            echo "$name peak RSS: ${R_HWM[$k]:--} MiB (VmHWM over the measured phase; RSS ${R_RSS0[$k]:--} MiB before it); sampled peak PSS ${R_PSS[$k]:--} MiB"
        else
            echo "$name peak RSS: ${R_RSS[$k]:--} MiB (sum over all Postfix processes, sampled every 1 s); PSS ${R_PSS[$k]:--} MiB"
        fi
    done < <(abba_runs postfix "$ONLY")
    if [[ $ONLY == both ]]; then
        local r
        read -r -a r < <(pair_ratios "${R_RATE[postern/1]:--}" "${R_RATE[postfix/1]:--}" "${R_RATE[postern/2]:--}" "${R_RATE[postfix/2]:--}")
        echo "ratio postern / postfix delivered/s: ${r[0]} with Postfix run first, ${r[1]} with Postern run first; mean ${r[2]}"
    fi
    (( FAILED == 0 )) && echo "result: ok" || echo "result: FAILED"
}

cleanup() {
    local rc=$?
    stop_injector
    stop_sampler
    stop_postern
    stop_postfix
    stop_sink
    TMP=$ROOT
    drop_tmp
    exit "$rc"
}

main() {
    check_params
    install
    declare -gA "${RESULTS[@]}"
    FAILED=0
    PN_LIMITS=""
    run_abba postfix postern-bench
}

main "$@"
