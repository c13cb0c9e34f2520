/* http_route.h - private: matching request paths against route patterns. */
#ifndef DUX_HTTP_ROUTE_H
#define DUX_HTTP_ROUTE_H

#include <dux/http.h>

#define ROUTE_MAX_SEGS 8
#define ROUTE_MAX_PARAMS 4
#define ROUTE_PATH_MAX 512

typedef struct {
	const dux_route_t *route;
	int nsegs;
	char *segs[ROUTE_MAX_SEGS]; /* literal text, or param name when is_param */
	bool is_param[ROUTE_MAX_SEGS];
	char *pattern; /* owned copy the segments point into */
} route_compiled_t;

typedef struct {
	char buf[ROUTE_PATH_MAX]; /* the split path; params point into it */
	int nparams;
	const char *names[ROUTE_MAX_PARAMS];
	const char *values[ROUTE_MAX_PARAMS];
} route_match_t;

int route_compile(const dux_route_t *r, route_compiled_t *ret);
void route_free(route_compiled_t *c);
/* Strips a "/v1" prefix; returns the index of the matching route, -1 when no pattern matches
 * the path, -2 when a pattern matches but not for this method (then *allow lists methods). */
int route_find(const route_compiled_t *routes, int n, const char *method, const char *path,
	       route_match_t *m, char *allow, size_t allowlen);

#endif
