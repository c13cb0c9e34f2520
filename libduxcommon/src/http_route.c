/* http_route.c - route patterns with {params}, matched segment by segment. */
#include "http_route.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int route_compile(const dux_route_t *r, route_compiled_t *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->route = r;
	ret->pattern = strdup(r->pattern);
	if (!ret->pattern)
		return DUX_ENOMEM;
	char *save = NULL;
	int nparams = 0;
	for (char *s = strtok_r(ret->pattern, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (ret->nsegs == ROUTE_MAX_SEGS)
			return DUX_ERANGE;
		size_t n = strlen(s);
		bool p = n > 2 && s[0] == '{' && s[n - 1] == '}';
		if (p) {
			if (++nparams > ROUTE_MAX_PARAMS)
				return DUX_ERANGE;
			s[n - 1] = '\0';
			s++;
		}
		ret->is_param[ret->nsegs] = p;
		ret->segs[ret->nsegs++] = s;
	}
	return 0;
}

void route_free(route_compiled_t *c)
{
	free(c->pattern);
	c->pattern = NULL;
}

/* Splits path into segments in m->buf; -1 when malformed (empty segment, too long). */
static int split(const char *path, route_match_t *m, char **segs)
{
	if (path[0] != '/' || strlen(path) >= sizeof m->buf)
		return -1;
	if (strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0)
		path += 3;
	snprintf(m->buf, sizeof m->buf, "%s", path);
	int n = 0;
	char *p = m->buf + 1;
	if (!*p)
		return 0;
	for (;;) {
		if (n == ROUTE_MAX_SEGS)
			return -1;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (!*p)
			return -1;
		segs[n++] = p;
		if (!slash)
			return n;
		p = slash + 1;
	}
}

static bool matches(const route_compiled_t *c, char **segs, int n, route_match_t *m)
{
	if (c->nsegs != n)
		return false;
	for (int i = 0; i < n; i++)
		if (!c->is_param[i] && strcmp(c->segs[i], segs[i]) != 0)
			return false;
	m->nparams = 0;
	for (int i = 0; i < n; i++) {
		if (c->is_param[i]) {
			m->names[m->nparams] = c->segs[i];
			m->values[m->nparams++] = segs[i];
		}
	}
	return true;
}

int route_find(const route_compiled_t *routes, int n, const char *method, const char *path,
	       route_match_t *m, char *allow, size_t allowlen)
{
	char *segs[ROUTE_MAX_SEGS];
	int nsegs = split(path, m, segs);
	if (nsegs < 0)
		return -1;
	int found = -1;
	size_t o = 0;
	allow[0] = '\0';
	/* HEAD is GET without the body (RFC 9110 9.3.2): libmicrohttpd leaves the body out */
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	for (int i = 0; i < n; i++) {
		if (!matches(&routes[i], segs, nsegs, m))
			continue;
		const char *rm = routes[i].route->method;
		if (strcmp(rm, want) == 0)
			return i;
		found = -2;
		if (!strstr(allow, rm))
			o += (size_t)snprintf(allow + o, o < allowlen ? allowlen - o : 0, "%s%s%s",
					      o ? ", " : "", rm, strcmp(rm, "GET") == 0 ? ", HEAD" : "");
	}
	return found;
}
