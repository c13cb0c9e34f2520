/* recovery.c - one copy of the daemon finishes what a crash or a lost answer left half done,
 * and refunds escrows past their timeout.
 *
 *   creating  (older than escrow.recovery_grace_ms) the holds exist in the wallet: held; they
 *             do not: failed (create_unconfirmed), nothing was moved
 *   releasing, refunding, resolving (as old): the wallet step again (its ids make it
 *             idempotent), then the final state
 *   held past timeout_at: refunding with reason refunded_timeout, then the same
 *   disputed for longer than escrow.dispute_timeout: refunding with reason
 *             refunded_dispute_timeout (nobody resolved it), then the same
 *   failed (create_unconfirmed) in the last day, every 5 minutes: a hold that reached the
 *             wallet after all (a request it ran late) is voided, so no money stays held.
 * The grace is longer than any request can wait for the wallet (3 attempts of
 * escrow.wallet_timeout_ms); a request that then still waits for a database connection to
 * record the outcome finds the escrow settled, and a late hold is voided. */
#include "escrow.h"
#include <dux/bus.h>
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
			    " finished_at = CASE WHEN $2 = 'failed' THEN now() END,"
			    " late_check_at = CASE WHEN $2 = 'failed' THEN now() END"
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

/* Voids the holds of escrows given up on (create_unconfirmed) that reached the wallet after
 * all: the escrow's identity made them, so it may void them; the void ids are derived, so a
 * hold already voided answers "existed". */
static void void_late_holds(escrow_t *e, dux_db_conn_t *c)
{
	PGresult *res;
	if (dux_db_exec(c,
			"SELECT id FROM escrows WHERE status = 'failed' AND late_check_at <= now()"
			" AND finished_at > now() - interval '1 day' ORDER BY late_check_at LIMIT 5",
			0, NULL, &res) < 0)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		escrow_row_t row;
		wl_resp_t w;
		if (escrows_load(c, PQgetvalue(res, i, 0), false, &row) < 0)
			continue;
		memset(&w, 0, sizeof w);
		int64_t pp, pc;
		int rv = moves_settle(e, &row, "refund", &pp, &pc, &w);
		if (rv == 0)
			dux_warn("escrow %s: a hold reached the wallet after the escrow gave up on it;"
				 " voided", row.id);
		/* voided: done; no hold yet (404) or no answer: look again in five minutes */
		const char *p[] = {row.id, rv == 0 ? "t" : "f"};
		if (dux_db_exec(c,
				"UPDATE escrows SET late_check_at = CASE WHEN $2::boolean THEN NULL"
				" ELSE now() + interval '5 min' END WHERE id = $1",
				2, p, NULL) < 0)
			dux_warn("escrow %s: could not record the late-hold check", row.id);
		wl_resp_clear(&w);
	}
	PQclear(res);
}

/* Held escrows past their timeout become refunding (refunded_timeout), and disputes nobody
 * resolved within escrow.dispute_timeout (refunded_dispute_timeout), dated an hour back so
 * that this same round refunds them. An admin's resolve races on the same row's status. */
static int expire(escrow_t *e, dux_db_conn_t *c)
{
	char dispute[24];
	snprintf(dispute, sizeof dispute, "%lld", (long long)e->cfg.dispute_timeout);
	const char *p[] = {dispute};
	int r = dux_db_exec(c,
			    "WITH due AS (SELECT id FROM escrows WHERE status = 'held'"
			    "  AND timeout_at <= now() ORDER BY timeout_at LIMIT " BATCH
			    "  FOR UPDATE SKIP LOCKED)"
			    " UPDATE escrows e SET status = 'refunding', reason = 'refunded_timeout',"
			    " updated_at = now() - interval '1 hour' FROM due WHERE e.id = due.id",
			    0, NULL, NULL);
	if (r == 0)
		r = dux_db_exec(c,
				"WITH due AS (SELECT id FROM escrows WHERE status = 'disputed'"
				"  AND disputed_at <= now() - make_interval(secs => $1::bigint)"
				"  ORDER BY disputed_at LIMIT " BATCH " FOR UPDATE SKIP LOCKED)"
				" UPDATE escrows e SET status = 'refunding',"
				" reason = 'refunded_dispute_timeout',"
				" updated_at = now() - interval '1 hour' FROM due WHERE e.id = due.id",
				1, p, NULL);
	return r;
}

int recovery_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	escrow_t *e = ctx;
	PGresult *res;
	char grace[24];
	snprintf(grace, sizeof grace, "%lld", (long long)e->cfg.recovery_grace_ms);
	const char *p[] = {grace};
	int r = expire(e, c);
	if (r == 0)
		r = dux_db_exec(c,
				"SELECT id FROM escrows WHERE status IN ('creating', 'releasing',"
				" 'refunding', 'resolving')"
				" AND updated_at < now() - make_interval(secs => $1::bigint / 1000.0)"
				" LIMIT " BATCH,
				1, p, &res);
	if (r == 0)
		void_late_holds(e, c);
	if (r < 0)
		return r;
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		escrow_row_t row;
		if (escrows_load(c, PQgetvalue(res, i, 0), false, &row) < 0)
			continue;
		if (strcmp(row.status, "creating") == 0)
			finish_create(e, &row);
		else if (moves_is_intent(row.status))
			finish_step(e, &row);
	}
	PQclear(res);
	return n == atoi(BATCH);
}
