# shellcheck shell=bash
# cases_agent.sh: the discovery cases, run against the real agent ($PEERSHARE_BIN).
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

# shellcheck source=agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/agent.sh"

# Three hosts see each other within a few seconds; a stopped agent disappears.
case_agent_three_hosts() {
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    local t0 h
    t0=$(now)
    agent_start h1 alice
    agent_start h2 bob
    agent_start h3 carol
    wait_until 10 agent_sees h1 bob carol || { WHY="h1 did not list bob and carol within 10 s"; return 1; }
    wait_until 10 agent_sees h2 alice carol || { WHY="h2 did not list alice and carol within 10 s"; return 1; }
    wait_until 10 agent_sees h3 alice bob || { WHY="h3 did not list alice and bob within 10 s"; return 1; }
    echo "  3 agents listed each other $(elapsed "$t0" "$(now)") s after start"
    # What users run: the agents are ordinary processes (the lab user), not root.
    for h in h1 h2 h3; do agent_runs_as_lab_user "$h" || return 1; done
    echo "  agents run as uid/gid $LAB_USER_UID/$LAB_USER_GID: $(ps -o uid=,gid=,comm= -p "${AGENT_PID[h1]}" | tr -s ' ')"
    t0=$(now)
    agent_stop h3
    wait_until 10 agent_sees_none h1 carol || { WHY="h1 still lists carol 10 s after it stopped"; return 1; }
    wait_until 10 agent_sees_none h2 carol || { WHY="h2 still lists carol 10 s after it stopped"; return 1; }
    echo "  carol gone from both lists $(elapsed "$t0" "$(now)") s after it stopped"
}

# A folder sent by name arrives intact: content, modes, file mtimes.
case_agent_folder_by_name() {
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
    wait_until 10 agent_sees h1 bob || { WHY="h1 did not list bob"; return 1; }
    make_tree "$LAB_DIR/src/album"
    agent_send h1 h2 "$LAB_DIR/src/album" bob || return 1
    local got
    got=$(find_received h2 album)
    [ -n "$got" ] || { WHY="no 'album' in bob's inbox after done"; return 1; }
    same_tree "$LAB_DIR/src/album" "$got"
}

# Two agents with one name both appear; sending to that name is refused with the
# candidates listed, and nothing is transferred; the listed "twin (TAG)" then reaches one.
case_agent_ambiguous_name() {
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 twin
    agent_start h3 twin
    wait_until 10 agent_has_named h1 twin 2 ||
        { WHY="h1 lists $(agent_count_named h1 twin) peers named twin, expected 2"; return 1; }
    local fp2 fp3 out want2 want3
    fp2=$(agent_fingerprint h2)
    fp3=$(agent_fingerprint h3)
    printf 'x\n' >"$LAB_DIR/note.txt"
    if agent_send h1 h2 "$LAB_DIR/note.txt" twin 20; then
        WHY="send to the ambiguous name 'twin' succeeded"
        return 1
    fi
    # Fingerprints print as "24fa-3cdb-..."; compare their first 8 hex digits with
    # separators removed on both sides, whatever grouping the refusal uses.
    out=$(tr -d -- '-: ' <"$SEND_LOG" | tr 'A-F' 'a-f')
    want2=$(printf '%s' "$fp2" | tr -d -- '-: ' | tr 'A-F' 'a-f' | cut -c1-8)
    want3=$(printf '%s' "$fp3" | tr -d -- '-: ' | tr 'A-F' 'a-f' | cut -c1-8)
    if [ -z "$want2" ] || [[ "$out" != *"$want2"* ]] || [[ "$out" != *"$want3"* ]]; then
        WHY="refusal does not list both candidates ($fp2, $fp3): $(tail -c 300 "$SEND_LOG" | tr '\n' ' ')"
        return 1
    fi
    if [ -n "$(find_received h2 note.txt)$(find_received h3 note.txt)" ]; then
        WHY="a twin received the file"
        return 1
    fi
    # The refusal lists each twin as "twin (TAG)", TAG the start of its fingerprint; that
    # label, typed back, reaches that twin and only it.
    local label="twin (${fp3:0:9})"
    grep -qF "$label" "$SEND_LOG" || { WHY="refusal does not list '$label': $(tail -c 300 "$SEND_LOG" | tr '\n' ' ')"; return 1; }
    agent_send h1 h3 "$LAB_DIR/note.txt" "$label" 30 || return 1
    [ -n "$(find_received h3 note.txt)" ] && [ -z "$(find_received h2 note.txt)" ] ||
        { WHY="the send to '$label' did not land at h3 alone"; return 1; }
}

