/* api_transfers.c - POST /v1/transfers (a batch, all or none) and GET /v1/transfers/{id}. */
#include "wallet.h"
#include <dux/json.h>
#include <stdio.h>
#include <string.h>

/* Any transfer not seen before makes the answer 201. */
static int batch_status(const cJSON *out)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, out)
	{
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t, "existed")))
			return 201;
	}
	return 200;
}

void api_transfers_post(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"transfers", NULL};
	wallet_t *w = app;
	ledger_caller_t who;
	cJSON *batch = cJSON_CreateArray();
	const cJSON *items = NULL, *it;
	dux_verr_t e;
	cJSON *body = dux_req_json(r, allowed);
	if (!body || !caller_of(w, r, &who))
		goto out;
	int rc = dux_json_array(body, "transfers", true, WALLET_MAX_BATCH, &items, &e);
	if (rc == 0 && cJSON_GetArraySize(items) == 0)
		rc = dux_verr_set(&e, "transfers", "must hold at least one transfer");
	int i = 0;
	cJSON_ArrayForEach(it, items)
	{
		if (rc < 0)
			break;
		rc = transfer_input(w, it, batch, &e);
		if (rc < 0) {
			char f[sizeof e.field + 24];
			snprintf(f, sizeof f, "transfers[%d]%s%s", i, *e.field ? "." : "", e.field);
			snprintf(e.field, sizeof e.field, "%.*s", (int)sizeof e.field - 1, f);
		}
		i++;
	}
	if (rc < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	cJSON *done = ledger_run(w, r, batch, &who);
	if (done) {
		cJSON *o = cJSON_CreateObject();
		int status = batch_status(done);
		cJSON_AddItemToObject(o, "transfers", done);
		dux_reply_json(r, status, o);
	}
out:
	cJSON_Delete(batch);
	cJSON_Delete(body);
}

void api_transfer_get(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	const char *id = dux_req_param(r, "id");
	if (!transfer_id_valid(id)) {
		dux_reply_problem(r, 404, "not-found", "no transfer %s", id);
		return;
	}
	dux_db_conn_t *c = NULL;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(w->d), &c);
	const char *p[] = {id};
	if (rc == 0)
		rc = dux_db_execp(c, "wallet_transfer_get",
				  "SELECT transfer_json(t)::text, t.actor, coalesce(d.owner, ''),"
				  " coalesce(k.owner, '') FROM transfers t"
				  " LEFT JOIN accounts d ON d.address = t.debit"
				  " LEFT JOIN accounts k ON k.address = t.credit WHERE t.id = $1",
				  1, p, &res);
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
	} else if (PQntuples(res) == 0 ||
		   !(caller_may_read(r, PQgetvalue(res, 0, 1)) ||
		     caller_may_read(r, PQgetvalue(res, 0, 2)) ||
		     caller_may_read(r, PQgetvalue(res, 0, 3)))) {
		/* someone else's transfer is as unknown as a missing one */
		dux_reply_problem(r, 404, "not-found", "no transfer %s", id);
	} else {
		dux_reply_json(r, 200, cJSON_Parse(PQgetvalue(res, 0, 0)));
	}
	PQclear(res);
	if (c)
		dux_db_release(dux_daemon_db(w->d), c);
}
