/* text.c - text from outside: well-formed UTF-8 (PostgreSQL would refuse anything else, and a
 * problem that names the field is better than its error), no control characters that could
 * drive a terminal or a log reader, bounded in bytes. */
#include "store.h"
#include <string.h>

/* Length of the UTF-8 sequence at p (1-4), 0 when it is not a well-formed one: no overlong
 * forms, no surrogates, nothing above U+10FFFF. cp receives the code point. */
static int utf8_seq(const unsigned char *p, unsigned *cp)
{
	unsigned c = p[0];
	int n;
	unsigned min;
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

bool text_ok(const char *s, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		int n = utf8_seq(p, &cp);
		if (n == 0)
			return false;
		bool control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
		if (control && !(multiline && (cp == '\n' || cp == '\t')))
			return false;
		p += n;
	}
	return true;
}

int text_member(const cJSON *body, const char *key, bool required, size_t minlen, size_t max,
		bool multiline, const char **ret, dux_verr_t *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	if (!v || cJSON_IsNull(v))
		return required ? dux_verr_set(e, key, "is required") : 0;
	if (!cJSON_IsString(v))
		return dux_verr_set(e, key, "must be a string");
	size_t n = strlen(v->valuestring);
	if (n < minlen || n > max)
		return dux_verr_set(e, key, "must be %zu to %zu bytes long (UTF-8)", minlen, max);
	if (!text_ok(v->valuestring, multiline))
		return dux_verr_set(e, key, "must be UTF-8 text without control characters%s",
				    multiline ? " (new lines and tabs are allowed)" : "");
	*ret = v->valuestring;
	return 0;
}

bool service_id_ok(const char *s)
{
	return s && strlen(s) == SERVICE_ID_LEN && strncmp(s, "svc_", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdef") == SERVICE_ID_LEN - 4;
}
