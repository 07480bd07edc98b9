# shellcheck shell=bash
# cases_lab.sh: checks of the lab itself with Avahi's own tools (avahi-publish,
# avahi-browse), so the harness is known to work before the agent is involved.
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

# Three hosts publish one instance each; every host must resolve the two others
# over IPv4 and IPv6; a stopped publisher must disappear from the others.
case_lab_three_hosts() {
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    local h pids=() t0 t_v4 t_v6 worst=0 i
    for h in $(lab_hosts); do browse_start "$h"; done
    sleep 0.5
    t0=$(now)
    for h in $(lab_hosts); do pids+=("$(publish_start "$h" "agent-$h" $((4000 + ${h#h})) "$(fake_pk "$h")")"); done
    for h in $(lab_hosts); do
        if ! wait_until 10 browse_has "$h" IPv4 3 || ! wait_until 5 browse_has "$h" IPv6 3; then
            WHY="$h resolved $(browse_count "$h" IPv4) IPv4 / $(browse_count "$h" IPv6) IPv6 instances of 3 within 10 s"
            return 1
        fi
        t_v4=$(elapsed "$t0" "$(browse_first_time "$h" IPv4 3)")
        t_v6=$(elapsed "$t0" "$(browse_first_time "$h" IPv6 3)")
        echo "  $h: all 3 instances resolved after ${t_v4} s (IPv4), ${t_v6} s (IPv6)"
        worst=$(awk -v a="$worst" -v b="$t_v4" -v c="$t_v6" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; print m }')
    done
    echo "  discovery, 3 hosts: ${worst} s until every host resolved every instance"
    # Stop h3's publisher: it withdraws with goodbye packets.
    t0=$(now)
    lab_kill "${pids[2]}"
    for i in 1 2; do
        if ! wait_until 10 browse_lacks_instance "h$i" agent-h3; then
            WHY="h$i still lists agent-h3 10 s after its publisher stopped"
            return 1
        fi
    done
    echo "  departure: agent-h3 gone from h1 and h2 after $(elapsed "$t0" "$(now)") s"
}

# After avahi-daemon restarts on the publishing host, its D-Bus clients lose their
# connection (avahi-publish exits on that; the agent reconnects by itself): the old
# instance is withdrawn, and once published again the other host resolves it again.
case_lab_avahi_restart() {
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    browse_start h1
    local pub t0
    pub=$(publish_start h2 agent-h2 4002 "$(fake_pk h2)")
    wait_until 10 browse_has h1 IPv4 1 || { WHY="h1 never saw agent-h2"; return 1; }
    t0=$(now)
    lab_restart_avahi h2 || { WHY="avahi-daemon on h2 did not restart"; return 1; }
    echo "  avahi-daemon on h2 running again after $(elapsed "$t0" "$(now)") s"
    wait_until 10 browse_lacks_instance h1 agent-h2 ||
        { WHY="agent-h2 not withdrawn from h1 after its daemon restarted"; return 1; }
    wait_until 5 lab_pid_gone "$pub" || { WHY="avahi-publish did not notice the restart"; return 1; }
    t0=$(now)
    publish_start h2 agent-h2 4002 "$(fake_pk h2)" >/dev/null
    wait_until 10 browse_has_instance h1 agent-h2 IPv4 ||
        { WHY="h1 did not resolve agent-h2 again after it was re-published"; return 1; }
    echo "  re-published agent-h2 resolved on h1 after $(elapsed "$t0" "$(now)") s"
}

# SCALE hosts (default 30) on one bridge; each must resolve all the others. This
# checks the lab at scale and measures what real avahi-daemons need on this machine
# (avahi-browse -r resolves every instance and keeps its resolvers open).
# LAB_HARNESS_SCALE_TIMEOUT (60 s) only bounds the wait: the time is Avahi's and the
# machine's, a figure printed and kept in BENCHMARKS.md ("Discovery at scale").
# Like agent_scale, the daemons speak mDNS over IPv4 only unless LAB_SCALE_IPV6=yes:
# thirty dual-stack daemons on two cores took 25-26 s here and over 30 s on CI, and
# IPv4-only ones 8.9-20.1 s (README.md, "The scale case").
case_lab_scale() {
    local n=${LAB_SCALE_N:-30} timeout=${LAB_HARNESS_SCALE_TIMEOUT:-60} h t0 worst=0 t
    local ipv6=${LAB_SCALE_IPV6:-no}
    LAB_AVAHI_IPV6=$ipv6 lab_up "$n" || { WHY="lab_up $n failed"; return 1; }
    for h in $(lab_hosts); do browse_start "$h"; done
    sleep 0.5
    t0=$(now)
    for h in $(lab_hosts); do publish_start "$h" "agent-$h" $((4000 + ${h#h})) "$(fake_pk "$h")" >/dev/null; done
    for h in $(lab_hosts); do
        if ! wait_until "$timeout" browse_has "$h" IPv4 "$n"; then
            WHY="$h resolved $(browse_count "$h" IPv4) of $n instances within $timeout s; missing: $(browse_missing "$h" IPv4 "$n")"
            return 1
        fi
    done
    for h in $(lab_hosts); do
        t=$(elapsed "$t0" "$(browse_first_time "$h" IPv4 "$n")")
        worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
    done
    echo "  discovery, $n hosts: ${worst} s until every host resolved all $n instances over IPv4 (daemons' mDNS over IPv6 too: $ipv6; load $(cut -d' ' -f1 /proc/loadavg))"
}

# The lab keeps daemons out of the machine's namespace and leaves nothing behind.
case_lab_isolation_and_teardown() {
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    local own pid ns prefix=$LAB_PREFIX pids=()
    own=$(readlink /proc/self/ns/net)
    for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix"); do
        for pid in $(ip netns pids "$ns"); do
            pids+=("$pid")
            if [ "$(readlink "/proc/$pid/ns/net")" = "$own" ]; then
                WHY="process $pid of $ns runs in the machine's own network namespace"
                return 1
            fi
        done
    done
    if ip -o link show | grep -q "$prefix"; then
        WHY="an interface of this lab exists in the machine's own namespace"
        return 1
    fi
    lab_down
    if ip netns list | grep -q "^$prefix"; then
        WHY="namespaces left after lab_down"
        return 1
    fi
    for pid in "${pids[@]}"; do
        if [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
            WHY="process $pid still alive after lab_down"
            return 1
        fi
    done
    lab_down # idempotent
}
