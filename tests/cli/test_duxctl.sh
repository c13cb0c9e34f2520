#!/usr/bin/env bash
# test_duxctl.sh BUILD_DIR SOURCE_DIR: duxctl against a real duxos-registry.
#
# Makes its own database in the ctest cluster (DUX_TEST_PG_DIR), a token key pair, and a
# registry config on free ports; starts BUILD_DIR/bin/duxos-registry, then drives duxctl the
# way an operator's scripts do and checks exit codes and output. Every duxctl run is also
# checked for sanitizer reports. The registry is stopped with SIGTERM at the end and must exit
# 0 (it runs under AddressSanitizer: anything else is a leak or a crash, and its log is shown).
# The helpers are in lib.sh, shared with test_duxctl_wallet.sh.
set -uo pipefail # not -e: a failed check is counted and reported, the run goes on

readonly BUILD=${1:?usage: test_duxctl.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_duxctl.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly REGISTRY_BIN=$BUILD/bin/duxos-registry
readonly PGCTL=$SRC/deploy/local/pgctl.sh

# duxctl must not pick up the caller's settings
unset DUXOS_REGISTRY_URL DUXOS_WALLET_URL DUXOS_TOKEN

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$SRC/tests/cli/lib.sh"

REG_PID=""  # the registry, while it runs
URL=""      # its base URL

ctl() { "$DUXCTL" --registry "$URL" "$@"; }

write_config() {
    common_config "$1" "$2" >"$T/registry.yaml"
}

start_registry() {
    local http bus
    http=$(free_port) || die "no free port"
    bus=$(free_port "$http") || die "no free port"
    URL=http://127.0.0.1:$http
    write_config "$http" "$bus"
    start_daemon registry "$REGISTRY_BIN" "$T/registry.yaml" "$URL"
    REG_PID=$DAEMON_PID
}

setup() {
    lib_setup "$DUXCTL" "$REGISTRY_BIN"
    make_database t_cli
    start_registry
    note "registry at $URL (pid $REG_PID)"
}

# ---- the checks ------------------------------------------------------------------------------

test_usage() {
    run "no command is a usage error" 2 "$DUXCTL"
    run "unknown command" 2 "$DUXCTL" frobnicate
    expect "unknown command is named" err_has frobnicate
    run "group without subcommand" 2 "$DUXCTL" nodes
    run "unknown option" 2 ctl nodes list --bogus
    expect "usage line printed" err_has 'usage: duxctl nodes list'
    run "--json after the command" 2 ctl nodes list --json
    expect "global option hint" err_has 'global option'
    run "--limit 0" 2 ctl nodes list --limit 0
    run "--limit 12abc" 2 ctl nodes list --limit 12abc
    run "--min-reputation 2" 2 ctl nodes list --min-reputation 2
    run "--status bogus" 2 ctl nodes list --status sleeping
    run "--capability Bad" 2 ctl nodes list --capability Bad
    run "nodes show needs an id" 2 ctl nodes show
    run "nodes show malformed id" 2 ctl nodes show not-a-node-id
    run "--timeout 0" 2 "$DUXCTL" --timeout 0 nodes list
    run "--registry not a URL" 2 "$DUXCTL" --registry ftp://x nodes list
    run "--token with a space" 2 "$DUXCTL" --token 'a b' nodes list
    run "missing option value" 2 ctl node init --key
    run "register without arguments" 2 ctl node register
    run "heartbeat --load with two numbers" 2 ctl node heartbeat --key "$T/k/n1.key" --load 1,2
    run "heartbeat --load nan" 2 ctl node heartbeat --key "$T/k/n1.key" --load 1,nan,2
    run "--help" 0 "$DUXCTL" --help
    expect "--help documents the exit codes" out_has 'Exit status'
    run "subcommand --help" 0 "$DUXCTL" node register --help
    run "--version" 0 "$DUXCTL" --version
}

test_node_init() {
    run "node init creates a key" 0 ctl node init --key "$T/k/sub/n1.key"
    ID1=$(last_word)
    expect "node id is 32 hex" grep -Eq '^[0-9a-f]{32}$' <<<"$ID1"
    expect "key file mode 600" test "$(mode_of "$T/k/sub/n1.key")" = 600
    expect "parent dir mode 700" test "$(mode_of "$T/k/sub")" = 700
    run "node init again" 0 ctl node init --key "$T/k/sub/n1.key"
    expect "node init is idempotent" test "$(last_word)" = "$ID1"
    run "node init --json" 0 "$DUXCTL" --json node init --key "$T/k/sub/n1.key"
    expect "--json has node_id" out_has "\"node_id\":\"$ID1\""
    expect "--json has public_key" out_has '"public_key":"'
    expect "node init prints no private key" out_lacks 'PRIVATE'
    run "node init --force makes a new identity" 0 ctl node init --key "$T/k/x.key"
    local before
    before=$(last_word)
    run "node init --force" 0 ctl node init --key "$T/k/x.key" --force
    expect "--force replaced the key" test "$(last_word)" != "$before"
    run "second node" 0 ctl node init --key "$T/k/n2.key"
    ID2=$(last_word)
    run "third node (never registered)" 0 ctl node init --key "$T/k/n3.key"
    ID3=$(last_word)
    printf 'garbage\n' >"$T/k/bad.key"
    run "node init on a file that is not a key" 4 ctl node init --key "$T/k/bad.key"
}

test_address() {
    run "address new" 0 ctl address new
    W1=$(last_word)
    run "address validate accepts it" 0 ctl address validate "$W1"
    expect "says valid" out_has 'valid pay-to-pubkey-hash address on mainnet'
    local last=${W1: -1} other=a
    [[ $last != a ]] || other=b
    run "a mutated address is refused" 1 ctl address validate "${W1%?}$other"
    expect "the reason is given" out_has 'invalid address on mainnet'
    run "a mainnet address is not testnet" 1 ctl address validate "$W1" --network testnet
    run "address new --key" 0 ctl address new --key "$T/w/w2.pem"
    W2=$(last_word)
    expect "wallet key mode 600" test "$(mode_of "$T/w/w2.pem")" = 600
    expect "the address is not the key" out_lacks 'PRIVATE'
    run "address new --key refuses to overwrite" 4 ctl address new --key "$T/w/w2.pem"
    run "address new --network testnet" 0 ctl address new --network testnet
    WT=$(last_word)
    run "testnet address valid on testnet" 0 ctl address validate "$WT" --network testnet
    run "address validate --json" 0 "$DUXCTL" --json address validate "$W1"
    expect "--json says valid" out_has '"valid":true'
}

test_register() {
    run "invalid wallet exits 2 before sending" 2 "$DUXCTL" --registry http://127.0.0.1:1 \
        node register --key "$T/k/sub/n1.key" --wallet Fnotanaddress --ip 127.0.0.1 \
        --port 9001 --capability task_execution
    expect "names --wallet" err_has '--wallet'
    local args=(--key "$T/k/sub/n1.key" --wallet "$W1" --ip 127.0.0.1 --capability task_execution)
    run "--port 70000" 2 ctl node register "${args[@]}" --port 70000
    run "--ip 999.1.1.1" 2 ctl node register "${args[@]}" --port 9001 --ip 999.1.1.1
    run "--capability Bad-Cap" 2 ctl node register "${args[@]}" --port 9001 --capability Bad-Cap
    run "--cpu -1" 2 ctl node register "${args[@]}" --port 9001 --cpu -1
    run "missing key file" 4 ctl node register --key "$T/k/none.key" --wallet "$W1" \
        --ip 127.0.0.1 --port 9001 --capability task_execution
    run "register creates" 0 ctl node register "${args[@]}" --port 9001 --capability api_hosting
    expect "says created" out_has "created node $ID1"
    run "register again updates" 0 ctl node register "${args[@]}" --port 9002 --cpu 2 \
        --memory 2048 --disk 10000 --capability api_hosting
    expect "says updated" out_has "updated node $ID1"
    run "register a second node (IPv6, --json)" 0 "$DUXCTL" --registry "$URL" --json \
        node register --key "$T/k/n2.key" --wallet "$W2" --ip ::1 --port 9100 \
        --capability gpu_compute
    expect "--json prints the node" out_has "\"node_id\":\"$ID2\""
    run "server refusal exits 1" 1 ctl node register --key "$T/k/n3.key" --wallet "$WT" \
        --network testnet --ip 127.0.0.1 --port 9001 --capability task_execution
    expect "refusal names the field" err_has 'wallet_address'
    expect "refusal shows status and title" err_has '400 Bad Request'
}

test_heartbeat() {
    run "heartbeat" 0 ctl node heartbeat --key "$T/k/sub/n1.key"
    local c1 c2 future
    c1=$(<"$T/k/sub/n1.key.counter")
    run "heartbeat again at once" 0 ctl node heartbeat --key "$T/k/sub/n1.key"
    c2=$(<"$T/k/sub/n1.key.counter")
    expect "counter increases" test "$c2" -gt "$c1"
    expect "counter file mode 600" test "$(mode_of "$T/k/sub/n1.key.counter")" = 600
    # concurrent runs for one node take turns on the key file: none is refused as a replay
    local i ok=1 pids=()
    for i in 1 2 3 4; do
        ctl node heartbeat --key "$T/k/sub/n1.key" >"$T/par$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || ok=0
    done
    ! grep -q 'Sanitizer\|runtime error:' "$T"/par*.out || ok=0
    OUT=$(cat "$T"/par*.out) ERR="" RC=""
    expect "4 concurrent heartbeats all accepted" test "$ok" = 1
    # a counter ahead of the clock (same millisecond, clock stepped back) is still followed
    future=$(($(date +%s%3N) + 5000))
    printf '%s\n' "$future" >"$T/k/sub/n1.key.counter"
    run "heartbeat after a counter ahead of the clock" 0 ctl node heartbeat \
        --key "$T/k/sub/n1.key" --load 0.5,0.25,0.125 --available-memory 1024 \
        --available-cpu 1.5 --uptime 3600
    expect "counter is last + 1" test "$(<"$T/k/sub/n1.key.counter")" = $((future + 1))
    run "heartbeat through a registry URL ending in /" 0 "$DUXCTL" --registry "$URL/" \
        node heartbeat --key "$T/k/n2.key"
    run "heartbeat of an unregistered node is refused" 1 ctl node heartbeat --key "$T/k/n3.key"
    expect "404 shown" err_has '404'
    printf 'junk\n' >"$T/k/n2.key.counter"
    run "corrupt counter file is a local error" 4 ctl node heartbeat --key "$T/k/n2.key"
    rm -f "$T/k/n2.key.counter"
}

test_list() {
    run "nodes list" 0 ctl nodes list
    expect "table header" out_has 'NODE ID  *STATUS  *REPUTATION  *TASKS  *CAPABILITIES  *ENDPOINT  *LAST HEARTBEAT'
    expect "lists node 1" out_has "$ID1"
    expect "lists node 2" out_has "$ID2"
    expect "endpoint of node 1" out_has '127.0.0.1:9002'
    expect "IPv6 endpoint in brackets" out_has '\[::1\]:9100'
    expect "capabilities comma-joined" out_has 'task_execution,api_hosting\|api_hosting,task_execution'
    expect "reputation with 2 decimals" out_has ' 0\.50 '
    run "nodes list --json" 0 "$DUXCTL" --registry "$URL" --json nodes list
    expect "--json is the raw page" out_has '^{"nodes":\['
    expect "--json has next_cursor" out_has '"next_cursor":null'
    expect "--json has both nodes" test "$(count_of '"node_id"')" = 2
    run "nodes list --all --limit 1" 0 ctl nodes list --all --limit 1
    expect "--all follows the cursor (1)" out_has "$ID1"
    expect "--all follows the cursor (2)" out_has "$ID2"
    run "nodes list --limit 1" 0 ctl nodes list --limit 1
    expect "one page only" test "$(grep -c '[0-9a-f]\{32\}' <<<"$OUT")" = 1
    run "nodes list --json --all --limit 1" 0 "$DUXCTL" --registry "$URL" --json nodes list \
        --all --limit 1
    expect "--all --json is one document" test "$(wc -l <<<"$OUT")" = 1
    expect "--all --json has both nodes" test "$(count_of '"node_id"')" = 2
    expect "--all --json has no cursor" out_lacks 'next_cursor'
    run "nodes list --capability gpu_compute" 0 ctl nodes list --capability gpu_compute
    expect "filter keeps node 2" out_has "$ID2"
    expect "filter drops node 1" out_lacks "$ID1"
    run "nodes list --status offline" 0 ctl nodes list --status offline
    expect "no nodes" out_has '^no nodes$'
    run "nodes list --min-reputation 0.9" 0 ctl nodes list --min-reputation 0.9
    expect "nobody has 0.9 yet" out_has '^no nodes$'
}

test_show() {
    local f
    run "nodes show" 0 ctl nodes show "$ID1"
    for f in node_id wallet_address ip_address port capabilities reputation_score \
        total_tasks_completed success_rate last_heartbeat uptime load_average available_memory \
        available_cpu status; do
        expect "nodes show prints $f" out_has "^$f: "
    done
    expect "node_id value" out_has "^node_id: $ID1\$"
    expect "load_average as sent" out_has '^load_average: 0.5, 0.25, 0.125$'
    expect "uptime as sent" out_has '^uptime: 3600$'
    expect "nested resources" out_has '^resources.cpu_cores: 2$'
    run "nodes show --json" 0 "$DUXCTL" --registry "$URL" --json nodes show "$ID1"
    expect "--json raw node" out_has "^{\"node_id\":\"$ID1\""
    run "node show --key" 0 ctl node show --key "$T/k/n2.key"
    expect "node show is this node" out_has "^node_id: $ID2\$"
    run "nodes show of an unregistered node" 1 ctl nodes show "$ID3"
    expect "404 Not Found shown" err_has '404 Not Found'
    run "topology" 0 ctl topology
    expect "topology counts" out_has 'nodes: 2 total, 2 online, 0 offline'
    expect "topology capabilities" out_has 'gpu_compute'
    run "topology --json" 0 "$DUXCTL" --registry "$URL" --json topology
    expect "topology raw" out_has '"total_nodes":2'
}

test_token() {
    local token code body='{"task_id":"cli-task-1","success":true}'
    run "token mint" 0 ctl token mint --key "$T/auth.key" --sub duxos-tasks --scope service
    token=$OUT
    expect "the token alone" grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' <<<"$token"
    code=$(curl -s -o "$T/curl.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" -d "$body" "$URL/v1/nodes/$ID1/outcomes")
    expect "service token: outcome accepted (201)" test "$code" = 201
    code=$(curl -s -o "$T/curl.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "$body" "$URL/v1/nodes/$ID1/outcomes")
    expect "no token: 401" test "$code" = 401
    run "user token" 0 ctl token mint --key "$T/auth.key" --sub Fsomeone --scope "user provider"
    code=$(curl -s -o "$T/curl.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $OUT" -d "$body" "$URL/v1/nodes/$ID1/outcomes")
    expect "user token: 403" test "$code" = 403
    run "token is accepted by duxctl" 0 "$DUXCTL" --registry "$URL" --token "$token" nodes list
    run "unknown scope" 2 ctl token mint --key "$T/auth.key" --sub x --scope "service root"
    run "--ttl beyond 30 days" 2 ctl token mint --key "$T/auth.key" --sub x --scope service \
        --ttl 2592001
    run "public key cannot mint" 4 ctl token mint --key "$T/auth.pub" --sub x --scope service
    run "the outcome counts" 0 ctl nodes show "$ID1"
    expect "total_tasks_completed 1" out_has '^total_tasks_completed: 1$'
}

stop_registry() {
    stop_daemon registry "$REG_PID"
    REG_PID=""
}

test_unreachable() {
    run "nodes list with the registry stopped" 3 ctl nodes list
    expect "transport error shown" err_has 'cannot reach the registry'
    run "heartbeat with the registry stopped" 3 ctl node heartbeat --key "$T/k/sub/n1.key"
}

main() {
    setup
    test_usage
    test_node_init
    test_address
    test_register
    test_heartbeat
    test_list
    test_show
    test_token
    stop_registry
    test_unreachable
    lib_finish
}

main "$@"
