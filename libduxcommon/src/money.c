/* money.c - exact FLOP amounts in int64_t base units; no floating point anywhere. */
#include <dux/money.h>
#include <stdio.h>
#include <string.h>

int dux_money_parse(const char *s, size_t len, bool allow_negative, int64_t *ret)
{
	if (!s || len == 0 || len >= DUX_MONEY_STRLEN)
		return DUX_EINVAL;
	size_t i = 0;
	bool neg = false;
	if (s[0] == '-') {
		if (!allow_negative)
			return DUX_EINVAL;
		neg = true;
		i = 1;
	}
	uint64_t whole = 0;
	size_t wdigits = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, wdigits++) {
		whole = whole * 10 + (uint64_t)(s[i] - '0');
		if (whole > (uint64_t)INT64_MAX / (uint64_t)DUX_UNITS_PER_FLOP)
			return DUX_ERANGE;
	}
	if (wdigits == 0)
		return DUX_EINVAL;
	uint64_t frac = 0;
	if (i < len && s[i] == '.') {
		i++;
		size_t fdigits = 0;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, fdigits++) {
			if (fdigits == 8)
				return DUX_ERANGE; /* more precision than a base unit */
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		}
		if (fdigits == 0)
			return DUX_EINVAL;
		for (; fdigits < 8; fdigits++)
			frac *= 10;
	}
	if (i != len)
		return DUX_EINVAL;
	uint64_t units = whole * (uint64_t)DUX_UNITS_PER_FLOP + frac;
	/* INT64_MIN has one unit more than INT64_MAX, and dux_money_format writes it */
	if (units > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return DUX_ERANGE;
	if (neg)
		*ret = units > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)units;
	else
		*ret = (int64_t)units;
	return 0;
}

char *dux_money_format(int64_t units, char buf[DUX_MONEY_STRLEN])
{
	/* INT64_MIN has no positive counterpart: work in uint64_t. */
	uint64_t u = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
	uint64_t whole = u / (uint64_t)DUX_UNITS_PER_FLOP;
	uint64_t frac = u % (uint64_t)DUX_UNITS_PER_FLOP;
	int n = snprintf(buf, DUX_MONEY_STRLEN, "%s%llu", units < 0 ? "-" : "",
			 (unsigned long long)whole);
	if (frac) {
		char f[9];
		snprintf(f, sizeof f, "%08llu", (unsigned long long)frac);
		int end = 8;
		while (end > 0 && f[end - 1] == '0')
			end--;
		snprintf(buf + n, (size_t)(DUX_MONEY_STRLEN - n), ".%.*s", end, f);
	}
	return buf;
}

int dux_money_add(int64_t a, int64_t b, int64_t *ret)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return DUX_ERANGE;
	*ret = r;
	return 0;
}

int dux_money_sub(int64_t a, int64_t b, int64_t *ret)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return DUX_ERANGE;
	*ret = r;
	return 0;
}

int dux_money_share_bps(int64_t amount, int32_t bps, int64_t *ret)
{
	if (amount < 0 || bps < 0 || bps > 10000)
		return DUX_EINVAL;
	__int128 p = (__int128)amount * bps;
	*ret = (int64_t)(p / 10000);
	return 0;
}
