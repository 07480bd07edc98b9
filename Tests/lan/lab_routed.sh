# shellcheck shell=bash
# lab_routed.sh: two LAN segments joined by a router host, for man-in-the-middle tests.
# Source it after lab.sh; it defines functions only, and builds on lab.sh's conventions
# (the run's unique prefix, hosts hN with an anchor process, lab_exec/lab_spawn, and
# lab_down removing every namespace of the run, also on failure).
#
# Layout (prefix P unique per run):
#   ${P}swa  switch namespace, bridge br0: segment A, 10.213.1.0/24
#   ${P}swb  switch namespace, bridge br0: segment B, 10.213.2.0/24
#   ${P}h1   host A (the sender):   veth0 on swa, 10.213.1.2, route to segment B via R
#   ${P}h2   host B (the receiver): veth0 on swb, 10.213.2.2, route to segment A via R
#   ${P}h3   host R (in the middle): veth0 on swa (10.213.1.1), veth1 on swb (10.213.2.1),
#            net.ipv4.ip_forward=1 in its own namespace only
# A and B share no bridge: every packet between them crosses R, which forwards it (and
# can run a relay instead). The hosts are bare (no dbus-daemon, no avahi-daemon): agents
# here run with --no-discovery and are given HOST:PORT, except in agent_two_interfaces,
# where their embedded mDNS stacks find R on each segment (mDNS does not cross R).
#
# With LAB_ROUTED_IPV6=yes the hosts also get IPv6 ULA addresses (fd13:213:1::/64 on
# segment A, fd13:213:2::/64 on segment B, set inside the lab's namespaces only, no DAD),
# with the same routes and IPv6 forwarding on in R's namespace only.
#
# Public functions and values:
#   lab_routed_up                 build the two segments and the three hosts
#   ROUTED_A ROUTED_B             the addresses of A and B
#   ROUTED_R_A ROUTED_R_B         R's address on segment A and on segment B
#   ROUTED6_A ROUTED6_B ROUTED6_R_A ROUTED6_R_B   the same in IPv6 (LAB_ROUTED_IPV6=yes)
# shellcheck disable=SC2034 # LAB_N and LAB_BARE are read by lab.sh's functions

ROUTED_A=10.213.1.2
ROUTED_B=10.213.2.2
ROUTED_R_A=10.213.1.1
ROUTED_R_B=10.213.2.1
ROUTED6_A=fd13:213:1::2
ROUTED6_B=fd13:213:2::2
ROUTED6_R_A=fd13:213:1::1
ROUTED6_R_B=fd13:213:2::1

# routed_switch NAME: a switch namespace ${P}NAME with a bridge br0 (IPv6 off, no snooping).
routed_switch() {
    local sw=${LAB_PREFIX}$1
    ip netns add "$sw"
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$sw" link add br0 type bridge mcast_snooping 0
    ip -n "$sw" link set br0 up
}

# routed_link HOST IFACE SWITCH ADDRESS [ADDRESS6]: a veth IFACE in HOST's namespace, its peer on
# SWITCH's bridge. As in lab.sh, the veth is created inside the host namespace and its
# peer moved straight to the switch, so neither end exists in the machine's namespace.
routed_link() {
    local h=$1 iface=$2 sw=${LAB_PREFIX}$3 address=$4 address6=${5:-} ns peer
    ns=$(lab_ns "$h")
    peer="${LAB_PREFIX}${h}${iface#veth}"
    ip -n "$ns" link add "$iface" type veth peer name "$peer" netns "$sw"
    ip -n "$sw" link set "$peer" master br0 up
    ip -n "$ns" addr add "$address/24" dev "$iface"
    if [ -n "$address6" ]; then
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$iface.disable_ipv6=0"
        ip -n "$ns" addr add "$address6/64" dev "$iface" nodad
    fi
    ip -n "$ns" link set "$iface" up
}

