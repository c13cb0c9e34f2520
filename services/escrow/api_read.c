/* api_read.c - reading escrows, the community fund and the audit log. */
#include "escrow.h"
#include <dux/address.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 500

static bool privileged(const dux_req_t *r)
{
	return dux_req_token(r)->scopes & (DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN);
}

/* The owner of the escrow's provider_wallet reads it too (asked of the wallet); anyone else
 * finds someone else's escrow as unknown as a missing one. */
static int provider_reads(escrow_t *e, const escrow_row_t *row, const char *sub)
{
	int owns = wl_owns(e, row->provider_wallet, sub);
	return owns < 0 ? owns : owns ? 0 : DUX_ENOENT;
}

void api_get(dux_req_t *r, void *app)
{
	escrow_t *e = app;
	const char *id = dux_req_param(r, "id");
	escrow_row_t row;
	char *json = NULL;
	dux_db_conn_t *c;
	int rc = strlen(id) == ESCROW_ID_LEN ? dux_db_acquire(dux_daemon_db(e->d), &c) : DUX_ENOENT;
	if (rc == 0) {
		rc = escrows_load(c, id, false, &row);
		if (rc == 0 && !privileged(r) && strcmp(row.owner, dux_req_token(r)->sub) != 0)
			rc = provider_reads(e, &row, dux_req_token(r)->sub);
		if (rc == 0)
			rc = escrows_get(c, id, &json);
		dux_db_release(dux_daemon_db(e->d), c);
	}
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "no escrow %s", id);
	else if (rc < 0)
		dux_reply_err(r, rc, "the escrow");
	else
		reply_db_json(r, 200, json);
	free(json);
}

static bool cursor_ok(const char *s)
{
	return !s || (strlen(s) == ESCROW_ID_LEN && strncmp(s, "esc_", 4) == 0 &&
		      strspn(s + 4, "0123456789abcdef") == 32);
}

static const char *const statuses[] = {"creating", "held",	"releasing", "released", "refunding",
				       "refunded", "disputed", "resolving", "resolved", "failed"};

static bool status_ok(const char *s)
{
	for (size_t i = 0; s && i < sizeof statuses / sizeof statuses[0]; i++)
		if (strcmp(s, statuses[i]) == 0)
			return true;
	return !s;
}

void api_list(dux_req_t *r, void *app)
{
	escrow_t *e = app;
	int64_t limit;
	if (!dux_req_query_i64(r, "limit", 50, 1, PAGE_MAX, &limit))
		return;
	const char *user = dux_req_query(r, "user"), *provider = dux_req_query(r, "provider");
	const char *api = dux_req_query(r, "api_id"), *status = dux_req_query(r, "status");
	const char *cursor = dux_req_query(r, "cursor");
	if (!cursor_ok(cursor) || !status_ok(status)) {
		dux_reply_problem(r, 400, "invalid-query", "%s",
				  !status_ok(status) ? "status is not an escrow status"
						     : "cursor must be a next_cursor of an earlier page");
		return;
	}
	const char *why;
	if (provider && dux_address_validate(provider, dux_daemon_net(e->d), NULL, &why) < 0) {
		cJSON *ext = cJSON_CreateObject();
		cJSON_AddStringToObject(ext, "field", "provider");
		dux_reply_problem_ext(r, 400, "invalid-query", ext,
				      "query parameter provider is not a %s Flopcoin address: %s",
				      dux_net_name(dux_daemon_net(e->d)), why);
		return;
	}
	char lim[24];
	snprintf(lim, sizeof lim, "%lld", (long long)limit + 1);
	/* callers other than services and admins see their own escrows, and those paying an
	 * account of theirs when they ask for it by provider */
	const char *owner = privileged(r) ? NULL : dux_req_token(r)->sub;
	if (owner && provider) {
		int owns = wl_owns(e, provider, owner);
		if (owns < 0) {
			dux_reply_err(r, owns, "the wallet (who owns the provider account)");
			return;
		}
		if (owns)
			owner = NULL;
	}
	const char *p[] = {user, provider, api, status, owner, cursor, lim};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(e->d), &c);
	if (rc == 0) {
		rc = dux_db_execp(c, "escrow_list",
				  "SELECT escrow_json(e)::text, id FROM escrows e WHERE"
				  " ($1::text IS NULL OR user_wallet = $1)"
				  " AND ($2::text IS NULL OR provider_wallet = $2)"
				  " AND ($3::text IS NULL OR api_id = $3) AND ($4::text IS NULL OR status = $4)"
				  " AND ($5::text IS NULL OR owner = $5) AND ($6::text IS NULL OR id > $6)"
				  " ORDER BY id LIMIT $7::int",
				  7, p, &res);
		dux_db_release(dux_daemon_db(e->d), c);
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the escrows");
		return;
	}
	int n = PQntuples(res), shown = n > limit ? (int)limit : n;
	cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "escrows");
	for (int i = 0; i < shown; i++)
		cJSON_AddItemToArray(arr, cJSON_Parse(PQgetvalue(res, i, 0)));
	if (n > limit)
		cJSON_AddStringToObject(out, "next_cursor", PQgetvalue(res, shown - 1, 1));
	else
		cJSON_AddNullToObject(out, "next_cursor");
	PQclear(res);
	dux_reply_json(r, 200, out);
}

