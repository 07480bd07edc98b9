# shellcheck shell=bash
# cases_same_host_name.sh: hosts that share one host name (fresh installs called
# "debian", Raspberry Pis, cloned VMs, containers), with agents started at the same
# instant, for each stack: embedded (bare hosts), daemon, and a mix. The agents keep
# their default name (the host name), so their service instance names collide too.
# Each case returns 0 on success or sets WHY and returns 1; run.sh tears down.
# shellcheck disable=SC2034 # WHY is read by run.sh

SAME_HOST_NAME=vm
# Bounds the wait for every host to list every other; the time it took is printed, a
# figure (BENCHMARKS.md, "Discovery at scale"), not a pass/fail claim. Hosts that rename in
# lockstep and never settle fail on their rename count and on this bound.
SAME_NAME_TIMEOUT=${LAB_SAME_NAME_TIMEOUT:-30}

# same_name_start_all HOST...: `peershare run -v` (default name) on every HOST, released
# together: each waits (as root, before dropping to the lab user) for a barrier file that
# is created only once every one of them is waiting, so no start delay hides the race.
# Sets SAME_NAME_T0 to the moment of release.
same_name_start_all() {
    local barrier=$LAB_DIR/start-barrier h
    for h in "$@"; do
        agent_dirs "$h"
        lab_as_user "$h"
        # shellcheck disable=SC2016 # expanded by the inner bash
        AGENT_PID[$h]=$(lab_spawn "$h" "$LAB_DIR/h${h#h}/agent.log" bash -c \
            ': >"$1.$2"; while [ ! -e "$1" ]; do sleep 0.005; done; shift 2; exec "$@"' barrier "$barrier" "$h" \
            "${LAB_AS_USER[@]}" "$PEERSHARE_BIN" run -v --home "$(agent_home "$h")" --port 0 --inbox "$(agent_inbox "$h")")
    done
    for h in "$@"; do
        wait_until 10 test -e "$barrier.$h" || { WHY="$h's agent never reached the start barrier"; return 1; }
    done
    SAME_NAME_T0=$(now)
    : >"$barrier"
}

# same_name_sees_all HOST FINGERPRINT...: HOST's peers include every FINGERPRINT.
same_name_sees_all() {
    local h=$1 listed f
    shift
    listed=$(agent_peers_json "$h" | jq -r '.[].fingerprint' 2>/dev/null) || return 1
    for f in "$@"; do grep -qxF "$f" <<<"$listed" || return 1; done
}

