/* api_settle.c - the transitions of a held escrow:
 *
 *   release  (service, admin)  held -> releasing -> released        reason released
 *   refund   (service, admin)  held -> refunding -> refunded        reason refunded_failure |
 *                                                                   refunded_request
 *   dispute  (its owner)       held -> disputed (frozen: no timeout, no release, no refund)
 *   resolve  (admin)           disputed -> resolving -> resolved    reason resolved_refund |
 *                                                                   resolved_release |
 *                                                                   resolved_split
 * (and the recovery job: held -> refunding -> refunded, reason refunded_timeout).
 * The intent commits before the wallet moves anything; asking again for what is already done
 * answers it as it stands (a release with another result hash and a resolve with another
 * outcome are 409). */
#include "escrow.h"
#include <dux/bus.h>
#include <dux/json.h>
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *id, *from, *to, *reason;
	const char *result_hash, *dispute_reason, *resolution, *resolved_by;
	int64_t split;
	const char *actor;
	escrow_row_t row;
	char found[16];  /* the status found when it was not `from` */
	char *json;      /* disputed: the escrow */
} begin_t;

static int begin_tx(dux_db_conn_t *c, void *arg)
{
	begin_t *x = arg;
	int r = escrows_load(c, x->id, true, &x->row);
	if (r < 0)
		return r;
	if (strcmp(x->row.status, x->from) != 0) {
		snprintf(x->found, sizeof x->found, "%s", x->row.status);
		return DUX_ECONFLICT;
	}
	char split[24];
	snprintf(split, sizeof split, "%lld", (long long)x->split);
	const char *p[] = {x->id, x->to, x->reason, x->result_hash, x->dispute_reason,
			   x->resolution, x->resolution ? split : NULL, x->resolved_by};
	PGresult *res;
	r = dux_db_exec(c,
			"UPDATE escrows e SET status = $2, reason = coalesce($3, reason),"
			" result_hash = coalesce($4, result_hash),"
			" dispute_reason = coalesce($5, dispute_reason),"
			" disputed_at = CASE WHEN $2 = 'disputed' THEN now() ELSE disputed_at END,"
			" resolution = coalesce($6, resolution),"
			" split_amount = coalesce($7::bigint, split_amount),"
			" resolved_by = coalesce($8, resolved_by), updated_at = now()"
			" WHERE id = $1 RETURNING escrow_json(e)::text",
			8, p, &res);
	if (r < 0)
		return r;
	x->json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!x->json)
		return DUX_ENOMEM;
	r = escrows_load(c, x->id, false, &x->row);
	if (r < 0 || strcmp(x->to, "disputed") != 0)
		return r;
	/* a dispute moves no money: it is done here, with its audit entry and event */
	cJSON *data = cJSON_Parse(x->json);
	r = data ? dux_outbox_emit(c, "escrow.disputed", x->id, data) : DUX_ENOMEM;
	if (r == 0)
		r = audit_queue(c, "disputed", x->id, x->actor, data);
	cJSON_Delete(data);
	return r;
}

