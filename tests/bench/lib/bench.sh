# shellcheck shell=bash
# bench.sh - what every tests/bench/*/run.sh does, sourced by them (bash, after
# `set -euo pipefail`): builds a release tree and makes a private PostgreSQL cluster.
#
#   bench_setup TARGET...   builds TARGETs in $BUILD (RelWithDebInfo, no sanitizers), then
#                           makes a cluster with deploy/local/pgctl.sh init in $PGDIR, destroyed
#                           at exit, also on failure or Ctrl-C
#
# Sets REPO, BUILD (DUX_BENCH_BUILD, default build/release: another tree when someone else is
# building that one), PGCTL, PGBENCH (DUXOS_PGBENCH or PostgreSQL 15's) and, after bench_setup,
# PGDIR; the working directory becomes the repository's root.

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$BENCH_LIB/../../.." && pwd -P)
readonly BENCH_LIB REPO
readonly BUILD=${DUX_BENCH_BUILD:-$REPO/build/release}
readonly PGCTL=$REPO/deploy/local/pgctl.sh
# shellcheck disable=SC2034 # used by the run.sh that sources this
readonly PGBENCH=${DUXOS_PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}

bench_setup() {
    cd "$REPO" || return
    echo "run.sh: building $BUILD (RelWithDebInfo, no sanitizers)" >&2
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUX_SANITIZE=OFF >/dev/null
    local targets=()
    for t in "$@"; do targets+=(--target "$t"); done
    cmake --build "$BUILD" -j2 "${targets[@]}" >/dev/null

    # Short path: the cluster's unix socket path must fit in 107 bytes.
    PGDIR=$(mktemp -d /tmp/duxbench.XXXXXX)
    readonly PGDIR
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    chmod 755 "$PGDIR" # the server's user (duxos when run as root) must reach it
    "$PGCTL" init "$PGDIR" >/dev/null
}

bench_cleanup() {
    "$PGCTL" destroy "$PGDIR" >/dev/null 2>&1 || true
}
