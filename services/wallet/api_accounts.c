/* api_accounts.c - accounts and their history: POST /wallet/address, GET /wallet/balance,
 * GET /wallet/transactions, GET /v1/accounts/{address}[/transfers]. */
#include "wallet.h"
#include <dux/address.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 500

static void reply_create_error(dux_req_t *r, int rc, bool chain)
{
	if (chain && (rc == DUX_EUNAVAIL || rc == DUX_ERETRY)) {
		dux_reply_header(r, "Retry-After", "10");
		dux_reply_problem(r, 503, rc == DUX_ERETRY ? "chain-warming-up" : "chain-unavailable",
				  "Flopcoin Core %s; no account was created",
				  rc == DUX_ERETRY ? "is warming up" : "cannot be reached");
	} else if (chain && rc == DUX_EAUTH) {
		dux_reply_problem(r, 502, "chain-auth",
				  "Flopcoin Core refused the wallet's RPC credentials");
	} else if (chain) {
		dux_reply_problem(r, 502, "chain-error",
				  "Flopcoin Core did not give a new address (see the wallet's log)");
	} else if (rc == DUX_EAUTH) {
		dux_reply_problem(r, 500, "sealing-failed",
				  "wallet.passphrase does not open the keys sealed earlier: no account can"
				  " be created until the operator sets the right one");
	} else {
		dux_reply_err(r, rc, "the ledger");
	}
}

void api_address_new(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	if (!idem_key_check(r))
		return;
	char *json = NULL;
	bool existed = false, chain = false;
	int rc = accounts_create(w, dux_req_token(r)->sub, dux_req_header(r, "Idempotency-Key"),
				 &json, &existed, &chain);
	if (rc < 0) {
		reply_create_error(r, rc, chain);
		return;
	}
	reply_db_json(r, existed ? 200 : 201, json);
	free(json);
}

/* The account named in the path, when the caller may see it; otherwise replies 404. */
static bool account_visible(dux_req_t *r, dux_db_conn_t *c, char **ret)
{
	const char *addr = dux_req_param(r, "address");
	char owner[128];
	int rc = strlen(addr) < DUX_ADDRESS_MAX ? accounts_get(c, addr, ret, owner) : DUX_ENOENT;
	if (rc == 0 && !caller_may_read(r, owner)) {
		free(*ret);
		*ret = NULL;
		rc = DUX_ENOENT; /* another owner's account is as unknown as a missing one */
	}
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "no account %s", addr);
	else if (rc < 0)
		dux_reply_err(r, rc, "the ledger");
	return rc == 0;
}

void api_account_get(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	dux_db_conn_t *c;
	int rc = dux_db_acquire(dux_daemon_db(w->d), &c);
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
		return;
	}
	char *json = NULL;
	if (account_visible(r, c, &json))
		reply_db_json(r, 200, json);
	free(json);
	dux_db_release(dux_daemon_db(w->d), c);
}

/* limit and cursor of a history page; replies 400 and returns false when malformed. */
static bool page_args(dux_req_t *r, int64_t *limit, char cursor[24])
{
	if (!dux_req_query_i64(r, "limit", 50, 1, PAGE_MAX, limit))
		return false;
	const char *cur = dux_req_query(r, "cursor");
	int64_t seq = INT64_MAX;
	if (cur) {
		size_t n = strlen(cur);
		long long v = n >= 1 && n <= 18 && strspn(cur, "0123456789") == n ? atoll(cur) : 0;
		if (v < 1) {
			dux_reply_problem(r, 400, "invalid-query",
					  "cursor must be a next_cursor value from an earlier page");
			return false;
		}
		seq = v;
	}
	snprintf(cursor, 24, "%lld", (long long)seq);
	return true;
}

