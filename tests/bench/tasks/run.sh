#!/usr/bin/env bash
# run.sh: build the release tree and run bench_sandbox (needs root: cgroups, mounts, namespaces).
#
#   tests/bench/tasks/run.sh [--runs N] [--warmup N]
#
# Prints the report on stdout. Exit status: bench_sandbox's (0 valid run, 1 a sandbox run
# failed, 2 bad usage or not root). No PostgreSQL needed.
set -euo pipefail
shopt -s inherit_errexit

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)
readonly REPO
readonly BUILD=$REPO/build/release

cd "$REPO"
echo "run.sh: building $BUILD (RelWithDebInfo, no sanitizers)" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUX_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" -j2 --target bench_sandbox >/dev/null
exec "$BUILD/bin/bench_sandbox" "$@"
