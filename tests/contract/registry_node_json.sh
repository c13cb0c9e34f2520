#!/usr/bin/env bash
# registry_node_json.sh: the node object of duxos-registry, as node_json in
# services/registry/nodes.c writes it, against its two descriptions: the Node schema of
# proto/openapi/registry.yaml and proto/events/defs/node.json (the data of every node.* event).
# Both must list exactly its members, all required, and the same members of resources.
#
#   registry_node_json.sh SOURCE_DIR JSON_QUERY
set -euo pipefail
shopt -s inherit_errexit

[[ $# -eq 2 ]] || { printf 'usage: %s SOURCE_DIR JSON_QUERY\n' "${0##*/}" >&2; exit 2; }
readonly SRC=$1 JQ=$2
# shellcheck source=tests/contract/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DOC=$SRC/proto/openapi/registry.yaml
readonly DEF=$SRC/proto/events/defs/node.json

[[ -x $JQ ]] || die "$JQ is not built"
fn=$(sed -n '/^cJSON \*node_json(/,/^}/p' "$SRC/services/registry/nodes.c")
members() { # VAR: the member names added to the cJSON object VAR in node_json
    grep -oE "(cJSON_Add[A-Za-z]*ToObject|dux_json_add_time)\\($1, \"[a-z_]+\"" <<<"$fn" |
        sed 's/.*"\([a-z_]*\)"/\1/' | sort
}
mapfile -t node < <(members n)
mapfile -t res < <(members rs)
((${#node[@]} > 0 && ${#res[@]} > 0)) || die "no members parsed from node_json in nodes.c"

# compare WHAT EXPECTED_FILE ACTUAL_FILE
compare() {
    local what=$1 m
    for m in $(comm -23 "$2" "$3"); do fail "$what lacks $m"; done
    for m in $(comm -13 "$2" "$3"); do fail "$what has $m, which node_json does not write"; done
}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/contract-node.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
printf '%s\n' "${node[@]}" >"$TMP/node"
printf '%s\n' "${res[@]}" >"$TMP/resources"
got=$TMP/got

# The events' definition.
"$JQ" "$DEF" properties --keys | sort >"$got"
compare "defs/node.json properties" "$TMP/node" "$got"
"$JQ" "$DEF" required --items | sort >"$got"
compare "defs/node.json required" "$TMP/node" "$got"
"$JQ" "$DEF" properties/resources/properties --keys | sort >"$got"
compare "defs/node.json resources" "$TMP/resources" "$got"

# The OpenAPI schema components/schemas/Node (two-space YAML: schemas at 4, their keys at 6).
node_schema=$(awk '
    /^    Node:[[:space:]]*$/ { on = 1; next }
    on && /^    [^[:space:]]/ { on = 0 }
    on { print }
' "$DOC")
[[ -n $node_schema ]] || die "no components/schemas/Node in $DOC"
awk '/^      required:/ { on = 1; next } on && /^        - / { print $2; next } on { on = 0 }' \
    <<<"$node_schema" | sort >"$got"
compare "the OpenAPI Node schema's required" "$TMP/node" "$got"
awk '/^      properties:/ { on = 1; next } on && /^      [^[:space:]]/ { on = 0 }
     on && /^        [a-z_]+:/ { k = $1; sub(/:$/, "", k); print k }' <<<"$node_schema" | sort >"$got"
compare "the OpenAPI Node schema's properties" "$TMP/node" "$got"
awk '/^        resources:/ { on = 1; next } on && /^        [^[:space:]]/ { on = 0 }
     on && /^          properties:/ { inner = 1; next } on && /^          [^[:space:]]/ { inner = 0 }
     on && inner && /^            [a-z_]+:/ { k = $1; sub(/:$/, "", k); print k }' <<<"$node_schema" | sort >"$got"
compare "the OpenAPI Node schema's resources" "$TMP/resources" "$got"

note "node_json writes ${#node[@]} members (resources: ${res[*]}); both schemas match"
finish
