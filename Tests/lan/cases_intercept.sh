# shellcheck shell=bash
# cases_intercept.sh: a man in the middle that A never chose (issue 5). A sends to B's
# REAL address; R, the router between the segments, diverts the connection to its relay
# with an nftables DNAT rule in R's namespace only (lab_routed.sh: routed_intercept_on),
# and the relay dials B's real address (SO_ORIGINAL_DST: `peershare-mitm --target original`).
# Built on cases_mitm.sh (source it first): the same setup, relay and helpers.
# Needs nft (Debian package nftables); without it the cases report SKIP (return 2).
# Each case returns 0 on success, 2 to skip, or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh; MITM_* are read by cases_mitm.sh's helpers

intercept_need_nft() {
    routed_have_nft && return 0
    WHY="nft is not installed (Debian package nftables; make deps installs it): cannot intercept"
    return 1
}

# intercept_relay_field EVENT FIELD: FIELD of the relay's first EVENT line.
intercept_relay_field() { relay_events "$1" | head -n1 | jq -r --arg f "$2" '.[$f] // empty'; }

# intercept_relay_count EVENT: how many EVENT lines the relay wrote.
intercept_relay_count() { relay_events "$1" | wc -l; }

# intercept_check_diverted A_ADDRESS B_SHOWN: the relay's session came from A and was meant for B's address.
intercept_check_diverted() {
    local from original
    from=$(intercept_relay_field sender-connected peer)
    original=$(intercept_relay_field original-destination peer)
    from=${from%:*}
    from=${from#[}
    from=${from%]}
    [ "$from" = "$1" ] || { WHY="the relay's session came from '$from', not from A ($1)"; return 1; }
    [ "$original" = "$2" ] || { WHY="the relay read the original destination '$original', not B's $2"; return 1; }
}

