#!/usr/bin/env bash
# run.sh: the test command. Installs dependencies, builds the Debug build with AddressSanitizer
# and UBSan in build/test, and runs every test under ctest. Extra arguments go to ctest, e.g.
#   tests/run.sh -R registry
# The exit code is ctest's.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO
readonly BUILD=build/test

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

# Ninja when it exists, unless the build tree was already configured (its generator is fixed).
generator_args() {
    if [[ ! -f $BUILD/CMakeCache.txt ]] && command -v ninja >/dev/null; then
        printf '%s\n' -G Ninja
    fi
}

configure() {
    local gen
    mapfile -t gen < <(generator_args)
    cmake -S . -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug -DDUX_SANITIZE=ON ||
        die "cmake configure failed"
}

build() {
    cmake --build "$BUILD" -j"$(nproc)" || die "build failed"
}

main() {
    cd "$REPO"
    "$REPO/deploy/install-deps.sh" || die "dependencies are missing (see above)"
    configure
    build
    local rc=0
    ctest --test-dir "$BUILD" --output-on-failure -j2 --timeout 600 "$@" || rc=$?
    exit "$rc"
}

main "$@"
