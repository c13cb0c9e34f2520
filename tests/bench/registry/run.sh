#!/usr/bin/env bash
# run.sh: build a release tree, make a private PostgreSQL cluster, and run bench_registry.
#
#   tests/bench/registry/run.sh [bench_registry options]   e.g. --duration 20 --pool-size 16
#
# Prints the report on stdout. The cluster is destroyed at exit, also on failure or Ctrl-C.
# Exit status: bench_registry's (0 valid run, 1 invalid run, 2 set-up failure).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=tests/bench/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
bench_setup duxos-registry bench_registry

"$BUILD/bin/bench_registry" --pg-dir "$PGDIR" --registry "$BUILD/bin/duxos-registry" \
    --pgbench "$PGBENCH" "$@"
