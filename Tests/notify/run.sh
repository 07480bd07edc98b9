#!/usr/bin/env bash
# run.sh: the desktop-notification test (notify_test.py: a private dbus-daemon session bus
# and a python3-dbus notification server, with real agents on loopback, discovery off).
#
#   PEERSHARE_BIN=... bash Tests/notify/run.sh
#
# As root it drops to PEERSHARE_TEST_UID/GID (default 65534, nobody) with setpriv, as
# scripts/test-as-user.sh does: the bus, the server, the agents and the test run as an
# ordinary user.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${PEERSHARE_BIN:-$PWD/.build/debug/peershare}
script=$PWD/Tests/notify/notify_test.py
if [ "$(id -u)" != 0 ]; then
    exec env PEERSHARE_BIN="$bin" /usr/bin/python3 "$script"
fi
uid=${PEERSHARE_TEST_UID:-65534}
gid=${PEERSHARE_TEST_GID:-65534}
work=$(mktemp -d /tmp/peershare-notify-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
install -d -o "$uid" -g "$gid" -m 0700 "$work/home"
cd "$work"
setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all \
    env -u DBUS_SESSION_BUS_ADDRESS -u XDG_RUNTIME_DIR HOME="$work/home" TMPDIR="$work/home" \
    PEERSHARE_BIN="$bin" /usr/bin/python3 "$script"