/* Reads {"escrow_id": ...} and the other members named; replies and returns NULL on bad input. */
static cJSON *body_with_id(dux_req_t *r, const char *const *allowed, const char **ret_id)
{
	dux_verr_t err;
	cJSON *body = dux_req_json(r, allowed);
	if (!body)
		return NULL;
	if (dux_json_str(body, "escrow_id", true, 1, 64, ret_id, &err) < 0) {
		dux_reply_verr(r, &err);
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static void reply_escrow(dux_req_t *r, int status, const char *json, cJSON *validation)
{
	cJSON *o = cJSON_Parse(json);
	if (o && validation)
		cJSON_AddItemToObject(o, "validation", validation);
	else
		cJSON_Delete(validation);
	if (!o) {
		dux_reply_problem(r, 500, "internal", "out of memory");
		return;
	}
	dux_reply_json(r, status, o);
}

/* The intent is recorded: the wallet step, and the answer. */
static void complete(escrow_t *e, dux_req_t *r, begin_t *x, cJSON *validation)
{
	char *json = NULL;
	wl_resp_t w;
	int rc = moves_complete(e, &x->row, x->actor, &json, &w);
	if (rc == 0) {
		reply_escrow(r, 200, json, validation);
	} else if (rc == DUX_ECONFLICT) {
		cJSON_Delete(validation);
		dux_reply_problem(r, 502, "wallet-refused",
				  "the wallet refused to settle escrow %s (%s); it stays %s and is"
				  " retried", x->id, w.problem, x->row.status);
	} else {
		/* recorded as an intent: the recovery job finishes it */
		reply_escrow(r, 202, x->json, validation);
	}
	free(json);
	wl_resp_clear(&w);
}

/* Runs begin_tx and replies to what stops it; true when the intent is recorded. found_ok: a
 * status that means "already done as asked" (answered 200 as it stands); the intent itself
 * found again is answered 202. */
static bool begin(escrow_t *e, dux_req_t *r, begin_t *x, const char *found_ok)
{
	int rc = dux_db_tx(dux_daemon_db(e->d), NULL, begin_tx, x);
	if (rc == 0)
		return true;
	char *json = NULL;
	/* already done as asked: 200; the same step already under way (its request died, or
	 * the copy that took it did; the recovery job finishes it): 202, as its first answer */
	bool done = found_ok && strcmp(x->found, found_ok) == 0;
	bool under_way = moves_is_intent(x->to) && strcmp(x->found, x->to) == 0;
	if (rc == DUX_ECONFLICT && (done || under_way)) {
		dux_db_conn_t *c;
		if (dux_db_acquire(dux_daemon_db(e->d), &c) == 0) {
			if (escrows_get(c, x->id, &json) == 0)
				reply_db_json(r, done ? 200 : 202, json);
			dux_db_release(dux_daemon_db(e->d), c);
		}
		if (json) {
			free(json);
			return false;
		}
		rc = DUX_EUNAVAIL;
	}
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "no escrow %s", x->id);
	else if (rc == DUX_ECONFLICT)
		dux_reply_problem(r, 409, "invalid-state", "escrow %s is %s; this needs it %s", x->id,
				  x->found, x->from);
	else
		dux_reply_err(r, rc, "the escrow");
	return false;
}

void api_release(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"escrow_id", "result_hash", NULL};
	escrow_t *e = app;
	begin_t x = {.from = "held", .to = "releasing", .reason = "released",
		     .actor = dux_req_token(r)->sub};
	cJSON *validation = NULL, *body = body_with_id(r, allowed, &x.id);
	dux_verr_t err;
	if (!body)
		return;
	if (dux_json_str(body, "result_hash", true, 64, 64, &x.result_hash, &err) < 0 ||
	    (!hex64_valid(x.result_hash) &&
	     dux_verr_set(&err, "result_hash", "must be a SHA-256 digest: 64 lowercase hex digits") < 0)) {
		dux_reply_verr(r, &err);
		goto out;
	}
	escrow_row_t row;
	int rc = escrows_read(e, x.id, &row);
	if (rc == DUX_ENOENT) {
		dux_reply_problem(r, 404, "not-found", "no escrow %s", x.id);
		goto out;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the escrow");
		goto out;
	}
	if (*row.result_hash && strcmp(row.result_hash, x.result_hash) != 0) {
		dux_reply_problem(r, 409, "result-differs",
				  "escrow %s is %s with another result hash", x.id, row.status);
		goto out;
	}
	if (strcmp(row.status, "held") == 0 && !validate_result(e, r, &row, x.result_hash, &validation))
		goto out;
	if (begin(e, r, &x, "released"))
		complete(e, r, &x, validation);
	else
		cJSON_Delete(validation);
out:
	free(x.json);
	cJSON_Delete(body);
}

