#!/usr/bin/env bash
# install-deps.sh: install the Debian packages that building, running and testing Dux_OS need.
#
# Fast when nothing is missing (no apt calls at all). As root it installs what is missing; as
# another user it prints the command to run and exits 1.
#
#   deploy/install-deps.sh            what building, running and testing need
#   deploy/install-deps.sh --deploy   also the packaging checks' tools (tests/deploy): lintian
#                                     and docker-compose (validates docker/docker-compose.yml)
#   deploy/install-deps.sh --iso      also what building and booting the ISO needs (iso/,
#                                     tests/iso): live-build, cpio and qemu-system-x86
#   deploy/install-deps.sh --ha       also the high-availability test's engines (tests/ha,
#                                     deploy/ha): haproxy and pgbouncer
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}

PACKAGES=(
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
# Only with --deploy: the deployment checks skip what is missing and say so.
readonly DEPLOY_PACKAGES=(lintian docker-compose)
# Only with --iso: iso/build.sh and tests/iso/build_and_boot.sh (live-build brings debootstrap;
# it copies config/includes.binary with cpio, which it does not depend on).
readonly ISO_PACKAGES=(live-build cpio qemu-system-x86 qemu-utils)
# Only with --ha: tests/ha/test_ha.sh (HAProxy in front of two copies of a daemon, PgBouncer in
# front of PostgreSQL); it installs them itself when run as root.
readonly HA_PACKAGES=(haproxy pgbouncer)

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
    local opt
    for opt in "$@"; do
        case $opt in
        --deploy) PACKAGES+=("${DEPLOY_PACKAGES[@]}") ;;
        --iso) PACKAGES+=("${ISO_PACKAGES[@]}") ;;
        --ha) PACKAGES+=("${HA_PACKAGES[@]}") ;;
        *) die "usage: $PROG [--deploy] [--iso] [--ha]" ;;
        esac
    done
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
