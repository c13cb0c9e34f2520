/* api_read.c - reading one service: GET /services/{id} (the current version, or an earlier
 * one with ?version=X) and GET /services/{id}/versions (every version, newest first). Public:
 * the catalogue is for anyone to browse, delisted services included (listed false). */
#include "store.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_service_get(dux_req_t *r, void *app)
{
	static const char *const params[] = {"version", NULL};
	store_t *s = app;
	const char *id = dux_req_param(r, "id"), *version = dux_req_query(r, "version");
	const char *why = NULL;
	if (!query_known_or_reply(r, params, params))
		return;
	if (version && semver_check(version, &why) < 0) {
		cJSON *ext = cJSON_CreateObject();
		cJSON_AddStringToObject(ext, "field", "version");
		dux_reply_problem_ext(r, 400, "invalid-query", ext,
				      "query parameter version is not a semantic version: %s", why);
		return;
	}
	if (!service_id_ok(id)) {
		reply_no_service(r, id);
		return;
	}
	const char *p[] = {id, version};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(s->d), &c);
	if (rc == 0) {
		rc = dux_db_execp(c, "store_get",
				  "SELECT CASE WHEN $2::text IS NULL OR s.version = $2 THEN service_json(s)"
				  " ELSE (SELECT service_version_json(s, v) FROM service_versions v"
				  " WHERE v.service_id = s.id AND v.version = $2) END::text"
				  " FROM services s WHERE s.id = $1",
				  2, p, &res);
		dux_db_release(dux_daemon_db(s->d), c);
	}
	if (rc < 0)
		dux_reply_err(r, rc, "the service");
	else if (PQntuples(res) == 0)
		reply_no_service(r, id);
	else if (PQgetisnull(res, 0, 0))
		dux_reply_problem(r, 404, "version-not-found", "service %s has no version %s", id,
				  version);
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* The cursor of the versions list: the seq of the last version shown. */
static bool versions_cursor(dux_req_t *r, char seq[16])
{
	const char *cur = dux_req_query(r, "cursor");
	char buf[CURSOR_MAX], *parts[2];
	snprintf(seq, 16, "%d", INT32_MAX);
	if (!cur)
		return true;
	char *end = NULL;
	long v = 0;
	if (cursor_decode(cur, 2, buf, sizeof buf, parts) == 0 && strcmp(parts[0], "v") == 0 &&
	    strspn(parts[1], "0123456789") == strlen(parts[1]) && strlen(parts[1]) <= 9) {
		errno = 0;
		v = strtol(parts[1], &end, 10);
	}
	if (!end || *end || v < 1) {
		cJSON *ext = cJSON_CreateObject();
		cJSON_AddStringToObject(ext, "field", "cursor");
		dux_reply_problem_ext(r, 400, "invalid-query", ext,
				      "cursor must be a next_cursor of an earlier page of this list");
		return false;
	}
	snprintf(seq, 16, "%d", (int)v); /* at most 9 digits */
	return true;
}

void api_service_versions(dux_req_t *r, void *app)
{
	static const char *const params[] = {"limit", "cursor", NULL};
	store_t *s = app;
	const char *id = dux_req_param(r, "id");
	int64_t limit;
	char seq[16], lim[24];
	if (!query_known_or_reply(r, params, params) ||
	    !dux_req_query_i64(r, "limit", PAGE_DEFAULT, 1, PAGE_MAX, &limit) ||
	    !versions_cursor(r, seq))
		return;
	if (!service_id_ok(id)) {
		reply_no_service(r, id);
		return;
	}
	snprintf(lim, sizeof lim, "%lld", (long long)limit + 1);
	const char *p[] = {id, seq, lim};
	service_row_t row;
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(s->d), &c);
	if (rc == 0) {
		rc = services_load(c, id, false, &row);
		if (rc == 0)
			rc = dux_db_execp(
				c, "store_versions",
				"SELECT j::text, seq FROM ("
				" SELECT version_entry(version_seq, version, provider, name, description,"
				" price, tags, endpoint, rate_limit, version_at, NULL) AS j,"
				" version_seq AS seq FROM services WHERE id = $1"
				" UNION ALL"
				" SELECT version_entry(seq, version, provider, name, description, price,"
				" tags, endpoint, rate_limit, published_at, superseded_at), seq"
				" FROM service_versions WHERE service_id = $1) x"
				" WHERE seq < $2::int ORDER BY seq DESC LIMIT $3::int",
				3, p, &res);
		dux_db_release(dux_daemon_db(s->d), c);
	}
	if (rc == DUX_ENOENT) {
		reply_no_service(r, id);
		return;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the versions");
		return;
	}
	reply_page(r, "versions", res, limit, "v", 1);
	PQclear(res);
}
