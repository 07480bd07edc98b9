#!/usr/bin/env bash
# What an offer costs next to unfinished files, and what a resume costs against a fresh
# send (BENCHMARKS.md, "Resume and unrelated partial files"). Loopback only; one receiving
# agent (`run --no-discovery --listen 127.0.0.1`); each `send` runs its own agent, so that
# killing it (SIGKILL) cuts the transfer the way a crash does.
#
#   scripts/bench-resume.sh [BIN] [WORKDIR]
# BIN defaults to .build/release/peershare; WORKDIR (default a new directory under /tmp)
# needs about 12 GB. Prints one line per measurement.
set -euo pipefail
BIN=${1:-.build/release/peershare}
W=${2:-$(mktemp -d /tmp/bench-resume.XXXXXX)}
BIN=$(realpath "$BIN")
mkdir -p "$W/src" "$W/recv.home" "$W/send.home"
INBOX=$W/recv.inbox
RPID=""
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

us() { date +%s%6N; }
say() { printf '%s\n' "$*"; }

make_file() { # NAME MIB
    [ -f "$W/src/$1" ] || head -c "$(($2 << 20))" /dev/urandom >"$W/src/$1"
    cat "$W/src/$1" >/dev/null # warm cache: both tools read from memory
}

"$BIN" run --home "$W/recv.home" --port 0 --listen 127.0.0.1 --inbox "$INBOX" --no-discovery \
    --name bench-recv </dev/null >"$W/recv.log" 2>&1 &
RPID=$!
PORT=""
for ((i = 0; i < 300; i++)); do
    if out=$("$BIN" status --home "$W/recv.home" --json 2>/dev/null) && [[ $out =~ \"port\"[[:space:]]*:[[:space:]]*([0-9]+) ]]; then
        PORT=${BASH_REMATCH[1]}
        break
    fi
    sleep 0.1
done
[ -n "$PORT" ] || { say "the receiver did not start"; exit 1; }

send() { # OUT PATH...: a send, answering the pairing code if one is shown
    local out=$1
    shift
    "$BIN" send "$@" --to "127.0.0.1:$PORT" --home "$W/send.home" --json >"$out" 2>>"$W/send.err" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        local code
        code=$(grep '"event":"code"' "$out" | grep -o '"code":"[0-9]*"' | grep -o '[0-9]\+' || true)
        if [ -n "$code" ] && [ ! -e "$W/accept.done" ]; then
            "$BIN" accept "$code" --home "$W/recv.home" >/dev/null 2>&1 && touch "$W/accept.done"
        fi
        sleep 0.02
    done
    wait "$pid"
}

timed() { # LABEL PATH...: wall seconds of one send; the silent part is accepted→first progress
    local label=$1 out=$W/out.$$.json t0 t1
    shift
    t0=$(us)
    send "$out" "$@"
    t1=$(us)
    local done
    done=$(grep '"event":"done"' "$out")
    say "$label: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }') s ($(phases "$out")); $(grep -o '"sentBytes":[0-9]*\|"resumedBytes":[0-9]*' <<<"$done" | tr '\n' ' ')"
}

# "waiting W s, accepted→data D s": the silent wait for ACCEPT and HOLDING (the receiver's
# check), then the time until the first data (the sender's check), from the events' times.
phases() {
    local t w a p
    t() { grep "\"event\":\"$1\"" "$2" | head -1 | grep -o '"time":"[^"]*"' | sed 's/.*T\([0-9:.]*\)Z.*/\1/' |
        awk -F: '{ printf "%.3f", $1 * 3600 + $2 * 60 + $3 }'; }
    w=$(t waiting "$1") a=$(t accepted "$1") p=$(t progress "$1")
    awk -v w="$w" -v a="$a" -v p="$p" 'BEGIN { printf "waiting %.2f s", a - w; if (p != "") printf ", accepted→data %.2f s", p - a }'
}

cut_after() { # MIB PATH: a send killed once MIB were reported sent
    local mib=$1 out=$W/cut.json
    "$BIN" send "$2" --to "127.0.0.1:$PORT" --home "$W/send.home" --json >"$out" 2>>"$W/send.err" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        local sent
        sent=$(grep '"event":"progress"' "$out" | tail -1 | grep -o '"bytes":[0-9]*' | cut -d: -f2 || true)
        if [ "${sent:-0}" -ge $((mib << 20)) ]; then
            kill -9 "$pid"
            break
        fi
        sleep 0.01
    done
    wait "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        "$BIN" status --home "$W/recv.home" --json | grep -q '"transfers":\[\]' && break
        sleep 0.1
    done
}

partials() { du -sb "$INBOX/.peershare-partial" 2>/dev/null | cut -f1; }

printf 'hi' >"$W/src/tiny.txt"
make_file fresh.bin 2048
make_file cut.bin 2048
make_file junk.bin 3072

timed "pairing send, 2 bytes" "$W/src/tiny.txt"
rm -f "$INBOX/tiny.txt"
timed "2 bytes, no partial files" "$W/src/tiny.txt"
rm -f "$INBOX/tiny.txt"
for round in 1 2 3; do
    timed "fresh 2 GiB (round $round)" "$W/src/fresh.bin"
    rm -f "$INBOX/fresh.bin"
done
# Rounds 1-2 resend at once (the receiver may still be hashing what it kept), rounds 3-4
# after a pause of PAUSE seconds (default 20; the person comes back later).
for round in 1 2 3 4; do
    cut_after 1331 "$W/src/cut.bin"
    say "cut: $(partials) bytes in the partial area"
    [ "$round" -le 2 ] || sleep "${PAUSE:-20}"
    timed "resume of cut.bin (round $round$([ "$round" -le 2 ] && echo ", at once" || echo ", after ${PAUSE:-20} s"))" "$W/src/cut.bin"
    rm -f "$INBOX/cut.bin"
done
cut_after 2662 "$W/src/junk.bin"
say "unrelated: $(partials) bytes in the partial area"
for round in 1 2 3; do
    timed "2 bytes next to the unrelated partial (round $round)" "$W/src/tiny.txt"
    rm -f "$INBOX/tiny.txt"
done
timed "fresh 2 GiB next to the unrelated partial" "$W/src/fresh.bin"
rm -f "$INBOX/fresh.bin"
say "receiver log: $W/recv.log; remove $W when done"
