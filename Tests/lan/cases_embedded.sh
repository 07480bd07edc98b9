# shellcheck shell=bash
# cases_embedded.sh: discovery without a system avahi-daemon (the embedded mDNS stack,
# `--discovery auto|daemon|embedded`), on hosts that have no daemon, or not even D-Bus.
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

# The stack HOST's agent reports in `status --json` ("avahi-daemon", "embedded", ...).
agent_stack() { agent_cli "$1" status --json 2>/dev/null | jq -r '.discovery' 2>/dev/null; }
agent_stack_is() { [ "$(agent_stack "$1")" = "$2" ]; }

# Three hosts with neither dbus-daemon nor avahi-daemon find each other with the
# default mode (auto), say so, transfer a folder by name, and see a stopped one go.
case_agent_embedded_lan() {
    LAB_BARE="h1 h2 h3"
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    local t0 h
    for h in h1 h2 h3; do
        if lab_exec "$h" test -S /run/dbus/system_bus_socket; then WHY="$h has a system bus"; return 1; fi
    done
    t0=$(now)
    agent_start h1 alice
    agent_start h2 bob
    agent_start h3 carol
    wait_until 10 agent_sees h1 bob carol || { WHY="h1 did not list bob and carol within 10 s"; return 1; }
    wait_until 10 agent_sees h2 alice carol || { WHY="h2 did not list alice and carol within 10 s"; return 1; }
    wait_until 10 agent_sees h3 alice bob || { WHY="h3 did not list alice and bob within 10 s"; return 1; }
    echo "  3 daemon-less agents listed each other $(elapsed "$t0" "$(now)") s after start"
    # The embedded stack binds UDP 5353 and joins the multicast groups as an ordinary user.
    for h in h1 h2 h3; do agent_runs_as_lab_user "$h" || return 1; done
    for h in h1 h2 h3; do
        agent_stack_is "$h" embedded || { WHY="$h's status says discovery is '$(agent_stack "$h")', not embedded"; return 1; }
    done
    grep -q "embedded mDNS stack" "$LAB_DIR/h1/agent.log" || { WHY="h1's log does not name the embedded stack"; return 1; }
    make_tree "$LAB_DIR/src/album"
    agent_send h1 h2 "$LAB_DIR/src/album" bob || return 1
    local got
    got=$(find_received h2 album)
    [ -n "$got" ] || { WHY="no 'album' in bob's inbox after done"; return 1; }
    same_tree "$LAB_DIR/src/album" "$got" || return 1
    t0=$(now)
    agent_stop h3
    wait_until 10 agent_sees_none h1 carol || { WHY="h1 still lists carol 10 s after it stopped"; return 1; }
    echo "  carol gone from alice's list $(elapsed "$t0" "$(now)") s after it stopped"
}

# Two hosts with avahi-daemon and two without: every agent lists the three others,
# and sends by name work in both directions between the two kinds.
case_agent_mixed_lan() {
    LAB_BARE="h3 h4"
    lab_up 4 || { WHY="lab_up failed"; return 1; }
    local t0
    t0=$(now)
    agent_start h1 alice
    agent_start h2 bob
    agent_start h3 carol
    agent_start h4 dave
    wait_until 10 agent_sees h1 bob carol dave || { WHY="h1 (daemon) did not list all three within 10 s"; return 1; }
    wait_until 10 agent_sees h2 alice carol dave || { WHY="h2 (daemon) did not list all three within 10 s"; return 1; }
    wait_until 10 agent_sees h3 alice bob dave || { WHY="h3 (embedded) did not list all three within 10 s"; return 1; }
    wait_until 10 agent_sees h4 alice bob carol || { WHY="h4 (embedded) did not list all three within 10 s"; return 1; }
    echo "  2 daemon + 2 embedded agents listed each other $(elapsed "$t0" "$(now)") s after start"
    agent_stack_is h1 avahi-daemon || { WHY="h1 uses '$(agent_stack h1)', not avahi-daemon"; return 1; }
    agent_stack_is h3 embedded || { WHY="h3 uses '$(agent_stack h3)', not embedded"; return 1; }
    make_tree "$LAB_DIR/src/one"
    agent_send h3 h1 "$LAB_DIR/src/one" alice || return 1
    same_tree "$LAB_DIR/src/one" "$(find_received h1 one)" || return 1
    make_tree "$LAB_DIR/src/two"
    agent_send h2 h4 "$LAB_DIR/src/two" dave || return 1
    same_tree "$LAB_DIR/src/two" "$(find_received h4 two)"
}