# A sends to B's own address; R's DNAT rule diverts it. With guessed codes the relay pairs
# with nobody: one guess on each side, clear errors on both, no pins, nothing received,
# and a second attempt at once gets only a new offer that waits for a new code. Then, with
# the rule still in place, a forwarding relay: the honest pair completes through it and
# pins the real keys.
intercept_run() {
    local family=$1 a=$2 b=$3 r_a=$4 b_shown=$5
    mitm_setup || return 1
    local MITM_SEND_TO="$b_shown:$B_PORT" MITM_TARGET=original relay_at
    relay_at="$r_a:$MITM_PORT"
    [[ "$family" == ip6 ]] && relay_at="[$r_a]:$MITM_PORT"
    routed_intercept_on "$family" "$b" "$B_PORT" "$relay_at" ||
        { WHY="the nftables DNAT rule could not be loaded in R's namespace"; return 1; }
    local MITM_LISTEN=$relay_at

    local tag name marker folder capture=$(lab_user_dir h3)/capture started
    mitm_secret_folder

    started=$SECONDS
    mitm_relay impersonate --capture "$capture" --wait-for-person 30 --retry-wait 5 || return 1
    mitm_send_start "$folder"
    mitm_approve 5 || return 1
    mitm_send_wait 40
    [ "$SEND_RESULT" = error ] || { WHY="A's send to B's address did not fail against the intercepting relay (result: $SEND_RESULT)"; return 1; }
    intercept_check_diverted "$a" "$MITM_SEND_TO" || return 1
    wait_until 10 grep -q "Pairing with [^ ]* failed" "$LAB_DIR/h2/agent.log" ||
        { WHY="B did not report the failed pairing: $(tail -n 5 "$LAB_DIR/h2/agent.log" | tr '\n' ' ')"; return 1; }
    local b_message e
    b_message=$(grep -m1 "Pairing with [^ ]* failed" "$LAB_DIR/h2/agent.log")
    for e in paired-with-receiver paired-with-sender retry-paired; do
        relay_has "$e" && { WHY="SECURITY: the relay reports $e: $(relay_events "$e")"; return 1; }
    done
    relay_has receiver-confirmation-failed || { WHY="the relay's guess was not tried on B's answer: $(tail -c 400 "$RELAY_LOG")"; return 1; }
    [ "$(intercept_relay_count guessed-to-sender)" = 1 ] || { WHY="the relay did not make exactly one guess on A: $(tail -c 400 "$RELAY_LOG")"; return 1; }
    [ "$(intercept_relay_count offered-to-receiver)" = 1 ] || { WHY="not exactly one first offer to B"; return 1; }
    wait_until 15 relay_retry_ended || { WHY="the relay's second attempt did not end: $(tail -c 400 "$RELAY_LOG")"; return 1; }
    relay_has retry-unanswered || { WHY="B answered the second attempt without a new code: $(tail -n 2 "$RELAY_LOG")"; return 1; }
    [ -z "$(mitm_pins h1)" ] || { WHY="A pinned $(mitm_pins h1)"; return 1; }
    [ -z "$(mitm_pins h2)" ] || { WHY="B pinned $(mitm_pins h2)"; return 1; }
    [ -z "$(mitm_inbox_files h2)" ] || { WHY="files in B's inbox: $(mitm_inbox_files h2 | head -n 3)"; return 1; }
    local f
    for f in "$RELAY_LOG" "$capture.to-receiver" "$capture.to-sender"; do
        mitm_absent "$f" "$marker" "$name" "$CODE" "${CODE:0:3} ${CODE:3}" || return 1
    done
    echo "  A sent to B's address $MITM_SEND_TO; R's DNAT rule gave the session to the relay (it came from $(intercept_relay_field sender-connected peer), original destination $(intercept_relay_field original-destination peer))"
    echo "  guessed codes: one guess on A ($(intercept_relay_field guessed-to-sender guess)), one on B ($(intercept_relay_field offered-to-receiver guess)); B's person typed A's code $CODE"
    echo "  A: \"$SEND_ERROR\""
    echo "  B: \"$b_message\""
    echo "  second attempt: $(intercept_relay_field retry-unanswered message)"
    echo "  no pins on A or B, B's inbox empty, no code/name/content in R's capture ($((SECONDS - started)) s)"

    # The same interception, now forwarding: the honest pair still pairs, with the real keys.
    local file="$LAB_DIR/src/mitm-forward-$tag.bin" size_b size_a
    head -c 300000 /dev/urandom >"$file"
    started=$SECONDS
    mitm_relay forward --capture "$capture.fwd" || return 1
    mitm_send_start "$file"
    mitm_approve || return 1
    mitm_send_wait 60
    [ "$SEND_RESULT" = "done" ] || { WHY="the send through the intercepting forwarder did not finish: ${SEND_ERROR:-no error event}"; return 1; }
    intercept_check_diverted "$a" "$MITM_SEND_TO" || return 1
    cmp -s "$file" "$(find_received h2 "$(basename "$file")")" || { WHY="B has no intact $(basename "$file")"; return 1; }
    local fp_a fp_b
    fp_a=$(agent_fingerprint h1)
    fp_b=$(agent_fingerprint h2)
    [ "$(mitm_pins h1)" = "$fp_b" ] || { WHY="A's pins are '$(mitm_pins h1)', not B's key $fp_b"; return 1; }
    [ "$(mitm_pins h2)" = "$fp_a" ] || { WHY="B's pins are '$(mitm_pins h2)', not A's key $fp_a"; return 1; }
    wait_until 10 relay_has closed || { WHY="the forwarding relay did not see the session end"; return 1; }
    size_b=$(intercept_relay_field closed bytesToReceiver)
    size_a=$(intercept_relay_field closed bytesToSender)
    mitm_absent "$capture.fwd.to-receiver" "$CODE" "${CODE:0:3} ${CODE:3}" || return 1
    echo "  forwarding through the same DNAT rule: paired with the real keys (A pinned ${fp_b:0:19}, B pinned ${fp_a:0:19}), 300000-byte file intact; R carried $size_b bytes A→B, $size_a B→A ($((SECONDS - started)) s)"
    echo "  R's DNAT rule diverted $(routed_intercept_hits "$family") connections from A (a nat rule sees the first packet of each)"
}

