#!/usr/bin/env bash
# scripts/bench.sh: peershare against tar|nc (no encryption, the floor), scp -r and rsync -a
# over ssh, all on loopback on this machine; writes BENCHMARKS.md. Run by `make bench`.
#
#   BENCH_RUNS=7          timed runs per tool and workload (median reported; tool order rotates)
#   BENCH_QUICK=1         small workloads, to check the script in about a minute
#   BENCH_OUT=FILE        the report (default BENCHMARKS.md; its "What was tried" section is kept)
#   BENCH_LATENCY_RUNS=11 runs of the one-small-file send (peershare and scp)
#   BENCH_FIRST_RUNS=3    first-contact (pairing with the code) sends, each with fresh identities
#   BENCH_TMPDIR=DIR      where the workloads and received copies go (default $TMPDIR or /tmp)
#   BENCH_RAW=FILE        also keep the raw results (TSV, read by scripts/bench-report.py)
#   PEERSHARE_BIN=PATH    the binary (default .build/release/peershare; `make bench` passes the
#                         static build that `make install` and the .deb ship)
#
# Safety: every connection is to 127.0.0.1. The sshd started here listens on 127.0.0.1 only,
# on a free high port, with a throwaway host key and user key in the temporary directory;
# every peershare agent runs with --no-discovery --listen 127.0.0.1. Everything started here
# is stopped by its pid when the script ends, also on failure or Ctrl-C, and the temporary
# directory is removed.
set -euo pipefail
export LC_ALL=C
# The machine's own network namespace: no mDNS from anything started here.
export PEERSHARE_DISCOVERY=off
umask 022

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${PEERSHARE_BIN:-.build/release/peershare}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
RUNS=${BENCH_RUNS:-7}
QUICK=${BENCH_QUICK:-0}
OUT=${BENCH_OUT:-BENCHMARKS.md}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
LAT_RUNS=${BENCH_LATENCY_RUNS:-11}
FIRST_RUNS=${BENCH_FIRST_RUNS:-3}
TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}

if [ "$QUICK" = 1 ]; then
    BIG_BYTES=$((128 << 20)) TREE_FILES=600 PHOTO_FILES=12
else
    BIG_BYTES=$((2 << 30)) TREE_FILES=8000 PHOTO_FILES=200
fi
TOOLS=(tarnc scp rsync peershare)
WORKLOADS=(big tree photos)

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

for tool in "$BIN" /usr/sbin/sshd ssh scp ssh-keygen rsync nc tar /usr/bin/time python3 openssl ss pgrep hyperfine diff; do
    command -v "$tool" >/dev/null || die "$tool is missing (make bench installs openssh-server openssh-client rsync netcat-openbsd hyperfine time; python3, openssl, iproute2 and procps are needed too)"
done
nc -h 2>&1 | grep -qi openbsd || die "nc is not netcat-openbsd"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"

