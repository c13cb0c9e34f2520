/* chain_withdraw.c - withdrawals to the chain, never sent twice.
 *
 * 1. One transaction holds amount + wallet.fee_reserve (a pending transfer whose credit is the
 *    outside) and records the withdrawal as "sending".
 * 2. sendtoaddress with the withdrawal's id as the comment (the wallet unlocked around it when
 *    encrypted).
 * 3. Sent: the hold is posted for amount + the real fee, the rest released ("sent"). Refused or
 *    never delivered: the hold is voided ("failed"). No answer: the row stays "sending" and the
 *    recovery job looks for the comment in the node's wallet: found, it is settled as sent;
 *    absent, nothing was sent and it fails. A send is never repeated. */
#include "chain.h"
#include "rpc.h"
#include <dux/bus.h>
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *id, *from, *address, *memo;
	int64_t amount, hold; /* hold: amount + wallet.fee_reserve */
	const ledger_caller_t *who;
	ledger_refusal_t why;
	bool existed;
	char *json; /* the withdrawal */
	char state[16];
} hold_ctx_t;

static int withdrawal_read(dux_db_conn_t *c, const char *id, bool lock, char **ret,
			   char state[16])
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_exec(c,
			    lock ? "SELECT withdrawal_json(w)::text, state FROM withdrawals w"
				   " WHERE id = $1 FOR UPDATE"
				 : "SELECT withdrawal_json(w)::text, state FROM withdrawals w WHERE id = $1",
			    1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	if (ret) {
		free(*ret);
		*ret = strdup(PQgetvalue(res, 0, 0));
	}
	snprintf(state, 16, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

static int hold_tx(dux_db_conn_t *c, void *arg)
{
	hold_ctx_t *x = arg;
	cJSON *batch = cJSON_CreateArray(), *out = NULL;
	cJSON *it = ledger_item(batch, x->id, "pending", "withdrawal", x->from, NULL, x->hold);
	if (x->memo)
		cJSON_AddStringToObject(it, "memo", x->memo);
	int r = ledger_apply(c, batch, x->who, &out, &x->why);
	if (r == 0) {
		x->existed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetArrayItem(out, 0), "existed"));
	}
	char amount[24];
	snprintf(amount, sizeof amount, "%lld", (long long)x->amount);
	const char *p[] = {x->id, x->from, x->address, amount};
	if (r == 0 && !x->existed)
		r = dux_db_exec(c,
				"INSERT INTO withdrawals (id, account, address, amount, state)"
				" VALUES ($1, $2, $3, $4::bigint, 'sending')",
				4, p, NULL);
	if (r == 0)
		r = withdrawal_read(c, x->id, false, &x->json, x->state);
	cJSON_Delete(out);
	cJSON_Delete(batch);
	return r;
}

/* ---- settling */

typedef struct {
	const char *id, *txid, *reason;
	int64_t fee; /* sent: the network fee */
	bool settled;
	char *json;
	char state[16];
} settle_ctx_t;

static int emit_withdrawal(dux_db_conn_t *c, settle_ctx_t *x, const char *type)
{
	char st[16];
	int r = withdrawal_read(c, x->id, false, &x->json, st);
	cJSON *data = r == 0 ? cJSON_Parse(x->json) : NULL;
	if (r == 0)
		r = data ? dux_outbox_emit(c, type, x->id, data) : DUX_ENOMEM;
	cJSON_Delete(data);
	return r;
}

