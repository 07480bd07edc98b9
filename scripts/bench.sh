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
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
bench_start 7 peershare-bench
LAT_RUNS=${BENCH_LATENCY_RUNS:-11}
FIRST_RUNS=${BENCH_FIRST_RUNS:-3}

if [ "$QUICK" = 1 ]; then
    BIG_BYTES=$((128 << 20)) TREE_FILES=600 PHOTO_FILES=12
else
    BIG_BYTES=$((2 << 30)) TREE_FILES=8000 PHOTO_FILES=200
fi
TOOLS=(tarnc scp rsync peershare)
WORKLOADS=(big tree photos)

for tool in "$BIN" /usr/sbin/sshd ssh scp ssh-keygen rsync nc tar /usr/bin/time python3 openssl ss pgrep hyperfine diff; do
    command -v "$tool" >/dev/null || die "$tool is missing (make bench installs openssh-server openssh-client rsync netcat-openbsd hyperfine time; python3, openssl, iproute2 and procps are needed too)"
done
nc -h 2>&1 | grep -qi openbsd || die "nc is not netcat-openbsd"

# CPU pressure (PSI): the share of time some runnable task waited for a CPU; "?" if unavailable.
psi_cpu() { sed -n 's/^some avg10=\([^ ]*\) avg60=\([^ ]*\) avg300=\([^ ]*\).*/\1% \/ \2% \/ \3%/p' /proc/pressure/cpu 2>/dev/null || echo "?"; }
PSI_START=$(psi_cpu)

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
    bench_binary
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

    local wl
    for wl in "${WORKLOADS[@]}"; do bench_workload "$wl"; done
    stop_pid "$SSHD_PID"

    {
        meta_common
        printf 'meta\tlatency_runs\t%s\n' "$LAT_RUNS"
        printf 'meta\tfirst_runs\t%s\n' "$FIRST_RUNS"
        printf 'meta\tpsi_start\t%s\n' "$PSI_START"
        printf 'meta\tpsi_end\t%s\n' "$(psi_cpu)"
        printf 'meta\tssh_kex\t%s\n' "$SSH_KEX"
        printf 'meta\tssh_version\t%s\n' "$(ssh -V 2>&1)"
        printf 'meta\trsync_version\t%s\n' "$(rsync --version | head -n 1)"
        printf 'meta\ttar_version\t%s\n' "$(tar --version | head -n 1)"
        printf 'meta\tnc_version\t%s\n' "netcat-openbsd $(dpkg-query -W -f '${Version}' netcat-openbsd 2>/dev/null || echo '?')"
        printf 'meta\ttmpdir\t%s\n' "$TMPBASE"
        printf 'meta\tfs\t%s\n' "$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 }')"
    } >>"$RESULTS"
    [ -z "${BENCH_RAW:-}" ] || cp "$RESULTS" "$BENCH_RAW"
    python3 "$ROOT/scripts/bench-report.py" "$RESULTS" "$OUT"
    log "wrote $OUT (total $(secs "$START_US" "$(us)") s)"
}

main "$@"
