#!/usr/bin/env bash
# End-to-end SMTP delivery benchmark: messages per second that arrive over SMTP and
# end up in mailboxes, for Postern and, in the same run and with the same load, for
# Postfix handing mail over LMTP to Dovecot (maildir). Runs the sides ABBA —
# Postfix, Postern, Postern, Postfix — each on a fresh setup, and prints every
# run, the ratio of each order and their mean. Postern runs twice per round,
# with a plaintext and with an encrypted store (issue 14 item 4): Postfix,
# plaintext, encrypted, encrypted, plaintext, Postfix; encrypted / plaintext is
# printed too. Everything listens on 127.0.0.1
# only and lives in a temp dir that is removed at exit. See bench/README.md for
# the method and how to read the figures.
#
# Deliveries are counted the same way on both sides while the clock runs: lines
# in the server's own log (Postern's mail.log event=accepted, which is written
# once the message is committed to its mailbox; Postfix's status=sent, once
# Dovecot's LMTP answered 250 for it), one grep -c a poll; the time the polls
# took is printed. The mailboxes themselves are counted once, after the clock
# stopped, to check.
#
# Usage: bench/smtp-delivery.sh            (as root: installs packages, runs daemons)
# Environment (defaults in brackets):
#   MESSAGES [10000]   messages to send
#   SESSIONS [20]      concurrent SMTP sessions (smtp-source -s)
#   SIZE_KB  [5]       message body size in KiB (smtp-source -l, headers come on top)
#   RECIPIENTS [1]     mailboxes the messages are spread over, 1..100 (one recipient
#                      per message; with 100, user1..user100 get MESSAGES/100 each)
#   DEADLINE [600]     seconds to wait, after the last 250, for every message to reach
#                      its mailbox
#   SENDER [sender@peer.test]  envelope sender (not in the local domain: smtp.local_sender refuses those from outside)
#   ONLY [both]        both (ABBA: six runs, four with ENCRYPTED=0|1) | postfix: Postfix once |
#                      postern: Postern only (plaintext and encrypted ABBA, or once)
#   AUTH_CHECKS [1]    1: Postern checks SPF, DKIM, ARC and DMARC of every message
#                      (records from a loopback DNS server, bench/auth_dns.py); 0: off
#   ENCRYPTED [both]   both: Postern with a plaintext and with an encrypted store (encryption
#                      enable); 0: plaintext only; 1: encrypted only
#   POSTERN_BIN        [${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}/release/postern]
#   BENCH_TMPDIR       [${TMPDIR:-/tmp}] where the temp dir goes (use a real disk, not tmpfs)
#   KEEP_TMP [0]       1: keep the temp dir (logs, mailboxes) for inspection
#   WAIT_IDLE [0]      seconds to wait, before each side, for other work on the host to
#                      stop (CPUs <= 10 % busy); a warning is printed either way
# Exit status: 0 when every message of every side was delivered, 1 otherwise.

set -euo pipefail

MESSAGES=${MESSAGES:-10000}
SESSIONS=${SESSIONS:-20}
SIZE_KB=${SIZE_KB:-5}
RECIPIENTS=${RECIPIENTS:-1}
DEADLINE=${DEADLINE:-600}
ONLY=${ONLY:-both}
ENCRYPTED=${ENCRYPTED:-both}
AUTH_CHECKS=${AUTH_CHECKS:-1}
KEEP_TMP=${KEEP_TMP:-0}
WAIT_IDLE=${WAIT_IDLE:-0}
BENCH_TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
POSTERN_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/postern-target}
POSTERN_BIN=${POSTERN_BIN:-$POSTERN_TARGET/release/postern}

DOMAIN=bench.test
USERS=100                       # user1..user100 exist on both sides, whatever RECIPIENTS is
PASSWORD=Load-Test-Pass-1
SENDER=${SENDER:-sender@peer.test}
SMTP_SOURCE=/usr/sbin/smtp-source
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