/* Posts the hold for amount + fee (at most the hold) and marks the withdrawal sent. */
static int sent_tx(dux_db_conn_t *c, void *arg)
{
	settle_ctx_t *x = arg;
	x->settled = false;
	int r = withdrawal_read(c, x->id, true, &x->json, x->state);
	if (r < 0 || strcmp(x->state, "sending") != 0)
		return r; /* settled by another thread or copy meanwhile */
	const char *p[] = {x->id};
	PGresult *res;
	r = dux_db_exec(c,
			"SELECT w.amount, t.amount FROM withdrawals w JOIN transfers t ON t.id = w.id"
			" WHERE w.id = $1",
			1, p, &res);
	if (r < 0)
		return r;
	int64_t amount = dux_db_i64(res, 0, 0), hold = dux_db_i64(res, 0, 1), spent;
	PQclear(res);
	if (dux_money_add(amount, x->fee, &spent) < 0 || spent > hold) {
		dux_warn("withdrawal %s: the fee exceeded wallet.fee_reserve; the node's wallet paid"
			 " the difference", x->id);
		spent = hold;
	}
	char post_id[WALLET_ID_MAX + 32], fee[24];
	snprintf(post_id, sizeof post_id, WALLET_SYSTEM_PREFIX "sent:%s", x->id);
	snprintf(fee, sizeof fee, "%lld", (long long)x->fee);
	cJSON *batch = cJSON_CreateArray(), *out = NULL;
	cJSON_AddStringToObject(ledger_item(batch, post_id, "post", NULL, NULL, NULL, spent),
				"pending_id", x->id);
	ledger_caller_t sys = {.actor = "duxos-wallet", .system = true};
	ledger_refusal_t why;
	r = ledger_apply(c, batch, &sys, &out, &why);
	cJSON_Delete(out);
	cJSON_Delete(batch);
	const char *u[] = {x->id, x->txid, fee};
	if (r == 0)
		r = dux_db_exec(c,
				"UPDATE withdrawals SET state = 'sent', txid = $2, fee = $3::bigint,"
				" updated_at = now() WHERE id = $1",
				3, u, NULL);
	if (r == 0)
		r = emit_withdrawal(c, x, "wallet.withdrawal.sent");
	x->settled = r == 0;
	return r;
}

/* Voids the hold and marks the withdrawal failed with reason. */
static int failed_tx(dux_db_conn_t *c, void *arg)
{
	settle_ctx_t *x = arg;
	x->settled = false;
	int r = withdrawal_read(c, x->id, true, &x->json, x->state);
	if (r < 0 || strcmp(x->state, "sending") != 0)
		return r;
	char void_id[WALLET_ID_MAX + 32];
	snprintf(void_id, sizeof void_id, WALLET_SYSTEM_PREFIX "unsent:%s", x->id);
	cJSON *batch = cJSON_CreateArray(), *out = NULL;
	cJSON_AddStringToObject(ledger_item(batch, void_id, "void", NULL, NULL, NULL, 0),
				"pending_id", x->id);
	ledger_caller_t sys = {.actor = "duxos-wallet", .system = true};
	ledger_refusal_t why;
	r = ledger_apply(c, batch, &sys, &out, &why);
	cJSON_Delete(out);
	cJSON_Delete(batch);
	const char *u[] = {x->id, x->reason};
	if (r == 0)
		r = dux_db_exec(c,
				"UPDATE withdrawals SET state = 'failed', reason = $2, updated_at = now()"
				" WHERE id = $1",
				2, u, NULL);
	if (r == 0)
		r = emit_withdrawal(c, x, "wallet.withdrawal.failed");
	x->settled = r == 0;
	return r;
}

/* The fee of a sent transaction (gettransaction reports it negative). */
static int send_fee(wallet_t *w, const char *txid, int64_t *ret)
{
	char params[96];
	snprintf(params, sizeof params, "[\"%s\"]", txid);
	cJSON *res = NULL;
	rpc_error_t err;
	int r = rpc_call(w->rpc, "gettransaction", params, &res, &err);
	int64_t fee = 0;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(res, "fee");
	if (r == 0 && (!f || rpc_amount(f, &fee) < 0 || fee > 0))
		r = DUX_EPROTO;
	if (r == 0)
		*ret = -fee;
	cJSON_Delete(res);
	return r;
}

static bool txid_valid(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789abcdef", *p))
			return false;
	return true;
}

/* Settles a withdrawal known to be sent as txid. Without the fee yet, records the txid and
 * leaves it to the recovery job. */
