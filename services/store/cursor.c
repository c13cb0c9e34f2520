/* cursor.c - opaque page cursors: the parts that place a row in its order (a sort key, an
 * id, ...) joined by '\n' and written in base64url, so that clients pass them back unchanged
 * and cannot come to depend on their form. Decoding is strict: anything but a cursor this
 * code wrote, with the number of parts the route expects, is refused. */
#include "store.h"
#include <dux/crypto.h>
#include <string.h>

#define RAW_MAX ((CURSOR_MAX / 4) * 3)

int cursor_encode(const char *const *parts, int n, char ret[CURSOR_MAX + 1])
{
	char raw[RAW_MAX + 1];
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(parts[i]);
		if ((i + 1 < n && memchr(parts[i], '\n', len)) || o + len + 1 > RAW_MAX)
			return DUX_ERANGE;
		memcpy(raw + o, parts[i], len);
		o += len;
		if (i + 1 < n)
			raw[o++] = '\n';
	}
	dux_b64url_encode(raw, o, ret);
	return 0;
}

int cursor_decode(const char *s, int n, char *buf, size_t len, char **parts)
{
	size_t slen = strlen(s), got = 0;
	if (slen == 0 || slen > CURSOR_MAX || len < 2 ||
	    dux_b64url_decode(s, slen, (uint8_t *)buf, len - 1, &got) < 0)
		return DUX_EINVAL;
	buf[got] = '\0';
	if (strlen(buf) != got) /* a NUL inside */
		return DUX_EINVAL;
	char *p = buf;
	for (int i = 0; i < n; i++) {
		parts[i] = p;
		if (i + 1 == n)
			break;
		char *nl = strchr(p, '\n');
		if (!nl)
			return DUX_EINVAL;
		*nl = '\0';
		p = nl + 1;
	}
	return 0;
}
