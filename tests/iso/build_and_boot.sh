#!/usr/bin/env bash
# build_and_boot.sh: builds Dux_OS.iso and boots it under QEMU; passes when the registry inside
# answers through a forwarded port. Not part of the default test run (not in ctest): it installs
# packages, needs root and takes a long time (TCG, no KVM needed).
#
#   sudo tests/iso/build_and_boot.sh [--no-build] [--iso FILE] [--build-dir DIR]
#                                    [--timeout SECONDS] [--port PORT] [--accel tcg|kvm]
#                                    [--keep]
#
#   --no-build         boot the ISO that is there (default build/iso/Dux_OS.iso)
#   --timeout SECONDS  how long the boot may take to answer (default 3600)
#   --port PORT        the host port forwarded to the guest's 8101 (default 18101); PORT+1
#                      goes to a guest port the firewall must block (9999)
#   --accel            QEMU's accelerator (default tcg: the slow, always-there one)
#   --keep             leave the work directory (serial log) in place
#
# Steps, each timed:
#   1. deploy/install-deps.sh --iso (live-build, QEMU);
#   2. iso/build.sh (the packages, lb build);
#   3. qemu-system-x86_64 -m 2048, the ISO as a CD, user networking with
#      hostfwd=tcp:127.0.0.1:PORT-:8101, the serial console on a unix socket (logged to a file);
#   4. waits until GET /readyz on 127.0.0.1:PORT answers 200, then until GET /v1/nodes answers
#      200 listing this node (duxos-register has registered it);
#   5. logs in on the serial console (the live user) and checks: the first boot's second run
#      changes nothing, the units of the role are active, the firewall's ruleset is loaded, and
#      a server on a port the firewall does not admit cannot be reached from outside;
#   6. shuts the VM down (ACPI, then quit) and prints the timings.
# Exit 0 only when all of that happened.
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
HERE=$REPO/tests/iso
readonly HERE

BUILD=$REPO/build/iso
ISO=
DO_BUILD=1
TIMEOUT=3600
PORT=18101
ACCEL=tcg
KEEP=0
FAILED=0
QEMU_PID=

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
ok() { printf 'ok   %s\n' "$*"; }
bad() {
    FAILED=$((FAILED + 1))
    printf 'FAIL %s\n' "$*"
}

while (($#)); do
    case $1 in
    --no-build) DO_BUILD=0 && shift ;;
    --iso) ISO=$(realpath -m -- "${2:?}") && shift 2 ;;
    --build-dir) BUILD=$(realpath -m -- "${2:?}") && shift 2 ;;
    --timeout) TIMEOUT=${2:?} && shift 2 ;;
    --port) PORT=${2:?} && shift 2 ;;
    --accel) ACCEL=${2:?} && shift 2 ;;
    --keep) KEEP=1 && shift ;;
    *) die "usage: $PROG [--no-build] [--iso FILE] [--build-dir DIR] [--timeout S] [--port P] [--accel tcg|kvm] [--keep]" ;;
    esac
done
ISO=${ISO:-$BUILD/Dux_OS.iso}
readonly BUILD ISO DO_BUILD TIMEOUT PORT ACCEL KEEP
readonly BLOCKED_PORT=$((PORT + 1))

[[ $EUID -eq 0 ]] || die "run as root (installing packages, live-build)"
WORK=$(mktemp -d /tmp/duxos-isotest.XXXXXX)
readonly WORK
readonly SERIAL_LOG=$WORK/serial.log SERIAL_SOCK=$WORK/serial.sock MON_SOCK=$WORK/monitor.sock

