#!/usr/bin/env bash
# up.sh: start the local cluster: a private PostgreSQL under var/pg and every daemon that is built.
#
#   deploy/local/up.sh
#
# Environment:
#   DUXOS_BUILD_DIR  build tree whose bin/ holds the daemons (default: build/release)
#   DUXOS_PG_PORT    PostgreSQL port when var/pg is first created (default: 55432)
#
# Idempotent: PostgreSQL and daemons already running are left alone. Stop with down.sh.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
BUILD_DIR=$(realpath -m -- "${DUXOS_BUILD_DIR:-$REPO/build/release}")
readonly HERE REPO BUILD_DIR
readonly VAR=$REPO/var
readonly PG_DIR=$VAR/pg
readonly PG_PORT=${DUXOS_PG_PORT:-55432}
readonly KEY_DIR=$VAR/keys
readonly READY_TIMEOUT=30

# short name, HTTP port, event bus (ZeroMQ PUB) port
readonly DAEMONS=(
    "registry 8101 7101"
    "wallet 8102 7102"
    "escrow 8103 7103"
    "store 8104 7104"
    "tasks 8105 7105"
    "airdrop 8106 7106"
)

STARTED=()  # "short port bus" of every daemon expected to be running
READY=()    # those of STARTED whose /readyz answered 200
MISSING=()  # short names not built or without a config
FAILED=0

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL and keys.

start_postgres() {
    "$HERE/pgctl.sh" init "$PG_DIR" "$PG_PORT" || die "PostgreSQL did not start (see above)"
    # shellcheck source=/dev/null
    source "$PG_DIR/env"
    [[ -n ${DUX_PG_CONNINFO:-} && -n ${DUX_PG_PASSWORD_FILE:-} ]] ||
        die "$PG_DIR/env lacks DUX_PG_CONNINFO or DUX_PG_PASSWORD_FILE"
}

ensure_keys() {
    local key=$KEY_DIR/auth.key.pem pub=$KEY_DIR/auth.pub.pem
    mkdir -p "$KEY_DIR"
    chmod 700 "$KEY_DIR"
    if [[ ! -f $key ]]; then
        note "generating the deployment's token signing key $key"
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$key") ||
            die "openssl could not generate an Ed25519 key"
        rm -f -- "$pub"
    fi
    chmod 600 "$key"
    if [[ ! -f $pub ]]; then
        openssl pkey -in "$key" -pubout -out "$pub" || die "openssl could not derive $pub from $key"
    fi
    local pass=$KEY_DIR/wallet.passphrase
    if [[ ! -s $pass ]]; then
        note "generating the wallet's key-sealing passphrase $pass"
        (umask 077 && openssl rand -base64 32 >"$pass") || die "openssl could not generate $pass"
    fi
    chmod 600 "$pass"
    local audit=$KEY_DIR/escrow-audit.key.pem
    if [[ ! -f $audit ]]; then
        note "generating the escrow's audit-log signing key $audit"
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$audit") ||
            die "openssl could not generate an Ed25519 key"
    fi
    chmod 600 "$audit"
}

# The tokens daemons use with each other, minted from the deployment's key at every start
# (valid 30 days, scope service): the escrow's for the wallet, the store's for the wallet (who
# owns a provider address) and for the escrow's events, the task engine's for the registry
# (outcomes, events) and the escrow (releases, refunds), the escrow's for the task engine
# (validated results).
mint_service_tokens() {
    local duxctl=$BUILD_DIR/bin/duxctl pair sub out
    [[ -x $duxctl ]] || return 0
    for pair in escrow-wallet store-wallet store-escrow tasks-registry tasks-escrow escrow-tasks; do
        sub=duxos-${pair%%-*}
        out=$KEY_DIR/$pair.token
        (umask 077 && "$duxctl" token mint --key "$KEY_DIR/auth.key.pem" --sub "$sub" \
            --scope service --ttl 2592000 >"$out.new") || die "duxctl could not mint $out"
        mv -f -- "$out.new" "$out"
    done
}