# After avahi-daemon restarts on the sender's host, both sides find each other
# again and a send works.
case_agent_avahi_restart() {
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
    wait_until 10 agent_sees h1 bob || { WHY="h1 did not list bob"; return 1; }
    local t0
    t0=$(now)
    lab_restart_avahi h1 || { WHY="avahi-daemon on h1 did not restart"; return 1; }
    wait_until 15 agent_sees h1 bob || { WHY="h1 did not list bob again within 15 s of the restart"; return 1; }
    wait_until 15 agent_sees h2 alice || { WHY="h2 did not list alice again within 15 s of the restart"; return 1; }
    echo "  found again $(elapsed "$t0" "$(now)") s after the restart"
    head -c 200000 /dev/urandom >"$LAB_DIR/after-restart.bin"
    agent_send h1 h2 "$LAB_DIR/after-restart.bin" bob || return 1
    local got
    got=$(find_received h2 after-restart.bin)
    cmp -s "$LAB_DIR/after-restart.bin" "$got" || { WHY="received file differs or is missing"; return 1; }
}

# A host with no IPv4 address at all is found by its IPv6 link-local address
# (with the interface as scope) and receives a file.
case_agent_ipv6_link_local() {
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    lab_ipv6_only h2
    agent_start h1 alice
    agent_start h2 bob
    wait_until 15 agent_sees h1 bob || { WHY="h1 did not list the IPv6-only bob"; return 1; }
    local addrs
    addrs=$(agent_peers_json h1 | jq -r '.[] | select(.name == "bob") | .addresses[]')
    echo "  bob's addresses seen by alice: $(echo "$addrs" | tr '\n' ' ')"
    if ! grep -q '^fe80:.*%veth0$' <<<"$addrs" || grep -q '^10\.' <<<"$addrs"; then
        WHY="expected only link-local addresses scoped %veth0, got: $(echo "$addrs" | tr '\n' ' ')"
        return 1
    fi
    printf 'over link-local\n' >"$LAB_DIR/ll.txt"
    agent_send h1 h2 "$LAB_DIR/ll.txt" bob || return 1
    cmp -s "$LAB_DIR/ll.txt" "$(find_received h2 ll.txt)" || { WHY="received file differs or is missing"; return 1; }
}

# A spoofed advert (avahi-publish: same name, another pk) on another host cannot
# receive a send meant for the real peer: by name the send either reaches the real
# peer or is refused; by the real peer's fingerprint it reaches the real peer; aimed
# at the spoofed key it fails (nobody there holds that key); and the spoofer's port
# never sees the file's content.
case_agent_spoofed_advert() {
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
    wait_until 10 agent_sees h1 bob || { WHY="h1 did not list bob"; return 1; }
    printf 'pairing\n' >"$LAB_DIR/first.txt"
    agent_send h1 h2 "$LAB_DIR/first.txt" bob || { WHY="first send to the real bob failed: $WHY"; return 1; }
    local capture=$LAB_DIR/h3/capture.bin marker real_fp spoof_fp spoof_pk
    marker="MARKER-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    spoof_listen h3 47000 "$capture"
    spoof_pk=$(fake_pk mallory)
    publish_start h3 bob 47000 "$spoof_pk" >/dev/null
    wait_until 10 agent_has_named h1 bob 2 ||
        { WHY="alice does not list the spoofed bob next to the real one"; return 1; }
    printf '%s\n' "$marker" >"$LAB_DIR/secret.txt"
    if agent_send h1 h2 "$LAB_DIR/secret.txt" bob 30; then
        cmp -s "$LAB_DIR/secret.txt" "$(find_received h2 secret.txt)" ||
            { WHY="send by name reported done but the real bob has no intact secret.txt"; return 1; }
        echo "  send by name went to the real (paired) bob"
    else
        echo "  send by name refused: ${WHY#send reported error: }"
        real_fp=$(agent_fingerprint h2)
        agent_send h1 h2 "$LAB_DIR/secret.txt" "${real_fp:0:9}" 30 ||
            { WHY="send to the real bob's fingerprint ${real_fp:0:9} failed: $WHY"; return 1; }
        cmp -s "$LAB_DIR/secret.txt" "$(find_received h2 secret.txt)" ||
            { WHY="the real bob has no intact secret.txt"; return 1; }
        echo "  send to fingerprint ${real_fp:0:9} reached the real bob"
    fi
    spoof_fp=$(agent_peers_json h1 | jq -r --arg k "$spoof_pk" '.[] | select(.publicKey == $k) | .fingerprint')
    if [ -n "$spoof_fp" ]; then
        if agent_send h1 h3 "$LAB_DIR/secret.txt" "${spoof_fp:0:9}" 30; then
            WHY="a send to the spoofed key reported done"
            return 1
        fi
        echo "  send to the spoofed key failed as it must: ${WHY#send reported error: }"
        WHY=""
    fi
    if [ -f "$capture" ] && grep -q "$marker" "$capture"; then
        WHY="the spoofer received the file's content"
        return 1
    fi
    echo "  spoofer received $(stat -c %s "$capture" 2>/dev/null || echo 0) bytes, none of them the file"
}

