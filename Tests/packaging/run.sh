#!/usr/bin/env bash
# Packaging tests: the man page against the CLI's help, make install/uninstall, the .deb,
# the systemd user unit and the shell completions.
#
#   make package-test                  (builds the static release binary first)
#   bash Tests/packaging/run.sh        (uses .build-static/release/peershare, which must exist)
#
# Environment: PEERSHARE_PACKAGE_BIN (the binary whose help is checked), PEERSHARE_MANPAGE
# (the man page to check, default Man/peershare.1), MAKE.
#
# Prints PASS/FAIL/SKIP lines and ends with "N passed, M failed"; exits 1 if anything failed.
# Agents started here listen on 127.0.0.1 only, without mDNS, with their own --home, and
# are stopped by their pid.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
MAKE=${MAKE:-make}
BIN=${PEERSHARE_PACKAGE_BIN:-$ROOT/.build-static/release/peershare}
MANPAGE=${PEERSHARE_MANPAGE:-$ROOT/Man/peershare.1}
export LC_ALL=C.UTF-8
# The machine's own network namespace: no mDNS from anything started here.
export PEERSHARE_DISCOVERY=off
# make, free of what a calling make or the environment set (PREFIX, DESTDIR, INSTALL_BIN),
# and with the static binary taken as built: these tests check the binary whose help they
# read, even if a source file changes meanwhile (make package-test builds it first).
mk() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u PREFIX -u DESTDIR -u INSTALL_BIN \
        "$MAKE" -C "$ROOT" --no-print-directory -o .build-static/release/peershare "$@"
}

passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# Under CI (CI=true) nothing may be skipped: a check that cannot run there is a failure.
skip() {
    if [ "${CI:-}" = true ]; then
        fail "$1" "cannot run under CI: $2"
        return
    fi
    echo "SKIP $1: $2"
    skipped=$((skipped + 1))
}
note() { echo "  $*"; }

TMP=$(mktemp -d /tmp/peershare-package-test.XXXXXX)
PIDS=()
# The packaged agent and CLI run as an ordinary user, as the user unit runs them; only the
# installing steps need root. As root, they drop to PEERSHARE_TEST_UID (default 65534) with
# setpriv; the homes they use are made theirs.
TEST_UID=${PEERSHARE_TEST_UID:-65534}
TEST_GID=${PEERSHARE_TEST_GID:-65534}
AS_USER=()
if [ "$(id -u)" = 0 ]; then
    AS_USER=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups --inh-caps=-all)
    chmod 0755 "$TMP"
fi
user_home() { # DIR: creates DIR for the user the agents run as
    mkdir -p "$1"
    if [ "$(id -u)" = 0 ]; then chown "$TEST_UID:$TEST_GID" "$1"; fi
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null && sleep 0.5
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
}

if [ ! -x "$BIN" ]; then
    fail binary "$BIN is missing (run make package-test, which builds it)"
    finish
fi
VERSION=$("$BIN" --version 2>/dev/null)
ARCH=$(dpkg --print-architecture)

# =============================================================================================
# The man page documents every subcommand and every option of the CLI's help
# =============================================================================================

# Subcommands listed by `peershare --help` ("run (default)" counts as run).
help_subcommands() {
    "$BIN" --help | awk '
        /^SUBCOMMANDS:/ { s = 1; next }
        s && /^[^ ]/ { s = 0 }
        s && /^  [a-z][a-z0-9-]*( |$)/ { print $1 }'
}

# Options in the OPTIONS section of a help text on stdin: "-v, --verbose", "--home <DIR>",
# "--flag/--no-flag"; one per line.
help_options() {
    awk '
        /^OPTIONS:/ { s = 1; next }
        s && /^[^ ]/ { s = 0 }
        s && /^  -/ {
            line = substr($0, 3)
            sub(/  .*/, "", line)          # the description starts after two spaces
            n = split(line, part, /[ ,\/]+/)
            for (i = 1; i <= n; i++) {
                o = part[i]; sub(/=.*/, "", o)
                if (o ~ /^--?[A-Za-z0-9?]/) print o
            }
        }'
}

# The man page as text, one line per paragraph (wide), without overstriking.
render_man() {
    mandoc -T ascii -O width=1000 "$1" 2>/dev/null | col -bx
}

