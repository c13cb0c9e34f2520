/* api_send.c - POST /wallet/send: to a ledger account inside the ledger, to any other address
 * through the chain link. */
#include "chain.h"
#include <dux/json.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *owner, *from, *to;
	char from_buf[DUX_ADDRESS_MAX];
	int owned;       /* accounts of the owner (when from was not given) */
	bool from_known; /* from exists */
	bool internal;   /* to is a ledger account */
} send_ctx_t;

static int lookup_tx(dux_db_conn_t *c, void *arg)
{
	send_ctx_t *x = arg;
	const char *p[] = {x->owner, x->from, x->to};
	PGresult *res;
	int r = dux_db_execp(c, "wallet_send_lookup",
			     "SELECT (SELECT count(*) FROM accounts WHERE owner = $1),"
			     " (SELECT min(address) FROM accounts WHERE owner = $1),"
			     " EXISTS (SELECT 1 FROM accounts WHERE address = $2),"
			     " EXISTS (SELECT 1 FROM accounts WHERE address = $3)",
			     3, p, &res);
	if (r < 0)
		return r;
	x->owned = (int)dux_db_i64(res, 0, 0);
	snprintf(x->from_buf, sizeof x->from_buf, "%s", PQgetvalue(res, 0, 1));
	x->from_known = dux_db_bool(res, 0, 2);
	x->internal = dux_db_bool(res, 0, 3);
	PQclear(res);
	return 0;
}

/* Picks the account to pay from; replies and returns false when it cannot. */
static bool choose_from(dux_req_t *r, send_ctx_t *x)
{
	if (x->from) {
		if (!x->from_known)
			dux_reply_problem(r, 404, "account-not-found", "no account %s", x->from);
		return x->from_known;
	}
	if (x->owned == 0) {
		dux_reply_problem(r, 422, "no-account",
				  "you own no account to send from; create one with POST /wallet/address");
		return false;
	}
	if (x->owned > 1) {
		dux_verr_t e;
		if (dux_verr_set(&e, "from", "is required: you own %d accounts", x->owned) < 0)
			dux_reply_verr(r, &e);
		return false;
	}
	x->from = x->from_buf;
	if (strcmp(x->from, x->to) == 0) {
		dux_verr_t e;
		if (dux_verr_set(&e, "address", "must differ from the account sent from") < 0)
			dux_reply_verr(r, &e);
		return false;
	}
	return true;
}

static void send_internal(wallet_t *w, dux_req_t *r, const ledger_caller_t *who,
			  const char *id, const send_ctx_t *x, int64_t amount, const char *memo)
{
	cJSON *batch = cJSON_CreateArray();
	cJSON *it = ledger_item(batch, id, "immediate", NULL, x->from, x->to, amount);
	if (memo)
		cJSON_AddStringToObject(it, "memo", memo);
	cJSON *done = ledger_run(w, r, batch, who);
	if (done) {
		cJSON *t = cJSON_DetachItemFromArray(done, 0);
		bool existed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "existed"));
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "internal");
		cJSON_AddNullToObject(o, "txid");
		cJSON_AddItemToObject(o, "transfer", t);
		dux_reply_json(r, existed ? 200 : 201, o);
	}
	cJSON_Delete(done);
	cJSON_Delete(batch);
}

void api_send(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"address", "amount", "from", "memo", NULL};
	wallet_t *w = app;
	ledger_caller_t who;
	send_ctx_t x = {.owner = dux_req_token(r)->sub};
	const char *memo = NULL, *why = NULL;
	int64_t amount = 0;
	dux_verr_t e;
	cJSON *body = dux_req_json(r, allowed);
	if (!body || !idem_key_check(r) || !caller_of(w, r, &who))
		goto out;
	if (who.delegator[0])
		x.owner = who.delegator; /* a service sends for the owner, from the owner's account */
	dux_net_t net = dux_daemon_net(w->d);
	int rc = dux_json_str(body, "address", true, 1, DUX_ADDRESS_MAX - 1, &x.to, &e);
	if (rc == 0 && dux_address_validate(x.to, net, NULL, &why) < 0)
		rc = dux_verr_set(&e, "address", "is not a %s Flopcoin address: %s",
				  dux_net_name(net), why);
	if (rc == 0)
		rc = dux_json_money(body, "amount", true, &amount, &e);
	if (rc == 0 && amount <= 0)
		rc = dux_verr_set(&e, "amount", "must be positive");
	if (rc == 0)
		rc = dux_json_str(body, "from", false, 1, DUX_ADDRESS_MAX - 1, &x.from, &e);
	if (rc == 0 && x.from && strcmp(x.from, x.to) == 0)
		rc = dux_verr_set(&e, "address", "must differ from the account sent from");
	if (rc == 0)
		rc = dux_json_str(body, "memo", false, 0, WALLET_MEMO_MAX, &memo, &e);
	if (rc < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	rc = dux_db_tx(dux_daemon_db(w->d), NULL, lookup_tx, &x);
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
		goto out;
	}
	if (!choose_from(r, &x))
		goto out;
	char id[WALLET_ID_MAX + 1];
	transfer_id_for(r, "send", id); /* one key, one send, wherever it goes */
	if (x.internal)
		send_internal(w, r, &who, id, &x, amount, memo);
	else if (w->flopcoind)
		chain_withdraw(w, r, &who, id, x.from, x.to, amount, memo);
	else
		dux_reply_problem(r, 422, "no-chain-link",
				  "%s is not a ledger account, and this wallet has no chain link "
				  "(wallet.chain: none) to send outside the ledger",
				  x.to);
out:
	cJSON_Delete(body);
}

/* GET /v1/withdrawals/{id}: how a withdrawal stands (a send answered 202 settles later). */
void api_withdrawal_get(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	const char *id = dux_req_param(r, "id");
	dux_db_conn_t *c = NULL;
	PGresult *res = NULL;
	const char *p[] = {id};
	int rc = transfer_id_valid(id) ? dux_db_acquire(dux_daemon_db(w->d), &c) : DUX_ENOENT;
	if (rc == 0)
		rc = dux_db_execp(c, "wallet_withdrawal_get",
				  "SELECT withdrawal_json(w)::text, a.owner FROM withdrawals w"
				  " JOIN accounts a ON a.address = w.account WHERE w.id = $1",
				  1, p, &res);
	if (rc == 0 && (PQntuples(res) == 0 || !caller_may_read(r, PQgetvalue(res, 0, 1))))
		rc = DUX_ENOENT;
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "no withdrawal %s", id);
	else if (rc < 0)
		dux_reply_err(r, rc, "the ledger");
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (c)
		dux_db_release(dux_daemon_db(w->d), c);
}