# same_name_fingerprints HOST...: fills SAME_NAME_FP[HOST] once each agent listens.
same_name_fingerprints() {
    local h
    for h in "$@"; do
        wait_until 20 grep -q "listening on port" "$LAB_DIR/h${h#h}/agent.log" ||
            { WHY="$h's agent did not listen within 20 s: $(tail -c 300 "$LAB_DIR/h${h#h}/agent.log" | tr '\n' ' ')"; return 1; }
        SAME_NAME_FP[$h]=$(agent_fingerprint "$h")
        [ -n "${SAME_NAME_FP[$h]}" ] || { WHY="no fingerprint from $h"; return 1; }
    done
}

# same_name_host_renames_ok HOST: HOST's embedded stack renamed its host at most once, and
# only to "peershare-" and 8 hex digits (from its key), never "vm-2", "vm-3", ...; sets WHY.
same_name_host_renames_ok() {
    local log=$LAB_DIR/h${1#h}/agent.log lines
    lines=$(grep "host name collision" "$log")
    [ -z "$lines" ] && return 0
    if [ "$(wc -l <<<"$lines")" -gt 1 ] || ! grep -qE 'discovery\.newHost=peershare-[0-9a-f]{8}( |$)' <<<"$lines"; then
        WHY="$1's embedded stack renamed its host $(wc -l <<<"$lines") times: $(head -n 3 <<<"$lines" | grep -oE 'newHost=[^ ]+' | tr '\n' ' ')"
        return 1
    fi
}

# same_name_run N KIND: N hosts all called $SAME_HOST_NAME, KIND embedded (no daemon
# anywhere), daemon (avahi-daemon everywhere) or mixed (daemons on the first
# N/2 hosts, bare hosts after). Every agent lists every other (waited for up to
# SAME_NAME_TIMEOUT seconds from the common start); an embedded stack never renames its host (it advertises
# "peershare-<key>", not the shared name); each agent runs on the stack it should.
same_name_run() {
    local n=$1 kind=$2 h i others t_done
    case $kind in
        embedded) LAB_BARE=$(seq -f 'h%g' 1 "$n" | tr '\n' ' ') ;;
        daemon) LAB_BARE="" ;;
        mixed) LAB_BARE=$(seq -f 'h%g' $((n / 2 + 1)) "$n" | tr '\n' ' ') ;;
        *) WHY="unknown kind $kind"; return 1 ;;
    esac
    LAB_HOSTNAME=$SAME_HOST_NAME lab_up "$n" || { WHY="lab_up $n failed"; return 1; }
    for h in $(lab_hosts); do
        [ "$(lab_exec "$h" hostname)" = "$SAME_HOST_NAME" ] || { WHY="$h is called $(lab_exec "$h" hostname)"; return 1; }
    done
    local bare=$LAB_BARE daemon_names=""
    for h in $(lab_hosts); do
        lab_is "$h" "$bare" && continue
        daemon_names+=" $(lab_exec "$h" dbus-send --system --print-reply=literal --reply-timeout=2000 \
            --dest=org.freedesktop.Avahi / org.freedesktop.Avahi.Server.GetHostName 2>/dev/null | tr -d ' ')"
    done
    [ -n "$daemon_names" ] && echo "  the avahi-daemons settled on host names:$daemon_names"
    same_name_start_all $(lab_hosts) || return 1
    declare -A SAME_NAME_FP=()
    same_name_fingerprints $(lab_hosts) || return 1
    for h in $(lab_hosts); do
        others=()
        for i in $(lab_hosts); do [ "$i" != "$h" ] && others+=("${SAME_NAME_FP[$i]}"); done
        wait_until "$SAME_NAME_TIMEOUT" same_name_sees_all "$h" "${others[@]}" ||
            { WHY="$h lists $(agent_peer_count "$h") of $((n - 1)) peers $SAME_NAME_TIMEOUT s after the common start"; return 1; }
    done
    t_done=$(elapsed "$SAME_NAME_T0" "$(now)")
    local renames=0 host_renames want stack
    for h in $(lab_hosts); do
        agent_runs_as_lab_user "$h" || return 1
        want=avahi-daemon
        lab_is "$h" "$bare" && want=embedded
        stack=$(agent_stack "$h")
        [ "$stack" = "$want" ] || { WHY="$h runs discovery on '$stack', not $want"; return 1; }
        if [ "$want" = embedded ]; then same_name_host_renames_ok "$h" || return 1; fi
        renames=$((renames + $(grep -c "service name collision" "$LAB_DIR/h${h#h}/agent.log")))
    done
    host_renames=$(cat "$LAB_DIR"/h*/agent.log | grep -c "host name collision")
    echo "  $n hosts named '$SAME_HOST_NAME' ($kind) listed each other ${t_done} s after the common start" \
        "($host_renames host and $renames service renames; load $(cut -d' ' -f1 /proc/loadavg))"
}

case_agent_same_host_name_embedded_2() { same_name_run 2 embedded; }
case_agent_same_host_name_embedded_5() { same_name_run 5 embedded; }
case_agent_same_host_name_daemon_2() { same_name_run 2 daemon; }
case_agent_same_host_name_daemon_5() { same_name_run 5 daemon; }
case_agent_same_host_name_mixed_2() { same_name_run 2 mixed; }
case_agent_same_host_name_mixed_5() { same_name_run 5 mixed; }

# The 2-host embedded case again and again (LAB_SAME_NAME_REPEAT times, 5 by default;
# the race it guards against lost about half of the runs): no run may fail.
case_agent_same_host_name_repeat() {
    local runs=${LAB_SAME_NAME_REPEAT:-5} r
    for ((r = 1; r <= runs; r++)); do
        if ! same_name_run 2 embedded; then
            WHY="run $r of $runs: $WHY"
            return 1
        fi
        agents_stop_all
        lab_down
    done
    echo "  $runs of $runs runs passed"
}