void api_refund(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"escrow_id", "reason", NULL};
	escrow_t *e = app;
	begin_t x = {.from = "held", .to = "refunding", .reason = "refunded_request",
		     .actor = dux_req_token(r)->sub};
	const char *why = NULL;
	dux_verr_t err;
	cJSON *body = body_with_id(r, allowed, &x.id);
	if (!body)
		return;
	if (dux_json_str(body, "reason", false, 1, 16, &why, &err) < 0 ||
	    (why && strcmp(why, "failure") != 0 && strcmp(why, "request") != 0 &&
	     dux_verr_set(&err, "reason", "must be failure (the work failed) or request") < 0)) {
		dux_reply_verr(r, &err);
		goto out;
	}
	if (why && strcmp(why, "failure") == 0)
		x.reason = "refunded_failure";
	if (begin(e, r, &x, "refunded"))
		complete(e, r, &x, NULL);
out:
	free(x.json);
	cJSON_Delete(body);
}

void api_dispute(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"escrow_id", "reason", NULL};
	escrow_t *e = app;
	begin_t x = {.from = "held", .to = "disputed", .actor = dux_req_token(r)->sub};
	dux_verr_t err;
	cJSON *body = body_with_id(r, allowed, &x.id);
	if (!body)
		return;
	if (dux_json_str(body, "reason", true, 1, 1000, &x.dispute_reason, &err) < 0) {
		dux_reply_verr(r, &err);
		goto out;
	}
	escrow_row_t row;
	int rc = escrows_read(e, x.id, &row);
	if (rc == 0 && strcmp(row.owner, x.actor) != 0)
		rc = DUX_ENOENT; /* someone else's escrow is as unknown as a missing one */
	if (rc == DUX_ENOENT) {
		dux_reply_problem(r, 404, "not-found", "no escrow %s of yours", x.id);
		goto out;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the escrow");
		goto out;
	}
	if (begin(e, r, &x, NULL)) {
		dux_info("escrow %s disputed by %s: %s", x.id, x.actor, x.dispute_reason);
		reply_db_json(r, 200, x.json);
	}
out:
	free(x.json);
	cJSON_Delete(body);
}

void api_resolve(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"escrow_id", "outcome", "provider_amount", NULL};
	escrow_t *e = app;
	begin_t x = {.from = "disputed", .to = "resolving", .actor = dux_req_token(r)->sub};
	x.resolved_by = x.actor;
	dux_verr_t err;
	char reason[32];
	cJSON *body = body_with_id(r, allowed, &x.id);
	if (!body)
		return;
	int rc = dux_json_str(body, "outcome", true, 1, 16, &x.resolution, &err);
	if (rc == 0 && strcmp(x.resolution, "refund") != 0 && strcmp(x.resolution, "release") != 0 &&
	    strcmp(x.resolution, "split") != 0)
		rc = dux_verr_set(&err, "outcome", "must be refund, release or split");
	bool split = rc == 0 && strcmp(x.resolution, "split") == 0;
	if (rc == 0)
		rc = dux_json_money(body, "provider_amount", split, &x.split, &err);
	if (rc == 0 && !split && cJSON_GetObjectItemCaseSensitive(body, "provider_amount"))
		rc = dux_verr_set(&err, "provider_amount", "is only for a split");
	if (rc == 0 && split && x.split <= 0)
		rc = dux_verr_set(&err, "provider_amount", "must be positive (use refund for none)");
	if (rc < 0) {
		dux_reply_verr(r, &err);
		goto out;
	}
	snprintf(reason, sizeof reason, "resolved_%s", x.resolution);
	x.reason = reason;
	escrow_row_t row;
	rc = escrows_read(e, x.id, &row);
	/* the split must fit the escrow (whose amount never changes) */
	if (rc == 0 && split && x.split > row.amount) {
		if (dux_verr_set(&err, "provider_amount", "is more than the escrow's amount") < 0)
			dux_reply_verr(r, &err);
		goto out;
	}
	if (rc == 0 && strcmp(row.status, "resolved") == 0 && strcmp(row.reason, reason) != 0) {
		dux_reply_problem(r, 409, "already-resolved", "escrow %s was resolved otherwise (%s)",
				  x.id, row.reason);
		goto out;
	}
	if (begin(e, r, &x, "resolved"))
		complete(e, r, &x, NULL);
out:
	free(x.json);
	cJSON_Delete(body);
}