case_mitm_intercept() {
    intercept_need_nft || return 2
    intercept_run ip "$ROUTED_A" "$ROUTED_B" "$ROUTED_R_A" "$ROUTED_B"
}

# The same over IPv6: ULA addresses inside the lab's namespaces only, an ip6 nat DNAT rule.
case_mitm_intercept_ipv6() {
    intercept_need_nft || return 2
    local LAB_ROUTED_IPV6=yes
    intercept_run ip6 "$ROUTED6_A" "$ROUTED6_B" "$ROUTED6_R_A" "[$ROUTED6_B]"
}

# trust_digest HOST: a digest of HOST's trust store file (trusted.json), to compare.
trust_digest() {
    local file
    file=$(find "$(agent_home "$1")" -name trusted.json 2>/dev/null | head -n1)
    [ -n "$file" ] && sha256sum "$file" | cut -c1-16
}

# A and B pair honestly; then R intercepts A's next session to B (DNAT) and stands in for
# both ends of the KNOWN (paired) session: toward B it claims A's key, toward A first B's
# key (with B's real signature from its own session with B), then its own key. Both sides
# refuse with an error naming the failed authentication or the key mismatch, nothing is
# received, both trust stores are unchanged; without the rule A→B works again, with no code.
case_mitm_paired() {
    intercept_need_nft || return 2
    mitm_setup || return 1
    local MITM_TARGET=original MITM_SEND_TO="$ROUTED_B:$B_PORT" tag started
    tag=$(mitm_random)
    local first="$LAB_DIR/src/mitm-paired-1-$tag.bin" second="$LAB_DIR/src/mitm-paired-2-$tag.bin"
    head -c 200000 /dev/urandom >"$first"
    head -c 200000 /dev/urandom >"$second"

    started=$SECONDS
    agent_send h1 h2 "$first" "$ROUTED_B:$B_PORT" 60 || return 1
    [ -n "$(send_events code)" ] || { WHY="the first send did not pair with a code"; return 1; }
    local fp_a fp_b trust_a trust_b inbox_before
    fp_a=$(agent_fingerprint h1)
    fp_b=$(agent_fingerprint h2)
    if [ "$(mitm_pins h1)" != "$fp_b" ] || [ "$(mitm_pins h2)" != "$fp_a" ]; then
        WHY="the honest pairing did not pin the real keys"
        return 1
    fi
    trust_a=$(trust_digest h1)
    trust_b=$(trust_digest h2)
    if [ -z "$trust_a" ] || [ -z "$trust_b" ]; then
        WHY="no trusted.json on A or B"
        return 1
    fi
    inbox_before=$(mitm_inbox_files h2 | sort | xargs -r sha256sum)
    echo "  paired honestly (A→B's address with a code, $((SECONDS - started)) s): A pinned ${fp_b:0:19}, B pinned ${fp_a:0:19}"

    routed_intercept_on ip "$ROUTED_B" "$B_PORT" "$ROUTED_R_A:$MITM_PORT" ||
        { WHY="the nftables DNAT rule could not be loaded in R's namespace"; return 1; }
    local claim b_refusals=0 a_errors=()
    for claim in peer own; do
        started=$SECONDS
        mitm_relay stand-in --claim "$claim" --capture "$(lab_user_dir h3)/capture-$claim" || return 1
        mitm_send_start "$second"
        mitm_send_wait 30
        [ "$SEND_RESULT" = error ] || { WHY="A's send did not fail against the stand-in claiming the $claim key (result: $SEND_RESULT)"; return 1; }
        [ -z "$(send_events code)" ] || { WHY="A fell back to pairing and showed a code (claim $claim)"; return 1; }
        intercept_check_diverted "$ROUTED_A" "$MITM_SEND_TO" || return 1
        wait_until 10 relay_has refused-by-receiver ||
            { WHY="the relay did not see B's answer to its M5: $(tail -c 400 "$RELAY_LOG")"; return 1; }
        local e
        for e in accepted-by-sender accepted-by-receiver; do
            relay_has "$e" && { WHY="SECURITY: the relay reports $e: $(relay_events "$e")"; return 1; }
        done
        relay_has refused-by-sender || { WHY="the relay did not see A refuse: $(tail -c 400 "$RELAY_LOG")"; return 1; }
        [ "$(intercept_relay_field sender-hello mode)" = KNOWN ] || { WHY="A did not ask for a KNOWN session"; return 1; }
        [ "$(intercept_relay_field sender-hello fingerprint)" = "$fp_a" ] || { WHY="the relay did not see A's key in M1"; return 1; }
        [ "$(intercept_relay_field receiver-hello mode)" = KNOWN ] || { WHY="B did not grant KNOWN to the claimed key of A"; return 1; }
        [ "$(relay_events receiver-m4 | jq -r '"\(.tagValid) \(.signatureValid)"')" = "true true" ] ||
            { WHY="the relay's own key schedule does not match B's (receiver-m4: $(relay_events receiver-m4))"; return 1; }
        b_refusals=$((b_refusals + 1))
        wait_until 10 mitm_reported h2 "failed authentication (bad signature)" "$b_refusals" ||
            { WHY="B did not report the relay's failed authentication: $(tail -n 5 "$LAB_DIR/h2/agent.log" | tr '\n' ' ')"; return 1; }
        a_errors+=("$SEND_ERROR")
        echo "  stand-in claiming the $claim key to A (claimed $(intercept_relay_field claimed-to-sender fingerprint | cut -c1-19)), A's key to B ($((SECONDS - started)) s):"
        echo "    A: \"$SEND_ERROR\""
        echo "    B: \"$(grep "failed authentication (bad signature)" "$LAB_DIR/h2/agent.log" | sed -n "${b_refusals}p")\""
        echo "    relay: A $(intercept_relay_field refused-by-sender message); B $(intercept_relay_field refused-by-receiver message)"
    done
    [[ "${a_errors[0]}" == *"bad signature"* ]] || { WHY="A's error for B's key with a foreign signature does not name the bad signature: ${a_errors[0]}"; return 1; }
    [[ "${a_errors[1]}" == *"identity key"* ]] || { WHY="A's error for the relay's own key does not name the key mismatch: ${a_errors[1]}"; return 1; }
    [ "$(trust_digest h1)" = "$trust_a" ] || { WHY="A's trust store changed during the attacks"; return 1; }
    [ "$(trust_digest h2)" = "$trust_b" ] || { WHY="B's trust store changed during the attacks"; return 1; }
    [ "$(mitm_inbox_files h2 | sort | xargs -r sha256sum)" = "$inbox_before" ] ||
        { WHY="B's inbox changed during the attacks: $(mitm_inbox_files h2 | head -n 4)"; return 1; }
    echo "  trusted.json unchanged on A ($trust_a) and B ($trust_b); B's inbox unchanged"

    local hits
    hits=$(routed_intercept_hits ip)
    routed_intercept_off ip || { WHY="could not remove the DNAT rule"; return 1; }
    started=$SECONDS
    agent_send h1 h2 "$second" "$ROUTED_B:$B_PORT" 60 || return 1
    [ -z "$(send_events code)" ] || { WHY="A→B needed a code again after the attacks"; return 1; }
    cmp -s "$second" "$(find_received h2 "$(basename "$second")")" || { WHY="B has no intact $(basename "$second")"; return 1; }
    if [ "$(mitm_pins h1)" != "$fp_b" ] || [ "$(mitm_pins h2)" != "$fp_a" ]; then
        WHY="the pins changed after the attacks"
        return 1
    fi
    echo "  DNAT rule removed (it had diverted $hits connections): A→B's address works again, KNOWN, no code ($((SECONDS - started)) s)"
}
