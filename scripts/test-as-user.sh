#!/usr/bin/env bash
# test-as-user.sh: runs the Swift test suites (unit, integration, hostile) as an ordinary user,
# the way people run peershare: no root, no capabilities.
#
#   scripts/test-as-user.sh [swift-testing arguments, e.g. --filter NAME]
#
#   PEERSHARE_TEST_UID / PEERSHARE_TEST_GID   the user (default 65534/65534, nobody/nogroup)
#   PEERSHARE_BIN                             the peershare binary (default .build/debug/peershare)
#   PEERSHARE_TEST_BUNDLE                     the test binary (default .build/debug/peersharePackageTests.xctest)
#
# Run as root, it does the two steps that need root and nothing else: it makes a HOME for the
# test user and mounts three small tmpfs file systems, owned by that user, for the full-disk
# tests (PEERSHARE_TEST_SMALLFS, sub-folders 1m, 4m and 16m). Then it drops to the test user
# with setpriv (no supplementary groups, no capabilities) and runs the test binary; every agent
# and CLI the tests start is that user's child. Everything it made is removed on exit, also on
# failure. Run as an ordinary user, it runs the tests as that user, without the small file
# systems (the full-disk tests then say why they cannot run, and fail under CI=true).
#
# The build must exist (`swift build --build-tests`); this script never builds, so it can drop
# privileges before anything is written in .build.
set -euo pipefail
cd "$(dirname "$0")/.."

uid=${PEERSHARE_TEST_UID:-65534}
gid=${PEERSHARE_TEST_GID:-65534}
bin=${PEERSHARE_BIN:-$PWD/.build/debug/peershare}
bundle=${PEERSHARE_TEST_BUNDLE:-$PWD/.build/debug/peersharePackageTests.xctest}

for f in "$bin" "$bundle"; do
    [ -x "$f" ] || { echo "test-as-user: $f is not built (run: swift build --build-tests)" >&2; exit 1; }
done

if [ "$(id -u)" != 0 ]; then
    exec env PEERSHARE_BIN="$bin" "$bundle" --testing-library swift-testing "$@"
fi

[ "$uid" != 0 ] || { echo "test-as-user: PEERSHARE_TEST_UID must not be 0" >&2; exit 1; }
work=$(mktemp -d /tmp/peershare-test-XXXXXX)
mounted=()
cleanup() {
    local m
    for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

chmod 0755 "$work"
install -d -o "$uid" -g "$gid" -m 0700 "$work/home"
install -d -m 0755 "$work/smallfs"
for size in 1m 4m 16m; do
    install -d -m 0755 "$work/smallfs/$size"
    mount -t tmpfs -o "size=$size,mode=0700,uid=$uid,gid=$gid" tmpfs "$work/smallfs/$size"
    mounted+=("$work/smallfs/$size")
done

echo "test-as-user: running the suites as uid $uid gid $gid (no capabilities)"
status=0
setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all \
    env HOME="$work/home" PEERSHARE_BIN="$bin" PEERSHARE_TEST_SMALLFS="$work/smallfs" \
    "$bundle" --testing-library swift-testing "$@" || status=$?
exit "$status"
