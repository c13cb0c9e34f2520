#!/usr/bin/env bash
# test_ha.sh BUILD_DIR SOURCE_DIR: scale-out and high availability with existing engines
# (DESIGN section 4, deploy/ha/README.md), on 127.0.0.1 only, as root (exit 77 when not root, or
# when HAProxy or PgBouncer is missing and deploy/install-deps.sh --ha cannot install them).
#
# Its own PostgreSQL clusters (deploy/local/pgctl.sh), not the ctest one: it kills a primary.
#   1. Leader takeover: the wallet and two copies of the escrow (one database, two ports) behind
#      HAProxy (deploy/ha/haproxy.cfg). Two clients drive creates and releases through the proxy
#      (Idempotency-Keys, retried on failure); half of the escrows are left to time out. The copy
#      that holds the escrow's job locks (pg_locks) is SIGKILLed; the other must take every lock
#      over, the audit chain must grow and escrows must be refunded at their timeout after the
#      kill, the proxy must keep answering (failures counted), and at the end every escrow a
#      client was told of exists, every release a client was told of is released, nothing is
#      left unfinished, the money adds up (duxctl wallet check, balances against the escrows)
#      and `duxctl audit verify` passes.
#   2. PgBouncer (deploy/ha/pgbouncer.ini): a wallet through session pooling serves every kind
#      of request and its jobs hold their advisory locks; a wallet through transaction pooling
#      is probed and what breaks is reported (the library's per-connection SET search_path and
#      named prepared statements: see deploy/ha/README.md).
#   3. Streaming replica failover: a synchronous standby (pgctl.sh standby --sync), a wallet
#      whose db.conninfo lists both servers with target_session_attrs=read-write; faucet credits,
#      then the primary is killed (pgctl.sh kill) and the standby promoted (pgctl.sh promote):
#      the wallet must answer again without a restart within FAILOVER_LIMIT seconds, with every
#      credit acknowledged before the kill, and accept writes.
# Prints the figures (takeover time, failed requests, failover time) as "figure: ..." lines.
# Helpers: tests/cli/lib.sh.
set -uo pipefail # not -e: a failed check is counted and reported, the run goes on

readonly BUILD=${1:?usage: test_ha.sh BUILD_DIR SOURCE_DIR}
readonly SRC=${2:?usage: test_ha.sh BUILD_DIR SOURCE_DIR}
readonly DUXCTL=$BUILD/bin/duxctl
readonly WALLET_BIN=$BUILD/bin/duxos-wallet
readonly ESCROW_BIN=$BUILD/bin/duxos-escrow
readonly PGCTL=$SRC/deploy/local/pgctl.sh
readonly HA=$SRC/deploy/ha
readonly LOAD_BEFORE=${DUX_HA_LOAD_BEFORE:-5} # seconds of load before the kill
readonly LOAD_AFTER=${DUX_HA_LOAD_AFTER:-5}   # and after it
readonly TAKEOVER_LIMIT=10                    # seconds for the survivor to hold every lock
readonly FAILOVER_LIMIT=30                    # seconds for the wallet to answer after the kill
readonly SHORT_TIMEOUT=2                      # seconds: escrows left to time out
readonly LONG_TIMEOUT=40                      # seconds: escrows the clients release
readonly AMOUNT=1.00000007                    # FLOP per escrow: 0.05000000 to the fund
# DUX_HA_PARTS (default "takeover pgbouncer failover") runs some parts only, in that order;
# DUX_HA_KEEP_LOGS=DIR keeps the logs there.

unset DUXOS_REGISTRY_URL DUXOS_WALLET_URL DUXOS_ESCROW_URL DUXOS_TOKEN
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(DUXOS_[A-Z_]*\)=.*/\1/p')

# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
source "$SRC/tests/cli/lib.sh"

CL=""             # the clusters' directory (short: unix socket paths)
PRIMARY="" STANDBY="" # cluster directories
HELPERS=()        # haproxy, pgbouncer and the clients: killed at exit
WURL="" PURL="" WALLET_PID="" # the wallet; the proxy in front of the escrow copies
EA_PID="" EB_PID="" EA_PORT="" EB_PORT="" ESCROW_PORT="" STATS_PORT=""
ADMIN="" ALICE="" BOB="" SVC="" ESCROW_TOKEN=""
A1="" B1=""
RESULT_HASH=$(printf 'ha result' | sha256sum | awk '{ print $1 }')

now_ms() { printf '%d' $((${EPOCHREALTIME/./} / 1000)); }
elapsed() { # elapsed FROM_MS [TO_MS]: seconds with 3 decimals
    local d=$((${2:-$(now_ms)} - $1))
    printf '%d.%03d' $((d / 1000)) $((d % 1000))
}
figure() { printf 'figure: %s\n' "$*"; }

