/* semver.c - Semantic Versioning 2.0.0 (semver.org): the grammar, and precedence.
 *
 *   version    = core [ "-" pre-release ] [ "+" build ]
 *   core       = numeric "." numeric "." numeric
 *   numeric    = "0" | [1-9][0-9]*
 *   pre-release = identifier *( "." identifier ), each [0-9A-Za-z-]+, a numeric one without
 *                leading zeros
 *   build      = identifier *( "." identifier ), each [0-9A-Za-z-]+
 *
 * Numbers are compared as decimal strings (no leading zeros: the longer is the larger), so a
 * version may carry numbers of any size up to the length bound. */
#include "store.h"
#include <string.h>

static bool ident_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-';
}

/* Length of a numeric part at s without leading zeros, 0 when there is none. */
static size_t numeric_len(const char *s)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || (n > 1 && s[0] == '0'))
		return 0;
	return n;
}

/* Checks dot-separated identifiers from s up to a char in stop (or the end); *end: where they
 * stop. pre: numeric identifiers may not have leading zeros. */
static int identifiers(const char *s, const char *stop, bool pre, const char **end,
		       const char **why)
{
	for (;;) {
		size_t n = 0;
		while (ident_char(s[n]))
			n++;
		if (n == 0) {
			*why = pre ? "has an empty pre-release identifier"
				   : "has an empty build identifier";
			return DUX_EINVAL;
		}
		if (pre && strspn(s, "0123456789") == n && n > 1 && s[0] == '0') {
			*why = "has a numeric pre-release identifier with a leading zero";
			return DUX_EINVAL;
		}
		s += n;
		if (*s != '.') {
			if (*s && !strchr(stop, *s)) {
				*why = "holds a character other than letters, digits, '-', '.' and '+'";
				return DUX_EINVAL;
			}
			*end = s;
			return 0;
		}
		s++;
	}
}

int semver_check(const char *s, const char **why)
{
	if (strlen(s) > VERSION_MAX_BYTES) {
		*why = "is longer than 64 bytes";
		return DUX_EINVAL;
	}
	const char *p = s;
	for (int i = 0; i < 3; i++) {
		size_t n = numeric_len(p);
		if (n == 0) {
			*why = "must start MAJOR.MINOR.PATCH, numbers without leading zeros";
			return DUX_EINVAL;
		}
		p += n;
		if (i < 2 && *p++ != '.') {
			*why = "must start MAJOR.MINOR.PATCH, numbers without leading zeros";
			return DUX_EINVAL;
		}
	}
	if (*p == '-' && identifiers(p + 1, "+", true, &p, why) < 0)
		return DUX_EINVAL;
	if (*p == '+' && identifiers(p + 1, "", false, &p, why) < 0)
		return DUX_EINVAL;
	if (*p) {
		*why = "must be MAJOR.MINOR.PATCH with an optional -pre-release and +build";
		return DUX_EINVAL;
	}
	return 0;
}

/* Compares two numbers without leading zeros given as digit runs of length na and nb. */
static int num_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	if (na != nb)
		return na < nb ? -1 : 1;
	int c = strncmp(a, b, na);
	return c < 0 ? -1 : c > 0;
}

/* The length of the identifier at s (up to '.', '+' or the end). */
static size_t ident_len(const char *s)
{
	return strcspn(s, ".+");
}

static bool all_digits(const char *s, size_t n)
{
	return n > 0 && strspn(s, "0123456789") >= n;
}

/* Pre-release precedence: identifiers left to right; numeric ones numerically and below
 * alphanumeric ones, which compare in ASCII order; a longer list wins a tie. */
static int pre_cmp(const char *a, const char *b)
{
	for (;;) {
		bool ea = !*a || *a == '+', eb = !*b || *b == '+';
		if (ea || eb)
			return ea && eb ? 0 : ea ? -1 : 1;
		size_t na = ident_len(a), nb = ident_len(b);
		bool da = all_digits(a, na), db = all_digits(b, nb);
		int c;
		if (da && db) {
			c = num_cmp(a, na, b, nb);
		} else if (da != db) {
			c = da ? -1 : 1;
		} else {
			c = strncmp(a, b, na < nb ? na : nb);
			if (c == 0 && na != nb)
				c = na < nb ? -1 : 1;
		}
		if (c != 0)
			return c < 0 ? -1 : 1;
		a += na + (a[na] == '.');
		b += nb + (b[nb] == '.');
	}
}

int semver_cmp(const char *a, const char *b)
{
	for (int i = 0; i < 3; i++) {
		size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
		int c = num_cmp(a, na, b, nb);
		if (c != 0)
			return c;
		a += na + (i < 2);
		b += nb + (i < 2);
	}
	bool pa = *a == '-', pb = *b == '-';
	if (!pa || !pb) /* a version without pre-release ranks above one with */
		return pa == pb ? 0 : pa ? -1 : 1;
	return pre_cmp(a + 1, b + 1);
}