/* Replies with a page of transfer rows (text of transfer_json, seq) fetched limit + 1. */
static void reply_page(dux_req_t *r, PGresult *res, int64_t limit)
{
	int n = PQntuples(res), shown = n > limit ? (int)limit : n;
	cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "transfers");
	for (int i = 0; i < shown; i++)
		cJSON_AddItemToArray(arr, cJSON_Parse(PQgetvalue(res, i, 0)));
	if (n > limit)
		cJSON_AddStringToObject(out, "next_cursor", PQgetvalue(res, shown - 1, 1));
	else
		cJSON_AddNullToObject(out, "next_cursor");
	dux_reply_json(r, 200, out);
}

/* Newest first; each side through its own index, so a busy account pages cheaply. */
#define HISTORY_SQL(where_debit, where_credit) \
	"SELECT transfer_json(t)::text, t.seq FROM (" \
	" (SELECT * FROM transfers WHERE " where_debit " AND seq < $2 ORDER BY seq DESC LIMIT $3)" \
	" UNION" /* a transfer between two accounts of one owner, once */ \
	" (SELECT * FROM transfers WHERE " where_credit " AND seq < $2 ORDER BY seq DESC LIMIT $3)" \
	") t ORDER BY t.seq DESC LIMIT $3"

void api_account_transfers(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	int64_t limit;
	char cursor[24], lim[24];
	if (!page_args(r, &limit, cursor))
		return;
	snprintf(lim, sizeof lim, "%lld", (long long)limit + 1);
	dux_db_conn_t *c;
	int rc = dux_db_acquire(dux_daemon_db(w->d), &c);
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
		return;
	}
	char *json = NULL;
	PGresult *res = NULL;
	if (account_visible(r, c, &json)) {
		const char *p[] = {dux_req_param(r, "address"), cursor, lim};
		rc = dux_db_execp(c, "wallet_account_history",
				  HISTORY_SQL("debit = $1", "credit = $1"), 3, p, &res);
		if (rc < 0)
			dux_reply_err(r, rc, "the ledger");
		else
			reply_page(r, res, limit);
	}
	PQclear(res);
	free(json);
	dux_db_release(dux_daemon_db(w->d), c);
}

void api_transactions(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	int64_t limit;
	char cursor[24], lim[24];
	if (!page_args(r, &limit, cursor))
		return;
	snprintf(lim, sizeof lim, "%lld", (long long)limit + 1);
	const char *p[] = {dux_req_token(r)->sub, cursor, lim};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(w->d), &c);
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
		return;
	}
	rc = dux_db_execp(c, "wallet_owner_history",
			  HISTORY_SQL("debit IN (SELECT address FROM accounts WHERE owner = $1)",
				      "credit IN (SELECT address FROM accounts WHERE owner = $1)"),
			  3, p, &res);
	if (rc < 0)
		dux_reply_err(r, rc, "the ledger");
	else
		reply_page(r, res, limit);
	PQclear(res);
	dux_db_release(dux_daemon_db(w->d), c);
}

void api_balance(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	const char *addr = dux_req_query(r, "address");
	const char *p[] = {dux_req_token(r)->sub, addr};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(w->d), &c);
	if (rc < 0) {
		dux_reply_err(r, rc, "the ledger");
		return;
	}
	rc = dux_db_execp(c, "wallet_balance",
			  "SELECT json_build_object('owner', $1::text,"
			  " 'accounts', coalesce(json_agg(json_build_object('address', address,"
			  "   'balance', flop(balance), 'held', flop(held)) ORDER BY created_at,"
			  "   address), '[]'::json),"
			  " 'total', json_build_object('balance', flop(coalesce(sum(balance), 0)::bigint),"
			  "   'held', flop(coalesce(sum(held), 0)::bigint)))::text, count(*)"
			  " FROM (SELECT address, created_at, balance + unfolded(address) AS balance, held"
			  "   FROM accounts WHERE owner = $1 AND ($2::text IS NULL OR address = $2)) a",
			  2, p, &res);
	if (rc < 0)
		dux_reply_err(r, rc, "the ledger");
	else if (addr && dux_db_i64(res, 0, 1) == 0)
		dux_reply_problem(r, 404, "not-found", "you own no account %s", addr);
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
	dux_db_release(dux_daemon_db(w->d), c);
}
