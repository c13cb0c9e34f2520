#!/usr/bin/env bash
# pgctl.sh: private PostgreSQL clusters for the local cluster and the test harness.
#
# A cluster lives in one directory DIR:
#   DIR/data      the data directory (owned by the run-as user)
#   DIR/run       the unix socket directory (mode 700: only the run-as user and root reach it)
#   DIR/log       postgresql.log
#   DIR/password  the password of the `duxos` role (mode 600)
#   DIR/env       shell-sourceable: DUX_PG_DIR, DUX_PG_PORT, DUX_PG_CONNINFO, DUX_PG_PASSWORD_FILE
#
# PostgreSQL refuses to run as root: when invoked as root, the server runs as the system user
# `duxos` (created when missing; override with DUXOS_PG_RUN_AS). Otherwise it runs as the
# invoking user. Clients connect as role `duxos` over TCP on 127.0.0.1 with the password.
#
# A standby (`standby DIR PRIMARY_DIR`) is a copy of a running primary made with pg_basebackup
# that follows it by streaming replication through a replication slot; `promote DIR` makes it a
# primary (what a failover manager such as Patroni does). Both serve tests/ha and the notes in
# deploy/ha/README.md; the local cluster has no standby.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
readonly PG_BIN=${DUXOS_PG_BIN:-/usr/lib/postgresql/15/bin}
readonly PG_SUPERUSER=postgres
readonly APP_ROLE=duxos
readonly APP_DB=duxos
readonly START_TIMEOUT=30
readonly STOP_TIMEOUT=60

# Settings of the cluster itself; libpq clients must not pick up the caller's defaults.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE PGDATA

DIR=""
RUN_AS=""
CREATED_DIR=""

usage() {
    cat <<EOF
usage: $PROG COMMAND DIR [ARGS...]

  init DIR [PORT]     create a cluster in DIR (free port when PORT is omitted) and start it;
                      when DIR/data exists, just start it on its recorded port
  start DIR           start an existing cluster and wait until it accepts connections
  stop DIR            fast shutdown, wait until stopped
  kill DIR            SIGKILL the postmaster and all its children (crash tests)
  status DIR          exit 0 when running, 3 when not
  psql DIR [ARGS...]  run psql as role $APP_ROLE over TCP with the cluster's password
  createdb DIR NAME   create database NAME owned by role $APP_ROLE (for per-test databases)
  destroy DIR         stop the cluster and remove DIR
  standby DIR PRIMARY_DIR [PORT] [--sync]
                      make DIR a streaming-replication standby of the running cluster in
                      PRIMARY_DIR (pg_basebackup; replication slot and application_name
                      standby_<name of DIR>) and start it; --sync then makes the primary wait
                      for it at every commit (synchronous_standby_names = 'FIRST 1 (...)': no
                      commit completes on the primary while that standby is down)
  promote DIR         promote a standby to a primary; waits until it accepts writes

Environment: DUXOS_PG_BIN (default $PG_BIN), DUXOS_PG_RUN_AS (default: duxos when root,
else the invoking user).
EOF
}

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

# ---------------------------------------------------------------------------------------------
# Who runs the server, and how commands are run as that user.

resolve_run_as() {
    if [[ $EUID -ne 0 ]]; then
        RUN_AS=$(id -un)
        if [[ -n ${DUXOS_PG_RUN_AS:-} && $DUXOS_PG_RUN_AS != "$RUN_AS" ]]; then
            die "DUXOS_PG_RUN_AS=$DUXOS_PG_RUN_AS needs root; running as $RUN_AS"
        fi
        return
    fi
    RUN_AS=${DUXOS_PG_RUN_AS:-duxos}
    [[ $RUN_AS != root ]] || die "PostgreSQL refuses to run as root; set DUXOS_PG_RUN_AS to another user"
    ensure_system_user "$RUN_AS"
}

ensure_system_user() {
    local user=$1
    getent passwd "$user" >/dev/null && return
    [[ $user == duxos ]] || die "user '$user' (DUXOS_PG_RUN_AS) does not exist"
    note "creating system user $user"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user" ||
        die "could not create system user $user"
}

