/* api_admin.c - admin routes: the development faucet and the conservation check. */
#include "wallet.h"
#include <dux/address.h>
#include <dux/json.h>
#include <dux/money.h>
#include <stdlib.h>
#include <string.h>

void api_faucet(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"address", "amount", NULL};
	wallet_t *w = app;
	const char *addr = NULL;
	int64_t amount = 0;
	dux_verr_t e;
	char lim[DUX_MONEY_STRLEN];
	cJSON *batch = cJSON_CreateArray(), *body = NULL;
	if (w->flopcoind) {
		dux_reply_problem(r, 403, "faucet-disabled",
				  "the faucet exists only with wallet.chain: none; "
				  "with a chain link money enters by deposits");
		goto out;
	}
	body = dux_req_json(r, allowed);
	if (!body || !idem_key_check(r))
		goto out;
	int rc = dux_json_str(body, "address", true, 1, DUX_ADDRESS_MAX - 1, &addr, &e);
	if (rc == 0)
		rc = dux_json_money(body, "amount", true, &amount, &e);
	if (rc == 0 && amount <= 0)
		rc = dux_verr_set(&e, "amount", "must be positive");
	if (rc == 0 && amount > w->faucet_limit)
		rc = dux_verr_set(&e, "amount", "is above the faucet limit of %s FLOP",
				  dux_money_format(w->faucet_limit, lim));
	if (rc < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	char id[WALLET_ID_MAX + 1];
	transfer_id_for(r, "faucet", id);
	ledger_item(batch, id, "immediate", "faucet", NULL, addr, amount);
	ledger_caller_t who = {.actor = dux_req_token(r)->sub, .system = true};
	cJSON *done = ledger_run(w, r, batch, &who);
	if (done) {
		cJSON *t = cJSON_DetachItemFromArray(done, 0);
		bool existed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "existed"));
		dux_reply_json(r, existed ? 200 : 201, t);
		cJSON_Delete(done);
	}
out:
	cJSON_Delete(batch);
	cJSON_Delete(body);
}

/* Recomputes every balance (with its credits not folded yet) and the totals from the transfer
 * rows, in one snapshot. */
static const char check_sql[] =
	"WITH moves AS ("
	"  SELECT credit AS a, amount AS bal, 0::bigint AS held FROM transfers"
	"   WHERE credit IS NOT NULL AND mode IN ('immediate', 'post')"
	"  UNION ALL SELECT debit, -amount, 0 FROM transfers"
	"   WHERE debit IS NOT NULL AND mode IN ('immediate', 'post')"
	"  UNION ALL SELECT debit, -amount, amount FROM transfers"
	"   WHERE mode = 'pending' AND state = 'pending'),"
	" derived AS (SELECT a, sum(bal) AS bal, sum(held) AS held FROM moves GROUP BY a),"
	" unfolded AS (SELECT account AS a, sum(amount) AS bal FROM credits GROUP BY account),"
	" wrong AS (SELECT x.address FROM accounts x LEFT JOIN derived d ON d.a = x.address"
	"   LEFT JOIN unfolded u ON u.a = x.address"
	"   WHERE x.balance + coalesce(u.bal, 0) <> coalesce(d.bal, 0)"
	"      OR x.held <> coalesce(d.held, 0)"
	"   UNION SELECT u.a FROM unfolded u WHERE u.a NOT IN (SELECT address FROM accounts)),"
	" resolved AS (SELECT p.id FROM transfers p WHERE p.mode = 'pending' AND"
	"   (SELECT count(*) FROM transfers q WHERE q.pending_id = p.id)"
	"   <> CASE WHEN p.state = 'pending' THEN 0 ELSE 1 END),"
	" sums AS (SELECT"
	"   (SELECT coalesce(sum(balance), 0) + coalesce(sum(held), 0) FROM accounts)"
	"   + (SELECT coalesce(sum(amount), 0) FROM credits) AS inside,"
	"   (SELECT coalesce(sum(amount), 0) FROM transfers WHERE debit IS NULL"
	"     AND mode IN ('immediate', 'post')) AS entered,"
	"   (SELECT coalesce(sum(amount), 0) FROM transfers WHERE credit IS NULL"
	"     AND mode IN ('immediate', 'post')) AS left_)"
	" SELECT json_build_object("
	"  'holds', s.inside = s.entered - s.left_ AND NOT EXISTS (SELECT 1 FROM wrong)"
	"     AND NOT EXISTS (SELECT 1 FROM resolved)"
	"     AND NOT EXISTS (SELECT 1 FROM accounts WHERE balance < 0 OR held < 0),"
	"  'total', trim_scale(s.inside / 100000000)::text,"
	"  'entered', trim_scale(s.entered / 100000000)::text,"
	"  'left', trim_scale(s.left_ / 100000000)::text,"
	"  'accounts', (SELECT count(*) FROM accounts),"
	"  'transfers', (SELECT count(*) FROM transfers),"
	"  'pending', (SELECT json_build_object('count', count(*),"
	"     'amount', trim_scale(coalesce(sum(amount), 0) / 100000000)::text)"
	"     FROM transfers WHERE mode = 'pending' AND state = 'pending'),"
	"  'negative_accounts', (SELECT count(*) FROM accounts WHERE balance < 0 OR held < 0),"
	"  'mismatched_accounts', (SELECT coalesce(json_agg(address), '[]'::json)"
	"     FROM (SELECT address FROM wrong ORDER BY address LIMIT 20) w),"
	"  'unresolved_inconsistencies', (SELECT count(*) FROM resolved),"
	"  'checked_at', utc_text(now()))::text FROM sums s";

typedef struct {
	char *json;
} check_ctx_t;

static int check_tx(dux_db_conn_t *c, void *arg)
{
	check_ctx_t *x = arg;
	PGresult *res;
	int r = dux_db_exec(c, check_sql, 0, NULL, &res);
	if (r < 0)
		return r;
	free(x->json);
	x->json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return x->json ? 0 : DUX_ENOMEM;
}

void api_ledger_check(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	check_ctx_t x = {0};
	int rc = dux_db_tx(dux_daemon_db(w->d), "REPEATABLE READ READ ONLY", check_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "the ledger");
	else
		reply_db_json(r, 200, x.json);
	free(x.json);
}
