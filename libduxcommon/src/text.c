/* text.c - text from outside: UTF-8 well-formedness (PostgreSQL and JSON readers refuse the
 * rest), control characters that could drive a terminal or a log reader. */
#include <dux/text.h>
#include <stdio.h>
#include <string.h>

/* Length of the UTF-8 sequence at p (1-4), 0 when it is not a well-formed one. cp receives the
 * code point. */
static int utf8_seq(const unsigned char *p, unsigned *cp)
{
	unsigned c = p[0], min;
	int n;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, min = 0x80, c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, min = 0x800, c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool control(unsigned cp, bool multiline)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) && !(multiline && (cp == '\n' || cp == '\t'));
}

bool dux_text_ok(const char *s, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		int n = utf8_seq(p, &cp);
		if (n == 0 || control(cp, multiline))
			return false;
		p += n;
	}
	return true;
}

bool dux_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned cp;
		int n = *p ? utf8_seq(p, &cp) : 0;
		if (n == 0 || n > end - p)
			return false;
		p += n;
	}
	return true;
}

char *dux_text_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		unsigned cp;
		int n = utf8_seq(p, &cp);
		if (n == 0 || control(cp, false)) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
	return s;
}

char *dux_uri_escape(const char *s, char *ret, size_t len)
{
	size_t o = 0;
	if (len == 0)
		return ret;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = *p > 0x20 && *p < 0x7f && *p != '%';
		size_t need = plain ? 1 : 3;
		if (o + need >= len)
			break;
		if (plain)
			ret[o++] = (char)*p;
		else
			o += (size_t)snprintf(ret + o, len - o, "%%%02X", *p);
	}
	ret[o] = '\0';
	return ret;
}
