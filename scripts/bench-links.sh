#!/usr/bin/env bash
# scripts/bench-links.sh: peershare against tar|nc, tar|zstd -1|nc, rsync -a, rsync -az and scp -C
# over shaped links: two network namespaces joined by a veth pair whose both ends are shaped with
# tc netem (a rate and a one-way delay; tbf, the rate alone, where the kernel has no netem). Writes the "Shaped links" section of BENCHMARKS.md.
# Run by `make bench-links` (needs root: namespaces, tc; the peershare agents run as an ordinary user).
#
#   BENCH_LINKS="100mbit:2ms 1gbit:0.2ms"  the links: RATE:DELAY (netem syntax; the delay is added in
#                          each direction, so the round trip is twice it)
#   BENCH_RUNS=5           timed runs per tool, workload and link (median reported; tool order rotates)
#   BENCH_QUICK=1          small workloads (128 MiB file, 600-file tree, 12 photos): a quick check
#   BENCH_BIG_MIB=N        the random file's size in MiB (default 2048; 128 under BENCH_QUICK)
#   BENCH_TREE_FILES=N     files in the source tree (default 8000)
#   BENCH_PHOTO_FILES=N    files in the photo library (default 200, about 1 GiB)
#   BENCH_TOOLS="..."      the tools (default: tarnc tarzstd rsync rsyncz scpC peershare)
#   BENCH_RATE=RATE        also measure `send --limit-rate RATE` on the first link (default 4M; "" skips),
#                          sending BENCH_RATE_SECONDS (default 14) worth of random bytes
#   BENCH_OUT=FILE         the report (default BENCHMARKS.md; only its "Shaped links" section changes)
#   BENCH_TMPDIR=DIR       where the workloads and copies go (default $TMPDIR or /tmp)
#   BENCH_RAW=FILE         also keep the raw results (TSV, read by scripts/bench-links-report.py)
#   PEERSHARE_BIN=PATH     the binary (default .build/release/peershare)
#   BENCH_USER=UID:GID     the ordinary user the agents run as (default 65534:65534)
#
# Safety: all traffic stays between the two namespaces made here (10.231.18.1 and .2 on the veth
# pair); nothing listens or connects in the machine's own network namespace. Agents run with
# --no-discovery. Everything started here is stopped by its pid, and the namespaces (with the
# veth pair) are deleted, when the script ends, also on failure or Ctrl-C.
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
bench_start 5 peershare-bench-links
read -r -a LINKS <<<"${BENCH_LINKS:-100mbit:2ms 1gbit:0.2ms}"
read -r -a TOOLS <<<"${BENCH_TOOLS:-tarnc tarzstd rsync rsyncz scpC peershare}"
RATE=${BENCH_RATE-4M}
RATE_SECONDS=${BENCH_RATE_SECONDS:-14}
AGENT_OWNER=${BENCH_USER:-65534:65534}
FIRST_RUNS=1
if [ "$QUICK" = 1 ]; then
    BIG_BYTES=$((${BENCH_BIG_MIB:-128} << 20)) TREE_FILES=${BENCH_TREE_FILES:-600} PHOTO_FILES=${BENCH_PHOTO_FILES:-12}
else
    BIG_BYTES=$((${BENCH_BIG_MIB:-2048} << 20)) TREE_FILES=${BENCH_TREE_FILES:-8000} PHOTO_FILES=${BENCH_PHOTO_FILES:-200}
fi
WORKLOADS=(tree photos big)

NS_S=psbench-$$-s NS_R=psbench-$$-r
ADDR_S=10.231.18.1 ADDR_R=10.231.18.2
ON_S=(ip netns exec "$NS_S") ON_R=(ip netns exec "$NS_R")
AS_USER=(setpriv --reuid="${AGENT_OWNER%:*}" --regid="${AGENT_OWNER#*:}" --clear-groups --inh-caps=-all
    --bounding-set=-all)

[ "$(id -u)" = 0 ] || die "needs root (network namespaces and tc); the agents run as $AGENT_OWNER"
for tool in "$BIN" /usr/sbin/sshd ssh scp ssh-keygen rsync nc tar zstd /usr/bin/time python3 openssl ss pgrep \
    ip tc setpriv diff; do
    command -v "$tool" >/dev/null || die "$tool is missing (make bench-links installs what it needs)"
done
nc -h 2>&1 | grep -qi openbsd || die "nc is not netcat-openbsd"
for t in "${TOOLS[@]}"; do declare -F "run_$t" >/dev/null || die "unknown tool in BENCH_TOOLS: $t"; done

chmod 0755 "$W" # the agents' user reads the workloads and writes its homes and inboxes in here
MADE_NS=()