static int settle_sent(wallet_t *w, const char *id, const char *txid, settle_ctx_t *x)
{
	x->id = id;
	x->txid = txid;
	int r = send_fee(w, txid, &x->fee);
	if (r < 0) {
		const char *p[] = {id, txid};
		dux_db_conn_t *c;
		if (dux_db_acquire(dux_daemon_db(w->d), &c) == 0) {
			if (dux_db_exec(c, "UPDATE withdrawals SET txid = $2 WHERE id = $1", 2, p,
					NULL) < 0)
				dux_warn("withdrawal %s sent as %s; recording the txid failed", id, txid);
			dux_db_release(dux_daemon_db(w->d), c);
		}
		return r;
	}
	return dux_db_tx(dux_daemon_db(w->d), NULL, sent_tx, x);
}

static int settle_failed(wallet_t *w, const char *id, const char *reason, settle_ctx_t *x)
{
	x->id = id;
	x->reason = reason;
	return dux_db_tx(dux_daemon_db(w->d), NULL, failed_tx, x);
}

/* The withdrawal as it is now (ret unchanged when it cannot be read). */
static void withdrawal_now(wallet_t *w, const char *id, char **ret)
{
	dux_db_conn_t *c;
	char state[16];
	if (dux_db_acquire(dux_daemon_db(w->d), &c) < 0)
		return;
	if (withdrawal_read(c, id, false, ret, state) < 0)
		dux_warn("withdrawal %s: cannot read it back", id);
	dux_db_release(dux_daemon_db(w->d), c);
}

/* ---- sending */

/* Unlocks (when encrypted), sends, locks again. ret_delivered: sendtoaddress was sent, so a
 * failure without an answer may hide a send. */
static int send_rpc(wallet_t *w, const char *id, const char *address, int64_t amount,
		    char txid[65], rpc_error_t *err, bool *ret_delivered)
{
	*ret_delivered = false;
	char amt[40];
	cJSON *unlock = cJSON_CreateArray(), *send = cJSON_CreateArray(), *res = NULL;
	cJSON_AddItemToArray(unlock, cJSON_CreateString(w->cfg.passphrase));
	cJSON_AddItemToArray(unlock, cJSON_CreateNumber((double)w->cfg.unlock_seconds));
	cJSON_AddItemToArray(send, cJSON_CreateString(address));
	cJSON_AddItemToArray(send, cJSON_CreateRaw(rpc_amount_text(amount, amt)));
	cJSON_AddItemToArray(send, cJSON_CreateString(id)); /* the comment recovery looks for */
	char *up = cJSON_PrintUnformatted(unlock), *sp = cJSON_PrintUnformatted(send);
	pthread_mutex_lock(&w->send_lock);
	int r = up && sp ? 0 : DUX_ENOMEM;
	bool unlocked = false;
	if (r == 0 && w->cfg.encryption) {
		r = rpc_call(w->rpc, "walletpassphrase", up, NULL, err);
		unlocked = r == 0;
		if (r == DUX_ECONFLICT && err->code == RPC_NOT_ENCRYPTED)
			r = 0; /* the node's wallet is not encrypted: nothing to unlock */
	}
	if (r == 0) {
		*ret_delivered = true;
		r = rpc_call(w->rpc, "sendtoaddress", sp, &res, err);
	}
	if (r == 0 && (!cJSON_IsString(res) || !txid_valid(res->valuestring)))
		r = DUX_EPROTO;
	if (r == 0)
		memcpy(txid, res->valuestring, 65);
	rpc_error_t lerr;
	if (unlocked && rpc_call(w->rpc, "walletlock", NULL, NULL, &lerr) < 0)
		dux_warn("walletlock failed; the node's wallet relocks in %lld s",
			 (long long)w->cfg.unlock_seconds);
	pthread_mutex_unlock(&w->send_lock);
	if (up) {
		memset(up, 0, strlen(up));
		free(up);
	}
	free(sp);
	cJSON_Delete(res);
	cJSON_Delete(unlock);
	cJSON_Delete(send);
	return r;
}