ha_cleanup() {
    local pid
    for pid in "${HELPERS[@]}"; do
        kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    # DUX_HA_KEEP_LOGS=DIR: the daemons', proxies' and clients' logs are copied there
    if [[ -n ${DUX_HA_KEEP_LOGS:-} && -n $T ]]; then
        mkdir -p "$DUX_HA_KEEP_LOGS" && cp "$T"/*.log "$T"/*.yaml "$DUX_HA_KEEP_LOGS"/ 2>/dev/null
    fi
    lib_cleanup
    if [[ -n $CL ]]; then
        [[ -z $PRIMARY ]] || "$PGCTL" destroy "$PRIMARY" >/dev/null 2>&1
        [[ -z $STANDBY ]] || "$PGCTL" destroy "$STANDBY" >/dev/null 2>&1
        rm -rf -- "$CL"
    fi
}
trap ha_cleanup EXIT

# sql STATEMENT: psql on the test database as the application role; prints the result
sql() { "$PGCTL" psql "$DUX_TEST_PG_DIR" -q -tA -d "$DBNAME" -c "$1"; }

mint() {
    "$DUXCTL" token mint --key "$T/auth.key" --sub "$1" --scope "$2" ||
        die "token mint --sub $1 failed"
}

# ---- set-up ----------------------------------------------------------------------------------

need_engines() {
    if ! command -v haproxy >/dev/null || ! command -v pgbouncer >/dev/null; then
        if [[ $EUID -eq 0 ]]; then
            "$SRC/deploy/install-deps.sh" --ha >&2 || true
        fi
    fi
    if ! command -v haproxy >/dev/null || ! command -v pgbouncer >/dev/null; then
        note "SKIP: haproxy and pgbouncer are needed (deploy/install-deps.sh --ha, as root)"
        exit 77
    fi
    [[ $EUID -eq 0 ]] || {
        note "SKIP: run as root (PgBouncer and PostgreSQL run as the system user duxos)"
        exit 77
    }
}

setup() {
    need_engines
    CL=$(mktemp -d /tmp/duxos-ha.XXXXXX) || die "mktemp failed"
    chmod 711 "$CL" # the clusters' user must traverse it
    PRIMARY=$CL/p1
    "$PGCTL" init "$PRIMARY" >/dev/null 2>"$CL/init.log" || {
        cat "$CL/init.log" >&2
        die "pgctl.sh init failed"
    }
    export DUX_TEST_PG_DIR=$PRIMARY
    lib_setup "$DUXCTL" "$WALLET_BIN" "$ESCROW_BIN"
    make_database ha
    ADMIN=$(mint ops admin)
    ALICE=$(mint alice user)
    SVC=$(mint duxos-tasks service)
    ESCROW_TOKEN=$(mint duxos-escrow service)
    openssl genpkey -algorithm ed25519 -out "$T/audit.key" 2>/dev/null ||
        die "openssl could not make the audit key"
}

# start_wallet NAME CONNINFO: a wallet (chain none) on free ports; sets WURL and DAEMON_PID
start_wallet() {
    local name=$1 conninfo=$2 http bus
    for _ in 1 2 3 4 5; do
        http=$(free_port) || die "no free port"
        bus=$(free_port "$http") || die "no free port"
        WURL=http://127.0.0.1:$http
        {
            CONNINFO=$conninfo common_config "$http" "$bus"
            printf 'wallet:\n  chain: none\n  faucet_limit: "1000000"\n'
        } >"$T/$name.yaml"
        DUXOS_WALLET_PASSPHRASE="correct horse battery staple" \
            try_start_daemon "$name" "$WALLET_BIN" "$T/$name.yaml" "$WURL" && return 0
    done
    die "$name found no free ports"
}

# start_escrow NAME: a copy of the escrow on free ports, on the wallet at WURL; sets DAEMON_PID
# and ESCROW_PORT
start_escrow() {
    local name=$1 http bus
    for _ in 1 2 3 4 5; do
        http=$(free_port "$EA_PORT") || die "no free port"
        bus=$(free_port "$http" "$EA_PORT") || die "no free port"
        {
            common_config "$http" "$bus"
            cat <<EOF
escrow:
  wallet_url: "$WURL"
  audit_key_file: "$T/audit.key"
  fund_shards: 2
  fund_interval_ms: 200
  recovery_interval_ms: 200
  recovery_grace_ms: 5000
  wallet_timeout_ms: 1000
  min_timeout: 1
EOF
        } >"$T/$name.yaml"
        if DUXOS_ESCROW_WALLET_TOKEN=$ESCROW_TOKEN \
            try_start_daemon "$name" "$ESCROW_BIN" "$T/$name.yaml" "http://127.0.0.1:$http"; then
            ESCROW_PORT=$http
            return 0
        fi
    done
    die "$name found no free ports"
}

# ---- advisory locks --------------------------------------------------------------------------

# lock_where NAME: the pg_locks condition for the advisory lock of dux_lock_key(NAME): the first
# 8 bytes of SHA-256(NAME) as a little-endian int64, which pg_locks shows as classid (high 32
# bits) and objid (low 32 bits) with objsubid 1.
lock_where() {
    local h le="" i
    h=$(printf '%s' "$1" | sha256sum)
    for ((i = 14; i >= 0; i -= 2)); do
        le+=${h:i:2}
    done
    printf "(l.classid = %d AND l.objid = %d AND l.objsubid = 1)" "$((16#${le:0:8}))" \
        "$((16#${le:8:8}))"
}

readonly ESCROW_JOBS=(escrow.recovery escrow.audit escrow.fund escrow.outbox-relay)

# lock_holders: "job client_port" for each of the escrow's job locks that is held
lock_holders() {
    local job q=""
    for job in "${ESCROW_JOBS[@]}"; do
        q+="${q:+ UNION ALL }SELECT '$job', a.client_port FROM pg_locks l JOIN pg_stat_activity a"
        q+=" ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
        q+=" AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        q+=" AND $(lock_where "$job")"
    done
    sql "$q" | tr '|' ' '
}

# pid_of_port PORT: the process whose TCP connection has local port PORT on 127.0.0.1
pid_of_port() {
    ss -Htnp "sport = :$1" | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -n 1
}

# holders_pids: the pids holding the escrow's job locks, "job pid" per line
holders_pids() {
    local job port
    while read -r job port; do
        [[ -n $port ]] && printf '%s %s\n' "$job" "$(pid_of_port "$port")"
    done < <(lock_holders)
}

# all_locks_held_by PID: every escrow job lock is held by a connection of PID
all_locks_held_by() {
    local out
    out=$(holders_pids)
    [[ $(grep -c . <<<"$out") == "${#ESCROW_JOBS[@]}" ]] &&
        [[ -z $(awk -v p="$1" '$2 != p' <<<"$out") ]]
}

wait_locks_held_by() { # wait_locks_held_by PID SECONDS
    local deadline=$(($(now_ms) + $2 * 1000))
    while (($(now_ms) < deadline)); do
        all_locks_held_by "$1" && return 0
        sleep 0.05
    done
    return 1
}

# ---- part 1: two escrow copies behind HAProxy --------------------------------------------------

start_haproxy() {
    local port
    [[ -f $HA/haproxy.cfg ]] || die "$HA/haproxy.cfg is missing"
    for _ in 1 2 3 4 5; do
        port=$(free_port "$EA_PORT" "$EB_PORT") || die "no free port"
        PURL=http://127.0.0.1:$port
        STATS_PORT=$(free_port "$EA_PORT" "$EB_PORT" "$port") || die "no free port"
        # the test's own: a global section, and a stats page to see what the proxy saw
        printf 'global\n    maxconn 1000\n' >"$T/haproxy-global.cfg"
        printf 'frontend stats\n    bind 127.0.0.1:%s\n    stats enable\n    stats uri /stats\n' \
            "$STATS_PORT" >"$T/haproxy-stats.cfg"
        # deploy/ha/haproxy.cfg with this run's ports
        sed -e "s/127\.0\.0\.1:8103\$/127.0.0.1:$port/" \
            -e "s/127\.0\.0\.1:18103\$/127.0.0.1:$EA_PORT/" \
            -e "s/127\.0\.0\.1:28103\$/127.0.0.1:$EB_PORT/" "$HA/haproxy.cfg" >"$T/haproxy.cfg"
        grep -q "127.0.0.1:$EB_PORT" "$T/haproxy.cfg" || die "deploy/ha/haproxy.cfg: no server line 127.0.0.1:28103"
        haproxy -c -q -f "$T/haproxy-global.cfg" -f "$T/haproxy.cfg" -f "$T/haproxy-stats.cfg" ||
            die "haproxy -c refused the configuration"
        haproxy -db -f "$T/haproxy-global.cfg" -f "$T/haproxy.cfg" -f "$T/haproxy-stats.cfg" \
            >"$T/haproxy.log" 2>&1 &
        HELPERS+=($!)
        for _ in $(seq 1 100); do
            curl -fsS -o /dev/null --max-time 2 "$PURL/readyz" 2>/dev/null && return 0
            kill -0 "${HELPERS[-1]}" 2>/dev/null || break
            sleep 0.1
        done
        grep -q 'cannot bind\|Address already in use' "$T/haproxy.log" || {
            cat "$T/haproxy.log" >&2
            die "haproxy did not answer at $PURL"
        }
    done
    die "haproxy found no free port"
}

# haproxy_state: "server status" of the escrow's backend, from the stats page (CSV)
haproxy_state() {
    curl -fsS --max-time 5 "http://127.0.0.1:$STATS_PORT/stats;csv" |
        awk -F, '$1 == "escrow_copies" && $2 != "BACKEND" { print $2 "=" $18 }'
}

# client W: creates escrows through the proxy until $T/stop exists; odd ones time out, even ones
# are released. Each request is retried with the same Idempotency-Key (create) or the same
# body (release) until it gets an answer; every answer is logged as "ms kind key code".
client() {
    local w=$1 i=0 key code id timeout body log
    log=$T/client$w.log
    while [[ ! -e $T/stop ]]; do
        i=$((i + 1))
        key=ha-$w-$i
        timeout=$((i % 2 ? SHORT_TIMEOUT : LONG_TIMEOUT))
        body="{\"api_id\":\"ha.test\",\"user_wallet\":\"$A1\",\"provider_wallet\":\"$B1\","
        body+="\"amount\":\"$AMOUNT\",\"timeout\":$timeout}"
        id=""
        for _ in $(seq 1 100); do
            code=$(curl -s -o "$T/c$w.body" -w '%{http_code}' --max-time 20 -X POST \
                -H "Authorization: Bearer $ALICE" -H "Idempotency-Key: $key" \
                -H 'Content-Type: application/json' -d "$body" "$PURL/v1/escrow/create")
            printf '%s create %s %s\n' "$(now_ms)" "$key" "$code" >>"$log"
            if [[ $code == 20[012] ]]; then
                id=$(sed -n 's/.*"id" *: *"\(esc_[0-9a-f]\{32\}\)".*/\1/p' "$T/c$w.body")
                break
            fi
            [[ $code == 4* ]] && break
            sleep 0.1
        done
        [[ -n $id ]] || continue
        printf '%s %s %s\n' "$id" "$timeout" "$code" >>"$T/created$w"
        ((i % 2 == 0)) || continue
        for _ in $(seq 1 100); do
            code=$(curl -s -o "$T/c$w.body" -w '%{http_code}' --max-time 20 -X POST \
                -H "Authorization: Bearer $SVC" -H 'Content-Type: application/json' \
                -d "{\"escrow_id\":\"$id\",\"result_hash\":\"$RESULT_HASH\"}" \
                "$PURL/v1/escrow/release")
            printf '%s release %s %s\n' "$(now_ms)" "$id" "$code" >>"$log"
            if [[ $code == 200 ]]; then
                printf '%s\n' "$id" >>"$T/released$w"
                break
            fi
            # 202: the release is an intent being finished; 409: still being created
            [[ $code == 4* && $code != 409 ]] && break
            sleep 0.2
        done
    done
}

