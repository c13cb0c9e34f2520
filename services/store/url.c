/* url.c - a service's endpoint: an absolute http(s) URL, parsed by RFC 3986 rather than
 * matched by pattern, so that what the store shows is what a client would call.
 *
 *   URL       = scheme "://" host [ ":" port ] path [ "?" query ]
 *   scheme    = "http" | "https" (any case)
 *   host      = "[" IPv6 "]" | IPv4 | reg-name (labels of letters, digits and '-', each 1-63,
 *               not starting or ending with '-'; at most 253 bytes)
 *   port      = 1-65535, no leading zeros
 *   path      = *( "/" segment ), query: pchar, "/" and "?"; pchar = unreserved | %HH |
 *               sub-delims | ":" | "@"
 *
 * Refused on purpose: user information (credentials would be published), fragments (never
 * sent to a server), and anything outside URI characters (spaces, non-ASCII: send them
 * percent-encoded). */
#include "store.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool unreserved(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool sub_delim(char c)
{
	return c && strchr("!$&'()*+,;=", c) != NULL;
}

/* Checks path or query characters from s up to a char of stop; *end: where it stopped. */
static int uri_chars(const char *s, const char *extra, const char *stop, const char **end,
		     const char **why)
{
	for (; *s && !strchr(stop, *s); s++) {
		if (*s == '%') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2])) {
				*why = "has a '%' that is not followed by two hex digits";
				return DUX_EINVAL;
			}
			s += 2;
		} else if (!unreserved(*s) && !sub_delim(*s) && !strchr(extra, *s)) {
			*why = "has a character that a URL must percent-encode (a space, a quote, "
			       "a non-ASCII byte...)";
			return DUX_EINVAL;
		}
	}
	*end = s;
	return 0;
}

static bool label_ok(const char *s, size_t n)
{
	if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool reg_name_ok(const char *s, size_t n)
{
	if (n < 1 || n > 253)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			/* one trailing dot (a fully qualified name) is allowed */
			if (i == n && i == start && i > 0)
				return true;
			if (!label_ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* Checks the host at s (n bytes, without the port). */
static int host_check(const char *s, size_t n, const char **why)
{
	char buf[256];
	unsigned char addr[16];
	if (n == 0) {
		*why = "has no host";
		return DUX_EINVAL;
	}
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof buf) {
			*why = "has an IPv6 host that is not closed by ']'";
			return DUX_EINVAL;
		}
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1) {
			*why = "has a malformed IPv6 address";
			return DUX_EINVAL;
		}
		return 0;
	}
	if (n >= sizeof buf || !reg_name_ok(s, n)) {
		*why = "has a malformed host name (labels of letters, digits and '-', at most 63 "
		       "bytes each, 253 in all)";
		return DUX_EINVAL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* all digits and dots: it must then be a dotted IPv4 address */
	if (strspn(buf, "0123456789.") == n && inet_pton(AF_INET, buf, addr) != 1) {
		*why = "has a malformed IPv4 address";
		return DUX_EINVAL;
	}
	return 0;
}

static int port_check(const char *s, size_t n, const char **why)
{
	unsigned long v = 0;
	bool ok = n >= 1 && n <= 5 && strspn(s, "0123456789") >= n && s[0] != '0';
	for (size_t i = 0; ok && i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (!ok || v > 65535) {
		*why = "has a port that is not a number from 1 to 65535";
		return DUX_EINVAL;
	}
	return 0;
}

int url_check(const char *s, const char **why)
{
	size_t len = strlen(s);
	if (len > ENDPOINT_MAX_BYTES) {
		*why = "is longer than 2048 bytes";
		return DUX_EINVAL;
	}
	const char *p;
	if (strncasecmp(s, "http://", 7) == 0) {
		p = s + 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		p = s + 8;
	} else {
		*why = "must be an http:// or https:// URL";
		return DUX_EINVAL;
	}
	size_t alen = strcspn(p, "/?#");
	const char *at = memchr(p, '@', alen);
	if (at) {
		*why = "must not carry user information (user:password@)";
		return DUX_EINVAL;
	}
	/* the port follows the last ':' that is not inside an IPv6 literal */
	const char *close = p[0] == '[' ? memchr(p, ']', alen) : NULL;
	const char *from = close ? close : p;
	const char *colon = memchr(from, ':', alen - (size_t)(from - p));
	size_t hlen = colon ? (size_t)(colon - p) : alen;
	if (host_check(p, hlen, why) < 0)
		return DUX_EINVAL;
	if (colon && port_check(colon + 1, alen - hlen - 1, why) < 0)
		return DUX_EINVAL;
	p += alen;
	if (uri_chars(p, ":@/", "?#", &p, why) < 0)
		return DUX_EINVAL;
	if (*p == '?' && uri_chars(p + 1, ":@/?", "#", &p, why) < 0)
		return DUX_EINVAL;
	if (*p == '#') {
		*why = "must not have a fragment (#...)";
		return DUX_EINVAL;
	}
	return 0;
}
