#!/usr/bin/env bash
# test_duxctl_wallet.sh BUILD_DIR SOURCE_DIR: duxctl wallet against a real duxos-wallet.
#
# Makes its own database in the ctest cluster (DUX_TEST_PG_DIR), a token key pair and a wallet
# config on free ports (wallet.chain none, keys sealed with a passphrase given in the
# environment), starts BUILD_DIR/bin/duxos-wallet, then drives duxctl wallet with tokens from
# duxctl token mint: accounts, faucet, balances, sends, history, validation and the ledger
# check, with their exit codes and output. Every duxctl run is checked for sanitizer reports;
# the wallet must exit 0 on SIGTERM (leak-free). Helpers: lib.sh.
set -uo pipefail # not -e: a failed check is counted and reported, the run goes on

readonly BUILD=${1:?usage: test_duxctl_wallet.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_duxctl_wallet.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly WALLET_BIN=$BUILD/bin/duxos-wallet
readonly PGCTL=$SRC/deploy/local/pgctl.sh

# duxctl and the wallet must not pick up the caller's settings
unset DUXOS_REGISTRY_URL DUXOS_WALLET_URL DUXOS_TOKEN
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(DUXOS_[A-Z_]*\)=.*/\1/p')

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$SRC/tests/cli/lib.sh"

WALLET_PID=""
URL=""
ADMIN="" ALICE="" BOB="" FORGED="" # tokens; FORGED: signed with another key
A1="" A2="" B1=""       # alice's two accounts, bob's one

# as TOKEN ARGS...: duxctl against the wallet with that token
as() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$URL" --token "$token" "$@"
}
asj() {
    local token=$1
    shift
    "$DUXCTL" --wallet "$URL" --token "$token" --json "$@"
}
wctl() { "$DUXCTL" --wallet "$URL" "$@"; }
# a wallet nobody listens on: a command checked before any request exits 2, not 3
offline() { "$DUXCTL" --wallet http://127.0.0.1:1 --token "$ALICE" "$@"; }

row_of() { grep -- "^$1 " <<<"$OUT"; }
# field N of the line of OUT that starts with $1
col() { row_of "$1" | awk -v n="$2" '{ print $n }'; }

write_config() {
    {
        common_config "$1" "$2"
        printf 'wallet:\n  chain: none\n  encryption: true\n  faucet_limit: "1000"\n'
    } >"$T/wallet.yaml"
}

start_wallet() {
    local http bus
    http=$(free_port) || die "no free port"
    bus=$(free_port "$http") || die "no free port"
    URL=http://127.0.0.1:$http
    write_config "$http" "$bus"
    DUXOS_WALLET_PASSPHRASE="correct horse battery staple" \
        start_daemon wallet "$WALLET_BIN" "$T/wallet.yaml" "$URL"
    WALLET_PID=$DAEMON_PID
}

# sql STATEMENT: run in the wallet's database, behind its back
sql() { "$PGCTL" psql "$DUX_TEST_PG_DIR" -q -d "$DBNAME" -c "$1" >/dev/null; }

mint() {
    "$DUXCTL" token mint --key "$T/auth.key" --sub "$1" --scope "$2" ||
        die "token mint --sub $1 failed"
}

setup() {
    lib_setup "$DUXCTL" "$WALLET_BIN"
    make_database t_cliw
    start_wallet
    note "wallet at $URL (pid $WALLET_PID)"
    ADMIN=$(mint ops admin)
    ALICE=$(mint alice user)
    BOB=$(mint bob "user provider")
    printf '%s\n' "$BOB" >"$T/bob.token"
    openssl genpkey -algorithm ed25519 -out "$T/other.key" 2>/dev/null || die "openssl failed"
    FORGED=$("$DUXCTL" token mint --key "$T/other.key" --sub alice --scope user) ||
        die "token mint with another key failed"
}

# ---- the checks ------------------------------------------------------------------------------

test_usage() {
    local good
    good=$("$DUXCTL" address new 2>/dev/null | awk '{ print $NF }')
    run "wallet needs a subcommand" 2 wctl wallet
    run "wallet --help lists the commands" 0 wctl wallet --help
    expect "wallet --help: send" out_has 'usage: duxctl wallet send --to ADDR --amount FLOP'
    expect "wallet --help: history" out_has 'usage: duxctl wallet history'
    run "--help" 0 "$DUXCTL" --help
    expect "--help documents --wallet" out_has -- '--wallet URL'
    expect "--help documents --token-file" out_has -- '--token-file FILE'
    expect "--help lists wallet check" out_has 'duxctl wallet check'
    run "wallet send --help" 0 wctl wallet send --help
    run "send without --to" 2 offline wallet send --amount 1
    expect "names --to" err_has -- '--to ADDR is required'
    run "send without --amount" 2 offline wallet send --to "$good"
    expect "names --amount" err_has -- '--amount FLOP is required'
    run "send --amount 1e5" 2 offline wallet send --to "$good" --amount 1e5
    expect "says what an amount is" err_has 'at most 8'
    run "send --amount 0.123456789" 2 offline wallet send --to "$good" --amount 0.123456789
    expect "too many decimals" err_has 'more than 8 decimals'
    run "send --amount -1" 2 offline wallet send --to "$good" --amount -1
    expect "negative amount" err_has 'more than 0 FLOP'
    run "send --amount 0" 2 offline wallet send --to "$good" --amount 0
    run "send --amount 1." 2 offline wallet send --to "$good" --amount 1.
    run "send --amount ' 1'" 2 offline wallet send --to "$good" --amount ' 1'
    run "send --amount 99999999999999" 2 offline wallet send --to "$good" --amount 99999999999999
    run "send --to a mistyped address" 2 offline wallet send --to "$(mistype "$good")" --amount 1
    expect "names --to and the reason" err_has -- '--to .* is not a Flopcoin address'
    run "send --from equal to --to" 2 offline wallet send --to "$good" --from "$good" --amount 1
    run "send --memo too long" 2 offline wallet send --to "$good" --amount 1 \
        --memo "$(printf '%0257d' 0)"
    run "send --idempotency-key with a space" 2 offline wallet send --to "$good" --amount 1 \
        --idempotency-key 'a b'
    run "send with an argument too many" 2 offline wallet send --to "$good" --amount 1 extra
    run "send without a token" 2 "$DUXCTL" --wallet http://127.0.0.1:1 wallet send \
        --to "$good" --amount 1
    expect "says a token is needed" err_has 'needs a bearer token'
    run "faucet without --amount" 2 offline wallet faucet --to "$good"
    run "history --limit 0" 2 offline wallet history --limit 0
    run "history --limit 501" 2 offline wallet history --limit 501
    run "history --cursor with a space" 2 offline wallet history --cursor 'a b'
    run "balance --address garbage" 2 offline wallet balance --address nope
    run "validate without an address" 2 offline wallet validate
    run "validate with a /" 2 offline wallet validate a/b
    run "check with an argument" 2 offline wallet check now
    run "--json after the command" 2 offline wallet balance --json
    expect "global option hint" err_has 'global option'
    run "--wallet not a URL" 2 "$DUXCTL" --wallet ftp://x --token "$ALICE" wallet balance
    expect "names --wallet" err_has -- '--wallet must be'
    run "--token and --token-file" 2 "$DUXCTL" --token "$ALICE" --token-file "$T/bob.token" \
        wallet balance
    run "--token-file missing" 4 "$DUXCTL" --wallet "$URL" --token-file "$T/none" \
        wallet balance
    printf 'not a token\n' >"$T/bad.token"
    run "--token-file without a token" 2 "$DUXCTL" --wallet "$URL" --token-file "$T/bad.token" \
        wallet balance
    expect "the file's content is not shown" err_lacks 'not a token'
    run "a bad --wallet does not matter to an offline command" 0 "$DUXCTL" \
        --wallet ftp://x address validate "$good"
}

test_address() {
    run "address (alice)" 0 as "$ALICE" wallet address --idempotency-key acct-1
    A1=$(last_word)
    expect "says created" out_has '^created address '
    run "the address is a mainnet address" 0 "$DUXCTL" address validate "$A1"
    run "the same idempotency key" 0 as "$ALICE" wallet address --idempotency-key acct-1
    expect "gives the same address" test "$(last_word)" = "$A1"
    expect "says existing" out_has '^existing address '
    run "address --json (alice)" 0 asj "$ALICE" wallet address
    expect "--json is the account" out_has '^{"address" *: *"F[^"]*", *"owner" *: *"alice"'
    A2=$(sed -n 's/^{"address" *: *"\([^"]*\)".*/\1/p' <<<"$OUT")
    expect "another key, another address" test -n "$A2" -a "$A2" != "$A1"
    run "address (bob, --token-file)" 0 "$DUXCTL" --wallet "$URL" --token-file "$T/bob.token" \
        wallet address
    B1=$(last_word)
    expect "bob's address" test -n "$B1" -a "$B1" != "$A1" -a "$B1" != "$A2"
    expect "no token printed" out_lacks "$BOB"
    run "the same key of another owner is another account" 0 as "$BOB" wallet address \
        --idempotency-key acct-1
    expect "not alice's account" test "$(last_word)" != "$A1"
    run "address with another deployment's token" 1 as "$FORGED" wallet address
    expect "401 shown" err_has '^duxctl: 401 '
}

test_faucet() {
    run "faucet as admin" 0 as "$ADMIN" wallet faucet --to "$A1" --amount 100
    expect "says credited" out_has "^credited 100 FLOP to $A1: transfer [A-Za-z0-9._:-]*$"
    run "faucet as a user is refused" 1 as "$ALICE" wallet faucet --to "$A1" --amount 100
    expect "403 shown with the reason" err_has '^duxctl: 403 .*scope'
    expect "no token in the message" err_lacks "$ALICE"
    run "faucet above the limit" 1 as "$ADMIN" wallet faucet --to "$A1" --amount 1000.5
    expect "the limit is named" err_has 'faucet limit of 1000 FLOP'
    expect "the field is named" err_has '(field amount)'
    run "faucet with a key" 0 as "$ADMIN" wallet faucet --to "$B1" --amount 0.5 \
        --idempotency-key fund-b1
    run "faucet with the same key again" 0 as "$ADMIN" wallet faucet --to "$B1" --amount 0.5 \
        --idempotency-key fund-b1
    expect "says already credited" out_has '^already credited 0.5 FLOP'
    run "faucet --json" 0 asj "$ADMIN" wallet faucet --to "$B1" --amount 2
    expect "--json is the transfer" out_has '"kind" *: *"faucet"'
    expect "--json has the amount as text" out_has '"amount" *: *"2"'
}

test_balance() {
    run "balance (alice)" 0 as "$ALICE" wallet balance
    expect "table header" out_has '^ADDRESS  *BALANCE  *HELD$'
    expect "A1 has 100" test "$(col "$A1" 2)" = 100
    expect "A2 has 0" test "$(col "$A2" 2)" = 0
    expect "nothing held" test "$(col "$A1" 3)" = 0
    expect "total line" test "$(col total 2)" = 100
    run "balance --address A2" 0 as "$ALICE" wallet balance --address "$A2"
    expect "only A2" out_lacks "$A1"
    expect "total of A2" test "$(col total 2)" = 0
    run "balance --json" 0 asj "$ALICE" wallet balance
    expect "--json is the server's" out_has '^{"owner" *: *"alice"'
    expect "--json is one line" test "$(wc -l <<<"$OUT")" = 1
    run "balance of another owner's account" 1 as "$ALICE" wallet balance --address "$B1"
    expect "404 shown" err_has '^duxctl: 404 '
    run "balance (bob)" 0 as "$BOB" wallet balance
    expect "bob: 2.5" test "$(col total 2)" = 2.5
}

test_send() {
    run "send inside the ledger" 0 as "$ALICE" wallet send --from "$A1" --to "$B1" \
        --amount 25.5 --memo lunch --idempotency-key pay-1
    expect "says sent, with the transfer" \
        out_has "^sent 25.5 FLOP from $A1 to $B1 inside the ledger: transfer [A-Za-z0-9._:-]*$"
    local id
    id=$(last_word)
    run "the same send again (same key)" 0 as "$ALICE" wallet send --from "$A1" --to "$B1" \
        --amount 25.5 --memo lunch --idempotency-key pay-1
    expect "says already sent" out_has '^already sent 25.5 FLOP'
    expect "the same transfer" test "$(last_word)" = "$id"
    run "alice's balance went down" 0 as "$ALICE" wallet balance --address "$A1"
    expect "A1: 74.5" test "$(col "$A1" 2)" = 74.5
    run "bob's balance went up" 0 as "$BOB" wallet balance
    expect "B1: 28" test "$(col "$B1" 2)" = 28
    run "send the smallest unit (--json)" 0 asj "$BOB" wallet send --from "$B1" --to "$A2" \
        --amount 0.00000001
    expect "--json is the server's" out_has '"type" *: *"internal"'
    expect "--json amount" out_has '"amount" *: *"0.00000001"'
    run "send more than there is" 1 as "$BOB" wallet send --from "$B1" --to "$A1" \
        --amount 1000
    expect "422 insufficient funds" err_has '^duxctl: 422 .*has 27.99999999 available'
    run "bob's balance did not move" 0 as "$BOB" wallet balance
    expect "B1: 27.99999999" test "$(col "$B1" 2)" = 27.99999999
    run "send without --from, owning two accounts" 1 as "$ALICE" wallet send --to "$B1" \
        --amount 1
    expect "from is required" err_has 'from is required'
    run "send from another owner's account" 1 as "$ALICE" wallet send --from "$B1" \
        --to "$A1" --amount 1
    expect "403 not the owner" err_has '^duxctl: 403 '
    local outside testnet
    outside=$("$DUXCTL" address new 2>/dev/null | awk '{ print $NF }')
    run "send outside the ledger without a chain link" 1 as "$BOB" wallet send --from "$B1" \
        --to "$outside" --amount 1
    expect "no chain link" err_has '^duxctl: 422 .*no chain link'
    testnet=$("$DUXCTL" address new --network testnet 2>/dev/null | awk '{ print $NF }')
    run "send to a testnet address" 1 as "$BOB" wallet send --from "$B1" --to "$testnet" \
        --amount 1
    expect "400 naming the field" err_has '^duxctl: 400 .*(field address)'
}

test_history() {
    run "history (alice)" 0 as "$ALICE" wallet history
    expect "table header" out_has '^TIME  *ID  *MODE/STATE  *DEBIT -> CREDIT  *AMOUNT$'
    expect "the faucet credit" out_has " immediate/posted  *(faucet) -> $A1  *100\$"
    expect "the send" out_has " immediate/posted  *$A1 -> $B1  *25.5\$"
    expect "bob's payment to A2" out_has "$B1 -> $A2  *0.00000001\$"
    expect "newest first" test "$(sed -n 2p <<<"$OUT" | grep -c "$B1 -> $A2")" = 1
    expect "whole seconds" out_has '^20[0-9-]*T[0-9:]*Z '
    expect "3 transfers" test "$(grep -c ' immediate/posted ' <<<"$OUT")" = 3
    run "history --address A1 --limit 1" 0 as "$ALICE" wallet history --address "$A1" --limit 1
    expect "one transfer" test "$(grep -c ' immediate/posted ' <<<"$OUT")" = 1
    expect "the newest: the send" out_has "$A1 -> $B1"
    expect "the next page is named" out_has '^more: --cursor [0-9]*$'
    local cursor
    cursor=$(last_word)
    run "history --cursor" 0 as "$ALICE" wallet history --address "$A1" --limit 1 \
        --cursor "$cursor"
    expect "the older one: the faucet" out_has "(faucet) -> $A1"
    expect "the last page" out_lacks '^more:'
    run "history --address A1 --limit 1 --all" 0 as "$ALICE" wallet history --address "$A1" \
        --limit 1 --all
    expect "--all: both transfers" test "$(grep -c ' immediate/posted ' <<<"$OUT")" = 2
    expect "--all: no cursor" out_lacks '^more:'
    run "history --json --limit 1" 0 asj "$ALICE" wallet history --limit 1
    expect "--json is the page" out_has '^{"transfers":\[{'
    expect "--json has the cursor" out_has '"next_cursor" *: *"[0-9]*"'
    run "history --json --all --limit 1" 0 asj "$ALICE" wallet history --all --limit 1
    expect "--all --json is one document" test "$(wc -l <<<"$OUT")" = 1
    expect "--all --json has all 3" test "$(count_of '"seq" *: *')" = 3
    expect "--all --json has no cursor" out_lacks 'next_cursor'
    run "history of another owner's account" 1 as "$BOB" wallet history --address "$A1"
    expect "404 shown" err_has '^duxctl: 404 '
    run "history --address of an empty account" 0 as "$BOB" wallet history --address \
        "$(as "$BOB" wallet address | awk '{ print $NF }')"
    expect "no transfers" out_has '^no transfers$'
}

test_validate() {
    run "validate a valid address (no token)" 0 wctl wallet validate "$A1"
    expect "says valid" out_has '^valid mainnet pubkey_hash address$'
    local last=${A1: -1} other=a testnet
    [[ $last != a ]] || other=b
    run "validate a mistyped address" 1 wctl wallet validate "${A1%?}$other"
    expect "says invalid, with the reason" out_has '^invalid: .'
    testnet=$("$DUXCTL" address new --network testnet 2>/dev/null | awk '{ print $NF }')
    run "validate a testnet address" 1 wctl wallet validate "$testnet"
    expect "names the network" out_has '^invalid: it is a testnet address$'
    run "validate garbage" 1 wctl wallet validate 'hello world?'
    run "validate --json" 0 "$DUXCTL" --wallet "$URL" --json wallet validate "$A1"
    expect "--json is the server's" out_has '"valid" *: *true'
    run "validate --json (invalid)" 1 "$DUXCTL" --wallet "$URL" --json wallet validate "$testnet"
    expect "--json says why" out_has '"reason" *: *"it is a testnet address"'
}

test_check() {
    run "check as admin" 0 as "$ADMIN" wallet check
    expect "the ledger holds" out_has '^the ledger holds: 102.5 FLOP inside = 102.5 entered - 0 left$'
    expect "counts" out_has '^5 accounts, 5 transfers, 0 pending (0 FLOP held)$'
    run "check --json" 0 asj "$ADMIN" wallet check
    expect "--json holds" out_has '"holds" *: *true'
    run "check as a user is refused" 1 as "$ALICE" wallet check
    expect "403 shown" err_has '^duxctl: 403 '
    # a balance (one base unit) that no transfer explains: the check must say so
    sql "UPDATE wallet.accounts SET balance = balance + 1 WHERE address = '$A2'" ||
        die "cannot change the ledger behind the wallet's back"
    run "check of a broken ledger" 1 as "$ADMIN" wallet check
    expect "says it does not hold" out_has '^the ledger does NOT hold: 102.50000001 FLOP inside, '
    expect "names the account" out_has "^accounts whose balance does not match their transfers: $A2\$"
    expect "exit 1 explained" err_has 'the ledger does not hold'
    run "check --json of a broken ledger" 1 asj "$ADMIN" wallet check
    expect "--json holds false" out_has '"holds" *: *false'
    sql "UPDATE wallet.accounts SET balance = balance - 1 WHERE address = '$A2'" ||
        die "cannot repair the ledger"
    run "check after the repair" 0 as "$ADMIN" wallet check
}

stop_wallet() {
    stop_daemon wallet "$WALLET_PID"
    WALLET_PID=""
}

test_unreachable() {
    run "balance with the wallet stopped" 3 as "$ALICE" wallet balance
    expect "transport error shown" err_has 'cannot reach the wallet'
    run "send with the wallet stopped" 3 as "$ALICE" wallet send --from "$A1" --to "$B1" \
        --amount 1
}

main() {
    setup
    test_usage
    test_address
    test_faucet
    test_balance
    test_send
    test_history
    test_validate
    test_check
    stop_wallet
    test_unreachable
    lib_finish
}

main "$@"
