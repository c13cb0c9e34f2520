/* services.c - service rows: reading them, and replying with the JSON the database renders
 * (service_json in sql/001_store.sql), one object or a page of them. */
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t len, const PGresult *res, int col)
{
	snprintf(dst, len, "%s", PQgetvalue(res, 0, col));
}

int services_load(dux_db_conn_t *c, const char *id, bool lock, service_row_t *ret)
{
	const char *p[] = {id};
	PGresult *res;
	int r = lock ? dux_db_execp(c, "store_service_lock",
				    "SELECT id, owner, provider, version, version_seq, listed FROM"
				    " services WHERE id = $1 FOR UPDATE",
				    1, p, &res)
		     : dux_db_execp(c, "store_service_load",
				    "SELECT id, owner, provider, version, version_seq, listed FROM"
				    " services WHERE id = $1",
				    1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	memset(ret, 0, sizeof *ret);
	copy(ret->id, sizeof ret->id, res, 0);
	copy(ret->owner, sizeof ret->owner, res, 1);
	copy(ret->provider, sizeof ret->provider, res, 2);
	copy(ret->version, sizeof ret->version, res, 3);
	ret->version_seq = (int)dux_db_i64(res, 0, 4);
	ret->listed = dux_db_bool(res, 0, 5);
	PQclear(res);
	return 0;
}

int services_json(dux_db_conn_t *c, const char *id, char **ret_json)
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "store_service_json",
			     "SELECT service_json(s)::text FROM services s WHERE id = $1", 1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	*ret_json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return *ret_json ? 0 : DUX_ENOMEM;
}

void reply_no_service(dux_req_t *r, const char *id)
{
	if (service_id_ok(id))
		dux_reply_problem(r, 404, "not-found", "no service %s", id);
	else
		dux_reply_problem(r, 404, "not-found", "no service has this id (svc_ and 32 lowercase"
						       " hex digits)");
}

void reply_db_json(dux_req_t *r, int status, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (j)
		dux_reply_json(r, status, j);
	else
		dux_reply_problem(r, 500, "internal", "out of memory");
}

void reply_page(dux_req_t *r, const char *member, const PGresult *res, int64_t limit,
		const char *tag, int nkeys)
{
	int n = PQntuples(res), shown = n > limit ? (int)limit : n;
	char buf[CURSOR_MAX + 1];
	const char *next = NULL;
	if (n > limit) { /* the cursor: tag, then the last shown row's keys (columns 1..nkeys) */
		const char *parts[4] = {tag};
		for (int k = 1; k <= nkeys && k < 4; k++)
			parts[k] = PQgetvalue(res, shown - 1, k);
		next = cursor_encode(parts, nkeys + 1, buf) == 0 ? buf : NULL;
	}
	cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, member);
	bool ok = out && arr;
	for (int i = 0; ok && i < shown; i++) {
		cJSON *item = cJSON_Parse(PQgetvalue(res, i, 0));
		ok = item && cJSON_AddItemToArray(arr, item);
		if (!ok)
			cJSON_Delete(item);
	}
	if (ok && next)
		ok = cJSON_AddStringToObject(out, "next_cursor", next) != NULL;
	else if (ok)
		ok = cJSON_AddNullToObject(out, "next_cursor") != NULL;
	if (!ok) {
		cJSON_Delete(out);
		dux_reply_problem(r, 500, "internal", "out of memory");
		return;
	}
	dux_reply_json(r, 200, out);
}
