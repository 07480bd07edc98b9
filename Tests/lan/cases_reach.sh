# shellcheck shell=bash
# cases_reach.sh: reaching a peer wherever it is (issue 16). Two subnets joined by a router
# that does not forward multicast (lab_routed.sh), with the embedded mDNS stack on (the
# routed hosts are bare): B is invisible to A's mDNS, yet once paired by HOST:PORT it is
# reached by name, found again through a static entry after it moved, and an impostor at
# its old address is refused. Then `peershare doctor` on one LAN segment: an nft rule that
# drops mDNS, a bridge that drops multicast between hosts (client isolation), and all fine.
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

# shellcheck source=agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/agent.sh"
# shellcheck source=lab_routed.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_routed.sh"

# reach_port HOST: the port HOST's agent listens on (empty until it runs).
reach_port() { agent_cli "$1" status --json 2>/dev/null | jq -r '.port // empty' 2>/dev/null; }

# reach_wait_port HOST VAR: waits for HOST's agent and stores its port in VAR.
reach_wait_port() {
    local found=""
    for _ in $(seq 1 75); do
        found=$(reach_port "$1")
        [ -n "$found" ] && [ "$found" != 0 ] && break
        sleep 0.2
    done
    [ -n "$found" ] && [ "$found" != 0 ] || { WHY="the agent on $1 did not report its port"; return 1; }
    printf -v "$2" '%s' "$found"
}

# reach_file NAME: a small folder to send, readable by the lab user.
reach_file() {
    mkdir -p "$LAB_DIR/src/$1"
    printf '%s\n' "$1 $(date +%s%N)" >"$LAB_DIR/src/$1/note.txt"
    lab_chown "$LAB_DIR/src/$1"
    echo "$LAB_DIR/src/$1"
}

# reach_peer HOST NAME FIELD: FIELD of the entry named NAME in `peers --probe --json` on HOST.
reach_peer() {
    agent_cli "$1" peers --probe --json 2>/dev/null |
        jq -r --arg n "$2" --arg f "$3" '[.[] | select(.name == $n)][0][$f] // empty' 2>/dev/null
}

# A and B on two subnets, discovery on (embedded), paired once by HOST:PORT: afterwards A
# sends by B's name and lists B as paired and reachable, while mDNS never showed B to A.
case_reach_routed_by_name() {
    lab_routed_up || { WHY="lab_routed_up failed"; return 1; }
    agent_start h1 alice --discovery embedded
    agent_start h2 bob --discovery embedded
    local port=""
    reach_wait_port h2 port || return 1
    agent_send h1 h2 "$(reach_file first)" "$ROUTED_B:$port" || return 1
    agent_send h1 h2 "$(reach_file by-name)" bob || { WHY="send --to bob after pairing: $WHY"; return 1; }
    [ -z "$(send_events code)" ] || { WHY="the send by name showed a pairing code"; return 1; }
    [ -n "$(find_received h2 by-name)" ] || { WHY="by-name did not arrive on B"; return 1; }
    local source paired reachable
    source=$(reach_peer h1 bob source)
    paired=$(reach_peer h1 bob paired)
    reachable=$(reach_peer h1 bob reachable)
    [ "$source" = remembered ] && [ "$paired" = true ] && [ "$reachable" = true ] ||
        { WHY="peers on A lists bob as source '$source', paired '$paired', reachable '$reachable'"; return 1; }
    [ "$(agent_peers_json h1 | jq '[.[] | select(.source == "mdns")] | length')" = 0 ] ||
        { WHY="A's mDNS saw a peer across the router: $(agent_peers_json h1)"; return 1; }
    echo "  bob reached by name across the router, latency $(reach_peer h1 bob latencyMs) ms"
}

