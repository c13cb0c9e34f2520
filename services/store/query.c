/* query.c - query strings of the GET routes, checked whole: a parameter the route does not
 * know (a typo such as ?tags=ai) or a single-valued one given twice is refused, never ignored,
 * so that nobody reads a result filtered otherwise than they asked. */
#include "store.h"
#include <string.h>

typedef struct {
	const char *const *allowed, *const *single;
	const char *bad;
	bool twice;
	const char *seen[16]; /* single-valued names met so far */
	int nseen;
} known_t;

static bool listed(const char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

static bool check_one(const char *name, const char *value, void *ctx)
{
	(void)value;
	known_t *k = ctx;
	if (!listed(k->allowed, name)) {
		k->bad = name;
		return false;
	}
	if (!listed(k->single, name))
		return true;
	for (int i = 0; i < k->nseen; i++) {
		if (strcmp(k->seen[i], name) == 0) {
			k->bad = name;
			k->twice = true;
			return false;
		}
	}
	if (k->nseen < (int)(sizeof k->seen / sizeof k->seen[0]))
		k->seen[k->nseen++] = name;
	return true;
}

/* A name worth repeating in a problem: anything else (any byte may come in a query) is not. */
static bool printable(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 40 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-[]") == n;
}

bool query_known_or_reply(dux_req_t *r, const char *const *allowed, const char *const *single)
{
	known_t k = {.allowed = allowed, .single = single};
	dux_req_query_each(r, check_one, &k);
	if (!k.bad)
		return true;
	if (!printable(k.bad)) {
		dux_reply_problem(r, 400, "invalid-query",
				  "the query has a parameter this route does not know");
		return false;
	}
	cJSON *ext = cJSON_CreateObject();
	cJSON_AddStringToObject(ext, "field", k.bad);
	if (k.twice)
		dux_reply_problem_ext(r, 400, "invalid-query", ext,
				      "query parameter %s is given more than once", k.bad);
	else
		dux_reply_problem_ext(r, 400, "invalid-query", ext,
				      "%s is not a query parameter of this route", k.bad);
	return false;
}