START_US=${EPOCHREALTIME/./}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU pressure (PSI): the share of time some runnable task waited for a CPU; "?" if unavailable.
psi_cpu() { sed -n 's/^some avg10=\([^ ]*\) avg60=\([^ ]*\) avg300=\([^ ]*\).*/\1% \/ \2% \/ \3%/p' /proc/pressure/cpu 2>/dev/null || echo "?"; }
PSI_START=$(psi_cpu)
CLK_TCK=$(getconf CLK_TCK)
W=$(mktemp -d "$TMPBASE/peershare-bench.XXXXXX")
SRC=$W/src
RESULTS=$W/results.tsv
: >"$RESULTS"
declare -A PIDS=()      # pid -> what, for everything started here
MADE_RUN_SSHD=""

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
    if [ $rc -ne 0 ] && [ -d "$W" ]; then
        log "logs of the failed run:"
        tail -n 10 "$W"/*.log >&2 2>/dev/null || true
    fi
    rm -rf "$W"
    [ $rc -ne 0 ] && log "exit status $rc"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_listening() {
    local port=$1 i
    for ((i = 0; i < 500; i++)); do
        [ -n "$(ss -Hltn "sport = :$port")" ] && return 0
        sleep 0.01
    done
    die "nothing listens on 127.0.0.1:$port after 5 s"
}
empty_dir() { find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; }

# ---------------------------------------------------------------------------------------------
# Workloads (deterministic: fixed seeds and keys, fixed modes and mtimes).

NAME_big=big.bin NAME_tree=srctree NAME_photos=photos
name_of() { local v=NAME_$1; echo "${!v}"; }

generate() {
    mkdir -p "$SRC"
    log "generating workloads in $W (quick=$QUICK)"
    # AES-128-CTR keystream from a fixed key over /dev/zero: fast, reproducible pseudo-random bytes.
    { openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
        -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null || true; } |
        head -c "$BIG_BYTES" >"$SRC/big.bin"
    [ "$(stat -c %s "$SRC/big.bin")" = "$BIG_BYTES" ] || die "could not generate big.bin"
    chmod 0644 "$SRC/big.bin"
    touch -d @1700000000.123456789 "$SRC/big.bin"
    DESC_big="1 file, $BIG_BYTES bytes"
    DESC_tree=$(python3 "$ROOT/scripts/bench-gen.py" tree "$SRC/srctree" "$TREE_FILES" 1)
    DESC_photos=$(python3 "$ROOT/scripts/bench-gen.py" photos "$SRC/photos" "$PHOTO_FILES" 2)
    { openssl enc -aes-128-ctr -nosalt -K 0f0e0d0c0b0a09080706050403020100 \
        -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null || true; } |
        head -c 4096 >"$SRC/small.bin"
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
    if [ "$tool" = scp ]; then
        # scp -r follows symlinks (it copies the target's content as a regular file), so the
        # content is compared with symlinks dereferenced; the symlinks themselves are not kept.
        diff -r "$SRC/$name" "$dst/$name" >"$W/diff.out" 2>&1 ||
            die "$tool: the received copy differs: $(head -5 "$W/diff.out")"
    else
        diff -r --no-dereference "$SRC/$name" "$dst/$name" >"$W/diff.out" 2>&1 ||
            die "$tool: the received copy differs: $(head -5 "$W/diff.out")"
    fi
    if [ "$tool" = peershare ] || [ "$tool" = rsync ]; then
        meta_list "$SRC" "$name" >"$W/meta.src"
        meta_list "$dst" "$name" >"$W/meta.dst"
        diff "$W/meta.src" "$W/meta.dst" >"$W/diff.out" 2>&1 ||
            die "$tool: modes or mtimes differ (path type mode mtime): $(grep '^[<>]' "$W/diff.out" | head -6)"
    fi
}

# ---------------------------------------------------------------------------------------------
# sshd on 127.0.0.1 with throwaway keys.

SSH_USER=$(id -un)
start_sshd() {
    local d=$W/ssh i
    mkdir -p "$d"
    ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$d/user_key"
    cp "$d/user_key.pub" "$d/authorized_keys"
    SSH_PORT=$(free_port)
    cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1
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
    /usr/sbin/sshd -D -e -f "$d/sshd_config" -p "$SSH_PORT" -h "$d/host_key" >"$W/sshd.log" 2>&1 &
    SSHD_PID=$!
    PIDS[$SSHD_PID]=sshd
    SSH_OPTS=(-F /dev/null -i "$d/user_key" -o IdentitiesOnly=yes -o BatchMode=yes
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
    SSH_CMD="ssh ${SSH_OPTS[*]} -p $SSH_PORT"
    for ((i = 0; i < 100; i++)); do
        ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" "$SSH_USER@127.0.0.1" true 2>/dev/null && break
        kill -0 "$SSHD_PID" 2>/dev/null || die "sshd did not start: $(tail -3 "$W/sshd.log")"
        sleep 0.1
    done
    [ "$i" -lt 100 ] || die "cannot log in to the local sshd"
    SSH_CIPHER=$(ssh -v "${SSH_OPTS[@]}" -p "$SSH_PORT" "$SSH_USER@127.0.0.1" true 2>&1 |
        sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' | head -n 1)
    SSH_KEX=$(ssh -v "${SSH_OPTS[@]}" -p "$SSH_PORT" "$SSH_USER@127.0.0.1" true 2>&1 |
        sed -n 's/.*kex: algorithm: \(.*\)/\1/p' | head -n 1)
    sshd_idle
    log "sshd on 127.0.0.1:$SSH_PORT (pid $SSHD_PID), cipher $SSH_CIPHER, kex $SSH_KEX"
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
agent_start() {
    local role=$1 home=$2 inbox=$3 pid i out port="" listen_port=0
    [ "$role" = receiver ] && listen_port=$RECEIVER_PORT
    mkdir -p "$home" "$inbox"
    "$BIN" run --home "$home" --port "$listen_port" --listen 127.0.0.1 --inbox "$inbox" --no-discovery \
        --name "bench-$role" </dev/null >>"$W/agent-$role.log" 2>&1 &
    pid=$!
    PIDS[$pid]=agent-$role
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || die "the $role agent exited: $(tail -3 "$W/agent-$role.log")"
        if out=$("$BIN" status --home "$home" --json 2>/dev/null) &&
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
    "$BIN" send "$SRC/small.bin" --to "127.0.0.1:$RECEIVER_PORT" --home "$HOME_S" --json >"$out" 2>>"$W/send.log" &
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
        "$BIN" send "$path" --to "127.0.0.1:$RECEIVER_PORT" --home "$HOME_S" --json >"$out" 2>>"$W/send.log" || rc=$?
    [ $rc = 0 ] || die "peershare send exited $rc: $(grep -v '"progress"' "$out" | tail -3)"
    grep -q '"event":"code"' "$out" && die "peershare asked for a pairing code on a paired send"
    grep -q '"event":"done"' "$out" || die "peershare send ended without a done event"
}

# ---------------------------------------------------------------------------------------------
# One timed run of each tool: sets RESULT to "wall cpu_total cpu_send cpu_recv cpu_cli" (seconds)
# and, for peershare, "hwm_send hwm_recv rss_send rss_recv" (KiB, the agents after the run; else 0).
# (Not run in $(...): a receiver started here must stay known to cleanup.)

run_tarnc() {
    local name=$1 dst=$2 port t0 t1 rpid
    port=$(free_port)
    setsid /usr/bin/time -f '%U %S' -o "$W/t.recv" \
        bash -c 'nc -l 127.0.0.1 "$1" </dev/null | tar -C "$2" -xf -' _ "$port" "$dst" 2>>"$W/tarnc.log" &
    rpid=$!
    PIDS[$rpid]=group:nc-receiver
    wait_listening "$port"
    t0=$(us)
    /usr/bin/time -f '%U %S' -o "$W/t.send" \
        bash -c 'tar -C "$1" -cf - "$2" | nc -q0 127.0.0.1 "$3"' _ "$SRC" "$name" "$port" 2>>"$W/tarnc.log" ||
        die "tar | nc (sending end) failed"
    wait "$rpid" || die "nc | tar (receiving end) failed"
    t1=$(us)
    unset "PIDS[$rpid]"
    local cs cr
    cs=$(timefile "$W/t.send") cr=$(timefile "$W/t.recv")
    RESULT="$(secs "$t0" "$t1") $(add "$cs" "$cr") $cs $cr 0 0 0 0 0"
}

run_scp() {
    local name=$1 dst=$2 t0 t1 k0 k1
    sshd_idle
    k0=$(ticks "$SSHD_PID")
    t0=$(us)
    /usr/bin/time -f '%U %S' -o "$W/t.send" \
        scp -q -r "${SSH_OPTS[@]}" -P "$SSH_PORT" "$SRC/$name" "$SSH_USER@127.0.0.1:$dst/" 2>>"$W/scp.log" ||
        die "scp failed: $(tail -3 "$W/scp.log")"
    t1=$(us)
    sshd_idle
    k1=$(ticks "$SSHD_PID")
    local cs cr
    cs=$(timefile "$W/t.send") cr=$(ticks_secs $((k1 - k0)))
    RESULT="$(secs "$t0" "$t1") $(add "$cs" "$cr") $cs $cr 0 0 0 0 0"
}

run_rsync() {
    local name=$1 dst=$2 t0 t1 k0 k1
    sshd_idle
    k0=$(ticks "$SSHD_PID")
    t0=$(us)
    /usr/bin/time -f '%U %S' -o "$W/t.send" \
        rsync -a -e "$SSH_CMD" "$SRC/$name" "$SSH_USER@127.0.0.1:$dst/" 2>>"$W/rsync.log" ||
        die "rsync failed: $(tail -3 "$W/rsync.log")"
    t1=$(us)
    sshd_idle
    k1=$(ticks "$SSHD_PID")
    local cs cr
    cs=$(timefile "$W/t.send") cr=$(ticks_secs $((k1 - k0)))
    RESULT="$(secs "$t0" "$t1") $(add "$cs" "$cr") $cs $cr 0 0 0 0 0"
}

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
    "$BIN" send "$SRC/small.bin" --to "127.0.0.1:$RECEIVER_PORT" --home "$HOME_S" --json 2>>"$W/send.log" | {
        accepted=""
        while IFS= read -r line; do
            printf '%s\n' "$line" >>"$out"
            if [ -z "$accepted" ] && [[ $line =~ \"event\":\"code\" ]] && [[ $line =~ \"code\":\"([0-9]+)\" ]]; then
                accepted=1
                code=${BASH_REMATCH[1]}
                (for ((k = 0; k < 100; k++)); do
                    "$BIN" accept "$code" --home "$HOME_R" >>"$W/accept.log" 2>&1 && exit 0
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

# The one-small-file send from command start to exit, peershare (paired, through the agent)
# and scp (a new ssh connection each time, as a user runs it), with hyperfine.
latency() {
    local dst=$W/dst-scp
    hyperfine --style basic --runs "$LAT_RUNS" --warmup 1 --export-json "$W/latency.json" \
        --prepare "find '$INBOX_R' -mindepth 1 -maxdepth 1 -exec rm -rf {} +" \
        --prepare "find '$dst' -mindepth 1 -maxdepth 1 -exec rm -rf {} +" \
        -n peershare "'$BIN' send '$SRC/small.bin' --to 127.0.0.1:$RECEIVER_PORT --home '$HOME_S' --json >/dev/null" \
        -n scp "scp -q ${SSH_OPTS[*]} -P $SSH_PORT '$SRC/small.bin' '$SSH_USER@127.0.0.1:$dst/'" \
        >"$W/hyperfine.log" 2>&1 || die "hyperfine failed: $(tail -5 "$W/hyperfine.log")"
    verify peershare small.bin "$INBOX_R"
    verify scp small.bin "$dst"
    empty_dir "$INBOX_R"
    empty_dir "$dst"
    sshd_idle
    python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("latency", r["command"], *("%.6f" % t for t in r["times"]), sep="\t")' "$W/latency.json" >>"$RESULTS"
    printf 'rss\tsmall\t%s\t%s\n' "$(hwm_kib "$SENDER_PID")" "$(hwm_kib "$RECEIVER_PID")" >>"$RESULTS"
}

# ---------------------------------------------------------------------------------------------

main() {
    [ -x "$BIN" ] || die "no peershare binary at $BIN (build it: swift build -c release)"
    # A private copy: a rebuild of the build directory during the run must not swap the
    # binary between workloads (agents are restarted per workload).
    BIN_BUILT=$(date -u -r "$BIN" '+%Y-%m-%d %H:%M:%S UTC')
    BIN_SOURCE=${BIN#"$ROOT"/}
    cp "$BIN" "$W/peershare"
    BIN=$W/peershare
    BIN_SHA=$(sha256sum "$BIN" | cut -c1-16)
    COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || COMMIT+=" with uncommitted changes"
    COMMIT+=" when the run started"
    log "peershare: $BIN_SOURCE (built $BIN_BUILT, sha256 $BIN_SHA...); runs per tool and workload: $RUNS; work dir $W"
    generate
    for tool in tarnc scp rsync; do mkdir -p "$W/dst-$tool"; done
    mkdir -p "$W/trash"
    INBOX_S=$W/inbox-sender INBOX_R=$W/inbox-receiver
    start_sshd
    RECEIVER_PORT=$(free_port)

    log "first contact ($FIRST_RUNS sends of a 4 KiB file, pairing with the code each time)"
    for ((i = 1; i <= FIRST_RUNS; i++)); do first_contact "$i"; done
    log "one-small-file latency ($LAT_RUNS runs each, hyperfine)"
    latency
    agents_stop

    local wl name tool r k line dst
    for wl in "${WORKLOADS[@]}"; do
        name=$(name_of "$wl")
        agents_start # fresh agents per workload, so VmHWM is this workload's peak
        check_paired
        warm "$name"
        log "workload $wl ($name): $RUNS rounds of ${TOOLS[*]} (rotating)"
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
                    mv "$dst/$name" "$W/trash/$tool-$r"
                else
                    empty_dir "$dst"
                fi
                sync -f "$W" # untimed: no writeback of this run left to slow the next one
                log "  round $((r + 1)) $tool: wall/cpu/cpu-send/cpu-recv/cpu-cli/hwm-send/hwm-recv/rss-send/rss-recv $line"
                # shellcheck disable=SC2086
                printf 'run\t%s\t%s\t%s\t%s\n' "$wl" "$tool" "$((r + 1))" "$(tr ' ' '\t' <<<"$line")" >>"$RESULTS"
            done
        done
        printf 'rss\t%s\t%s\t%s\n' "$wl" "$(hwm_kib "$SENDER_PID")" "$(hwm_kib "$RECEIVER_PID")" >>"$RESULTS"
        agents_stop
    done
    stop_pid "$SSHD_PID"

    {
        printf 'meta\tquick\t%s\n' "$QUICK"
        printf 'meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
        printf 'meta\truns\t%s\n' "$RUNS"
        printf 'meta\tlatency_runs\t%s\n' "$LAT_RUNS"
        printf 'meta\tfirst_runs\t%s\n' "$FIRST_RUNS"
        printf 'meta\tcommit\t%s\n' "$COMMIT"
        printf 'meta\tbinary\t%s\n' "$BIN_SOURCE"
        printf 'meta\tbinary_time\t%s\n' "$BIN_BUILT"
        printf 'meta\tbinary_sha\t%s\n' "$BIN_SHA"
        printf 'meta\tload_start\t%s\n' "$LOAD_START"
        printf 'meta\tload_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
        printf 'meta\tpsi_start\t%s\n' "$PSI_START"
        printf 'meta\tpsi_end\t%s\n' "$(psi_cpu)"
        printf 'meta\tssh_cipher\t%s\n' "$SSH_CIPHER"
        printf 'meta\tssh_kex\t%s\n' "$SSH_KEX"
        printf 'meta\tssh_version\t%s\n' "$(ssh -V 2>&1)"
        printf 'meta\trsync_version\t%s\n' "$(rsync --version | head -n 1)"
        printf 'meta\ttar_version\t%s\n' "$(tar --version | head -n 1)"
        printf 'meta\tnc_version\t%s\n' "netcat-openbsd $(dpkg-query -W -f '${Version}' netcat-openbsd 2>/dev/null || echo '?')"
        printf 'meta\ttmpdir\t%s\n' "$TMPBASE"
        printf 'meta\tfs\t%s\n' "$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 }')"
        printf 'meta\tseconds\t%s\n' "$(secs "$START_US" "$(us)")"
    } >>"$RESULTS"
    [ -z "${BENCH_RAW:-}" ] || cp "$RESULTS" "$BENCH_RAW"
    python3 "$ROOT/scripts/bench-report.py" "$RESULTS" "$OUT"
    log "wrote $OUT (total $(secs "$START_US" "$(us)") s)"
}

main "$@"
