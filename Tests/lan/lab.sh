# shellcheck shell=bash
# lab.sh: a LAN of simulated hosts on one Linux machine, for discovery tests.
# Source it; it defines functions only. See /work/shared/design/lan-lab.md.
#
# Layout of one run (prefix P is unique per run, so parallel runs never collide):
#   ${P}sw          switch namespace with bridge br0 (multicast snooping off)
#   ${P}h1..${P}hN  host namespaces; each has veth0 (10.213.0.X/24 + IPv6
#                   link-local), lo, and a private mount namespace with its own
#                   /run/dbus, /run/avahi-daemon, dbus-daemon and avahi-daemon,
#                   and its own UTS namespace with host name hN.
#                   An anchor process (sleep) keeps the mount namespace alive;
#                   lab_exec enters it with nsenter.
# Hard rule: no daemon ever runs in the machine's own network namespace; every
# daemon is started inside a host namespace, bound to that host's veth0 only.
#
# Public functions:
#   lab_require_root        fail (status 1, reason on stderr) unless root with the tools
#   lab_up N                build the switch and hosts h1..hN (N <= 250)
#   lab_exec HOST CMD...    run CMD on HOST (its net + mount namespaces)
#   lab_spawn HOST LOG CMD... start CMD on HOST in the background, output to LOG;
#                           prints its pid (reaped by lab_down in any case)
#   lab_exec_user / lab_spawn_user   the same, as the lab user (below)
#   lab_user_dir HOST       a directory on HOST owned by the lab user (its HOME)
#   lab_chown PATH...       hand PATH (recursively) to the lab user
#   lab_restart_avahi HOST  kill HOST's avahi-daemon (by pid) and start it again
#   lab_link_down HOST / lab_link_up HOST
#   lab_ipv6_only HOST      remove HOST's IPv4 address (IPv6 link-local remains)
#   lab_ipv4 HOST / lab_ipv6_ll HOST   the host's addresses
#   lab_hosts               h1..hN
#   lab_down                kill every process in the namespaces (by pid), delete
#                           them and the run's files; idempotent
# Host names are h1..hN (a bare number is accepted too); LAB_HOSTNAME=NAME gives every
# host that one host name instead (each keeps its own UTS namespace).
# The lab user: only the namespaces, mounts, daemons and nft need root. Every peershare
# process (agent, CLI, relay) runs as LAB_USER_UID:LAB_USER_GID (65534:65534, nobody)
# with no supplementary groups and a clean environment (HOME = lab_user_dir), as users
# run it: lab_exec_user/lab_spawn_user wrap the command in setpriv inside the host.
# Settings: LAB_BARE="h2 h3" makes those hosts bare: no dbus-daemon and no
# avahi-daemon at all (a minimal server or container). LAB_DBUS_ONLY="h4": a system
# bus but no avahi-daemon (start it later with lab_restart_avahi). LAB_AVAHI_IPV6=no makes the daemons mDNS over IPv4 only (half the
# traffic; the hosts keep their IPv6 link-local addresses). LAB_KEEP=1 keeps the
# run's files. lab_down resets LAB_PREFIX/LAB_DIR (and LAB_BARE, LAB_DBUS_ONLY, LAB_HOSTNAME), so
# the next lab_up is a new run.

LAB_SUBNET=10.213.0
LAB_USER_UID=${LAB_USER_UID:-65534}
LAB_USER_GID=${LAB_USER_GID:-65534}
LAB_PREFIX=${LAB_PREFIX:-}
LAB_DIR=${LAB_DIR:-}
LAB_N=0

lab_log() { printf '[lab %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

# Fails (status 1, with the reason on stderr) unless root and the tools are there.
lab_require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "lab: needs root (network namespaces, private mounts, daemons); run it with sudo" >&2
        return 1
    fi
    if [ "$LAB_USER_UID" -eq 0 ] || [ "$LAB_USER_GID" -eq 0 ]; then
        echo "lab: LAB_USER_UID/LAB_USER_GID must not be root (the agents run as an ordinary user)" >&2
        return 1
    fi
    local tool missing=()
    for tool in ip nsenter unshare setpriv dbus-daemon avahi-daemon avahi-publish avahi-browse; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "lab: missing tools: ${missing[*]} (apt-get install iproute2 util-linux dbus avahi-daemon avahi-utils)" >&2
        return 1
    fi
}

