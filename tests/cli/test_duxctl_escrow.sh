#!/usr/bin/env bash
# test_duxctl_escrow.sh BUILD_DIR SOURCE_DIR: duxctl escrow, fund and audit against a real
# duxos-wallet and a real duxos-escrow sharing one database of the ctest cluster.
#
# Starts the wallet (chain none), opens accounts and credits them with the faucet, starts the
# escrow with a service token for the wallet (sub duxos-escrow) and an Ed25519 audit key, waits
# until its community fund answers, then drives duxctl: escrows created, shown, listed,
# released, refunded, disputed and resolved; the fund; bad input (exit 2) and refusals (exit 1);
# the audit log verified as it is (exit 0) and after one row was changed behind the escrow's
# back (exit 1 naming the entry). Both daemons must exit 0 on SIGTERM (leak-free). Helpers:
# lib.sh.
set -uo pipefail # not -e: a failed check is counted and reported, the run goes on

readonly BUILD=${1:?usage: test_duxctl_escrow.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_duxctl_escrow.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly WALLET_BIN=$BUILD/bin/duxos-wallet
readonly ESCROW_BIN=$BUILD/bin/duxos-escrow
readonly PGCTL=$SRC/deploy/local/pgctl.sh

# duxctl and the daemons must not pick up the caller's settings
unset DUXOS_REGISTRY_URL DUXOS_WALLET_URL DUXOS_ESCROW_URL DUXOS_TOKEN
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(DUXOS_[A-Z_]*\)=.*/\1/p')

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$SRC/tests/cli/lib.sh"

WALLET_PID="" ESCROW_PID=""
WURL="" EURL=""
ADMIN="" ALICE="" BOB="" SVC="" ESCROW_TOKEN="" # tokens
A1="" B1="" C1=""       # alice's account, bob's (the provider), carol's (alice cannot use it)
E1="" E2="" E3="" E4="" # escrows: released, refunded, split, refunded by resolution
HASH_OF_RESULT=""

# as TOKEN ARGS...: duxctl against both daemons with that token
as() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$WURL" --escrow "$EURL" --token "$token" "$@"
}
asj() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$WURL" --escrow "$EURL" --token "$token" --json "$@"
}
ectl() { "$DUXCTL" --escrow "$EURL" "$@"; }
# an escrow nobody listens on: a command checked before any request exits 2, not 3
offline() { "$DUXCTL" --escrow http://127.0.0.1:1 --token "$ALICE" "$@"; }

# sql STATEMENT: run in the test database, behind the daemons' backs; prints the result
sql() { "$PGCTL" psql "$DUX_TEST_PG_DIR" -q -tA -d "$DBNAME" -c "$1"; }

mint() {
    "$DUXCTL" token mint --key "$T/auth.key" --sub "$1" --scope "$2" ||
        die "token mint --sub $1 failed"
}

row_of() { grep -- "^$1 " <<<"$OUT"; }
# field N of the line of OUT that starts with $1
col() { row_of "$1" | awk -v n="$2" '{ print $n }'; }
# the value of "key: value" line of OUT
kv() { sed -n "s/^$1: //p" <<<"$OUT"; }

start_wallet() {
    local http bus
    for _ in 1 2 3 4 5; do # free ports may be taken before the wallet binds them
        http=$(free_port) || die "no free port"
        bus=$(free_port "$http") || die "no free port"
        WURL=http://127.0.0.1:$http
        {
            common_config "$http" "$bus"
            printf 'wallet:\n  chain: none\n  encryption: true\n  faucet_limit: "1000"\n'
        } >"$T/wallet.yaml"
        if DUXOS_WALLET_PASSPHRASE="correct horse battery staple" \
            try_start_daemon wallet "$WALLET_BIN" "$T/wallet.yaml" "$WURL"; then
            WALLET_PID=$DAEMON_PID
            return 0
        fi
    done
    die "the wallet found no free ports"
}

escrow_config() {
    local http=$1 bus=$2
    common_config "$http" "$bus"
    cat <<EOF
escrow:
  wallet_url: "$WURL"
  audit_key_file: "$T/audit.key"
  fund_shards: 2
  fund_threshold: "100"
  fund_interval_ms: 200
  recovery_interval_ms: 200
EOF
}

start_escrow() {
    local http bus avoid started=0
    avoid=${WURL##*:}
    openssl genpkey -algorithm ed25519 -out "$T/audit.key" 2>/dev/null ||
        die "openssl could not make the audit key"
    for _ in 1 2 3 4 5; do # free ports may be taken before the escrow binds them
        http=$(free_port "$avoid") || die "no free port"
        bus=$(free_port "$avoid" "$http") || die "no free port"
        EURL=http://127.0.0.1:$http
        escrow_config "$http" "$bus" >"$T/escrow.yaml"
        if DUXOS_ESCROW_WALLET_TOKEN=$ESCROW_TOKEN \
            try_start_daemon escrow "$ESCROW_BIN" "$T/escrow.yaml" "$EURL"; then
            started=1
            break
        fi
    done
    ((started)) || die "the escrow found no free ports"
    ESCROW_PID=$DAEMON_PID
    # escrows need the fund's shard accounts, made in the wallet after start-up
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --max-time 2 "$EURL/v1/community-fund" 2>/dev/null && return 0
        sleep 0.1
    done
    show_log escrow
    die "the escrow's community fund did not answer 200 within 30 s"
}

setup() {
    lib_setup "$DUXCTL" "$WALLET_BIN" "$ESCROW_BIN"
    make_database t_clie
    start_wallet
    note "wallet at $WURL (pid $WALLET_PID)"
    ADMIN=$(mint ops admin)
    ALICE=$(mint alice user)
    BOB=$(mint bob "user provider")
    SVC=$(mint duxos-tasks service)
    ESCROW_TOKEN=$(mint duxos-escrow service)
    printf '%s\n' "$SVC" >"$T/svc.token"
    A1=$(as "$ALICE" wallet address | awk '{ print $NF }')
    B1=$(as "$BOB" wallet address | awk '{ print $NF }')
    C1=$(as "$(mint carol user)" wallet address | awk '{ print $NF }')
    [[ -n $A1 && -n $B1 && -n $C1 ]] || die "cannot open the wallet accounts"
    as "$ADMIN" wallet faucet --to "$A1" --amount 100 >/dev/null || die "faucet failed"
    as "$ADMIN" wallet faucet --to "$C1" --amount 5 >/dev/null || die "faucet failed"
    start_escrow
    note "escrow at $EURL (pid $ESCROW_PID)"
    printf 'the result of the work\n' >"$T/result.txt"
    HASH_OF_RESULT=$(sha256sum "$T/result.txt" | awk '{ print $1 }')
}

# wait_audit: until the escrow's chainer has linked every queued audit entry
wait_audit() {
    for _ in $(seq 1 100); do
        [[ $(sql "SELECT count(*) FROM escrow.audit_queue") == 0 ]] && return 0
        sleep 0.1
    done
    die "audit entries were not chained within 10 s"
}

# ---- the checks ------------------------------------------------------------------------------

test_usage() {
    local id=esc_0123456789abcdef0123456789abcdef hash
    hash=$(printf '%064d' 0)
    run "escrow needs a subcommand" 2 ectl escrow
    run "escrow --help lists the commands" 0 ectl escrow --help
    expect "escrow --help: create" out_has 'usage: duxctl escrow create --api-id ID'
    expect "escrow --help: resolve" out_has 'usage: duxctl escrow resolve ESCROW_ID --outcome'
    run "audit --help" 0 ectl audit --help
    expect "audit --help: verify" out_has 'usage: duxctl audit verify \[--from-seq N\] \[--public-key FILE\]'
    run "--help" 0 "$DUXCTL" --help
    expect "--help documents --escrow" out_has -- '--escrow URL .*DUXOS_ESCROW_URL'
    expect "--help lists fund" out_has 'duxctl fund'
    run "create without --api-id" 2 offline escrow create --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 1
    expect "names --api-id" err_has -- '--api-id ID is required'
    run "create without --amount" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1"
    expect "names --amount" err_has -- '--amount FLOP is required'
    run "create --amount 1e5" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 1e5
    run "create --amount 0.123456789" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 0.123456789
    expect "too many decimals" err_has 'more than 8 decimals'
    run "create --amount -1" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1" --amount -1
    run "create --amount 0" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 0
    run "create with a mistyped --user-wallet" 2 offline escrow create --api-id a \
        --user-wallet "$(mistype "$A1")" --provider-wallet "$B1" --amount 1
    expect "names --user-wallet" err_has -- '--user-wallet .* is not a Flopcoin address'
    run "create with equal wallets" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$A1" --amount 1
    run "create --api-id with a space" 2 offline escrow create --api-id 'a b' \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 1
    run "create --task-id too long" 2 offline escrow create --api-id a --task-id \
        "$(printf '%0129d' 0)" --user-wallet "$A1" --provider-wallet "$B1" --amount 1
    run "create --timeout 0" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 1 --timeout 0
    run "create --timeout 1h" 2 offline escrow create --api-id a --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 1 --timeout 1h
    run "create --idempotency-key with a space" 2 offline escrow create --api-id a \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 1 --idempotency-key 'a b'
    run "create without a token" 2 "$DUXCTL" --escrow http://127.0.0.1:1 escrow create \
        --api-id a --user-wallet "$A1" --provider-wallet "$B1" --amount 1
    expect "says a token is needed" err_has 'needs a bearer token'
    run "show without an id" 2 offline escrow show
    run "show a malformed id" 2 offline escrow show esc_123
    expect "says what an id is" err_has 'esc_ and 32 lowercase hex'
    run "show an id in capitals" 2 offline escrow show ESC_0123456789ABCDEF0123456789ABCDEF
    run "release without a result" 2 offline escrow release "$id"
    expect "names both options" err_has -- '--result-hash HEX or --result-file FILE'
    run "release --result-hash too short" 2 offline escrow release "$id" --result-hash abc
    expect "says what a digest is" err_has '64 hex digits'
    run "release --result-hash not hex" 2 offline escrow release "$id" \
        --result-hash "${hash%?}g"
    run "release with both results" 2 offline escrow release "$id" --result-hash "$hash" \
        --result-file "$T/result.txt"
    run "release of a malformed id" 2 offline escrow release esc_x --result-hash "$hash"
    run "release --result-file missing" 4 offline escrow release "$id" --result-file "$T/none"
    expect "names the file" err_has "$T/none"
    run "refund --reason other" 2 offline escrow refund "$id" --reason other
    run "dispute without --reason" 2 offline escrow dispute "$id"
    run "dispute --reason too long" 2 offline escrow dispute "$id" \
        --reason "$(printf '%01001d' 0)"
    run "resolve without --outcome" 2 offline escrow resolve "$id"
    run "resolve --outcome maybe" 2 offline escrow resolve "$id" --outcome maybe
    run "resolve split without --provider-amount" 2 offline escrow resolve "$id" --outcome split
    run "resolve release with --provider-amount" 2 offline escrow resolve "$id" \
        --outcome release --provider-amount 1
    run "resolve --provider-amount 1.000000001" 2 offline escrow resolve "$id" --outcome split \
        --provider-amount 1.000000001
    run "list --status lost" 2 offline escrow list --status lost
    run "list --limit 0" 2 offline escrow list --limit 0
    run "list --cursor garbage" 2 offline escrow list --cursor 12
    run "list --user garbage" 2 offline escrow list --user nope
    run "fund --limit 501" 2 offline fund --limit 501
    run "fund with an argument" 2 offline fund now
    run "audit verify --from-seq 0" 2 offline audit verify --from-seq 0
    run "audit show --limit 1001" 2 offline audit show --limit 1001
    run "audit show --after -1" 2 offline audit show --after -1
    run "--escrow not a URL" 2 "$DUXCTL" --escrow ftp://x --token "$ALICE" escrow list
    expect "names --escrow" err_has -- '--escrow must be'
    run "--escrow after the command" 2 offline escrow list --escrow "$EURL"
    expect "global option hint" err_has 'global option'
}

test_fund_empty() {
    run "fund (no token needed)" 0 ectl fund
    expect "balance 0" test "$(kv balance)" = "0 FLOP"
    expect "threshold" out_has '^threshold: 100 FLOP'
    expect "rate 5%" out_has '^rate: 5% of every release (500 bps)$'
    expect "two shards" out_has '^shards: 2 accounts$'
    expect "no inflows" out_has '^no inflows yet$'
}

test_create() {
    run "create (alice)" 0 as "$ALICE" escrow create --api-id img.resize:v2 --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 10 --idempotency-key order-1
    E1=$(last_word)
    expect "the id is printed last" grep -q '^esc_[0-9a-f]\{32\}$' <<<"$E1"
    expect "held, with the shares" \
        out_has "^held 10 FLOP from $A1 for $B1 (provider 9.5, community fund 0.5), "
    expect "the timeout" out_has 'refunded unless released by 20[0-9-]*T[0-9:]*Z: escrow '
    run "create again with the same key" 0 as "$ALICE" escrow create --api-id img.resize:v2 \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 10 --idempotency-key order-1
    expect "the same escrow" test "$(last_word)" = "$E1"
    expect "says already created" out_has '^already created, held 10 FLOP'
    run "the same key for another escrow" 1 as "$ALICE" escrow create --api-id other \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 10 --idempotency-key order-1
    expect "422 shown" err_has '^duxctl: 422 .*Idempotency-Key'
    run "create --json" 0 asj "$ALICE" escrow create --api-id img.resize:v2 \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 10 --timeout 600
    expect "--json is the escrow" out_has '"status" *: *"held"'
    expect "--json has the shares as text" out_has '"community_share" *: *"0.5"'
    E2=$(sed -n 's/.*"id" *: *"\(esc_[0-9a-f]*\)".*/\1/p' <<<"$OUT")
    expect "--json has the id" test -n "$E2"
    run "create with --task-id" 0 as "$ALICE" escrow create --api-id llm.chat \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 10 --task-id task-7
    E3=$(last_word)
    run "create of 0.00000001 FLOP" 0 as "$ALICE" escrow create --api-id tiny \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 0.00000001
    expect "all to the provider" out_has '(provider 0.00000001, community fund 0)'
    E4=$(last_word)
    run "the holds show in the wallet" 0 as "$ALICE" wallet balance --address "$A1"
    expect "A1 holds 30.00000001" test "$(col "$A1" 3)" = 30.00000001
    run "create with more than there is" 1 as "$ALICE" escrow create --api-id big \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 500
    expect "422 insufficient funds" err_has '^duxctl: 422 .*insufficient\|^duxctl: 422 .*available'
    run "create from someone else's account" 1 as "$ALICE" escrow create --api-id a \
        --user-wallet "$C1" --provider-wallet "$B1" --amount 1
    expect "403 shown" err_has '^duxctl: 403 '
    run "create with a service token" 1 as "$SVC" escrow create --api-id a \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 1
    expect "403 scope" err_has '^duxctl: 403 .*scope'
    run "create above escrow.max_amount" 1 as "$ALICE" escrow create --api-id a \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 1000001
    expect "400 naming the field" err_has '^duxctl: 400 .*(field amount)'
}

test_show_list() {
    run "show (alice)" 0 as "$ALICE" escrow show "$E1"
    expect "every field" test "$(kv status)" = held
    expect "nested fields" test "$(kv paid.provider)" = 0
    expect "the owner" test "$(kv owner)" = alice
    run "show --json" 0 asj "$ALICE" escrow show "$E1"
    expect "--json is one line" test "$(wc -l <<<"$OUT")" = 1
    expect "--json is the escrow" out_has "\"id\" *: *\"$E1\""
    run "show as the provider it pays" 0 as "$BOB" escrow show "$E1"
    run "show of another owner's escrow" 1 as "$(mint dave user)" escrow show "$E1"
    expect "404 shown" err_has '^duxctl: 404 '
    run "show as a service" 0 as "$SVC" escrow show "$E1"
    run "show of no escrow" 1 as "$ALICE" escrow show esc_00000000000000000000000000000000
    run "list (alice)" 0 as "$ALICE" escrow list
    expect "table header" out_has '^ID  *STATUS  *AMOUNT  *API  *USER -> PROVIDER  *CREATED$'
    # four held, and the two creates the wallet refused, kept as failed
    expect "six escrows" test "$(grep -c '^esc_' <<<"$OUT")" = 6
    expect "E1 held" test "$(col "$E1" 2)" = held
    expect "E1 amount" test "$(col "$E1" 3)" = 10
    expect "E1 api" test "$(col "$E1" 4)" = img.resize:v2
    run "list --status failed" 0 as "$ALICE" escrow list --status failed
    expect "the refused creates" test "$(grep -c '^esc_.* failed ' <<<"$OUT")" = 2
    run "list --api-id" 0 as "$ALICE" escrow list --api-id llm.chat
    expect "only E3" test "$(grep -c '^esc_' <<<"$OUT")" = 1
    expect "E3 listed" out_has "^$E3 "
    run "list --limit 1" 0 as "$ALICE" escrow list --limit 1
    expect "one escrow" test "$(grep -c '^esc_' <<<"$OUT")" = 1
    expect "the next page is named" out_has '^more: --cursor esc_[0-9a-f]*$'
    local cursor
    cursor=$(last_word)
    run "list --cursor" 0 as "$ALICE" escrow list --limit 1 --cursor "$cursor"
    expect "another escrow" out_lacks "^$cursor "
    run "list --limit 1 --all" 0 as "$ALICE" escrow list --limit 1 --all
    expect "--all: six escrows" test "$(grep -c '^esc_' <<<"$OUT")" = 6
    expect "--all: no cursor" out_lacks '^more:'
    run "list --json --all --limit 3" 0 asj "$ALICE" escrow list --all --limit 3
    expect "--all --json is one document" test "$(wc -l <<<"$OUT")" = 1
    expect "--all --json has all 6" test "$(count_of '"api_id" *: *')" = 6
    run "list --json --limit 1" 0 asj "$ALICE" escrow list --limit 1
    expect "--json is the page" out_has '"next_cursor" *: *"esc_'
    run "list (bob created none)" 0 as "$BOB" escrow list
    expect "no escrows" out_has '^no escrows$'
    run "list --provider as a service" 0 as "$SVC" escrow list --provider "$B1" --status held
    expect "the service sees alice's" test "$(grep -c '^esc_' <<<"$OUT")" = 4
}

test_release() {
    run "release as a user is refused" 1 as "$ALICE" escrow release "$E1" \
        --result-file "$T/result.txt"
    expect "403 shown" err_has '^duxctl: 403 '
    run "release with --result-file (service, --token-file)" 0 "$DUXCTL" --escrow "$EURL" \
        --token-file "$T/svc.token" escrow release "$E1" --result-file "$T/result.txt"
    expect "paid out" \
        out_has "^released escrow $E1: 9.5 FLOP to $B1, 0.5 FLOP to the community fund$"
    expect "the validation note" out_has '^note: not bound to a task'
    run "the hash of the file was sent" 0 as "$SVC" escrow show "$E1"
    expect "result_hash is the file's SHA-256" test "$(kv result_hash)" = "$HASH_OF_RESULT"
    expect "finished" test "$(kv status)" = released
    run "release again" 0 as "$SVC" escrow release "$E1" --result-hash "$HASH_OF_RESULT"
    expect "as it stands" out_has "^released escrow $E1:"
    run "release --json (upper-case digest)" 0 asj "$SVC" escrow release "$E4" \
        --result-hash "${HASH_OF_RESULT^^}"
    expect "--json is the escrow" out_has '"status" *: *"released"'
    expect "the digest went in lower case" out_has "\"result_hash\" *: *\"$HASH_OF_RESULT\""
    run "release of a task-bound escrow without a task engine" 3 as "$SVC" escrow release \
        "$E3" --result-hash "$HASH_OF_RESULT"
    expect "503 shown" err_has '^duxctl: 503 .*task'
    run "release of no escrow" 1 as "$SVC" escrow release esc_00000000000000000000000000000000 \
        --result-hash "$HASH_OF_RESULT"
    expect "404 shown" err_has '^duxctl: 404 '
}

test_refund() {
    run "refund --reason failure (service)" 0 as "$SVC" escrow refund "$E2" --reason failure
    expect "back to the user" \
        out_has "^refunded escrow $E2: 10 FLOP back to $A1 (refunded_failure)\$"
    run "refund again" 0 as "$SVC" escrow refund "$E2"
    run "refund of a released escrow" 1 as "$SVC" escrow refund "$E1"
    expect "409 names the state" err_has "^duxctl: 409 .*$E1 is released"
    run "release of a refunded escrow" 1 as "$SVC" escrow release "$E2" \
        --result-hash "$HASH_OF_RESULT"
}

test_dispute_resolve() {
    run "dispute (alice)" 0 as "$ALICE" escrow dispute "$E3" --reason "the answer was empty"
    expect "frozen" out_has "^disputed escrow $E3: 10 FLOP frozen until an admin resolves it$"
    run "dispute again" 1 as "$ALICE" escrow dispute "$E3" --reason again
    expect "409 shown" err_has '^duxctl: 409 '
    run "dispute by someone else" 1 as "$BOB" escrow dispute "$E1" --reason mine
    expect "404 shown" err_has '^duxctl: 404 '
    run "refund of a disputed escrow" 1 as "$SVC" escrow refund "$E3"
    run "resolve as a user" 1 as "$ALICE" escrow resolve "$E3" --outcome refund
    expect "403 shown" err_has '^duxctl: 403 '
    run "resolve split above the amount" 1 as "$ADMIN" escrow resolve "$E3" --outcome split \
        --provider-amount 11
    expect "400 naming the field" err_has '(field provider_amount)'
    run "resolve split (admin)" 0 as "$ADMIN" escrow resolve "$E3" --outcome split \
        --provider-amount 4
    expect "the split" out_has "^resolved (split) escrow $E3: 3.8 FLOP to $B1, \
0.2 FLOP to the community fund, 6 FLOP back to $A1\$"
    run "resolve again" 0 as "$ADMIN" escrow resolve "$E3" --outcome split --provider-amount 4
    run "the dispute is on record" 0 as "$ADMIN" escrow show "$E3"
    expect "dispute reason" test "$(kv dispute.reason)" = "the answer was empty"
    expect "resolved by" test "$(kv dispute.resolved_by)" = ops
    expect "reason" test "$(kv reason)" = resolved_split
    # a fifth escrow, disputed and refunded by resolution
    run "create (alice, E5)" 0 as "$ALICE" escrow create --api-id img.resize:v2 \
        --user-wallet "$A1" --provider-wallet "$B1" --amount 2
    local e5
    e5=$(last_word)
    run "dispute E5" 0 as "$ALICE" escrow dispute "$e5" --reason "never answered"
    run "resolve refund --json" 0 asj "$ADMIN" escrow resolve "$e5" --outcome refund
    expect "--json resolved" out_has '"status" *: *"resolved"'
    expect "--json refunded 2" out_has '"refunded" *: *"2"'
}

test_money() {
    run "alice's account" 0 as "$ALICE" wallet balance --address "$A1"
    # 100 - 10 (E1) - 0.00000001 (E4) - 4 (E3's split) = 85.99999999; nothing held
    expect "A1: 85.99999999" test "$(col "$A1" 2)" = 85.99999999
    expect "A1: nothing held" test "$(col "$A1" 3)" = 0
    run "bob's account" 0 as "$BOB" wallet balance
    expect "B1: 9.5 + 0.00000001 + 3.8" test "$(col "$B1" 2)" = 13.30000001
    run "the ledger holds" 0 as "$ADMIN" wallet check
    run "fund" 0 ectl fund
    expect "balance 0.7" test "$(kv balance)" = "0.7 FLOP"
    expect "total inflow 0.7" test "$(kv 'total inflow')" = "0.7 FLOP"
    expect "inflows table" out_has '^TIME  *ESCROW  *API  *AMOUNT$'
    expect "E1's inflow" out_has " $E1  *img.resize:v2  *0.5\$"
    expect "E3's inflow" out_has " $E3  *llm.chat  *0.2\$"
    run "fund --limit 1" 0 ectl fund --limit 1
    expect "one inflow" test "$(grep -c ' esc_' <<<"$OUT")" = 1
    run "fund --json" 0 "$DUXCTL" --escrow "$EURL" --json fund
    expect "--json is the server's" out_has '"community_bps" *: *500'
}

test_audit() {
    wait_audit
    run "audit show as a user is refused" 1 as "$ALICE" audit show
    expect "403 shown" err_has '^duxctl: 403 '
    run "audit verify as a user is refused" 1 as "$ALICE" audit verify
    run "audit show (admin)" 0 as "$ADMIN" audit show
    expect "table header" out_has '^SEQ  *TIME  *ACTION  *ESCROW  *ACTOR  *HASH$'
    expect "E1 held first" out_has "^1  *20[^ ]*  *held  *$E1  *alice  *[0-9a-f]\{16\}\$"
    expect "E1 released by the service" out_has " released  *$E1  *duxos-tasks "
    local n
    n=$(grep -c '^[0-9]' <<<"$OUT")
    expect "entries for every step" test "$n" -ge 10
    run "audit show --limit 2" 0 as "$ADMIN" audit show --limit 2
    expect "two entries" test "$(grep -c '^[0-9]' <<<"$OUT")" = 2
    expect "the next page is named" out_has '^more: --after 2$'
    run "audit show --after 2 --limit 1 --json" 0 asj "$ADMIN" audit show --after 2 --limit 1
    expect "--json is the page" out_has '"seq" *: *3'
    run "audit verify (the real log)" 0 as "$ADMIN" audit verify
    expect "every entry verified" out_has "^$n entries verified, head [0-9a-f]\{64\}\$"
    local head
    head=$(last_word)
    expect "the head is the last hash" \
        test "$head" = "$(sql "SELECT hash FROM escrow.audit_log ORDER BY seq DESC LIMIT 1")"
    run "audit verify (service token)" 0 as "$SVC" audit verify
    openssl pkey -in "$T/audit.key" -pubout -out "$T/audit.pub" 2>/dev/null ||
        die "openssl could not derive the audit key's public half"
    run "audit verify --public-key (the pinned key)" 0 as "$ADMIN" audit verify \
        --public-key "$T/audit.pub"
    openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -out "$T/other.pub" ||
        die "openssl could not make a second key"
    run "audit verify --public-key (another key)" 1 as "$ADMIN" audit verify \
        --public-key "$T/other.pub"
    expect "a foreign key fails the first signature" out_has "bad signature"
    run "audit verify --public-key (no such file)" 4 as "$ADMIN" audit verify \
        --public-key "$T/missing.pub"
    run "audit verify --from-seq 3" 0 as "$ADMIN" audit verify --from-seq 3
    expect "from seq 3" out_has "^$((n - 2)) entries verified, head $head\$"
    run "audit verify --from-seq past the end" 1 as "$ADMIN" audit verify --from-seq $((n + 5))
    run "audit verify --json" 0 asj "$ADMIN" audit verify
    expect "--json valid" out_has '"valid" *: *true'
    expect "--json head" out_has "\"head\" *: *\"$head\""

    # one row changed behind the escrow's back
    sql "UPDATE escrow.audit_log SET data = replace(data, 'alice', 'mallory') WHERE seq = 2" \
        >/dev/null || die "cannot change the audit log"
    run "audit verify of a changed entry" 1 as "$ADMIN" audit verify
    expect "names seq 2: hash mismatch" out_has '^seq 2: hash mismatch: its content hashes to'
    expect "counts the good ones" out_has '^1 entry verified before it$'
    expect "exit 1 explained" err_has 'the audit log does not verify: seq 2: hash mismatch'
    run "audit verify --json of a changed entry" 1 asj "$ADMIN" audit verify
    expect "--json bad_seq" out_has '"bad_seq" *: *2'
    expect "--json problem" out_has '"problem" *: *"hash mismatch"'
    run "audit verify --from-seq 3 trusts entry 2's signed hash" 0 as "$ADMIN" audit verify \
        --from-seq 3
    sql "UPDATE escrow.audit_log SET data = replace(data, 'mallory', 'alice') WHERE seq = 2" \
        >/dev/null || die "cannot repair the audit log"
    run "audit verify after the repair" 0 as "$ADMIN" audit verify

    # a signature of another entry, a link to nothing, an entry taken out of the chain
    local saved other
    saved=$(sql "SELECT signature FROM escrow.audit_log WHERE seq = 4")
    other=$(sql "SELECT signature FROM escrow.audit_log WHERE seq = 3")
    sql "UPDATE escrow.audit_log SET signature = '$other' WHERE seq = 4" >/dev/null ||
        die "cannot change the audit log"
    run "audit verify of a wrong signature" 1 as "$ADMIN" audit verify
    expect "names seq 4: bad signature" out_has '^seq 4: bad signature'
    sql "UPDATE escrow.audit_log SET signature = '$saved' WHERE seq = 4" >/dev/null ||
        die "cannot repair the audit log"
    saved=$(sql "SELECT prev_hash FROM escrow.audit_log WHERE seq = 5")
    sql "UPDATE escrow.audit_log SET prev_hash = '$(printf '%064d' 0)' WHERE seq = 5" \
        >/dev/null || die "cannot change the audit log"
    run "audit verify of a broken link" 1 as "$ADMIN" audit verify
    expect "names seq 5: broken link" out_has '^seq 5: broken link'
    sql "UPDATE escrow.audit_log SET prev_hash = '$saved' WHERE seq = 5" >/dev/null ||
        die "cannot repair the audit log"
    sql "UPDATE escrow.audit_log SET seq = seq + 1000 WHERE seq = 6" >/dev/null ||
        die "cannot change the audit log"
    run "audit verify of a missing entry" 1 as "$ADMIN" audit verify
    expect "names seq 6: seq gap" out_has '^seq 6: seq gap: entry 6 is missing (the next one is 7)$'
    sql "UPDATE escrow.audit_log SET seq = seq - 1000 WHERE seq = 1006" >/dev/null ||
        die "cannot repair the audit log"
    run "audit verify, all repaired" 0 as "$ADMIN" audit verify
}

stop_all() {
    stop_daemon escrow "$ESCROW_PID"
    ESCROW_PID=""
    stop_daemon wallet "$WALLET_PID"
    WALLET_PID=""
}

test_unreachable() {
    run "show with the escrow stopped" 3 as "$ALICE" escrow show "$E1"
    expect "transport error shown" err_has 'cannot reach the escrow'
    run "fund with the escrow stopped" 3 ectl fund
}

main() {
    setup
    test_usage
    test_fund_empty
    test_create
    test_show_list
    test_release
    test_refund
    test_dispute_resolve
    test_money
    test_audit
    stop_all
    test_unreachable
    lib_finish
}

main "$@"
