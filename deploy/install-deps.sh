#!/usr/bin/env bash
# install-deps.sh: install the Debian packages that building, running and testing Dux_OS need.
#
# Fast when nothing is missing (no apt calls at all). As root it installs what is missing; as
# another user it prints the command to run and exits 1.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}

readonly PACKAGES=(
    # build
    build-essential cmake pkg-config git ca-certificates
    libmicrohttpd-dev libcjson-dev libcurl4-openssl-dev libssl-dev libpq-dev libyaml-dev
    libzmq3-dev libsodium-dev libsystemd-dev libstemmer-dev
    # run
    postgresql postgresql-contrib openssl curl libstemmer0d
    # test: unit tests, sanitizers and fuzzing, benchmarks, process and socket tools
    libcmocka-dev clang libclang-rt-14-dev wrk procps iproute2
    # the native sandbox of duxos-tasks: seccomp filters; the interpreters its tests run
    libseccomp-dev python3 util-linux
    # browser tests (playwright-core from npm drives it; node 20 and npm come with the machine)
    chromium
)

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing_packages() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || printf '%s\n' "$pkg"
    done
}

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || die "apt-get update failed"
    apt-get install -y --no-install-recommends "$@" || die "apt-get install failed"
}

main() {
    local missing
    command -v dpkg-query >/dev/null || die "dpkg-query not found: this script supports Debian and its derivatives"
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        note "all ${#PACKAGES[@]} packages are installed"
        return 0
    fi
    note "missing: ${missing[*]}"
    if [[ $EUID -ne 0 ]]; then
        note "run as root:"
        printf '  apt-get update && apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
        exit 1
    fi
    install_packages "${missing[@]}"
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
    note "installed; all ${#PACKAGES[@]} packages are present"
}

main "$@"