# B moves to a new address; A finds it through a static entry (the probe proves B's key),
# sends by name, and an impostor that took B's old address is refused with the security
# message, nothing reaching it and A's pins unchanged.
case_reach_static_move() {
    lab_routed_up || { WHY="lab_routed_up failed"; return 1; }
    agent_start h2 bob --no-discovery
    local port=""
    reach_wait_port h2 port || return 1
    agent_start h1 alice --no-discovery --peer "10.213.2.3:$port"
    agent_send h1 h2 "$(reach_file first)" "$ROUTED_B:$port" || return 1
    # B moves (the new address first, so the route through R stays), and an impostor on R
    # answers at B's old address.
    # (Promoting the secondary address keeps it when the primary goes.)
    ip netns exec "$(lab_ns h2)" sysctl -qw net.ipv4.conf.veth0.promote_secondaries=1
    ip -n "$(lab_ns h2)" addr add 10.213.2.3/24 dev veth0 || { WHY="cannot add B's new address"; return 1; }
    ip -n "$(lab_ns h2)" addr del "$ROUTED_B/24" dev veth0 || { WHY="cannot drop B's old address"; return 1; }
    ip -n "$(lab_ns h2)" route replace 10.213.1.0/24 via "$ROUTED_R_B" || { WHY="cannot keep B's route to A"; return 1; }
    ip -n "$(lab_ns h3)" addr add "$ROUTED_B/32" dev veth1 || { WHY="cannot give R B's old address"; return 1; }
    # R tried B's new address when A started (nothing there then) and keeps that failure in
    # its neighbour table for a while; a host that moves announces itself (DHCP, gratuitous
    # ARP), which this flush stands for.
    ip -n "$(lab_ns h3)" neigh flush dev veth1
    agent_dirs h3
    AGENT_PID[h3]=$(lab_spawn_user h3 "$LAB_DIR/h3/agent.log" "$PEERSHARE_BIN" run --home "$(agent_home h3)" \
        --port "$port" --name bob --inbox "$(agent_inbox h3)" --no-discovery)
    local ignored=""
    reach_wait_port h3 ignored || return 1
    [ "$(reach_peer h1 bob reachable)" = true ] && [ "$(reach_peer h1 bob source)" = static ] ||
        { WHY="A's static entry did not find bob at 10.213.2.3: $(agent_cli h1 peers --json)"; return 1; }
    agent_send h1 h2 "$(reach_file after-move)" bob || { WHY="send --to bob after the move: $WHY"; return 1; }
    [ -n "$(find_received h2 after-move)" ] || { WHY="after-move did not arrive on B"; return 1; }
    local pins
    pins=$(sha256sum "$(agent_home h1)/state/trusted.json")
    if agent_send h1 h3 "$(reach_file to-old-address)" "$ROUTED_B:$port" 30; then
        WHY="the impostor at B's old address got the files"
        return 1
    fi
    [[ "$WHY" == *"Security check failed"* ]] || { WHY="the send to the old address did not fail the security check: $WHY"; return 1; }
    [ -z "$(find "$(agent_inbox h3)" -type f 2>/dev/null)" ] || { WHY="files reached the impostor"; return 1; }
    [ "$(sha256sum "$(agent_home h1)/state/trusted.json")" = "$pins" ] || { WHY="the impostor changed A's pins"; return 1; }
    WHY=""
}

# doctor_json HOST [PEER]: `doctor --json` on HOST as the lab user (DOCTOR_JSON, DOCTOR_STATUS).
# With DOCTOR_NET_ADMIN=1 the lab user also holds CAP_NET_ADMIN, which reading the
# nftables ruleset needs (as `sudo peershare doctor` would).
doctor_json() {
    local h=$1 status=0
    shift
    lab_as_user "$h"
    local run=("${LAB_AS_USER[@]}")
    if [ "${DOCTOR_NET_ADMIN:-}" = 1 ]; then
        run=(setpriv --reuid="$LAB_USER_UID" --regid="$LAB_USER_GID" --clear-groups --inh-caps=+net_admin
            --ambient-caps=+net_admin -- "${LAB_AS_USER[@]:5}")
    fi
    DOCTOR_JSON=$(lab_exec "$h" "${run[@]}" "$PEERSHARE_BIN" doctor "$@" --json --home "$(agent_home "$h")" 2>>"$LAB_DIR/$h/doctor.err") || status=$?
    DOCTOR_STATUS=$status
    printf '%s\n' "$DOCTOR_JSON" >>"$LAB_DIR/$h/doctor.log"
}

