#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ into .build-fuzz/bin/ (git-ignored).
#
#   bash Fuzz/build.sh          build fuzz_manifest, fuzz_frame, fuzz_path, fuzz_handshake
#   bash Fuzz/build.sh seeds    also rebuild the seed generator and rewrite Fuzz/corpus/
#   FUZZ_CONFIG=debug ...       -Onone instead of -O (about half the executions per second)
#
# Recipe:
#   1. SwiftPM compiles the library targets the harnesses need (release configuration: -O keeps
#      every bounds, overflow and precondition check; the product has no assert()), instrumented
#      for libFuzzer and AddressSanitizer, in their own scratch path (.build-fuzz/spm, so the
#      shared .build lock is not held): PeershareCore (with SodiumKit and the CSodium system module) and
#      NIOEmbedded (with NIOCore and its dependencies). Only library targets are built, so
#      nothing is linked there and libFuzzer's main() does not get in the way.
#   2. swiftc compiles each Fuzz/fuzz_*.swift with -sanitize=fuzzer,address and links it with
#      those object files and -lsodium. fuzz_frame also compiles the product's
#      Sources/PeershareTransfer/Transport/FrameAssembler.swift, unchanged, into the harness module (its
#      types are package-internal, and the rest of PeershareTransfer needs NIOPosix, ... which the
#      frame assembler does not).
# A first build takes several minutes on 2 cores (NIOCore dominates); later ones seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
OUT=.build-fuzz
SCRATCH=$OUT/spm
BIN=$OUT/bin
SAN=-sanitize=fuzzer,address
CONFIG=${FUZZ_CONFIG:-release}
case $CONFIG in
    release) OPT=-O ;;
    debug) OPT=-Onone ;;
    *) echo "build.sh: FUZZ_CONFIG is release or debug" >&2; exit 2 ;;
esac
mkdir -p "$BIN"

# run LOGNAME COMMAND...: runs the command with its output in $OUT/LOGNAME.log; prints the
# output without the noise (progress lines, and ld.gold's "Cannot export local symbol"
# warning for each ASan helper, which is harmless); fails when the command fails.
run() {
    local log=$OUT/$1.log status=0; shift
    "$@" >"$log" 2>&1 || status=$?
    grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Planning)|Cannot export local symbol' "$log" || true
    if [ "$status" -ne 0 ]; then echo "build.sh: failed ($status), full log: $log" >&2; exit "$status"; fi
}

# `swift build` honours only one --target per call.
for target in PeershareCore NIOEmbedded; do
    echo "== swift build -c $CONFIG --target $target ($SAN)"
    run "spm-$target" "$SWIFT" build -c "$CONFIG" --scratch-path "$SCRATCH" --target "$target" -Xswiftc "$SAN" -Xswiftc -g
done

LIBS=$(cd "$SCRATCH/$CONFIG" && pwd -P)

# Object files: SodiumKit + PeershareCore, and every other target built in this scratch path
# (only the dependencies of NIOEmbedded: NIOCore, NIOConcurrencyHelpers, Atomics, DequeModule...).
# A Swift target's objects are the ones its output-file-map.json names (not every *.o in the
# folder: a source file removed since an earlier build leaves its object behind); a C target's
# are its *.c.o files.
target_objects() { # DIR: prints the target's object files, one per line
    local dir=$1
    if [ -f "$dir/output-file-map.json" ]; then
        grep -o '"object": *"[^"]*"' "$dir/output-file-map.json" | sed 's/^"object": *"//; s/"$//' \
            | while IFS= read -r object; do [ -f "$object" ] && printf '%s\n' "$object"; done
    fi
    find "$dir" -name '*.c.o'
}
core_objects=()
nio_objects=()
for dir in "$LIBS"/*.build; do
    name=$(basename "$dir" .build)
    while IFS= read -r object; do
        case "$name" in
            SodiumKit|PeershareCore) core_objects+=("$object") ;;
            Peershare*|peershare*|CPeershareSys) ;;
            *) nio_objects+=("$object") ;;
        esac
    done < <(target_objects "$dir")
done
if [ "${#core_objects[@]}" -eq 0 ] || [ "${#nio_objects[@]}" -eq 0 ]; then
    echo "build.sh: no object files found under $LIBS" >&2
    exit 1
fi

# Clang module maps of the C targets (NIO's shims) for clients of NIOCore.
module_maps=()
while IFS= read -r -d '' map; do
    module_maps+=(-Xcc "-fmodule-map-file=$map")
done < <(find "$LIBS" -maxdepth 2 -name module.modulemap -print0; \
         find "$SCRATCH/checkouts" -path '*/include/module.modulemap' -print0)

common=(-parse-as-library -swift-version 6 -package-name peershare "$OPT" -g -I "$LIBS/Modules" -I Sources/CSodium "${module_maps[@]}")

link() { # link NAME SOURCES... -- OBJECTS...
    local name=$1; shift
    local sources=()
    while [ "$1" != -- ]; do sources+=("$1"); shift; done
    shift
    echo "== $name"
    run "$name" "$SWIFTC" "${common[@]}" "$SAN" -module-name "$name" "${sources[@]}" "$@" -lsodium -o "$BIN/$name"
}

link fuzz_manifest Fuzz/fuzz_manifest.swift -- "${core_objects[@]}"
link fuzz_path Fuzz/fuzz_path.swift -- "${core_objects[@]}"
link fuzz_handshake Fuzz/fuzz_handshake.swift -- "${core_objects[@]}"
link fuzz_frame Fuzz/fuzz_frame.swift Sources/PeershareTransfer/Transport/FrameAssembler.swift -- "${core_objects[@]}" "${nio_objects[@]}"

if [ "${1:-}" = seeds ]; then
    # The generator links the same instrumented objects with ASan only: the ASan runtime
    # provides the coverage callbacks, and there is no libFuzzer main().
    echo "== gen_corpus"
    run gen_corpus "$SWIFTC" "${common[@]}" -sanitize=address -module-name gen_corpus Fuzz/gen_corpus.swift \
        "${core_objects[@]}" -lsodium -o "$BIN/gen_corpus"
    rm -rf Fuzz/corpus
    "$BIN/gen_corpus" Fuzz/corpus
    for dir in Fuzz/corpus/*/; do echo "$(basename "$dir"): $(ls "$dir" | wc -l) seeds"; done
fi
echo "Fuzz targets in $BIN"
