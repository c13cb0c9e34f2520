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
# string literal shaped like an event type ("node.registered") in the call's type argument (the
# second; `cond ? "a.b" : "a.c"` gives both). When that argument is instead a parameter of the
# function the call is in (a helper such as emit(c, x, const char *type)), the literals come from
# that parameter's position in the calls of the helper in the same file. A call whose type is
# written neither way prints "? FILE". Comments are ignored.
emitted_event_types() {
    local f
    for f in "$@"; do
        awk -v file="$f" '
            function is_type(s) { return s ~ /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/ }
            function is_ident(s) { return s ~ /^[A-Za-z_][A-Za-z0-9_]*$/ }
            function trim(s) { gsub(/^[[:space:]]+|[[:space:]]+$/, "", s); return s }
            # The line without comments (a block comment may span lines: incomment).
            function uncomment(line,   out, i, c, d, instr) {
                out = ""; instr = ""
                for (i = 1; i <= length(line); i++) {
                    c = substr(line, i, 1); d = substr(line, i, 2)
                    if (incomment) {
                        if (d == "*/") { incomment = 0; i++ }
                        continue
                    }
                    if (instr != "") {
                        out = out c
                        if (c == "\\") { out = out substr(line, i + 1, 1); i++ }
                        else if (c == instr) instr = ""
                        continue
                    }
                    if (d == "/*") { incomment = 1; i++; out = out " "; continue }
                    if (d == "//") break
                    if (c == "\"" || c == "\047") instr = c
                    out = out c
                }
                return out
            }
            # Splits the argument list that starts after the "(" at position pos of all into
            # args[1..n] (top level commas, outside parentheses, brackets and strings); returns n.
            function split_args(pos, args,   i, c, depth, instr, n) {
                n = 1; args[1] = ""; depth = 0; instr = ""
                for (i = pos; i <= length(all); i++) {
                    c = substr(all, i, 1)
                    if (instr != "") {
                        if (c == "\\") { args[n] = args[n] c substr(all, i + 1, 1); i++; continue }
                        if (c == instr) instr = ""
                    } else if (c == "\"" || c == "\047") instr = c
                    else if (c == "(" || c == "[" || c == "{") depth++
                    else if (c == ")" || c == "]" || c == "}") { if (depth == 0) break; depth-- }
                    else if (c == "," && depth == 0) { args[++n] = ""; continue }
                    args[n] = args[n] c
                }
                return n
            }
            # Prints the type-shaped string literals of s; returns how many.
            function literals(s,   n, lit) {
                n = 0
                while (match(s, /"([^"\\]|\\.)*"/)) {
                    lit = substr(s, RSTART + 1, RLENGTH - 2)
                    if (is_type(lit)) { print lit " " file; n++ }
                    s = substr(s, RSTART + RLENGTH)
                }
                return n
            }
            {
                line = uncomment($0)
                if (inhdr) {
                    hdr = hdr " " line
                    if (line ~ /^\{/) finish()
                    else if (line ~ /;[[:space:]]*$/) inhdr = 0
                } else if (line ~ /^[A-Za-z_][^;=]*\(/ && line !~ /;[[:space:]]*$/) {
                    hdr = line; hdr_at = length(all) + 1; inhdr = 1
                    if (line ~ /\{[[:space:]]*$/) finish()
                }
                all = all line " "
            }
            function finish(   name, params) {
                inhdr = 0
                name = substr(hdr, 1, index(hdr, "(") - 1)
                sub(/.*[^A-Za-z0-9_]/, "", name)
                params = substr(hdr, index(hdr, "(") + 1)
                sub(/\)[^)]*$/, "", params)
                nfn++; fn_name[nfn] = name; fn_at[nfn] = hdr_at; fn_params[nfn] = params
            }
            END {
                rest = all; off = 0
                while ((p = index(rest, "dux_outbox_emit(")) > 0) {
                    at = off + p
                    rest = substr(rest, p + 16); off = at + 15
                    if (at > 1 && substr(all, at - 1, 1) ~ /[A-Za-z0-9_]/) continue
                    n = split_args(at + 16, args)
                    # a declaration, not a call
                    if (args[1] ~ /\*/) continue
                    if (literals(args[2]) > 0) continue
                    arg = trim(args[2]); found = 0
                    fn = 0
                    for (i = 1; i <= nfn; i++) if (fn_at[i] <= at) fn = i
                    if (fn && is_ident(arg)) {
                        np = split(fn_params[fn], params, ",")
                        k = 0
                        for (i = 1; i <= np; i++) {
                            q = trim(params[i]); sub(/.*[^A-Za-z0-9_]/, "", q)
                            if (q == arg) k = i
                        }
                        name = fn_name[fn]
                        r2 = all; o2 = 0
                        while (k && (p2 = index(r2, name "(")) > 0) {
                            at2 = o2 + p2
                            r2 = substr(r2, p2 + length(name) + 1); o2 = at2 + length(name)
                            if (at2 > 1 && substr(all, at2 - 1, 1) ~ /[A-Za-z0-9_]/) continue
                            if (split_args(at2 + length(name) + 1, cargs) >= k)
                                found += literals(cargs[k])
                        }
                    }
                    if (!found) print "? " file
                }
            }' "$f"
    done
}