# spoof_listen HOST PORT FILE: a TCP listener (IPv4 and IPv6) on HOST that appends
# every byte it receives to FILE, for two minutes at most.
spoof_listen() {
    lab_spawn "$1" "$LAB_DIR/h${1#h}/listener.log" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1]))); s.listen(8); s.settimeout(1.0)
end = time.time() + 120
with open(sys.argv[2], "ab") as out:
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(2.0)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                out.write(d)
                out.flush()
        except OSError:
            pass
        c.close()
' "$2" "$3" >/dev/null
}

# SCALE agents (default 30) on one bridge; each lists all the others. LAB_SCALE_TIMEOUT
# (60 s from the moment the last agent was listening) only bounds the wait: how fast they
# found each other is a figure, printed (from the last agent listening and from the last
# start) and kept in BENCHMARKS.md ("Discovery at scale"), not a pass/fail claim.
# A host's list was complete when the last of its peers appeared: the newest
# "firstSeen" (milliseconds, stamped by the agent as it adds the peer) among them.
# The sequential sweeps of `peers` calls that wait for completion are far coarser
# (a call takes 0.1-2 s under load), so they are reported but not what counts.
case_agent_scale() {
    local n=${LAB_SCALE_N:-30} timeout=${LAB_SCALE_TIMEOUT:-60} h t_first t0 worst=0 give_up newest bound
    # The daemons speak mDNS over IPv4 only unless LAB_SCALE_IPV6=yes. Thirty dual-stack
    # avahi-daemons on two cores spend most of their CPU (46% in a perf profile) on
    # known-answer suppression, whose cost grows with the square of the queries per
    # second, and IPv6 doubles the queries; that is the cost of emulating 30 machines
    # on one, not the agent's. IPv6 discovery is covered by agent_ipv6_link_local and
    # the small cases (see README.md, "The scale case").
    local ipv6=${LAB_SCALE_IPV6:-no}
    if [ -n "${LAB_SCALE_BARE:-}" ]; then
        # Every host without dbus and avahi-daemon: the embedded stack at scale.
        LAB_BARE=$(seq -f 'h%g' 1 "$n" | tr '\n' ' ')
    fi
    LAB_AVAHI_IPV6=$ipv6 lab_up "$n" || { WHY="lab_up $n failed"; return 1; }
    t_first=$(now)
    for h in $(lab_hosts); do agent_start "$h" "node-${h#h}"; done
    local t_spawned
    t_spawned=$(now)
    # Counted from the moment the last agent is up (it publishes once it listens): how
    # long a debug build takes to start on a loaded machine is not discovery.
    # One grep over all logs per round (per-host polling spawned so many processes that it
    # noticed the last agent seconds late): t0 is at most one round after the last one.
    local logs=() waiting ready_by=$((SECONDS + 30))
    for h in $(lab_hosts); do logs+=("$LAB_DIR/h${h#h}/agent.log"); done
    while waiting=$(grep -L "listening on port" "${logs[@]}" 2>/dev/null) && [ -n "$waiting" ]; do
        if [ $SECONDS -ge $ready_by ]; then
            WHY="agents not listening 30 s after the start: $(echo "$waiting" | wc -l) (first: $(echo "$waiting" | head -n1))"
            return 1
        fi
        sleep 0.05
    done
    t0=$(now)
    echo "  starting $n agents took $(elapsed "$t_first" "$t_spawned") s; all listening $(elapsed "$t_spawned" "$t0") s later"
    give_up=$((SECONDS + timeout))
    declare -A done_at=()
    # Each `peers` call starts a process (a sweep of 30 took 10-12 s of a loaded CI
    # machine), which would take CPU from the very agents being measured. firstSeen is what
    # counts, so the first sweep waits 10 s (the agent's target), and later ones are spaced.
    sleep 10
    while [ "${#done_at[@]}" -lt "$n" ] && [ $SECONDS -lt $give_up ]; do
        for h in $(lab_hosts); do
            [ -n "${done_at[$h]:-}" ] && continue
            if [ "$(agent_peer_count "$h")" -ge $((n - 1)) ]; then
                done_at[$h]=$(elapsed "$t0" "$(now)")
            fi
        done
        [ "${#done_at[@]}" -lt "$n" ] && sleep 1
    done
    local sweep_worst=0
    for h in $(lab_hosts); do
        if [ -z "${done_at[$h]:-}" ]; then
            WHY="$h lists $(agent_peer_count "$h") of $((n - 1)) peers $timeout s after the last agent listening"
            return 1
        fi
        sweep_worst=$(awk -v a="$sweep_worst" -v b="${done_at[$h]}" 'BEGIN { print (b > a) ? b : a }')
        newest=$(agent_peers_json "$h" | jq -r '[.[].firstSeen] | max // empty')
        if [ -z "$newest" ] || ! newest=$(date -d "$newest" +%s.%N 2>/dev/null); then
            WHY="$h: peers --json gave no readable firstSeen"
            return 1
        fi
        bound=$(awk -v s="$newest" -v t0="$t0" 'BEGIN { l = s - t0; if (l < 0) l = 0; printf "%.2f", l }')
        worst=$(awk -v a="$worst" -v b="$bound" 'BEGIN { print (b > a) ? b : a }')
    done
    echo "  $n agents: every host listed all $((n - 1)) others within ${worst} s of the last agent listening" \
        "($(awk -v w="$worst" -v a="$t_spawned" -v b="$t0" 'BEGIN { printf "%.2f", w + b - a }') s of the last start)" \
        "(sweep alone: ${sweep_worst} s; daemons' mDNS over IPv6 too: $ipv6; load $(cut -d' ' -f1 /proc/loadavg))"
}