# `--discovery daemon` on a host without avahi-daemon is a clear error at start; on a
# host with one, it runs on the daemon.
case_agent_daemon_mode_needs_daemon() {
    LAB_BARE="h1"
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    agent_dirs h1
    local out rc
    lab_as_user h1
    out=$(timeout 30 nsenter -t "$(lab_anchor h1)" -m -n -u -- "${LAB_AS_USER[@]}" "$PEERSHARE_BIN" run --home "$(agent_home h1)" \
        --port 0 --name alice --inbox "$(agent_inbox h1)" --discovery daemon 2>&1 </dev/null)
    rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
        WHY="--discovery daemon without a daemon: exit $rc, expected a quick failure"
        return 1
    fi
    if [[ "$out" != *"no avahi-daemon can be reached"* ]] || [[ "$out" != *"--discovery auto"* ]]; then
        WHY="unclear error (exit $rc): $(tail -c 300 <<<"$out" | tr '\n' ' ')"
        return 1
    fi
    echo "  exit $rc: $(grep -m1 'avahi-daemon' <<<"$out" | cut -c1-160)"
    agent_start h2 bob --discovery daemon
    wait_until 10 agent_stack_is h2 avahi-daemon || { WHY="h2 with --discovery daemon reports '$(agent_stack h2)'"; return 1; }
}

# auto mode hands over: a host with a system bus but no daemon runs the embedded
# stack; when avahi-daemon starts there, the agent moves to it; when the daemon
# stops for good, the agent falls back to the embedded stack. Its peer sees it
# throughout (after at most a short gap at each switch).
case_agent_auto_handover() {
    LAB_DBUS_ONLY="h1"
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
    wait_until 10 agent_sees h2 alice || { WHY="h2 did not list alice (embedded) within 10 s"; return 1; }
    agent_stack_is h1 embedded || { WHY="h1 uses '$(agent_stack h1)' before its daemon starts"; return 1; }
    local t0 pid
    t0=$(now)
    lab_restart_avahi h1 || { WHY="could not start avahi-daemon on h1"; return 1; }
    wait_until 15 agent_stack_is h1 avahi-daemon || { WHY="h1 still uses '$(agent_stack h1)' 15 s after its daemon started"; return 1; }
    echo "  h1 on avahi-daemon $(elapsed "$t0" "$(now)") s after the daemon started"
    # The embedded stack's goodbye makes peers drop alice about a second later, unless the
    # daemon's announcement (after its probes, 1-2 s) comes first; either way the LAN has
    # settled after a few seconds. Checking before that can see the old records.
    sleep 4
    wait_until 10 agent_sees h2 alice || { WHY="h2 lost alice after the hand-over to the daemon"; return 1; }
    wait_until 10 agent_sees h1 bob || { WHY="h1 does not list bob through its daemon"; return 1; }
    echo "  alice listed by bob and bob by alice after the hand-over (checked once the LAN settled)"
    printf 'after hand-over\n' >"$LAB_DIR/note.txt"
    agent_send h2 h1 "$LAB_DIR/note.txt" alice || return 1
    cmp -s "$LAB_DIR/note.txt" "$(find_received h1 note.txt)" || { WHY="note.txt differs after the hand-over"; return 1; }
    t0=$(now)
    pid=$(lab_avahi_pid h1)
    [ -n "$pid" ] && kill -TERM "$pid"
    wait_until 20 agent_stack_is h1 embedded || { WHY="h1 reports '$(agent_stack h1)' 20 s after its daemon stopped"; return 1; }
    echo "  h1 back on the embedded stack $(elapsed "$t0" "$(now)") s after the daemon stopped"
    sleep 4
    wait_until 10 agent_sees h2 alice || { WHY="h2 lost alice after the fall-back to the embedded stack"; return 1; }
    echo "  alice listed by bob again after the fall-back"
}

# --discovery-interface: the embedded stack binds only to the allowed interfaces. A
# host allowed only on an interface it does not have is neither seen nor sees anyone.
case_agent_interface_allow_list() {
    LAB_BARE="h1 h2 h3"
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice --discovery embedded --discovery-interface veth0
    agent_start h2 bob --discovery embedded --discovery-interface nosuch0
    agent_start h3 carol --discovery embedded
    wait_until 10 agent_sees h3 alice || { WHY="h3 did not list alice (allowed on veth0)"; return 1; }
    wait_until 10 agent_sees h1 carol || { WHY="h1 did not list carol"; return 1; }
    sleep 3
    agent_sees_none h3 bob || { WHY="h3 lists bob, whose stack may not use veth0"; return 1; }
    agent_sees_none h1 bob || { WHY="h1 lists bob, whose stack may not use veth0"; return 1; }
    [ "$(agent_peer_count h2)" -eq 0 ] || { WHY="bob lists $(agent_peer_count h2) peers through an interface it may not use"; return 1; }
}
