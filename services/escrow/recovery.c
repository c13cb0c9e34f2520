/* recovery.c - one copy of the daemon finishes what a crash or a lost answer left half done,
 * and refunds escrows past their timeout.
 *
 *   creating  (older than CREATE_GRACE_S) the holds exist in the wallet: held; they do not:
 *             failed (create_unconfirmed), nothing was moved
 *   releasing, refunding, resolving (older than STEP_GRACE_S): the wallet step again (its ids
 *             make it idempotent), then the final state
 *   held past timeout_at: refunding with reason refunded_timeout, then the same */
#include "escrow.h"
#include <dux/bus.h>
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREATE_GRACE_S "30" /* longer than a create request can take */
#define STEP_GRACE_S "5"
#define BATCH "50"

typedef struct {
	escrow_t *e;
	const char *id;
	bool held; /* creating: the holds exist */
	bool done;
} create_ctx_t;

static int settle_create_tx(dux_db_conn_t *c, void *arg)
{
	create_ctx_t *x = arg;
	const char *p[] = {x->id, x->held ? "held" : "failed",
			   x->held ? NULL : "create_unconfirmed"};
	PGresult *res;
	int r = dux_db_exec(c,
			    "UPDATE escrows e SET status = $2, reason = $3, updated_at = now(),"
			    " finished_at = CASE WHEN $2 = 'failed' THEN now() END"
			    " WHERE id = $1 AND status = 'creating' RETURNING escrow_json(e)::text",
			    3, p, &res);
	if (r < 0 || PQntuples(res) == 0) {
		if (r == 0)
			PQclear(res);
		return r;
	}
	cJSON *data = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	x->done = true;
	if (!x->held) {
		cJSON_Delete(data);
		return 0;
	}
	r = data ? dux_outbox_emit(c, "escrow.created", x->id, data) : DUX_ENOMEM;
	if (r == 0)
		r = audit_queue(c, "held", x->id, "duxos-escrow", data);
	cJSON_Delete(data);
	return r;
}

/* A create whose answer was lost: the wallet says whether its holds exist. */
static void finish_create(escrow_t *e, const escrow_row_t *row)
{
	char hold[96];
	escrow_tid(row->id, row->provider_share > 0 ? "hold:p" : "hold:f", hold);
	char path[160];
	snprintf(path, sizeof path, "/v1/transfers/%s", hold);
	wl_resp_t resp;
	if (wl_call(e, "GET", path, NULL, NULL, NULL, &resp) < 0 ||
	    (resp.status != 200 && resp.status != 404)) {
		wl_resp_clear(&resp);
		return; /* the wallet cannot tell now: next round */
	}
	create_ctx_t x = {.e = e, .id = row->id, .held = resp.status == 200};
	wl_resp_clear(&resp);
	if (dux_db_tx(dux_daemon_db(e->d), NULL, settle_create_tx, &x) == 0 && x.done)
		dux_info("recovered escrow %s: %s", row->id, x.held ? "held" : "failed (not held)");
}

static void finish_step(escrow_t *e, const escrow_row_t *row)
{
	wl_resp_t resp;
	int r = moves_complete(e, row, "duxos-escrow", NULL, &resp);
	wl_resp_clear(&resp);
	if (r == 0)
		dux_info("recovered escrow %s: %s finished", row->id, row->status);
}

/* Held escrows past their timeout become refunding (refunded_timeout), dated an hour back so
 * that this same round refunds them. */
static int expire(dux_db_conn_t *c)
{
	return dux_db_exec(c,
			   "WITH due AS (SELECT id FROM escrows WHERE status = 'held'"
			   "  AND timeout_at <= now() ORDER BY timeout_at LIMIT " BATCH
			   "  FOR UPDATE SKIP LOCKED)"
			   " UPDATE escrows e SET status = 'refunding', reason = 'refunded_timeout',"
			   " updated_at = now() - interval '1 hour' FROM due WHERE e.id = due.id",
			   0, NULL, NULL);
}

int recovery_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	escrow_t *e = ctx;
	PGresult *res;
	int r = expire(c);
	if (r == 0)
		r = dux_db_exec(c,
				"SELECT id FROM escrows WHERE status IN ('releasing', 'refunding',"
				" 'resolving') AND updated_at < now() - interval '" STEP_GRACE_S " s'"
				" UNION ALL (SELECT id FROM escrows WHERE status = 'creating'"
				" AND updated_at < now() - interval '" CREATE_GRACE_S " s')"
				" LIMIT " BATCH,
				0, NULL, &res);
	if (r < 0)
		return r;
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		escrow_row_t row;
		if (escrows_load(c, PQgetvalue(res, i, 0), false, &row) < 0)
			continue;
		if (strcmp(row.status, "creating") == 0)
			finish_create(e, &row);
		else if (strcmp(row.status, "held") != 0)
			finish_step(e, &row);
	}
	PQclear(res);
	return n == atoi(BATCH);
}