# The control socket is the lab user's alone: a 0600 socket in a 0700 directory, both the
# lab user's. Another ordinary user's CLI does not get past the directory; root (which the
# file modes do not stop) is refused by the agent itself (SO_PEERCRED: the connection closes
# without a reply, and the agent logs it); root's CLI refuses a socket directory that is not
# its own. Here and not in the Swift suites: they run as one unprivileged user, and only root
# can act as a second uid.
case_agent_control_socket_owner() {
    LAB_BARE="h1" lab_up 1 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice --no-discovery
    local home sock other=$((LAB_USER_UID - 1)) out rc reply
    home=$(agent_home h1)
    sock=$home/run/control.sock
    wait_until 10 test -S "$sock" || { WHY="no control socket at $sock: $(cat "$LAB_DIR/h1/agent.log")"; return 1; }
    agent_runs_as_lab_user h1 || return 1
    agent_cli h1 status >/dev/null || { WHY="the lab user's own status call failed"; return 1; }
    [ "$(stat -c '%a %u' "$sock")" = "600 $LAB_USER_UID" ] ||
        { WHY="control socket mode and owner: $(stat -c '%a %u' "$sock"), not 600 $LAB_USER_UID"; return 1; }
    [ "$(stat -c '%a %u' "$home/run")" = "700 $LAB_USER_UID" ] ||
        { WHY="socket directory mode and owner: $(stat -c '%a %u' "$home/run"), not 700 $LAB_USER_UID"; return 1; }
    echo "  control socket: mode $(stat -c '%a, uid %u' "$sock"); its directory: mode $(stat -c '%a, uid %u' "$home/run")"

    out=$(lab_exec h1 setpriv --reuid="$other" --regid="$other" --clear-groups -- \
        env -i PATH=/usr/bin:/bin HOME=/nonexistent "$PEERSHARE_BIN" status --home "$home" 2>&1)
    rc=$?
    if [ $rc -ne 9 ] || [[ $out != *"Cannot reach the control socket $sock: Permission denied"* ]]; then
        WHY="uid $other's status: exit $rc (want 9, security), output: $out"
        return 1
    fi
    echo "  uid $other's CLI: exit $rc, \"${out:0:90}...\""

    reply=$(lab_exec h1 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"{\"command\":\"status\"}\n")
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass  # closed with the request unread: a reset instead of a FIN, still no reply
print(repr(data))' "$sock" 2>&1)
    [ "$reply" = "b''" ] || { WHY="root's raw status request got an answer (or an error): $reply"; return 1; }
    wait_until 5 grep -q "control.uid=0 .*refused a control connection from another user" "$LAB_DIR/h1/agent.log" ||
        { WHY="the agent did not log refusing root's connection: $(cat "$LAB_DIR/h1/agent.log")"; return 1; }
    echo "  root's raw connection: closed without a reply, and logged by the agent"

    out=$(lab_exec h1 env -i PATH=/usr/bin:/bin HOME=/nonexistent "$PEERSHARE_BIN" status --home "$home" 2>&1)
    rc=$?
    if [ $rc -ne 9 ] || [[ $out != *"it is served by uid $LAB_USER_UID, not by you (uid 0)"* ]]; then
        WHY="root's status against the lab user's socket: exit $rc (want 9, security), output: $out"
        return 1
    fi
    echo "  root's CLI: exit $rc, \"${out:0:90}...\""
    agent_cli h1 status >/dev/null || { WHY="the lab user's own status call failed afterwards"; return 1; }
}