# doctor_check NAME FIELD: FIELD of the check NAME in DOCTOR_JSON.
doctor_check() { jq -r --arg c "$1" --arg f "$2" '.checks[] | select(.check == $c) | .[$f] | if type == "array" then join("\n") else . end' <<<"$DOCTOR_JSON" 2>/dev/null; }

doctor_lan() {
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
}

# An nft rule on A drops mDNS: doctor names it and exits non-zero.
case_doctor_nft_drop() {
    command -v nft >/dev/null 2>&1 || { WHY="nft is not installed (make deps installs nftables)"; return 2; }
    doctor_lan || return 1
    wait_until 15 agent_sees h1 bob || { WHY="h1 did not list bob"; return 1; }
    lab_exec h1 nft -f - <<'NFT' || { WHY="cannot load the nft rule on A"; return 1; }
table inet peershare_doctor {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport 5353 drop
    }
}
NFT
    DOCTOR_NET_ADMIN=1 doctor_json h1
    [ "$DOCTOR_STATUS" = 14 ] || { WHY="doctor exited $DOCTOR_STATUS, not 14: $DOCTOR_JSON"; return 1; }
    [ "$(doctor_check firewall status)" = problem ] && [[ "$(doctor_check firewall details)" == *"udp dport 5353 drop"* ]] ||
        { WHY="doctor did not name the rule: $(doctor_check firewall message) $(doctor_check firewall details)"; return 1; }
    echo "  doctor: $(doctor_check firewall details)"
}

# A bridge that drops multicast between hosts (client isolation): doctor says no mDNS from
# other hosts was seen, after 5 s of both agents running (doctor_all_fine and every
# discovery case list each other well within that when multicast flows).
case_doctor_client_isolation() {
    command -v nft >/dev/null 2>&1 || { WHY="nft is not installed (make deps installs nftables)"; return 2; }
    lab_up 2 || { WHY="lab_up failed"; return 1; }
    ip netns exec "${LAB_PREFIX}sw" nft -f - <<'NFT' || { WHY="cannot load the bridge's multicast filter"; return 1; }
table bridge peershare_isolation {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip daddr 224.0.0.251 drop
        ip6 daddr ff02::fb drop
    }
}
NFT
    agent_start h1 alice
    agent_start h2 bob
    local ignored=""
    reach_wait_port h1 ignored || return 1
    sleep 5
    doctor_json h1
    [ "$DOCTOR_STATUS" = 14 ] || { WHY="doctor exited $DOCTOR_STATUS, not 14: $DOCTOR_JSON"; return 1; }
    [ "$(doctor_check mdns status)" = problem ] && [[ "$(doctor_check mdns message)" == *"No mDNS from other hosts was seen"* ]] ||
        { WHY="doctor's mdns check: $(doctor_check mdns status) $(doctor_check mdns message)"; return 1; }
}

# Everything fine: doctor (and doctor PEER) exit 0.
case_doctor_all_fine() {
    doctor_lan || return 1
    wait_until 15 agent_sees h1 bob || { WHY="h1 did not list bob"; return 1; }
    DOCTOR_NET_ADMIN=1 doctor_json h1 bob
    [ "$DOCTOR_STATUS" = 0 ] || { WHY="doctor exited $DOCTOR_STATUS, not 0: $DOCTOR_JSON"; return 1; }
    [ "$(doctor_check firewall status)" = ok ] && [ "$(doctor_check mdns status)" = ok ] &&
        [ "$(doctor_check port status)" = ok ] && [ "$(doctor_check peer status)" = ok ] ||
        { WHY="not every check is ok: $DOCTOR_JSON"; return 1; }
}
