#!/usr/bin/env bash
# test_duxctl_store.sh BUILD_DIR SOURCE_DIR: duxctl store against a real duxos-store, with the
# real duxos-wallet (who owns a provider address) and duxos-escrow (whose releases are the paid
# calls that admit a review) on one database of the ctest cluster.
#
# Starts the wallet, opens accounts and credits one, starts the escrow and then the store
# (service tokens for the wallet and the escrow's events), and drives duxctl: bad arguments
# (exit 2, nothing sent), services published (and again with the same key), refused for an
# address of someone else (exit 1), searched with words, tags, prices and sorts, a page at a
# time and --all, shown (also an earlier version), a new version, a review refused before a
# paid call and accepted then replaced after one, a delisting, and the store stopped (exit 3).
# Every daemon must exit 0 on SIGTERM (leak-free). Helpers: lib.sh.
set -uo pipefail # not -e: a failed check is counted and reported, the run goes on

readonly BUILD=${1:?usage: test_duxctl_store.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_duxctl_store.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly WALLET_BIN=$BUILD/bin/duxos-wallet
readonly ESCROW_BIN=$BUILD/bin/duxos-escrow
readonly STORE_BIN=$BUILD/bin/duxos-store
readonly PGCTL=$SRC/deploy/local/pgctl.sh

# duxctl and the daemons must not pick up the caller's settings
unset DUXOS_REGISTRY_URL DUXOS_WALLET_URL DUXOS_ESCROW_URL DUXOS_STORE_URL DUXOS_TOKEN
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(DUXOS_[A-Z_]*\)=.*/\1/p')

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$SRC/tests/cli/lib.sh"

# shellcheck source-path=SCRIPTDIR source=store_env.sh
source "$SRC/tests/cli/store_env.sh"

# a store nobody listens on: a command checked before any request exits 2, not 3
offline() { "$DUXCTL" --store http://127.0.0.1:1 --token "$BOB" "$@"; }

kv() { sed -n "s/^$1: //p" <<<"$OUT"; }
rows() { grep -c '^svc_' <<<"$OUT"; }

# ---- the checks ------------------------------------------------------------------------------

test_usage() {
    local id=svc_0123456789abcdef0123456789abcdef
    run "store needs a subcommand" 2 sctl store
    run "store --help lists the commands" 0 sctl store --help
    expect "store --help: publish" out_has 'usage: duxctl store publish --name N'
    run "show without an id" 2 offline store show
    run "show a malformed id" 2 offline store show svc_123
    expect "says what an id is" err_has 'svc_ and 32 lowercase hex'
    run "show an id in capitals" 2 offline store show SVC_0123456789ABCDEF0123456789ABCDEF
    run "search --limit 0" 2 offline store search --limit 0
    run "search --limit 101" 2 offline store search --limit 101
    run "search --sort cheapest" 2 offline store search --sort cheapest
    run "search --sort relevance without words" 2 offline store search --sort relevance
    run "search --min-price -1" 2 offline store search --min-price -1
    run "search --max-price 1.123456789" 2 offline store search --max-price 1.123456789
    run "search --min-reputation 5.5" 2 offline store search --min-reputation 5.5
    run "search --min-reputation 4.12345" 2 offline store search --min-reputation 4.12345
    run "search --tag with a space" 2 offline store search --tag 'a b'
    run "search --provider garbage" 2 offline store search --provider nope
    run "search --cursor garbage" 2 offline store search --cursor 'a b'
    run "search with words twice" 2 offline store search --q one two
    run "publish without --name" 2 offline store publish --version 1.0.0 --provider "$B1" \
        --price 1 --endpoint https://x.example/ --rate-limit 5
    expect "names --name" err_has -- '--name NAME is required'
    run "publish --price -1" 2 offline store publish --name n --version 1.0.0 --provider "$B1" \
        --price -1 --endpoint https://x.example/ --rate-limit 5
    run "publish --endpoint ftp" 2 offline store publish --name n --version 1.0.0 \
        --provider "$B1" --price 1 --endpoint ftp://x.example/ --rate-limit 5
    run "publish --rate-limit 0" 2 offline store publish --name n --version 1.0.0 \
        --provider "$B1" --price 1 --endpoint https://x.example/ --rate-limit 0
    run "publish --tag _x" 2 offline store publish --name n --version 1.0.0 --provider "$B1" \
        --price 1 --endpoint https://x.example/ --rate-limit 5 --tag _x
    run "publish --name too long" 2 offline store publish --name "$(printf '%0121d' 0)" \
        --version 1.0.0 --provider "$B1" --price 1 --endpoint https://x.example/ --rate-limit 5
    run "publish with a mistyped --provider" 2 offline store publish --name n --version 1.0.0 \
        --provider "$(mistype "$B1")" --price 1 --endpoint https://x.example/ --rate-limit 5
    run "publish --service with --idempotency-key" 2 offline store publish --service "$id" \
        --name n --version 2.0.0 --price 1 --endpoint https://x.example/ --rate-limit 5 \
        --idempotency-key k
    run "publish without a token" 2 "$DUXCTL" --store http://127.0.0.1:1 store publish \
        --name n --version 1.0.0 --provider "$B1" --price 1 --endpoint https://x.example/ \
        --rate-limit 5
    expect "says a token is needed" err_has 'needs a bearer token'
    run "review without --stars" 2 offline store review "$id"
    run "review --stars 6" 2 offline store review "$id" --stars 6
    run "review --stars 0" 2 offline store review "$id" --stars 0
    run "review --text too long" 2 offline store review "$id" --stars 5 \
        --text "$(printf '%02001d' 0)"
    run "delist a malformed id" 2 offline store delist svc_x
    run "--store not a URL" 2 "$DUXCTL" --store ftp://x store search
    expect "names --store" err_has -- '--store must be'
    run "--store after the command" 2 offline store search --store "$SURL"
    expect "global option hint" err_has 'global option'
}

test_publish() {
    run "publish (bob)" 0 as "$BOB" store publish --name "Image Upscaler API" \
        --description "AI-powered image upscaling service" --version 1.0.0 --provider "$B1" \
        --price 1 --endpoint https://provider-node:8080/upscale --rate-limit 100 \
        --tag AI --tag image-processing --tag upscaling --idempotency-key upscaler-1
    S1=$(last_word)
    expect "the id is printed last" grep -q '^svc_[0-9a-f]\{32\}$' <<<"$S1"
    expect "what was published" out_has '^published Image Upscaler API 1.0.0 (1 FLOP per call): '
    run "publish again with the key" 0 as "$BOB" store publish --name "Image Upscaler API" \
        --description "AI-powered image upscaling service" --version 1.0.0 --provider "$B1" \
        --price 1 --endpoint https://provider-node:8080/upscale --rate-limit 100 \
        --tag AI --tag image-processing --tag upscaling --idempotency-key upscaler-1
    expect "already published" out_has "^already published, .*: service $S1\$"
    run "publish under someone else's address" 1 as "$BOB" store publish --name x \
        --version 1.0.0 --provider "$C1" --price 1 --endpoint https://x.example/ --rate-limit 1
    expect "403 shown" err_has '^duxctl: 403 .*belongs to another owner'
    run "publish as a user" 1 as "$ALICE" store publish --name x --version 1.0.0 \
        --provider "$A1" --price 1 --endpoint https://x.example/ --rate-limit 1
    expect "403 scope" err_has '^duxctl: 403 .*scope'
    run "publish a malformed version" 1 as "$BOB" store publish --name x --version 1.0 \
        --provider "$B1" --price 1 --endpoint https://x.example/ --rate-limit 1
    expect "400 naming the field" err_has '^duxctl: 400 .*(field version)'
    run "publish --json (carol)" 0 asj "$CAROL" store publish --name "Weather Now" \
        --description "forecasts for any place" --version 0.1.0 --provider "$C1" --price 0.25 \
        --endpoint https://weather.example/v1 --rate-limit 10 --tag weather
    expect "--json is one line" test "$(wc -l <<<"$OUT")" = 1
    S2=$(sed -n 's/.*"id":"\(svc_[0-9a-f]*\)".*/\1/p' <<<"$OUT")
    expect "--json is the service" test -n "$S2"
}

test_search_show() {
    run "search (no token)" 0 sctl store search upscaling
    expect "table header" \
        out_has '^ID  *NAME  *VERSION  *PRICE  *REPUTATION  *CALLS  *TAGS$'
    expect "the upscaler found" out_has "^$S1  *Image Upscaler API  *1.0.0  *1  *3  *0  "
    expect "one result" test "$(rows)" = 1
    expect "tags normalised" out_has 'ai,image-processing,upscaling$'
    run "search --tag weather" 0 sctl store search --tag WEATHER
    expect "only the weather" test "$(rows)" = 1
    expect "S2 listed" out_has "^$S2 "
    run "search --max-price 0.5" 0 sctl store search --max-price 0.5
    expect "only the cheap one" test "$(rows)" = 1
    run "search --sort price" 0 sctl store search --sort price
    expect "cheapest first" test "$(grep '^svc_' <<<"$OUT" | head -1 | awk '{ print $1 }')" = "$S2"
    run "search --limit 1" 0 sctl store search --sort price --limit 1
    expect "one service" test "$(rows)" = 1
    expect "the next page is named" out_has '^more: --cursor [A-Za-z0-9_-]*$'
    local cursor
    cursor=$(last_word)
    run "search --cursor" 0 sctl store search --sort price --limit 1 --cursor "$cursor"
    expect "the dearer one" out_has "^$S1 "
    run "search --cursor with another sort" 1 sctl store search --sort newest --cursor "$cursor"
    expect "400 names the cursor" err_has '(field cursor)'
    run "search --all --limit 1" 0 sctl store search --limit 1 --all
    expect "--all: both" test "$(rows)" = 2
    expect "--all: no cursor" out_lacks '^more:'
    run "search --json --all --limit 1" 0 sctl --json store search --limit 1 --all
    expect "--all --json is one document" test "$(wc -l <<<"$OUT")" = 1
    expect "--all --json has both" test "$(count_of '"total_calls":')" = 2
    run "search for nothing" 0 sctl store search zebra
    expect "no services" out_has '^no services$'
    run "show" 0 sctl store show "$S1"
    expect "every field" test "$(kv name)" = "Image Upscaler API"
    expect "the provider" test "$(kv provider)" = "$B1"
    expect "the tags" test "$(kv tags)" = "ai, image-processing, upscaling"
    expect "the reputation prior" test "$(kv reputation)" = 3
    expect "the owner" test "$(kv owner)" = bob
    run "show --json" 0 sctl --json store show "$S1"
    expect "--json is the service" out_has "\"id\":\"$S1\""
    run "show of no service" 1 sctl store show svc_00000000000000000000000000000000
    expect "404 shown" err_has '^duxctl: 404 '
}

test_versions() {
    run "a new version (bob)" 0 as "$BOB" store publish --service "$S1" \
        --name "Image Upscaler API" --version 1.1.0 --price 1.5 \
        --endpoint https://provider-node:8080/upscale --rate-limit 100 --tag ai
    expect "the version" out_has "^published version 1.1.0 (1.5 FLOP per call): service $S1\$"
    run "a version that does not raise it" 1 as "$BOB" store publish --service "$S1" \
        --name x --version 1.0.5 --price 1 --endpoint https://x.example/ --rate-limit 1
    expect "409 shown" err_has '^duxctl: 409 .*does not raise'
    run "a new version by another provider" 1 as "$CAROL" store publish --service "$S1" \
        --name x --version 9.0.0 --price 1 --endpoint https://x.example/ --rate-limit 1
    expect "403 shown" err_has '^duxctl: 403 '
    run "show --version 1.0.0" 0 sctl store show "$S1" --version 1.0.0
    expect "the old price" test "$(kv price)" = 1
    expect "not current" test "$(kv current)" = false
    run "show now" 0 sctl store show "$S1"
    expect "the new price" test "$(kv price)" = 1.5
}

test_review() {
    run "review without a paid call" 1 as "$ALICE" store review "$S1" --stars 5
    expect "403 no paid call" err_has '^duxctl: 403 .*paid for a call'
    run "review of one's own service" 1 as "$BOB" store review "$S1" --stars 5
    # alice pays for a call of S1: an escrow with api_id S1, released by the task engine
    run "escrow create (alice)" 0 as "$ALICE" escrow create --api-id "$S1" --user-wallet "$A1" \
        --provider-wallet "$B1" --amount 1.5
    local esc
    esc=$(last_word)
    run "escrow release (service)" 0 as "$SVC" escrow release "$esc" \
        --result-hash "$(printf '%064d' 7)"
    local calls=""
    for _ in $(seq 1 100); do
        calls=$(sctl store show "$S1" | sed -n 's/^total_calls: //p')
        [[ $calls == 1 ]] && break
        sleep 0.1
    done
    expect "the call is counted" test "$calls" = 1
    run "review after the paid call" 0 as "$ALICE" store review "$S1" --stars 5 \
        --text "sharp results"
    expect "reviewed" out_has "^reviewed service $S1: 5 stars\$"
    run "review again" 0 as "$ALICE" store review "$S1" --stars 2
    expect "replaced" out_has "^replaced your review of service $S1: 2 stars\$"
    run "review --json" 0 asj "$ALICE" store review "$S1" --stars 4 --text "good"
    expect "--json is the review" out_has '"stars":4'
    run "show after reviews" 0 sctl store show "$S1"
    expect "one rating" test "$(kv rating_count)" = 1
    expect "Bayesian reputation (15 + 4) / 6" test "$(kv reputation)" = 3.1667
    expect "raw mean" test "$(kv rating_mean)" = 4
    run "review of another service" 1 as "$ALICE" store review "$S2" --stars 5
}

test_delist() {
    run "delist by another provider" 1 as "$CAROL" store delist "$S1"
    expect "403 shown" err_has '^duxctl: 403 '
    run "delist (bob)" 0 as "$BOB" store delist "$S1"
    expect "delisted" out_has "^delisted service $S1: it no longer shows in searches"
    run "search after the delisting" 0 sctl store search upscaling
    expect "no services" out_has '^no services$'
    run "show after the delisting" 0 sctl store show "$S1"
    expect "still readable" test "$(kv listed)" = false
    run "an admin delists carol's" 0 as "$ADMIN" store delist "$S2"
}

test_unreachable() {
    run "search with the store stopped" 3 sctl store search
    expect "transport error shown" err_has 'cannot reach the store'
}

main() {
    store_setup t_clis
    test_usage
    test_publish
    test_search_show
    test_versions
    test_review
    test_delist
    stop_all
    test_unreachable
    lib_finish
}

main "$@"
