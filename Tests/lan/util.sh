# shellcheck shell=bash
# util.sh: helpers shared by the LAN test cases (sourced by run.sh after lab.sh).

# Seconds since the epoch with nanoseconds, and the difference of two such stamps.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# wait_until SECONDS CMD...: polls CMD every 0.1 s; 0 if it succeeded in time.
wait_until() {
    local limit=$1
    shift
    local deadline
    deadline=$(awk -v t="$(now)" -v l="$limit" 'BEGIN { printf "%.3f", t + l }')
    while :; do
        "$@" && return 0
        if awk -v t="$(now)" -v d="$deadline" 'BEGIN { exit !(t > d) }'; then
            return 1
        fi
        sleep 0.1
    done
}

# --- avahi-browse logs --------------------------------------------------------
# A long-running `avahi-browse -rpk TYPE` on a host, each line stamped with the
# time it was read, in $LAB_DIR/hX/browse.log.
browse_start() {
    local h=$1
    # shellcheck disable=SC2016 # expanded by the inner bash
    lab_spawn "$h" "$LAB_DIR/h${h#h}/browse.log" bash -c \
        'stdbuf -oL avahi-browse -rpk _peershare._tcp | while IFS= read -r l; do printf "%s;%s\n" "$EPOCHREALTIME" "$l"; done' \
        >/dev/null
}

# browse_state HOST: the instance names resolved now ("=" lines minus "-" lines),
# one "name proto" per line, sorted.
browse_state() {
    awk -F';' '
        $2 == "=" { seen[$5 " " $4] = 1 }
        $2 == "-" { delete seen[$5 " " $4] }
        END { for (k in seen) print k }' "$LAB_DIR/h${1#h}/browse.log" 2>/dev/null | sort
}

# browse_count HOST PROTO: how many distinct instances are resolved over PROTO (IPv4/IPv6).
browse_count() {
    browse_state "$1" | awk -v p="$2" '$2 == p' | wc -l
}

# browse_missing HOST PROTO N: which of agent-h1..agent-hN are not resolved over PROTO.
browse_missing() {
    local i out=""
    for i in $(seq 1 "$3"); do
        browse_has_instance "$1" "agent-h$i" "$2" || out+=" agent-h$i"
    done
    echo "${out# }"
}

# Predicates for wait_until.
browse_has() { [ "$(browse_count "$1" "$2")" -ge "$3" ]; }            # HOST PROTO COUNT
browse_has_instance() { browse_state "$1" | grep -qx "$2 $3"; }        # HOST NAME PROTO
browse_lacks_instance() { ! browse_state "$1" | grep -q "^$2 "; }      # HOST NAME

# browse_first_time HOST PROTO COUNT: the stamp of the log line at which COUNT
# distinct instances were first resolved over PROTO; empty if never.
browse_first_time() {
    awk -F';' -v p="$2" -v want="$3" '
        $2 == "=" && $4 == p { if (!($5 in seen)) { seen[$5] = 1; n++ } }
        $2 == "-" && $4 == p { if ($5 in seen) { delete seen[$5]; n-- } }
        n >= want { print $1; exit }' "$LAB_DIR/h${1#h}/browse.log" 2>/dev/null
}

# publish_start HOST NAME PORT PK: avahi-publish of one _peershare._tcp instance.
# Its lines are stamped like the browse log's; the pid printed is avahi-publish's own
# (bash execs it), so stopping that pid withdraws the instance.
publish_start() {
    local h=$1 name=$2 port=$3 pk=$4
    # shellcheck disable=SC2016 # expanded by the inner bash
    lab_spawn "$h" "$LAB_DIR/h${h#h}/publish-$port.log" bash -c \
        'exec stdbuf -oL avahi-publish -s "$@" > >(while IFS= read -r l; do printf "%s;%s\n" "$EPOCHREALTIME" "$l"; done) 2>&1' \
        publish "$name" _peershare._tcp "$port" "v=1" "name=$name" "pk=$pk"
}

# A deterministic fake 32-byte identity key in hex for a label.
fake_pk() { printf '%s' "$1" | sha256sum | cut -c1-64; }
