# shellcheck shell=bash
# store_env.sh: a store cluster for the tests that need one (sourced after lib.sh, not run):
# the real duxos-wallet, duxos-escrow and duxos-store on one database of the ctest cluster,
# tokens minted from the test's key, and accounts: alice pays (100 FLOP), bob and carol are
# providers. The sourcing script sets DUXCTL, WALLET_BIN, ESCROW_BIN and STORE_BIN, then calls
# store_setup DBNAME, and stop_all before lib_finish.

WALLET_PID="" ESCROW_PID="" STORE_PID=""
WURL="" EURL="" EBUS="" SURL=""
WALLET_URL="" ESCROW_URL="" STORE_URL="" ESCROW_BUS="" # set by start (printf -v)
# shellcheck disable=SC2034 # also set by start, read by nobody
WALLET_BUS="" STORE_BUS=""
ADMIN="" ALICE="" BOB="" CAROL="" SVC="" STORE_TOKEN="" ESCROW_TOKEN="" # tokens
A1="" B1="" C1="" # alice's account (she pays), bob's and carol's (providers)
S1="" S2=""       # services: bob's upscaler, carol's weather

as() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$WURL" --escrow "$EURL" --store "$SURL" --token "$token" "$@"
}
asj() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$WURL" --escrow "$EURL" --store "$SURL" --token "$token" --json "$@"
}
sctl() { "$DUXCTL" --store "$SURL" "$@"; }

mint() {
    "$DUXCTL" token mint --key "$T/auth.key" --sub "$1" --scope "$2" ||
        die "token mint --sub $1 failed"
}


# start NAME BIN [VAR=VALUE...]: the daemon with $T/NAME.yaml made by NAME_config HTTP BUS and
# the variables in its environment (its secrets), on free ports, tried again when one was
# taken meanwhile; sets NAME_URL, NAME_BUS and DAEMON_PID.
start() {
    local name=$1 bin=$2 http bus kv started=0
    shift 2
    for kv in "$@"; do export "${kv?}"; done
    for _ in 1 2 3 4 5; do
        http=$(free_port "${WURL##*:}" "${EURL##*:}") || die "no free port"
        bus=$(free_port "$http" "${WURL##*:}" "${EURL##*:}") || die "no free port"
        "${name}_config" "$http" "$bus" >"$T/$name.yaml"
        if try_start_daemon "$name" "$bin" "$T/$name.yaml" "http://127.0.0.1:$http"; then
            printf -v "${name^^}_URL" '%s' "http://127.0.0.1:$http"
            printf -v "${name^^}_BUS" '%s' "tcp://127.0.0.1:$bus"
            started=1
            break
        fi
    done
    for kv in "$@"; do unset "${kv%%=*}"; done
    ((started)) || die "$name found no free ports"
}

wallet_config() {
    common_config "$1" "$2"
    printf 'wallet:\n  chain: none\n  encryption: false\n  faucet_limit: "1000"\n'
}

escrow_config() {
    common_config "$1" "$2"
    cat <<EOF
escrow:
  wallet_url: "$WURL"
  audit_key_file: "$T/audit.key"
  fund_shards: 2
  fund_interval_ms: 200
  recovery_interval_ms: 200
EOF
}

store_config() {
    common_config "$1" "$2"
    cat <<EOF
store:
  wallet_url: "$WURL"
  escrow_url: "$EURL"
  escrow_events: "$EBUS"
  events_poll_ms: 300
  max_price: "1000"
EOF
}

# try_start_daemon exports nothing: the pids and URLs come back through these
start_wallet() {
    start wallet "$WALLET_BIN"
    WALLET_PID=$DAEMON_PID WURL=$WALLET_URL
}

start_escrow() {
    openssl genpkey -algorithm ed25519 -out "$T/audit.key" 2>/dev/null ||
        die "openssl could not make the audit key"
    start escrow "$ESCROW_BIN" DUXOS_ESCROW_WALLET_TOKEN="$ESCROW_TOKEN"
    ESCROW_PID=$DAEMON_PID EURL=$ESCROW_URL EBUS=$ESCROW_BUS
    for _ in $(seq 1 300); do # escrows need the fund's accounts, made after start-up
        curl -fsS -o /dev/null --max-time 2 "$EURL/v1/community-fund" 2>/dev/null && return 0
        sleep 0.1
    done
    show_log escrow
    die "the escrow's community fund did not answer 200 within 30 s"
}

start_store() {
    start store "$STORE_BIN" DUXOS_STORE_WALLET_TOKEN="$STORE_TOKEN" \
        DUXOS_STORE_ESCROW_TOKEN="$STORE_TOKEN"
    STORE_PID=$DAEMON_PID SURL=$STORE_URL
}

store_setup() {
    lib_setup "$DUXCTL" "$WALLET_BIN" "$ESCROW_BIN" "$STORE_BIN"
    make_database "${1:?store_setup DBNAME}"
    start_wallet
    ADMIN=$(mint ops admin)
    ALICE=$(mint alice user)
    BOB=$(mint bob provider)
    CAROL=$(mint carol provider)
    SVC=$(mint duxos-tasks service)
    ESCROW_TOKEN=$(mint duxos-escrow service)
    STORE_TOKEN=$(mint duxos-store service)
    A1=$("$DUXCTL" --wallet "$WURL" --token "$ALICE" wallet address | awk '{ print $NF }')
    B1=$("$DUXCTL" --wallet "$WURL" --token "$BOB" wallet address | awk '{ print $NF }')
    C1=$("$DUXCTL" --wallet "$WURL" --token "$CAROL" wallet address | awk '{ print $NF }')
    [[ -n $A1 && -n $B1 && -n $C1 ]] || die "cannot open the wallet accounts"
    "$DUXCTL" --wallet "$WURL" --token "$ADMIN" wallet faucet --to "$A1" --amount 100 \
        >/dev/null || die "faucet failed"
    start_escrow
    start_store
    note "wallet $WURL, escrow $EURL, store $SURL"
}

stop_all() {
    stop_daemon store "$STORE_PID"
    STORE_PID=""
    stop_daemon escrow "$ESCROW_PID"
    ESCROW_PID=""
    stop_daemon wallet "$WALLET_PID"
    WALLET_PID=""
}

