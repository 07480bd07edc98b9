#!/usr/bin/env bash
# run.sh: the control-socket client test (control_test.py, Python standard library only,
# written from docs/CONTROL.md) against real agents on loopback with discovery off.
#
#   PEERSHARE_BIN=... bash Tests/control/run.sh
#
# As root it drops to PEERSHARE_TEST_UID/GID (default 65534, nobody) with setpriv, as
# scripts/test-as-user.sh does: the agents and the client run as an ordinary user.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${PEERSHARE_BIN:-$PWD/.build/debug/peershare}
script=$PWD/Tests/control/control_test.py
if [ "$(id -u)" != 0 ]; then
    exec env PEERSHARE_BIN="$bin" /usr/bin/python3 "$script"
fi
uid=${PEERSHARE_TEST_UID:-65534}
gid=${PEERSHARE_TEST_GID:-65534}
work=$(mktemp -d /tmp/peershare-control-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
install -d -o "$uid" -g "$gid" -m 0700 "$work/home"
cd "$work"
setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all \
    env HOME="$work/home" TMPDIR="$work/home" PEERSHARE_BIN="$bin" /usr/bin/python3 "$script"
