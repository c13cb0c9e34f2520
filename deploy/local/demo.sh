#!/usr/bin/env bash
# demo.sh: from a fresh clone to a working local cluster in one command.
#
# Installs the packages, builds build/release, starts PostgreSQL and the daemons (up.sh), then
# uses duxctl to create two demo nodes under var/demo/, register them with duxos-registry, send a
# heartbeat from each, list the nodes and show one; then opens two wallet accounts, credits one
# from the faucet, pays the other, and shows balances, history and the ledger check. Safe to run
# again. Then the store and the escrow: the provider publishes its API, the user finds it and
# pays for a call (held, released 95/5), the fund, the audit log's check, and the user's rating.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
readonly HERE REPO
readonly BUILD=build/release
readonly DUXCTL=$REPO/$BUILD/bin/duxctl
readonly REGISTRY=http://127.0.0.1:8101
readonly WALLET=http://127.0.0.1:8102
readonly ESCROW=http://127.0.0.1:8103
readonly STORE=http://127.0.0.1:8104
readonly DEMO_DIR=$REPO/var/demo

WORD=""     # last word printed by run_word's command
ADDRESS=""  # payout address of the node being registered
USER_ADDR=""      # the demo user's wallet account
PROVIDER_ADDR=""  # the demo provider's wallet account
NODE_ID=""  # id of the node just registered
SERVICE_ID=""     # the demo provider's API in the store

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

step() {
    printf '\n==> %s\n' "$*"
}

# Prints a command as the user would type it from the repository root.
show() {
    local line="$*"
    printf '$ %s\n' "${line//"$REPO"\//}"
}

# Shows a command, then runs it.
run() {
    show "$@"
    "$@"
}

# Shows a duxctl command, runs it, and keeps the last word of its output (an id or an address)
# in WORD.
run_word() {
    local out
    show "$@"
    out=$("$@") || return 1
    printf '%s\n' "$out"
    WORD=$(awk 'NF { last = $NF } END { print last }' <<<"$out")
    [[ -n $WORD ]]
}

build_release() {
    local gen=()
    if [[ ! -f $BUILD/CMakeCache.txt ]] && command -v ninja >/dev/null; then
        gen=(-G Ninja)
    fi
    run cmake -S . -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo || die "cmake configure failed"
    run cmake --build "$BUILD" -j"$(nproc)" --target programs || die "build failed"
}

check_duxctl() {
    [[ -x $DUXCTL ]] || die "duxctl was not built (expected $DUXCTL); check the build output above"
}

check_wallet() {
    curl -fsS -o /dev/null --max-time 5 "$WALLET/readyz" ||
        die "duxos-wallet is not ready at $WALLET (see var/log/wallet.log)"
}

# The escrow answers once its community fund's accounts exist in the wallet.
check_escrow() {
    local i
    for i in $(seq 50); do
        curl -fsS -o /dev/null --max-time 2 "$ESCROW/v1/community-fund" 2>/dev/null && return 0
        sleep 0.2
    done
    die "duxos-escrow is not ready at $ESCROW (see var/log/escrow.log)"
}

check_store() {
    curl -fsS -o /dev/null --max-time 5 "$STORE/readyz" ||
        die "duxos-store is not ready at $STORE (see var/log/store.log)"
}

check_registry() {
    curl -fsS -o /dev/null --max-time 5 "$REGISTRY/readyz" ||
        die "duxos-registry is not ready at $REGISTRY (see var/log/registry.log)"
}

# Sets ADDRESS to node N's Flopcoin payout address, created once and kept in var/demo/.
wallet_address() {
    local n=$1 file
    file=$DEMO_DIR/node$n.address
    if [[ -s $file ]]; then
        ADDRESS=$(<"$file")
        printf 'payout address (from %s): %s\n' "${file#"$REPO"/}" "$ADDRESS"
        return
    fi
    run_word "$DUXCTL" address new --key "$DEMO_DIR/node$n.wallet.key" ||
        die "duxctl address new failed for node $n"
    ADDRESS=$WORD
    printf '%s\n' "$ADDRESS" >"$file"
}

# Registers node N (creating its key on first use) and sends a heartbeat; sets NODE_ID.
register_node() {
    local n=$1 port=$2 key
    key=$DEMO_DIR/node$n.key
    wallet_address "$n"
    run_word "$DUXCTL" --registry "$REGISTRY" node init --key "$key" ||
        die "duxctl node init failed for node $n"
    NODE_ID=$WORD
    if ! run "$DUXCTL" --registry "$REGISTRY" node register --key "$key" --wallet "$ADDRESS" \
        --ip 127.0.0.1 --port "$port" --capability task_execution --capability api_hosting \
        --cpu 2 --memory 2048; then
        "$DUXCTL" --registry "$REGISTRY" nodes show "$NODE_ID" >/dev/null 2>&1 ||
            die "registering node $n failed"
        printf '(node %s was registered by an earlier run)\n' "$NODE_ID"
    fi
    run "$DUXCTL" --registry "$REGISTRY" node heartbeat --key "$key" ||
        die "heartbeat of node $n failed"
}

