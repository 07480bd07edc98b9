#!/usr/bin/env bash
# scripts/bench-lib.sh: what scripts/bench.sh (loopback) and scripts/bench-links.sh (shaped links
# between two network namespaces) share: workloads, checks, the tools' timed runs, the agents.
# Sourced, not run, after `cd` to the repository and ROOT=$PWD; bench_start sets up the rest.
#
# Where things run: ON_S and ON_R are command prefixes (arrays) for the sending and the receiving
# side (empty: here; bench-links.sh: `ip netns exec NS`), ADDR_S and ADDR_R their addresses
# (127.0.0.1 on loopback), AS_USER the prefix that runs peershare agents and commands (empty: the
# invoking user; bench-links.sh: an ordinary user through setpriv).

set -euo pipefail
export LC_ALL=C
# No mDNS from anything started here (in the machine's own network namespace, or any other).
export PEERSHARE_DISCOVERY=off
umask 022

ON_S=("${ON_S[@]}") ON_R=("${ON_R[@]}") AS_USER=("${AS_USER[@]}")
: "${ADDR_S:=127.0.0.1}" "${ADDR_R:=127.0.0.1}"

# bench_start DEFAULT_RUNS WORKDIR_PREFIX: the settings both scripts take from the environment
# (PEERSHARE_BIN, BENCH_RUNS, BENCH_QUICK, BENCH_OUT, BENCH_TMPDIR), the work directory W and the
# bookkeeping; cleanup runs on exit, also on failure or Ctrl-C.
bench_start() {
    BIN=${PEERSHARE_BIN:-.build/release/peershare}
    case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
    RUNS=${BENCH_RUNS:-$1}
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"
    QUICK=${BENCH_QUICK:-0}
    OUT=${BENCH_OUT:-BENCHMARKS.md}
    case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
    TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
    START_US=${EPOCHREALTIME/./}
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    CLK_TCK=$(getconf CLK_TCK)
    declare -gA PIDS=() # pid -> what, for everything started here
    MADE_RUN_SSHD=""
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    W=$(mktemp -d "$TMPBASE/$2.XXXXXX")
    SRC=$W/src
    RESULTS=$W/results.tsv
    : >"$RESULTS"
}

