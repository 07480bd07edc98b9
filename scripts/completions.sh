#!/usr/bin/env bash
# Generates the shell completion scripts from a built peershare binary
# (swift-argument-parser's --generate-completion-script), so they always match its options.
#
#   scripts/completions.sh BINARY OUTDIR
#
# Writes OUTDIR/peershare.bash, OUTDIR/_peershare (zsh) and OUTDIR/peershare.fish.
# Fails if the binary cannot run or a script comes out empty.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BINARY OUTDIR" >&2
    exit 2
fi
bin=$1
out=$2

if [ ! -x "$bin" ]; then
    echo "$0: $bin is not an executable (build it first)" >&2
    exit 1
fi
mkdir -p "$out"

generate() { # shell, file
    local tmp="$out/.$2.tmp"
    if ! "$bin" --generate-completion-script "$1" > "$tmp"; then
        rm -f "$tmp"
        echo "$0: $bin --generate-completion-script $1 failed" >&2
        exit 1
    fi
    if [ ! -s "$tmp" ]; then
        rm -f "$tmp"
        echo "$0: the $1 completion script is empty" >&2
        exit 1
    fi
    # Completion files are sourced, not run: no "#!" line (lintian: bash-completion-with-hashbang).
    sed -i '1{/^#!/d}' "$tmp"
    mv -f "$tmp" "$out/$2"
}

generate bash peershare.bash
generate zsh _peershare
generate fish peershare.fish
