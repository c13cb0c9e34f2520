#!/usr/bin/env bash
# test_store_ui.sh BUILD_DIR SOURCE_DIR: the store's web pages in a real browser. Starts the
# store cluster of tests/cli/store_env.sh (wallet, escrow, store on one database of the ctest
# cluster), publishes three services with duxctl, has alice pay for a call of one, and runs
# store_ui.mjs: playwright-core driving Debian's Chromium headless through the pages (search,
# filters, a service page, a review refused without a paid call, a review saved and shown).
#
# Needs node 20 or later and /usr/bin/chromium (deploy/install-deps.sh installs Chromium);
# playwright-core is installed from package-lock.json into BUILD_DIR/browser at the first run.
set -uo pipefail

readonly BUILD=${1:?usage: test_store_ui.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_store_ui.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly WALLET_BIN=$BUILD/bin/duxos-wallet
readonly ESCROW_BIN=$BUILD/bin/duxos-escrow
readonly STORE_BIN=$BUILD/bin/duxos-store
readonly PGCTL=$SRC/deploy/local/pgctl.sh
export CHROMIUM=${DUX_CHROMIUM:-/usr/bin/chromium}
readonly CHROMIUM
readonly NODE_DIR=$BUILD/browser

unset DUXOS_REGISTRY_URL DUXOS_WALLET_URL DUXOS_ESCROW_URL DUXOS_STORE_URL DUXOS_TOKEN
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(DUXOS_[A-Z_]*\)=.*/\1/p')

# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
source "$SRC/tests/cli/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../cli/store_env.sh
source "$SRC/tests/cli/store_env.sh"

# playwright-core as the lock file pins it, installed once per build tree
browser_tools() {
    local major
    command -v node >/dev/null || die "node is not installed (node 20 or later is needed)"
    major=$(node -p 'process.versions.node.split(".")[0]') || die "node does not run"
    ((major >= 20)) || die "node $major is too old: playwright-core needs 20 or later"
    [[ -x $CHROMIUM ]] || die "$CHROMIUM is missing: run deploy/install-deps.sh"
    mkdir -p "$NODE_DIR" || die "cannot make $NODE_DIR"
    cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/package-lock.json" \
        "$SRC/tests/browser/store_ui.mjs" "$NODE_DIR/" || die "cannot copy the browser test"
    if [[ ! -f $NODE_DIR/node_modules/playwright-core/package.json ]] ||
        ! cmp -s "$SRC/tests/browser/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.src"; then
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) ||
            die "npm ci failed in $NODE_DIR"
        cp "$SRC/tests/browser/package-lock.json" "$NODE_DIR/node_modules/.package-lock.json.src"
    fi
}

# publish NAME DESCRIPTION PRICE TAGS... as bob or carol (first argument): prints the id
publish() {
    local who=$1 name=$2 desc=$3 price=$4 tag args=()
    shift 4
    for tag in "$@"; do args+=(--tag "$tag"); done
    as "$who" store publish --name "$name" --description "$desc" --version 1.0.0 \
        --provider "$([[ $who == "$BOB" ]] && echo "$B1" || echo "$C1")" --price "$price" \
        --endpoint https://provider.example/api --rate-limit 60 "${args[@]}" |
        grep -o 'svc_[0-9a-f]\{32\}' | head -n 1
}

catalogue() {
    S1=$(publish "$BOB" "Image Upscaler API" "AI-powered image upscaling to 4x." 1 ai image)
    S2=$(publish "$BOB" "Text Translator" "Neural machine translation between 40 languages." \
        0.5 ai nlp)
    S3=$(publish "$CAROL" "Weather Feed" "Hourly forecasts for any place on earth." 0.1 \
        data weather)
    [[ -n $S1 && -n $S2 && -n $S3 ]] || die "publishing the catalogue failed"
    # alice pays for a call of the upscaler: an escrow with api_id S1, released
    local esc calls=""
    esc=$(as "$ALICE" escrow create --api-id "$S1" --user-wallet "$A1" --provider-wallet "$B1" \
        --amount 1 | awk '{ w = $NF } END { print w }')
    as "$SVC" escrow release "$esc" --result-hash "$(printf '%064d' 7)" >/dev/null ||
        die "escrow release failed"
    for _ in $(seq 1 100); do
        calls=$(sctl store show "$S1" | sed -n 's/^total_calls: //p')
        [[ $calls == 1 ]] && return 0
        sleep 0.1
    done
    die "the store did not count alice's paid call"
}

main() {
    browser_tools
    store_setup t_browser
    catalogue
    local dave
    dave=$(mint dave user)
    note "store $SURL: services $S1 $S2 $S3"
    STORE_URL=$SURL ALICE_TOKEN=$ALICE DAVE_TOKEN=$dave SERVICE_ID=$S1 \
        node "$NODE_DIR/store_ui.mjs"
    local rc=$?
    ((rc == 0)) || fail "store_ui.mjs exited $rc (its checks above)"
    stop_all
    lib_finish
}

main "$@"