# The airdrop's own keys and token, made once (keys) or at every start (token): its audit-log
# signing key, the local cluster's three approver keys (demo.sh approves with them; their public
# halves reach the daemon as DUXOS_AIRDROP_APPROVERS), and its service token (sub duxos-airdrop,
# which the escrow's escrow.fund_payers admits).
airdrop_setup() {
    local duxctl=$BUILD_DIR/bin/duxctl key n pubs=()
    for key in "$KEY_DIR/airdrop-audit.key.pem" "$KEY_DIR"/airdrop-approver-{1,2,3}.key.pem; do
        if [[ ! -f $key ]]; then
            note "generating the airdrop's key $key"
            (umask 077 && openssl genpkey -algorithm ed25519 -out "$key") ||
                die "openssl could not generate an Ed25519 key"
        fi
        chmod 600 "$key"
    done
    for n in 1 2 3; do
        pubs+=("$(openssl pkey -in "$KEY_DIR/airdrop-approver-$n.key.pem" -pubout -outform DER |
            tail -c 32 | basenc --base64url | tr -d '=\n')") || die "cannot read approver key $n"
    done
    export DUXOS_AIRDROP_APPROVERS
    DUXOS_AIRDROP_APPROVERS=$(IFS=,; printf '%s' "${pubs[*]}")
    [[ -x $duxctl ]] || return 0
    (umask 077 && "$duxctl" token mint --key "$KEY_DIR/auth.key.pem" --sub duxos-airdrop \
        --scope service --ttl 2592000 >"$KEY_DIR/airdrop-service.token.new") ||
        die "duxctl could not mint the airdrop's token"
    mv -f -- "$KEY_DIR/airdrop-service.token.new" "$KEY_DIR/airdrop-service.token"
}

# The task engine's own keys, made once: the executor node's identity (var/keys/tasks-node.key,
# registered with the registry once it runs: register_tasks_node) and the local provider's
# bundle-signing key, whose public half the executor trusts (DUXOS_TASKS_BUNDLE_KEYS): demo.sh
# signs the demo API's code with it.
tasks_setup() {
    local duxctl=$BUILD_DIR/bin/duxctl bundle=$KEY_DIR/provider-bundle.key.pem
    [[ -x $duxctl ]] || return 0
    if [[ ! -f $KEY_DIR/tasks-node.key ]]; then
        note "generating the task engine's node key $KEY_DIR/tasks-node.key"
        "$duxctl" node init --key "$KEY_DIR/tasks-node.key" >/dev/null ||
            die "duxctl node init failed"
    fi
    if [[ ! -f $bundle ]]; then
        note "generating the local provider's bundle-signing key $bundle"
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$bundle") ||
            die "openssl could not generate an Ed25519 key"
    fi
    export DUXOS_TASKS_BUNDLE_KEYS
    DUXOS_TASKS_BUNDLE_KEYS=$(openssl pkey -in "$bundle" -pubout -outform DER | tail -c 32 |
        basenc --base64url | tr -d '=\n') || die "cannot read $bundle"
}

# The executor of the task engine claims work as a node of the registry: registered on its own
# payout address (made once, offline) with the capability task_execution. demo.sh registers it
# again on the demo provider's account, so that it runs that provider's paid calls.
register_tasks_node() {
    local duxctl=$BUILD_DIR/bin/duxctl addr=$KEY_DIR/tasks-node.address
    [[ -x $duxctl && -f $KEY_DIR/tasks-node.key ]] || return 0
    daemon_pid tasks >/dev/null && daemon_pid registry >/dev/null || return 0
    if [[ ! -s $addr ]]; then
        "$duxctl" address new --key "$KEY_DIR/tasks-node.wallet.key" | tail -n 1 |
            awk '{print $NF}' >"$addr" || die "duxctl address new failed"
    fi
    "$duxctl" --registry http://127.0.0.1:8101 node register --key "$KEY_DIR/tasks-node.key" \
        --wallet "$(<"$addr")" --ip 127.0.0.1 --port 8105 --capability task_execution \
        --cpu "$(nproc)" --memory 2048 >/dev/null 2>&1 ||
        note "the task engine's node is already registered (kept as it is)"
}

# ---------------------------------------------------------------------------------------------
# Daemons.

pid_file() { printf '%s/run/%s.pid' "$VAR" "$1"; }
log_file() { printf '%s/log/%s.log' "$VAR" "$1"; }

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

# Prints the PID of the running daemon SHORT named by its pid file; fails when there is none
# (a stale pid file whose PID now belongs to another program does not count).
daemon_pid() {
    local short=$1 pid
    [[ -f $(pid_file "$short") ]] || return 1
    pid=$(<"$(pid_file "$short")")
    [[ $pid =~ ^[0-9]+$ ]] && is_alive "$pid" || return 1
    is_duxos_process "$pid" "duxos-$short" || return 1
    printf '%s' "$pid"
}

port_in_use() {
    [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]] ||
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

launch() {
    local short=$1 bin=$2 cfg=$3
    mkdir -p "$VAR/log" "$VAR/run"
    (
        cd "$REPO"
        export DUXOS_DB_CONNINFO=$DUX_PG_CONNINFO
        export DUXOS_DB_PASSWORD_FILE=$DUX_PG_PASSWORD_FILE
        export DUXOS_AUTH_PUBLIC_KEY_FILE=$KEY_DIR/auth.pub.pem
        printf '\n=== %s starting duxos-%s\n' "$(date -u +%FT%TZ)" "$short" >>"$(log_file "$short")"
        setsid nohup "$bin" --config "$cfg" >>"$(log_file "$short")" 2>&1 </dev/null &
        printf '%s\n' "$!" >"$(pid_file "$short")"
    )
}

