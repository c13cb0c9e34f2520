/* api_read.c - the public reading routes: GET /airdrop/status, /airdrop/eligibility/{node_id},
 * /airdrop/rounds, /airdrop/rounds/{id}, /airdrop/audit, /airdrop/audit/key. */
#include "airdrop.h"
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 100

void reply_db_json(dux_req_t *r, int status, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (j)
		dux_reply_json(r, status, j);
	else
		dux_reply_problem(r, 500, "internal", "out of memory");
}

static void add_sub(cJSON *events, const char *source, dux_sub_t *s)
{
	cJSON *o = cJSON_AddObjectToObject(events, source);
	cJSON_AddBoolToObject(o, "followed", s != NULL);
	if (s) {
		cJSON_AddNumberToObject(o, "seq", (double)dux_sub_cursor(s));
		cJSON_AddBoolToObject(o, "stuck", dux_sub_stuck(s));
	}
}

static cJSON *config_json(const airdrop_t *a)
{
	const airdrop_cfg_t *c = &a->cfg;
	char m[DUX_MONEY_STRLEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "threshold", dux_money_format(a->threshold, m));
	cJSON_AddNumberToObject(o, "min_reputation", c->min_reputation);
	cJSON_AddNumberToObject(o, "max_nodes_per_airdrop", (double)c->max_nodes);
	cJSON_AddNumberToObject(o, "eligibility_window", (double)c->eligibility_window);
	cJSON_AddNumberToObject(o, "heartbeat_window", (double)c->heartbeat_window);
	cJSON_AddNumberToObject(o, "min_node_age", (double)c->min_node_age);
	cJSON_AddNumberToObject(o, "flag_window", (double)c->flag_window);
	cJSON_AddStringToObject(o, "dust_min", dux_money_format(a->dust_min, m));
	cJSON_AddStringToObject(o, "weighting", a->weighted ? "work" : "equal");
	cJSON_AddNumberToObject(o, "approvals_required", (double)c->approvals_required);
	cJSON *ap = cJSON_AddArrayToObject(o, "approvers");
	for (size_t i = 0; i < c->approvers.n; i++)
		cJSON_AddItemToArray(ap, cJSON_CreateString(c->approvers.v[i]));
	cJSON_AddNumberToObject(o, "round_ttl", (double)c->round_ttl);
	return o;
}

void api_status(dux_req_t *r, void *app)
{
	airdrop_t *a = app;
	dux_db_conn_t *c;
	PGresult *res = NULL;
	char thr[24];
	snprintf(thr, sizeof thr, "%lld", (long long)a->threshold);
	const char *p[] = {thr};
	int rc = dux_db_acquire(dux_daemon_db(a->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(
			c,
			"SELECT json_build_object('fund', (SELECT json_build_object('balance',"
			"  flop(balance), 'read_at', utc_text(read_at), 'source', source,"
			"  'threshold_reached', balance >= $1::bigint) FROM fund),"
			" 'open_round', (SELECT round_json(r, false) FROM rounds r WHERE status IN"
			"  ('proposed', 'executing')),"
			" 'last_round', (SELECT round_json(r, false) FROM rounds r"
			"  ORDER BY created_at DESC, id DESC LIMIT 1),"
			" 'rounds_executed', (SELECT count(*) FROM rounds WHERE status = 'executed'),"
			" 'total_paid', flop(coalesce((SELECT sum(total) FROM rounds"
			"  WHERE status = 'executed'), 0)::bigint),"
			" 'nodes_known', (SELECT count(*) FROM nodes))::text",
			1, p, &res);
		dux_db_release(dux_daemon_db(a->d), c);
	}
	cJSON *out = rc == 0 ? cJSON_Parse(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!out) {
		dux_reply_err(r, rc < 0 ? rc : DUX_ENOMEM, "the airdrop's state");
		return;
	}
	cJSON_AddItemToObject(out, "config", config_json(a));
	cJSON *ev = cJSON_AddObjectToObject(out, "events");
	add_sub(ev, "duxos-registry", a->sub_registry);
	add_sub(ev, "duxos-escrow", a->sub_escrow);
	add_sub(ev, "duxos-tasks", a->sub_tasks);
	dux_reply_json(r, 200, out);
}

void api_eligibility(dux_req_t *r, void *app)
{
	airdrop_t *a = app;
	const char *id = dux_req_param(r, "node_id");
	if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32) {
		cJSON *ext = cJSON_CreateObject();
		cJSON_AddStringToObject(ext, "field", "node_id");
		dux_reply_problem_ext(r, 400, "invalid-field", ext,
				      "node_id must be 32 lowercase hex characters");
		return;
	}
	dux_db_conn_t *c;
	cJSON *out = NULL;
	int rc = dux_db_acquire(dux_daemon_db(a->d), &c);
	if (rc == 0) {
		rc = elig_explain(a, c, id, &out);
		dux_db_release(dux_daemon_db(a->d), c);
	}
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found",
				  "no node %s is known to the airdrop (from the registry's events)", id);
	else if (rc < 0)
		dux_reply_err(r, rc, "the eligibility");
	else
		dux_reply_json(r, 200, out);
}