static const struct {
	int code, status;
	const char *slug;
} refusals[] = {
	{RPC_INVALID_ADDRESS, 422, "chain-invalid-address"},
	{RPC_INVALID_AMOUNT, 422, "chain-amount-refused"},
	{RPC_AMOUNT_TOO_SMALL, 422, "chain-amount-refused"},
	{RPC_INSUFFICIENT_FUNDS, 502, "chain-insufficient-funds"},
	{RPC_WALLET_LOCKED, 502, "chain-wallet-locked"},
	{RPC_WRONG_PASSPHRASE, 502, "chain-wallet-locked"},
	{RPC_WARMING_UP, 503, "chain-warming-up"},
};

/* Replies for a send that did not happen. */
static void reply_not_sent(dux_req_t *r, int rc, const rpc_error_t *err)
{
	if (rc == DUX_ENOMEM) {
		dux_reply_problem(r, 500, "internal", "out of memory; nothing was sent");
		return;
	}
	if (rc == DUX_ECONFLICT) {
		for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
			if (refusals[i].code != err->code)
				continue;
			if (refusals[i].status == 503)
				dux_reply_header(r, "Retry-After", "10");
			dux_reply_problem(r, refusals[i].status, refusals[i].slug,
					  "Flopcoin Core refused the send (%d: %s); nothing was sent",
					  err->code, err->message);
			return;
		}
		dux_reply_problem(r, 502, "chain-error",
				  "Flopcoin Core refused the send (%d: %s); nothing was sent", err->code,
				  err->message);
	} else if (rc == DUX_EAUTH) {
		dux_reply_problem(r, 502, "chain-auth",
				  "Flopcoin Core refused the wallet's RPC credentials; nothing was sent");
	} else {
		dux_reply_header(r, "Retry-After", "10");
		dux_reply_problem(r, 503, "chain-unavailable",
				  "Flopcoin Core cannot be reached (%s); nothing was sent",
				  dux_strerror(rc));
	}
}

static void reply_withdrawal(dux_req_t *r, int status, const char *txid, const char *json)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "withdrawal");
	if (txid)
		cJSON_AddStringToObject(o, "txid", txid);
	else
		cJSON_AddNullToObject(o, "txid");
	cJSON_AddItemToObject(o, "withdrawal", cJSON_Parse(json));
	dux_reply_json(r, status, o);
}

/* A retried request: answers with the withdrawal as it is now, sending nothing. */
static void reply_existing(dux_req_t *r, const hold_ctx_t *x)
{
	cJSON *j = cJSON_Parse(x->json);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "txid");
	const char *txid = cJSON_IsString(t) ? t->valuestring : NULL;
	if (strcmp(x->state, "failed") == 0)
		dux_reply_problem(r, 409, "withdrawal-failed", "withdrawal %s failed earlier: %s",
				  x->id,
				  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "reason")));
	else
		reply_withdrawal(r, strcmp(x->state, "sent") == 0 ? 200 : 202, txid, x->json);
	cJSON_Delete(j);
}