# bench_binary: a private copy of BIN, so that a rebuild of the build directory during the run
# cannot swap the binary between workloads (agents are restarted per workload); BIN_SOURCE,
# BIN_BUILT, BIN_SHA and COMMIT say what it is.
bench_binary() {
    [ -x "$BIN" ] || die "no peershare binary at $BIN (build it: swift build -c release)"
    BIN_BUILT=$(date -u -r "$BIN" '+%Y-%m-%d %H:%M:%S UTC')
    BIN_SOURCE=${BIN#"$ROOT"/}
    cp "$BIN" "$W/peershare"
    BIN=$W/peershare
    BIN_SHA=$(sha256sum "$BIN" | cut -c1-16)
    COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || COMMIT+=" with uncommitted changes"
    COMMIT+=" when the run started"
}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

# stop_pid PID [GROUP]: TERM, up to 10 s, then KILL; GROUP=1 signals the process group PID leads.
stop_pid() {
    local pid=$1 target=$1 i
    [ "${2:-}" = 1 ] && target=-$1
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "$target" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL -- "$target" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset "PIDS[$pid]"
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${!PIDS[@]}"; do
        [[ ${PIDS[$pid]} == group:* ]] && stop_pid "$pid" 1 || stop_pid "$pid"
    done
    [ -n "$MADE_RUN_SSHD" ] && rmdir /run/sshd 2>/dev/null || true
    ! declare -F cleanup_more >/dev/null || cleanup_more
    if [ $rc -ne 0 ] && [ -d "$W" ]; then
        log "logs of the failed run:"
        tail -n 10 "$W"/*.log >&2 2>/dev/null || true
    fi
    rm -rf "$W"
    [ $rc -ne 0 ] && log "exit status $rc"
    exit $rc
}

# us: the current time in microseconds. secs A B: (B - A) microseconds as seconds.
us() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }
# ticks PID: utime+stime+cutime+cstime of PID in clock ticks (children only once reaped).
ticks() {
    local s
    s=$(<"/proc/$1/stat")
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo $((${12} + ${13} + ${14} + ${15}))
}
ticks_secs() { awk -v t="$1" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }'; }
# timefile FILE: "user+sys" seconds from a /usr/bin/time -f '%U %S' -o FILE.
timefile() { tail -n 1 "$1" | awk '{ printf "%.2f", $1 + $2 }'; }
# time_kib FILE: the peak RSS (KiB, the largest process waited for) from -f '%U %S %M'.
time_kib() { tail -n 1 "$1" | awk '{ print $3 + 0 }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
# free_port: a free TCP port on the receiver's address.
free_port() {
    "${ON_R[@]}" python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$ADDR_R"
}
wait_listening() {
    local port=$1 i
    for ((i = 0; i < 500; i++)); do
        [ -n "$("${ON_R[@]}" ss -Hltn "sport = :$port")" ] && return 0
        sleep 0.01
    done
    die "nothing listens on $ADDR_R:$port after 5 s"
}
empty_dir() { find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; }

# ---------------------------------------------------------------------------------------------
# Workloads (deterministic: fixed seeds and keys, fixed modes and mtimes).

NAME_big=big.bin NAME_tree=srctree NAME_photos=photos
name_of() { local v=NAME_$1; echo "${!v}"; }

# keystream KEY BYTES: BYTES of the AES-128-CTR keystream of KEY (hex) over /dev/zero: fast,
# reproducible pseudo-random bytes.
keystream() {
    { openssl enc -aes-128-ctr -nosalt -K "$1" -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null || true; } |
        head -c "$2"
}

generate() {
    mkdir -p "$SRC"
    log "generating workloads in $W (quick=$QUICK)"
    keystream 000102030405060708090a0b0c0d0e0f "$BIG_BYTES" >"$SRC/big.bin"
    [ "$(stat -c %s "$SRC/big.bin")" = "$BIG_BYTES" ] || die "could not generate big.bin"
    chmod 0644 "$SRC/big.bin"
    touch -d @1700000000.123456789 "$SRC/big.bin"
    DESC_big="1 file, $BIG_BYTES bytes"
    DESC_tree=$(python3 "$ROOT/scripts/bench-gen.py" tree "$SRC/srctree" "$TREE_FILES" 1)
    DESC_photos=$(python3 "$ROOT/scripts/bench-gen.py" photos "$SRC/photos" "$PHOTO_FILES" 2)
    keystream 0f0e0d0c0b0a09080706050403020100 4096 >"$SRC/small.bin"
    touch -d @1700000000 "$SRC/small.bin"
    for wl in "${WORKLOADS[@]}"; do
        local d=DESC_$wl
        log "  $wl ($(name_of "$wl")): ${!d}"
        printf 'workload\t%s\t%s\t%s\n' "$wl" "$(name_of "$wl")" "${!d}" >>"$RESULTS"
    done
}

# Reads every byte of a source once, so that every tool starts from a warm page cache.
warm() { find "$SRC/$1" -type f -exec cat {} + >/dev/null; }

# ---------------------------------------------------------------------------------------------
# Checks: the received copy must be identical to the source.

# meta_list DIR NAME: type, mode and mtime (ns) of every entry (symlinks themselves, not targets).
meta_list() { (cd "$1" && find "$2" -printf '%p %y %m %T@\n' | sort); }

verify() {
    local tool=$1 name=$2 dst=$3 n
    n=$(find "$dst" -mindepth 1 -maxdepth 1 | wc -l)
    [ "$n" = 1 ] && { [ -e "$dst/$name" ] || [ -L "$dst/$name" ]; } ||
        die "$tool: expected exactly $dst/$name, found: $(ls -A "$dst" | head -5 | tr '\n' ' ')"
    if [[ $tool == scp* ]]; then
        # scp -r follows symlinks (it copies the target's content as a regular file), so the
        # content is compared with symlinks dereferenced; the symlinks themselves are not kept.
        diff -r "$SRC/$name" "$dst/$name" >"$W/diff.out" 2>&1 ||
            die "$tool: the received copy differs: $(head -5 "$W/diff.out")"
    else
        diff -r --no-dereference "$SRC/$name" "$dst/$name" >"$W/diff.out" 2>&1 ||
            die "$tool: the received copy differs: $(head -5 "$W/diff.out")"
    fi
    if [ "$tool" = peershare ] || [[ $tool == rsync* ]]; then
        meta_list "$SRC" "$name" >"$W/meta.src"
        meta_list "$dst" "$name" >"$W/meta.dst"
        diff "$W/meta.src" "$W/meta.dst" >"$W/diff.out" 2>&1 ||
            die "$tool: modes or mtimes differ (path type mode mtime): $(grep '^[<>]' "$W/diff.out" | head -6)"
    fi
}

# ---------------------------------------------------------------------------------------------
# sshd on the receiving side (ADDR_R; 127.0.0.1 on loopback) with throwaway keys.

SSH_USER=$(id -un)
start_sshd() {
    local d=$W/ssh i
    mkdir -p "$d"
    ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$d/user_key"
    cp "$d/user_key.pub" "$d/authorized_keys"
    SSH_PORT=$(free_port)
    cat >"$d/sshd_config" <<EOF
ListenAddress $ADDR_R
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PidFile none
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
        mkdir -m 0755 /run/sshd
        MADE_RUN_SSHD=1
    fi
    "${ON_R[@]}" /usr/sbin/sshd -D -e -f "$d/sshd_config" -p "$SSH_PORT" -h "$d/host_key" >"$W/sshd.log" 2>&1 &
    SSHD_PID=$!
    PIDS[$SSHD_PID]=sshd
    SSH_OPTS=(-F /dev/null -i "$d/user_key" -o IdentitiesOnly=yes -o BatchMode=yes
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
    SSH_CMD="ssh ${SSH_OPTS[*]} -p $SSH_PORT"
    SSH_AT=$SSH_USER@$ADDR_R
    for ((i = 0; i < 100; i++)); do
        "${ON_S[@]}" ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" "$SSH_AT" true 2>/dev/null && break
        kill -0 "$SSHD_PID" 2>/dev/null || die "sshd did not start: $(tail -3 "$W/sshd.log")"
        sleep 0.1
    done
    [ "$i" -lt 100 ] || die "cannot log in to the local sshd"
    SSH_CIPHER=$("${ON_S[@]}" ssh -v "${SSH_OPTS[@]}" -p "$SSH_PORT" "$SSH_AT" true 2>&1 |
        sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' | head -n 1)
    SSH_KEX=$("${ON_S[@]}" ssh -v "${SSH_OPTS[@]}" -p "$SSH_PORT" "$SSH_AT" true 2>&1 |
        sed -n 's/.*kex: algorithm: \(.*\)/\1/p' | head -n 1)
    sshd_idle
    log "sshd on $ADDR_R:$SSH_PORT (pid $SSHD_PID), cipher $SSH_CIPHER, kex $SSH_KEX"
}

# Waits until every connection child of sshd has been reaped, so that the listener's
# cutime+cstime includes the whole server side of the last connection.
sshd_idle() {
    local i
    for ((i = 0; i < 1000; i++)); do
        pgrep -P "$SSHD_PID" >/dev/null || return 0
        sleep 0.01
    done
    die "sshd still has a connection 10 s after the client ended"
}

# ---------------------------------------------------------------------------------------------
# peershare agents: SENDER and RECEIVER, with homes HOME_S/HOME_R.

# The receiver always listens on the same port (RECEIVER_PORT, picked once): a send by
# HOST:PORT finds the receiver's pinned key by that address, so a receiver restarted on
# another port would need the pairing code again. The sender takes any free port.
# ps_on s|r ARGS...: a peershare command on the sending or the receiving side, as AS_USER.
ps_on() {
    local -n on=ON_${1^^}
    shift
    "${on[@]}" "${AS_USER[@]}" "$BIN" "$@"
}

agent_start() {
    local role=$1 home=$2 inbox=$3 pid i out port="" listen_port=0 side=s addr=$ADDR_S
    [ "$role" = receiver ] && listen_port=$RECEIVER_PORT side=r addr=$ADDR_R
    local -n on=ON_${side^^}
    mkdir -p "$home" "$inbox"
    [ -z "${AGENT_OWNER:-}" ] || chown -R "$AGENT_OWNER" "$home" "$inbox"
    "${on[@]}" "${AS_USER[@]}" "$BIN" run --home "$home" --port "$listen_port" --listen "$addr" --inbox "$inbox" \
        --no-discovery --name "bench-$role" </dev/null >>"$W/agent-$role.log" 2>&1 &
    pid=$!
    PIDS[$pid]=agent-$role
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || die "the $role agent exited: $(tail -3 "$W/agent-$role.log")"
        if out=$(ps_on "$side" status --home "$home" --json 2>/dev/null) &&
            [[ $out =~ \"port\"[[:space:]]*:[[:space:]]*([0-9]+) ]]; then
            port=${BASH_REMATCH[1]}
            break
        fi
        sleep 0.1
    done
    [ -n "$port" ] || die "the $role agent did not answer status in 30 s"
    if [ "$role" = sender ]; then
        SENDER_PID=$pid
    else
        RECEIVER_PID=$pid
        [ "$port" = "$RECEIVER_PORT" ] || die "the receiver listens on $port, not on $RECEIVER_PORT"
    fi
}

agents_start() {
    agent_start receiver "$HOME_R" "$INBOX_R"
    agent_start sender "$HOME_S" "$INBOX_S"
}
agents_stop() {
    stop_pid "$SENDER_PID"
    stop_pid "$RECEIVER_PID"
}
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Untimed, after (re)starting the agents: a paired send must not ask for a code (it is stopped
# at once if it does, instead of waiting for the pairing to time out).
check_paired() {
    local out=$W/check.out spid i rc=0
    : >"$out"
    "${ON_S[@]}" "${AS_USER[@]}" "$BIN" send "$SRC/small.bin" --to "$ADDR_R:$RECEIVER_PORT" --home "$HOME_S" --json \
        >"$out" 2>>"$W/send.log" &
    spid=$!
    PIDS[$spid]=send
    for ((i = 0; i < 600; i++)); do
        kill -0 "$spid" 2>/dev/null || break
        if grep -q '"event":"code"' "$out"; then
            stop_pid "$spid"
            die "the restarted agents are no longer paired: send asked for a code"
        fi
        sleep 0.05
    done
    [ "$i" -lt 600 ] || die "a paired send of one small file did not end in 30 s"
    wait "$spid" || rc=$?
    unset "PIDS[$spid]"
    [ $rc = 0 ] && grep -q '"event":"done"' "$out" || die "the check send failed ($rc): $(tail -3 "$out")"
    grep -q '"event":"code"' "$out" && die "the restarted agents are no longer paired: send asked for a code"
    verify peershare small.bin "$INBOX_R"
    empty_dir "$INBOX_R"
}

# A paired send through the sender agent; fails on a pairing code or anything but exit 0 + done.
ps_send() {
    local path=$1 out=$2 rc=0
    /usr/bin/time -f '%U %S' -o "$W/t.cli" \
        "${ON_S[@]}" "${AS_USER[@]}" "$BIN" send "$path" --to "$ADDR_R:$RECEIVER_PORT" --home "$HOME_S" --json \
        >"$out" 2>>"$W/send.log" || rc=$?
    [ $rc = 0 ] || die "peershare send exited $rc: $(grep -v '"progress"' "$out" | tail -3)"
    grep -q '"event":"code"' "$out" && die "peershare asked for a pairing code on a paired send"
    grep -q '"event":"done"' "$out" || die "peershare send ended without a done event"
}

# ---------------------------------------------------------------------------------------------
# One timed run of each tool: sets RESULT to "wall cpu_total cpu_send cpu_recv cpu_cli" (seconds)
# and "hwm_send hwm_recv rss_send rss_recv" (KiB): for peershare the agents' VmHWM and VmRSS after the
# run; for the others the peak RSS of each end from /usr/bin/time (0 where not measured: the sshd side).
# (Not run in $(...): a receiver started here must stay known to cleanup.)

# run_pipe NAME DST LOG [FILTER UNFILTER]: tar | [FILTER |] nc into nc -l | [UNFILTER |] tar -x.
run_pipe() {
    local name=$1 dst=$2 logf=$W/$3.log zip=${4:+ | $4} unzip=${5:+ | $5} port t0 t1 rpid
    port=$(free_port)
    "${ON_R[@]}" setsid /usr/bin/time -f '%U %S %M' -o "$W/t.recv" \
        bash -c "nc -l \"\$1\" \"\$2\" </dev/null$unzip | tar -C \"\$3\" -xf -" _ "$ADDR_R" "$port" "$dst" 2>>"$logf" &
    rpid=$!
    PIDS[$rpid]=group:nc-receiver
    wait_listening "$port"
    t0=$(us)
    "${ON_S[@]}" /usr/bin/time -f '%U %S %M' -o "$W/t.send" \
        bash -c "tar -C \"\$1\" -cf - \"\$2\"$zip | nc -q0 \"\$3\" \"\$4\"" _ "$SRC" "$name" "$ADDR_R" "$port" 2>>"$logf" ||
        die "$3 (sending end) failed: $(tail -3 "$logf")"
    wait "$rpid" || die "$3 (receiving end) failed: $(tail -3 "$logf")"
    t1=$(us)
    unset "PIDS[$rpid]"
    local cs cr
    cs=$(timefile "$W/t.send") cr=$(timefile "$W/t.recv")
    RESULT="$(secs "$t0" "$t1") $(add "$cs" "$cr") $cs $cr 0 $(time_kib "$W/t.send") $(time_kib "$W/t.recv") 0 0"
}
run_tarnc() { run_pipe "$1" "$2" tarnc; }
run_tarzstd() { run_pipe "$1" "$2" tarzstd "zstd -1 -q" "zstd -d -q"; }

# run_ssh LOG NAME DST COMMAND...: an ssh-based copy (a new ssh connection, key authentication);
# CPU = the client's (with its ssh) + the growth of the sshd listener's (the whole server side).
run_ssh() {
    local logf=$W/$1.log what=$1 t0 t1 k0 k1
    shift 3
    sshd_idle
    k0=$(ticks "$SSHD_PID")
    t0=$(us)
    "${ON_S[@]}" /usr/bin/time -f '%U %S %M' -o "$W/t.send" "$@" 2>>"$logf" || die "$what failed: $(tail -3 "$logf")"
    t1=$(us)
    sshd_idle
    k1=$(ticks "$SSHD_PID")
    local cs cr
    cs=$(timefile "$W/t.send") cr=$(ticks_secs $((k1 - k0)))
    RESULT="$(secs "$t0" "$t1") $(add "$cs" "$cr") $cs $cr 0 $(time_kib "$W/t.send") 0 0 0"
}
run_scp() { run_ssh scp "$@" scp -q -r "${SSH_OPTS[@]}" -P "$SSH_PORT" "$SRC/$1" "$SSH_AT:$2/"; }
run_scpC() { run_ssh scpC "$@" scp -C -q -r "${SSH_OPTS[@]}" -P "$SSH_PORT" "$SRC/$1" "$SSH_AT:$2/"; }
run_rsync() { run_ssh rsync "$@" rsync -a -e "$SSH_CMD" "$SRC/$1" "$SSH_AT:$2/"; }
run_rsyncz() { run_ssh rsyncz "$@" rsync -az -e "$SSH_CMD" "$SRC/$1" "$SSH_AT:$2/"; }

run_peershare() {
    local name=$1 t0 t1 s0 s1 r0 r1
    s0=$(ticks "$SENDER_PID") r0=$(ticks "$RECEIVER_PID")
    t0=$(us)
    ps_send "$SRC/$name" "$W/send.out"
    t1=$(us)
    s1=$(ticks "$SENDER_PID") r1=$(ticks "$RECEIVER_PID")
    local cs cr
    cs=$(ticks_secs $((s1 - s0))) cr=$(ticks_secs $((r1 - r0)))
    RESULT="$(secs "$t0" "$t1") $(add "$cs" "$cr") $cs $cr $(timefile "$W/t.cli")"
    RESULT+=" $(hwm_kib "$SENDER_PID") $(hwm_kib "$RECEIVER_PID") $(rss_kib "$SENDER_PID") $(rss_kib "$RECEIVER_PID")"
}

dst_of() { if [ "$1" = peershare ]; then echo "$INBOX_R"; else echo "$W/dst-$1"; fi; }

# ---------------------------------------------------------------------------------------------
# First contact: a send that needs the pairing code, with `accept` issued as soon as the code
# appears. Each try uses fresh identities (new homes), the last pair stays for the rest.

first_contact() {
    local i=$1 out=$W/first-$1.out t0 t1 rc=0
    HOME_S=$W/pair$i/sender HOME_R=$W/pair$i/receiver
    agents_start
    t0=$(us)
    set +e
    ps_on s send "$SRC/small.bin" --to "$ADDR_R:$RECEIVER_PORT" --home "$HOME_S" --json 2>>"$W/send.log" | {
        accepted=""
        while IFS= read -r line; do
            printf '%s\n' "$line" >>"$out"
            if [ -z "$accepted" ] && [[ $line =~ \"event\":\"code\" ]] && [[ $line =~ \"code\":\"([0-9]+)\" ]]; then
                accepted=1
                code=${BASH_REMATCH[1]}
                (for ((k = 0; k < 100; k++)); do
                    ps_on r accept "$code" --home "$HOME_R" >>"$W/accept.log" 2>&1 && exit 0
                    sleep 0.05
                done; exit 1) &
            fi
        done
        wait
    }
    rc=${PIPESTATUS[0]}
    set -e
    t1=$(us)
    [ "$rc" = 0 ] || die "first-contact send exited $rc: $(tail -3 "$out")"
    grep -q '"event":"code"' "$out" || die "the first send showed no pairing code"
    grep -q '"event":"done"' "$out" || die "the first send ended without a done event"
    verify peershare small.bin "$INBOX_R"
    empty_dir "$INBOX_R"
    printf 'first\t%s\t%s\n' "$i" "$(secs "$t0" "$t1")" >>"$RESULTS"
    log "  first contact $i: $(secs "$t0" "$t1") s"
    if [ "$i" -lt "$FIRST_RUNS" ]; then agents_stop; fi
}

# bench_workload WL [LINK]: fresh agents (so that VmHWM is this workload's peak), then RUNS rounds
# in which every tool in TOOLS copies the workload once, the order rotating; each copy is checked,
# then removed untimed. Appends "run" and "rss" rows to RESULTS (with LINK as first field if given).
bench_workload() {
    local wl=$1 link=${2:-} name tool r k line dst key
    key=${link:+$link$'\t'}$wl
    name=$(name_of "$wl")
    agents_start
    check_paired
    warm "$name"
    log "${link:+$link: }workload $wl ($name): $RUNS rounds of ${TOOLS[*]} (rotating)"
    for ((r = 0; r < RUNS; r++)); do
        for ((k = 0; k < ${#TOOLS[@]}; k++)); do
            tool=${TOOLS[(r + k) % ${#TOOLS[@]}]}
            dst=$(dst_of "$tool")
            "run_$tool" "$name" "$dst"
            line=$RESULT
            verify "$tool" "$name" "$dst"
            if [ "$wl" = tree ]; then
                # Not deleted until the end: ext4 skips recently freed inodes when it
                # allocates new ones, which made creating 8,000 files right after deleting
                # 8,000 others several times slower (~0.2 s became ~3 s for tar -x).
                mv "$dst/$name" "$W/trash/${link}$tool-$r"
            else
                empty_dir "$dst"
            fi
            sync -f "$W" # untimed: no writeback of this run left to slow the next one
            log "  round $((r + 1)) $tool: wall/cpu/cpu-send/cpu-recv/cpu-cli/hwm-send/hwm-recv/rss-send/rss-recv $line"
            printf 'run\t%s\t%s\t%s\t%s\n' "$key" "$tool" "$((r + 1))" "$(tr ' ' '\t' <<<"$line")" >>"$RESULTS"
        done
    done
    printf 'rss\t%s\t%s\t%s\n' "$key" "$(hwm_kib "$SENDER_PID")" "$(hwm_kib "$RECEIVER_PID")" >>"$RESULTS"
    agents_stop
}

# meta_common: the "meta" rows both reports read.
meta_common() {
    printf 'meta\tquick\t%s\n' "$QUICK"
    printf 'meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'meta\truns\t%s\n' "$RUNS"
    printf 'meta\tcommit\t%s\n' "$COMMIT"
    printf 'meta\tbinary\t%s\n' "$BIN_SOURCE"
    printf 'meta\tbinary_time\t%s\n' "$BIN_BUILT"
    printf 'meta\tbinary_sha\t%s\n' "$BIN_SHA"
    printf 'meta\tload_start\t%s\n' "$LOAD_START"
    printf 'meta\tload_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'meta\tssh_cipher\t%s\n' "$SSH_CIPHER"
    printf 'meta\tseconds\t%s\n' "$(secs "$START_US" "$(us)")"
}
