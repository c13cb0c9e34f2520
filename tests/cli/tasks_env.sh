# shellcheck shell=bash
# shellcheck disable=SC2153 # WURL, EURL, SURL come from store_env.sh, the *_BIN from the caller
# tasks_env.sh: the whole chain for the task engine's CLI test (sourced after lib.sh and
# store_env.sh, not run): store_env.sh's wallet, escrow and store (the escrow also told where
# the task engine is, for the escrows bound to a task), the real duxos-registry, a node whose
# key is registered there on bob's account (bob is the provider), a bundle key of bob's, and
# duxos-tasks in role both (scheduler and that node's executor, running tasks in the native
# sandbox: root needed), configured as tests/integration/tasks_util.c does.
#
# The sourcing script sets DUXCTL, WALLET_BIN, ESCROW_BIN, STORE_BIN, REGISTRY_BIN and
# TASKS_BIN, then calls tasks_setup DBNAME, and tasks_stop_all before lib_finish.

REGISTRY_PID="" TASKS_PID=""
RURL="" RBUS="" TURL="" TPORT=""
REGISTRY_URL="" REGISTRY_BUS="" # set by start (printf -v)
NODE_ID=""    # the executor's node id, registered on bob's account
BUNDLE_PUB="" # base64url public key of bob's bundle key $T/bundle.key, trusted by the node
SCRATCH="" CGROUP="" # this test's sandbox.scratch_dir and cgroup_parent

# store_env.sh's escrow, plus the task engine it asks about escrows bound to a task (its port
# is chosen before the escrow starts: the escrow must know it, and the engine the escrow's)
escrow_config() {
    common_config "$1" "$2"
    cat <<EOF
escrow:
  wallet_url: "$WURL"
  audit_key_file: "$T/audit.key"
  fund_shards: 2
  fund_interval_ms: 200
  recovery_interval_ms: 200
  tasks_url: "http://127.0.0.1:$TPORT"
  tasks_token: "$SVC"
EOF
}

registry_config() {
    common_config "$1" "$2"
    printf 'registry:\n  heartbeat_timeout: 5\n  monitor_interval: 1\n  read_cache_ms: 0\n'
}

# tasks_config BUS: role both on $TPORT; tokens come from the environment (start_tasks)
tasks_config() {
    common_config "$TPORT" "$1"
    cat <<EOF
tasks:
  role: both
  registry_url: "$RURL"
  registry_events: "$RBUS"
  escrow_url: "$EURL"
  store_url: "$SURL"
  scheduler_url: "$TURL"
  node_key_file: "$T/node.key"
  heartbeat_interval: 1
  claim_wait_ms: 2000
  offer_timeout: 5
  queue_timeout: 10
  lease_grace: 2
  unknown_after: 10
  events_poll_ms: 500
  schedule_interval_ms: 100
  trusted_reputation: 0
  bundle_keys: ["$BUNDLE_PUB"]
sandbox:
  scratch_dir: "$SCRATCH"
  cgroup_parent: "$CGROUP"
  timeout: 60
  memory_limit: 512m
  allowed_commands: [bash, python]
EOF
}

start_registry() {
    start registry "$REGISTRY_BIN"
    REGISTRY_PID=$DAEMON_PID RURL=$REGISTRY_URL RBUS=$REGISTRY_BUS
}

# The node's key, registered on bob's account B1 (paid calls of bob's services run on it).
register_node() {
    NODE_ID=$("$DUXCTL" --json node init --key "$T/node.key" | jq -r .node_id)
    [[ ${#NODE_ID} == 32 ]] || die "node init failed"
    "$DUXCTL" --registry "$RURL" node register --key "$T/node.key" --wallet "$B1" \
        --ip 127.0.0.1 --port 9001 --capability task_execution >/dev/null ||
        die "node register failed"
}

# bob's bundle key, a PKCS#8 PEM from openssl; its public key computed without duxctl
make_bundle_key() {
    openssl genpkey -algorithm ed25519 -out "$T/bundle.key" 2>/dev/null ||
        die "openssl could not make the bundle key"
    BUNDLE_PUB=$(openssl pkey -in "$T/bundle.key" -pubout -outform DER 2>/dev/null |
        tail -c 32 | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ ${#BUNDLE_PUB} == 43 ]] || die "cannot read the bundle key's public key"
}

start_tasks() {
    local bus
    bus=$(free_port "$TPORT" "${WURL##*:}" "${EURL##*:}" "${SURL##*:}" "${RURL##*:}") ||
        die "no free port"
    TURL=http://127.0.0.1:$TPORT
    tasks_config "$bus" >"$T/tasks.yaml"
    export DUXOS_TASKS_REGISTRY_TOKEN=$SVC DUXOS_TASKS_ESCROW_TOKEN=$SVC
    try_start_daemon tasks "$TASKS_BIN" "$T/tasks.yaml" "$TURL" ||
        die "the task engine's port $TPORT was taken meanwhile"
    unset DUXOS_TASKS_REGISTRY_TOKEN DUXOS_TASKS_ESCROW_TOKEN
    TASKS_PID=$DAEMON_PID
    # the node is online once the scheduler has seen its executor claim work
    for _ in $(seq 1 300); do
        "$DUXCTL" --tasks "$TURL" --token "$ADMIN" --json executors 2>/dev/null |
            jq -e --arg id "$NODE_ID" \
                '.executors[] | select(.node_id == $id and .state == "online")' \
                >/dev/null && return 0
        sleep 0.1
    done
    show_log tasks
    die "node $NODE_ID did not come online in GET /v1/executors within 30 s"
}

tasks_setup() {
    local id
    id=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    SCRATCH=/var/tmp/duxos-clitest-$id
    CGROUP=duxos-clitest-$id
    TPORT=$(free_port) || die "no free port"
    store_setup "${1:?tasks_setup DBNAME}"
    start_registry
    register_node
    make_bundle_key
    start_tasks
    note "registry $RURL, tasks $TURL (node $NODE_ID on $B1)"
}

# What the sandbox leaves once the daemons are gone: the scratch base, the parent cgroups.
sandbox_cleanup() {
    local d
    [[ -z $SCRATCH ]] || rm -rf -- "$SCRATCH"
    [[ -n $CGROUP ]] || return 0
    for d in /sys/fs/cgroup/*/"$CGROUP" /sys/fs/cgroup/"$CGROUP"; do
        [[ ! -d $d ]] || rmdir -- "$d" 2>/dev/null || true
    done
}
trap 'lib_cleanup; sandbox_cleanup' EXIT

# Stops every daemon (each must exit 0).
tasks_stop_all() {
    stop_daemon tasks "$TASKS_PID"
    TASKS_PID=""
    stop_daemon registry "$REGISTRY_PID"
    REGISTRY_PID=""
    stop_all
}
