# shellcheck shell=bash
# agent.sh: driving the real `peershare` binary ($PEERSHARE_BIN) on lab hosts.
# CLI contract used here:
#   peershare run --home DIR --port 0 --name NAME --inbox DIR [--no-discovery]
#   peershare peers --home DIR --json   -> [{name, fingerprint, addresses, port, paired, ...}]
#   peershare id --home DIR --json      -> {name, fingerprint, publicKey}
#   peershare send PATH --to PEER --home DIR --json  -> JSON lines; {"event":"code","code":...}
#       when pairing, last {"event":"done",...} or {"event":"error","message":...}
#   peershare accept CODE --home DIR
# shellcheck disable=SC2034 # WHY and SEND_LOG are read by the cases and run.sh

declare -A AGENT_PID=()

agent_home() { echo "$LAB_DIR/h${1#h}/home"; }
agent_inbox() { echo "$LAB_DIR/h${1#h}/inbox"; }

# Every peershare process runs as the lab user (lab.sh), which owns the homes and inboxes.

# agent_dirs HOST: HOST's agent home and inbox exist and belong to the lab user.
agent_dirs() {
    mkdir -p "$(agent_home "$1")" "$(agent_inbox "$1")"
    lab_chown "$(agent_home "$1")" "$(agent_inbox "$1")"
}

# agent_start HOST NAME [EXTRA ARGS...]: `peershare run` in the background on HOST.
agent_start() {
    local h=$1 name=$2
    shift 2
    agent_dirs "$h"
    AGENT_PID[$h]=$(lab_spawn_user "$h" "$LAB_DIR/h${h#h}/agent.log" "$PEERSHARE_BIN" run \
        --home "$(agent_home "$h")" --port 0 --name "$name" --inbox "$(agent_inbox "$h")" "$@")
}

# agent_uid HOST: the real uid of HOST's running agent process (from /proc).
agent_uid() {
    [ -n "${AGENT_PID[$1]:-}" ] || return 1
    awk '$1 == "Uid:" { print $2 }' "/proc/${AGENT_PID[$1]}/status" 2>/dev/null
}

# agent_runs_as_lab_user HOST: HOST's agent is the peershare binary and runs with the lab
# user's uid and gid (real and effective) and no supplementary groups; sets WHY otherwise.
agent_runs_as_lab_user() {
    local pid=${AGENT_PID[$1]:-} uids gids groups exe
    [ -n "$pid" ] || { WHY="no agent started on $1"; return 1; }
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
    uids=$(awk '$1 == "Uid:" { print $2, $3 }' "/proc/$pid/status" 2>/dev/null)
    gids=$(awk '$1 == "Gid:" { print $2, $3 }' "/proc/$pid/status" 2>/dev/null)
    groups=$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$pid/status" 2>/dev/null | tr -d ' ')
    if [ "$exe" != "$(readlink -f "$PEERSHARE_BIN")" ] || [ "$uids" != "$LAB_USER_UID $LAB_USER_UID" ] ||
        [ "$gids" != "$LAB_USER_GID $LAB_USER_GID" ] || [ -n "$groups" ]; then
        WHY="$1's agent (pid $pid, $exe) runs as uid '$uids' gid '$gids' groups '$groups', not the lab user $LAB_USER_UID:$LAB_USER_GID"
        return 1
    fi
}

agent_stop() {
    local h=$1
    [ -n "${AGENT_PID[$h]:-}" ] || return 0
    lab_kill "${AGENT_PID[$h]}"
    unset "AGENT_PID[$h]"
}

agents_stop_all() {
    local h
    for h in "${!AGENT_PID[@]}"; do agent_stop "$h"; done
}

# agent_cli HOST SUBCOMMAND [ARGS...]: one CLI call against HOST's agent home.
agent_cli() {
    local h=$1 sub=$2
    shift 2
    lab_exec_user "$h" "$PEERSHARE_BIN" "$sub" "$@" --home "$(agent_home "$h")"
}

agent_peers_json() { agent_cli "$1" peers --json 2>/dev/null; }

# agent_sees HOST NAME...: every NAME is among HOST's discovered peers.
agent_sees() {
    local h=$1 names n
    shift
    names=$(agent_peers_json "$h" | jq -r '.[].name' 2>/dev/null) || return 1
    for n in "$@"; do grep -qxF "$n" <<<"$names" || return 1; done
}

# agent_sees_none HOST NAME: NAME is not among HOST's peers (and peers answered).
agent_sees_none() {
    local names
    names=$(agent_peers_json "$1" | jq -r '.[].name' 2>/dev/null) || return 1
    ! grep -qxF "$2" <<<"$names"
}

# agent_count_named HOST NAME: how many peers HOST lists under NAME.
agent_count_named() {
    agent_peers_json "$1" | jq --arg n "$2" '[.[] | select(.name == $n)] | length' 2>/dev/null || echo 0
}

