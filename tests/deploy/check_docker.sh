#!/usr/bin/env bash
# check_docker.sh: what can be checked of docker/ without a Docker engine.
#
#   tests/deploy/check_docker.sh [BIN_DIR]
#
# BIN_DIR holds the built daemons and duxctl (default: build/deploy/bin).
# 1. docker/make-secrets.sh makes every secret the compose file names (in a copy of docker/);
# 2. the compose file validates: `docker compose config` when the Compose plugin exists, else
#    `docker-compose config` (Debian 12's 1.29), else skipped and said so;
# 3. each docker/config/*.yaml passes its daemon's --check-config, with /run/secrets/ pointing
#    at the secrets of step 1 and the environment the image sets;
# 4. the Dockerfile's build stage installs the build packages of deploy/install-deps.sh, and its
#    runtime stage every package whose libraries the built binaries load (ldd + dpkg -S).
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
BIN=${1:-$REPO/build/deploy/bin}
readonly BIN
PASSED=0
FAILED=0
SKIPPED=0
ok() { PASSED=$((PASSED + 1)) && printf 'ok   %s\n' "$*"; }
bad() { FAILED=$((FAILED + 1)) && printf 'FAIL %s\n' "$*"; }
skip() { SKIPPED=$((SKIPPED + 1)) && printf 'skip %s\n' "$*"; }

[[ -x $BIN/duxctl ]] || { printf '%s: no %s/duxctl: build first\n' "$PROG" "$BIN" >&2 && exit 1; }
WORK=$(mktemp -d /tmp/duxos-dockertest.XXXXXX)
readonly WORK
trap 'rm -rf -- "$WORK"' EXIT
cp -r "$REPO/docker" "$WORK/docker"
rm -rf "$WORK/docker/secrets"

# 1. Secrets.
if DUXCTL=$BIN/duxctl "$WORK/docker/make-secrets.sh" >"$WORK/secrets.log" 2>&1; then
    ok "make-secrets.sh made the secrets"
else
    bad "make-secrets.sh" && cat "$WORK/secrets.log"
fi
missing=$(sed -n 's|.*{file: \./secrets/\([^}]*\)}.*|\1|p' "$WORK/docker/docker-compose.yml" |
    while read -r f; do [[ -s $WORK/docker/secrets/$f ]] || printf '%s ' "$f"; done)
if [[ -z $missing ]]; then ok "every secret of docker-compose.yml exists"; else bad "secrets missing: $missing"; fi

# 2. The compose file.
compose=()
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose=(docker-compose)
fi
if ((${#compose[@]})); then
    if (cd "$WORK/docker" && "${compose[@]}" -p duxos -f docker-compose.yml config -q) >"$WORK/compose.log" 2>&1 &&
        ! grep -qi 'ignored\|unsupported' "$WORK/compose.log"; then
        ok "${compose[*]} config: docker-compose.yml is valid ($("${compose[@]}" version --short 2>/dev/null || true))"
    else
        bad "${compose[*]} config" && cat "$WORK/compose.log"
    fi
    services=$(cd "$WORK/docker" && "${compose[@]}" -p duxos -f docker-compose.yml config --services | sort | tr '\n' ' ')
    want="airdrop escrow postgres provider registry store tasks wallet "
    if [[ $services == "$want" ]]; then ok "services: $services"; else bad "services: $services (want $want)"; fi
else
    skip "no docker compose plugin and no docker-compose: the compose file was not validated"
fi

# 3. The configurations, as the containers read them.
openssl genpkey -algorithm ed25519 -out "$WORK/node-key" 2>/dev/null
for cfg in "$WORK"/docker/config/*.yaml; do
    name=${cfg##*/}
    short=${name%.yaml}
    env=()
    if [[ $short == provider ]]; then
        short=tasks
        # The provider image's environment (docker/Dockerfile).
        env=(DUXOS_TASKS_ROLE=executor DUXOS_HTTP_BIND=127.0.0.1 DUXOS_HTTP_PORT=8115 DUXOS_BUS_ENDPOINT=)
    fi
    sed -e "s|/run/secrets/|$WORK/docker/secrets/|" -e "s|/var/lib/duxos/node-key|$WORK/node-key|" \
        "$cfg" >"$WORK/$name"
    if [[ ! -x $BIN/duxos-$short ]]; then
        skip "$name: duxos-$short is not built"
    elif out=$(env -i PATH=/usr/bin:/bin "${env[@]}" "$BIN/duxos-$short" --check-config --config "$WORK/$name" 2>&1); then
        ok "docker/config/$name: duxos-$short --check-config"
    else
        bad "docker/config/$name: duxos-$short --check-config" && printf '%s\n' "$out" | tail -3
    fi
done

# 4. The Dockerfile's package lists.
stage_packages() { # the apt-get install list of the stage named $1
    awk -v s="$1" '$1 == "FROM" { on = ($NF == s) } on' "$REPO/docker/Dockerfile" |
        sed -n '/apt-get install/,/rm -rf/p' | tr -s ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
        grep -vxE 'apt-get|install|rm|rf|update' | sort -u
}
stage_packages build >"$WORK/build.pkgs"
stage_packages runtime >"$WORK/runtime.pkgs"
# The build section of install-deps.sh: from "# build" to "# run", less git (the context is
# copied, not cloned).
sed -n '/^ *# build$/,/^ *# run$/p' "$REPO/deploy/install-deps.sh" | grep -v '^ *#' |
    tr ' ' '\n' | grep -E '^[a-z0-9]' | grep -vx git | sort -u >"$WORK/deps.pkgs"
missing=$(comm -23 "$WORK/deps.pkgs" "$WORK/build.pkgs" | tr '\n' ' ')
if [[ -z $missing ]]; then
    ok "Dockerfile build stage has the build packages of deploy/install-deps.sh"
else
    bad "Dockerfile build stage lacks: $missing"
fi
# Libraries those pull in themselves come with them; the Dockerfile must name the direct ones.
direct=$(for f in "$BIN"/duxos-* "$BIN/duxctl"; do
    [[ -x $f ]] && objdump -p "$f" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }'
done | sort -u)
missing=""
for soname in $direct; do
    # awk reads to the end: leaving early would SIGPIPE the writer under pipefail.
    path=$(ldconfig -p | awk -v s="$soname" '$1 == s && !n++ { print $NF }')
    [[ -n $path ]] || continue
    pkg=$(dpkg -S "$(realpath "$path")" 2>/dev/null | awk -F: 'NR == 1 { print $1 }') || true
    # libc comes with the base image; the sanitizers' runtimes only with a -fsanitize build.
    [[ -z $pkg || $pkg =~ ^(libc6|libgcc-s1|lib(a|ub|l|t)san[0-9]*)$ ]] && continue
    grep -qx "$pkg" "$WORK/runtime.pkgs" || missing+="$pkg ($soname) "
done
if [[ -z $missing ]]; then
    ok "Dockerfile runtime stage has every library the binaries link directly"
else
    bad "Dockerfile runtime stage lacks: $missing"
fi

for s in "$REPO/docker/make-secrets.sh" "$REPO/docker/provider-entrypoint.sh"; do
    if command -v shellcheck >/dev/null; then
        if shellcheck "$s"; then ok "shellcheck ${s#"$REPO"/}"; else bad "shellcheck ${s#"$REPO"/}"; fi
    fi
done

printf '\n%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
((FAILED == 0))