cleanup() {
    if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    if ((KEEP)); then
        note "kept $WORK (serial.log, qemu.log)"
    else
        rm -rf -- "$WORK"
    fi
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

monitor() { # monitor COMMAND: one HMP command on QEMU's monitor socket
    python3 - "$MON_SOCK" "$1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
time.sleep(0.5)
s.close()
PY
}

# ---------------------------------------------------------------------------------------------
# 1-2. Dependencies and the image.

T0=$SECONDS
"$REPO/deploy/install-deps.sh" --iso || die "deploy/install-deps.sh --iso failed"
T_DEPS=$((SECONDS - T0))

T_BUILD=0
if ((DO_BUILD)); then
    T0=$SECONDS
    "$REPO/iso/build.sh" --build-dir "$BUILD" --out "$ISO" || die "iso/build.sh failed"
    T_BUILD=$((SECONDS - T0))
    ok "iso/build.sh built $ISO in ${T_BUILD} s"
fi
[[ -s $ISO ]] || die "no ISO at $ISO (drop --no-build)"
ISO_MB=$(du -m "$ISO" | cut -f1)
ok "the ISO is $ISO_MB MiB"

# ---------------------------------------------------------------------------------------------
# 3. Boot.

port_free "$PORT" || die "port $PORT is taken on this host (--port)"
port_free "$BLOCKED_PORT" || die "port $BLOCKED_PORT is taken on this host (--port)"
T_BOOT0=$SECONDS
qemu-system-x86_64 -machine q35,accel="$ACCEL" -cpu max -smp 2 -m 2048 \
    -cdrom "$ISO" -boot d \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:8101,hostfwd=tcp:127.0.0.1:$BLOCKED_PORT-:9999" \
    -device virtio-net-pci,netdev=n0 \
    -display none -vga std \
    -chardev "socket,id=s0,path=$SERIAL_SOCK,server=on,wait=off,logfile=$SERIAL_LOG" \
    -serial chardev:s0 \
    -monitor "unix:$MON_SOCK,server=on,wait=off" \
    >"$WORK/qemu.log" 2>&1 &
QEMU_PID=$!
note "QEMU ($ACCEL) started, pid $QEMU_PID; serial log $SERIAL_LOG"

# ---------------------------------------------------------------------------------------------
# 4. The registry through the forwarded port.

http_code() { curl -s -o "${2:-/dev/null}" -w '%{http_code}' --max-time 10 "$1" 2>/dev/null || true; }

T_READY=
last_report=$SECONDS
while ((SECONDS - T_BOOT0 < TIMEOUT)); do
    kill -0 "$QEMU_PID" 2>/dev/null || { cat "$WORK/qemu.log" >&2; die "QEMU exited"; }
    if [[ $(http_code "http://127.0.0.1:$PORT/readyz") == 200 ]]; then
        T_READY=$((SECONDS - T_BOOT0))
        break
    fi
    if ((SECONDS - last_report >= 60)); then
        last_report=$SECONDS
        note "$((SECONDS - T_BOOT0)) s: not ready yet; console: $(tail -c 2000 "$SERIAL_LOG" 2>/dev/null | tr -d '\r' | grep -a . | tail -n 1 | cut -c1-120)"
    fi
    sleep 5
done
if [[ -z $T_READY ]]; then
    bad "the registry's /readyz did not answer 200 on 127.0.0.1:$PORT within $TIMEOUT s"
    tail -n 60 "$SERIAL_LOG" | tr -d '\r' >&2 || true
else
    ok "GET /readyz answered 200 through hostfwd $PORT->8101, $T_READY s after QEMU started"
fi

T_NODES=
if [[ -n $T_READY ]]; then
    while ((SECONDS - T_BOOT0 < TIMEOUT)); do
        if [[ $(http_code "http://127.0.0.1:$PORT/v1/nodes" "$WORK/nodes.json") == 200 ]] &&
            grep -q '"node_id"' "$WORK/nodes.json"; then
            T_NODES=$((SECONDS - T_BOOT0))
            break
        fi
        sleep 5
    done
    if [[ -n $T_NODES ]]; then
        ok "GET /v1/nodes answered 200 with the registered node, $T_NODES s after QEMU started: $(head -c 300 "$WORK/nodes.json")"
    else
        bad "GET /v1/nodes did not list a node within $TIMEOUT s (last: $(head -c 300 "$WORK/nodes.json" 2>/dev/null))"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 5. Inside: idempotent first boot, the units, the firewall.

if [[ -n $T_READY ]]; then
    # The live user (live-config: user/live, passwordless sudo). A server on 9999, which the
    # firewall does not admit, is started for the reachability check below. The commands run
    # in the guest's shell: single quotes on purpose.
    # shellcheck disable=SC2016
    if python3 "$HERE/serial.py" "$SERIAL_SOCK" user live --timeout 300 \
        'sudo /usr/lib/duxos/firstboot setup 2>&1 | tail -n 3' \
        'sudo /usr/lib/duxos/firstboot status 2>&1 | grep -v "^$" | head -n 20' \
        'systemctl is-active duxos.target duxos-firstboot duxos-register duxos-registry duxos-wallet duxos-escrow duxos-store duxos-tasks duxos-airdrop duxos-tasks-executor nftables | tr "\n" " "' \
        'systemctl is-enabled nftables duxos.target duxos-firstboot | tr "\n" " "' \
        'sudo nft list ruleset | grep -E "policy|dport"' \
        'sudo ls -l /etc/duxos/credentials | tail -n +2 | awk "{print \$1, \$5, \$9}"' \
        'ip -4 -o addr show scope global | awk "{print \$2, \$4}"' \
        'curl -s -o /dev/null -w "%{http_code}\n" http://127.0.0.1:8115/healthz' \
        'for p in 8101 8102 8103 8104 8105 8106; do printf "%s:%s " $p $(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$p/readyz); done; echo' \
        'cd /tmp && (setsid python3 -m http.server 9999 >/dev/null 2>&1 &) ; for i in $(seq 60); do curl -s -o /dev/null http://127.0.0.1:9999/ && break; sleep 1; done; curl -s -o /dev/null -w "local 9999: %{http_code}\n" http://127.0.0.1:9999/' \
        >"$WORK/inside.txt" 2>"$WORK/inside.err"; then
        ok "logged in on the serial console and ran the checks"
    else
        bad "the serial console session failed: $(cat "$WORK/inside.err")"
    fi
    sed 's/^/    /' "$WORK/inside.txt"
    # the second run of the first boot changed nothing
    if grep -q 'firstboot: nothing to change' "$WORK/inside.txt"; then
        ok "a second run of duxos-firstboot changes nothing"
    else
        bad "the second run of duxos-firstboot changed something (above)"
    fi
    active=$(awk '/^### CMD systemctl is-active/{getline; print; exit}' "$WORK/inside.txt")
    read -r -a states <<<"$active"
    if ((${#states[@]} == 11)) && [[ " ${states[*]} " != *" failed "* &&
        " ${states[*]} " != *" inactive "* ]]; then
        ok "duxos.target, the first boot, registration, the 7 daemons and nftables are active"
    else
        bad "not every unit is active: $active"
    fi
    if grep -q 'policy drop' "$WORK/inside.txt" && grep -q 'dport 8101-8106' "$WORK/inside.txt"; then
        ok "the firewall is loaded: policy drop, tcp 8101-8106 admitted"
    else
        bad "the firewall ruleset is not the expected one"
    fi
    if grep -q 'local 9999: 200' "$WORK/inside.txt"; then
        code=$(http_code "http://127.0.0.1:$BLOCKED_PORT/")
        if [[ $code == 000 ]]; then
            ok "a server on guest port 9999 answers locally but not through hostfwd $BLOCKED_PORT (dropped)"
        else
            bad "guest port 9999 answered $code from outside: the firewall does not block it"
        fi
    else
        bad "the test server on guest port 9999 did not start"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 6. Shut down.

T0=$SECONDS
monitor system_powerdown >/dev/null 2>&1 || true
for ((i = 0; i < 120; i++)); do
    kill -0 "$QEMU_PID" 2>/dev/null || break
    sleep 1
done
if kill -0 "$QEMU_PID" 2>/dev/null; then
    note "no ACPI shutdown within 120 s: quitting QEMU"
    monitor quit >/dev/null 2>&1 || kill "$QEMU_PID" 2>/dev/null || true
fi
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
T_DOWN=$((SECONDS - T0))
ok "VM stopped (${T_DOWN} s)"

cp -f "$SERIAL_LOG" "$BUILD/last-boot-serial.log" 2>/dev/null || true
printf '\nTimings (accelerator %s): install-deps %s s, build %s s, ISO %s MiB, QEMU start to /readyz 200 %s s, to the node listed %s s, shutdown %s s\n' \
    "$ACCEL" "$T_DEPS" "$T_BUILD" "$ISO_MB" "${T_READY:--}" "${T_NODES:--}" "$T_DOWN"
printf 'serial log: %s\n' "$BUILD/last-boot-serial.log"
if ((FAILED)); then
    printf '%s: %d check(s) failed\n' "$PROG" "$FAILED"
    exit 1
fi
printf '%s: all checks passed\n' "$PROG"
