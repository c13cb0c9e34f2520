/* query.c - request paths with percent-encoded query parameters (RFC 3986: unreserved
 * characters as they are, every other byte as %XX). */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 4096 /* longer than any path duxctl builds from validated arguments */

void ctl_path_init(ctl_path_t *p, const char *path)
{
	p->len = strlen(path);
	p->s = strdup(path);
	p->oom = p->s == NULL;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends n bytes of s, percent-encoded when encode is set. */
static void append(ctl_path_t *p, const char *s, size_t n, bool encode)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = p->len + (encode ? 3 * n : n) + 1;
	char *t = p->oom || need > PATH_MAX_LEN ? NULL : realloc(p->s, need);
	if (!t) {
		p->oom = true;
		return;
	}
	p->s = t;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!encode || unreserved(c)) {
			t[p->len++] = (char)c;
		} else {
			t[p->len++] = '%';
			t[p->len++] = hex[c >> 4];
			t[p->len++] = hex[c & 15];
		}
	}
	t[p->len] = '\0';
}

void ctl_path_param(ctl_path_t *p, const char *name, const char *value)
{
	if (!value || p->oom)
		return;
	append(p, strchr(p->s, '?') ? "&" : "?", 1, false);
	append(p, name, strlen(name), true);
	append(p, "=", 1, false);
	append(p, value, strlen(value), true);
}

void ctl_path_segment(ctl_path_t *p, const char *value)
{
	if (p->oom)
		return;
	append(p, "/", 1, false);
	append(p, value, strlen(value), true);
}

void ctl_path_free(ctl_path_t *p)
{
	free(p->s);
	p->s = NULL;
	p->len = 0;
}

int ctl_call_id(const ctl_t *ctl, const char *method, const char *base, const char *id,
		const char *rest, const char *body, dux_client_resp_t *ret)
{
	ctl_path_t p;
	ctl_path_init(&p, base);
	ctl_path_segment(&p, id);
	if (rest)
		ctl_path_segment(&p, rest);
	int rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		       : ctl_call(ctl, method, p.s, NULL, body, ret);
	ctl_path_free(&p);
	return rc;
}
