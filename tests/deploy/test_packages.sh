#!/usr/bin/env bash
# test_packages.sh: builds the Debian packages and checks them, without touching this machine.
#
#   tests/deploy/test_packages.sh [--build-dir DIR] [--no-build]
#
#   --build-dir DIR  build tree to package (default build/deploy, configured RelWithDebInfo)
#   --no-build       package what DIR already holds (ctest does this in its own tree)
#
# 1. builds `programs` and `duxos-configs`, runs cpack twice: version N (the project's) and
#    N-1 (N~prev, which dpkg orders before N): the same binaries, two package versions;
# 2. checks the packages' files, conffiles, control fields and maintainer scripts (sh -n, and
#    ShellCheck when present), and lintian's verdict when lintian is installed;
# 3. runs `systemd-analyze verify` on the units as packaged, with the packaged binaries;
# 4. runs every packaged daemon's --check-config on its packaged /etc/duxos file with the
#    environment its unit gives it (credentials made up here);
# 5. as root, in a private mount namespace over a copy-on-write overlay of / (nothing reaches
#    the real system): dpkg -i N-1, edit a conffile, upgrade to N, roll back to N-1, upgrade
#    again, remove, purge; after each step the user, credentials, conffiles and versions.
# Steps 3 and 5 are skipped, and said so, without systemd-analyze or without root/overlayfs.
# The bash -c snippets below take their values as "$1"...: single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
BUILD=$REPO/build/deploy
DO_BUILD=1
PASSED=0
FAILED=0
SKIPPED=0

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
ok() {
    PASSED=$((PASSED + 1))
    printf 'ok   %s\n' "$*"
}
bad() {
    FAILED=$((FAILED + 1))
    printf 'FAIL %s\n' "$*"
}
skip() {
    SKIPPED=$((SKIPPED + 1))
    printf 'skip %s\n' "$*"
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

while (($#)); do
    case $1 in
    --build-dir) BUILD=$(realpath -m -- "$2") && shift 2 ;;
    --no-build) DO_BUILD=0 && shift ;;
    *) die "usage: $PROG [--build-dir DIR] [--no-build]" ;;
    esac
done
readonly BUILD DO_BUILD

WORK=$(mktemp -d /tmp/duxos-pkgtest.XXXXXX)
readonly WORK
trap 'rm -rf -- "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------
# 1. Build and package.

