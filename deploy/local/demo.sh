#!/usr/bin/env bash
# demo.sh: from a fresh clone to a working local cluster in one command.
#
# Installs the packages, builds build/release, starts PostgreSQL and the daemons (up.sh), then
# uses duxctl to create two demo nodes under var/demo/, register them with duxos-registry, send a
# heartbeat from each, list the nodes and show one; then opens two wallet accounts, credits one
# from the faucet, pays the other, and shows balances, history and the ledger check. Safe to run
# again. Then the store and the task engine: the provider publishes its API and its signed code,
# the user finds it and calls it (the escrow holds the price, the provider's node runs the code
# in the sandbox, the validated result releases it 95/5), the fund, the audit log's check, and
# the user's rating.
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
readonly TASKS=http://127.0.0.1:8105
readonly AIRDROP=http://127.0.0.1:8106
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

check_tasks() {
    curl -fsS -o /dev/null --max-time 5 "$TASKS/readyz" ||
        die "duxos-tasks is not ready at $TASKS (see var/log/tasks.log)"
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

# The seed's API Transaction Flow, end to end: the provider's executor node (the task engine's
# own, var/keys/tasks-node.key) is registered on the provider's account; the provider publishes
# the API's code as a bundle signed with its key (var/keys/provider-bundle.key.pem, which that
# node trusts); the user calls the API through the task engine: the escrow holds 10 FLOP, the
# node runs the code in the sandbox, the result is validated and the escrow released with its
# digest, 95% to the provider and 5% to the community fund. Then the fund, the ledger's and the
# audit log's checks. Idempotency keys make a second run change nothing.
demo_call() {
    local -a provider=("$DUXCTL" --tasks "$TASKS" --token-file "$DEMO_DIR/provider.token")
    local -a user=("$DUXCTL" --tasks "$TASKS" --escrow "$ESCROW" --token-file "$DEMO_DIR/user.token")
    local -a admin=("$DUXCTL" --escrow "$ESCROW" --wallet "$WALLET" --token-file "$DEMO_DIR/admin.token")
    local i escrow_id="" status=""
    run "$DUXCTL" --registry "$REGISTRY" node register --key "$REPO/var/keys/tasks-node.key" \
        --wallet "$PROVIDER_ADDR" --ip 127.0.0.1 --port 8105 --capability task_execution \
        --cpu "$(nproc)" --memory 2048 || die "registering the task engine's node failed"
    printf 'read -r line; printf "echo: %%s\\n" "$line"\n' >"$DEMO_DIR/echo.sh"
    run "${provider[@]}" bundle publish "$SERVICE_ID" --key "$REPO/var/keys/provider-bundle.key.pem" \
        --runtime bash --code "$DEMO_DIR/echo.sh" --version 1.0.0 || die "duxctl bundle publish failed"
    for i in $(seq 50); do # the task engine learns the new wallet from the registry's events
        "$DUXCTL" --tasks "$TASKS" --token-file "$DEMO_DIR/admin.token" executors 2>/dev/null |
            awk -v a="$PROVIDER_ADDR" '$2 == "online" && $4 == a { found = 1 } END { exit !found }' &&
            break
        sleep 0.2
    done
    run "$DUXCTL" --tasks "$TASKS" --token-file "$DEMO_DIR/admin.token" executors ||
        die "duxctl executors failed"
    printf 'hello from the demo\n' >"$DEMO_DIR/input.txt"
    run_word "${user[@]}" call "$SERVICE_ID" --input "$DEMO_DIR/input.txt" --from "$USER_ADDR" \
        --idempotency-key demo-call || die "the paid call failed (see var/log/tasks.log)"
    escrow_id=$("${user[@]}" --json task list --kind call --limit 1 |
        grep -o '"escrow_id":"esc_[0-9a-f]*"' | head -n 1 | cut -d'"' -f4) || true
    [[ -n $escrow_id ]] || die "the call's task names no escrow"
    for i in $(seq 50); do # the task engine releases the escrow right after validating
        status=$("${user[@]}" --json escrow show "$escrow_id" | grep -o '"status":"[a-z]*"' |
            head -n 1 | cut -d'"' -f4) || true
        [[ $status == released ]] && break
        sleep 0.2
    done
    run "${user[@]}" escrow show "$escrow_id" || die "duxctl escrow show failed"
    [[ $status == released ]] || die "the escrow of the call was not released (see var/log/tasks.log)"
    sleep 1.5 # the escrow reads the fund's balance from the wallet every second
    run "$DUXCTL" --escrow "$ESCROW" fund || die "duxctl fund failed"
    run "${admin[@]}" wallet check || die "the ledger check failed"
    run "${admin[@]}" audit verify || die "the audit log does not verify"
}

# The airdrop: the paid call put 0.5 FLOP into the community fund, the local cluster's threshold
# (deploy/config/airdrop.yaml). Its status and a dry run; when nodes have validated work (task
# events of duxos-tasks), the round it proposed is approved by two of the local approver keys
# (var/keys/airdrop-approver-N.key.pem) and paid.
demo_airdrop() {
    local -a air=("$DUXCTL" --token-file "$DEMO_DIR/admin.token")
    local i round=""
    if ! curl -fsS -o /dev/null --max-time 5 "$AIRDROP/readyz" 2>/dev/null; then
        printf '(duxos-airdrop is not running: skipped)\n'
        return 0
    fi
    run "${air[@]}" airdrop status || die "duxctl airdrop status failed"
    run "${air[@]}" airdrop dry-run || die "duxctl airdrop dry-run failed"
    for i in $(seq 25); do
        round=$("$DUXCTL" --json airdrop rounds --status proposed --limit 1 |
            grep -o '"id":"adr_[0-9a-f]*"' | head -n 1 | cut -d'"' -f4) || true
        [[ -n $round ]] && break
        sleep 0.2
    done
    if [[ -z $round ]]; then
        printf '(no round proposed: no node has validated work yet, which duxos-tasks reports)\n'
        return 0
    fi
    run "$DUXCTL" airdrop approve "$round" --key "$REPO/var/keys/airdrop-approver-1.key.pem" ||
        die "duxctl airdrop approve failed"
    run "$DUXCTL" airdrop approve "$round" --key "$REPO/var/keys/airdrop-approver-2.key.pem" ||
        die "duxctl airdrop approve failed"
    run "$DUXCTL" airdrop rounds "$round" || die "duxctl airdrop rounds failed"
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
    step "A paid API call: escrow, the provider's node runs it in the sandbox, validated, 95/5"
    check_escrow
    check_tasks
    demo_call
    step "The airdrop: the fund crossed the local threshold; status, dry run, approvals"
    demo_airdrop
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
