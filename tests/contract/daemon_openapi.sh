#!/usr/bin/env bash
# daemon_openapi.sh: the contract between duxos-NAME and proto/openapi/NAME.yaml.
#
#   daemon_openapi.sh NAME BINARY SOURCE_DIR [DUXOS_X_Y=VALUE ...]
#
# - every route of the daemon is under `paths` in its /v1 form with its method: the routes of
#   services/NAME/main.c, the library's GET /events and the built-in routes; and the document
#   describes no operation the daemon does not have;
# - the daemon serves the file byte for byte at /openapi.yaml and /v1/openapi.yaml. It runs with
#   its database at a closed port (serving the document needs none), and must exit 0 on SIGTERM.
#   The DUXOS_X_Y=VALUE arguments are set in its environment (options it cannot start without);
#   the VALUE @ed25519-key stands for the path of a temporary Ed25519 private key (PEM) that the
#   script makes with openssl (DUXOS_ESCROW_AUDIT_KEY_FILE=@ed25519-key).
set -euo pipefail
shopt -s inherit_errexit

[[ $# -ge 3 ]] || { printf 'usage: %s NAME BINARY SOURCE_DIR [DUXOS_X_Y=VALUE ...]\n' "${0##*/}" >&2; exit 2; }
readonly NAME=$1 BIN=$2 SRC=$3
readonly DAEMON_ENV=("${@:4}")
# shellcheck source=tests/contract/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DOC=$SRC/proto/openapi/$NAME.yaml
readonly MAIN=$SRC/services/$NAME/main.c
readonly START_TIMEOUT=30 STOP_TIMEOUT=30

[[ -x $BIN ]] || die "$BIN is not built"
[[ -s $DOC ]] || die "$DOC is missing or empty"
[[ -f $MAIN ]] || die "$MAIN is missing"
for kv in "${DAEMON_ENV[@]}"; do
    [[ $kv =~ ^DUXOS_[A-Z0-9_]+= ]] || die "not a DUXOS_X_Y=VALUE setting: $kv"
done
clear_duxos_env
TMP=$(mktemp -d "${TMPDIR:-/tmp}/contract-openapi.XXXXXX")
PID=""
cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf -- "$TMP"
}
trap cleanup EXIT

# The settings for the daemon's environment, with @ed25519-key replaced by a key file made now.
SETTINGS=()
for kv in "${DAEMON_ENV[@]}"; do
    if [[ ${kv#*=} == @ed25519-key ]]; then
        openssl genpkey -algorithm ed25519 -out "$TMP/${kv%%=*}.pem" 2>"$TMP/openssl.err" ||
            die "${kv%%=*}: openssl could not make an Ed25519 key: $(<"$TMP/openssl.err")"
        kv=${kv%%=*}=$TMP/${kv%%=*}.pem
    fi
    SETTINGS+=("$kv")
done

# ---------------------------------------------------------------------------------------------
# 1. Routes against paths.

{
    c_route_table "$MAIN" routes
    grep -o '(dux_route_t){"[A-Z]*", *"[^"]*"' "$SRC/libduxcommon/src/daemon.c" |
        sed 's/(dux_route_t){"\([A-Z]*\)", *"\([^"]*\)"/\1 \2/'
    c_route_table "$SRC/libduxcommon/src/http_builtin.c" builtins
} | awk '{ print $1 " /v1" $2 }' | sort -u >"$TMP/routes"
openapi_operations "$DOC" | sort >"$TMP/operations"

nown=$(c_route_table "$MAIN" routes | wc -l)
((nown > 0)) || die "no routes parsed from the route table of $MAIN"
grep -q '^GET /v1/events$' "$TMP/routes" || die "the library's GET /events route was not found in daemon.c"
grep -q '^GET /v1/openapi.yaml$' "$TMP/routes" || die "the built-in routes were not found in http_builtin.c"
[[ -s $TMP/operations ]] || die "no operations parsed under paths: in $DOC"

while read -r op; do
    fail "route $op is not documented under paths: in $DOC"
done < <(comm -23 "$TMP/routes" "$TMP/operations")
while read -r op; do
    fail "$DOC documents $op, which duxos-$NAME does not serve"
done < <(comm -13 "$TMP/routes" "$TMP/operations")
dups=$(sort "$TMP/operations" | uniq -d)
[[ -z $dups ]] || fail "operations listed twice in $DOC: $dups"
head -n 1 "$DOC" | grep -qE '^openapi: 3\.1\.[0-9]+$' || fail "$DOC does not start with openapi: 3.1.x"
note "$(wc -l <"$TMP/routes") routes ($nown of main.c, the rest common to every daemon) match $DOC"

# ---------------------------------------------------------------------------------------------
# 2. The served document.

# A TCP port on 127.0.0.1 where nothing listens: the daemon's database.
closed_port() {
    local p
    for p in 1 9 13 37 79 119; do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf '%s' "$p"
            return 0
        fi
    done
    return 1
}
dbport=$(closed_port) || die "no closed port found on 127.0.0.1"
cat >"$TMP/config.yaml" <<YAML
http:
  bind: "127.0.0.1"
  port: 0
db:
  conninfo: "host=127.0.0.1 port=$dbport dbname=duxos user=duxos"
bus:
  endpoint: ""
YAML
env "${SETTINGS[@]}" "$BIN" --config "$TMP/config.yaml" >"$TMP/daemon.log" 2>&1 &
PID=$!

show_log() {
    printf '%s: daemon log:\n' "$PROG" >&2
    cat "$TMP/daemon.log" >&2 || true
}

port=""
deadline=$((SECONDS + START_TIMEOUT))
while [[ -z $port ]] && ((SECONDS < deadline)); do
    kill -0 "$PID" 2>/dev/null || { show_log; die "duxos-$NAME exited during start-up"; }
    port=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$TMP/daemon.log" | head -n 1 | sed 's/.*://') || true
    [[ -n $port ]] || sleep 0.1
done
[[ -n $port ]] || { show_log; die "duxos-$NAME did not log its port within ${START_TIMEOUT}s"; }
base=http://127.0.0.1:$port

code=""
while ((SECONDS < deadline)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/healthz") || true
    [[ $code == 200 ]] && break
    sleep 0.1
done
[[ $code == 200 ]] || { show_log; die "/healthz answered ${code:-nothing} instead of 200"; }
note "duxos-$NAME is up on port $port with its database at the closed port $dbport"

for path in /openapi.yaml /v1/openapi.yaml; do
    meta=$(curl -s -o "$TMP/served" -w '%{http_code} %{content_type}' --max-time 10 "$base$path") || true
    if [[ $meta != "200 application/yaml" ]]; then
        fail "GET $path answered \"$meta\", expected \"200 application/yaml\""
    elif ! cmp -s "$TMP/served" "$DOC"; then
        fail "GET $path serves other bytes than $DOC ($(wc -c <"$TMP/served") bytes served, $(wc -c <"$DOC") in the file): rebuild duxos-$NAME"
    else
        note "GET $path serves $DOC byte for byte ($(wc -c <"$DOC") bytes)"
    fi
done

# Without its database the daemon is alive but not ready, as the document says.
meta=$(curl -s -D "$TMP/headers" -o "$TMP/body" -w '%{http_code} %{content_type}' --max-time 10 "$base/readyz") || true
if [[ $meta != "503 application/problem+json" ]]; then
    fail "GET /readyz without a database answered \"$meta\", expected 503 problem+json"
else
    grep -qi '^Retry-After: 2' "$TMP/headers" || fail "the 503 of /readyz has no Retry-After: 2"
    grep -q '"type":"urn:duxos:problem:unavailable"' "$TMP/body" ||
        fail "the 503 of /readyz is not urn:duxos:problem:unavailable: $(<"$TMP/body")"
fi

kill -TERM "$PID"
deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$PID" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
    show_log
    fail "duxos-$NAME did not stop within ${STOP_TIMEOUT}s of SIGTERM"
else
    rc=0
    wait "$PID" || rc=$?
    PID=""
    if [[ $rc -ne 0 ]]; then
        show_log
        fail "duxos-$NAME exited with status $rc after SIGTERM, expected 0"
    else
        note "duxos-$NAME exited 0 after SIGTERM"
    fi
fi

finish