# The wallet: an account for a demo user and one for a demo provider, 100 FLOP from the faucet
# (admin), a payment of 10 FLOP from user to provider, both balances, the history, and the
# ledger's conservation check. Idempotency keys make a second run change nothing.
demo_wallet() {
    local key=$REPO/var/keys/auth.key.pem who user_addr provider_addr
    for who in user provider admin; do
        (umask 077 && "$DUXCTL" token mint --key "$key" --sub "demo-$who" --scope "$who" \
            --ttl 3600 >"$DEMO_DIR/$who.token") || die "duxctl token mint failed"
    done
    local -a user=("$DUXCTL" --wallet "$WALLET" --token-file "$DEMO_DIR/user.token")
    local -a provider=("$DUXCTL" --wallet "$WALLET" --token-file "$DEMO_DIR/provider.token")
    local -a admin=("$DUXCTL" --wallet "$WALLET" --token-file "$DEMO_DIR/admin.token")
    run_word "${user[@]}" wallet address --idempotency-key demo-user-account ||
        die "duxctl wallet address failed"
    user_addr=$WORD
    run_word "${provider[@]}" wallet address --idempotency-key demo-provider-account ||
        die "duxctl wallet address failed"
    provider_addr=$WORD
    run "${admin[@]}" wallet faucet --to "$user_addr" --amount 100 --idempotency-key demo-faucet ||
        die "duxctl wallet faucet failed"
    run "${user[@]}" wallet send --to "$provider_addr" --amount 10 --memo "demo payment" \
        --idempotency-key demo-payment || die "duxctl wallet send failed"
    run "${user[@]}" wallet balance || die "duxctl wallet balance failed"
    run "${provider[@]}" wallet balance || die "duxctl wallet balance failed"
    run "${user[@]}" wallet history || die "duxctl wallet history failed"
    run "${admin[@]}" wallet check || die "the ledger check failed"
    USER_ADDR=$user_addr
    PROVIDER_ADDR=$provider_addr
}

# The store: the demo provider publishes its API under its wallet account (the same one again on
# a second run: Idempotency-Key), and the user finds it by a word and a tag.
demo_store() {
    local -a provider=("$DUXCTL" --store "$STORE" --token-file "$DEMO_DIR/provider.token")
    run_word "${provider[@]}" store publish --name "Demo Echo API" \
        --description "Returns what it is sent: the demo's paid API." --version 1.0.0 \
        --provider "$PROVIDER_ADDR" --price 10 --endpoint http://127.0.0.1:9001/echo \
        --rate-limit 60 --tag demo --tag echo --idempotency-key demo-service ||
        die "duxctl store publish failed"
    SERVICE_ID=$WORD
    run "$DUXCTL" --store "$STORE" store search --q echo --tag demo ||
        die "duxctl store search failed"
}

# After the paid call: the store counted it from the escrow's events, so the user may rate it.
demo_review() {
    local calls="" i
    for i in $(seq 50); do
        calls=$("$DUXCTL" --store "$STORE" --json store show "$SERVICE_ID" |
            grep -o '"total_calls":[0-9]*' | cut -d: -f2) || true
        [[ ${calls:-0} -ge 1 ]] && break
        sleep 0.2
    done
    [[ ${calls:-0} -ge 1 ]] || die "the store did not count the paid call (see var/log/store.log)"
    run "$DUXCTL" --store "$STORE" --token-file "$DEMO_DIR/user.token" store review \
        "$SERVICE_ID" --stars 5 --text "Echoes perfectly." || die "duxctl store review failed"
    run "$DUXCTL" --store "$STORE" store show "$SERVICE_ID" || die "duxctl store show failed"
}

