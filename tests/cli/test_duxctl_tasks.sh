#!/usr/bin/env bash
# test_duxctl_tasks.sh BUILD_DIR SOURCE_DIR: duxctl task, call, bundle and executors against a
# real duxos-tasks (role both: scheduler and the executor of one node, native sandbox), with
# the real registry (the node, registered on the provider's account), wallet, escrow and store
# on one database of the ctest cluster. Root is needed for the sandbox (exit 77: skipped).
#
# Drives duxctl: bad arguments and files (exit 2, nothing sent), tasks submitted and waited for
# (output and exit 0; a failure exit 1; a wait cut short exit 3), shown, listed a page at a time
# and with --all, their logs, a cancellation, refusals of the engine (exit 1: a runtime it does
# not allow, more memory than it gives, someone else's task), the executors, a provider's
# signed bundle, paid calls end to end (the provider's balance grows by 95 % of the price, a
# failing bundle refunds, an account without money gets the escrow's refusal), and the engine
# stopped (exit 3). Every daemon must exit 0 on SIGTERM (leak-free). Helpers: lib.sh,
# store_env.sh, tasks_env.sh.
set -uo pipefail # not -e: a failed check is counted and reported, the run goes on

readonly BUILD=${1:?usage: test_duxctl_tasks.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_duxctl_tasks.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly WALLET_BIN=$BUILD/bin/duxos-wallet
readonly ESCROW_BIN=$BUILD/bin/duxos-escrow
readonly STORE_BIN=$BUILD/bin/duxos-store
readonly REGISTRY_BIN=$BUILD/bin/duxos-registry
readonly TASKS_BIN=$BUILD/bin/duxos-tasks
readonly PGCTL=$SRC/deploy/local/pgctl.sh

if [[ $EUID != 0 ]]; then
    echo "SKIP: the native sandbox needs root" >&2
    exit 77
fi

# duxctl and the daemons must not pick up the caller's settings
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(DUXOS_[A-Z_]*\)=.*/\1/p')

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$SRC/tests/cli/lib.sh"
# shellcheck source-path=SCRIPTDIR source=store_env.sh
source "$SRC/tests/cli/store_env.sh"
# shellcheck source-path=SCRIPTDIR source=tasks_env.sh
source "$SRC/tests/cli/tasks_env.sh"

ID_RE='tsk_[0-9a-f]\{32\}'
SVC_P="" SVC_F="" # bob's services: one that works (price 2), one whose code fails (price 1)

# every daemon, as TOKEN
ta() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$WURL" --escrow "$EURL" --store "$SURL" --tasks "$TURL" \
        --token "$token" "$@"
}
taj() {
    local token=$1
    shift
    ta "$token" --json "$@"
}
# an engine nobody listens on: a command checked before any request exits 2, not 3
offline() { "$DUXCTL" --tasks http://127.0.0.1:1 --token "$ALICE" "$@"; }

kv() { sed -n "s/^$1: //p" <<<"$OUT"; }
# balance ADDR TOKEN: the balance of one account, as its owner sees it
balance() {
    taj "$2" wallet balance --address "$1" | jq -r '.accounts[0].balance'
}
# wait_balance ADDR TOKEN WANT: polls until the account holds WANT (the escrow's release is
# the scheduler's next settle round, after the call has answered)
wait_balance() {
    for _ in $(seq 1 100); do
        [[ $(balance "$1" "$2") == "$3" ]] && return 0
        sleep 0.1
    done
    return 1
}

# ---- files -----------------------------------------------------------------------------------

# shellcheck disable=SC2016 # the programs' own variables, expanded when they run
make_files() {
    printf 'read -r name\necho "hello $name"\n' >"$T/hello.sh"
    printf 'world\n' >"$T/world.txt"
    printf 'import sys\nprint(sys.stdin.read().strip().upper())\n' >"$T/upper.py"
    printf 'echo partial\necho oops >&2\nexit 3\n' >"$T/fail.sh"
    printf 'sleep 30\n' >"$T/sleep.sh"
    printf 'echo hi\r\n' >"$T/crlf.sh"
    printf 'echo \xff\xfe\n' >"$T/latin1.sh"
    : >"$T/empty.sh"
    head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$T/big.sh"
    printf 'read -r w\necho "upscaled: $w"\n' >"$T/service.sh"
    printf 'exit 1\n' >"$T/broken.sh"
    printf 'Bob\n' >"$T/bob.txt"
    printf 'echo '"'"'{"n": 1}'"'"'\n' >"$T/json.sh"
}

# ---- the checks ------------------------------------------------------------------------------

test_usage() {
    local id=tsk_0123456789abcdef0123456789abcdef svc=svc_0123456789abcdef0123456789abcdef
    run "task needs a subcommand" 2 "$DUXCTL" task
    run "task --help lists the commands" 0 "$DUXCTL" task --help
    expect "task --help: submit" out_has 'usage: duxctl task submit --runtime'
    run "call --help" 0 "$DUXCTL" call --help
    expect "call usage" out_has 'usage: duxctl call SERVICE_ID'
    run "--tasks after the command" 2 offline task list --tasks "$TURL"
    expect "global option hint" err_has 'global option'
    run "--tasks not a URL" 2 "$DUXCTL" --tasks ftp://x --token "$ALICE" task list
    run "submit without --runtime" 2 offline task submit --code "$T/hello.sh"
    expect "names --runtime" err_has -- '--runtime bash|python|node is required'
    run "submit without --code" 2 offline task submit --runtime bash
    run "submit --runtime ruby" 2 offline task submit --runtime ruby --code "$T/hello.sh"
    run "submit a CRLF file" 2 offline task submit --runtime bash --code "$T/crlf.sh"
    expect "says carriage return" err_has 'line 1, holds a carriage return'
    run "submit a file that is not UTF-8" 2 offline task submit --runtime bash \
        --code "$T/latin1.sh"
    expect "says not UTF-8" err_has 'not UTF-8'
    run "submit input that is not UTF-8" 2 offline task submit --runtime bash \
        --code "$T/hello.sh" --input "$T/latin1.sh"
    expect "names --input" err_has -- "--input $T/latin1.sh"
    run "submit an empty file" 2 offline task submit --runtime bash --code "$T/empty.sh"
    run "submit a file over 1 MiB" 2 offline task submit --runtime bash --code "$T/big.sh"
    expect "says the limit" err_has 'larger than 1048576 bytes'
    run "submit a missing file" 4 offline task submit --runtime bash --code "$T/nope.sh"
    run "submit --memory 5x" 2 offline task submit --runtime bash --code "$T/hello.sh" \
        --memory 5x
    run "submit --cpu 1.2345" 2 offline task submit --runtime bash --code "$T/hello.sh" \
        --cpu 1.2345
    run "submit --timeout 0" 2 offline task submit --runtime bash --code "$T/hello.sh" \
        --timeout 0
    run "submit --replicas 6" 2 offline task submit --runtime bash --code "$T/hello.sh" \
        --replicas 6
    run "submit --wait 0" 2 offline task submit --runtime bash --code "$T/hello.sh" --wait 0
    run "submit --output-format garbage" 2 offline task submit --runtime bash \
        --code "$T/hello.sh" --output-format '{"content_type"'
    run "submit --idempotency-key with a space" 2 offline task submit --runtime bash \
        --code "$T/hello.sh" --idempotency-key 'a b'
    run "submit without a token" 2 "$DUXCTL" --tasks http://127.0.0.1:1 task submit \
        --runtime bash --code "$T/hello.sh"
    expect "says a token is needed" err_has 'needs a bearer token'
    run "show a malformed id" 2 offline task show tsk_123
    expect "says what an id is" err_has 'tsk_ and 32 lowercase hex'
    run "logs without an id" 2 offline task logs
    run "cancel two ids" 2 offline task cancel "$id" "$id"
    run "list --state done" 2 offline task list --state 'done'
    run "list --kind batch" 2 offline task list --kind batch
    run "list --limit 101" 2 offline task list --limit 101
    run "list --cursor garbage" 2 offline task list --cursor abc
    run "list --service garbage" 2 offline task list --service svc_1
    run "call without --from" 2 offline call "$svc"
    expect "names --from" err_has -- '--from ADDR is required'
    run "call --from garbage" 2 offline call "$svc" --from nope
    run "call --wait-ms 60001" 2 offline call "$svc" --from "$A1" --wait-ms 60001
    run "call a malformed service" 2 offline call svc_1 --from "$A1"
    run "bundle publish without --key" 2 offline bundle publish "$svc" --runtime bash \
        --code "$T/service.sh" --version 1.0.0
    run "bundle publish --version with a space" 2 offline bundle publish "$svc" \
        --key "$T/bundle.key" --runtime bash --code "$T/service.sh" --version '1 0'
    run "bundle publish a missing key" 4 offline bundle publish "$svc" --key "$T/nope.key" \
        --runtime bash --code "$T/service.sh" --version 1.0.0
    run "executors with an argument" 2 offline executors x
}

test_executors() {
    run "executors" 0 ta "$ALICE" executors
    expect "the node is listed online" out_has "^$NODE_ID  online  online  *$B1"
    run "executors --json" 0 taj "$ALICE" executors
    expect "raw JSON" test "$(jq -r '.executors[0].node_id' <<<"$OUT")" = "$NODE_ID"
}

T1="" T2="" T3="" # alice's tasks: succeeded, failed, python
test_submit() {
    local key
    run "submit --wait (bash, input)" 0 ta "$ALICE" task submit --runtime bash \
        --code "$T/hello.sh" --input "$T/world.txt" --wait 60
    expect "the output is printed" test "$OUT" = "hello world"
    expect "the id is told on stderr" err_has "waiting for task $ID_RE"
    T1=$(grep -o "$ID_RE" <<<"$ERR")
    run "submit --wait (python, resources)" 0 ta "$ALICE" task submit --runtime python \
        --code "$T/upper.py" --input "$T/world.txt" --memory 256m --cpu 0.5 --timeout 20 \
        --wait 60
    expect "python's output" test "$OUT" = "WORLD"
    T3=$(grep -o "$ID_RE" <<<"$ERR")
    run "submit --wait of a failing program" 1 ta "$ALICE" task submit --runtime bash \
        --code "$T/fail.sh" --wait 60
    expect "the failure and its reason" err_has "^duxctl: task $ID_RE failed: nonzero-exit"
    expect "nothing on stdout" test -z "$OUT"
    T2=$(grep -o "$ID_RE" <<<"$ERR" | head -1)
    run "submit --json --wait" 0 taj "$ALICE" task submit --runtime bash --code "$T/hello.sh" \
        --input "$T/world.txt" --wait 60
    expect "the task as JSON" test "$(jq -r '.state + " " + .output' <<<"$OUT")" = \
        "succeeded hello world"
    run "submit --json --wait of a failing program" 1 taj "$ALICE" task submit --runtime bash \
        --code "$T/fail.sh" --wait 60
    expect "the failed task as JSON" test "$(jq -r .reason <<<"$OUT")" = nonzero-exit

    local schema='{"content_type":"application/json","schema":{"type":"object","required":["n"]}}'
    run "submit --output-format (valid output)" 0 ta "$ALICE" task submit --runtime bash \
        --code "$T/json.sh" --output-format "$schema" --wait 60
    expect "the JSON output" test "$OUT" = '{"n": 1}'
    run "submit --output-format (invalid output)" 1 ta "$ALICE" task submit --runtime bash \
        --code "$T/hello.sh" --output-format application/json --wait 60
    expect "invalid-output" err_has "^duxctl: task $ID_RE failed: invalid-output"
    run "an output format the engine refuses" 1 ta "$ALICE" task submit --runtime bash \
        --code "$T/hello.sh" --output-format '{"content_type":"text/html"}'
    expect "names output_format" err_has '(field output_format)'

    key=k-$RANDOM
    run "submit (no wait)" 0 ta "$ALICE" task submit --runtime bash --code "$T/hello.sh" \
        --idempotency-key "$key"
    expect "submitted, the id last" out_has "^submitted bash task (queued): task $ID_RE\$"
    local id
    id=$(last_word)
    run "submit again with the same key" 0 ta "$ALICE" task submit --runtime bash \
        --code "$T/hello.sh" --idempotency-key "$key"
    expect "already submitted, same task" out_has "^already submitted, .*: task $id\$"
    run "the same key for other code" 1 ta "$ALICE" task submit --runtime bash \
        --code "$T/fail.sh" --idempotency-key "$key"
    expect "422 shown" err_has '^duxctl: 422 .*Idempotency-Key'
}

test_refusals() {
    run "a runtime the engine does not allow" 1 ta "$ALICE" task submit --runtime node \
        --code "$T/hello.sh"
    expect "400 naming the field" err_has '^duxctl: 400 .*allowed_commands (field runtime)'
    run "more memory than the sandbox gives" 1 ta "$ALICE" task submit --runtime bash \
        --code "$T/hello.sh" --memory 1g
    expect "names resources.memory_limit" err_has 'resources.memory_limit'
    run "network access it does not allow" 1 ta "$ALICE" task submit --runtime bash \
        --code "$T/hello.sh" --network
    run "a task of someone else" 1 ta "$BOB" task show "$T1"
    expect "404 shown" err_has '^duxctl: 404 '
    run "a task that does not exist" 1 ta "$ALICE" task logs \
        tsk_0123456789abcdef0123456789abcdef
}

test_show_logs() {
    run "show" 0 ta "$ALICE" task show "$T1"
    expect "state" test "$(kv state)" = succeeded
    expect "runtime" test "$(kv runtime)" = bash
    expect "resources flattened" test "$(kv resources.memory_limit)" = 512m
    expect "input summarised" test "$(kv input)" = "6 bytes"
    expect "attempts table" out_has "^att_[0-9a-f]\{32\}  $NODE_ID  reported  agreed  *ok  *0 "
    expect "output last" test "$(tail -2 <<<"$OUT")" = $'output:\nhello world'
    run "show the python task" 0 ta "$ALICE" task show "$T3"
    expect "its resources" test "$(kv resources.cpu_limit) $(kv resources.timeout)" = "0.5 20"
    run "show --json" 0 taj "$ALICE" task show "$T2"
    expect "raw JSON" test "$(jq -r '.state + " " + .reason' <<<"$OUT")" = "failed nonzero-exit"
    run "show as a service" 0 ta "$SVC" task show "$T1"
    run "logs" 0 ta "$ALICE" task logs "$T2"
    expect "the attempt" out_has "^attempt att_[0-9a-f]\{32\} on node $NODE_ID: reported (nonzero-exit)"
    expect "its stdout" test "$(sed -n '/^--- stdout/,/^--- stderr/p' <<<"$OUT" | sed -n 2p)" = \
        partial
    expect "its stderr" test "$(sed -n '/^--- stderr/{n;p}' <<<"$OUT")" = oops
    run "logs --json" 0 taj "$ALICE" task logs "$T1"
    expect "raw logs" test "$(jq -r '.attempts[0].stdout' <<<"$OUT")" = "hello world"
}

test_cancel_wait() {
    local id
    run "submit a long task" 0 ta "$ALICE" task submit --runtime bash --code "$T/sleep.sh"
    id=$(last_word)
    run "a wait that ends first" 3 ta "$ALICE" task submit --runtime bash --code "$T/sleep.sh" \
        --wait 1
    expect "says it is still on" err_has "^duxctl: task $ID_RE is still \(queued\|running\) after 1 s"
    local id2
    id2=$(grep -o "$ID_RE" <<<"$ERR" | head -1)
    run "cancel" 0 ta "$ALICE" task cancel "$id"
    expect "cancelled" out_has "^cancelled task $id\$"
    run "show the cancelled task" 0 ta "$ALICE" task show "$id"
    expect "state cancelled" test "$(kv state)" = cancelled
    run "cancel again" 1 ta "$ALICE" task cancel "$id"
    expect "409 task-ended" err_has '^duxctl: 409 .*already ended (cancelled)'
    run "cancel someone else's" 1 ta "$BOB" task cancel "$id2"
    run "cancel --json" 0 taj "$ALICE" task cancel "$id2"
    expect "the task as JSON" test "$(jq -r .state <<<"$OUT")" = cancelled
}

test_list() {
    run "list" 0 ta "$ALICE" task list
    expect "header" out_has '^ID  *KIND  *STATE  *REASON  *RUNTIME  *SERVICE  *CREATED'
    expect "a succeeded task" out_has "^$T1  generic  succeeded  ok  *bash "
    expect "newest first" test "$(grep -o "$ID_RE" <<<"$OUT" | tail -1)" = "$T1"
    run "list --state failed" 0 ta "$ALICE" task list --state failed
    expect "only failed ones" test "$(grep -c '^tsk_' <<<"$OUT")" = \
        "$(grep -c '^tsk_[0-9a-f]*  [a-z]*  failed  ' <<<"$OUT")"
    expect "the failed task" out_has "^$T2 "
    run "list --limit 2" 0 ta "$ALICE" task list --limit 2
    expect "two rows" test "$(grep -c '^tsk_' <<<"$OUT")" = 2
    expect "more: --cursor" out_has '^more: --cursor [0-9]*\.tsk_'
    local cursor all
    cursor=$(sed -n 's/^more: --cursor //p' <<<"$OUT")
    run "list --cursor" 0 ta "$ALICE" task list --limit 2 --cursor "$cursor"
    expect "the next page" test "$(grep -c '^tsk_' <<<"$OUT")" = 2
    run "list --all" 0 ta "$ALICE" task list --limit 2 --all
    all=$(grep -c '^tsk_' <<<"$OUT")
    expect "every task, no more line" out_lacks '^more:'
    run "list --all --json" 0 taj "$ALICE" task list --limit 3 --all
    expect "one document" test "$(jq '.tasks | length' <<<"$OUT")" = "$all"
    run "list --json (one page)" 0 taj "$ALICE" task list --limit 1
    expect "the page as sent" test "$(jq -r '.next_cursor | type' <<<"$OUT")" = string
    run "bob has none" 0 ta "$BOB" task list --kind generic
    expect "no tasks" out_has '^no tasks$'
    run "bob lists alice's" 1 ta "$BOB" task list --owner alice
    expect "403" err_has '^duxctl: 403 '
    run "a service lists alice's" 0 ta "$SVC" task list --owner alice --state succeeded --all
    expect "her task" out_has "^$T1 "
}

test_bundle() {
    run "bob publishes a service" 0 ta "$BOB" store publish --name "Greeter" --version 1.0.0 \
        --provider "$B1" --price 2 --endpoint https://bob.example/greet --rate-limit 100
    SVC_P=$(last_word)
    run "and one that fails" 0 ta "$BOB" store publish --name "Broken" --version 1.0.0 \
        --provider "$B1" --price 1 --endpoint https://bob.example/broken --rate-limit 100
    SVC_F=$(last_word)
    run "a call before any bundle" 1 ta "$ALICE" call "$SVC_P" --from "$A1"
    expect "422 no-bundle" err_has '^duxctl: 422 .*no code bundle'
    run "bundle show before any" 1 ta "$BOB" bundle show "$SVC_P"
    run "bundle publish" 0 ta "$BOB" bundle publish "$SVC_P" --key "$T/bundle.key" \
        --runtime bash --code "$T/service.sh" --version 1.0.0
    expect "published" out_has "^published bundle 1.0.0 of service $SVC_P (bash, code sha256 $(sha256sum "$T/service.sh" | cut -c1-64))\$"
    expect "the key last, as openssl reads it" test "$(last_word)" = "$BUNDLE_PUB"
    run "bundle publish again" 0 ta "$BOB" bundle publish "$SVC_P" --key "$T/bundle.key" \
        --runtime bash --code "$T/service.sh" --version 1.0.0
    expect "already published" out_has '^already published: bundle 1.0.0'
    run "the same version, other code" 1 ta "$BOB" bundle publish "$SVC_P" \
        --key "$T/bundle.key" --runtime bash --code "$T/broken.sh" --version 1.0.0
    expect "409 shown" err_has '^duxctl: 409 '
    run "alice publishes bob's" 1 ta "$ALICE" bundle publish "$SVC_P" --key "$T/bundle.key" \
        --runtime bash --code "$T/service.sh" --version 2.0.0
    expect "403 not-owner" err_has '^duxctl: 403 '
    run "a runtime the engine does not allow" 1 ta "$BOB" bundle publish "$SVC_P" \
        --key "$T/bundle.key" --runtime node --code "$T/service.sh" --version 3.0.0
    expect "names the field" err_has '(field runtime)'
    run "another key of bob's, made by duxctl" 0 ta "$BOB" node init --key "$T/bob2.key"
    run "a bundle signed with it, --json" 0 taj "$BOB" bundle publish "$SVC_F" \
        --key "$T/bob2.key" --runtime bash --code "$T/service.sh" --version 0.1.0 \
        --output-format text/plain
    expect "raw JSON" test "$(jq -r .output_format.content_type <<<"$OUT")" = text/plain
    run "bundle show" 0 ta "$ALICE" bundle show "$SVC_P"
    expect "its fields" test "$(kv version) $(kv runtime) $(kv public_key)" = \
        "1.0.0 bash $BUNDLE_PUB"
    run "bundle show --version" 0 ta "$ALICE" bundle show "$SVC_P" --version 1.0.0
    run "bundle show --version unknown" 1 ta "$ALICE" bundle show "$SVC_P" --version 9.9.9
}

test_call() {
    local a0 b0
    a0=$(balance "$A1" "$ALICE")
    b0=$(balance "$B1" "$BOB")
    run "a paid call" 0 ta "$ALICE" call "$SVC_P" --input "$T/bob.txt" --from "$A1"
    expect "its output" test "$OUT" = "upscaled: Bob"
    expect "bob gets 95 % of 2 FLOP" wait_balance "$B1" "$BOB" \
        "$(echo "$b0 + 1.9" | bc | sed 's/^\./0./')"
    expect "alice paid 2 FLOP" wait_balance "$A1" "$ALICE" \
        "$(echo "$a0 - 2" | bc | sed 's/^\./0./')"
    run "the call is a task of alice's" 0 ta "$ALICE" task list --kind call
    expect "listed with its service" out_has "^tsk_[0-9a-f]\{32\}  call  succeeded  ok  *bash  *$SVC_P "
    run "a call with --json" 0 taj "$ALICE" call "$SVC_P" --input "$T/bob.txt" --from "$A1" \
        --idempotency-key call-1
    expect "the task as JSON" test "$(jq -r '.kind + " " + .output' <<<"$OUT")" = \
        "call upscaled: Bob"
    expect "with its escrow" test "$(jq -r '.payment.escrow_id | startswith("esc_")' <<<"$OUT")" = true
    run "a call of a bundle the node does not trust" 1 ta "$ALICE" call "$SVC_F" --from "$A1"
    expect "refused by the executor" err_has \
        "^duxctl: task $ID_RE failed: bundle-refused: .*does not trust (tasks.bundle_keys)"
    run "a trusted bundle whose code fails" 0 ta "$BOB" bundle publish "$SVC_F" \
        --key "$T/bundle.key" --runtime bash --code "$T/broken.sh" --version 0.2.0
    run "a call of it" 1 ta "$ALICE" call "$SVC_F" --from "$A1"
    expect "the failure" err_has "^duxctl: task $ID_RE failed: nonzero-exit"
    run "dave has an account without money" 0 ta "$DAVE" wallet address
    local d1
    d1=$(last_word)
    run "a call dave cannot pay" 1 ta "$DAVE" call "$SVC_P" --from "$d1"
    expect "422 shown" err_has '^duxctl: 422 .*the escrow refused to hold the price'
    expect "the escrow's problem" err_has "^duxctl: the escrow's problem: [a-z-]*; task $ID_RE failed (payment-failed)"
    run "a call from alice's account by dave" 1 ta "$DAVE" call "$SVC_P" --from "$A1"
    expect "refused" err_has '^duxctl: 422 '
    expect "alice refunded for both failed calls" wait_balance "$A1" "$ALICE" \
        "$(echo "$a0 - 4" | bc | sed 's/^\./0./')"
}

test_unreachable() {
    run "list with the engine stopped" 3 ta "$ALICE" task list
    expect "transport error shown" err_has 'cannot reach the task engine'
}

DAVE=""
main() {
    local b
    for b in "$REGISTRY_BIN" "$TASKS_BIN"; do # store_setup checks the others
        [[ -x $b ]] || die "$b was not built"
    done
    tasks_setup t_clit
    DAVE=$(mint dave user)
    make_files
    test_usage
    test_executors
    test_submit
    test_refusals
    test_show_logs
    test_cancel_wait
    test_list
    test_bundle
    test_call
    tasks_stop_all
    test_unreachable
    lib_finish
}

main "$@"