# Called by cleanup (bench-lib.sh) after every process is stopped.
cleanup_more() {
    local ns
    for ns in "${MADE_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}

# ---------------------------------------------------------------------------------------------
# The link: NS_S (veth ps-s, ADDR_S) <-> NS_R (veth ps-r, ADDR_R), netem on both ends' egress.

make_link() {
    ip netns add "$NS_S" && MADE_NS+=("$NS_S")
    ip netns add "$NS_R" && MADE_NS+=("$NS_R")
    ip link add ps-s netns "$NS_S" type veth peer name ps-r netns "$NS_R"
    "${ON_S[@]}" ip addr add "$ADDR_S/24" dev ps-s
    "${ON_R[@]}" ip addr add "$ADDR_R/24" dev ps-r
    local on
    for on in S R; do
        local -n pre=ON_$on
        "${pre[@]}" ip link set lo up
        "${pre[@]}" ip link set "ps-${on,,}" up
    done
}

# shape RATE DELAY: both directions limited to RATE, each with DELAY of one-way delay, by netem.
# Without netem in the kernel (CONFIG_NET_SCH_NETEM), the rate alone, by tbf, and no added delay
# (SHAPING says which; the report shows it).
shape() {
    local rate=$1 delay=$2 side dev burst
    for side in S R; do
        local -n pre=ON_$side
        dev=ps-${side,,}
        if "${pre[@]}" tc qdisc replace dev "$dev" root netem rate "$rate" delay "$delay" 2>"$W/tc.log"; then
            SHAPING="netem rate $rate delay $delay"
        else
            grep -q "qdisc kind is unknown" "$W/tc.log" || die "tc netem failed: $(cat "$W/tc.log")"
            # A burst of at least 64 KiB (one GSO packet) and about 4 ms of the rate.
            burst=$(python3 -c 'import re, sys
m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)bit", sys.argv[1])
if not m: sys.exit("the link rate must be NUMBER[k|m|g]bit")
bps = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
print(max(65536, int(bps / 8 / 250)))' "$rate") || die "cannot read the link rate $rate"
            "${pre[@]}" tc qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" latency 50ms ||
                die "tc tbf failed"
            SHAPING="tbf rate $rate burst $burst latency 50ms; no added delay: this kernel has no netem"
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# The rate limit: one send of RATE_SECONDS worth of random bytes with --limit-rate RATE; the
# rate over the whole send and over the 10 s window that starts 2 s in, from the send's progress
# events (each stamped as it arrives).

rate_check() {
    local link=$1 out=$W/rate.out rc=0 bytes
    bytes=$(python3 "$ROOT/scripts/bench-links-report.py" --bytes "$RATE" "$RATE_SECONDS") || die "cannot read BENCH_RATE=$RATE"
    keystream 00112233445566778899aabbccddeeff "$bytes" >"$SRC/rate.bin"
    agents_start
    check_paired
    warm rate.bin
    ps_on s send "$SRC/rate.bin" --to "$ADDR_R:$RECEIVER_PORT" --home "$HOME_S" --json --limit-rate "$RATE" \
        2>>"$W/send.log" | while IFS= read -r line; do printf '%s\t%s\n' "$EPOCHREALTIME" "$line"; done >"$out" ||
        rc=$?
    [ $rc = 0 ] || die "the rate-limited send exited $rc: $(grep -v '"progress"' "$out" | tail -3)"
    grep -q '"event":"done"' "$out" || die "the rate-limited send ended without a done event: $(tail -3 "$out")"
    verify peershare rate.bin "$INBOX_R"
    empty_dir "$INBOX_R"
    python3 "$ROOT/scripts/bench-links-report.py" --rate "$out" "$RATE" "$link" >>"$RESULTS"
    agents_stop
}

run_link() {
    local link=$1 rate=${1%%:*} delay=${1#*:} wl
    shape "$rate" "$delay"
    log "link $link: $SHAPING"
    printf 'link\t%s\t%s\t%s\t%s\n' "$link" "$rate" "$delay" "$SHAPING" >>"$RESULTS"
    for wl in "${WORKLOADS[@]}"; do
        bench_workload "$wl" "$link"
        rm -rf "$W/trash" && mkdir -p "$W/trash"
    done
    if [ -n "$RATE" ] && [ "$link" = "${LINKS[0]}" ]; then
        log "  $link: send --limit-rate $RATE of $RATE_SECONDS s worth of random bytes"
        rate_check "$link"
    fi
}

main() {
    bench_binary
    log "peershare: $BIN_SOURCE (built $BIN_BUILT); links: ${LINKS[*]}; runs: $RUNS; work dir $W"
    generate
    for tool in "${TOOLS[@]}"; do mkdir -p "$W/dst-$tool"; done
    mkdir -p "$W/trash"
    INBOX_S=$W/inbox-sender INBOX_R=$W/inbox-receiver
    make_link
    start_sshd
    RECEIVER_PORT=$(free_port)
    log "pairing the agents (first contact)"
    first_contact 1
    agents_stop
    local link
    for link in "${LINKS[@]}"; do run_link "$link"; done
    stop_pid "$SSHD_PID"
    {
        meta_common
        printf 'meta\tcpus\t%s\n' "$(nproc)"
        printf 'meta\tcpu_model\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
        printf 'meta\tkernel\t%s\n' "$(uname -srm)"
        printf 'meta\ttools\t%s; %s; %s; %s\n' "$(ssh -V 2>&1)" "$(rsync --version | head -n 1)" \
            "$(zstd --version)" "netcat-openbsd $(dpkg-query -W -f '${Version}' netcat-openbsd 2>/dev/null || echo '?')"
    } >>"$RESULTS"
    [ -z "${BENCH_RAW:-}" ] || cp "$RESULTS" "$BENCH_RAW"
    python3 "$ROOT/scripts/bench-links-report.py" "$RESULTS" "$OUT"
    log "wrote the Shaped links section of $OUT (total $(secs "$START_US" "$(us)") s)"
}

main "$@"
