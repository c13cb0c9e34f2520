# shellcheck shell=bash
# lib.sh: what the duxctl tests share (sourced, not run): checks on a command's exit code and
# output, a database of their own in the ctest cluster (DUX_TEST_PG_DIR), free ports, a token
# key pair, and daemons started as real binaries that must stop cleanly on SIGTERM.
#
# A test sets DUXCTL, calls lib_setup, then its checks, and ends with lib_finish. Daemons it
# starts with start_daemon are killed at exit if still running.

T=""          # temporary directory
DAEMON_PIDS=() # daemons started, killed at exit
FAILS=0
OUT="" ERR="" RC=0

note() { printf '%s\n' "$*"; }
die() {
    printf 'FATAL: %s\n' "$*" >&2
    exit 1
}

lib_cleanup() {
    local pid
    for pid in "${DAEMON_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    [[ -z $T ]] || rm -rf -- "$T"
}
trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- checks ----------------------------------------------------------------------------------

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    printf '  exit %s\n  stdout: %s\n  stderr: %s\n' "$RC" "$OUT" "$ERR" >&2
    FAILS=$((FAILS + 1))
}

# run NAME WANT_RC CMD...: runs CMD, keeps its stdout in OUT and stderr in ERR, and checks the
# exit code. A sanitizer report fails the check whatever the exit code.
run() {
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(<"$T/out")
    ERR=$(<"$T/err")
    if grep -q 'Sanitizer\|runtime error:' "$T/err"; then
        fail "$name: sanitizer report"
        return 1
    fi
    if [[ $RC != "$want" ]]; then
        fail "$name: exit $RC, expected $want"
        return 1
    fi
    note "ok: $name"
}

# expect NAME CMD...: CMD (a test on OUT/ERR, usually) must succeed.
expect() {
    local name=$1
    shift
    if "$@"; then
        note "ok: $name"
    else
        fail "$name"
    fi
}

out_has() { grep -q -- "$1" <<<"$OUT"; }
out_lacks() { ! grep -q -- "$1" <<<"$OUT"; }
err_has() { grep -q -- "$1" <<<"$ERR"; }
err_lacks() { ! grep -q -- "$1" <<<"$ERR"; }
last_word() { awk 'NF { w = $NF } END { print w }' <<<"$OUT"; }
mode_of() { stat -c %a "$1"; }
# mistype ADDR: ADDR with its last character changed (never to itself)
mistype() {
    local last=${1: -1} other=x
    [[ $last != x ]] || other=y
    printf '%s' "${1%?}$other"
}
count_of() { grep -o -- "$1" <<<"$OUT" | wc -l; }

# ---- set-up ----------------------------------------------------------------------------------

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# free_port [AVOID...]: a port nobody listens on, none of AVOID; below the kernel's ephemeral
# range (32768 and up), where outgoing connections cannot take it before the daemon binds it.
free_port() {
    local p a ok
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        ok=1
        for a in "$@"; do
            [[ $p != "$a" ]] || ok=0
        done
        if ((ok)) && port_free "$p"; then
            printf '%s' "$p"
            return 0
        fi
    done
    return 1
}

# common_config HTTP BUS: the options every daemon of these tests shares (ports, the test
# database, the token key, mainnet), as YAML on stdout; a test appends its daemon's own.
common_config() {
    local http=$1 bus=$2
    cat <<EOF
http:
  port: $http
db:
  conninfo: "$CONNINFO"
  password_file: "$PWFILE"
  pool_size: 4
bus:
  endpoint: "tcp://127.0.0.1:$bus"
log:
  level: info
auth:
  public_key_file: "$T/auth.pub"
chain:
  network: mainnet
EOF
}

env_value() {
    sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$DUX_TEST_PG_DIR/env"
}

