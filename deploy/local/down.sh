#!/usr/bin/env bash
# down.sh: stop the local cluster started by up.sh: every daemon named in var/run/*.pid, then
# the PostgreSQL cluster in var/pg.
#
#   deploy/local/down.sh            stop everything, keep data, keys and logs
#   deploy/local/down.sh --purge    stop everything and remove var/ (database, keys, logs)
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
readonly HERE REPO
readonly VAR=$REPO/var
readonly TERM_TIMEOUT=10

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

usage() {
    printf 'usage: %s [--purge]\n' "$PROG"
}

# A process counts as running unless it is gone or a zombie waiting to be reaped.
is_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# True when PID runs program NAME: by its command name, or by argv[0] for a binary whose thread
# name was changed.
is_duxos_process() {
    local pid=$1 name=$2 comm argv0
    comm=$(<"/proc/$pid/comm") 2>/dev/null || return 1
    [[ $comm == "$name" ]] && return 0
    argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || return 1
    [[ ${argv0##*/} == "$name" ]]
}

# Prints the PID in PIDFILE when it is a live duxos-SHORT process (not a recycled PID).
daemon_pid() {
    local pidfile=$1 short pid
    short=$(basename "$pidfile" .pid)
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    is_alive "$pid" || return 1
    is_duxos_process "$pid" "duxos-$short" || return 1
    printf '%s' "$pid"
}

any_alive() {
    local pid
    for pid in "$@"; do
        is_alive "$pid" && return 0
    done
    return 1
}

# SIGTERM to all, then up to TERM_TIMEOUT seconds for a graceful drain, then SIGKILL.
stop_daemons() {
    local pidfile pid pids=() deadline
    shopt -s nullglob
    for pidfile in "$VAR"/run/*.pid; do
        if pid=$(daemon_pid "$pidfile"); then
            note "stopping $(basename "$pidfile" .pid) (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    shopt -u nullglob
    deadline=$((SECONDS + TERM_TIMEOUT))
    while ((${#pids[@]} > 0)) && any_alive "${pids[@]}" && ((SECONDS < deadline)); do
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if is_alive "$pid"; then
            note "pid $pid still running after ${TERM_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -f -- "$VAR"/run/*.pid
}

stop_postgres() {
    if [[ -f $VAR/pg/data/PG_VERSION ]]; then
        "$HERE/pgctl.sh" stop "$VAR/pg" || die "PostgreSQL in $VAR/pg did not stop (see above)"
    fi
}

main() {
    local purge=""
    case ${1:-} in
        "") ;;
        --purge) purge=1 ;;
        -h | --help) usage; return 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
    [[ -d $VAR ]] || { note "nothing to stop ($VAR does not exist)"; return 0; }
    stop_daemons
    stop_postgres
    if [[ -n $purge ]]; then
        rm -rf -- "$VAR"
        note "removed $VAR"
    fi
    note "local cluster stopped"
}

main "$@"