audit_last_seq() {
    curl -fsS --max-time 5 -H "Authorization: Bearer $ADMIN" "$PURL/v1/audit?after=0&limit=1" |
        sed -n 's/.*"last_seq" *: *\([0-9]*\).*/\1/p'
}

# sql_list LINES: 'a','b',... (the lines are escrow ids: no quotes in them)
sql_list() { awk 'NF { printf "%s\x27%s\x27", s, $1; s = "," }' <<<"$1"; }

escrow_count() { sql "SELECT count(*) FROM escrow.escrows WHERE $1"; }

test_takeover() {
    local t1 holder survivor kill_ms before_seq after_seq line n
    start_wallet wallet "$CONNINFO"
    WALLET_PID=$DAEMON_PID
    note "wallet at $WURL"
    A1=$("$DUXCTL" --wallet "$WURL" --token "$ALICE" wallet address | awk '{ print $NF }')
    BOB=$(mint bob "user provider")
    B1=$("$DUXCTL" --wallet "$WURL" --token "$BOB" wallet address |
        awk '{ print $NF }')
    [[ -n $A1 && -n $B1 ]] || die "cannot open the wallet accounts"
    "$DUXCTL" --wallet "$WURL" --token "$ADMIN" wallet faucet --to "$A1" --amount 100000 \
        >/dev/null || die "faucet failed"

    # copy A first, so that it takes every job lock; then copy B
    start_escrow escrow-a
    EA_PID=$DAEMON_PID EA_PORT=$ESCROW_PORT
    wait_locks_held_by "$EA_PID" 20 || die "escrow-a does not hold the escrow's job locks"
    start_escrow escrow-b
    EB_PID=$DAEMON_PID EB_PORT=$ESCROW_PORT
    note "escrow copies: a on $EA_PORT (pid $EA_PID), b on $EB_PORT (pid $EB_PID)"
    start_haproxy
    note "haproxy at $PURL (round robin over both copies)"
    for _ in $(seq 1 100); do # the fund's shards are made by one copy after start-up
        curl -fsS -o /dev/null --max-time 2 "$PURL/v1/community-fund" 2>/dev/null && break
        sleep 0.1
    done

    rm -f "$T/stop"
    client 1 &
    HELPERS+=($!)
    client 2 &
    HELPERS+=($!)
    sleep "$LOAD_BEFORE"

    # both copies served: each one's log has requests (the proxy spreads them)
    expect "both copies answered requests through the proxy" \
        test "$(grep -c '"path": *"/v1/escrow/create"' "$T/escrow-a.log")" -gt 0 -a \
        "$(grep -c '"path": *"/v1/escrow/create"' "$T/escrow-b.log")" -gt 0
    holder=$(holders_pids)
    note "job locks before the kill:"$'\n'"$holder"
    expect "one copy (a, pid $EA_PID) holds every escrow job lock" all_locks_held_by "$EA_PID"
    before_seq=$(audit_last_seq)
    n=$(cat "$T"/created* 2>/dev/null | wc -l)
    note "before the kill: $n escrows created, audit log at seq $before_seq"

    kill_ms=$(now_ms)
    kill -KILL "$EA_PID"
    wait "$EA_PID" 2>/dev/null
    forget_daemon "$EA_PID"
    survivor=$EB_PID
    if wait_locks_held_by "$survivor" "$TAKEOVER_LIMIT"; then
        t1=$(now_ms)
        figure "takeover: every escrow job lock held by the surviving copy $(elapsed "$kill_ms" "$t1") s after SIGKILL"
        note "ok: the surviving copy took over ${ESCROW_JOBS[*]}"
    else
        fail "the surviving copy did not take the job locks within $TAKEOVER_LIMIT s: $(holders_pids)"
    fi
    sleep "$LOAD_AFTER"
    touch "$T/stop"
    for pid in "${HELPERS[@]: -2}"; do
        wait "$pid"
    done
    note "haproxy's view: $(haproxy_state | tr '\n' ' ')"

    # the clients' answers around the kill
    local total failed t0ms first_ok waited
    total=$(cat "$T"/client*.log | wc -l)
    failed=$(awk '$4 !~ /^(20[012]|409)$/' "$T"/client*.log | wc -l)
    figure "requests through the proxy: $total answered, $(awk '$4 !~ /^20[012]$/' "$T"/client*.log | wc -l) not 2xx ($(awk '$4 !~ /^20[012]$/ { print $2 "=" $4 }' "$T"/client*.log | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s=", " }'))"
    # a release that the killed copy had begun stays `releasing` until the recovery job takes
    # the intent over (escrow.recovery_grace_ms): asked again meanwhile it is 409 invalid-state
    waited=$(awk '$2 == "release" && $4 == 409 { print $3 }' "$T"/client*.log | sort -u)
    if [[ -n $waited ]]; then
        local id w0 w1
        for id in $waited; do
            w0=$(awk -v i="$id" '$3 == i && $4 == 409 { print $1; exit }' "$T"/client*.log)
            w1=$(awk -v i="$id" '$3 == i && $4 == 200 { print $1; exit }' "$T"/client*.log)
            figure "release of $id: 409 invalid-state while a step the killed copy left unfinished waited for the recovery job; 200 after $(elapsed "$w0" "${w1:-$w0}") s"
        done
    fi
    first_ok=$(awk -v k="$kill_ms" '$1 > k && $4 ~ /^20[012]$/ { print $1; exit }' \
        <(sort -n "$T"/client*.log))
    [[ -n $first_ok ]] && figure "first 2xx through the proxy after the kill: $(elapsed "$kill_ms" "$first_ok") s"
    t0ms=$(awk -v k="$kill_ms" '$1 > k && $4 ~ /^20[012]$/' "$T"/client*.log | wc -l)
    expect "requests were answered through the proxy after the kill ($t0ms)" test "$t0ms" -gt 10
    expect "at most a few requests failed (5xx or no answer) around the kill ($failed)" \
        test "$failed" -le 10

    # every unfinished escrow finishes: released, refunded at its timeout, or failed
    local deadline=$((SECONDS + LONG_TIMEOUT + 20)) wait_ms
    wait_ms=$(now_ms)
    while ((SECONDS < deadline)); do
        [[ $(escrow_count "status NOT IN ('released', 'refunded', 'failed')") == 0 ]] && break
        sleep 0.5
    done
    note "every escrow finished $(elapsed "$wait_ms") s after the clients stopped"
    expect "no escrow left unfinished" \
        test "$(escrow_count "status NOT IN ('released', 'refunded', 'failed')")" = 0

    local told exist ids released
    ids=$(cat "$T"/created* | awk '{ print $1 }' | sort -u)
    told=$(grep -c . <<<"$ids")
    exist=$(sql "SELECT count(*) FROM escrow.escrows WHERE id IN ($(sql_list "$ids"))")
    figure "escrows the clients were told of: $told; in the database: $exist"
    expect "every escrow a client was told of exists" test "$told" = "$exist"
    local missing=0
    while read -r id; do
        curl -fsS -o /dev/null --max-time 5 -H "Authorization: Bearer $ALICE" \
            "$PURL/v1/escrow/$id" || missing=$((missing + 1))
    done <<<"$ids"
    expect "every escrow a client was told of answers through the proxy ($missing missing)" \
        test "$missing" = 0
    released=$(cat "$T"/released* | sort -u)
    expect "every release a client was told of is released" test \
        "$(sql "SELECT count(*) FROM escrow.escrows WHERE status = 'released' AND id IN ($(sql_list "$released"))")" \
        = "$(grep -c . <<<"$released")"
    n=$(escrow_count "status = 'refunded' AND reason = 'refunded_timeout' AND finished_at > to_timestamp($kill_ms / 1000.0)")
    figure "escrows refunded at their timeout by the surviving copy: $n"
    expect "escrows past their timeout were refunded after the kill" test "$n" -gt 0
    n=$(escrow_count "status = 'released' AND finished_at > to_timestamp($kill_ms / 1000.0)")
    expect "escrows were released after the kill ($n)" test "$n" -gt 0

    # the audit chain went on, and holds
    for _ in $(seq 1 100); do
        [[ $(sql "SELECT count(*) FROM escrow.audit_queue") == 0 ]] && break
        sleep 0.1
    done
    after_seq=$(audit_last_seq)
    figure "audit log: seq $before_seq at the kill, $after_seq at the end"
    expect "the audit chain grew after the kill" test "${after_seq:-0}" -gt "${before_seq:-0}"
    run "duxctl audit verify through the proxy" 0 "$DUXCTL" --escrow "$PURL" --token "$ADMIN" \
        audit verify
    run "duxctl wallet check (conservation)" 0 "$DUXCTL" --wallet "$WURL" --token "$ADMIN" \
        wallet check
    check_money
    stop_daemon escrow-b "$EB_PID"
    stop_daemon wallet "$WALLET_PID"
}

