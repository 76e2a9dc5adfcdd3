# Shared helpers of the benchmark scripts (smtp-delivery.sh, imap-load.sh):
# logging, arithmetic, loopback-only checks, CPU and memory sampling. Sourced,
# not run; the functions read the calling script's globals (TMP and the like).

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
# Arithmetic on decimals: calc 'expr' [decimals] (awk syntax; one decimal by default).
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

free_port() {
    local port=$1
    while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
    echo "$port"
}

# Every process in $@ and its descendants, one pid a line.
process_tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
        { parent[$1] = $2 }
        END {
            do { grew = 0
                 for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 }
            } while (grew)
            for (p in keep) if (p in parent) print p
        }'
}

# Refuses to go on if any process in the trees of $@ listens on a non-loopback address.
check_loopback_only() {
    local pids bad
    pids=$(process_tree "$@" | paste -sd'|')
    [[ -n $pids ]] || return 0
    bad=$(ss -Hltnup 2>/dev/null | grep -E "pid=($pids)," | awk '{print $5}' \
        | grep -Ev '^(127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):[0-9]+$' || true)
    [[ -z $bad ]] || die "a benchmark daemon listens on a non-loopback address: $bad"
}

# Background sampler: every second, the summed RSS and PSS (KiB) of the process trees
# rooted at $2..; writes the peaks to $1 ("rss_kib pss_kib").
start_sampler() {
    local out=$1; shift
    (
        local max_rss=0 max_pss=0 rss pss
        while :; do
            # Processes come and go: cat skips the ones that vanished meanwhile.
            read -r rss pss < <(process_tree "$@" | sed 's|.*|/proc/&/smaps_rollup|' \
                | xargs -r cat 2>/dev/null \
                | awk '/^Rss:/ {r += $2} /^Pss:/ {p += $2} END {print r + 0, p + 0}')
            (( rss > max_rss )) && max_rss=$rss
            (( pss > max_pss )) && max_pss=$pss
            echo "$max_rss $max_pss" >"$out.tmp" && mv "$out.tmp" "$out"
            sleep 1
        done
    ) &
    SAMPLER_PID=$!
}

stop_sampler() {
    [[ -n $SAMPLER_PID ]] || return 0
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
}

# CPU seconds used so far by the process trees rooted at $@: user + system time of
# every live process plus what its exited (reaped) children used.
cpu_seconds() {
    process_tree "$@" | sed 's|.*|/proc/&/stat|' | xargs -r cat 2>/dev/null \
        | awk -v hz="$(getconf CLK_TCK)" '
            { sub(/^.*\) /, ""); split($0, f, " "); t += f[12] + f[13] + f[14] + f[15] }
            END { printf "%.2f", t / hz }'
}

# Busy and total CPU ticks of the whole host so far ("busy total").
host_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# The daemons under test are idle at this point: measures how busy the host's CPUs
# are over 2 s, and if above 10 %, waits (up to WAIT_IDLE seconds) for other work to
# finish, then warns. (The load average is no use here: the previous side's
# fsync-waiting processes still weigh in it.)
check_idle() {
    local a b busy waited=0
    while :; do
        a=$(host_ticks); sleep 2; b=$(host_ticks)
        busy=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
            printf "%.0f", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
        (( busy > 10 && waited < WAIT_IDLE )) || break
        (( waited == 0 )) && log "host CPUs ${busy}% busy; waiting up to ${WAIT_IDLE}s for them to settle"
        sleep 3; waited=$((waited + 5))
    done
    HOST_BUSY[$1]=$busy
    (( busy <= 10 )) || log "warning: the host's CPUs were ${busy}% busy before the $1 run; other work skews the figures"
}

