/* moves.c - the wallet step of each outcome, and recording it as done.
 *
 *   release: post both holds;  refund: void both;  split of R released: the provider's hold
 *   posted for R - floor(R x bps / 10000), the fund's for floor(R x bps / 10000), the rest of
 *   each released to the user (a part of 0 is a void).
 * The posts and voids carry ids derived from the escrow's, so running a step again (a retry,
 * the recovery job after a crash) finds them done and moves nothing. */
#include "escrow.h"
#include <dux/bus.h>
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void split_amount(int64_t amount, int32_t bps, int64_t *ret_provider, int64_t *ret_community)
{
	int64_t community = 0;
	if (dux_money_share_bps(amount, bps, &community) < 0)
		community = 0; /* bounds are checked at configuration */
	*ret_community = community;
	*ret_provider = amount - community;
}

/* One hold's post (of part) or void. A hold of 0 does not exist. */
static void settle_hold(cJSON *items, const escrow_row_t *row, const char *side, int64_t hold,
			int64_t part)
{
	char hold_id[96], id[96], what[16];
	if (hold == 0)
		return;
	snprintf(what, sizeof what, "hold:%s", side);
	escrow_tid(row->id, what, hold_id);
	snprintf(what, sizeof what, "%s:%s", part > 0 ? "post" : "void", side);
	escrow_tid(row->id, what, id);
	wl_item(items, id, part > 0 ? "post" : "void", NULL, NULL, hold_id, part > 0 ? part : -1);
}

int moves_settle(escrow_t *e, const escrow_row_t *row, const char *outcome,
		 int64_t *ret_provider, int64_t *ret_community, wl_resp_t *resp)
{
	int64_t pp = 0, pc = 0;
	if (strcmp(outcome, "release") == 0) {
		pp = row->provider_share;
		pc = row->community_share;
	} else if (strcmp(outcome, "split") == 0) {
		split_amount(row->split_amount, row->community_bps, &pp, &pc);
	}
	cJSON *items = cJSON_CreateArray();
	settle_hold(items, row, "p", row->provider_share, pp);
	settle_hold(items, row, "f", row->community_share, pc);
	int r = wl_transfers(e, items, NULL, resp);
	cJSON_Delete(items);
	if (r == 0 && resp->status >= 500)
		r = DUX_EUNAVAIL;
	else if (r == 0 && resp->status >= 400)
		r = DUX_ECONFLICT;
	if (r == 0) {
		*ret_provider = pp;
		*ret_community = pc;
	}
	return r;
}

/* The final status of an intent. */
static const char *final_of(const char *intent)
{
	return strcmp(intent, "releasing") == 0 ? "released"
	       : strcmp(intent, "refunding") == 0 ? "refunded"
						  : "resolved";
}

typedef struct {
	const escrow_row_t *row;
	int64_t pp, pc;
	const char *actor;
	char *json;
} finish_ctx_t;

static int finish_tx(dux_db_conn_t *c, void *arg)
{
	finish_ctx_t *x = arg;
	char pp[24], pc[24];
	snprintf(pp, sizeof pp, "%lld", (long long)x->pp);
	snprintf(pc, sizeof pc, "%lld", (long long)x->pc);
	const char *status = final_of(x->row->status);
	const char *p[] = {x->row->id, x->row->status, status, pp, pc};
	PGresult *res;
	int r = dux_db_execp(c, "escrow_finish",
			     "UPDATE escrows e SET status = $3, paid_provider = $4::bigint,"
			     " paid_community = $5::bigint, finished_at = now(), updated_at = now()"
			     " WHERE id = $1 AND status = $2 RETURNING escrow_json(e)::text",
			     5, p, &res);
	if (r < 0)
		return r;
	bool mine = PQntuples(res) == 1; /* else finished meanwhile by another thread */
	free(x->json);
	x->json = mine ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!mine)
		return escrows_get(c, x->row->id, &x->json);
	cJSON *data = cJSON_Parse(x->json);
	/* the types as literals, where tests/contract/event_schemas.sh finds them */
	r = data ? dux_outbox_emit(c,
				   strcmp(status, "released") == 0   ? "escrow.released"
				   : strcmp(status, "refunded") == 0 ? "escrow.refunded"
								     : "escrow.resolved",
				   x->row->id, data)
		 : DUX_ENOMEM;
	if (r == 0)
		r = audit_queue(c, status, x->row->id, x->actor, data);
	cJSON_Delete(data);
	return r;
}

int moves_finish(escrow_t *e, const escrow_row_t *row, int64_t paid_provider,
		 int64_t paid_community, const char *actor, char **ret_json)
{
	finish_ctx_t x = {.row = row, .pp = paid_provider, .pc = paid_community, .actor = actor};
	int r = dux_db_tx(dux_daemon_db(e->d), NULL, finish_tx, &x);
	if (r == 0 && ret_json)
		*ret_json = x.json;
	else
		free(x.json);
	return r;
}

bool moves_is_intent(const char *status)
{
	return strcmp(status, "releasing") == 0 || strcmp(status, "refunding") == 0 ||
	       strcmp(status, "resolving") == 0;
}

int moves_complete(escrow_t *e, const escrow_row_t *row, const char *actor, char **ret_json,
		   wl_resp_t *resp)
{
	memset(resp, 0, sizeof *resp);
	if (!moves_is_intent(row->status))
		return DUX_ECONFLICT; /* finished meanwhile: nothing to do */
	const char *outcome = strcmp(row->status, "releasing") == 0   ? "release"
			      : strcmp(row->status, "refunding") == 0 ? "refund"
			      : strcmp(row->reason, "resolved_release") == 0 ? "release"
			      : strcmp(row->reason, "resolved_refund") == 0  ? "refund"
									     : "split";
	int64_t pp = 0, pc = 0;
	int r = moves_settle(e, row, outcome, &pp, &pc, resp);
	if (r == DUX_ECONFLICT)
		dux_error("escrow %s: the wallet refused to %s it: %ld %s: %s", row->id, outcome,
			  resp->status, resp->problem, resp->detail);
	if (r == 0)
		r = moves_finish(e, row, pp, pc, actor, ret_json);
	return r;
}