# routed_host HOST: the namespace, lo, and the anchor (a private mount and UTS namespace,
# lab.sh's boot script on a bare host) that lab_exec and lab_spawn enter.
routed_host() {
    local h=$1 ns
    ns=$(lab_ns "$h")
    mkdir -p "$LAB_DIR/$h"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    lab_write_boot "$h"
    ip netns exec "$ns" unshare -m -u --propagation private "$LAB_DIR/$h/boot.sh" \
        >"$LAB_DIR/$h/boot.log" 2>&1 </dev/null &
    echo $! >"$LAB_DIR/$h/anchor.pid"
}

lab_routed_up() {
    if [ -z "$LAB_PREFIX" ]; then
        LAB_PREFIX=pl$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    fi
    LAB_DIR=${LAB_DIR:-$(mktemp -d "/tmp/lab-$LAB_PREFIX.XXXX")}
    chmod 0755 "$LAB_DIR"
    LAB_N=3
    LAB_BARE="h1 h2 h3"
    routed_switch swa || return 1
    routed_switch swb || return 1
    local h
    for h in h1 h2 h3; do routed_host "$h" || return 1; done
    local v6=""
    [ "${LAB_ROUTED_IPV6:-}" = yes ] && v6=1
    routed_link h1 veth0 swa "$ROUTED_A" ${v6:+"$ROUTED6_A"} || return 1
    routed_link h2 veth0 swb "$ROUTED_B" ${v6:+"$ROUTED6_B"} || return 1
    routed_link h3 veth0 swa "$ROUTED_R_A" ${v6:+"$ROUTED6_R_A"} || return 1
    routed_link h3 veth1 swb "$ROUTED_R_B" ${v6:+"$ROUTED6_R_B"} || return 1
    ip netns exec "$(lab_ns h3)" sysctl -qw net.ipv4.ip_forward=1 || return 1
    ip -n "$(lab_ns h1)" route add 10.213.2.0/24 via "$ROUTED_R_A" || return 1
    ip -n "$(lab_ns h2)" route add 10.213.1.0/24 via "$ROUTED_R_B" || return 1
    if [ -n "$v6" ]; then
        ip netns exec "$(lab_ns h3)" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
        ip -n "$(lab_ns h1)" -6 route add fd13:213:2::/64 via "$ROUTED6_R_A" || return 1
        ip -n "$(lab_ns h2)" -6 route add fd13:213:1::/64 via "$ROUTED6_R_B" || return 1
    fi
    lab_wait_daemons
}

# Transparent interception on R (cases_intercept.sh): an nftables DNAT rule in R's
# namespace only, so A keeps dialling B's real address and never learns of R. The table
# lives in R's namespace and goes away with it (lab_down), also on failure.
#
#   routed_have_nft                       nft is installed (else the cases skip)
#   routed_intercept_on FAMILY DADDR DPORT TO
#                                         FAMILY ip or ip6: TCP arriving on R's segment-A
#                                         link for DADDR:DPORT goes to TO (R's relay,
#                                         "ADDR:PORT" or "[ADDR6]:PORT")
#   routed_intercept_off FAMILY           removes the rule (R forwards again)
#   routed_intercept_hits FAMILY          packets the rule diverted so far
ROUTED_NFT_TABLE=peershare_intercept

routed_have_nft() { command -v nft >/dev/null 2>&1; }

routed_intercept_on() {
    local family=$1 daddr=$2 dport=$3 to=$4
    ip netns exec "$(lab_ns h3)" nft -f - <<NFT
table $family $ROUTED_NFT_TABLE {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "veth0" $family daddr $daddr tcp dport $dport counter dnat to $to
    }
}
NFT
}

routed_intercept_off() { ip netns exec "$(lab_ns h3)" nft delete table "$1" "$ROUTED_NFT_TABLE"; }

routed_intercept_hits() {
    ip netns exec "$(lab_ns h3)" nft -j list table "$1" "$ROUTED_NFT_TABLE" 2>/dev/null |
        jq '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | add // 0'
}