kib_to_mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Stops a server this shell started: SIGTERM, up to 10 s to exit (the
# server's own shutdown grace), then SIGKILL.
stop_process() {
    local pid=$1 name=$2 i
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    [[ -d /proc/$pid ]] && { log "$name ignored SIGTERM for 10 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    wait "$pid" 2>/dev/null || true
}

# Removes the run's temp dir $TMP, or keeps it and says where (KEEP_TMP=1).
drop_tmp() {
    [[ -n ${TMP:-} && -d $TMP ]] || return 0
    if (( ${KEEP_TMP:-0} )); then log "kept $TMP"; else rm -rf "$TMP"; fi
}

# ABBA: the runs of a two-sided benchmark, "SIDE ROUND" a line. Round 1 runs the
# peer first, round 2 Postern first, so that neither side always runs on a host
# the other has just warmed (page cache, CPU frequency) or left busy (writeback,
# a daemon's last work): each order is reported, and their mean. ONLY=SIDE: that
# side, once. abba_runs PEER ONLY [SIDE...]: Postern's sides (default just
# `postern`), e.g. `postern encrypted` (issue 14 item 4): round 1 runs the peer
# and then them in that order, round 2 the same backwards (A B C C B A), so every
# pair of sides meets in both orders. ONLY=postern with several Postern sides
# runs them alone, the same way (A B B A).
abba_runs() {
    local peer=$1 only=$2; shift 2
    local sides=("${@:-postern}") i
    case $only in
        both) ;;
        postern) (( ${#sides[@]} > 1 )) || { printf '%s 1\n' "${sides[0]}"; return; } ;;
        *) printf '%s 1\n' "$only"; return ;;
    esac
    [[ $only == both ]] && printf '%s 1\n' "$peer"
    for ((i = 0; i < ${#sides[@]}; i++)); do printf '%s 1\n' "${sides[i]}"; done
    for ((i = ${#sides[@]} - 1; i >= 0; i--)); do printf '%s 2\n' "${sides[i]}"; done
    [[ $only == both ]] && printf '%s 2\n' "$peer"
    return 0
}

# The Postern sides ENCRYPTED asks for (issue 14 item 4): `postern` (plaintext
# store), `encrypted` (the store encrypted at rest), or both, in one run.
postern_sides() {
    case ${ENCRYPTED:-both} in
        0) echo postern ;;
        1) echo encrypted ;;
        *) echo postern encrypted ;;
    esac
}

# save_run SIDE ROUND ARRAY...: copies ARRAY[SIDE] to ARRAY[SIDE/ROUND] in each
# associative array named, so the next run of SIDE can overwrite ARRAY[SIDE].
save_run() {
    local side=$1 round=$2 name; shift 2
    for name in "$@"; do
        local -n arr=$name
        [[ -v arr[$side] ]] && arr[$side/$round]=${arr[$side]}
        unset -n arr
    done
}

# The mean of two ratios a1/b1 and a2/b2 ("-" when a figure is missing).
pair_ratios() {
    local a1=$1 b1=$2 a2=$3 b2=$4
    if [[ $a1 == - || $b1 == - || $a2 == - || $b2 == - || -z $a1$b1$a2$b2 ]]; then echo "- - -"; return; fi
    awk -v a1="$a1" -v b1="$b1" -v a2="$a2" -v b2="$b2" \
        'BEGIN { r1 = a1 / b1; r2 = a2 / b2; printf "%.2f %.2f %.2f\n", r1, r2, (r1 + r2) / 2 }'
}

# The measured part of a two-sided benchmark: a new root directory under
# $BENCH_TMPDIR named PREFIX.XXXXXX, then each run of abba_runs PEER $ONLY on a
# fresh setup in its own subdirectory (written-back page cache first, so no run
# pays for the last one's writeback), then the script's summary. Each script
# defines run_SIDE_side, save_run, summary and cleanup, and sets FAILED.
# run_abba PEER PREFIX [SIDE...]: Postern's sides as for abba_runs.
run_abba() {
    local peer=$1 prefix=$2 side round
    ROOT=$(mktemp -d "$BENCH_TMPDIR/$prefix.XXXXXX")
    TMP=$ROOT
    chmod 755 "$ROOT"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    [[ $(stat -f -c %T "$ROOT") == tmpfs ]] && log "warning: $ROOT is on tmpfs; fsync costs nothing there"
    while read -r side round; do
        TMP=$ROOT/$side-$round
        mkdir -m 755 "$TMP"
        sync
        log "run: $side (round $round)"
        "run_${side}_side"
        save_run "$side" "$round" "${RESULTS[@]}"
    done < <(abba_runs "$peer" "$ONLY" "${@:3}")
    TMP=$ROOT
    summary
    (( FAILED == 0 ))
}

# postern_encrypt SIDE DATA_DIR TMP: on the `encrypted` side, encrypts the fresh
# store (`postern encryption enable`, issue 14 item 3) and exports
# POSTERN_PASSPHRASE_FILE so every later command and `serve` unlock it; on
# any other side makes sure no passphrase file is exported.
postern_encrypt() {
    unset POSTERN_PASSPHRASE_FILE
    [[ $1 == encrypted ]] || return 0
    local pass=$3/passphrase
    ( umask 077; printf 'bench passphrase %s\n' "$RANDOM$RANDOM" >"$pass" )
    export POSTERN_PASSPHRASE_FILE=$pass
    "$POSTERN_BIN" --data "$2" encryption enable >&2 || { log "error: postern encryption enable failed"; return 1; }
    log "postern store encrypted"
}

# A side's name in a summary.
side_name() {
    case $1 in
        encrypted) echo "postern encrypted" ;;
        *) echo "$1" ;;
    esac
}

# ratio_lines LABEL ARRAY PEER [HIGHER]: for every Postern side run (postern_sides),
# its ratio to PEER in ARRAY (both orders and the mean); with both Postern
# sides, encrypted / plaintext too. For printing in a summary.
ratio_lines() {
    local label=$1 peer=$3 s r
    local -n arr=$2
    local sides
    read -r -a sides < <(postern_sides)
    if [[ $ONLY == both ]]; then
        for s in "${sides[@]}"; do
            read -r -a r < <(pair_ratios "${arr[$s/1]:--}" "${arr[$peer/1]:--}" "${arr[$s/2]:--}" "${arr[$peer/2]:--}")
            echo "ratio $(side_name "$s") / $peer $label: ${r[0]} with $peer run first, ${r[1]} with Postern run first; mean ${r[2]}"
        done
    fi
    if (( ${#sides[@]} == 2 )) && [[ $ONLY != "$peer" ]]; then
        read -r -a r < <(pair_ratios "${arr[encrypted/1]:--}" "${arr[postern/1]:--}" "${arr[encrypted/2]:--}" "${arr[postern/2]:--}")
        echo "ratio encrypted / plaintext $label: ${r[0]} with plaintext run first, ${r[1]} with encrypted run first; mean ${r[2]}"
    fi
    unset -n arr
}

# The certificate of a benchmark's private Dovecot: Debian dovecot-core's, or
# ssl-cert's snakeoil one. Sets DV_CERT and DV_KEY.
dovecot_cert() {
    DV_CERT=/etc/dovecot/private/dovecot.pem DV_KEY=/etc/dovecot/private/dovecot.key
    if [[ ! -r $DV_CERT || ! -r $DV_KEY ]]; then
        DV_CERT=/etc/ssl/certs/ssl-cert-snakeoil.pem DV_KEY=/etc/ssl/private/ssl-cert-snakeoil.key
    fi
    [[ -r $DV_CERT && -r $DV_KEY ]] ||
        die "no TLS certificate for dovecot (tried /etc/dovecot/private and snakeoil)"
}

# The Argon2id hash (PHC string) Postern stores for $PASSWORD, made in a
# throwaway store under DIR: Dovecot (libsodium) verifies the same string at
# the same cost, so logins cost both servers the same hashing.
postern_password_hash() {
    local d=$1/hash-store
    "$POSTERN_BIN" --data "$d" init --hostname "$DOMAIN" --domain "$DOMAIN" >/dev/null
    printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" --data "$d" user add "hash@$DOMAIN" --password-stdin >/dev/null
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT password_hash FROM users").fetchone()[0])' "$d/db/postern.db"
    rm -rf "$d"
}

# user1..userCOUNT@$DOMAIN with $PASSWORD in DIR/users (a passwd-file), their
# maildirs under DIR/mail, owned by mail (uid 8). The password is stored as
# $DV_PASSWORD_FIELD when set (e.g. the same Argon2id hash Postern keeps, see
# postern_password_hash), else {PLAIN}$PASSWORD.
dovecot_users() {
    local d=$1 count=$2 n field=${DV_PASSWORD_FIELD:-"{PLAIN}$PASSWORD"}
    mkdir -p "$d/mail"
    chmod 755 "$d"
    chown mail:mail "$d/mail"
    for ((n = 1; n <= count; n++)); do
        echo "user$n@$DOMAIN:$field:8:8::$d/mail/user$n::" >>"$d/users"
    done
    chmod 644 "$d/users"
}
