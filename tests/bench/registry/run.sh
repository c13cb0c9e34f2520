#!/usr/bin/env bash
# run.sh: build a release tree, make a private PostgreSQL cluster, and run bench_registry.
#
#   tests/bench/registry/run.sh [bench_registry options]   e.g. --duration 20 --pool-size 16
#
# Prints the report on stdout. The cluster is destroyed at exit, also on failure or Ctrl-C.
# Exit status: bench_registry's (0 valid run, 1 invalid run, 2 set-up failure).
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../../.." && pwd -P)
readonly HERE REPO
readonly BUILD=$REPO/build/release
readonly PGCTL=$REPO/deploy/local/pgctl.sh
readonly PGBENCH=${DUXOS_PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}

cd "$REPO"
echo "run.sh: building $BUILD (RelWithDebInfo, no sanitizers)" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUX_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" -j2 --target duxos-registry bench_registry >/dev/null

# Short path: the cluster's unix socket path must fit in 107 bytes.
PGDIR=$(mktemp -d /tmp/duxbench.XXXXXX)
readonly PGDIR
cleanup() {
    "$PGCTL" destroy "$PGDIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$PGDIR" # the server's user (duxos when run as root) must reach it
"$PGCTL" init "$PGDIR" >/dev/null

"$BUILD/bin/bench_registry" --pg-dir "$PGDIR" --registry "$BUILD/bin/duxos-registry" \
    --pgbench "$PGBENCH" "$@"