# units FLOP: base units (1 FLOP = 10^8)
units() {
    local int=${1%%.*} frac=00000000
    [[ $1 == *.* ]] && frac=${1#*.}00000000
    printf '%d' $((10#$int * 100000000 + 10#${frac:0:8}))
}

# balance_of TOKEN [ADDR]: "balance held" in base units of the owner's account ADDR, or of all
# its accounts, from duxctl wallet balance
balance_of() {
    local line
    line=$("$DUXCTL" --wallet "$WURL" --token "$1" wallet balance ${2:+--address "$2"} |
        grep "^${2:-total} ")
    [[ -n $line ]] || { printf 'x x'; return; }
    printf '%s %s' "$(units "$(awk '{ print $2 }' <<<"$line")")" \
        "$(units "$(awk '{ print $3 }' <<<"$line")")"
}

# Every unit is where the escrows say: the user has the faucet's credit less what was released,
# nothing held; the provider and the fund's shards (the escrow's own accounts) have the released
# shares.
check_money() {
    local paid_p paid_c a b f
    read -r paid_p paid_c < <(sql "SELECT coalesce(sum(paid_provider), 0),
        coalesce(sum(paid_community), 0) FROM escrow.escrows" | tr '|' ' ')
    read -r -a a < <(balance_of "$ALICE" "$A1")
    read -r -a b < <(balance_of "$BOB" "$B1")
    read -r -a f < <(balance_of "$ESCROW_TOKEN")
    figure "money: released $paid_p + $paid_c units; user ${a[0]} (held ${a[1]}), provider ${b[0]}, fund ${f[0]}"
    expect "nothing is still held from the user" test "${a[1]}" = 0
    expect "the user has the credit less what was released" \
        test "${a[0]}" = $((10000000000000 - paid_p - paid_c))
    expect "the provider has what the escrows paid it" test "${b[0]}" = "$paid_p"
    expect "the fund has what the escrows paid it" test "${f[0]}" = "$paid_c"
}

# ---- part 2: PgBouncer ------------------------------------------------------------------------

PGB_PORT="" PGB_PID=""

# new_database PREFIX: a database of the primary; prints its name
new_database() {
    local db
    db=${1}_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    "$PGCTL" createdb "$PRIMARY" "$db" >/dev/null || die "pgctl.sh createdb $db failed"
    printf '%s' "$db"
}

# start_pgbouncer SESSION_DB TX_DB: deploy/ha/pgbouncer.ini with this run's ports and paths, the
# database SESSION_DB in session pooling (the file's) and TX_DB in transaction pooling, run as
# the clusters' user (PgBouncer refuses root)
start_pgbouncer() {
    local sdb=$1 tdb=$2 pgport dir=$CL/pgbouncer
    [[ -f $HA/pgbouncer.ini ]] || die "$HA/pgbouncer.ini is missing"
    pgport=$(sed -n 's/^DUX_PG_PORT=//p' "$PRIMARY/env")
    mkdir -p "$dir"
    (umask 077 && printf '"duxos" "%s"\n' "$(<"$PRIMARY/password")" >"$dir/userlist.txt")
    for _ in 1 2 3 4 5; do
        PGB_PORT=$(free_port) || die "no free port"
        sed -e "s/^listen_port = 6432\$/listen_port = $PGB_PORT/" \
            -e "s|^duxos = host=127.0.0.1 port=5432 dbname=duxos\$|$sdb = host=127.0.0.1 port=$pgport dbname=$sdb\n$tdb = host=127.0.0.1 port=$pgport dbname=$tdb pool_mode=transaction|" \
            -e "s|^auth_file = .*|auth_file = $dir/userlist.txt|" \
            -e "s|^logfile = .*|logfile = $dir/pgbouncer.log|" \
            -e "s|^pidfile = .*|pidfile = $dir/pgbouncer.pid|" \
            "$HA/pgbouncer.ini" >"$dir/pgbouncer.ini"
        grep -q "^$tdb = .*pool_mode=transaction" "$dir/pgbouncer.ini" ||
            die "deploy/ha/pgbouncer.ini: no line 'duxos = host=127.0.0.1 port=5432 dbname=duxos'"
        chown -R duxos: "$dir"
        setpriv --reuid=duxos --regid=duxos --init-groups pgbouncer "$dir/pgbouncer.ini" \
            >"$T/pgbouncer.log" 2>&1 &
        PGB_PID=$!
        HELPERS+=("$PGB_PID")
        for _ in $(seq 1 50); do
            grep -q 'process up' "$dir/pgbouncer.log" 2>/dev/null && return 0
            kill -0 "$PGB_PID" 2>/dev/null || break
            sleep 0.1
        done
        cat "$dir/pgbouncer.log" >>"$T/pgbouncer.log" 2>/dev/null
        grep -q 'Address already in use' "$T/pgbouncer.log" || {
            cat "$T/pgbouncer.log" >&2
            die "pgbouncer did not start"
        }
    done
    die "pgbouncer found no free port"
}

# wallet_requests URL TOKEN_USER TOKEN_ADMIN TAG: one request of each kind the wallet serves,
# and a burst of concurrent ones; prints "kind code" per request
wallet_requests() {
    local url=$1 user=$2 admin=$3 tag=$4 a b i
    wreq() { # wreq KIND METHOD PATH TOKEN [BODY [IDEM]]
        local code
        code=$(curl -s -o "$T/wreq.$BASHPID" -w '%{http_code}' --max-time 10 -X "$2" \
            -H "Authorization: Bearer $4" -H 'Content-Type: application/json' \
            ${6:+-H "Idempotency-Key: $6"} ${5:+-d "$5"} "$url$3")
        printf '%s %s\n' "$1" "$code"
    }
    a=$(curl -s --max-time 10 -X POST -H "Authorization: Bearer $user" "$url/v1/wallet/address" |
        sed -n 's/.*"address" *: *"\([^"]*\)".*/\1/p')
    b=$(curl -s --max-time 10 -X POST -H "Authorization: Bearer $user" "$url/v1/wallet/address" |
        sed -n 's/.*"address" *: *"\([^"]*\)".*/\1/p')
    printf 'address %s\n' "$([[ -n $a && -n $b ]] && echo 201 || echo failed)"
    wreq faucet POST /v1/faucet "$admin" "{\"address\":\"$a\",\"amount\":\"50\"}" "$tag-f1"
    wreq send POST /v1/wallet/send "$user" "{\"from\":\"$a\",\"address\":\"$b\",\"amount\":\"7\"}" "$tag-s1"
    wreq balance GET /v1/wallet/balance "$user"
    wreq account GET "/v1/accounts/$a" "$user"
    wreq history GET /v1/wallet/transactions "$user"
    wreq ledger-check GET /v1/ledger/check "$admin"
    wreq events GET "/v1/events?after=0" "$admin"
    for i in $(seq 1 8); do # concurrent: 8 at once, of each kind
        wreq c-address POST /v1/wallet/address "$user" "" "$tag-a$i" &
        wreq c-faucet POST /v1/faucet "$admin" "{\"address\":\"$a\",\"amount\":\"1\"}" "$tag-f$i-c" &
        wreq c-balance GET /v1/wallet/balance "$user" &
        wreq c-history GET /v1/wallet/transactions "$user" &
        wait
    done
}

test_pgbouncer() {
    local sdb tdb conninfo out bad n url
    sdb=$(new_database hapbs)
    tdb=$(new_database hapbt)
    start_pgbouncer "$sdb" "$tdb"
    note "pgbouncer on 127.0.0.1:$PGB_PORT: $sdb in session pooling, $tdb in transaction pooling"

    # session pooling: everything works, jobs included
    conninfo="host=127.0.0.1 port=$PGB_PORT dbname=$sdb user=duxos"
    start_wallet wallet-pgb-session "$conninfo"
    local spid=$DAEMON_PID
    url=$WURL
    out=$(wallet_requests "$url" "$ALICE" "$ADMIN" s)
    n=$(grep -c . <<<"$out")
    bad=$(awk '$2 !~ /^20[01]$/' <<<"$out")
    figure "PgBouncer session pooling: $n requests, $(grep -c . <<<"$bad") not 2xx"
    expect "through PgBouncer (session pooling) every request succeeds${bad:+: $(tr '\n' ' ' <<<"$bad")}" \
        test -z "$bad"
    run "duxctl wallet check through PgBouncer" 0 "$DUXCTL" --wallet "$url" --token "$ADMIN" \
        wallet check
    # its jobs hold their locks on PgBouncer's server connections
    local held
    held=$("$PGCTL" psql "$PRIMARY" -q -tA -d "$sdb" -c "SELECT count(*) FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND $(lock_where wallet.sweeper)")
    expect "the wallet's sweeper job holds its lock through PgBouncer" test "$held" = 1
    n=$("$PGCTL" psql "$PRIMARY" -q -tA -d "$sdb" -c "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'wallet'")
    note "the wallet's sessions on PostgreSQL (all from PgBouncer): $n"
    stop_daemon wallet-pgb-session "$spid"

    # transaction pooling: a probe, reported; the library needs session pooling
    conninfo="host=127.0.0.1 port=$PGB_PORT dbname=$tdb user=duxos"
    local http bus tpid ready=""
    http=$(free_port) || die "no free port"
    bus=$(free_port "$http") || die "no free port"
    {
        CONNINFO=$conninfo common_config "$http" "$bus"
        printf 'wallet:\n  chain: none\n  faucet_limit: "1000000"\n'
    } >"$T/wallet-pgb-tx.yaml"
    DUXOS_WALLET_PASSPHRASE="correct horse battery staple" \
        "$WALLET_BIN" --config "$T/wallet-pgb-tx.yaml" >"$T/wallet-pgb-tx.log" 2>&1 &
    tpid=$!
    DAEMON_PIDS+=("$tpid")
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$http/readyz" 2>/dev/null &&
            ready=1 && break
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $ready ]]; then
        note "NOTE: PgBouncer transaction pooling: the wallet was not ready within 10 s (its migrations failed)"
    else
        out=$(wallet_requests "http://127.0.0.1:$http" "$ALICE" "$ADMIN" t)
        n=$(grep -c . <<<"$out")
        bad=$(awk '$2 !~ /^20[01]$/' <<<"$out" | grep -c .)
        figure "PgBouncer transaction pooling (not supported): $n requests, $bad not 2xx"
    fi
    note "PostgreSQL's errors under transaction pooling:"
    grep -o "duxos@$tdb ERROR: .*" "$PRIMARY/log/postgresql.log" |
        sed 's/"[a-z_0-9]*"/"..."/g' | sort | uniq -c | sort -rn | head -n 5
    kill -0 "$tpid" 2>/dev/null && stop_daemon wallet-pgb-tx "$tpid"
}

# ---- part 3: streaming replica failover --------------------------------------------------------

# credit_client: faucet credits of 1 FLOP to A1, each retried with its Idempotency-Key until
# answered 2xx, until $T/stop-credit exists; logs "ms key code" to $T/credits.log
credit_client() {
    local i=0 code
    while [[ ! -e $T/stop-credit ]]; do
        i=$((i + 1))
        for _ in $(seq 1 600); do
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
                -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
                -H "Idempotency-Key: credit-$i" -d "{\"address\":\"$A1\",\"amount\":\"1\"}" \
                "$WURL/v1/faucet")
            printf '%s credit-%s %s\n' "$(now_ms)" "$i" "$code" >>"$T/credits.log"
            [[ $code == 20[01] ]] && break
            sleep 0.1
        done
    done
}

test_failover() {
    local db p1 p2 conninfo wpid kill_ms promoted_ms first_ok acked before bal
    db=$(new_database harep)
    STANDBY=$CL/s1
    "$PGCTL" standby "$STANDBY" "$PRIMARY" --sync 2>"$T/standby.log" || {
        cat "$T/standby.log" >&2
        die "pgctl.sh standby failed"
    }
    p1=$(sed -n 's/^DUX_PG_PORT=//p' "$PRIMARY/env")
    p2=$(sed -n 's/^DUX_PG_PORT=//p' "$STANDBY/env")
    note "primary on $p1, synchronous standby on $p2"
    conninfo="host=127.0.0.1,127.0.0.1 port=$p1,$p2 dbname=$db user=duxos target_session_attrs=read-write"
    start_wallet wallet-rep "$conninfo"
    wpid=$DAEMON_PID
    A1=$("$DUXCTL" --wallet "$WURL" --token "$ALICE" wallet address | awk '{ print $NF }')
    [[ -n $A1 ]] || die "cannot open an account"

    rm -f "$T/stop-credit"
    credit_client &
    HELPERS+=($!)
    sleep 2
    kill_ms=$(now_ms)
    "$PGCTL" kill "$PRIMARY" 2>/dev/null || fail "pgctl.sh kill of the primary failed"
    acked=$(awk -v k="$kill_ms" '$1 <= k && $3 ~ /^20[01]$/' "$T/credits.log" | wc -l)
    # what a failover manager does: promote the standby
    "$PGCTL" promote "$STANDBY" 2>/dev/null || fail "pgctl.sh promote failed"
    promoted_ms=$(now_ms)
    local deadline=$((kill_ms + FAILOVER_LIMIT * 1000))
    first_ok=""
    while (($(now_ms) < deadline)); do
        first_ok=$(awk -v k="$promoted_ms" '$1 > k && $3 ~ /^20[01]$/ { print $1; exit }' \
            "$T/credits.log")
        [[ -n $first_ok ]] && break
        sleep 0.1
    done
    if [[ -n $first_ok ]]; then
        figure "failover: standby promoted $(elapsed "$kill_ms" "$promoted_ms") s after the kill; the wallet answered a write $(elapsed "$kill_ms" "$first_ok") s after the kill, without a restart"
        note "ok: the wallet answers again through its multi-host conninfo"
    else
        fail "the wallet did not answer within $FAILOVER_LIMIT s of the kill"
    fi
    sleep 1
    touch "$T/stop-credit"
    wait "${HELPERS[-1]}"
    local failed total
    total=$(grep -c . "$T/credits.log")
    failed=$(awk '$3 !~ /^20[01]$/' "$T/credits.log" | wc -l)
    figure "credits: $acked acknowledged before the kill; $total requests, $failed not 2xx ($(awk '$3 !~ /^20[01]$/ { print $3 }' "$T/credits.log" | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s=", " }')) during the failover"
    acked=$(awk '$3 ~ /^20[01]$/ { print $2 }' "$T/credits.log" | sort -u | wc -l)
    read -r -a bal < <(balance_of "$ALICE" "$A1")
    expect "every acknowledged credit is there, once ($acked credits, balance ${bal[0]} units)" \
        test "${bal[0]}" = $((acked * 100000000))
    before=$(awk -v k="$kill_ms" '$1 <= k && $3 ~ /^20[01]$/ { print $2 }' "$T/credits.log" |
        sort -u | wc -l)
    note "credits acknowledged before the kill: $before, all on the promoted standby"
    run "duxctl wallet check on the promoted standby" 0 "$DUXCTL" --wallet "$WURL" \
        --token "$ADMIN" wallet check
    expect "the promoted standby is a primary" \
        test "$("$PGCTL" psql "$STANDBY" -q -tA -c 'SELECT pg_is_in_recovery()')" = f
    local held=0
    for _ in $(seq 1 50); do # the jobs' sessions ended with the old primary
        held=$("$PGCTL" psql "$STANDBY" -q -tA -d "$db" -c "SELECT count(*) FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND $(lock_where wallet.sweeper)")
        [[ $held == 1 ]] && break
        sleep 0.1
    done
    expect "the wallet's sweeper job took its lock again on the promoted standby" test "$held" = 1
    stop_daemon wallet-rep "$wpid"
}

main() {
    local part
    setup
    for part in ${DUX_HA_PARTS:-takeover pgbouncer failover}; do # the failover comes last
        case $part in
            takeover | pgbouncer | failover) "test_$part" ;;
            *) die "DUX_HA_PARTS: unknown part $part (takeover, pgbouncer, failover)" ;;
        esac
    done
    lib_finish
}

main "$@"
