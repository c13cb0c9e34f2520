/* text.h - text from outside: well-formed UTF-8 and control characters. */
#ifndef DUX_TEXT_H
#define DUX_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) without control
 * characters (C0, DEL, C1); multiline also admits \n and \t. */
bool dux_text_ok(const char *s, bool multiline);

/* The len bytes at s are well-formed UTF-8 without NUL (what a JSON string can carry);
 * control characters are allowed. s[len] must be a NUL (it bounds the reading). */
bool dux_utf8_ok(const char *s, size_t len);

/* s made safe to show, in place: every byte that is not part of a well-formed UTF-8 sequence,
 * and every control character, becomes '?'. Returns s. */
char *dux_text_sanitize(char *s);

/* s as a URI reference, fit for a problem's "instance": bytes outside printable ASCII, and
 * '%' itself, percent-encoded (RFC 3986). Writes at most len bytes (NUL included), truncating
 * at a whole escape; returns ret. */
char *dux_uri_escape(const char *s, char *ret, size_t len);

#endif
