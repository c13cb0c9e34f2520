#!/usr/bin/env bash
# check_units.sh: `systemd-analyze verify` and `systemd-analyze security --offline` on every unit
# of deploy/systemd, in a throwaway root (this machine's stock units plus ours), and prints each
# service's exposure score as the table of deploy/systemd/README.md.
#
#   tests/deploy/check_units.sh [BIN_DIR]
#
# BIN_DIR holds the built daemons (default: build/deploy/bin). verify checks that ExecStart
# names an executable, so a daemon that is not built yet (duxos-tasks, duxos-airdrop) is stood
# in for by an empty executable in the throwaway root, and said so.
# Exit: 0 clean, 1 a unit has findings or scores above the threshold, 77 no systemd-analyze.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
readonly UNITS=$REPO/deploy/systemd
BIN_DIR=${1:-$REPO/build/deploy/bin}
readonly BIN_DIR
# The worst score we accept; systemd calls up to 3.9 "OK" and the executor sits above that.
readonly MAX_EXPOSURE=5.0

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

command -v systemd-analyze >/dev/null || {
    printf '%s: systemd-analyze is missing: skipped\n' "$PROG" >&2
    exit 77
}

ROOT=$(mktemp -d /tmp/duxos-units.XXXXXX)
readonly ROOT
trap 'rm -rf -- "$ROOT"' EXIT

# The throwaway root: stock units (targets, postgresql.service), ours, and the daemons.
mkdir -p "$ROOT/lib/systemd/system" "$ROOT/usr/sbin" "$ROOT/etc/duxos" "$ROOT/tmp"
cp -a /lib/systemd/system/. "$ROOT/lib/systemd/system/"
cp "$UNITS"/*.service "$UNITS"/*.target "$ROOT/lib/systemd/system/"
for unit in "$UNITS"/*.service; do
    bin=$(sed -n 's|^ExecStart=/usr/sbin/\([^ ]*\).*|\1|p' "$unit")
    [[ -n $bin ]] || die "$unit: no ExecStart=/usr/sbin/..."
    [[ -e $ROOT/usr/sbin/$bin ]] && continue
    if [[ -x $BIN_DIR/$bin ]]; then
        cp "$BIN_DIR/$bin" "$ROOT/usr/sbin/"
    else
        printf '%s: %s is not built: verified against a stand-in executable\n' "$PROG" "$bin" >&2
        install -m 755 /dev/null "$ROOT/usr/sbin/$bin"
    fi
done

failed=0
units=()
for unit in "$UNITS"/*.service "$UNITS"/*.target; do
    units+=("/lib/systemd/system/${unit##*/}")
done
# verify prints nothing when every unit is clean; anything printed is a finding.
out=$(cd "$ROOT" && systemd-analyze verify --root="$ROOT" --man=no "${units[@]}" 2>&1) || failed=1
if [[ -n $out ]]; then
    printf '%s\n' "$out" >&2
    failed=1
fi
((failed == 0)) && printf '%s: systemd-analyze verify: %d units clean\n' "$PROG" "${#units[@]}"

printf '\n| unit | exposure | verdict |\n| --- | --- | --- |\n'
for unit in "$UNITS"/*.service; do
    name=${unit##*/}
    line=$(cd "$ROOT" && systemd-analyze security --offline=yes --root="$ROOT" \
        "/lib/systemd/system/$name" 2>&1 | grep 'Overall exposure level') ||
        die "$name: systemd-analyze security gave no score"
    score=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1/p' <<<"$line")
    verdict=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\2/p' <<<"$line")
    # shellcheck disable=SC2016 # the backquotes are Markdown
    printf '| `%s` | %s | %s |\n' "$name" "$score" "$verdict"
    if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
        printf '%s: %s: exposure %s is above %s\n' "$PROG" "$name" "$score" "$MAX_EXPOSURE" >&2
        failed=1
    fi
done
exit "$failed"
