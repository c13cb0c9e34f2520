/* payout.c - paying an approved round: one call to the escrow, the community fund's owner,
 * POST /v1/community-fund/payouts {round_id, total, recipients}, which the escrow turns into
 * wallet batches with ids derived from the round id (all or none, idempotent). The round is
 * `executing` (committed with its last approval) before the call is made, so a crash, a lost
 * answer or a retry at any point ends in the same place: the monitor calls again after
 * airdrop.recovery_grace_ms, the escrow answers what it did the first time, and the round is
 * paid exactly once, never in part.
 *
 *   2xx                       executed (event airdrop.round.executed, audit "executed")
 *   400, 404, 409 (but payout-in-progress), 422: refused for good: failed (nothing was paid;
 *                             event airdrop.round.failed, audit "failed")
 *   401, 403, 409 payout-in-progress, 429, 5xx, no answer: stays executing; tried again */
#include "airdrop.h"
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *id;
	const char *status;
	cJSON *payout;     /* the escrow's answer (borrowed) */
	const char *reason; /* failed */
	bool done;
} finish_ctx_t;

static int finish_tx(dux_db_conn_t *c, void *arg)
{
	finish_ctx_t *x = arg;
	char *payout = x->payout ? cJSON_PrintUnformatted(x->payout) : NULL;
	const char *p[] = {x->id, x->status, payout, x->reason};
	PGresult *res;
	int r = dux_db_exec(c,
			    "UPDATE rounds r SET status = $2, payout = $3::jsonb, reason = $4,"
			    " executed_at = CASE WHEN $2 = 'executed' THEN now() END, updated_at = now()"
			    " WHERE id = $1 AND status = 'executing'"
			    " RETURNING round_json(r, $2 = 'executed')::text",
			    4, p, &res);
	free(payout);
	if (r < 0)
		return r;
	cJSON *data = PQntuples(res) ? cJSON_Parse(PQgetvalue(res, 0, 0)) : NULL;
	x->done = PQntuples(res) == 1;
	PQclear(res);
	if (!x->done)
		return 0; /* finished by another caller meanwhile */
	bool ok = strcmp(x->status, "executed") == 0;
	r = data ? dux_outbox_emit(c, ok ? "airdrop.round.executed" : "airdrop.round.failed", x->id,
				   data)
		 : DUX_ENOMEM;
	if (r == 0) {
		/* the audit entry of an execution names every recipient (the round's JSON) */
		r = audit_queue(c, ok ? "executed" : "failed", x->id, "duxos-airdrop", data);
	}
	cJSON_Delete(data);
	return r;
}

/* The request body for the escrow, and the round's status; DUX_ENOENT when unknown. */
static int load(airdrop_t *a, const char *id, char status[16], char **ret_body)
{
	dux_db_conn_t *c;
	PGresult *res = NULL;
	const char *p[] = {id};
	int r = dux_db_acquire(dux_daemon_db(a->d), &c);
	if (r < 0)
		return r;
	r = dux_db_execp(c, "airdrop_payout_body",
			 "SELECT r.status, json_build_object('round_id', r.id, 'total', flop(r.total),"
			 " 'recipients', (SELECT json_agg(json_build_object('address', x.address,"
			 " 'amount', flop(x.amount)) ORDER BY x.position) FROM recipients x"
			 " WHERE x.round_id = r.id))::text FROM rounds r WHERE r.id = $1",
			 1, p, &res);
	dux_db_release(dux_daemon_db(a->d), c);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = DUX_ENOENT;
	else {
		snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
		*ret_body = strdup(PQgetvalue(res, 0, 1));
		r = *ret_body ? 0 : DUX_ENOMEM;
	}
	PQclear(res);
	return r;
}

static bool refused_for_good(const peer_resp_t *resp)
{
	long s = resp->status;
	if (s == 409)
		return strcmp(resp->problem, "payout-in-progress") != 0;
	return s == 400 || s == 404 || s == 422;
}

static int finish(airdrop_t *a, finish_ctx_t *x)
{
	int r = dux_db_tx(dux_daemon_db(a->d), NULL, finish_tx, x);
	if (r == 0 && x->done)
		dux_info("round %s %s%s%s", x->id, x->status, x->reason ? ": " : "",
			 x->reason ? x->reason : "");
	return r;
}

int payout_execute(airdrop_t *a, const char *round_id)
{
	char status[16], *body = NULL;
	peer_resp_t resp = {0};
	int r = load(a, round_id, status, &body);
	if (r < 0)
		goto out;
	if (strcmp(status, "executed") == 0)
		goto out;
	if (strcmp(status, "executing") != 0) {
		r = DUX_ECONFLICT;
		goto out;
	}
	r = peer_escrow(a, "POST", "/v1/community-fund/payouts", body, round_id, &resp);
	if (r < 0) {
		dux_warn("round %s: the escrow did not answer the payout; tried again later", round_id);
		goto out;
	}
	finish_ctx_t x = {.id = round_id, .status = "executed", .payout = resp.json};
	char reason[512];
	if (resp.status == 200 || resp.status == 201) {
		r = finish(a, &x);
	} else if (refused_for_good(&resp)) {
		snprintf(reason, sizeof reason, "the escrow refused the payout: %ld %s: %s",
			 resp.status, resp.problem, resp.detail);
		x.status = "failed";
		x.payout = NULL;
		x.reason = reason;
		r = finish(a, &x);
		if (r == 0)
			r = DUX_ECONFLICT;
	} else {
		dux_warn("round %s: the escrow answered the payout %ld %s: %s; tried again later",
			 round_id, resp.status, resp.problem, resp.detail);
		r = DUX_EUNAVAIL;
	}
out:
	peer_resp_clear(&resp);
	free(body);
	return r;
}
