/* api_list.c - GET /tasks: the caller's tasks (services and admins: anyone's, or ?owner=),
 * newest first, filtered by state, kind and service, in pages with an opaque cursor. */
#include "tasks.h"
#include <stdio.h>
#include <string.h>

static bool one_of(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return !s;
}

/* created_at in microseconds, '.', the id: where the previous page stopped. */
static bool cursor_ok(const char *s)
{
	if (!s)
		return true;
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : 0;
	return dot && n >= 1 && n <= 19 && strspn(s, "0123456789") == n &&
	       strlen(dot + 1) == TASK_ID_LEN && strncmp(dot + 1, "tsk_", 4) == 0 &&
	       strspn(dot + 5, "0123456789abcdef") == 32;
}

static bool filters_ok(dux_req_t *r, const char *state, const char *kind, const char *owner,
		       const char *service, const char *cursor)
{
	static const char *const states[] = {"queued", "running", "succeeded", "failed",
					     "cancelled", NULL};
	static const char *const kinds[] = {"generic", "call", NULL};
	const char *bad = !one_of(state, states) ? "state must be queued, running, succeeded,"
						   " failed or cancelled"
			  : !one_of(kind, kinds) ? "kind must be generic or call"
			  : owner && (!*owner || strlen(owner) > 128) ? "owner must be 1 to 128 characters"
			  : service && (!*service || strlen(service) > 128)
				  ? "service_id must be 1 to 128 characters"
			  : !cursor_ok(cursor) ? "cursor must be a next_cursor of an earlier page"
					       : NULL;
	if (bad)
		dux_reply_problem(r, 400, "invalid-query", "%s", bad);
	return !bad;
}

void api_task_list(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	const char *state = dux_req_query(r, "state"), *kind = dux_req_query(r, "kind");
	const char *owner = dux_req_query(r, "owner"), *service = dux_req_query(r, "service_id");
	const char *cursor = dux_req_query(r, "cursor");
	int64_t limit;
	if (!dux_req_query_i64(r, "limit", 20, 1, 100, &limit) ||
	    !filters_ok(r, state, kind, owner, service, cursor))
		return;
	if (!is_admin_or_service(r)) {
		if (owner && strcmp(owner, dux_req_token(r)->sub) != 0) {
			dux_reply_problem(r, 403, "forbidden", "only services and admins list the"
							       " tasks of others");
			return;
		}
		owner = dux_req_token(r)->sub;
	}
	char lim[24];
	snprintf(lim, sizeof lim, "%lld", (long long)limit + 1);
	const char *p[] = {owner, state, kind, service, cursor, lim};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(c,
			"SELECT task_json(t, false)::text,"
			" (extract(epoch FROM created_at) * 1000000)::bigint || '.' || id FROM tasks t"
			" WHERE ($1::text IS NULL OR owner = $1) AND ($2::text IS NULL OR state = $2)"
			" AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR service_id = $4)"
			" AND ($5::text IS NULL OR (created_at, id) < ('epoch'::timestamptz"
			"   + split_part($5, '.', 1)::bigint * interval '1 microsecond',"
			"   split_part($5, '.', 2)))"
			" ORDER BY created_at DESC, id DESC LIMIT $6::int",
			6, p, &res);
		dux_db_release(dux_daemon_db(t->d), c);
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "listing tasks");
		return;
	}
	int n = PQntuples(res), shown = n > limit ? (int)limit : n;
	cJSON *out = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(out, "tasks");
	for (int i = 0; i < shown; i++)
		cJSON_AddItemToArray(items, cJSON_Parse(PQgetvalue(res, i, 0)));
	if (n > limit)
		cJSON_AddStringToObject(out, "next_cursor", PQgetvalue(res, shown - 1, 1));
	else
		cJSON_AddNullToObject(out, "next_cursor");
	PQclear(res);
	dux_reply_json(r, 200, out);
}