# The seed's API Transaction Flow through the escrow: the user pays 10 FLOP into escrow for the
# provider's API (the store's service), the task engine (a service token) releases it with the result's digest, 95%
# goes to the provider and 5% to the community fund; then the fund and the audit log's check.
demo_escrow() {
    local key=$REPO/var/keys/auth.key.pem escrow_id
    (umask 077 && "$DUXCTL" token mint --key "$key" --sub demo-tasks --scope service \
        --ttl 3600 >"$DEMO_DIR/service.token") || die "duxctl token mint failed"
    local -a user=("$DUXCTL" --escrow "$ESCROW" --token-file "$DEMO_DIR/user.token")
    local -a tasks=("$DUXCTL" --escrow "$ESCROW" --token-file "$DEMO_DIR/service.token")
    local -a admin=("$DUXCTL" --escrow "$ESCROW" --wallet "$WALLET" --token-file "$DEMO_DIR/admin.token")
    run_word "${user[@]}" escrow create --api-id "$SERVICE_ID" --user-wallet "$USER_ADDR" \
        --provider-wallet "$PROVIDER_ADDR" --amount 10 --idempotency-key demo-escrow ||
        die "duxctl escrow create failed"
    escrow_id=$WORD
    printf 'the result of the call\n' >"$DEMO_DIR/result.txt"
    run "${tasks[@]}" escrow release "$escrow_id" --result-file "$DEMO_DIR/result.txt" ||
        die "duxctl escrow release failed"
    run "${user[@]}" escrow show "$escrow_id" || die "duxctl escrow show failed"
    sleep 1.5 # the escrow reads the fund's balance from the wallet every second
    run "$DUXCTL" --escrow "$ESCROW" fund || die "duxctl fund failed"
    run "${admin[@]}" wallet check || die "the ledger check failed"
    run "${admin[@]}" audit verify || die "the audit log does not verify"
}

# Bearer tokens for a demo user, provider and admin, minted with the deployment's key, so that
# every route can be called by hand; then a task outcome reported with a service token.
demo_tokens() {
    local key=$REPO/var/keys/auth.key.pem scope token svc
    for scope in user provider admin; do
        token=$("$DUXCTL" token mint --key "$key" --sub "demo-$scope" --scope "$scope" --ttl 86400) ||
            die "duxctl token mint failed"
        printf '%-9s %s\n' "$scope:" "$token"
    done
    svc=$("$DUXCTL" token mint --key "$key" --sub duxos-tasks --scope service --ttl 600) ||
        die "duxctl token mint failed"
    printf '\n$ curl -X POST %s/v1/nodes/%s/outcomes -H "Authorization: Bearer <service token>" ...\n' \
        "$REGISTRY" "$1"
    curl -fsS -X POST "$REGISTRY/v1/nodes/$1/outcomes" -H "Authorization: Bearer $svc" \
        -H 'Content-Type: application/json' -d "{\"task_id\":\"demo-$RANDOM$RANDOM\",\"success\":true}" |
        grep -o '"reputation_score":[0-9.]*' || die "reporting a task outcome failed"
}

main() {
    [[ $# -eq 0 ]] || die "usage: $PROG (no arguments)"
    cd "$REPO"
    step "Installing the packages the build needs"
    run "$REPO/deploy/install-deps.sh" || die "installing dependencies failed"
    step "Building ($BUILD)"
    build_release
    check_duxctl
    step "Starting PostgreSQL and the daemons"
    run "$HERE/up.sh" || die "the local cluster did not start (see above)"
    check_registry
    mkdir -p "$DEMO_DIR"
    chmod 700 "$DEMO_DIR"
    local node1 node2
    step "Demo node 1: key, payout address, registration, heartbeat"
    register_node 1 9001
    node1=$NODE_ID
    step "Demo node 2: key, payout address, registration, heartbeat"
    register_node 2 9002
    node2=$NODE_ID
    step "Nodes known to the registry"
    run "$DUXCTL" --registry "$REGISTRY" nodes list || die "duxctl nodes list failed"
    step "Node 1 in detail"
    run "$DUXCTL" --registry "$REGISTRY" nodes show "$node1" || die "duxctl nodes show failed"
    step "The wallet: accounts, faucet, a payment, balances, history, conservation check"
    check_wallet
    demo_wallet
    step "The store: the provider publishes its API, the user finds it"
    check_store
    demo_store
    step "The escrow: the user pays for an API call, the task engine releases it 95/5"
    check_escrow
    demo_escrow
    step "The store counted the paid call: the user rates the API"
    demo_review
    step "Bearer tokens for calling the API by hand (valid 24 h)"
    demo_tokens "$node1"
    printf '\nDemo nodes: %s, %s (keys in %s)\n' "$node1" "$node2" "${DEMO_DIR#"$REPO"/}"
    printf 'The store in a browser: %s/ (to rate, sign in with the user token above)\n' "$STORE"
    printf 'The cluster keeps running. Stop it with: deploy/local/down.sh\n'
    printf '(deploy/local/down.sh --purge also deletes var/: database, keys, logs)\n'
}

main "$@"