# An agent on a host with two interfaces on two subnets (the routed lab's R, bare hosts, so
# every agent runs its embedded mDNS stack): R lists A (segment A) and B (segment B), A and
# B each list R at R's address on their own segment, and a file sent by name from A and
# from B to R arrives.
case_agent_two_interfaces() {
    # shellcheck source=lab_routed.sh
    source "$(dirname "${BASH_SOURCE[0]}")/lab_routed.sh"
    lab_routed_up || { WHY="lab_routed_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
    agent_start h3 rita
    wait_until 20 agent_sees h3 alice bob || { WHY="R (two interfaces) did not list alice and bob: $(agent_peers_json h3)"; return 1; }
    wait_until 20 agent_sees h1 rita || { WHY="A did not list rita: $(agent_peers_json h1)"; return 1; }
    wait_until 20 agent_sees h2 rita || { WHY="B did not list rita: $(agent_peers_json h2)"; return 1; }
    local on_a on_b h name got
    on_a=$(agent_peers_json h1 | jq -r '.[] | select(.name == "rita") | .addresses[]' | tr '\n' ' ')
    on_b=$(agent_peers_json h2 | jq -r '.[] | select(.name == "rita") | .addresses[]' | tr '\n' ' ')
    echo "  rita as listed on segment A: $on_a; on segment B: $on_b"
    [[ " $on_a " == *" $ROUTED_R_A "* ]] || { WHY="A lists rita without her segment-A address $ROUTED_R_A: $on_a"; return 1; }
    [[ " $on_b " == *" $ROUTED_R_B "* ]] || { WHY="B lists rita without her segment-B address $ROUTED_R_B: $on_b"; return 1; }
    for h in h1 h2 h3; do agent_runs_as_lab_user "$h" || return 1; done
    make_tree "$LAB_DIR/src/from-a"
    agent_send h1 h3 "$LAB_DIR/src/from-a" rita || return 1
    make_tree "$LAB_DIR/src/from-b"
    agent_send h2 h3 "$LAB_DIR/src/from-b" rita || return 1
    for name in from-a from-b; do
        got=$(find_received h3 "$name")
        same_tree "$LAB_DIR/src/$name" "$got" || return 1
    done
    echo "  a tree from each segment arrived at rita, sent by name"
}
