# shellcheck shell=bash
# cases_mitm.sh: a man in the middle of a first-contact session (issue 5). Host R routes
# between two segments (lab_routed.sh); A (alice, sender) and B (bob, receiver) run the
# real agent ($PEERSHARE_BIN), and R runs the relay tool peershare-mitm (built with the
# package from Tests/Tools/peershare-mitm; $PEERSHARE_MITM_BIN, else next to
# $PEERSHARE_BIN). A sends to R's address, as if R had lured it (a spoofed advert or
# address); the relay forwards, tampers with, or stands in for both ends of the session.
# The people are played as the CLI is used: the code is read from `send --json` on A and
# typed on B with `peershare accept CODE` once B shows the offer.
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

# shellcheck source=agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/agent.sh"
# shellcheck source=lab_routed.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_routed.sh"

MITM_PORT=53317

# mitm_setup: the routed lab, alice on A and bob on B (no discovery), B's port in B_PORT.
mitm_setup() {
    MITM_BIN=${PEERSHARE_MITM_BIN:-$(dirname "$PEERSHARE_BIN")/peershare-mitm}
    [ -x "$MITM_BIN" ] || { WHY="no relay tool at $MITM_BIN (swift build builds it)"; return 1; }
    lab_routed_up || { WHY="lab_routed_up failed"; return 1; }
    agent_start h1 alice --no-discovery
    agent_start h2 bob --no-discovery
    B_PORT=""
    wait_until 15 mitm_read_port || { WHY="bob's agent did not report its port"; return 1; }
    wait_until 15 agent_cli h1 status --json >/dev/null 2>&1 || { WHY="alice's agent did not start"; return 1; }
    mkdir -p "$LAB_DIR/src"
}

mitm_read_port() {
    B_PORT=$(agent_cli h2 status --json 2>/dev/null | jq -r '.port // empty' 2>/dev/null)
    [ -n "$B_PORT" ] && [ "$B_PORT" != 0 ]
}

# mitm_relay MODE [ARGS...]: the relay on R, listening on R's address on segment A and
# aimed at B's agent (MITM_TARGET if set: `original` for a DNAT-diverted session, see
# cases_intercept.sh); RELAY_LOG holds its JSON lines.
mitm_relay() {
    local mode=$1
    shift
    RELAY_LOG="$LAB_DIR/h3/relay-$mode-$(date +%s%N).log"
    lab_spawn_user h3 "$RELAY_LOG" "$MITM_BIN" "$mode" --listen "${MITM_LISTEN:-$ROUTED_R_A:$MITM_PORT}" \
        --target "${MITM_TARGET:-$ROUTED_B:$B_PORT}" --seconds 90 "$@" >/dev/null
    wait_until 10 relay_has listening || { WHY="the relay did not listen: $(tail -c 300 "$RELAY_LOG")"; return 1; }
}

relay_retry_ended() {
    relay_has retry-unanswered || relay_has retry-answered || relay_has retry-refused || relay_has retry-closed
}

# relay_events NAME: the relay's JSON lines with that event; relay_has NAME: there is one.
relay_events() { jq -cR --arg e "$1" 'fromjson? | select(.event == $e)' "$RELAY_LOG" 2>/dev/null; }
relay_has() { [ -n "$(relay_events "$1")" ]; }

# mitm_send_start PATH: `peershare send PATH --to R:PORT --json` on A, in the background
# (--to MITM_SEND_TO if set: B's real address when R intercepts).
mitm_send_start() {
    SEND_LOG="$LAB_DIR/h1/send-$(date +%s%N).log"
    SEND_PID=$(lab_spawn_user h1 "$SEND_LOG" "$PEERSHARE_BIN" send "$1" --to "${MITM_SEND_TO:-$ROUTED_R_A:$MITM_PORT}" \
        --home "$(agent_home h1)" --json)
}

# mitm_offer FIELD: FIELD of the (first) offer waiting on B, empty when none waits.
mitm_offer() { agent_cli h2 inbox --json 2>/dev/null | jq -r --arg f "$1" '.[0][$f] // empty' 2>/dev/null; }