# make_database PREFIX: a new database of the test cluster; sets DBNAME, CONNINFO and PWFILE.
make_database() {
    local db conninfo
    db=${1}_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    # shellcheck disable=SC2034 # for the tests that source this
    DBNAME=$db
    "$PGCTL" createdb "$DUX_TEST_PG_DIR" "$db" >/dev/null || die "pgctl.sh createdb $db failed"
    conninfo=$(env_value DUX_PG_CONNINFO)
    PWFILE=$(env_value DUX_PG_PASSWORD_FILE)
    [[ -n $conninfo && -n $PWFILE ]] || die "cannot read $DUX_TEST_PG_DIR/env"
    CONNINFO=${conninfo/dbname=duxos/dbname=$db}
    [[ $CONNINFO == *"dbname=$db"* ]] || die "no dbname=duxos in $DUX_TEST_PG_DIR/env"
}

# lib_setup BINARY...: checks the environment and the binaries, makes T and the token key pair
# $T/auth.key, $T/auth.pub.
lib_setup() {
    local b
    [[ -n ${DUX_TEST_PG_DIR:-} ]] || die "DUX_TEST_PG_DIR is not set: run under ctest (fixture pg)"
    for b in "$@"; do
        [[ -x $b ]] || die "$b was not built"
    done
    T=$(mktemp -d /tmp/duxctl-test.XXXXXX) || die "mktemp failed"
    if ! openssl genpkey -algorithm ed25519 -out "$T/auth.key" 2>/dev/null ||
        ! openssl pkey -in "$T/auth.key" -pubout -out "$T/auth.pub" 2>/dev/null; then
        die "openssl could not make the token key pair"
    fi
}

# forget_daemon PID: reaps a daemon that has exited; its number may be reused, never kill it again
forget_daemon() {
    local p rest=()
    wait "$1" 2>/dev/null
    for p in "${DAEMON_PIDS[@]}"; do
        [[ $p == "$1" ]] || rest+=("$p")
    done
    DAEMON_PIDS=("${rest[@]}")
}

# try_start_daemon NAME BIN CONFIG URL: starts BIN --config CONFIG with its log in $T/NAME.log
# and waits until URL/readyz answers; sets DAEMON_PID. Returns 1 when the daemon exited because
# a port it was given had been taken meanwhile (free_port cannot reserve one): the caller may
# choose other ports and try again. Any other failure is fatal.
try_start_daemon() {
    local name=$1 bin=$2 config=$3 url=$4
    "$bin" --config "$config" >"$T/$name.log" 2>&1 &
    DAEMON_PID=$!
    DAEMON_PIDS+=("$DAEMON_PID")
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null && return 0
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            if grep -q 'Address already in use' "$T/$name.log"; then
                note "$name: a port was taken meanwhile; trying others"
                forget_daemon "$DAEMON_PID"
                return 1
            fi
            show_log "$name"
            die "$name exited during start-up"
        fi
        sleep 0.1
    done
    show_log "$name"
    die "$name was not ready at $url/readyz within 30 s"
}

# start_daemon NAME BIN CONFIG URL: try_start_daemon, and a taken port is fatal too.
start_daemon() {
    if ! try_start_daemon "$@"; then
        show_log "$1"
        die "$1 exited during start-up"
    fi
}

show_log() {
    printf -- '---- %s log ----\n' "$1" >&2
    cat "$T/$1.log" >&2 2>/dev/null || true
}

# stop_daemon NAME PID: SIGTERM; the daemon must exit 0 (under the sanitizers anything else
# is a leak or a crash, and its log is shown).
stop_daemon() {
    local name=$1 pid=$2 status p rest=()
    kill -TERM "$pid"
    wait "$pid"
    status=$?
    for p in "${DAEMON_PIDS[@]}"; do # reaped: its number may be reused, never kill it again
        [[ $p == "$pid" ]] || rest+=("$p")
    done
    DAEMON_PIDS=("${rest[@]}")
    if [[ $status == 0 ]]; then
        note "ok: $name stopped cleanly (exit 0)"
    else
        RC=$status OUT="" ERR=""
        fail "$name exited $status on SIGTERM (leak or crash under the sanitizers)"
        show_log "$name"
    fi
}

lib_finish() {
    if ((FAILS > 0)); then
        printf '%d check(s) failed\n' "$FAILS" >&2
        exit 1
    fi
    note "all checks passed"
}
