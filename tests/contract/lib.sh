# lib.sh: helpers shared by the contract tests (sourced, not run).
# shellcheck shell=bash

PROG=${0##*/}
FAILURES=0

fail() {
    printf '%s: FAIL: %s\n' "$PROG" "$*" >&2
    FAILURES=$((FAILURES + 1))
}

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$PROG" "$*"
}

# Exits 1 when any check failed, 0 otherwise, with a closing line either way.
finish() {
    if ((FAILURES > 0)); then
        printf '%s: %d check(s) failed\n' "$PROG" "$FAILURES" >&2
        exit 1
    fi
    note "all checks passed"
}

# The daemons read DUXOS_* variables as configuration overrides: a developer's shell must not
# change what a test sees.
clear_duxos_env() {
    local v
    for v in $(compgen -e); do
        [[ $v == DUXOS_* ]] && unset "$v"
    done
    return 0
}

# Prints "section.key" for every key of a configuration YAML laid out as --print-defaults writes
# it: a section name at column 0, its keys indented by two spaces, comments starting with '#'.
config_keys() {
    awk '
        /^[A-Za-z_][A-Za-z0-9_]*:[[:space:]]*$/ { s = $0; sub(/:.*/, "", s); next }
        /^[^[:space:]#]/                          { s = "" }
        /^  [A-Za-z_][A-Za-z0-9_]*:/ && s != "" { k = $0; sub(/^  /, "", k); sub(/:.*/, "", k); print s "." k }
    ' "$1"
}

# Prints "METHOD /path" for every entry of a C route table: the initialiser of the array named
# TABLE (dux_route_t TABLE[] = { {"GET", "/x", ...}, ... };) in FILE.
c_route_table() {
    local file=$1 table=$2
    sed -n "/dux_route_t ${table}\\[\\] = {/,/^};/p" "$file" |
        grep -o '{"[A-Z]*", *"[^"]*"' |
        sed 's/{"\([A-Z]*\)", *"\([^"]*\)"/\1 \2/'
}

# Prints "METHOD /path" for every operation under `paths:` of an OpenAPI YAML document written
# with two-space indentation (paths at 2 spaces, operations at 4).
openapi_operations() {
    awk '
        /^[^[:space:]#]/ { inpaths = ($0 ~ /^paths:[[:space:]]*$/); next }
        !inpaths { next }
        /^  [^[:space:]#][^[:space:]]*:[[:space:]]*$/ {
            p = $0; sub(/^  /, "", p); sub(/:[[:space:]]*$/, "", p); gsub(/["\047]/, "", p); next
        }
        /^    (get|put|post|delete|options|head|patch|trace):/ {
            m = $0; sub(/^    /, "", m); sub(/:.*/, "", m); print toupper(m) " " p
        }
    ' "$1"
}

# The event types of the dux_outbox_emit calls in the C files given: prints "TYPE FILE" for every
# string literal shaped like an event type ("node.registered") among the arguments of a call; a
# call with no such literal prints "? FILE".
emitted_event_types() {
    local f call types
    for f in "$@"; do
        while IFS= read -r call; do
            types=$(grep -o '"[^"]*"' <<<"$call" | tr -d '"' |
                grep -E '^[a-z0-9_-]+(\.[a-z0-9_-]+)+$' || true)
            if [[ -z $types ]]; then
                printf '? %s\n' "$f"
            else
                local t
                for t in $types; do
                    printf '%s %s\n' "$t" "$f"
                done
            fi
        done < <(tr '\n' ' ' <"$f" | grep -o 'dux_outbox_emit([^;]*;' || true)
    done
}