mitm_offer_waits() { [ -n "$(mitm_offer id)" ]; }

mitm_code_and_offer() {
    CODE=$(send_events code | jq -r '.code' | head -n1)
    OFFER_ID=$(mitm_offer id)
    [ -n "$CODE" ] && [ -n "$OFFER_ID" ]
}

# mitm_approve [STATUS]: the person at B, once A shows a code and B shows an offer, types
# the code A shows (CODE; the offer's id in OFFER_ID). `accept` waits for the outcome, so
# its exit status says what B's person learns: STATUS (default 0, the code matched), 5 when
# a relay's own code reached B, 9 when the offer was tampered with. ACCEPT_SAID is its output.
mitm_approve() {
    local want=${1:-0} status=0
    CODE=""
    OFFER_ID=""
    wait_until 20 mitm_code_and_offer ||
        { WHY="no code on A (${CODE:-none}) or no offer on B (${OFFER_ID:-none}): $(tail -c 300 "$SEND_LOG" | tr '\n' ' ')"; return 1; }
    ACCEPT_SAID=$(agent_cli h2 accept "$CODE" 2>&1) || status=$?
    printf '%s\n' "$ACCEPT_SAID" >>"$LAB_DIR/h2/accept.log"
    [ "$status" = "$want" ] ||
        { WHY="accept on B exited $status, not $want: $(tr '\n' ' ' <<<"$ACCEPT_SAID")"; return 1; }
}

# mitm_send_wait LIMIT: waits for A's send to end; SEND_RESULT is done or error,
# SEND_ERROR the error's message.
mitm_send_ended() { [ -n "$(send_events "done")" ] || [ -n "$(send_events error)" ] || lab_pid_gone "$SEND_PID"; }
mitm_send_wait() {
    wait_until "$1" mitm_send_ended
    SEND_ERROR=$(send_events error | jq -r '.message' | head -n1)
    if [ -n "$(send_events "done")" ]; then SEND_RESULT="done"
    elif [ -n "$SEND_ERROR" ]; then SEND_RESULT=error
    else SEND_RESULT=none; fi
    lab_kill "$SEND_PID"
}

# mitm_pins HOST: the fingerprints HOST's trust store holds, one per line.
mitm_pins() { agent_cli "$1" trusted --json 2>/dev/null | jq -r '.[].fingerprint' 2>/dev/null; }

# mitm_inbox_files HOST: every file in HOST's inbox (final names and partial areas alike).
mitm_inbox_files() { find "$(agent_inbox "$1")" -type f 2>/dev/null; }

mitm_inbox_empty() { [ -z "$(mitm_inbox_files "$1")" ]; }