# The event types of the rows that FILES insert into the outbox themselves, in SQL: every
# `INSERT INTO outbox (..., type, ...) VALUES (...)` (or `... SELECT ... FROM`) statement of a
# .sql file, or written in C
# string literals in a .c file. For each, prints "TYPE FILE" for every string literal shaped like
# an event type that the expression in the `type` column's position yields: the whole
# expression, or a THEN / ELSE branch of a CASE in it ('wallet.transfer.posted'). Literals that
# are compared (WHEN kind = 'a.b'), in other columns or in function arguments do not count. A
# statement whose type is not written that way prints "? FILE".
outbox_insert_types() {
    local f
    for f in "$@"; do
        if [[ $f == *.sql ]]; then
            sed 's/--.*$//' "$f"
        else
            tr -d '"' <"$f"
        fi | tr '\n\t' '  ' |
            { grep -oiE 'insert[[:space:]]+into[[:space:]]+([a-z_]+\.)?outbox[[:space:]]*\([^;]*' || true; } |
            awk -v file="$f" '
                function trim(s) { gsub(/^[[:space:]]+|[[:space:]]+$/, "", s); return s }
                function is_type(s) { return s ~ /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/ }
                {
                    stmt = $0
                    # the column list: the type column position
                    open = index(stmt, "(")
                    shut = index(substr(stmt, open), ")")
                    n = split(substr(stmt, open + 1, shut - 2), cols, ",")
                    col = 0
                    for (i = 1; i <= n; i++)
                        if (tolower(trim(cols[i])) == "type") col = i
                    rest = substr(stmt, open + shut)
                    v = match(tolower(rest), /^[[:space:]]*values[[:space:]]*\(/)
                    sel = 0
                    if (!v && match(tolower(rest), /^[[:space:]]*select[[:space:]]/)) v = sel = 1
                    if (!col || !v) { print "? " file; next }
                    # the VALUES list (or the SELECT list, up to its FROM), split at top-level
                    # commas (outside parentheses and quotes)
                    s = substr(rest, RLENGTH + 1)
                    depth = 0; inq = 0; k = 1; expr[1] = ""
                    for (i = 1; i <= length(s); i++) {
                        c = substr(s, i, 1)
                        if (inq) { if (c == "\047") inq = 0 }
                        else if (c == "\047") inq = 1
                        else if (sel && depth == 0 && tolower(substr(s, i, 6)) ~ /^[[:space:]]from[[:space:]]/) break
                        else if (c == "(") depth++
                        else if (c == ")") { if (depth == 0) break; depth-- }
                        else if (c == "," && depth == 0) { expr[++k] = ""; continue }
                        expr[k] = expr[k] c
                    }
                    e = trim(expr[col])
                    found = 0
                    if (e ~ /^\047[^\047]*\047$/) {
                        t = substr(e, 2, length(e) - 2)
                        if (is_type(t)) { print t " " file; found = 1 }
                    } else {
                        # the literals right after THEN or ELSE
                        x = e
                        while (match(tolower(x), /(^|[^a-z0-9_])(then|else)[[:space:]]+\047[^\047]*\047/)) {
                            lit = substr(x, RSTART, RLENGTH)
                            sub(/^[^\047]*\047/, "", lit); sub(/\047$/, "", lit)
                            if (is_type(lit)) { print lit " " file; found = 1 }
                            x = substr(x, RSTART + RLENGTH)
                        }
                    }
                    if (!found) print "? " file
                }'
    done
}