if ((DO_BUILD)); then
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
            die "cmake configure failed"
    fi
    cmake --build "$BUILD" -j2 --target programs duxos-configs >"$WORK/build.log" 2>&1 ||
        { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
RELEASE=$(sed -n 's/^DUX_PACKAGE_RELEASE:STRING=//p' "$BUILD/CMakeCache.txt")
[[ -n $VERSION && -n $RELEASE ]] || die "$BUILD is not a configured Dux_OS build tree"
readonly NEW=$VERSION PREV=$VERSION~prev
readonly NEW_V=$NEW-$RELEASE PREV_V=$PREV-$RELEASE

pack() { # pack VERSION OUTDIR
    mkdir -p "$2"
    (cd "$BUILD" && cpack -G DEB -D CPACK_PACKAGE_VERSION="$1" -D CPACK_PACKAGE_DIRECTORY="$2") \
        >"$2/cpack.log" 2>&1 || { tail -30 "$2/cpack.log" >&2; die "cpack $1 failed"; }
}
pack "$NEW" "$WORK/new"
pack "$PREV" "$WORK/prev"
ARCH=$(dpkg --print-architecture)
readonly DUXOS=$WORK/new/duxos_${NEW_V}_$ARCH.deb DUXCTL=$WORK/new/duxctl_${NEW_V}_$ARCH.deb
readonly DUXOS_PREV=$WORK/prev/duxos_${PREV_V}_$ARCH.deb DUXCTL_PREV=$WORK/prev/duxctl_${PREV_V}_$ARCH.deb
for deb in "$DUXOS" "$DUXCTL" "$DUXOS_PREV" "$DUXCTL_PREV"; do
    [[ -f $deb ]] || die "cpack did not make $deb"
done
ok "cpack made duxos and duxctl at $NEW_V and $PREV_V"
check "dpkg orders $PREV_V before $NEW_V" dpkg --compare-versions "$PREV_V" lt "$NEW_V"

# ---------------------------------------------------------------------------------------------
# 2. Contents, control fields, maintainer scripts.

# The daemons this tree built decide what the package must hold.
DAEMONS=()
for short in registry wallet escrow store tasks airdrop; do
    [[ -x $BUILD/bin/duxos-$short ]] && DAEMONS+=("$short")
done
readonly DAEMONS
((${#DAEMONS[@]} > 0)) || die "no daemon in $BUILD/bin"

dpkg-deb -c "$DUXOS" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/duxos.files"
dpkg-deb -c "$DUXCTL" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/duxctl.files"
expect=(/lib/systemd/system/duxos.target /usr/share/doc/duxos/copyright
    /usr/share/doc/duxos/changelog.Debian.gz /usr/share/doc/duxos/README.systemd.md
    /usr/share/doc/duxos/README.Debian.md)
for short in "${DAEMONS[@]}"; do
    expect+=("/usr/sbin/duxos-$short" "/lib/systemd/system/duxos-$short.service"
        "/etc/duxos/$short.yaml")
done
[[ " ${DAEMONS[*]} " == *" tasks "* ]] &&
    expect+=(/lib/systemd/system/duxos-tasks-executor.service /usr/sbin/duxos-sandbox-run)
missing=()
for f in "${expect[@]}"; do
    grep -qxF "$f" "$WORK/duxos.files" || missing+=("$f")
done
check "duxos holds the ${#DAEMONS[@]} daemons (${DAEMONS[*]}), their units and configs${missing:+ (missing: ${missing[*]})}" \
    test ${#missing[@]} -eq 0
check "duxos holds no secret (nothing under /etc/duxos/credentials)" \
    bash -c '! grep -q "^/etc/duxos/credentials" "$1"' _ "$WORK/duxos.files"
check "duxctl holds /usr/bin/duxctl and nothing of duxos" \
    bash -c 'grep -qx /usr/bin/duxctl "$1" && ! grep -q "sbin\|/etc/\|systemd" "$1"' _ "$WORK/duxctl.files"

dpkg-deb -e "$DUXOS" "$WORK/control"
printf '%s\n' "${DAEMONS[@]}" | sed 's|.*|/etc/duxos/&.yaml|' | sort >"$WORK/conffiles.want"
check "conffiles are exactly /etc/duxos/<daemon>.yaml" \
    cmp -s <(sort "$WORK/control/conffiles") "$WORK/conffiles.want"
depends=$(dpkg-deb -f "$DUXOS" Depends)
for dep in adduser openssl libpq5 libmicrohttpd12 libzmq5 libsystemd0; do
    check "duxos Depends on $dep (shlibdeps and the maintainer scripts)" \
        grep -q "\b$dep\b" <<<"$depends"
done
for script in postinst prerm postrm; do
    check "$script: executable, sh -n" bash -c '[[ -x $1 ]] && sh -n "$1"' _ "$WORK/control/$script"
    if command -v shellcheck >/dev/null; then
        check "$script: shellcheck" shellcheck -s sh "$WORK/control/$script"
    fi
    check "$script: names every packaged unit" \
        bash -c 'for u in $(grep -o "duxos[a-z-]*\.\(service\|target\)" "$2"); do
                     grep -q "UNITS=\".*$u" "$1" || exit 1; done' _ "$WORK/control/$script" "$WORK/duxos.files"
done

if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$DUXOS" "$DUXCTL" >"$WORK/lintian.log" 2>&1 || true
    if grep -q '^[EW]: ' "$WORK/lintian.log"; then
        bad "lintian: errors or warnings"
        grep '^[EW]: ' "$WORK/lintian.log"
    else
        ok "lintian: no error, no warning (overrides: deploy/debian/*.lintian-overrides)"
    fi
else
    skip "lintian is not installed (deploy/install-deps.sh --deploy installs it)"
fi

# ---------------------------------------------------------------------------------------------
# 3. The units as packaged.

ROOT=$WORK/root
mkdir -p "$ROOT/tmp" "$ROOT/lib/systemd"
dpkg-deb -x "$DUXOS" "$ROOT"
if command -v systemd-analyze >/dev/null && [[ -d /lib/systemd/system ]]; then
    # This machine's stock units (targets, postgresql.service) around the packaged ones.
    cp -an /lib/systemd/system/. "$ROOT/lib/systemd/system/"
    mapfile -t units < <(cd "$ROOT" && ls lib/systemd/system/duxos*)
    out=$(cd "$ROOT" && systemd-analyze verify --root="$ROOT" --man=no "${units[@]/#//}" 2>&1) || true
    check "systemd-analyze verify: ${#units[@]} packaged units clean${out:+: $out}" test -z "$out"
else
    skip "systemd-analyze is not installed: units not verified"
fi

# ---------------------------------------------------------------------------------------------
# 4. Each packaged configuration, as its unit runs it.

CRED=$WORK/cred
mkdir -p "$CRED"
openssl genpkey -algorithm ed25519 -out "$WORK/auth.key.pem" 2>/dev/null
openssl pkey -in "$WORK/auth.key.pem" -pubout -out "$WORK/auth.pub.pem"
# Made-up credentials of the kinds the units load: keys where a key is read, text elsewhere.
for unit in "$ROOT"/lib/systemd/system/duxos-*.service; do
    sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' "$unit"
done | sort -u | while read -r id; do
    case $id in
    *-key) openssl genpkey -algorithm ed25519 -out "$CRED/$id" 2>/dev/null ;;
    db-password | rpc-password | escrow-tasks-token) : >"$CRED/$id" ;; # empty = unset
    *) printf 'test-%s\n' "$id" >"$CRED/$id" ;;
    esac
done
for unit in "$ROOT"/lib/systemd/system/duxos-*.service; do
    name=${unit##*/}
    cmd=$(sed -n 's|^ExecStart=||p' "$unit")
    read -r bin _ cfg <<<"$cmd"
    env=(DUXOS_AUTH_PUBLIC_KEY_FILE="$WORK/auth.pub.pem")
    while IFS= read -r line; do
        env+=("${line//%d/$CRED}")
    done < <(sed -n 's/^Environment=//p' "$unit")
    if out=$(env -i PATH=/usr/bin:/bin "${env[@]}" "$ROOT$bin" --check-config --config "$ROOT$cfg" 2>&1); then
        ok "$name: $bin --check-config $cfg with the unit's environment"
    else
        bad "$name: $bin --check-config $cfg with the unit's environment"
        printf '%s\n' "$out" | tail -5
    fi
done

# ---------------------------------------------------------------------------------------------
# 5. dpkg: install, upgrade, rollback, remove, purge, in a throwaway overlay of /.

# Runs inside the overlay root (chroot), as root. Every check prints ok/FAIL lines.
mkdir -p "$WORK/pkgs"
cat >"$WORK/pkgs/in-root.sh" <<'EOF'
set -u
P=/pkgs
fails=0
t() { if eval "$2"; then echo "ok   dpkg: $1"; else echo "FAIL dpkg: $1"; fails=$((fails+1)); fi; }
version() { dpkg-query -W -f='${Version} ${db:Status-Status}' "$1" 2>/dev/null; }
cred_sums() { (cd /etc/duxos/credentials && sha256sum -- *) 2>/dev/null; }
export DEBIAN_FRONTEND=noninteractive
# Start as a machine that never had the package: no user duxos (the local cluster makes one).
userdel duxos >/dev/null 2>&1; groupdel duxos >/dev/null 2>&1; rm -rf /etc/duxos
dpkg -i $P/prev/duxos_*.deb $P/prev/duxctl_*.deb >/tmp/dpkg.log 2>&1 || cat /tmp/dpkg.log
t "install $PREV_V" '[ "$(version duxos)" = "$PREV_V installed" ] && [ "$(version duxctl)" = "$PREV_V installed" ]'
t "system user duxos made (uid below 1000, no login shell)" \
  'u=$(getent passwd duxos) && [ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] && case $(echo "$u" | cut -d: -f7) in */nologin|/bin/false) true;; *) false;; esac'
t "/etc/duxos/credentials is 0700 root, its files 0600 root" \
  '[ "$(stat -c %a:%U /etc/duxos/credentials)" = 700:root ] && ! find /etc/duxos/credentials -type f ! -perm 600 | grep -q . && ! find /etc/duxos/credentials ! -user root | grep -q .'
t "wallet passphrase generated, audit and node keys are Ed25519" \
  '[ -s /etc/duxos/credentials/wallet-passphrase ] && for k in escrow-audit-key airdrop-audit-key node-key; do openssl pkey -in /etc/duxos/credentials/$k -noout 2>/dev/null || exit 1; done'
t "tokens left empty for the operator" '[ ! -s /etc/duxos/credentials/escrow-wallet-token ]'
t "duxctl runs" 'duxctl --version >/dev/null'
echo "# operator's edit" >>/etc/duxos/registry.yaml
before=$(cred_sums)
dpkg -i --force-confold $P/new/duxos_*.deb $P/new/duxctl_*.deb >/tmp/dpkg.log 2>&1 || cat /tmp/dpkg.log
t "upgrade $PREV_V -> $NEW_V" '[ "$(version duxos)" = "$NEW_V installed" ] && [ "$(version duxctl)" = "$NEW_V installed" ]'
t "upgrade kept the edited conffile" 'tail -1 /etc/duxos/registry.yaml | grep -q "operator.s edit"'
t "upgrade kept every credential" '[ "$(cred_sums)" = "$before" ]'
dpkg -i --force-confold $P/prev/duxos_*.deb $P/prev/duxctl_*.deb >/tmp/dpkg.log 2>&1 || cat /tmp/dpkg.log
t "rollback $NEW_V -> $PREV_V (dpkg warns: downgrading)" '[ "$(version duxos)" = "$PREV_V installed" ] && grep -q "downgrading" /tmp/dpkg.log'
t "rollback kept the edited conffile and every credential" 'tail -1 /etc/duxos/registry.yaml | grep -q "operator.s edit" && [ "$(cred_sums)" = "$before" ]'
dpkg -i --force-confold $P/new/duxos_*.deb $P/new/duxctl_*.deb >/tmp/dpkg.log 2>&1 || cat /tmp/dpkg.log
t "upgrade again to $NEW_V" '[ "$(version duxos)" = "$NEW_V installed" ]'
dpkg -r duxos >/tmp/dpkg.log 2>&1 || cat /tmp/dpkg.log
t "remove: binaries and units gone, configs and credentials kept" \
  '[ "$(version duxos)" = "$NEW_V config-files" ] && [ ! -e /usr/sbin/duxos-registry ] && [ ! -e /lib/systemd/system/duxos.target ] && [ -f /etc/duxos/registry.yaml ] && [ "$(cred_sums)" = "$before" ]'
dpkg -P duxos >/tmp/dpkg.log 2>&1 || cat /tmp/dpkg.log
t "purge: configs and user gone, credentials kept (and said so)" \
  '[ -z "$(version duxos)" ] && [ ! -e /etc/duxos/registry.yaml ] && ! getent passwd duxos >/dev/null && [ "$(cred_sums)" = "$before" ] && grep -q "kept /etc/duxos/credentials" /tmp/dpkg.log'
exit $fails
EOF

overlay_test() {
    local r=$WORK/ov
    mkdir -p "$r/upper" "$r/work" "$r/root" "$WORK/pkgs/new" "$WORK/pkgs/prev"
    cp "$DUXOS" "$DUXCTL" "$WORK/pkgs/new/"
    cp "$DUXOS_PREV" "$DUXCTL_PREV" "$WORK/pkgs/prev/"
    # The overlay's writes land in $r/upper; the namespace, and the mounts with it, end with
    # the command. /proc is private to the chroot's view (userdel and dpkg read it).
    unshare --mount --propagation private -- bash -c '
        set -e
        r=$1 work=$2
        mount -t overlay overlay -o "lowerdir=/,upperdir=$r/upper,workdir=$r/work" "$r/root"
        mkdir -p "$r/root/pkgs"
        mount --bind "$work/pkgs" "$r/root/pkgs"
        mount -t proc proc "$r/root/proc"
        mount --rbind /dev "$r/root/dev"
        exec chroot "$r/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            NEW_V="$3" PREV_V="$4" sh /pkgs/in-root.sh
    ' _ "$r" "$WORK" "$NEW_V" "$PREV_V"
}

if [[ $EUID -ne 0 ]]; then
    skip "dpkg install/upgrade/rollback/purge: needs root (mount namespace, overlayfs)"
elif ! command -v unshare >/dev/null || ! grep -qw overlay /proc/filesystems; then
    skip "dpkg install/upgrade/rollback/purge: needs unshare and overlayfs"
else
    overlay_test >"$WORK/overlay.log" 2>&1 || true
    cat "$WORK/overlay.log"
    PASSED=$((PASSED + $(grep -c '^ok ' "$WORK/overlay.log" || true)))
    FAILED=$((FAILED + $(grep -c '^FAIL ' "$WORK/overlay.log" || true)))
    grep -q '^ok   dpkg: purge' "$WORK/overlay.log" || {
        grep -q '^FAIL dpkg: purge' "$WORK/overlay.log" || bad "dpkg: the overlay test did not run to its end"
    }
fi

# ---------------------------------------------------------------------------------------------
# 6. Rollback and the schema: a binary of N-1 must start on a database that N migrated. The
# runner applies its own migrations that are missing and ignores newer ones it does not know;
# N's additive change (a new column, its migration recorded) is simulated here by hand on a
# private cluster, and the packaged registry must start and answer /readyz.

schema_test() {
    local pg=$1 port bin=$ROOT/usr/sbin/duxos-registry pid code="" i
    "$REPO/deploy/local/pgctl.sh" init "$pg" >"$WORK/pg.log" 2>&1 || return 2
    # shellcheck source=/dev/null
    source "$pg/env"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    start_registry() {
        env -i PATH=/usr/bin:/bin DUXOS_DB_CONNINFO="$DUX_PG_CONNINFO" \
            DUXOS_DB_PASSWORD_FILE="$DUX_PG_PASSWORD_FILE" DUXOS_HTTP_PORT="$port" \
            DUXOS_BUS_ENDPOINT= "$bin" >>"$WORK/registry.log" 2>&1 &
        pid=$!
        code=""
        for ((i = 0; i < 100; i++)); do
            code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") || true
            [[ $code == 200 ]] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    }
    stop_registry() { kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; }
    start_registry
    check "schema: the registry migrates a new database (/readyz $code)" test "$code" = 200
    stop_registry || true
    "$REPO/deploy/local/pgctl.sh" psql "$pg" -q -v ON_ERROR_STOP=1 -c \
        "ALTER TABLE registry.nodes ADD COLUMN future_note text;
         INSERT INTO registry.schema_migrations (name) VALUES ('999_future.sql');" \
        >>"$WORK/pg.log" 2>&1 || return 2
    start_registry
    check "schema: the same binary (N-1) starts on the schema of N (/readyz $code)" test "$code" = 200
    stop_registry || true
}

if [[ ! -x $ROOT/usr/sbin/duxos-registry ]] || ! command -v curl python3 >/dev/null; then
    skip "schema rollback: no packaged duxos-registry, curl or python3"
elif [[ ! -x /usr/lib/postgresql/15/bin/initdb && -z ${DUXOS_PG_BIN:-} ]]; then
    skip "schema rollback: PostgreSQL 15 is not installed"
else
    PG=$(mktemp -u /tmp/duxos-pkgtest-pg.XXXXXX)
    trap 'rm -rf -- "$WORK"; "$REPO/deploy/local/pgctl.sh" destroy "$PG" >/dev/null 2>&1 || true' EXIT
    rc=0
    schema_test "$PG" || rc=$?
    ((rc != 2)) || { bad "schema rollback: the private PostgreSQL failed"; tail -5 "$WORK/pg.log"; }
fi

printf '\n%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
((FAILED == 0))