void chain_withdraw(wallet_t *w, dux_req_t *r, const ledger_caller_t *who, const char *id,
		    const char *from, const char *address, int64_t amount, const char *memo)
{
	hold_ctx_t x = {.id = id, .from = from, .address = address, .amount = amount, .who = who,
			.memo = memo};
	settle_ctx_t s = {0};
	if (dux_money_add(amount, w->fee_reserve, &x.hold) < 0) {
		dux_verr_t e;
		if (dux_verr_set(&e, "amount", "is too large to hold with the fee reserve") < 0)
			dux_reply_verr(r, &e);
		return;
	}
	int rc = dux_db_tx(dux_daemon_db(w->d), NULL, hold_tx, &x);
	if (rc == DUX_EEXIST) /* see ledger_run: a first attempt racing on the primary key */
		rc = dux_db_tx(dux_daemon_db(w->d), NULL, hold_tx, &x);
	if (rc == DUX_ECONFLICT) {
		ledger_reply_refusal(r, &x.why, false);
		goto out;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
		goto out;
	}
	if (x.existed) {
		reply_existing(r, &x);
		goto out;
	}
	char txid[65];
	rpc_error_t err;
	bool delivered;
	rc = send_rpc(w, id, address, amount, txid, &err, &delivered);
	if (rc == 0) {
		dux_info("withdrawal %s sent as %s", id, txid);
		rc = settle_sent(w, id, txid, &s);
		if (rc < 0) /* the txid may be recorded meanwhile: show the row as it is now */
			withdrawal_now(w, id, &s.json);
		reply_withdrawal(r, rc == 0 ? 201 : 202, txid, s.json ? s.json : x.json);
	} else if (delivered && (rc == DUX_ETIMEDOUT || rc == DUX_EPROTO)) {
		dux_warn("withdrawal %s: no answer to sendtoaddress (%s); recovery will settle it",
			 id, dux_strerror(rc));
		reply_withdrawal(r, 202, NULL, x.json);
	} else {
		char reason[320];
		snprintf(reason, sizeof reason, "%s%s%s",
			 rc == DUX_ECONFLICT ? err.message : dux_strerror(rc),
			 rc == DUX_ECONFLICT ? "" : ": ", rc == DUX_ECONFLICT ? "" : "not delivered");
		if (settle_failed(w, id, reason, &s) < 0)
			dux_error("withdrawal %s was not sent and its hold could not be released yet;"
				  " recovery will do it", id);
		reply_not_sent(r, rc, &err);
	}
out:
	free(x.json);
	free(s.json);
}

/* ---- recovery */

/* The txid of the send whose comment is id, from the node's recent transactions; "" when the
 * node's wallet has none. */
static void find_send(const cJSON *txs, const char *id, char txid[65])
{
	txid[0] = '\0';
	const cJSON *t;
	cJSON_ArrayForEach(t, txs)
	{
		const char *cat = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "category"));
		const char *com = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "comment"));
		const char *tx = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "txid"));
		if (cat && com && tx && strcmp(cat, "send") == 0 && strcmp(com, id) == 0 &&
		    txid_valid(tx))
			memcpy(txid, tx, 65);
	}
}

int withdrawals_recover(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	wallet_t *w = ctx;
	char age[24];
	/* older than any request thread could still be working on it */
	snprintf(age, sizeof age, "%lld", (long long)(4 * w->cfg.rpc_timeout + 2));
	const char *p[] = {age};
	PGresult *res;
	int r = dux_db_exec(c,
			    "SELECT id, coalesce(txid, '') FROM withdrawals WHERE state = 'sending'"
			    " AND updated_at < now() - make_interval(secs => $1::int)"
			    " ORDER BY updated_at LIMIT 20",
			    1, p, &res);
	if (r < 0 || PQntuples(res) == 0) {
		if (r == 0)
			PQclear(res);
		return r;
	}
	cJSON *txs = NULL;
	rpc_error_t err;
	int lr = rpc_call(w->rpc, "listtransactions", "[\"*\",10000,0]", &txs, &err);
	for (int i = 0; i < PQntuples(res) && lr == 0; i++) {
		const char *id = PQgetvalue(res, i, 0);
		char txid[65];
		snprintf(txid, sizeof txid, "%s", PQgetvalue(res, i, 1));
		if (!*txid)
			find_send(txs, id, txid);
		settle_ctx_t s = {0};
		int sr = *txid ? settle_sent(w, id, txid, &s)
			       : settle_failed(w, id,
					       "not sent: the node's wallet has no send with this"
					       " withdrawal's id as its comment",
					       &s);
		dux_info("recovered withdrawal %s: %s%s", id,
			 sr < 0 ? "will retry: " : *txid ? "sent as " : "not sent",
			 sr < 0 ? dux_strerror(sr) : txid);
		free(s.json);
	}
	if (lr < 0)
		dux_warn("withdrawal recovery: listtransactions failed (%s)", dux_strerror(lr));
	cJSON_Delete(txs);
	PQclear(res);
	return 0;
}