start_daemon() {
    local short=$1 port=$2 bus=$3 bin cfg pid
    bin=$BUILD_DIR/bin/duxos-$short
    cfg=$REPO/deploy/config/$short.yaml
    if [[ ! -x $bin ]]; then
        note "duxos-$short: not built ($bin is missing); skipped"
        MISSING+=("$short")
        return
    fi
    if [[ ! -f $cfg ]]; then
        note "duxos-$short: no config ($cfg is missing); skipped"
        MISSING+=("$short")
        return
    fi
    if pid=$(daemon_pid "$short"); then
        note "duxos-$short: already running (pid $pid)"
    elif port_in_use "$port"; then
        note "duxos-$short: port $port is already taken by another process; not started"
        FAILED=$((FAILED + 1))
        return
    else
        launch "$short" "$bin" "$cfg"
        note "duxos-$short: started (pid $(<"$(pid_file "$short")"))"
    fi
    STARTED+=("$short $port $bus")
}

show_log_tail() {
    local short=$1
    printf '%s: last lines of %s:\n' "$PROG" "$(log_file "$short")" >&2
    tail -n 20 "$(log_file "$short")" >&2 || true
}

# Waits until GET /readyz answers 200 or the shared DEADLINE (in $SECONDS) passes; fails early
# when the daemon exits.
wait_ready() {
    local short=$1 port=$2 deadline=$3 pid code
    pid=$(<"$(pid_file "$short")")
    while ((SECONDS < deadline)); do
        if ! is_alive "$pid"; then
            note "duxos-$short exited during start-up"
            show_log_tail "$short"
            return 1
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            "http://127.0.0.1:$port/readyz" 2>/dev/null) || true
        [[ $code == 200 ]] && return 0
        sleep 0.2
    done
    note "duxos-$short: /readyz on port $port did not answer 200 within ${READY_TIMEOUT}s (last: ${code:-none})"
    show_log_tail "$short"
    return 1
}

wait_all_ready() {
    local entry short port bus deadline=$((SECONDS + READY_TIMEOUT))
    for entry in "${STARTED[@]}"; do
        read -r short port bus <<<"$entry"
        if wait_ready "$short" "$port" "$deadline"; then
            READY+=("$entry")
        else
            FAILED=$((FAILED + 1))
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# Report.

print_daemons() {
    local entry short port bus base
    ((${#READY[@]} > 0)) || return 0
    printf '\n%-9s %-22s %-30s %-31s %-35s %s\n' \
        DAEMON HTTP READYZ METRICS OPENAPI BUS
    for entry in "${READY[@]}"; do
        read -r short port bus <<<"$entry"
        base=http://127.0.0.1:$port
        printf '%-9s %-22s %-30s %-31s %-35s %s\n' "$short" "$base" "$base/readyz" \
            "$base/metrics" "$base/openapi.yaml" "tcp://127.0.0.1:$bus"
    done
}

print_summary() {
    print_daemons
    printf '\nPostgreSQL:  %s (password in %s)\n' "$DUX_PG_CONNINFO" "$DUX_PG_PASSWORD_FILE"
    printf 'Logs:        %s/log/<daemon>.log, PostgreSQL: %s/log/postgresql.log\n' "$VAR" "$PG_DIR"
    printf 'Token key:   %s/auth.key.pem (public: auth.pub.pem)\n' "$KEY_DIR"
    printf 'Stop with:   %s/deploy/local/down.sh\n' "$REPO"
    if ((${#MISSING[@]} > 0)); then
        printf 'Not started: %s (not built or no config)\n' "${MISSING[*]}"
    fi
}

main() {
    [[ $# -eq 0 ]] || die "usage: $PROG (no arguments; see the header of $0)"
    command -v curl >/dev/null || die "curl is missing (run deploy/install-deps.sh)"
    command -v openssl >/dev/null || die "openssl is missing (run deploy/install-deps.sh)"
    start_postgres
    ensure_keys
    mint_service_tokens
    airdrop_setup
    tasks_setup
    local entry
    for entry in "${DAEMONS[@]}"; do
        # shellcheck disable=SC2086 # entry is "short port bus"
        start_daemon $entry
    done
    if ((${#STARTED[@]} == 0 && FAILED == 0)); then
        note "no daemon binaries in $BUILD_DIR/bin; build them first:"
        note "  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build/release"
        note "PostgreSQL is running ($DUX_PG_CONNINFO); stop it with deploy/local/down.sh"
        exit 1
    fi
    wait_all_ready
    register_tasks_node
    print_summary
    ((FAILED == 0)) || die "$FAILED daemon(s) failed to start; see the messages above"
}

main "$@"