# Splits the rendered page into the places an option may be documented:
#   $1/common         DESCRIPTION up to the first subsection (options every subcommand takes)
#   $1/synopsis       SYNOPSIS
#   $1/sub.NAME       the subsection "peershare NAME ..."
split_man() { # rendered-file outdir
    mkdir -p "$2"
    awk -v dir="$2" '
        /^[A-Z][A-Z ]*$/ { section = $0; sub_ = ""; next }
        /^   peershare [a-z]/ && section == "DESCRIPTION" { sub_ = $2; print > (dir "/sub." sub_); next }
        section == "SYNOPSIS" { print > (dir "/synopsis") }
        section == "DESCRIPTION" && sub_ == "" { print > (dir "/common") }
        sub_ != "" && section == "DESCRIPTION" { print > (dir "/sub." sub_) }
    ' "$1"
    touch "$2/common" "$2/synopsis"
}

re_quote() { sed 's/[][\.*^$?+(){}|/]/\\&/g' <<< "$1"; }

has_token() { # file token: the token, not as part of a longer option or word
    [ -f "$1" ] && grep -qE -- "(^|[^[:alnum:]-])$(re_quote "$2")([^[:alnum:]-]|\$)" "$1"
}

# Checks a man page against the help; prints one line per problem, returns their count.
check_man() { # manpage workdir
    local man=$1 dir=$2 problems=0 sub opt usage
    rm -rf "$dir"; mkdir -p "$dir"
    render_man "$man" > "$dir/page"
    if [ ! -s "$dir/page" ]; then echo "the page does not render"; return 1; fi
    split_man "$dir/page" "$dir"
    local subs; subs=$(help_subcommands)
    if [ -z "$subs" ]; then echo "no subcommands parsed from peershare --help"; return 1; fi

    "$BIN" --help | help_options > "$dir/opts.root"
    if [ ! -s "$dir/opts.root" ]; then echo "no options parsed from peershare --help"; problems=$((problems + 1)); fi
    while read -r opt; do
        has_token "$dir/common" "$opt" || { echo "option $opt (peershare --help) is not in DESCRIPTION's list of common options"; problems=$((problems + 1)); }
    done < "$dir/opts.root"

    for sub in $subs; do
        has_token "$dir/synopsis" "$sub" || { echo "subcommand $sub is not in SYNOPSIS"; problems=$((problems + 1)); }
        [ -f "$dir/sub.$sub" ] || { echo "subcommand $sub has no subsection 'peershare $sub'"; problems=$((problems + 1)); }
        "$BIN" "$sub" --help > "$dir/help.$sub" 2>&1
        usage=$(grep -m1 '^USAGE:' "$dir/help.$sub")
        if [[ $usage != "USAGE: peershare $sub"* ]]; then
            echo "peershare $sub --help does not show $sub's own help (got: ${usage:-nothing})"
            problems=$((problems + 1)); continue
        fi
        help_options < "$dir/help.$sub" > "$dir/opts.$sub"
        if [ ! -s "$dir/opts.$sub" ]; then echo "no options parsed from peershare $sub --help"; problems=$((problems + 1)); fi
        while read -r opt; do
            if has_token "$dir/sub.$sub" "$opt" || has_token "$dir/common" "$opt"; then continue; fi
            if has_token "$dir/page" "$opt"; then
                echo "option $opt of $sub is in the page, but neither under 'peershare $sub' nor in the common options"
            else
                echo "option $opt of $sub is not in the page"
            fi
            problems=$((problems + 1))
        done < "$dir/opts.$sub"
    done
    return "$problems"
}

t="man-documents-cli"
if out=$(check_man "$MANPAGE" "$TMP/man"); then
    n_sub=$(help_subcommands | wc -l)
    n_opt=$(cat "$TMP"/man/opts.* | sort -u | wc -l)
    pass "$t ($n_sub subcommands, $n_opt distinct options)"
else
    fail "$t" "$(wc -l <<< "$out") problem(s) with $MANPAGE:"
    while read -r line; do note "$line"; done <<< "$out"
fi

# The check itself must catch a missing option and a missing subcommand: run it on copies
# of the page with one option, then one subcommand, renamed away.
victim=$(grep -vxF -f "$TMP/man/opts.root" "$TMP/man/opts.run" 2>/dev/null | grep -- '^--' | tail -1)
t="man-check-catches-missing-option"
if [ -z "$victim" ]; then
    fail "$t" "no option of run to remove"