# Runs a command as the run-as user, from DIR so that no unreadable cwd gets in the way.
# The lock descriptor is closed so that a server started here does not hold the lock.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$DIR" && runuser -u "$RUN_AS" -- "$@" 9>&-)
    else
        (cd "$DIR" && "$@" 9>&-)
    fi
}

give_to_pg() {
    [[ $EUID -eq 0 ]] || return 0
    chown "$RUN_AS:" "$@"
}

# ---------------------------------------------------------------------------------------------
# Paths and recorded settings.

set_dir() {
    [[ -n ${1:-} ]] || die "missing DIR argument (see '$PROG --help')"
    case $1 in
        *[\"\$\`\\]* | *$'\n'*) die "DIR must not contain quotes, \$, backquotes, backslashes or newlines: $1" ;;
    esac
    if [[ -d $1 ]]; then
        DIR=$(cd "$1" && pwd -P)
    else
        DIR=$(realpath -m -- "$1")
    fi
}

data_dir() { printf '%s/data' "$DIR"; }
sock_dir() { printf '%s/run' "$DIR"; }
log_file() { printf '%s/log/postgresql.log' "$DIR"; }
env_file() { printf '%s/env' "$DIR"; }
pw_file() { printf '%s/password' "$DIR"; }

require_cluster() {
    [[ -f $(data_dir)/PG_VERSION ]] || die "no cluster in $DIR (run '$PROG init $DIR' first)"
    [[ -f $(env_file) ]] || die "cluster in $DIR is incomplete (no env file); run '$PROG destroy $DIR' and init again"
}

# The port the cluster was configured with, as recorded in DIR/env.
recorded_port() {
    local port
    port=$(sed -n 's/^DUX_PG_PORT=\([0-9][0-9]*\)$/\1/p' "$(env_file)")
    [[ -n $port ]] || die "no DUX_PG_PORT in $(env_file)"
    printf '%s' "$port"
}

postmaster_pid() {
    local pidfile
    pidfile=$(data_dir)/postmaster.pid
    [[ -f $pidfile ]] || return 1
    head -n 1 "$pidfile"
}

lock_dir() {
    mkdir -p "$DIR"
    exec 9>>"$DIR/.pgctl.lock"
    flock -w 120 9 || die "timed out waiting for another $PROG on $DIR"
}

# ---------------------------------------------------------------------------------------------
# Ports.

port_in_use() {
    local port=$1
    if command -v ss >/dev/null; then
        [[ -n $(ss -Hltn "sport = :$port") ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

random_port() {
    local n
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    printf '%d' $((20000 + n % 12000))
}

free_port() {
    local port try
    for try in $(seq 1 100); do
        port=$(random_port)
        port_in_use "$port" || { printf '%s' "$port"; return 0; }
    done
    die "no free TCP port found on 127.0.0.1 after $try tries"
}

valid_port() {
    [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1024 && 10#$1 <= 65535))
}

# ---------------------------------------------------------------------------------------------
# Creating a cluster.

check_reachable() {
    as_pg test -x "$DIR" ||
        die "user $RUN_AS cannot reach $DIR: every parent directory must be traversable (o+x)"
}

check_socket_path() {
    local path
    path="$(sock_dir)/.s.PGSQL.65535"
    ((${#path} < 107)) || die "socket path too long for a unix socket (${#path} chars): $path; use a shorter DIR"
}

run_initdb() {
    as_pg "$PG_BIN/initdb" --pgdata="$(data_dir)" --username="$PG_SUPERUSER" \
        --encoding=UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 \
        >"$DIR/log/initdb.log" 2>&1 || {
        tail -n 20 "$DIR/log/initdb.log" >&2
        die "initdb failed (its last lines are above)"
    }
}

random_hex() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

write_config() {
    local port=$1 conf
    conf=$(data_dir)/postgresql.conf
    sed -i '/^# --- pgctl.sh settings ---$/,$d' "$conf"
    cat >>"$conf" <<EOF
# --- pgctl.sh settings ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$(sock_dir)'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
fsync = on
password_encryption = 'scram-sha-256'
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
    cat >"$(data_dir)/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
# The socket directory is mode 700, owned by the server's user: only that user and root reach it.
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
EOF
    give_to_pg "$conf" "$(data_dir)/pg_hba.conf"
}

write_password() {
    local file
    file=$(pw_file)
    (umask 077 && random_hex >"$file")
    chmod 600 "$file"
    give_to_pg "$file"
}

write_env() {
    local port=$1 tmp
    tmp="$(env_file).tmp"
    cat >"$tmp" <<EOF
DUX_PG_DIR="$DIR"
DUX_PG_PORT=$port
DUX_PG_CONNINFO="host=127.0.0.1 port=$port dbname=$APP_DB user=$APP_ROLE"
DUX_PG_PASSWORD_FILE="$(pw_file)"
EOF
    chmod 644 "$tmp"
    give_to_pg "$tmp"
    mv -f "$tmp" "$(env_file)"
}

# Runs SQL (from stdin) as the superuser over the unix socket.
superuser_sql() {
    local port=$1
    shift
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(sock_dir)" -p "$port" \
        -U "$PG_SUPERUSER" -d postgres "$@"
}

create_app_role() {
    local port=$1 password
    password=$(<"$(pw_file)")
    superuser_sql "$port" <<EOF
CREATE ROLE $APP_ROLE LOGIN PASSWORD '$password';
CREATE DATABASE $APP_DB OWNER $APP_ROLE;
REVOKE ALL ON DATABASE $APP_DB FROM PUBLIC;
EOF
}

make_layout() {
    mkdir -p "$DIR/log" "$(sock_dir)"
    chmod 700 "$DIR" "$(sock_dir)"
    give_to_pg "$DIR" "$DIR/log" "$(sock_dir)"
}

# Removes what a failed init left behind.
undo_init() {
    note "init failed; removing the partial cluster in $DIR"
    if postmaster_pid >/dev/null 2>&1; then
        as_pg "$PG_BIN/pg_ctl" stop -D "$(data_dir)" -m immediate -w >/dev/null 2>&1 || true
    fi
    if [[ -n $CREATED_DIR ]]; then
        rm -rf -- "$DIR"
    else
        rm -rf -- "$(data_dir)" "$(env_file)" "$(pw_file)"
    fi
}

# Starts a freshly created cluster; a port chosen by us is re-chosen when it was taken meanwhile.
start_fresh() {
    local port=$1 chosen=$2 try
    for try in 1 2 3 4 5; do
        write_config "$port"
        if start_server "$port" quiet; then
            printf '%s' "$port"
            return 0
        fi
        if [[ $chosen == given ]] || ! grep -q 'could not bind\|Address already in use' "$(log_file)"; then
            tail -n 20 "$(log_file)" >&2
            return 1
        fi
        note "port $port was taken meanwhile; trying another"
        port=$(free_port)
    done
    return 1
}

# Checks that need nothing created yet, so that a refused init leaves nothing behind.
precheck_create() {
    local port=$1
    [[ -x $PG_BIN/initdb ]] || die "PostgreSQL binaries not found in $PG_BIN (set DUXOS_PG_BIN)"
    [[ ! -e $(data_dir) ]] || die "$(data_dir) exists but is not a PostgreSQL data directory"
    check_socket_path
    [[ -z $port ]] || ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use"
}

create_cluster() {
    local port=$1 chosen=given
    if [[ -z $port ]]; then
        port=$(free_port)
        chosen=auto
    fi
    trap undo_init EXIT
    make_layout
    check_reachable
    run_initdb
    write_password
    port=$(start_fresh "$port" "$chosen")
    create_app_role "$port"
    write_env "$port"
    trap - EXIT
    note "cluster ready in $DIR on 127.0.0.1:$port (settings: $(env_file))"
}

start_existing() {
    local port=$1 recorded
    require_cluster
    recorded=$(recorded_port)
    [[ -z $port || $port == "$recorded" ]] ||
        note "cluster in $DIR exists on port $recorded; ignoring requested port $port"
    start_server "$recorded"
}

cmd_init() {
    set_dir "${1:-}"
    local port=${2:-}
    [[ -z $port ]] || valid_port "$port" || die "invalid port '$port' (1024-65535)"
    resolve_run_as
    [[ -f $(data_dir)/PG_VERSION ]] || precheck_create "$port"
    [[ -d $DIR ]] || CREATED_DIR=1
    lock_dir
    if [[ -f $(data_dir)/PG_VERSION ]]; then
        start_existing "$port"
    else
        create_cluster "$port"
    fi
}

# ---------------------------------------------------------------------------------------------
# Running a cluster.

# Running means: postmaster.pid names a live (not zombie) postgres process. pg_ctl status would
# count a killed postmaster that is not yet reaped as running.
is_running() {
    local pid comm
    pid=$(postmaster_pid 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && is_alive "$pid" || return 1
    comm=$(<"/proc/$pid/comm") || return 1
    [[ $comm == postgres || $comm == postmaster ]]
}

# The lock files of a killed server (postmaster.pid, the socket's .lock) name its PID; while that
# process lingers as a zombie, a new server would refuse to start. Nothing else uses DIR/run.
remove_stale_locks() {
    local stale
    is_running && return 0
    shopt -s nullglob
    stale=("$(data_dir)/postmaster.pid" "$(sock_dir)"/.s.PGSQL.*)
    shopt -u nullglob
    [[ -e ${stale[0]} || ${#stale[@]} -gt 1 ]] || return 0
    note "removing lock files left by a server that is gone"
    rm -f -- "${stale[@]}"
}

wait_accepting() {
    local port=$1 deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -t 2 && return 0
        sleep 0.1
    done
    return 1
}

# start_server PORT [quiet]: quiet leaves the log tail to the caller.
start_server() {
    local port=$1 quiet=${2:-}
    if is_running; then
        note "already running on port $port"
        return 0
    fi
    remove_stale_locks
    if [[ -z $quiet ]] && port_in_use "$port"; then
        die "port $port on 127.0.0.1 is taken by another process; PostgreSQL in $DIR cannot start"
    fi
    mkdir -p "$DIR/log" "$(sock_dir)"
    give_to_pg "$DIR/log" "$(sock_dir)"
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$(data_dir)" -l "$(log_file)" -w -t "$START_TIMEOUT" \
        >/dev/null 2>&1 || ! wait_accepting "$port"; then
        [[ -n $quiet ]] && return 1
        tail -n 20 "$(log_file)" >&2
        die "PostgreSQL in $DIR did not start (last lines of $(log_file) above)"
    fi
    [[ -n $quiet ]] || note "running on 127.0.0.1:$port (log: $(log_file))"
}

cmd_start() {
    set_dir "${1:-}"
    resolve_run_as
    require_cluster
    lock_dir
    start_server "$(recorded_port)"
}

stop_server() {
    local out
    if ! is_running; then
        note "not running"
        return 0
    fi
    out=$(as_pg "$PG_BIN/pg_ctl" stop -D "$(data_dir)" -m fast -w -t "$STOP_TIMEOUT" 2>&1) || {
        printf '%s\n' "$out" >&2
        tail -n 20 "$(log_file)" >&2
        die "PostgreSQL in $DIR did not stop (fast shutdown, ${STOP_TIMEOUT}s)"
    }
    note "stopped"
}

cmd_stop() {
    set_dir "${1:-}"
    resolve_run_as
    require_cluster
    lock_dir
    stop_server
}

children_of() {
    ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}

# A process counts as gone once it no longer exists or is a zombie waiting to be reaped.
is_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

any_alive() {
    local pid
    for pid in "$@"; do
        is_alive "$pid" && return 0
    done
    return 1
}

wait_gone() {
    local tries
    for ((tries = 0; tries < 100; tries++)); do
        any_alive "$@" || return 0
        sleep 0.1
    done
    return 1
}

cmd_kill() {
    set_dir "${1:-}"
    resolve_run_as
    require_cluster
    kill_server
}

kill_server() {
    local pid children
    if ! is_running || ! pid=$(postmaster_pid); then
        note "not running"
        return 0
    fi
    # Freeze the postmaster so that it forks nothing new, then kill it with every child at once.
    kill -STOP "$pid" 2>/dev/null || die "cannot signal postmaster $pid"
    mapfile -t children < <(children_of "$pid")
    kill -KILL "$pid" "${children[@]}" 2>/dev/null || true
    wait_gone "$pid" "${children[@]}" || die "processes of the cluster in $DIR survived SIGKILL"
    note "killed postmaster $pid and ${#children[@]} children"
}

cmd_status() {
    set_dir "${1:-}"
    resolve_run_as
    require_cluster
    if is_running; then
        printf 'running on 127.0.0.1:%s (pid %s)\n' "$(recorded_port)" "$(postmaster_pid)"
        return 0
    fi
    printf 'not running\n'
    return 3
}

# Connection settings go through libpq's environment so that the caller's -d/-U/-c still work.
cmd_psql() {
    set_dir "${1:-}"
    shift || true
    require_cluster
    PGHOST=127.0.0.1 PGPORT=$(recorded_port) PGDATABASE=$APP_DB PGUSER=$APP_ROLE \
        PGPASSWORD=$(<"$(pw_file)") exec "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 "$@"
}

cmd_createdb() {
    set_dir "${1:-}"
    local name=${2:-}
    [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database name must match [a-z_][a-z0-9_]*: '$name'"
    resolve_run_as
    require_cluster
    superuser_sql "$(recorded_port)" -c "CREATE DATABASE $name OWNER $APP_ROLE"
}

cmd_destroy() {
    set_dir "${1:-}"
    resolve_run_as
    [[ -d $DIR ]] || { note "nothing to destroy at $DIR"; return 0; }
    if [[ -f $(data_dir)/PG_VERSION ]]; then
        lock_dir
        shut_down_for_destroy
    elif [[ -n $(ls -A "$DIR") && ! -f $(env_file) && ! -f $DIR/.pgctl.lock ]]; then
        die "$DIR does not look like a cluster made by $PROG; not removing it"
    fi
    rm -rf -- "$DIR"
    note "removed $DIR"
}

shut_down_for_destroy() {
    is_running || return 0
    as_pg "$PG_BIN/pg_ctl" stop -D "$(data_dir)" -m fast -w -t "$STOP_TIMEOUT" >/dev/null 2>&1 && return 0
    note "fast shutdown failed; killing"
    kill_server
}

# ---------------------------------------------------------------------------------------------
# Streaming replication: a standby of a running cluster, and its promotion.

# The name a standby goes by on its primary (slot and application_name): standby_<DIR's name>.
standby_name() {
    local base=${DIR##*/}
    base=${base,,}
    base=${base//[^a-z0-9_]/_}
    printf 'standby_%s' "${base:0:40}"
}

# on_cluster OTHER_DIR CMD...: runs CMD with DIR set to another cluster's directory.
on_cluster() {
    local saved=$DIR rc=0
    DIR=$1
    shift
    "$@" || rc=$?
    DIR=$saved
    return "$rc"
}

# A primary accepts replication connections from its own user over its socket (mode 700).
allow_local_replication() {
    local hba
    hba=$(data_dir)/pg_hba.conf
    grep -q '^local[[:space:]]\+replication[[:space:]]' "$hba" && return 0
    printf '%s\n' 'local   replication  all                 trust' >>"$hba"
    as_pg "$PG_BIN/pg_ctl" reload -D "$(data_dir)" >/dev/null
}

# Settings that make a copied data directory a standby of the primary at SOCK:PORT.
write_standby_config() {
    local psock=$1 pport=$2 name=$3
    cat >>"$(data_dir)/postgresql.conf" <<EOF
# standby of $psock:$pport (pgctl.sh standby)
primary_conninfo = 'host=$psock port=$pport user=$PG_SUPERUSER application_name=$name'
primary_slot_name = '$name'
hot_standby = on
EOF
    # a synchronous_standby_names copied from the primary would make the promoted standby wait
    # for a standby of its own at every commit
    sed -i '/^synchronous_standby_names/d' "$(data_dir)/postgresql.auto.conf"
    as_pg touch "$(data_dir)/standby.signal"
}

# wait_streaming PORT NAME [sync]: until the primary on PORT reports standby NAME streaming
# (and synchronous, with sync).
wait_streaming() {
    local pport=$1 name=$2 want=${3:-} state deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        state=$(superuser_sql "$pport" -tA -c "SELECT sync_state FROM pg_stat_replication
            WHERE application_name = '$name' AND state = 'streaming'") || state=""
        [[ -n $state && ($want != sync || $state == sync) ]] && return 0
        sleep 0.1
    done
    return 1
}

drop_slot() {
    local pport=$1 name=$2
    superuser_sql "$pport" -c "SELECT pg_drop_replication_slot(slot_name)
        FROM pg_replication_slots WHERE slot_name = '$name'" >/dev/null 2>&1 || true
}

cmd_standby() {
    set_dir "${1:-}"
    local primary=${2:-} port="" sync="" arg pdir pport psock name
    [[ -n $primary ]] || die "missing PRIMARY_DIR argument (see '$PROG --help')"
    shift 2
    for arg in "$@"; do
        case $arg in
            --sync) sync=sync ;;
            *)
                if ! valid_port "$arg" || [[ -n $port ]]; then
                    die "invalid argument '$arg' (PORT or --sync)"
                fi
                port=$arg
                ;;
        esac
    done
    resolve_run_as
    pdir=$(cd "$primary" 2>/dev/null && pwd -P) || die "no directory $primary"
    [[ $pdir != "$DIR" ]] || die "a cluster cannot be its own standby"
    on_cluster "$pdir" require_cluster
    on_cluster "$pdir" is_running || die "the primary in $pdir is not running"
    pport=$(on_cluster "$pdir" recorded_port)
    psock=$(on_cluster "$pdir" sock_dir)
    precheck_create "$port"
    [[ -d $DIR ]] || CREATED_DIR=1
    [[ -n $port ]] || port=$(free_port)
    lock_dir
    name=$(standby_name)
    trap undo_init EXIT
    make_layout
    check_reachable
    on_cluster "$pdir" allow_local_replication
    if ! as_pg "$PG_BIN/pg_basebackup" --pgdata="$(data_dir)" --host="$psock" --port="$pport" \
        --username="$PG_SUPERUSER" --wal-method=stream --checkpoint=fast \
        --create-slot --slot="$name" >"$DIR/log/basebackup.log" 2>&1; then
        tail -n 20 "$DIR/log/basebackup.log" >&2
        on_cluster "$pdir" drop_slot "$pport" "$name"
        die "pg_basebackup from $pdir failed (its last lines are above)"
    fi
    write_config "$port"
    write_standby_config "$psock" "$pport" "$name"
    cp "$pdir/password" "$(pw_file)"
    chmod 600 "$(pw_file)"
    give_to_pg "$(pw_file)"
    start_server "$port"
    write_env "$port"
    trap - EXIT
    if [[ -n $sync ]]; then
        on_cluster "$pdir" superuser_sql "$pport" \
            -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ($name)'" \
            -c "SELECT pg_reload_conf()" >/dev/null
    fi
    on_cluster "$pdir" wait_streaming "$pport" "$name" "$sync" ||
        die "the primary does not report $name streaming${sync:+ synchronously} within ${START_TIMEOUT}s"
    note "standby $name of $pdir ready in $DIR on 127.0.0.1:$port${sync:+ (synchronous)}"
}

cmd_promote() {
    set_dir "${1:-}"
    resolve_run_as
    require_cluster
    lock_dir
    is_running || die "the cluster in $DIR is not running"
    local port deadline
    port=$(recorded_port)
    if [[ ! -f $(data_dir)/standby.signal ]]; then
        note "not a standby: already a primary"
        return 0
    fi
    as_pg "$PG_BIN/pg_ctl" promote -D "$(data_dir)" -w -t "$START_TIMEOUT" >/dev/null ||
        die "pg_ctl promote failed (see $(log_file))"
    deadline=$((SECONDS + START_TIMEOUT))
    until [[ $(superuser_sql "$port" -tA -c "SELECT pg_is_in_recovery()") == f ]]; do
        ((SECONDS < deadline)) || die "$DIR still in recovery ${START_TIMEOUT}s after promote"
        sleep 0.1
    done
    note "promoted: $DIR accepts writes on 127.0.0.1:$port"
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
        init) cmd_init "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        kill) cmd_kill "$@" ;;
        status) cmd_status "$@" ;;
        psql) cmd_psql "$@" ;;
        createdb) cmd_createdb "$@" ;;
        destroy) cmd_destroy "$@" ;;
        standby) cmd_standby "$@" ;;
        promote) cmd_promote "$@" ;;
        -h | --help | help) usage ;;
        "") usage >&2; exit 2 ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

main "$@"
