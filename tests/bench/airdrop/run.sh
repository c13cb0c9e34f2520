#!/usr/bin/env bash
# run.sh: build a release tree, make a private PostgreSQL cluster, and run bench_airdrop.
#
#   tests/bench/airdrop/run.sh
#
# Prints the report on stdout. The cluster is destroyed at exit, also on failure or Ctrl-C.
# Exit status: bench_airdrop's (0 valid run, 1 invalid run, 2 set-up failure).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=tests/bench/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
bench_setup duxos-wallet duxos-escrow duxos-registry duxos-airdrop fake-tasks-events bench_airdrop

DUX_TEST_PG_DIR=$PGDIR "$BUILD/bin/bench_airdrop" --pgbench "$PGBENCH" "$@"
