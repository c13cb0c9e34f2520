/* money.h - exact amounts of Flop Coin in int64_t base units.
 *
 * 1 FLOP = 100,000,000 units. No floating point is used in any computation.
 * Text form: optional '-', digits, optional '.' and up to 8 digits ("12.5", "0.00000001"). */
#ifndef DUX_MONEY_H
#define DUX_MONEY_H

#include <dux/err.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define DUX_UNITS_PER_FLOP INT64_C(100000000)
#define DUX_MONEY_STRLEN 32 /* enough for any int64 amount with sign, point and NUL */

/* Parses exactly len bytes of s. Rejects signs unless allow_negative, exponents, more than
 * 8 decimals, empty parts ("." or "1."), leading '+', whitespace, and overflow. */
DUX_MUST_USE int dux_money_parse(const char *s, size_t len, bool allow_negative, int64_t *ret);
/* Writes the canonical text ("12.5", "0", "-0.00000001") into buf; returns buf. */
char *dux_money_format(int64_t units, char buf[DUX_MONEY_STRLEN]);

/* Overflow-checked arithmetic: DUX_ERANGE instead of wrapping. */
DUX_MUST_USE int dux_money_add(int64_t a, int64_t b, int64_t *ret);
DUX_MUST_USE int dux_money_sub(int64_t a, int64_t b, int64_t *ret);
/* floor(amount * bps / 10000) for amount >= 0 and 0 <= bps <= 10000, exact via 128-bit math. */
DUX_MUST_USE int dux_money_share_bps(int64_t amount, int32_t bps, int64_t *ret);

#endif
