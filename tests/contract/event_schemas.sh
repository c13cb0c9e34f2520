#!/usr/bin/env bash
# event_schemas.sh: the contract between the daemons' events and proto/events/.
#
#   event_schemas.sh SOURCE_DIR JSON_QUERY
#
# - every event type emitted in services/ has proto/events/<type>.json, a JSON Schema (draft
#   2020-12) that refers to envelope.json and fixes type and source. Emitted: passed to
#   dux_outbox_emit in services/*/*.c, or inserted into the outbox by SQL of services/*/sql/*.sql
#   (or by SQL written in C), e.g. a CASE ... THEN 'wallet.transfer.posted' in the type column;
# - every <type>.json belongs to an event some daemon emits (no stale schemas);
# - envelope.json describes exactly the members dux_event_format writes;
# - every file under proto/events/ is valid JSON, and every "$ref" in it names a file there.
set -euo pipefail
shopt -s inherit_errexit

[[ $# -eq 2 ]] || { printf 'usage: %s SOURCE_DIR JSON_QUERY\n' "${0##*/}" >&2; exit 2; }
readonly SRC=$1 JQ=$2
# shellcheck source=tests/contract/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly EVENTS=$SRC/proto/events
readonly DRAFT=https://json-schema.org/draft/2020-12/schema

[[ -x $JQ ]] || die "$JQ is not built"
[[ -d $EVENTS ]] || die "$EVENTS is missing"

# Prints the value at PATH of FILE, or nothing when absent.
get() {
    "$JQ" "$1" "$2" 2>/dev/null || true
}

# 1. Every file is JSON, a 2020-12 schema, and its references resolve.
nfiles=0
while IFS= read -r -d '' f; do
    nfiles=$((nfiles + 1))
    rel=${f#"$EVENTS"/}
    if ! "$JQ" "$f" >/dev/null; then
        fail "$rel is not valid JSON"
        continue
    fi
    # shellcheck disable=SC2016 # a literal member name
    [[ $(get "$f" '$schema') == "$DRAFT" ]] || fail "$rel: \$schema is not $DRAFT"
    # shellcheck disable=SC2016 # the grep pattern holds a literal $ref
    while IFS= read -r ref; do
        [[ $ref == \#* ]] && continue
        [[ -f $(dirname "$f")/${ref%%#*} ]] || fail "$rel: \$ref $ref names no file"
    done < <(grep -o '"\$ref": *"[^"]*"' "$f" | sed 's/.*: *"\([^"]*\)"/\1/')
done < <(find "$EVENTS" -name '*.json' -type f -print0 | sort -z)
((nfiles > 0)) || die "no JSON files in $EVENTS"

# 2. The envelope: the members dux_event_format writes, all required except subject, which it
#    leaves out when empty.
envelope=$EVENTS/envelope.json
format=$(sed -n '/^char \*dux_event_format(/,/^}/p' "$SRC/libduxcommon/src/bus_event.c")
mapfile -t written < <(grep -oE '(cJSON_Add[A-Za-z]*ToObject|dux_json_add_time)\(o, "[a-z]+"' <<<"$format" |
    sed 's/.*"\([a-z]*\)"/\1/' | sort)
((${#written[@]} > 0)) || die "no members parsed from dux_event_format in bus_event.c"
mapfile -t props < <("$JQ" "$envelope" properties --keys | sort)
mapfile -t required < <("$JQ" "$envelope" required --items | sort)
for m in $(comm -3 <(printf '%s\n' "${written[@]}") <(printf '%s\n' "${props[@]}") | tr -d '\t'); do
    fail "envelope.json: member $m is in only one of dux_event_format and properties"
done
for m in "${written[@]}"; do
    if [[ $m == subject ]]; then
        ! grep -qxF subject <<<"$(printf '%s\n' "${required[@]}")" || fail "envelope.json: subject is optional, not required"
    else
        grep -qxF -- "$m" <<<"$(printf '%s\n' "${required[@]}")" || fail "envelope.json: $m is not required"
    fi
done
[[ $(get "$envelope" additionalProperties) == false ]] || fail "envelope.json: additionalProperties is not false"
[[ $(get "$envelope" properties/specversion/const) == "1.0" ]] || fail "envelope.json: specversion is not const 1.0"
note "envelope.json describes the ${#written[@]} members of dux_event_format"

# 3. Every emitted type has its schema.
shopt -s nullglob
c_files=("$SRC"/services/*/*.c)
sql_files=("$SRC"/services/*/sql/*.sql)
shopt -u nullglob
mapfile -t emits < <(emitted_event_types "${c_files[@]}" | sort -u)
mapfile -t inserts < <(outbox_insert_types "${sql_files[@]}" "${c_files[@]}" | sort -u)
((${#emits[@]} + ${#inserts[@]} > 0)) ||
    die "no dux_outbox_emit calls nor INSERT INTO outbox statements found under services/"
declare -A TYPES=()
for e in "${emits[@]}" "${inserts[@]}"; do
    read -r type file <<<"$e"
    if [[ $type == "?" ]]; then
        if grep -qxF -- "? $file" <<<"$(printf '%s\n' "${emits[@]}")"; then
            fail "${file#"$SRC"/}: a dux_outbox_emit call names no event type as a string literal"
        fi
        if grep -qxF -- "? $file" <<<"$(printf '%s\n' "${inserts[@]}")"; then
            fail "${file#"$SRC"/}: an INSERT INTO outbox gives its type column neither a string literal nor CASE branches of string literals"
        fi
        continue
    fi
    svc=${file#"$SRC"/services/}
    svc=${svc%%/*}
    TYPES[$type]=duxos-$svc
done
for type in $(printf '%s\n' "${!TYPES[@]}" | sort); do
    schema=$EVENTS/$type.json
    if [[ ! -f $schema ]]; then
        fail "event $type (emitted by ${TYPES[$type]}) has no schema proto/events/$type.json"
        continue
    fi
    # shellcheck disable=SC2016 # a literal member name
    [[ $(get "$schema" '$ref') == envelope.json ]] || fail "$type.json does not refer to envelope.json"
    [[ $(get "$schema" properties/type/const) == "$type" ]] || fail "$type.json: properties.type.const is not \"$type\""
    [[ $(get "$schema" properties/source/const) == "${TYPES[$type]}" ]] ||
        fail "$type.json: properties.source.const is not \"${TYPES[$type]}\""
    [[ -n $(get "$schema" properties/data) ]] || fail "$type.json: describes no data"
    [[ $(get "$schema" description) == *[a-z]* ]] || fail "$type.json: no description of when it is emitted"
done
note "${#TYPES[@]} event types emitted under services/: $(printf '%s\n' "${!TYPES[@]}" | sort | tr '\n' ' ')"

# 4. No schema for an event nobody emits.
for f in "$EVENTS"/*.json; do
    type=$(basename "$f" .json)
    [[ $type == envelope ]] && continue
    [[ -n ${TYPES[$type]:-} ]] ||
        fail "proto/events/$type.json: no daemon emits $type (neither dux_outbox_emit nor INSERT INTO outbox under services/)"
done

finish