/* The fund: its balance as the fund job last read it from the wallet (every
 * escrow.fund_interval_ms; changed_at: when it last changed), its shards, rate and threshold,
 * the total it received, and the latest inflows. No wallet call per request: the route is
 * public. */
void api_fund(dux_req_t *r, void *app)
{
	escrow_t *e = app;
	int64_t limit;
	if (!dux_req_query_i64(r, "limit", 20, 1, PAGE_MAX, &limit))
		return;
	char lim[24], thr[DUX_MONEY_STRLEN];
	snprintf(lim, sizeof lim, "%lld", (long long)limit);
	const char *p[] = {lim};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(e->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(c,
				 "SELECT json_build_object('balance', (SELECT flop(balance) FROM fund_state),"
				 " 'changed_at', (SELECT utc_text(updated_at) FROM fund_state),"
				 " 'total_inflow', flop(coalesce((SELECT"
				 " sum(paid_community) FROM escrows), 0)::bigint),"
				 " 'inflows', coalesce((SELECT json_agg(json_build_object('escrow_id', id,"
				 " 'api_id', api_id, 'amount', flop(paid_community), 'at',"
				 " utc_text(finished_at))) FROM (SELECT * FROM escrows WHERE paid_community > 0"
				 " ORDER BY finished_at DESC, id LIMIT $1::int) i), '[]'::json))::text",
				 1, p, &res);
		dux_db_release(dux_daemon_db(e->d), c);
	}
	cJSON *out = rc == 0 ? cJSON_Parse(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!out) {
		dux_reply_err(r, rc < 0 ? rc : DUX_ENOMEM, "the fund");
		return;
	}
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(out, "balance"))) {
		cJSON_Delete(out);
		dux_reply_header(r, "Retry-After", "2");
		dux_reply_problem(r, 503, "fund-not-ready",
				  "the fund's balance is not known yet (is the wallet up?)");
		return;
	}
	cJSON_AddStringToObject(out, "threshold", dux_money_format(e->fund_threshold, thr));
	cJSON_AddNumberToObject(out, "community_bps", (double)e->cfg.community_bps);
	cJSON *shards = cJSON_AddArrayToObject(out, "shards");
	for (int i = 0; i < fund_shard_count(); i++)
		cJSON_AddItemToArray(shards, cJSON_CreateString(e->shards[i]));
	dux_reply_json(r, 200, out);
}

void api_audit(dux_req_t *r, void *app)
{
	escrow_t *e = app;
	dux_audit_t log = audit_log(e);
	dux_audit_reply_page(r, dux_daemon_db(e->d), &log);
}

void api_audit_key(dux_req_t *r, void *app)
{
	dux_audit_t log = audit_log(app);
	dux_audit_reply_key(r, &log);
}