agent_has_named() { [ "$(agent_count_named "$1" "$2")" -ge "$3" ]; }   # HOST NAME COUNT

agent_peer_count() {
    agent_peers_json "$1" | jq 'length' 2>/dev/null || echo 0
}

agent_fingerprint() { agent_cli "$1" id --json | jq -r '.fingerprint'; }

# send_events EVENT: the JSON lines of SEND_LOG with that "event" (other output,
# such as log lines on stderr, is skipped line by line).
send_events() {
    jq -cR --arg e "$1" 'fromjson? | select(type == "object" and .event == $e)' "$SEND_LOG" 2>/dev/null
}

# agent_send FROM RECEIVER PATH PEER [LIMIT]: sends PATH from FROM to PEER (a name
# or fingerprint), approving a pairing code on RECEIVER's agent when one is shown.
# 0 on {"event":"done"}; otherwise sets WHY. The output stays in SEND_LOG.
agent_send() {
    local from=$1 receiver=$2 path=$3 peer=$4 limit=${5:-60}
    SEND_LOG="$LAB_DIR/h${from#h}/send-$(date +%s%N).log"
    local pid accepted="" code err deadline=$((SECONDS + limit))
    pid=$(lab_spawn_user "$from" "$SEND_LOG" "$PEERSHARE_BIN" send "$path" --to "$peer" \
        --home "$(agent_home "$from")" --json)
    while [ $SECONDS -lt $deadline ]; do
        if [ -z "$accepted" ]; then
            code=$(send_events code | jq -r '.code' | head -n1)
            if [ -n "$code" ]; then
                agent_cli "$receiver" accept "$code" >>"$LAB_DIR/h${receiver#h}/accept.log" 2>&1
                accepted=1
            fi
        fi
        if [ -n "$(send_events "done")" ]; then
            lab_kill "$pid"
            return 0
        fi
        err=$(send_events error | jq -r '.message' | head -n1)
        if [ -n "$err" ]; then
            WHY="send reported error: $err"
            lab_kill "$pid"
            return 1
        fi
        if lab_pid_gone "$pid"; then
            sleep 0.2
            [ -n "$(send_events "done")" ] && return 0
            WHY="send exited without a done event: $(tail -c 400 "$SEND_LOG" | tr '\n' ' ')"
            return 1
        fi
        sleep 0.2
    done
    lab_kill "$pid"
    WHY="send did not finish within ${limit} s"
    return 1
}

# make_tree DIR: a folder with nested dirs, odd names, modes and fixed old mtimes.
make_tree() {
    local d=$1
    mkdir -p "$d/sub/deeper" "$d/empty dir"
    printf 'hello\n' >"$d/readme.txt"
    head -c 3000000 /dev/urandom >"$d/sub/blob.bin"
    : >"$d/sub/empty"
    printf '#!/bin/sh\necho hi\n' >"$d/sub/run.sh"
    printf 'secret\n' >"$d/sub/deeper/private note.txt"
    printf 'caf\xc3\xa9\n' >"$d/sub/deeper/caf$(printf '\xc3\xa9').txt"
    chmod 0755 "$d/sub/run.sh"
    chmod 0600 "$d/sub/deeper/private note.txt"
    chmod 0750 "$d/sub/deeper"
    find "$d" -type f -exec touch -d '2021-03-04 05:06:07' {} +
    touch -d '2020-01-02 03:04:05' "$d/readme.txt"
    lab_chown "$d"   # the sender (the lab user) must read the 0600 file and the 0750 dir
}

# same_tree A B: same content (diff -r), same modes everywhere, same file mtimes
# (whole seconds). Sets WHY on a difference.
same_tree() {
    local a=$1 b=$2 la lb
    if ! diff -r "$a" "$b" >/dev/null 2>&1; then
        WHY="content differs: $(diff -rq "$a" "$b" 2>&1 | head -n 3 | tr '\n' ' ')"
        return 1
    fi
    la=$(cd "$a" && find . -mindepth 1 -printf '%P %y %m\n' | sort)
    lb=$(cd "$b" && find . -mindepth 1 -printf '%P %y %m\n' | sort)
    if [ "$la" != "$lb" ]; then
        WHY="modes differ: $(diff <(echo "$la") <(echo "$lb") | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
        return 1
    fi
    la=$(cd "$a" && find . -type f -printf '%P %Ts\n' | sort)
    lb=$(cd "$b" && find . -type f -printf '%P %Ts\n' | sort)
    if [ "$la" != "$lb" ]; then
        WHY="file mtimes differ: $(diff <(echo "$la") <(echo "$lb") | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
        return 1
    fi
}

# find_received HOST NAME: the path of NAME in HOST's inbox (at any depth).
find_received() {
    find "$(agent_inbox "$1")" -name "$2" -print -quit 2>/dev/null
}
