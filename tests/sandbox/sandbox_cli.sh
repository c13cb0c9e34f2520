#!/usr/bin/env bash
# sandbox_cli: duxos-sandbox-run end to end: JSON out, exit status by outcome, clear refusals
# of bad options (exit 2 and a message naming the problem). Needs root (exit 77 otherwise).
set -euo pipefail
readonly BIN=$1
readonly PARENT=duxos-sbxcli-$$ BASE=/var/tmp/duxos-sbxcli-$$

if [[ $EUID -ne 0 ]]; then
    printf '\n*** sandbox_cli SKIPPED: the sandbox needs root. ***\n\n' >&2
    exit 77
fi
cleanup() {
    rmdir /sys/fs/cgroup/*/"$PARENT" /sys/fs/cgroup/"$PARENT" "$BASE" 2>/dev/null || true
}
trap cleanup EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
run() { "$BIN" --cgroup-parent "$PARENT" --scratch-base "$BASE" "$@"; }

out=$(run --runtime python --code-text 'import sys; print(sys.stdin.read().upper())' --input-text abc) ||
    fail "python hello exited $?"
[[ $out == *'"reason":"ok"'* && $out == *'"stdout":"ABC\n"'* ]] || fail "python hello: $out"

rc=0; out=$(run --exec /bin/false) || rc=$?
[[ $rc -eq 1 && $out == *'"reason":"nonzero-exit"'* && $out == *'"exit_code":1'* ]] || fail "false: $rc $out"

rc=0; out=$(run --timeout-ms 200 --runtime bash --code-text 'sleep 5') || rc=$?
[[ $rc -eq 1 && $out == *'"reason":"timeout"'* ]] || fail "timeout: $rc $out"

rc=0; out=$(run --exec /nonexistent) || rc=$?
[[ $rc -eq 2 && $out == *'"reason":"setup-failed:exec: No such file or directory"'* ]] || fail "setup: $rc $out"

for bad in "--memory 12q" "--cpu 1.0001" "--pids 0x10" "--runtime ruby" "--timeout-ms -1" "--bogus"; do
    rc=0; err=$(run $bad --exec /bin/true 2>&1 >/dev/null) || rc=$?
    [[ $rc -eq 2 && $err == *duxos-sandbox-run:* ]] || fail "accepted '$bad' (rc $rc): $err"
done
rc=0; err=$(run --runtime bash 2>&1 >/dev/null) || rc=$?
[[ $rc -eq 2 && $err == *"code is missing"* ]] || fail "no code: $rc $err"

out=$(run --sweep) && [[ $out == '{"swept":0}' ]] || fail "sweep of nothing: $out"

left=$(find /sys/fs/cgroup/ -maxdepth 3 -path "*$PARENT/*" -type d | wc -l)
[[ $left -eq 0 && -z $(ls -A "$BASE") ]] || fail "left behind: $left cgroups, $(ls -A "$BASE")"
echo "sandbox_cli: all passed"
