#!/usr/bin/env bash
# run.sh: build a release tree, make a private PostgreSQL cluster, and run bench_escrow.
#
#   tests/bench/escrow/run.sh [bench_escrow options]   e.g. --duration 20 --conns 8
#
# Prints the report on stdout. The cluster is destroyed at exit, also on failure or Ctrl-C.
# Exit status: bench_escrow's (0 valid run, 1 invalid run, 2 set-up failure).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=tests/bench/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
bench_setup duxos-wallet duxos-escrow bench_escrow

"$BUILD/bin/bench_escrow" --pg-dir "$PGDIR" --wallet "$BUILD/bin/duxos-wallet" \
    --escrow "$BUILD/bin/duxos-escrow" --pgbench "$PGBENCH" "$@"
