#!/bin/bash
# run.sh: LAN lab tests on one machine (network namespaces, real avahi-daemons).
#
#   sudo Tests/lan/run.sh [CASE...]      default: every case
#   PEERSHARE_BIN=/path/to/peershare    the agent binary; without it the agent
#                                       cases are skipped (failed under CI=true) and
#                                       only the lab's own checks run
#   CI=true                             a case that would skip fails instead
#   LAB_USER_UID=65534 LAB_USER_GID=65534   who runs every peershare process
#   LAB_SCALE_N=30                      hosts in the scale cases
#   LAB_SCALE_TIMEOUT=60                seconds to wait for every agent to list all others
#                                       (the time it took is printed: a figure for
#                                       BENCHMARKS.md, not a pass/fail limit)
#   LAB_SCALE_BARE=1                    agent_scale with no daemons (embedded stacks)
#   LAB_SCALE_IPV6=yes                  the scale cases with dual-stack daemons (default: IPv4 only)
#   LAB_HARNESS_SCALE_TIMEOUT=60        the same for avahi-browse in lab_scale
#   LAB_AVAHI_IPV6=no                   mDNS over IPv4 only (about half the daemon CPU)
#   LAB_SAME_NAME_REPEAT=5              runs of the 2-host embedded same-host-name case
#   LAB_SAME_NAME_TIMEOUT=30            the same for hosts sharing a host name
#   LAB_KEEP=1                          keep the run's files (logs) in /tmp/lab-*
#
# Prints "PASS name" / "FAIL name: why" / "SKIP name: why" per case (a case skips by
# setting WHY and returning 2, e.g. the interception cases without nft), and last
# exactly "N passed, M failed, K skipped". Exits non-zero if any case failed, and under
# CI=true if any would have skipped (those are reported as FAIL). Not root, or a tool
# missing: says why on stderr and exits 1; root is needed only for namespaces, mounts,
# the daemons and nft: every peershare process runs as the lab user (lab.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"
# shellcheck source=util.sh
source "$HERE/util.sh"
# shellcheck source=cases_lab.sh
source "$HERE/cases_lab.sh"
# shellcheck source=cases_agent.sh
source "$HERE/cases_agent.sh"
# shellcheck source=cases_embedded.sh
source "$HERE/cases_embedded.sh"
# shellcheck source=cases_same_host_name.sh
source "$HERE/cases_same_host_name.sh"
# shellcheck source=cases_faults.sh
source "$HERE/cases_faults.sh"
# shellcheck source=cases_mitm.sh
source "$HERE/cases_mitm.sh"
# shellcheck source=cases_intercept.sh
source "$HERE/cases_intercept.sh"
# shellcheck source=cases_reach.sh
source "$HERE/cases_reach.sh"

lab_require_root || exit 1
# Inside the lab each host picks its own mode; a caller's "off" must not leak in.
unset PEERSHARE_DISCOVERY
trap lab_down EXIT
trap 'exit 130' INT TERM

LAB_CASES=(lab_three_hosts lab_avahi_restart lab_scale lab_isolation_and_teardown)
AGENT_CASES=(agent_three_hosts agent_folder_by_name agent_ambiguous_name agent_avahi_restart
    agent_ipv6_link_local agent_spoofed_advert agent_scale
    agent_embedded_lan agent_mixed_lan agent_daemon_mode_needs_daemon agent_auto_handover
    agent_interface_allow_list agent_control_socket_owner agent_two_interfaces
    agent_same_host_name_embedded_2 agent_same_host_name_embedded_5 agent_same_host_name_daemon_2
    agent_same_host_name_daemon_5 agent_same_host_name_mixed_2 agent_same_host_name_mixed_5
    agent_same_host_name_repeat
    fault_cut_network
    mitm_forward mitm_tamper mitm_impersonate mitm_intercept mitm_intercept_ipv6 mitm_paired
    reach_routed_by_name reach_static_move doctor_nft_drop doctor_client_isolation doctor_all_fine)

PASSED=0
FAILED=0
SKIPPED=0

# A case that cannot run here: a skip, or under CI=true (where every case must run) a failure.
skip_case() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL $1: cannot run, and CI=true allows no skips: $2"
        FAILED=$((FAILED + 1))
    else
        echo "SKIP $1: $2"
        SKIPPED=$((SKIPPED + 1))
    fi
}

run_case() {
    local name=$1
    WHY=""
    if [[ " ${AGENT_CASES[*]} " == *" $name "* ]] && [ -z "${PEERSHARE_BIN:-}" ]; then
        skip_case "$name" "PEERSHARE_BIN is not set"
        return
    fi
    if ! declare -F "case_$name" >/dev/null; then
        echo "FAIL $name: no such case"
        FAILED=$((FAILED + 1))
        return
    fi
    echo "--- $name"
    local status=0
    "case_$name" || status=$?
    if [ "$status" -eq 0 ]; then
        echo "PASS $name"
        PASSED=$((PASSED + 1))
    elif [ "$status" -eq 2 ] && [ -n "$WHY" ]; then
        # A case that cannot run here (a missing tool) says why and counts as skipped.
        skip_case "$name" "$WHY"
    else
        echo "FAIL $name: ${WHY:-returned non-zero}"
        FAILED=$((FAILED + 1))
        if [ -n "${LAB_DIR:-}" ]; then
            LAB_KEEP=${LAB_KEEP:-} lab_dump_logs
        fi
    fi
    agents_stop_all
    lab_down
}

# On failure, the tail of every log of the run, to see why.
# At most 8 logs (a 30-host case would print hundreds of lines of the same).
lab_dump_logs() {
    local f shown=0 logs
    logs=$(find "$LAB_DIR" -name '*.log' -size +0 2>/dev/null | sort -V)
    for f in $logs; do
        if [ $shown -ge 8 ]; then
            echo "  ($(($(wc -l <<<"$logs") - shown)) more logs not shown)"
            break
        fi
        echo "  == ${f#"$LAB_DIR"/} (last 15 lines)"
        tail -n 15 "$f" | sed 's/^/  | /'
        shown=$((shown + 1))
    done
}

if [ -n "${PEERSHARE_BIN:-}" ] && [ ! -x "$PEERSHARE_BIN" ]; then
    echo "PEERSHARE_BIN=$PEERSHARE_BIN is not an executable file" >&2
    exit 1
fi

if [ $# -gt 0 ]; then
    selected=("$@")
else
    selected=("${LAB_CASES[@]}" "${AGENT_CASES[@]}")
fi
for c in "${selected[@]}"; do run_case "$c"; done

echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
