#!/usr/bin/env bash
# run.sh: build a release tree, make a private PostgreSQL cluster, and run bench_wallet.
#
#   tests/bench/wallet/run.sh [bench_wallet options]   e.g. --duration 20 --conns 8
#
# Prints the report on stdout. The cluster is destroyed at exit, also on failure or Ctrl-C.
# Exit status: bench_wallet's (0 valid run, 1 invalid run, 2 set-up failure).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=tests/bench/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
bench_setup duxos-wallet bench_wallet

"$BUILD/bin/bench_wallet" --pg-dir "$PGDIR" --wallet "$BUILD/bin/duxos-wallet" \
    --pgbench "$PGBENCH" "$@"