# mitm_reported HOST TEXT COUNT: HOST's agent log has at least COUNT lines with TEXT.
mitm_reported() { [ "$(grep -c -- "$2" "$LAB_DIR/h${1#h}/agent.log" 2>/dev/null)" -ge "$3" ]; }

# mitm_absent FILE NEEDLE...: no NEEDLE occurs in FILE (binary-safe); sets WHY otherwise.
mitm_absent() {
    local file=$1 needle
    shift
    for needle in "$@"; do
        if grep -qaF -- "$needle" "$file"; then
            WHY="$(basename "$file") contains '$needle'"
            return 1
        fi
    done
}

mitm_random() { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }

# A folder holding one small file whose name and content the relay must never learn. Sets
# the caller's (local) tag, name, marker and folder.
mitm_secret_folder() {
    tag=$(mitm_random)
    name="mitm-secret-$tag.txt"
    marker="MITM-CONTENT-$tag"
    folder="$LAB_DIR/src/reports"
    mkdir -p "$folder"
    printf '%s\n' "$marker" >"$folder/$name"
}

# A forwarding relay on R passes the session unchanged: the honest pair pairs with the
# code the person types and the file arrives intact, while every byte R carried shows the
# handshake's magic but neither the file's name, its content nor the pairing code.
case_mitm_forward() {
    mitm_setup || return 1
    local route
    route=$(ip -n "$(lab_ns h1)" route get "$ROUTED_B" 2>&1)
    [[ "$route" == *"via $ROUTED_R_A"* ]] || { WHY="A's route to B is not via R: $route"; return 1; }
    ip netns exec "$(lab_ns h3)" sysctl -qw net.ipv4.ip_forward=0
    if lab_exec h1 timeout 2 bash -c "exec 3<>/dev/tcp/$ROUTED_B/$B_PORT" 2>/dev/null; then
        WHY="A reached B with R's forwarding off: the segments are not separate"
        return 1
    fi
    ip netns exec "$(lab_ns h3)" sysctl -qw net.ipv4.ip_forward=1
    lab_exec h1 timeout 5 bash -c "exec 3<>/dev/tcp/$ROUTED_B/$B_PORT" 2>/dev/null ||
        { WHY="A cannot reach B through R's forwarding"; return 1; }
    echo "  A reaches B only through R (not with R's forwarding off)"

    local tag name marker file capture=$(lab_user_dir h3)/capture
    tag=$(mitm_random)
    name="mitm-secret-$tag.txt"
    marker="MITM-CONTENT-$tag"
    file="$LAB_DIR/src/$name"
    { printf '%s\n' "$marker"; head -c 300000 /dev/urandom; printf '%s\n' "$marker"; } >"$file"
    mitm_relay forward --capture "$capture" || return 1
    mitm_send_start "$file"
    mitm_approve || return 1
    mitm_send_wait 60
    [ "$SEND_RESULT" = "done" ] || { WHY="the send through a forwarding relay did not finish: ${SEND_ERROR:-no error event}"; return 1; }
    cmp -s "$file" "$(find_received h2 "$name")" || { WHY="B has no intact $name"; return 1; }
    local fp_a fp_b
    fp_a=$(agent_fingerprint h1)
    fp_b=$(agent_fingerprint h2)
    [ "$(mitm_pins h1)" = "$fp_b" ] || { WHY="A's pins are '$(mitm_pins h1)', not B's key $fp_b"; return 1; }
    [ "$(mitm_pins h2)" = "$fp_a" ] || { WHY="B's pins are '$(mitm_pins h2)', not A's key $fp_a"; return 1; }
    wait_until 10 relay_has closed || { WHY="the relay did not see the session end"; return 1; }

    local to_b=$capture.to-receiver to_a=$capture.to-sender size_b size_a
    size_b=$(stat -c %s "$to_b")
    size_a=$(stat -c %s "$to_a")
    [ "$size_b" -gt "$(stat -c %s "$file")" ] || { WHY="the relay carried only $size_b bytes A→B"; return 1; }
    grep -qaF PSHR "$to_b" || { WHY="the capture lacks the handshake magic PSHR: not the session's bytes"; return 1; }
    mitm_absent "$to_b" "$marker" "$name" "$CODE" "${CODE:0:3} ${CODE:3}" || return 1
    mitm_absent "$to_a" "$marker" "$name" "$CODE" "${CODE:0:3} ${CODE:3}" || return 1
    echo "  paired through the forwarding relay (A pinned B's key, B pinned A's), $name intact"
    echo "  R carried $size_b bytes A→B and $size_a B→A: PSHR handshake visible; no file name, content or code $CODE"
}

# A relay that forwards the handshake untouched, then flips one bit of a later frame from
# A to B: first the OFFER, then a 256 KiB data frame in the middle of the file. B stops
# with a clear error each time, A is told, and nothing appears in B's inbox, under the
# final name or as a partial file. (After the OFFER flip B has pinned nothing.)
case_mitm_tamper() {
    mitm_setup || return 1
    local tag name file
    tag=$(mitm_random)
    name="mitm-tamper-$tag.bin"
    file="$LAB_DIR/src/$name"
    head -c $((1 << 20)) /dev/urandom >"$file"

    mitm_relay tamper --flip-after-header 1 || return 1
    mitm_send_start "$file"
    mitm_approve 9 || return 1
    [[ "$ACCEPT_SAID" == *tampered* ]] || { WHY="accept on B did not say the offer was tampered with: $ACCEPT_SAID"; return 1; }
    mitm_send_wait 30
    [ "$SEND_RESULT" = error ] || { WHY="A's send did not fail with the OFFER altered (result: $SEND_RESULT)"; return 1; }
    relay_has flipped || { WHY="the relay flipped nothing: $(tail -c 300 "$RELAY_LOG")"; return 1; }
    wait_until 10 mitm_reported h2 tampered 1 ||
        { WHY="B's agent did not report tampering: $(tail -n 5 "$LAB_DIR/h2/agent.log" | tr '\n' ' ')"; return 1; }
    local b_message
    b_message=$(grep -m1 tampered "$LAB_DIR/h2/agent.log")
    [ -z "$(mitm_inbox_files h2)" ] || { WHY="files in B's inbox after the OFFER flip: $(mitm_inbox_files h2 | head -n 3)"; return 1; }
    [ -z "$(mitm_pins h2)" ] || { WHY="B pinned $(mitm_pins h2) although the OFFER failed authentication"; return 1; }
    echo "  OFFER altered: B: '$b_message'"
    echo "                 A: '$SEND_ERROR'; B's inbox empty, no pin on B"

    mitm_relay tamper --flip-after-header 4 || return 1
    mitm_send_start "$file"
    mitm_approve || return 1
    mitm_send_wait 30
    [ "$SEND_RESULT" = error ] || { WHY="A's send did not fail with a data frame altered (result: $SEND_RESULT)"; return 1; }
    local flipped length
    flipped=$(relay_events flipped | head -n1)
    length=$(jq -r '.frameLength' <<<"$flipped")
    if [ -z "$flipped" ] || [ "$length" -le 200000 ]; then
        WHY="the relay did not flip a data frame (flipped: ${flipped:-none})"
        return 1
    fi
    wait_until 10 mitm_reported h2 tampered 2 ||
        { WHY="B's agent did not report the second tampering: $(tail -n 5 "$LAB_DIR/h2/agent.log" | tr '\n' ' ')"; return 1; }
    wait_until 10 mitm_inbox_empty h2 ||
        { WHY="files left in B's inbox after the data flip: $(mitm_inbox_files h2 | head -n 3)"; return 1; }
    [ -z "$(find_received h2 "$name")" ] || { WHY="$name appeared under its final name"; return 1; }
    # The handshake itself was honest (the right code, nothing altered), so any pin is the
    # real peer's key.
    local pin
    for pin in $(mitm_pins h2); do
        [ "$pin" = "$(agent_fingerprint h1)" ] || { WHY="B pinned $pin, not alice's key"; return 1; }
    done
    for pin in $(mitm_pins h1); do
        [ "$pin" = "$(agent_fingerprint h2)" ] || { WHY="A pinned $pin, not bob's key"; return 1; }
    done
    b_message=$(grep tampered "$LAB_DIR/h2/agent.log" | sed -n 2p)
    echo "  data frame altered ($length bytes, bit flipped at offset $(jq -r '.offset' <<<"$flipped")): B: '$b_message'"
    echo "                 A: '$SEND_ERROR'; nothing in B's inbox (no final name, no partial file)"
}

# A relay that answers A as the receiver and offers to B as the sender, running the real
# handshake code with guessed codes, while the person at B types the code A shows: both
# sides fail with a clear message, nobody pins anything, nothing reaches B's inbox, and the
# relay learns neither the code nor a file's name or content. A second attempt at once
# (new connection, new guess) only makes B show a new offer that waits for a new code:
# the code typed for the first attempt is gone.
case_mitm_impersonate() {
    mitm_setup || return 1
    local tag name marker folder capture=$(lab_user_dir h3)/capture
    mitm_secret_folder

    mitm_relay impersonate --capture "$capture" --wait-for-person 30 --retry-wait 6 || return 1
    mitm_send_start "$folder"
    mitm_approve 5 || return 1
    [[ "$ACCEPT_SAID" == *"Wrong code"* ]] || { WHY="accept on B did not say the code was wrong: $ACCEPT_SAID"; return 1; }
    local first_offer=$OFFER_ID shown_fp fp_a fp_b
    shown_fp=$(jq -r '.fingerprint' <<<"$(agent_cli h2 inbox --json 2>/dev/null | jq -c '.[0] // {}')")
    fp_a=$(agent_fingerprint h1)
    fp_b=$(agent_fingerprint h2)

    mitm_send_wait 40
    [ "$SEND_RESULT" = error ] || { WHY="A's send did not fail against the impersonating relay (result: $SEND_RESULT)"; return 1; }
    wait_until 10 grep -q "Pairing with [^ ]*$ROUTED_R_B failed" "$LAB_DIR/h2/agent.log" ||
        { WHY="B did not report the failed pairing: $(tail -n 5 "$LAB_DIR/h2/agent.log" | tr '\n' ' ')"; return 1; }
    local b_message
    b_message=$(grep -m1 "Pairing with [^ ]*$ROUTED_R_B failed" "$LAB_DIR/h2/agent.log")
    local e
    for e in paired-with-receiver paired-with-sender retry-paired; do
        relay_has "$e" && { WHY="SECURITY: the relay reports $e: $(relay_events "$e")"; return 1; }
    done
    relay_has receiver-confirmation-failed || { WHY="the relay's guess was not tried on B's answer: $(tail -c 400 "$RELAY_LOG")"; return 1; }
    relay_has guessed-to-sender || { WHY="the relay did not try its guess on A: $(tail -c 400 "$RELAY_LOG")"; return 1; }
    echo "  B was shown \"alice\" with fingerprint ${shown_fp:0:19} (alice is ${fp_a:0:19}); its person typed A's code $CODE"
    echo "  A: \"$SEND_ERROR\""
    echo "  B: \"$b_message\""

    # The second attempt: B shows a new offer that waits for a code; the typed one is spent.
    wait_until 15 relay_has retry-offered || { WHY="no second attempt: $(tail -c 400 "$RELAY_LOG")"; return 1; }
    wait_until 5 mitm_offer_waits || { WHY="B shows no offer for the second attempt"; return 1; }
    local second_offer needs_code
    second_offer=$(mitm_offer id)
    needs_code=$(mitm_offer needsCode)
    if [ "$second_offer" = "$first_offer" ] || [ "$needs_code" != true ]; then
        WHY="B's offer for the second attempt is $second_offer (first $first_offer), needsCode $needs_code"
        return 1
    fi
    wait_until 15 relay_retry_ended ||
        { WHY="the second attempt did not end"; return 1; }
    relay_has retry-unanswered || { WHY="B answered the second attempt without a new code: $(tail -n 2 "$RELAY_LOG")"; return 1; }
    wait_until 10 grep -q "$second_offer.*withdrawn" "$LAB_DIR/h2/agent.log" ||
        { WHY="B did not close the second offer when the relay left"; return 1; }
    echo "  second attempt at once: B showed a new offer ($second_offer, needs a code) and answered nothing in 6 s; withdrawn when the relay left"

    [ -z "$(mitm_pins h1)" ] || { WHY="A pinned $(mitm_pins h1)"; return 1; }
    [ -z "$(mitm_pins h2)" ] || { WHY="B pinned $(mitm_pins h2)"; return 1; }
    [ -z "$(mitm_inbox_files h2)" ] || { WHY="files in B's inbox: $(mitm_inbox_files h2 | head -n 3)"; return 1; }
    local learned f
    learned=$(relay_events learned-summary | head -n1)
    [ -n "$learned" ] || { WHY="the relay did not report the summary it saw"; return 1; }
    for f in "$RELAY_LOG" "$capture.to-receiver" "$capture.to-sender"; do
        mitm_absent "$f" "$marker" "$name" "$CODE" "${CODE:0:3} ${CODE:3}" || return 1
    done
    [ "$fp_b" != "$shown_fp" ] || { WHY="unexpected: B showed its own fingerprint"; return 1; }
    echo "  no pins on A or B, B's inbox empty; the relay saw only the summary ($(jq -c '{senderName, files, totalBytes, names}' <<<"$learned")), not the code, $name or its content"
}
