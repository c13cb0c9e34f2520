#!/usr/bin/env bash
# run.sh: build the release tree, run bench_sandbox (the sandbox beside `unshare`), then make a
# private PostgreSQL cluster and run bench_tasks (no-op tasks per second, paid calls end to end)
# on it. Needs root: cgroups, mounts, namespaces.
#
#   tests/bench/tasks/run.sh                        both, with their defaults
#   tests/bench/tasks/run.sh --runs 400 --warmup 25 bench_sandbox's options (runs, warm-up runs)
#   tests/bench/tasks/run.sh --slots 1,2,4 --calls 500   any other option goes to bench_tasks
#   tests/bench/tasks/run.sh --sandbox-only | --tasks-only
#
# DUX_BENCH_BUILD=DIR builds and runs in DIR instead of build/release. Prints the reports on
# stdout. The cluster is destroyed at exit, also on failure or Ctrl-C. Exit status: the worse
# of the two (0 valid runs, 1 an invalid run, 2 bad usage, not root or a set-up failure).
set -euo pipefail
shopt -s inherit_errexit

sandbox_args=() tasks_args=() do_sandbox=1 do_tasks=1
while (($#)); do
    case $1 in
    --runs | --warmup)
        (($# >= 2)) || { echo "run.sh: $1 needs a value" >&2; exit 2; }
        sandbox_args+=("$1" "$2"); shift 2 ;;
    --sandbox-only) do_tasks=0; shift ;;
    --tasks-only) do_sandbox=0; shift ;;
    *) tasks_args+=("$1"); shift ;;
    esac
done
if [[ $(id -u) != 0 ]]; then
    echo "run.sh: needs root (the sandbox: cgroups, mounts, namespaces)" >&2
    exit 2
fi

# shellcheck source=tests/bench/lib/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
bench_setup bench_sandbox bench_tasks duxos-tasks duxos-registry duxos-wallet duxos-escrow \
    duxos-store

rc=0
if ((do_sandbox)); then
    "$BUILD/bin/bench_sandbox" "${sandbox_args[@]}" || rc=$?
    echo
fi
if ((do_tasks)); then
    trc=0
    "$BUILD/bin/bench_tasks" --pg-dir "$PGDIR" --bin-dir "$BUILD/bin" --pgbench "$PGBENCH" \
        "${tasks_args[@]}" || trc=$?
    ((trc > rc)) && rc=$trc
fi
exit "$rc"
