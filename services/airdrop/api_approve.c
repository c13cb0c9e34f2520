/* api_approve.c - POST /airdrop/rounds/{id}/approve {"approver", "signature"}: one approver's
 * Ed25519 signature over the round's digest (its 64 hex characters). The signature is the
 * credential, so no bearer token is needed. Refusals:
 *   403 unknown-approver      approver is not one of airdrop.approvers
 *   422 invalid-signature     the signature does not verify for this round's digest
 *   409 already-approved      this key approved the round before (counted once)
 *   409 round-not-open        the round is executing, executed, expired or failed
 * The approval that reaches airdrop.approvals_required makes the round executing in the same
 * transaction (event airdrop.round.approved), then pays it (payout.c). */
#include "airdrop.h"
#include <dux/log.h>
#include <dux/sign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	airdrop_t *a;
	const char *id, *approver, *sig_b64;
	const dux_key_t *key;
	uint8_t sig[DUX_ED25519_SIG_LEN];
	char status[16];  /* of the round when refused */
	const char *refusal; /* the problem code */
	bool execute;
} approve_ctx_t;

static int record(dux_db_conn_t *c, approve_ctx_t *x, const char *digest)
{
	const char *p[] = {x->id, x->approver, x->sig_b64, digest};
	PGresult *res;
	int r = dux_db_exec(c,
			    "WITH ins AS (INSERT INTO approvals (round_id, approver, signature)"
			    " VALUES ($1, $2, $3) RETURNING 1)"
			    " SELECT (SELECT count(*) FROM approvals WHERE round_id = $1) + 1, required"
			    " FROM rounds WHERE id = $1",
			    3, p, &res);
	if (r < 0)
		return r;
	bool enough = dux_db_i64(res, 0, 0) >= dux_db_i64(res, 0, 1);
	PQclear(res);
	cJSON *data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "approver", x->approver);
	cJSON_AddStringToObject(data, "signature", x->sig_b64);
	cJSON_AddStringToObject(data, "digest", digest);
	r = audit_queue(c, "approved", x->id, x->approver, data);
	cJSON_Delete(data);
	if (r < 0 || !enough)
		return r;
	r = dux_db_exec(c,
			"UPDATE rounds SET status = 'executing', approved_at = now(),"
			" updated_at = now() WHERE id = $1",
			1, p, NULL);
	if (r == 0)
		r = dux_db_exec(c, "SELECT round_json(r, false)::text FROM rounds r WHERE id = $1", 1,
				p, &res);
	if (r < 0)
		return r;
	data = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	r = data ? dux_outbox_emit(c, "airdrop.round.approved", x->id, data) : DUX_ENOMEM;
	cJSON_Delete(data);
	x->execute = r == 0;
	return r;
}

static int approve_tx(dux_db_conn_t *c, void *arg)
{
	approve_ctx_t *x = arg;
	const char *p[] = {x->id, x->approver};
	PGresult *res;
	x->refusal = NULL;
	x->execute = false;
	int r = dux_db_exec(c,
			    "SELECT status, digest, EXISTS (SELECT 1 FROM approvals WHERE round_id = $1"
			    " AND approver = $2) FROM rounds WHERE id = $1 FOR UPDATE",
			    2, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	char digest[65];
	snprintf(x->status, sizeof x->status, "%s", PQgetvalue(res, 0, 0));
	snprintf(digest, sizeof digest, "%s", PQgetvalue(res, 0, 1));
	bool again = dux_db_bool(res, 0, 2);
	PQclear(res);
	if (dux_key_verify(x->key, digest, 64, x->sig) < 0)
		x->refusal = "invalid-signature";
	else if (again)
		x->refusal = "already-approved";
	else if (strcmp(x->status, "proposed") != 0)
		x->refusal = "round-not-open";
	if (x->refusal)
		return DUX_ECONFLICT;
	return record(c, x, digest);
}

static void refuse(dux_req_t *r, const approve_ctx_t *x)
{
	if (strcmp(x->refusal, "invalid-signature") == 0)
		dux_reply_problem(r, 422, x->refusal,
				  "the signature does not verify with approver %s over the digest of"
				  " round %s",
				  x->approver, x->id);
	else if (strcmp(x->refusal, "already-approved") == 0)
		dux_reply_problem(r, 409, x->refusal,
				  "approver %s approved round %s before (each key counts once)",
				  x->approver, x->id);
	else
		dux_reply_problem(r, 409, x->refusal, "round %s is %s: it takes no approvals",
				  x->id, x->status);
}

/* Reads and checks the body into x; replies and returns false on bad input. */
static bool read_body(dux_req_t *r, approve_ctx_t *x, cJSON **body)
{
	static const char *const allowed[] = {"approver", "signature", NULL};
	dux_verr_t e;
	size_t n = 0;
	*body = dux_req_json(r, allowed);
	if (!*body)
		return false;
	int rc = dux_json_str(*body, "approver", true, 43, 43, &x->approver, &e);
	if (rc == 0)
		rc = dux_json_str(*body, "signature", true, DUX_SIG_B64_LEN, DUX_SIG_B64_LEN,
				  &x->sig_b64, &e);
	if (rc == 0 && (dux_b64url_decode(x->sig_b64, strlen(x->sig_b64), x->sig, sizeof x->sig,
					  &n) < 0 ||
			n != sizeof x->sig))
		rc = dux_verr_set(&e, "signature", "is not base64url of a 64-byte Ed25519 signature");
	if (rc < 0) {
		dux_reply_verr(r, &e);
		return false;
	}
	int i = approvals_find(x->a, x->approver);
	if (i < 0) {
		dux_reply_problem(r, 403, "unknown-approver",
				  "%s is not one of the approvers (airdrop.approvers)", x->approver);
		return false;
	}
	x->key = x->a->approver_keys[i];
	return true;
}

void api_approve(dux_req_t *r, void *app)
{
	approve_ctx_t x = {.a = app, .id = dux_req_param(r, "id")};
	cJSON *body = NULL;
	char *json = NULL;
	if (!rounds_id_valid(x.id)) {
		dux_reply_problem(r, 404, "not-found", "no round %s (ids are adr_ and 32 hex)", x.id);
		return;
	}
	if (!read_body(r, &x, &body))
		goto out;
	int rc = dux_db_tx(dux_daemon_db(x.a->d), NULL, approve_tx, &x);
	if (rc == DUX_ENOENT) {
		dux_reply_problem(r, 404, "not-found", "no round %s", x.id);
		goto out;
	}
	if (rc == DUX_ECONFLICT && x.refusal) {
		refuse(r, &x);
		goto out;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the approval");
		goto out;
	}
	dux_log(DUX_LOG_INFO, dux_req_id(r), "round %s approved by %s%s", x.id, x.approver,
		x.execute ? ": enough approvals, paying" : "");
	if (x.execute)
		(void)payout_execute(x.a, x.id); /* its outcome is the round's status below */
	dux_db_conn_t *c;
	rc = dux_db_acquire(dux_daemon_db(x.a->d), &c);
	if (rc == 0) {
		rc = rounds_get(c, x.id, true, &json);
		dux_db_release(dux_daemon_db(x.a->d), c);
	}
	if (rc < 0)
		dux_reply_err(r, rc, "the round");
	else
		reply_db_json(r, 201, json);
out:
	free(json);
	cJSON_Delete(body);
}