TMP=""                          # temp dir, set in main
PN_SIDE=""                      # postern or encrypted: the Postern side running
POSTERN_PID=""
DNS_PID=""
SAMPLER_PID=""
ROOT=""                         # the run's temp dir; TMP is the current side's dir in it
PF_CONF="" PF_QUEUE="" DV_CONF="" DV_RUN="" MAILROOT="" PN_DATA=""

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

check_params() {
    local v
    [[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds"
    for v in MESSAGES SESSIONS SIZE_KB RECIPIENTS DEADLINE; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
    done
    (( RECIPIENTS <= USERS )) || die "RECIPIENTS must be 1..$USERS"
    (( MESSAGES >= RECIPIENTS )) || die "MESSAGES must be at least RECIPIENTS"
    [[ $ONLY =~ ^(both|postern|postfix)$ ]] || die "ONLY must be both, postern or postfix"
    [[ $ENCRYPTED =~ ^(0|1|both)$ ]] || die "ENCRYPTED must be 0, 1 or both"
    [[ $AUTH_CHECKS =~ ^[01]$ ]] || die "AUTH_CHECKS must be 0 or 1"
    (( EUID == 0 )) || die "run as root (installs packages, starts Postfix and Dovecot)"
}

# ---------------------------------------------------------------------------
# install: Debian packages for the load generator, the reference stack and sqlite3.
install() {
    local pkgs=() p
    for p in postfix dovecot-core dovecot-lmtpd sqlite3; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
    done
    if (( ${#pkgs[@]} )); then
        log "installing ${pkgs[*]}"
        # Postfix's own configuration is irrelevant (we run a private instance).
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        # Keep the packages' system-wide services from starting (they would bind
        # 0.0.0.0:25 and friends): deny service starts while installing.
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
    [[ -x $SMTP_SOURCE ]] || SMTP_SOURCE=$(dpkg -L postfix | grep '/smtp-source$' | head -n1)
    [[ -x $SMTP_SOURCE ]] || die "smtp-source not found in the postfix package"
}

# ---------------------------------------------------------------------------
# Helpers shared by both sides.

# A TCP port nobody listens on, from $1 upwards.

# ---------------------------------------------------------------------------
# setup_postfix_dovecot: a private Postfix (config in $TMP/pfdv/postfix) accepting mail
# for $DOMAIN on 127.0.0.1:$PF_PORT and handing it over LMTP (unix socket) to a private
# Dovecot (config in $TMP/pfdv/dovecot) that stores it in maildirs under $TMP/pfdv/mail.
setup_postfix_dovecot() {
    local d=$TMP/pfdv n
    PF_CONF=$d/postfix
    PF_QUEUE=$d/spool
    DV_CONF=$d/dovecot/dovecot.conf
    DV_RUN=$d/dovecot/run
    MAILROOT=$d/mail
    PF_PORT=$(free_port 2525)
    mkdir -p "$PF_CONF" "$PF_QUEUE" "$d/postfix-data" "$DV_RUN" "$d/dovecot/state" "$MAILROOT"
    chmod 755 "$d" "$d/dovecot"
    chown postfix: "$d/postfix-data"
    chown mail:mail "$MAILROOT"

    # Users: one list for Postfix's recipient check, one passwd-file for Dovecot.
    for ((n = 1; n <= USERS; n++)); do
        echo "user$n@$DOMAIN OK" >>"$PF_CONF/recipients"
        echo "user$n@$DOMAIN:{PLAIN}$PASSWORD:8:8::$MAILROOT/$DOMAIN/user$n::" >>"$d/dovecot/users"
    done
    chmod 644 "$d/dovecot/users"

    cat >"$DV_CONF" <<EOF
# Private Dovecot for the benchmark: LMTP on a unix socket only, maildir, fsync default.
instance_name = postern-bench
base_dir = $DV_RUN
state_dir = $d/dovecot/state
protocols = lmtp
listen = 127.0.0.1
log_path = $d/dovecot/dovecot.log
ssl = no
disable_plaintext_auth = no
first_valid_uid = 8
mail_uid = mail
mail_gid = mail
mail_location = maildir:~/Maildir
mail_fsync = optimized
passdb {
  driver = passwd-file
  args = $d/dovecot/users
}
userdb {
  driver = passwd-file
  args = $d/dovecot/users
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
EOF

    cat >"$PF_CONF/main.cf" <<EOF
# Private Postfix for the benchmark: virtual mailbox domain $DOMAIN delivered over
# LMTP to Dovecot. Queue fsync and all other tuning at Postfix defaults.
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
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PF_CONF/recipients
virtual_transport = lmtp:unix:$DV_RUN/lmtp
alias_maps =
alias_database =
# Nothing leaves this machine.
default_transport = error:benchmark: no outbound mail
relay_transport = error:benchmark: no outbound mail
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
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

    dovecot -c "$DV_CONF" || die "dovecot did not start (see $d/dovecot/dovecot.log)"
    postfix -c "$PF_CONF" check >&2 || die "postfix check failed"
    postfix -c "$PF_CONF" start >&2 || die "postfix did not start (see $d/postfix.log)"
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -S $DV_RUN/lmtp ]] && ss -Hltn "sport = :$PF_PORT" | grep -q . && break
        sleep 0.1
    done
    [[ -S $DV_RUN/lmtp ]] || die "dovecot LMTP socket missing"
    ss -Hltn "sport = :$PF_PORT" | grep -q . || die "postfix does not listen on $PF_PORT"
    check_loopback_only $(pfdv_masters)
    log "postfix on 127.0.0.1:$PF_PORT -> lmtp:unix:$DV_RUN/lmtp -> dovecot maildirs in $MAILROOT"
}

# The master processes of Postfix and Dovecot (all others are their children).
pfdv_masters() {
    local f
    for f in "$PF_QUEUE/pid/master.pid" "$DV_RUN/master.pid"; do
        [[ -r $f ]] && tr -d ' \n' <"$f" && echo
    done
}

stop_postfix_dovecot() {
    [[ -n $PF_CONF && -r $PF_QUEUE/pid/master.pid ]] && postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
    [[ -n $DV_CONF && -r $DV_RUN/master.pid ]] && dovecot -c "$DV_CONF" stop >/dev/null 2>&1 || true
    # Wait for both masters (and so their children) to be gone before the files go.
    local i pid f p
    for ((i = 0; i < 100; i++)); do
        pid=""
        for f in "$PF_QUEUE/pid/master.pid" "$DV_RUN/master.pid"; do
            [[ -r $f ]] && p=$(tr -d ' \n' <"$f") && [[ -d /proc/$p ]] && pid=$p
        done
        [[ -z $pid ]] && break
        sleep 0.1
    done
    PF_CONF="" DV_CONF=""
}

# ---------------------------------------------------------------------------
# setup_postern SIDE: a fresh data dir with $USERS users, served on 127.0.0.1:<free port>;
# encrypted at rest on the `encrypted` side.
setup_postern() {
    PN_SIDE=$1
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
    log "adding $USERS postern users"
    for ((n = 1; n <= USERS; n++)); do
        printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$PN_DATA" user add "user$n@$DOMAIN" --password-stdin >/dev/null \
            || { log "error: postern user add user$n@$DOMAIN failed"; return 1; }
    done

    # The peer is Postfix's smtpd without postscreen: no pause before the
    # banner on either side (Postern's port-25 default is 1 s, issue 13).
    "$POSTERN_BIN" --data "$PN_DATA" config set smtp.greeting_delay '"0s"' >/dev/null \
        || { log "error: postern config set smtp.greeting_delay failed"; return 1; }
    # Every lookup goes to a DNS server on loopback (never the system's).
    python3 "$REPO/bench/auth_dns.py" "${SENDER#*@}" >"$TMP/dns.out" 2>"$TMP/dns.err" &
    DNS_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do [[ -s $TMP/dns.out ]] && break; sleep 0.1; done
    [[ -s $TMP/dns.out ]] || { log "error: bench/auth_dns.py did not start"; cat "$TMP/dns.err" >&2; return 1; }
    "$POSTERN_BIN" --data "$PN_DATA" config set dns.resolver "\"$(head -n1 "$TMP/dns.out")\"" >&2
    local check on=$([[ $AUTH_CHECKS == 1 ]] && echo true || echo false)
    for check in spf dkim arc dmarc; do
        "$POSTERN_BIN" --data "$PN_DATA" config set "auth.$check" "$on" >&2
    done
    log "postern message authentication checks: $on"

    local out=$TMP/postern.out
    : >"$out"
    "$POSTERN_BIN" --data "$PN_DATA" serve --listen smtp=127.0.0.1:0 \
        --listen submission=off --listen smtps=off --listen imap=off --listen imaps=off \
        --listen pop3=off --listen pop3s=off --listen admin=off --listen https=off --listen http=off \
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
    PN_PORT=$(sed -n 's/^listening smtp 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$out" | head -n1)
    [[ -n $PN_PORT ]] || { log "error: no 'listening smtp 127.0.0.1:PORT' line"; cat "$out" >&2; return 1; }
    check_loopback_only "$POSTERN_PID"
    PN_BASELINE=$(postern_count)
    log "postern (pid $POSTERN_PID) on 127.0.0.1:$PN_PORT, data in $PN_DATA"
}

stop_postern() {
    stop_process "$POSTERN_PID" postern
    POSTERN_PID=""
    stop_process "$DNS_PID" auth_dns
    DNS_PID=""
}

postern_count() {
    # An encrypted database is not readable by sqlite3: one body file per message.
    if [[ $PN_SIDE == encrypted ]]; then find "$PN_DATA/blobs" -type f | wc -l; return; fi
    sqlite3 -cmd '.timeout 5000' "$PN_DATA/db/postern.db" 'select count(*) from messages' 2>/dev/null || echo 0
}

# ---------------------------------------------------------------------------
# count_delivered SIDE: deliveries so far, from the side's log, the same way on
# both sides (one grep -c of a file that grows by a line or a few per message).
# grep -c prints 0 and exits 1 on no match.
count_delivered() {
    case $1 in
        postfix) grep -c ' status=sent ' "$TMP/pfdv/postfix.log" 2>/dev/null || true ;;
        postern | encrypted) grep -c ' event=accepted ' "$PN_DATA/logs/mail.log" 2>/dev/null || true ;;
    esac
}

# count_stored SIDE: messages in the mailboxes (checked once, after the clock).
count_stored() {
    case $1 in
        postfix) find "$MAILROOT" -type f \( -path '*/Maildir/new/*' -o -path '*/Maildir/cur/*' \) 2>/dev/null | wc -l ;;
        postern | encrypted) echo $(($(postern_count) - PN_BASELINE)) ;;
    esac
}

# run_load PORT: sends the load with smtp-source and returns when every message has
# been accepted (250 after DATA). Spreads over RECIPIENTS mailboxes by running one
# smtp-source per mailbox, SESSIONS concurrent sessions in total.
run_load() {
    local port=$1
    local args=(-M '[127.0.0.1]' -f "$SENDER" -l $((SIZE_KB * 1024)))
    if (( RECIPIENTS == 1 )); then
        "$SMTP_SOURCE" "${args[@]}" -s "$SESSIONS" -m "$MESSAGES" -t "user1@$DOMAIN" "127.0.0.1:$port"
        return
    fi
    local per_job=$(( SESSIONS / RECIPIENTS > 0 ? SESSIONS / RECIPIENTS : 1 ))
    local parallel=$(( SESSIONS / per_job < RECIPIENTS ? SESSIONS / per_job : RECIPIENTS ))
    local k each=$((MESSAGES / RECIPIENTS)) rest=$((MESSAGES % RECIPIENTS))
    for ((k = 1; k <= RECIPIENTS; k++)); do
        echo "-t user$k@$DOMAIN -m $((each + (k <= rest ? 1 : 0))) 127.0.0.1:$port"
    done | xargs -P "$parallel" -L 1 "$SMTP_SOURCE" "${args[@]}" -s "$per_job"
}

# measure SIDE PORT PIDS...: load, then wait for delivery; sets R_* results.
measure() {
    local side=$1 port=$2; shift 2
    local t0 t_acc t_done=0 count=0 load_ok=1 t_c count_s=0 polls=0
    sync
    sleep 1
    check_idle "$side"
    local cpu0 host0
    cpu0=$(cpu_seconds "$@")
    host0=$(host_ticks)
    log "$side: sending $MESSAGES x ${SIZE_KB} KiB in $SESSIONS sessions to $RECIPIENTS mailbox(es)"
    start_sampler "$TMP/$side.mem" "$@"
    t0=$(now)
    run_load "$port" || load_ok=0
    t_acc=$(now)
    (( load_ok )) || log "$side: smtp-source reported an error (not every message was accepted)"
    log "$side: accepted in $(calc "$t_acc - $t0") s; waiting for delivery"
    local deadline=$(( $(date +%s) + DEADLINE ))
    while :; do
        t_c=$(now)
        count=$(count_delivered "$side")
        count_s=$(calc "$count_s + $(now) - $t_c" 3)
        polls=$((polls + 1))
        if (( count >= MESSAGES )); then t_done=$(now); break; fi
        (( $(date +%s) < deadline )) || break
        # Poll coarsely until the end is near, then every 0.1 s.
        if (( count < MESSAGES * 9 / 10 )); then sleep 0.5; else sleep 0.1; fi
    done
    R_POLL[$side]="$polls polls, $count_s s"
    local stored
    stored=$(count_stored "$side")
    R_STORED[$side]=$stored
    if (( stored < count )); then
        log "$side: the log counted $count deliveries but the mailboxes hold $stored"
        count=$stored
    fi
    R_CPU[$side]=$(calc "$(cpu_seconds "$@") - $cpu0" 2)
    R_HOST_CPU[$side]=$(awk -v a="$host0" -v b="$(host_ticks)" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f", (y[1] - x[1]) / hz }')
    stop_sampler
    local mem=(0 0)
    [[ -r $TMP/$side.mem ]] && read -r -a mem <"$TMP/$side.mem"
    R_COUNT[$side]=$count
    R_ACCEPT_S[$side]=$(calc "$t_acc - $t0")
    R_ACCEPT_RATE[$side]=$(calc "$MESSAGES / ($t_acc - $t0)")
    R_RSS[$side]=$(kib_to_mib "${mem[0]}")
    R_PSS[$side]=$(kib_to_mib "${mem[1]}")
    if (( count == MESSAGES && load_ok )); then
        R_DELIVER_S[$side]=$(calc "$t_done - $t0")
        R_DELIVER_RATE[$side]=$(calc "$MESSAGES / ($t_done - $t0)")
        log "$side: all $MESSAGES delivered in ${R_DELIVER_S[$side]} s"
    else
        R_DELIVER_S[$side]=-
        R_DELIVER_RATE[$side]=-
        FAILED=1
        log "$side: only $count of $MESSAGES messages delivered (deadline ${DEADLINE}s)"
    fi
}

run_postfix_side() {
    setup_postfix_dovecot
    measure postfix "$PF_PORT" $(pfdv_masters)
    if [[ ${R_DELIVER_RATE[postfix]} == - ]]; then
        log "postfix queue:"; postqueue -c "$PF_CONF" -p 2>&1 | tail -n 5 >&2 || true
        log "postfix log tail:"; tail -n 5 "$TMP/pfdv/postfix.log" >&2 || true
        log "dovecot log tail:"; tail -n 5 "$TMP/pfdv/dovecot/dovecot.log" >&2 || true
    fi
    stop_postfix_dovecot
}

# run_postern_side [SIDE]: `postern` (plaintext store) or `encrypted`.
run_postern_side() {
    local side=${1:-postern}
    if ! setup_postern "$side"; then
        R_DELIVER_RATE[$side]=-; R_ACCEPT_RATE[$side]=-; FAILED=1
        stop_postern
        return
    fi
    measure "$side" "$PN_PORT" "$POSTERN_PID"
    R_HWM[$side]=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$POSTERN_PID/status" 2>/dev/null || echo -)
    if [[ ${R_DELIVER_RATE[$side]} == - ]]; then
        log "postern stderr tail:"; tail -n 10 "$TMP/postern.err" >&2 || true
    fi
    stop_postern
}

run_encrypted_side() { run_postern_side encrypted; }

# ---------------------------------------------------------------------------
per_msg_ms() { [[ -n $1 && $1 != - ]] && calc "$1 * 1000 / $MESSAGES" 3 || echo -; }
RESULTS=(R_COUNT R_STORED R_POLL R_ACCEPT_S R_ACCEPT_RATE R_DELIVER_S R_DELIVER_RATE R_RSS R_PSS R_HWM R_CPU R_HOST_CPU HOST_BUSY R_MS_MSG)

summary() {
    local fs
    fs=$(df --output=fstype "$ROOT" | tail -n1)
    echo
    echo "=== smtp-delivery summary ==="
    echo "parameters: messages=$MESSAGES sessions=$SESSIONS size_kb=$SIZE_KB recipients=$RECIPIENTS auth_checks=$AUTH_CHECKS encrypted=$ENCRYPTED"
    echo "host: $(nproc) CPUs, temp dir on $fs, $(uname -r)"
    local side round k name n=0
    while read -r side round; do
        k=$side/$round
        name=$(side_name "$side"); [[ $side == postfix ]] && name='postfix->dovecot'
        name="$name (run $((++n)))"
        echo "$name accepted/s: ${R_ACCEPT_RATE[$k]:--} (all accepted after ${R_ACCEPT_S[$k]:--} s)"
        echo "$name delivered/s: ${R_DELIVER_RATE[$k]:--} (all delivered after ${R_DELIVER_S[$k]:--} s; ${R_COUNT[$k]:-0}/$MESSAGES counted in the log, ${R_STORED[$k]:--} in mailboxes; counting: ${R_POLL[$k]:--})"
        R_MS_MSG[$k]=$(per_msg_ms "${R_CPU[$k]:-}")
        echo "$name server CPU: ${R_CPU[$k]:--} s (${R_MS_MSG[$k]} ms per message); whole host meanwhile: ${R_HOST_CPU[$k]:--} CPU s; host busy just before: ${HOST_BUSY[$k]:--}%"
        if [[ $side != postfix ]]; then
            echo "$name peak RSS: ${R_HWM[$k]:--} MiB (VmHWM); sampled peak PSS ${R_PSS[$k]:--} MiB"
        else
            echo "$name peak RSS: ${R_RSS[$k]:--} MiB (sum over all Postfix and Dovecot processes, sampled every 1 s); PSS ${R_PSS[$k]:--} MiB"
        fi
    done < <(abba_runs postfix "$ONLY" $(postern_sides))
    ratio_lines "delivered/s" R_DELIVER_RATE postfix
    ratio_lines "server CPU per message" R_MS_MSG postfix
    (( FAILED == 0 )) && echo "result: ok" || echo "result: FAILED (missing deliveries)"
}

cleanup() {
    local rc=$?
    stop_sampler
    stop_postern
    stop_postfix_dovecot
    TMP=$ROOT
    drop_tmp
    exit "$rc"
}

main() {
    check_params
    install
    declare -gA "${RESULTS[@]}"
    FAILED=0
    run_abba postfix postern-bench $(postern_sides)
}

main "$@"
