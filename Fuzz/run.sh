#!/usr/bin/env bash
# Runs each libFuzzer target built by Fuzz/build.sh for a bounded time.
#
#   bash Fuzz/run.sh [TARGET...]        default: manifest frame path handshake
#   FUZZ_SECONDS=120 bash Fuzz/run.sh   seconds per target (default 60)
#   FUZZ_ARGS="-jobs=2" ...             extra libFuzzer flags
#
# For each target the committed seeds (Fuzz/corpus/TARGET) are copied to a scratch corpus
# (.build-fuzz/corpus/TARGET, which keeps growing across runs), the fuzzer runs with
# -max_total_time, and its log goes to .build-fuzz/logs/TARGET.log. A crashing input is
# written to .build-fuzz/artifacts/TARGET/ (libFuzzer stops at the first one). Prints the
# executions and crashes per target; exits 1 if any target crashed or failed to run.
#
# SWIFT_BACKTRACE=enable=no: Swift's crash backtracer hangs under ASan after the first crash.
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
OUT=.build-fuzz
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(manifest frame path handshake)
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

failed=0
summary=()
for target in "${TARGETS[@]}"; do
    binary=$OUT/bin/fuzz_$target
    if [ ! -x "$binary" ]; then
        echo "run.sh: $binary is missing: run Fuzz/build.sh first" >&2
        exit 2
    fi
    corpus=$OUT/corpus/$target
    artifacts=$OUT/artifacts/$target
    log=$OUT/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$OUT/logs"
    cp -n Fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    before=$(find "$artifacts" -type f | wc -l)
    echo "== fuzz_$target: ${SECONDS_PER_TARGET}s, corpus $corpus ($(ls "$corpus" | wc -l) inputs)"
    # shellcheck disable=SC2086 # FUZZ_ARGS is split on purpose
    "$binary" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
    status=$?
    executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    [ -n "$executions" ] || executions=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    line="fuzz_$target: executions ${executions:-?}, crashes $crashes, exit $status (${coverage:-no coverage line})"
    echo "$line"
    summary+=("$line")
    if [ "$crashes" -gt 0 ] || [ "$status" -ne 0 ]; then
        failed=1
        echo "---- fuzz_$target failed; the report (full log: $log):"
        grep -nE 'ERROR: |Fatal error|property violated|SUMMARY|#[0-9]+ 0x' "$log" | head -25
        ls -t "$artifacts" | head -n "$crashes" | while IFS= read -r name; do
            echo "input $artifacts/$name (hex): $(od -An -tx1 -v "$artifacts/$name" | tr -d ' \n' | head -c 2000)"
        done
    fi
done

echo "== fuzz summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
