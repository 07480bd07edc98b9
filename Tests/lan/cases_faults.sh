# shellcheck shell=bash
# cases_faults.sh: faults on the lab network, against the real agent ($PEERSHARE_BIN).
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

# shellcheck source=agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/agent.sh"

# The documented limit: a transfer that stays silent for 30 s is cut (checked once a
# second), so both sides must report within FAULT_CUT_LIMIT seconds of the cut.
FAULT_IDLE_SECONDS=30
FAULT_CUT_LIMIT=${FAULT_CUT_LIMIT:-40}

# fault_receiver_idle HOST: HOST's agent has no incoming transfer in progress.
fault_receiver_idle() {
    [ "$(agent_cli "$1" status --json 2>/dev/null | jq '[.transfers[]? | select(.direction == "receive")] | length' 2>/dev/null)" = "0" ]
}

# fault_event_in LOG EVENT: LOG (JSON lines) has an event EVENT.
fault_event_in() {
    jq -cR --arg e "$2" 'fromjson? | select(type == "object" and .event == $e)' "$1" 2>/dev/null | grep -q .
}

# The lab link of the sender goes down mid-transfer: the sender and the receiver each
# report the cut within the documented time, the receiver keeps serving another peer
# meanwhile, and once the link is back the same send resumes where it stopped.
case_fault_cut_network() {
    lab_up 3 || { WHY="lab_up failed"; return 1; }
    agent_start h1 alice
    agent_start h2 bob
    agent_start h3 carol
    wait_until 15 agent_sees h1 bob || { WHY="h1 did not list bob"; return 1; }
    wait_until 15 agent_sees h3 bob || { WHY="h3 did not list bob"; return 1; }

    # Pair alice with bob first, so the big send needs no code.
    printf 'pairing\n' >"$LAB_DIR/pair.txt"
    agent_send h1 h2 "$LAB_DIR/pair.txt" bob || return 1

    # 64 MiB at 40 Mbit/s (the test's own brake on alice's link, tbf) takes ~13 s.
    head -c $((64 << 20)) /dev/urandom >"$LAB_DIR/big.bin"
    touch -d '2022-05-06 07:08:09' "$LAB_DIR/big.bin"
    ip -n "$(lab_ns h1)" link show veth0 >/dev/null || { WHY="no veth0 on h1"; return 1; }
    tc -n "$(lab_ns h1)" qdisc replace dev veth0 root tbf rate 40mbit burst 64kb latency 400ms ||
        { WHY="tc tbf on h1 failed"; return 1; }
    local log="$LAB_DIR/h1/send-cut.log" pid
    pid=$(lab_spawn_user h1 "$log" "$PEERSHARE_BIN" send "$LAB_DIR/big.bin" --to bob --home "$(agent_home h1)" --json)
    wait_until 30 eval "jq -cR 'fromjson? | select(.event == \"progress\" and .bytes >= 8388608)' '$log' 2>/dev/null | grep -q ." ||
        { WHY="no progress past 8 MiB: $(tail -c 300 "$log" | tr '\n' ' ')"; lab_kill "$pid"; return 1; }
    fault_event_in "$log" "done" && { WHY="the transfer ended before the cut"; lab_kill "$pid"; return 1; }

    local t0 t_send="" t_recv="" other_ok=""
    t0=$(now)
    lab_link_down h1
    echo "  link of h1 down at $(date +%T.%3N), mid-transfer"

    # Meanwhile carol sends to bob: served while alice's transfer hangs.
    printf 'from carol during the cut\n' >"$LAB_DIR/during-cut.txt"
    if agent_send h3 h2 "$LAB_DIR/during-cut.txt" bob 30; then
        cmp -s "$LAB_DIR/during-cut.txt" "$(find_received h2 during-cut.txt)" && other_ok=1
    fi
    [ -n "$other_ok" ] || { WHY="bob did not serve carol during the cut: ${WHY:-file differs}"; lab_link_up h1; lab_kill "$pid"; return 1; }
    echo "  carol's file reached bob $(elapsed "$t0" "$(now)") s after the cut"

    local deadline=$((SECONDS + FAULT_CUT_LIMIT + 5))
    while [ $SECONDS -lt $deadline ] && { [ -z "$t_send" ] || [ -z "$t_recv" ]; }; do
        if [ -z "$t_send" ] && { fault_event_in "$log" error || lab_pid_gone "$pid"; }; then t_send=$(now); fi
        if [ -z "$t_recv" ] && fault_receiver_idle h2; then t_recv=$(now); fi
        sleep 0.2
    done
    lab_link_up h1
    tc -n "$(lab_ns h1)" qdisc del dev veth0 root 2>/dev/null
    [ -n "$t_send" ] || { WHY="the sender did not report the cut within $((FAULT_CUT_LIMIT + 5)) s"; lab_kill "$pid"; return 1; }
    [ -n "$t_recv" ] || { WHY="the receiver still shows the transfer $((FAULT_CUT_LIMIT + 5)) s after the cut"; lab_kill "$pid"; return 1; }
    local d_send d_recv message
    d_send=$(elapsed "$t0" "$t_send")
    d_recv=$(elapsed "$t0" "$t_recv")
    message=$(jq -rR 'fromjson? | select(.event == "error") | .message' "$log" 2>/dev/null | head -n1)
    echo "  sender reported the cut after $d_send s: $message"
    echo "  receiver dropped the transfer after $d_recv s: $(grep -m1 -o 'stalled[^"]*' "$LAB_DIR/h2/agent.log" | head -c 160)"
    if awk -v a="$d_send" -v b="$d_recv" -v l="$FAULT_CUT_LIMIT" 'BEGIN { exit !(a > l || b > l) }'; then
        WHY="cut reported after $d_send s (sender) and $d_recv s (receiver), documented at most $FAULT_CUT_LIMIT"
        return 1
    fi
    if awk -v a="$d_send" -v b="$d_recv" -v i="$FAULT_IDLE_SECONDS" 'BEGIN { exit !(a < i - 2 || b < i - 2) }'; then
        WHY="cut reported after $d_send / $d_recv s, before the $FAULT_IDLE_SECONDS s idle limit: not by the idle watch"
        return 1
    fi
    [[ "$message" == *"stalled"* || "$message" == *"network"* ]] ||
        { WHY="the sender's error does not say the transfer stalled: $message"; return 1; }
    local kind
    kind=$(jq -rR 'fromjson? | select(.event == "error") | .kind' "$log" 2>/dev/null | head -n1)
    [ "$kind" = "unreachable" ] || { WHY="the sender's error is of kind '$kind', not 'unreachable' (exit 3)"; return 1; }
    grep -q 'stalled' "$LAB_DIR/h2/agent.log" ||
        { WHY="the receiver's log does not say the transfer stalled: $(tail -c 300 "$LAB_DIR/h2/agent.log" | tr '\n' ' ')"; return 1; }
    [ -z "$(find_received h2 big.bin)" ] || { WHY="an incomplete big.bin appeared under its final name"; return 1; }

    # The link is back: the same send resumes and the file arrives whole.
    wait_until 15 agent_sees h1 bob || { WHY="h1 did not list bob again after the link came back"; return 1; }
    agent_send h1 h2 "$LAB_DIR/big.bin" bob 90 || return 1
    local done_line resumed sent
    done_line=$(send_events "done" | tail -n1)
    resumed=$(jq -r '.resumedBytes // 0' <<<"$done_line")
    sent=$(jq -r '.sentBytes // 0' <<<"$done_line")
    echo "  after the link came back: sent $sent bytes, resumed $resumed of $((64 << 20))"
    if [ "$resumed" -le 0 ] || [ $((resumed + sent)) -ne $((64 << 20)) ]; then
        WHY="the resend did not resume: $done_line"
        return 1
    fi
    cmp -s "$LAB_DIR/big.bin" "$(find_received h2 big.bin)" || { WHY="big.bin differs after the resume"; return 1; }
}
