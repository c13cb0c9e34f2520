#!/usr/bin/env bash
# daemon_config.sh: the contract between duxos-NAME and deploy/config/NAME.yaml.
#
#   daemon_config.sh NAME BINARY SOURCE_DIR
#
# - the file passes --check-config;
# - every key --print-defaults prints is in the file, and every key of the file is one of them;
# - an unknown key is refused with exit status 78 and a message naming file:line and the key;
# - the environment overrides the file, and a secret can come from DUXOS_<KEY>_FILE.
#
# The daemon runs in a scratch directory standing for the repository root, where up.sh runs it:
# a secret file the configuration names by a relative path (wallet.passphrase_file:
# var/keys/wallet.passphrase, which up.sh generates) is there as a stand-in, and so is a private
# key file named by a relative path (escrow.audit_key_file: a temporary Ed25519 key made with
# openssl).
set -euo pipefail
shopt -s inherit_errexit

[[ $# -eq 3 ]] || { printf 'usage: %s NAME BINARY SOURCE_DIR\n' "${0##*/}" >&2; exit 2; }
NAME=$1 BIN=$(realpath -m -- "$2") SRC=$(realpath -m -- "$3")
readonly NAME BIN SRC
# shellcheck source=tests/contract/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly CONFIG=$SRC/deploy/config/$NAME.yaml
readonly EX_CONFIG=78

[[ -x $BIN ]] || die "$BIN is not built"
[[ -f $CONFIG ]] || die "$CONFIG is missing"
clear_duxos_env
TMP=$(mktemp -d "${TMPDIR:-/tmp}/contract-config.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT

ROOT=$TMP/root
mkdir -p "$ROOT"

# Runs the daemon with ARGS in ROOT; sets OUT, ERR (file contents) and RC.
run() {
    RC=0
    (cd "$ROOT" && "$@") >"$TMP/out" 2>"$TMP/err" || RC=$?
    OUT=$(<"$TMP/out")
    ERR=$(<"$TMP/err")
}

# 0. Stand-ins for the secret files named relative to the repository root: <key>_file entries
#    whose <key> is an option (and <key>_file is not); and for the private keys named relative
#    to it: options <x>key_file (not public_key_file), which get an Ed25519 key from openssl.
run "$BIN" --print-defaults
[[ $RC -eq 0 ]] || die "--print-defaults exited $RC: $ERR"
printf '%s\n' "$OUT" >"$TMP/defaults.yaml"
config_keys "$TMP/defaults.yaml" | sort >"$TMP/default-keys"
while IFS= read -r key; do
    [[ $key == *_file ]] || continue
    if grep -qxF -- "$key" "$TMP/default-keys"; then
        [[ $key == *key_file && $key != *public_key_file ]] || continue
        kind=key
    else
        grep -qxF -- "${key%_file}" "$TMP/default-keys" || continue
        kind=secret
    fi
    section=${key%%.*} name=${key#*.}
    path=$(awk -v s="$section" -v k="$name" '
        /^[A-Za-z_][A-Za-z0-9_]*:[[:space:]]*$/ { cur = $0; sub(/:.*/, "", cur); next }
        /^[^[:space:]#]/ { cur = "" }
        cur == s && $0 ~ "^  " k ":" { v = $0; sub(/^[^:]*:[[:space:]]*/, "", v); gsub(/^"|"[[:space:]]*$/, "", v); print v }
    ' "$CONFIG")
    [[ -n $path && $path != /* ]] || continue
    mkdir -p "$ROOT/$(dirname -- "$path")"
    if [[ $kind == key ]]; then
        openssl genpkey -algorithm ed25519 -out "$ROOT/$path" 2>"$TMP/openssl.err" ||
            die "$key: openssl could not make an Ed25519 key: $(<"$TMP/openssl.err")"
    else
        printf 'contract-test-secret\n' >"$ROOT/$path"
    fi
    note "$key: a stand-in for $path, which up.sh makes"
done < <(config_keys "$CONFIG")

# 1. The file is valid as it is.
run "$BIN" --check-config --config "$CONFIG"
if [[ $RC -ne 0 ]]; then
    fail "--check-config --config $CONFIG exited $RC: $ERR"
elif [[ $(head -n 1 <<<"$OUT") != "# duxos-$NAME: configuration is valid" ]]; then
    fail "--check-config printed an unexpected first line: $(head -n 1 <<<"$OUT")"
else
    note "--check-config accepts $CONFIG"
fi

# 2. The same keys as the daemon's table, no more, no fewer.
mapfile -t defaults < <(config_keys "$TMP/defaults.yaml" | sort)
((${#defaults[@]} > 0)) || die "no keys parsed from --print-defaults"
# A secret KEY may be set as KEY_file: it counts as KEY.
mapfile -t in_file < <(config_keys "$CONFIG" | while read -r key; do
    if [[ $key == *_file ]] && ! grep -qxF -- "$key" <<<"$(printf '%s\n' "${defaults[@]}")" &&
        grep -qxF -- "${key%_file}" <<<"$(printf '%s\n' "${defaults[@]}")"; then
        key=${key%_file}
    fi
    printf '%s\n' "$key"
done | sort)
for key in $(comm -23 <(printf '%s\n' "${defaults[@]}") <(printf '%s\n' "${in_file[@]}")); do
    fail "key $key (from --print-defaults) is missing from $CONFIG"
done
for key in $(comm -13 <(printf '%s\n' "${defaults[@]}") <(printf '%s\n' "${in_file[@]}")); do
    fail "key $key in $CONFIG is not an option of duxos-$NAME"
done
dups=$(config_keys "$CONFIG" | sort | uniq -d)
[[ -z $dups ]] || fail "keys set twice in $CONFIG: $dups"
note "${#defaults[@]} keys of --print-defaults, ${#in_file[@]} in $CONFIG"

# 3. An unknown key: exit 78, and the message names file:line and the full key.
last_section=$(grep -E '^[A-Za-z_][A-Za-z0-9_]*:[[:space:]]*$' "$CONFIG" | tail -n 1 | sed 's/:.*//')
cp -- "$CONFIG" "$TMP/bogus.yaml"
printf '  no_such_key: 1\n' >>"$TMP/bogus.yaml"
line=$(wc -l <"$TMP/bogus.yaml")
run "$BIN" --check-config --config "$TMP/bogus.yaml"
want="$TMP/bogus.yaml:$line: $last_section.no_such_key: unknown key"
if [[ $RC -ne $EX_CONFIG ]]; then
    fail "an unknown key: exit status $RC, expected $EX_CONFIG"
elif [[ $ERR != *"$want"* ]]; then
    fail "an unknown key: expected \"$want\" in: $ERR"
else
    note "an unknown key is refused: $ERR"
fi
printf 'http:\n  port: 8080\nno_such_section:\n  key: 1\n' >"$TMP/section.yaml"
run "$BIN" --check-config --config "$TMP/section.yaml"
want="$TMP/section.yaml:4: no_such_section.key: unknown key"
[[ $RC -eq $EX_CONFIG && $ERR == *"$want"* ]] ||
    fail "an unknown section: exit status $RC, expected $EX_CONFIG and \"$want\" in: $ERR"

# 4. Precedence: the environment overrides the file; a secret comes from a _FILE variable.
printf 's3cret\n' >"$TMP/password"
run env DUXOS_HTTP_PORT=12345 DUXOS_DB_PASSWORD_FILE="$TMP/password" \
    "$BIN" --check-config --config "$CONFIG"
if [[ $RC -ne 0 ]]; then
    fail "--check-config with env overrides exited $RC: $ERR"
else
    [[ $(awk '/^http:/ { s = 1; next } /^[^ ]/ { s = 0 } s && /^  port:/ { print $2 }' <<<"$OUT") == 12345 ]] ||
        fail "DUXOS_HTTP_PORT=12345 did not override http.port: $OUT"
    grep -q '^  password: "(set)"$' <<<"$OUT" ||
        fail "DUXOS_DB_PASSWORD_FILE did not set db.password (or it was printed): $OUT"
    [[ $OUT != *s3cret* ]] || fail "--check-config printed the secret"
fi
run env DUXOS_HTTP_PORT=not-a-port "$BIN" --check-config --config "$CONFIG"
[[ $RC -eq $EX_CONFIG && $ERR == *"env DUXOS_HTTP_PORT: http.port:"* ]] ||
    fail "a bad DUXOS_HTTP_PORT: exit status $RC, expected $EX_CONFIG naming the variable: $ERR"

finish