# The namespace name of a host: "h3" or "3" -> "${LAB_PREFIX}h3".
lab_ns() {
    local h=${1#h}
    printf '%sh%s' "$LAB_PREFIX" "$h"
}

lab_hosts() {
    local i
    for ((i = 1; i <= LAB_N; i++)); do printf 'h%d\n' "$i"; done
}

lab_anchor() {
    local h=${1#h}
    cat "$LAB_DIR/h$h/anchor.pid"
}

lab_ipv4() { printf '%s.%s' "$LAB_SUBNET" "${1#h}"; }

lab_ipv6_ll() {
    ip -n "$(lab_ns "$1")" -6 -o addr show dev veth0 scope link | awk '{print $4}' | cut -d/ -f1
}

lab_exec() {
    local host=$1
    shift
    nsenter -t "$(lab_anchor "$host")" -m -n -u -- "$@"
}

# lab_chown PATH...: PATH and everything under it now belong to the lab user.
lab_chown() { chown -R "$LAB_USER_UID:$LAB_USER_GID" "$@"; }

# lab_user_dir HOST: $LAB_DIR/hN/user, owned by the lab user (made on first use).
lab_user_dir() {
    local d=$LAB_DIR/h${1#h}/user
    if [ ! -d "$d" ]; then
        mkdir -p "$d"
        lab_chown "$d"
    fi
    echo "$d"
}

# lab_as_user HOST: sets LAB_AS_USER to the command prefix that drops to the lab user
# (setpriv: real and effective ids, no supplementary groups; root's capabilities go
# with uid 0) with only PATH, HOME and a locale in the environment.
lab_as_user() {
    local home
    home=$(lab_user_dir "$1")
    LAB_AS_USER=(setpriv --reuid="$LAB_USER_UID" --regid="$LAB_USER_GID" --clear-groups --
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" LANG=C.UTF-8)
}

lab_exec_user() {
    local host=$1
    shift
    lab_as_user "$host"
    lab_exec "$host" "${LAB_AS_USER[@]}" "$@"
}

lab_spawn_user() {
    local host=$1 log=$2
    shift 2
    lab_as_user "$host"
    lab_spawn "$host" "$log" "${LAB_AS_USER[@]}" "$@"
}

# lab_is HOST LIST: HOST ("h3" or "3") is in the space-separated LIST.
lab_is() {
    local h=h${1#h}
    [[ " $2 " == *" $h "* ]]
}

# Whether HOST runs avahi-daemon from the start.
lab_has_avahi() { ! lab_is "$1" "${LAB_BARE:-}" && ! lab_is "$1" "${LAB_DBUS_ONLY:-}"; }

lab_spawn() {
    local host=$1 log=$2
    shift 2
    nsenter -t "$(lab_anchor "$host")" -m -n -u -- "$@" >"$log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >>"$LAB_DIR/spawned.pids"
    echo "$pid"
}

# Stops one process we started and waits for it (TERM, then KILL after 5 s).
lab_kill() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

lab_write_avahi_conf() {
    local h=$1
    cat >"$LAB_DIR/$h/avahi.conf" <<EOF
[server]
host-name=${LAB_HOSTNAME:-$h}
domain-name=local
use-ipv4=yes
use-ipv6=${LAB_AVAHI_IPV6:-yes}
allow-interfaces=veth0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000

[wide-area]
enable-wide-area=no

[publish]
publish-workstation=no
publish-hinfo=no
publish-addresses=yes
publish-aaaa-on-ipv4=yes
publish-a-on-ipv6=no

[reflector]
enable-reflector=no
EOF
}

# The host's boot script, run inside its new private mount namespace: its own /run
# (so /run/dbus and /run/avahi-daemon are private) and no static Avahi services,
# then D-Bus and Avahi, then the anchor.
lab_write_boot() {
    local h=$1 dir=$LAB_DIR/$1 dbus=: avahi=:
    if ! lab_is "$h" "${LAB_BARE:-}"; then dbus="dbus-daemon --system --fork --nopidfile"; fi
    if lab_has_avahi "$h"; then
        avahi="avahi-daemon -f '$dir/avahi.conf' --no-drop-root --no-chroot --no-rlimits -D"
    fi
    cat >"$dir/boot.sh" <<EOF
#!/bin/bash
set -e
hostname '${LAB_HOSTNAME:-$h}'
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon
if [ -d /etc/avahi/services ]; then mount -t tmpfs -o mode=0755 tmpfs /etc/avahi/services; fi
$dbus
$avahi
exec sleep infinity
EOF
    chmod +x "$dir/boot.sh"
}

lab_add_host() {
    local i=$1 h=h$1
    local ns sw
    ns=$(lab_ns "$i")
    sw=${LAB_PREFIX}sw
    mkdir -p "$LAB_DIR/$h"
    ip netns add "$ns"
    # The veth is created inside the host namespace and its peer moved straight to the
    # switch: neither end ever exists in the machine's own namespace.
    ip -n "$ns" link add veth0 type veth peer name "${LAB_PREFIX}p$i" netns "$sw"
    ip -n "$sw" link set "${LAB_PREFIX}p$i" master br0 up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.veth0.accept_dad=0
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(lab_ipv4 "$i")/24" dev veth0
    ip -n "$ns" link set veth0 up
    lab_write_avahi_conf "$h"
    lab_write_boot "$h"
    ip netns exec "$ns" unshare -m -u --propagation private "$LAB_DIR/$h/boot.sh" \
        >"$LAB_DIR/$h/boot.log" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/$h/anchor.pid"
}

# True when HOST's avahi-daemon is registered on its D-Bus and RUNNING (state 2).
lab_avahi_running() {
    lab_exec "$1" dbus-send --system --print-reply=literal --reply-timeout=1000 \
        --dest=org.freedesktop.Avahi / org.freedesktop.Avahi.Server.GetState 2>/dev/null |
        grep -qw 2
}

# Waits until every host's avahi-daemon is running (it probes its host name first).
lab_wait_daemons() {
    local h deadline=$((SECONDS + 30))
    for h in $(lab_hosts); do lab_wait_host "$h" "$deadline" || return 1; done
}

# lab_wait_host HOST DEADLINE: HOST's avahi-daemon runs (or, without one, lab_exec works)
# before $SECONDS reaches DEADLINE.
lab_wait_host() {
    local h=$1 deadline=$2
    if ! lab_has_avahi "$h"; then
        # No daemon to wait for; the anchor (and so lab_exec) must exist, though.
        until [ -s "$LAB_DIR/$h/anchor.pid" ] && lab_exec "$h" true 2>/dev/null; do
            [ $SECONDS -ge $deadline ] && return 1
            sleep 0.1
        done
        return 0
    fi
    until lab_avahi_running "$h"; do
        if [ $SECONDS -ge $deadline ]; then
            lab_log "avahi-daemon on $h did not come up (state: not running); boot log:"
            cat "$LAB_DIR/$h/boot.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

lab_up() {
    local n=$1 i
    if [ "$n" -lt 1 ] || [ "$n" -gt 250 ]; then
        lab_log "lab_up: N must be 1..250"
        return 1
    fi
    if [ -z "$LAB_PREFIX" ]; then
        LAB_PREFIX=pl$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    fi
    LAB_DIR=${LAB_DIR:-$(mktemp -d "/tmp/lab-$LAB_PREFIX.XXXX")}
    # The lab user reads what the cases make here (files to send) and its own dirs below.
    chmod 0755 "$LAB_DIR"
    LAB_N=$n
    local sw=${LAB_PREFIX}sw
    ip netns add "$sw"
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$sw" link add br0 type bridge mcast_snooping 0
    ip -n "$sw" link set br0 up
    for ((i = 1; i <= n; i++)); do
        lab_add_host "$i"
        # Daemons that share a host name come up one after the other, as on machines
        # booted at different times: avahi-daemons that probe one name in the same
        # instant rename in lockstep (vm-2 ... vm-15 in the lab) and then stay
        # "registering", which is Avahi's behaviour, not the agent's.
        if [ -n "${LAB_HOSTNAME:-}" ]; then lab_wait_host "h$i" $((SECONDS + 30)) || return 1; fi
    done
    lab_wait_daemons
}

lab_avahi_pid() {
    lab_exec "$1" cat /run/avahi-daemon/pid 2>/dev/null
}

lab_restart_avahi() {
    local h=$1 pid i
    pid=$(lab_avahi_pid "$h")
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    lab_exec "$h" rm -f /run/avahi-daemon/pid
    lab_exec "$h" avahi-daemon -f "$LAB_DIR/h${h#h}/avahi.conf" --no-drop-root --no-chroot --no-rlimits -D
    for ((i = 0; i < 100; i++)); do
        lab_avahi_running "$h" && return 0
        sleep 0.1
    done
    return 1
}

lab_link_down() { ip -n "$(lab_ns "$1")" link set veth0 down; }
lab_link_up() { ip -n "$(lab_ns "$1")" link set veth0 up; }

lab_ipv6_only() {
    ip -n "$(lab_ns "$1")" -4 addr flush dev veth0
}

# Is PID gone (or only a zombie waiting for its new parent to reap it)?
lab_pid_gone() {
    [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

lab_down() {
    [ -n "$LAB_PREFIX" ] || return 0
    local ns pid round all=() namespaces
    namespaces=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${LAB_PREFIX}" || true)
    for ns in $namespaces; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do all+=("$pid"); done
    done
    if [ -f "$LAB_DIR/spawned.pids" ]; then
        while read -r pid; do all+=("$pid"); done <"$LAB_DIR/spawned.pids"
    fi
    # Every process in our namespaces, by pid: TERM, up to 3 s, then KILL.
    for round in TERM KILL; do
        for pid in "${all[@]}"; do
            lab_pid_gone "$pid" || kill "-$round" "$pid" 2>/dev/null || true
        done
        for _ in $(seq 1 30); do
            local left=0
            for pid in "${all[@]}"; do lab_pid_gone "$pid" || { left=1; break; }; done
            [ "$left" -eq 0 ] && break
            sleep 0.1
        done
    done
    for ns in $namespaces; do
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ]; then
        rm -rf "$LAB_DIR"
    fi
    LAB_PREFIX=
    LAB_DIR=
    LAB_N=0
    LAB_BARE=
    LAB_DBUS_ONLY=
    LAB_HOSTNAME=
}