static const char *status_filter(dux_req_t *r, bool *ok)
{
	static const char *const known[] = {"proposed", "executing", "executed", "expired",
					    "failed"};
	const char *s = dux_req_query(r, "status");
	*ok = true;
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(s, known[i]) == 0)
			return s;
	*ok = false;
	dux_reply_problem(r, 400, "invalid-query",
			  "status must be proposed, executing, executed, expired or failed");
	return NULL;
}

void api_rounds(dux_req_t *r, void *app)
{
	airdrop_t *a = app;
	int64_t limit;
	bool ok;
	const char *status = status_filter(r, &ok);
	if (!ok || !dux_req_query_i64(r, "limit", 20, 1, PAGE_MAX, &limit))
		return;
	const char *cursor = dux_req_query(r, "cursor");
	if (cursor && !rounds_id_valid(cursor)) {
		dux_reply_problem(r, 400, "invalid-query",
				  "cursor must be a next_cursor of an earlier page");
		return;
	}
	char lim[24];
	snprintf(lim, sizeof lim, "%lld", (long long)limit);
	const char *p[] = {status, cursor, lim};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(a->d), &c);
	if (rc == 0) {
		rc = dux_db_execp(
			c, "airdrop_rounds",
			"WITH page AS (SELECT r.* FROM rounds r WHERE ($1::text IS NULL OR status = $1)"
			"  AND ($2::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM rounds"
			"  WHERE id = $2)) ORDER BY created_at DESC, id DESC LIMIT $3::int + 1),"
			" shown AS (SELECT * FROM page ORDER BY created_at DESC, id DESC LIMIT $3::int)"
			" SELECT json_build_object('rounds', coalesce((SELECT json_agg(round_json(s, false)"
			"  ORDER BY s.created_at DESC, s.id DESC) FROM shown s), '[]'::json),"
			" 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int THEN"
			"  (SELECT id FROM shown ORDER BY created_at, id LIMIT 1) END)::text",
			3, p, &res);
		dux_db_release(dux_daemon_db(a->d), c);
	}
	if (rc < 0)
		dux_reply_err(r, rc, "the rounds");
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}

void api_round(dux_req_t *r, void *app)
{
	airdrop_t *a = app;
	const char *id = dux_req_param(r, "id");
	if (!rounds_id_valid(id)) {
		dux_reply_problem(r, 404, "not-found", "no round %s (ids are adr_ and 32 hex)", id);
		return;
	}
	dux_db_conn_t *c;
	char *json = NULL;
	int rc = dux_db_acquire(dux_daemon_db(a->d), &c);
	if (rc == 0) {
		rc = rounds_get(c, id, true, &json);
		dux_db_release(dux_daemon_db(a->d), c);
	}
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "no round %s", id);
	else if (rc < 0)
		dux_reply_err(r, rc, "the round");
	else
		reply_db_json(r, 200, json);
	free(json);
}

/* the page and the key, as the escrow's (dux/audit.h) */
void api_audit(dux_req_t *r, void *app)
{
	airdrop_t *a = app;
	dux_audit_t log = audit_log(a);
	dux_audit_reply_page(r, dux_daemon_db(a->d), &log);
}

void api_audit_key(dux_req_t *r, void *app)
{
	dux_audit_t log = audit_log(app);
	dux_audit_reply_key(r, &log);
}