else
    name=${victim#--}
    sed -e "s/$name/zz-removed/g" -e "s/$(sed 's/-/\\\\-/g' <<< "$name")/zz-removed/g" "$MANPAGE" > "$TMP/mutant-option.1"
    if out=$(check_man "$TMP/mutant-option.1" "$TMP/man-mutant1"); then
        fail "$t" "a page without $victim passed"
    elif grep -q -- "option $victim of run" <<< "$out"; then
        pass "$t ($victim)"
    else
        fail "$t" "a page without $victim failed for other reasons: $(head -1 <<< "$out")"
    fi
fi
t="man-check-catches-missing-subcommand"
victim=$(help_subcommands | tail -1)
sed -E "s/(^|[^[:alnum:]])$victim([^[:alnum:]]|\$)/\1zzremoved\2/g" "$MANPAGE" > "$TMP/mutant-sub.1"
if out=$(check_man "$TMP/mutant-sub.1" "$TMP/man-mutant2"); then
    fail "$t" "a page without $victim passed"
elif grep -q -- "subcommand $victim " <<< "$out"; then
    pass "$t ($victim)"
else
    fail "$t" "a page without $victim failed for other reasons: $(head -1 <<< "$out")"
fi

t="man-mandoc-lint"
if out=$(mandoc -T lint -W warning "$MANPAGE" 2>&1) && [ -z "$out" ]; then
    pass "$t"
else
    fail "$t" "mandoc -T lint -W warning: ${out:-exit status not 0}"
fi

t="man-renders"
if MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings -l "$MANPAGE" > "$TMP/man.txt" 2> "$TMP/man.err"; then
    width=$(col -bx < "$TMP/man.txt" | wc -L)
    if [ -s "$TMP/man.err" ]; then
        fail "$t" "man -l printed: $(head -3 "$TMP/man.err" | tr '\n' ' ')"
    elif ! grep -q '^PEERSHARE(1)' "$TMP/man.txt" || ! grep -q '^SYNOPSIS' "$TMP/man.txt"; then
        fail "$t" "no PEERSHARE(1) header or SYNOPSIS in man -l output"
    elif [ "$width" -gt 80 ]; then
        fail "$t" "lines up to $width columns at MANWIDTH=80"
    else
        pass "$t (MANWIDTH=80, $(wc -l < "$TMP/man.txt") lines, widest $width)"
    fi
else
    fail "$t" "man -l failed: $(head -3 "$TMP/man.err" | tr '\n' ' ')"
fi

# =============================================================================================
# make install / make uninstall
# =============================================================================================

installed_list() { # prefix without leading slash
    printf '%s\n' "$1/bin/peershare" "$1/lib/systemd/user/peershare.service" \
        "$1/share/bash-completion/completions/peershare" "$1/share/fish/vendor_completions.d/peershare.fish" \
        "$1/share/man/man1/peershare.1.gz" "$1/share/zsh/site-functions/_peershare" \
        "$1/libexec/peershare/send-dialog" "$1/share/nemo/actions/peershare-send.nemo_action" \
        "$1/share/file-manager/actions/peershare-send.desktop" "$1/share/kio/servicemenus/peershare-send.desktop" | LC_ALL=C sort
}
tree_files() { (cd "$1" && find . \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort); }

t="install-runs-no-apt"
if dry=$(mk -s -n install DESTDIR="$TMP/dry" PREFIX=/usr 2>&1) && ! grep -qE 'apt-get|dpkg -s' <<< "$dry"; then
    pass "$t (make -n install: no deps, no apt-get)"
else
    fail "$t" "make -n install would run apt-get or dpkg -s (or failed): $(grep -m1 -E 'apt|dpkg|rror' <<< "$dry")"
fi

dest=$TMP/dest
t="install-files"
if mk -s install DESTDIR="$dest" PREFIX=/usr > "$TMP/install.log" 2>&1; then
    if diff <(installed_list usr) <(tree_files "$dest") > "$TMP/diff"; then
        pass "$t ($(installed_list usr | tr '\n' ' '))"
    else
        fail "$t" "installed files differ from the expected list: $(grep '^[<>]' "$TMP/diff" | tr '\n' ' ')"
    fi
    # shellcheck disable=SC2046 # the list has no spaces
    modes=$(cd "$dest" && stat -c '%a %n' $(installed_list usr) 2>&1)
    t="install-modes"
    if [ "$(grep -c '^755 usr/bin/peershare$' <<< "$modes")" = 1 ] && [ "$(grep -c '^755 usr/libexec/peershare/send-dialog$' <<< "$modes")" = 1 ] &&
        [ "$(grep -c '^644 ' <<< "$modes")" = 8 ]; then
        pass "$t (binary and send-dialog 755, the rest 644)"
    else
        fail "$t" "$(tr '\n' ' ' <<< "$modes")"
    fi
    t="install-man-gzip"
    gz=$dest/usr/share/man/man1/peershare.1.gz
    # gzip -9n: no file name (FLG bit 3) and no time stamp (MTIME 0) in the header.
    header=$(od -An -tx1 -N8 "$gz" | tr -d ' \n')
    if ! cmp -s <(gzip -dc "$gz") "$ROOT/Man/peershare.1"; then
        fail "$t" "the installed page is not Man/peershare.1"
    elif [ "${header:0:6}" != 1f8b08 ] || (( 0x${header:6:2} & 0x08 )) || [ "${header:8:8}" != 00000000 ]; then
        fail "$t" "gzip header $header has a name or a time stamp (want gzip -n)"
    else
        pass "$t (same text, gzip -n header)"
    fi
    t="install-unit-path"
    if grep -qx 'ExecStart=/usr/bin/peershare run' "$dest/usr/lib/systemd/user/peershare.service" &&
        cmp -s "$dest/usr/lib/systemd/user/peershare.service" Packaging/peershare.service; then
        pass "$t (PREFIX=/usr gives Packaging/peershare.service exactly)"
    else
        fail "$t" "the unit made from peershare.service.in for PREFIX=/usr differs from Packaging/peershare.service: $(diff "$dest/usr/lib/systemd/user/peershare.service" Packaging/peershare.service | head -4 | tr '\n' ' ')"
    fi
    t="install-file-manager-actions"
    # Nemo, Caja and Dolphin run the installed send-dialog, which runs the installed binary.
    if [ "$(grep -l 'Exec=/usr/libexec/peershare/send-dialog %F' "$dest/usr/share/nemo/actions/peershare-send.nemo_action" \
            "$dest/usr/share/file-manager/actions/peershare-send.desktop" "$dest/usr/share/kio/servicemenus/peershare-send.desktop" | wc -l)" = 3 ] &&
        grep -qx 'peershare=/usr/bin/peershare' "$dest/usr/libexec/peershare/send-dialog" && sh -n "$dest/usr/libexec/peershare/send-dialog"; then
        pass "$t (Nemo, Caja, Dolphin → /usr/libexec/peershare/send-dialog → /usr/bin/peershare)"
    else
        fail "$t" "the actions or send-dialog do not point at the installed files"
    fi
    t="install-binary"
    if cmp -s "$dest/usr/bin/peershare" "$BIN"; then pass "$t (the static release build)"; else fail "$t" "usr/bin/peershare is not $BIN"; fi

    t="uninstall-leaves-no-files"
    if mk -s uninstall DESTDIR="$dest" PREFIX=/usr > "$TMP/uninstall.log" 2>&1; then
        left=$(tree_files "$dest")
        if [ -z "$left" ]; then pass "$t"; else fail "$t" "left: $(tr '\n' ' ' <<< "$left")"; fi
    else
        fail "$t" "make uninstall failed: $(tail -3 "$TMP/uninstall.log" | tr '\n' ' ')"
    fi
else
    fail "$t" "make install DESTDIR=$dest PREFIX=/usr failed: $(tail -5 "$TMP/install.log" | tr '\n' ' ')"
fi

t="install-default-prefix"
dest2=$TMP/dest-local
if mk -s install DESTDIR="$dest2" > "$TMP/install2.log" 2>&1 &&
    diff -q <(installed_list usr/local) <(tree_files "$dest2") > /dev/null &&
    grep -qx 'ExecStart=/usr/local/bin/peershare run' "$dest2/usr/local/lib/systemd/user/peershare.service" &&
    mk -s uninstall DESTDIR="$dest2" > /dev/null 2>&1 && [ -z "$(tree_files "$dest2")" ]; then
    pass "$t (/usr/local, ExecStart=/usr/local/bin/peershare run, uninstall clean)"
else
    fail "$t" "install/uninstall with the default PREFIX: $(tail -3 "$TMP/install2.log" | tr '\n' ' ') $(tree_files "$dest2" 2>/dev/null | tr '\n' ' ')"
fi

# =============================================================================================
# The .deb
# =============================================================================================

deb=$ROOT/Packaging/peershare_${VERSION}_${ARCH}.deb
t="deb-builds"
if mk -s deb > "$TMP/deb.log" 2>&1 && [ -f "$deb" ]; then
    pass "$t (Packaging/$(basename "$deb"), $(du -h "$deb" | cut -f1))"
else
    fail "$t" "make deb did not produce $deb: $(tail -5 "$TMP/deb.log" | tr '\n' ' ')"
    deb=""
fi

if [ -n "$deb" ]; then
    field() { dpkg-deb -f "$deb" "$1"; }
    depends=$(field Depends)
    note "Depends: $depends"
    t="deb-control"
    problems=()
    [ "$(field Package)" = peershare ] || problems+=("Package=$(field Package)")
    [ "$(field Version)" = "$VERSION" ] || problems+=("Version=$(field Version), peershare --version says $VERSION")
    [ "$(field Architecture)" = "$ARCH" ] || problems+=("Architecture=$(field Architecture)")
    [ "$(field Section)" = net ] || problems+=("Section=$(field Section)")
    [ "$(field Priority)" = optional ] || problems+=("Priority=$(field Priority)")
    [ -n "$(field Maintainer)" ] || problems+=("no Maintainer")
    [ -n "$(field Description)" ] || problems+=("no Description")
    if [ ${#problems[@]} -eq 0 ]; then pass "$t"; else fail "$t" "${problems[*]}"; fi

    t="deb-depends"
    missing=()
    for p in libsodium23 libavahi-client3 libavahi-core7 libc6; do
        grep -qE "(^|, )$(re_quote "$p")( |,|\$)" <<< "$depends" || missing+=("$p")
    done
    if grep -qiE 'swift|foundation' <<< "$depends"; then
        fail "$t" "Depends names the Swift runtime: $depends"
    elif [ ${#missing[@]} -gt 0 ]; then
        fail "$t" "Depends lacks ${missing[*]}: $depends"
    else
        pass "$t (libsodium23, libavahi-client3, libavahi-core7 (opened at run time), libc6; nothing from Swift)"
    fi

    t="deb-recommends"
    if grep -qE '(^|, )avahi-daemon( |,|$)' <<< "$(field Recommends)"; then pass "$t (avahi-daemon)"; else fail "$t" "Recommends: $(field Recommends)"; fi

    # What the package contains, and who owns it.
    t="deb-contents"
    listing=$(dpkg-deb -c "$deb")
    files=$(awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' <<< "$listing" | LC_ALL=C sort)
    owners=$(awk '{ print $2 }' <<< "$listing" | sort -u | tr '\n' ' ')
    if [ "$files" != "$(installed_list usr)" ]; then
        fail "$t" "files differ: $(diff <(installed_list usr) - <<< "$files" | grep '^[<>]' | tr '\n' ' ')"
    elif [ "$owners" != "root/root " ]; then
        fail "$t" "owners: $owners"
    else
        pass "$t (10 files, all root/root)"
    fi

    # Run it from an extracted root, with nothing of the Swift toolchain reachable.
    x=$TMP/x
    dpkg -x "$deb" "$x"
    xbin=$x/usr/bin/peershare
    t="deb-runs-without-toolchain"
    got=$(env -i PATH=/usr/bin:/bin "$xbin" --version 2>&1)
    libs=$(env -i PATH=/usr/bin:/bin ldd "$xbin" 2>&1)
    if [ "$got" != "$VERSION" ]; then
        fail "$t" "peershare --version from the extracted package said: $got"
    elif grep -qE 'libswift|libFoundation|libdispatch|/opt/|not found' <<< "$libs"; then
        fail "$t" "ldd: $(grep -E 'libswift|libFoundation|libdispatch|/opt/|not found' <<< "$libs" | tr '\n' ' ')"
    else
        pass "$t (--version $got; ldd: $(awk '$2 == "=>" { print $1 }' <<< "$libs" | tr '\n' ' '))"
    fi
    t="deb-no-toolchain-paths"
    if readelf -d "$xbin" | grep -E 'RPATH|RUNPATH' | grep -q '/opt/'; then
        fail "$t" "$(readelf -d "$xbin" | grep -E 'RPATH|RUNPATH')"
    else
        pass "$t (no /opt RUNPATH)"
    fi

    # Every library the binary needs directly comes from a package named in Depends.
    t="deb-depends-complete"
    problems=()
    while read -r lib; do
        path=$(awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 } $1 ~ "/"l"$" { print $1 }' <<< "$libs" | head -1)
        pkg=""
        for c in "$path" "$(readlink -f "$path")" "/usr$path"; do
            pkg=$(dpkg -S "$c" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
        done
        if [ -z "$pkg" ]; then problems+=("$lib: no package"); continue; fi
        grep -qE "(^|, )$(re_quote "$pkg")( |,|\$)" <<< "$depends" || problems+=("$lib ($pkg)")
    done < <(objdump -p "$xbin" | awk '$1 == "NEEDED" { print $2 }')
    if [ ${#problems[@]} -eq 0 ]; then pass "$t (every NEEDED library's package is in Depends)"; else fail "$t" "not covered: ${problems[*]}"; fi

    # The packaged binary runs headless as the user unit runs it (standard input /dev/null,
    # a minimal environment), serves inbox/accept from another process, and stops on SIGTERM
    # well within the unit's TimeoutStopSec.
    wait_for() { # file regex seconds
        local i
        for ((i = 0; i < $3 * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
        return 1
    }
    start_agent() { # name home log; sets AGENT_PID
        user_home "$2"
        "${AS_USER[@]}" env -i PATH=/usr/bin:/bin HOME="$2" "$xbin" run --home "$2" --name "$1" --inbox "$2/inbox" \
            --no-discovery --listen 127.0.0.1 --port 0 < /dev/null > "$3" 2>&1 &
        AGENT_PID=$!
        PIDS+=("$AGENT_PID")
    }
    ps_() { "${AS_USER[@]}" env -i PATH=/usr/bin:/bin "$xbin" "$@"; }
    t="deb-agent-headless"
    rh=$TMP/recv sh=$TMP/send
    start_agent recv "$rh" "$TMP/recv.log"; rpid=$AGENT_PID
    start_agent send "$sh" "$TMP/send.log"; spid=$AGENT_PID
    if ! wait_for "$TMP/recv.log" 'listening on port [0-9]+' 20 || ! wait_for "$TMP/send.log" 'listening on port [0-9]+' 20; then
        fail "$t" "the agents did not start: $(tail -3 "$TMP/recv.log" "$TMP/send.log" | tr '\n' ' ')"
    else
        rport=$(grep -oE 'listening on port [0-9]+' "$TMP/recv.log" | grep -oE '[0-9]+$')
        mkdir -p "$TMP/payload/dir"
        head -c 300000 /dev/urandom > "$TMP/payload/dir/a.bin"
        echo hello > "$TMP/payload/dir/b.txt"
        "${AS_USER[@]}" env -i PATH=/usr/bin:/bin HOME="$sh" "$xbin" send "$TMP/payload/dir" --to "127.0.0.1:$rport" --json --home "$sh" \
            < /dev/null > "$TMP/sendout.log" 2>&1 &
        sendpid=$!
        PIDS+=("$sendpid")
        code=""
        if wait_for "$TMP/sendout.log" '"code" *: *"[0-9 ]+"' 20; then
            code=$(grep -oE '"code" *: *"[0-9 ]+"' "$TMP/sendout.log" | head -1 | grep -oE '[0-9 ]+"$' | tr -d ' "')
        fi
        offers=$(ps_ inbox --home "$rh" 2>&1)
        note "peershare inbox: $(head -1 <<< "$offers")"
        if [ -z "$code" ]; then
            fail "$t" "no pairing code from send --json: $(head -c 300 "$TMP/sendout.log")"
        elif ! grep -q 'from "send"' <<< "$offers"; then
            fail "$t" "peershare inbox does not show the offer: $offers"
        elif ! acc=$(ps_ accept "$code" --home "$rh" 2>&1); then
            fail "$t" "peershare accept $code failed: $acc"
        else
            for _ in $(seq 300); do kill -0 "$sendpid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$sendpid" 2>/dev/null; then
                kill -TERM "$sendpid"; src="still running after 30 s"
            else
                wait "$sendpid"; src=$?
            fi
            if [ "$src" != 0 ]; then
                fail "$t" "send exited $src: $(tail -3 "$TMP/sendout.log" | tr '\n' ' ')"
            elif ! diff -r "$TMP/payload/dir" "$rh/inbox/dir" > /dev/null 2>&1; then
                fail "$t" "the received folder differs from the sent one"
            else
                pass "$t (stdin /dev/null; offer seen with inbox, approved with accept CODE, folder received intact)"
            fi
        fi
    fi
    t="deb-agent-unprivileged"
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$rpid/status" 2>/dev/null)
    caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$rpid/status" 2>/dev/null)
    want=$(id -u)
    [ "$want" = 0 ] && want=$TEST_UID
    if [ "$uid" = "$want" ] && [ "$uid" != 0 ] && [ "$caps" = 0000000000000000 ]; then
        pass "$t (the agent ran as uid $uid with no capabilities)"
    else
        fail "$t" "the agent ran as uid '${uid:-?}' with capabilities '${caps:-?}', not as uid $want with none"
    fi
    t="deb-agent-sigterm"
    for pid in "$rpid" "$spid"; do kill -TERM "$pid" 2>/dev/null; done
    start=$SECONDS stopped=1
    for pid in "$rpid" "$spid"; do
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then stopped=0; else wait "$pid"; rc=$?; [ "$rc" = 0 ] || stopped="exit $rc"; fi
    done
    if [ "$stopped" = 1 ]; then
        pass "$t (both agents exited 0 in $((SECONDS - start)) s, under TimeoutStopSec=15)"
    elif [ "$stopped" = 0 ]; then
        fail "$t" "an agent was still running 15 s after SIGTERM"
    else
        fail "$t" "an agent ended with $stopped after SIGTERM: $(tail -2 "$TMP/recv.log" | tr '\n' ' ')"
    fi
fi

# =============================================================================================
# The systemd user unit
# =============================================================================================

unit=Packaging/peershare.service
t="unit-settings"
missing=()
for line in 'ExecStart=/usr/bin/peershare run' 'Restart=on-failure' 'RestartSec=2' 'KillSignal=SIGTERM' \
    'TimeoutStopSec=15' 'WantedBy=default.target' 'Documentation=man:peershare(1)' 'NoNewPrivileges=yes'; do
    grep -qxF "$line" "$unit" || missing+=("$line")
done
grep -q '^Description=.' "$unit" || missing+=("Description=")
if [ ${#missing[@]} -eq 0 ]; then pass "$t"; else fail "$t" "missing: ${missing[*]}"; fi

t="unit-template-in-sync"
if cmp -s <(sed 's|@BINDIR@|/usr/bin|g' Packaging/peershare.service.in) "$unit"; then
    pass "$t (peershare.service.in with @BINDIR@=/usr/bin is peershare.service)"
else
    fail "$t" "$(diff <(sed 's|@BINDIR@|/usr/bin|g' Packaging/peershare.service.in) "$unit" | head -4 | tr '\n' ' ')"
fi

t="unit-systemd-analyze-verify"
if ! command -v systemd-analyze > /dev/null && [ "$(id -u)" = 0 ]; then
    echo "  installing systemd (for systemd-analyze)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd > "$TMP/apt.log" 2>&1
fi
if ! command -v systemd-analyze > /dev/null; then
    skip "$t" "systemd-analyze is not installed (package systemd) and cannot be installed as this user"
elif [ -z "${xbin:-}" ] || [ ! -x "${xbin:-}" ]; then
    skip "$t" "no extracted package to verify against (the deb failed)"
else
    # Verified as a user unit. /usr/bin/peershare and man:peershare(1) are not installed on
    # this machine, so the unit is checked with the binary and the man page of the
    # extracted package: that one path is replaced, every other line is verified as is.
    mkdir -p "$TMP/xdg-runtime" && chmod 700 "$TMP/xdg-runtime"
    sed "s|=/usr/bin/peershare |=$xbin |" "$unit" > "$TMP/peershare.service"
    out=$(MANPATH="$x/usr/share/man" XDG_RUNTIME_DIR="$TMP/xdg-runtime" systemd-analyze --user verify "$TMP/peershare.service" 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then
        pass "$t (systemd-analyze --user verify: no warnings; ExecStart path mapped into the extracted package)"
    elif grep -q 'peershare.service' <<< "$out"; then
        fail "$t" "$(tr '\n' ' ' <<< "$out")"
    else
        skip "$t" "systemd-analyze does not run in this container (exit $rc): $(head -2 <<< "$out" | tr '\n' ' ')"
    fi
    # The unit as make install writes it for the default prefix must verify too.
    mkdir -p "$TMP/p2"
    sed "s|@BINDIR@|$(dirname "$xbin")|g" Packaging/peershare.service.in > "$TMP/p2/peershare.service"
    t="unit-template-verify"
    out=$(MANPATH="$x/usr/share/man" XDG_RUNTIME_DIR="$TMP/xdg-runtime" systemd-analyze --user verify "$TMP/p2/peershare.service" 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then
        pass "$t (peershare.service.in with @BINDIR@ substituted)"
    elif grep -q 'peershare.service' <<< "$out"; then
        fail "$t" "$(tr '\n' ' ' <<< "$out")"
    else
        skip "$t" "systemd-analyze does not run in this container (exit $rc)"
    fi
fi

# =============================================================================================
# Shell completions
# =============================================================================================

comp=$TMP/completions
t="completions-generated"
if bash scripts/completions.sh "$BIN" "$comp" > "$TMP/comp.log" 2>&1; then
    empty=()
    for f in peershare.bash _peershare peershare.fish; do [ -s "$comp/$f" ] || empty+=("$f"); done
    if [ ${#empty[@]} -eq 0 ]; then
        pass "$t (bash $(wc -l < "$comp/peershare.bash"), zsh $(wc -l < "$comp/_peershare"), fish $(wc -l < "$comp/peershare.fish") lines)"
    else
        fail "$t" "empty: ${empty[*]}"
    fi
    t="completions-bash"
    if ! grep -qw send "$comp/peershare.bash" || ! grep -q -- '--to' "$comp/peershare.bash"; then
        fail "$t" "the bash script does not mention send and --to"
    elif ! bash -n "$comp/peershare.bash" 2> "$TMP/bashn"; then
        fail "$t" "bash -n: $(head -2 "$TMP/bashn")"
    else
        # Complete "peershare se" and "peershare send --t" as bash would.
        complete_words() {
            bash -c 'source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _peershare "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp/peershare.bash" "$@"
        }
        subs=$(complete_words peershare se)
        opts=$(complete_words peershare send --t)
        if grep -qx send <<< "$subs" && grep -qx -- --to <<< "$opts"; then
            pass "$t (mentions send and --to; completes 'peershare se' and 'peershare send --t')"
        else
            fail "$t" "completing 'peershare se' gave [$(tr '\n' ' ' <<< "$subs")], 'peershare send --t' gave [$(tr '\n' ' ' <<< "$opts")]"
        fi
    fi
    t="completions-zsh-fish"
    if head -1 "$comp/_peershare" | grep -q '^#compdef peershare' && grep -qE "^complete -c '?peershare'? " "$comp/peershare.fish"; then
        pass "$t (#compdef peershare; complete -c peershare)"
    else
        fail "$t" "unexpected zsh or fish script header"
    fi
    t="completions-installed-match"
    if [ -f "$ROOT/Packaging/root/usr/share/bash-completion/completions/peershare" ] &&
        cmp -s "$comp/peershare.bash" "$ROOT/Packaging/root/usr/share/bash-completion/completions/peershare" &&
        cmp -s "$comp/_peershare" "$ROOT/Packaging/root/usr/share/zsh/site-functions/_peershare" &&
        cmp -s "$comp/peershare.fish" "$ROOT/Packaging/root/usr/share/fish/vendor_completions.d/peershare.fish"; then
        pass "$t (the packaged scripts are the binary's)"
    else
        fail "$t" "the packaged completion scripts differ from the binary's"
    fi
else
    fail "$t" "scripts/completions.sh failed: $(tail -3 "$TMP/comp.log" | tr '\n' ' ')"
fi

finish
