#!/usr/bin/env bash
# run.sh: build a release tree, make a private PostgreSQL cluster, and run bench_store.
#
#   tests/bench/store/run.sh [bench_store options]   e.g. --duration 20 --services 200000
#
# Prints the report on stdout. The cluster is destroyed at exit, also on failure or Ctrl-C.
# Exit status: bench_store's (0 valid run, 1 invalid run, 2 set-up failure).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=tests/bench/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
bench_setup duxos-store bench_store

"$BUILD/bin/bench_store" --pg-dir "$PGDIR" --store "$BUILD/bin/duxos-store" "$@"
