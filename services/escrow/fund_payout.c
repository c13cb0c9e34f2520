/* fund_payout.c - POST /v1/community-fund/payouts: the community fund pays many recipients at
 * once, for the airdrop. The fund's shard accounts belong to this daemon and only it debits
 * them; a payout is asked by a service token whose subject is in escrow.fund_payers.
 *
 *   {"round_id": "adr_...", "total": "12.5", "recipients": [{"address", "amount"}, ...]}
 *
 * Two wallet batches, each all or none and idempotent by ids derived from the round id:
 *   1. gather: from shards 1..n-1 into shard 0, what shard 0 lacks for the total
 *      (payout:<round>:gather:<shard>). The plan is stored before it is sent, so a retry sends
 *      the same transfers; if the second batch never happens the money is still in the fund.
 *   2. pay: from shard 0 to every recipient (payout:<round>:pay:<position>), up to 1000.
 * Then the payout is recorded as paid with its audit entry (fund_payout). The same round id
 * with the same content answers the same (200 once paid); with other content 409
 * payout-differs. One payout runs at a time (409 payout-in-progress). */
#include "escrow.h"
#include <dux/address.h>
#include <dux/buf.h>
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYOUT_MAX 1000

typedef struct {
	escrow_t *e;
	const char *round_id;
	const char *payer;
	int64_t total;
	const cJSON *recipients; /* checked, borrowed from the body */
	int n;
	char digest[65];
	char status[16];
	char *plan;   /* owned: JSON text of the gather items, NULL before it is made */
	char *answer; /* owned: the stored answer of a finished payout */
	const char *refusal;
} payout_t;

static bool round_id_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

static bool is_shard(const escrow_t *e, const char *addr)
{
	for (int i = 0; i < fund_shard_count(); i++)
		if (strcmp(e->shards[i], addr) == 0)
			return true;
	return false;
}

/* Checks every recipient and the sum; fills x->digest (SHA-256 of the canonical content). */
static int check_recipients(payout_t *x, dux_verr_t *ve)
{
	dux_buf_t canon;
	dux_buf_init(&canon, (size_t)PAYOUT_MAX * 128 + 256);
	int64_t sum = 0;
	int i = 0, r = dux_buf_printf(&canon, "%s\n%lld\n", x->round_id, (long long)x->total);
	const cJSON *it;
	static const char *const allowed[] = {"address", "amount", NULL};
	cJSON_ArrayForEach(it, x->recipients)
	{
		const char *addr = NULL, *why = NULL;
		int64_t amount = 0;
		char f[32];
		snprintf(f, sizeof f, "recipients[%d]", i);
		if (r == 0 && (!cJSON_IsObject(it) || dux_json_only(it, allowed, ve) < 0 ||
			       dux_json_str(it, "address", true, 1, DUX_ADDRESS_MAX - 1, &addr, ve) < 0 ||
			       dux_json_money(it, "amount", true, &amount, ve) < 0))
			r = dux_verr_set(ve, f, "must be {\"address\", \"amount\"} with a valid amount");
		if (r == 0 && dux_address_validate(addr, dux_daemon_net(x->e->d), NULL, &why) < 0)
			r = dux_verr_set(ve, f, "address is not a Flopcoin address: %s", why);
		if (r == 0 && (amount <= 0 || is_shard(x->e, addr)))
			r = dux_verr_set(ve, f, "needs a positive amount to an account outside the fund");
		if (r == 0 && dux_money_add(sum, amount, &sum) < 0)
			r = dux_verr_set(ve, "total", "the amounts overflow");
		if (r == 0)
			r = dux_buf_printf(&canon, "%s %lld\n", addr, (long long)amount);
		i++;
	}
	if (r == 0 && sum != x->total)
		r = dux_verr_set(ve, "total", "must equal the sum of the recipients' amounts");
	if (r == 0) {
		uint8_t h[DUX_SHA256_LEN];
		dux_sha256(canon.data, canon.len, h);
		dux_hex_encode(h, sizeof h, x->digest);
	}
	dux_buf_free(&canon);
	return r;
}

/* Addresses may repeat nowhere: a recipient is paid once per payout. */
static int check_unique(const payout_t *x, dux_verr_t *ve)
{
	const cJSON *a, *b;
	int i = 0;
	cJSON_ArrayForEach(a, x->recipients)
	{
		const char *sa = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "address"));
		int j = 0;
		cJSON_ArrayForEach(b, x->recipients)
		{
			if (j >= i)
				break;
			if (strcmp(sa, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
						b, "address"))) == 0)
				return dux_verr_set(ve, "recipients", "address %s appears twice", sa);
			j++;
		}
		i++;
	}
	return 0;
}

/* Records the payout or finds it; x->status, x->plan and x->answer describe it then. */
static int begin_tx(dux_db_conn_t *c, void *arg)
{
	payout_t *x = arg;
	char total[24], n[16];
	snprintf(total, sizeof total, "%lld", (long long)x->total);
	snprintf(n, sizeof n, "%d", x->n);
	const char *p[] = {x->round_id, x->digest, x->payer, total, n};
	PGresult *res;
	x->refusal = NULL;
	int r = dux_db_exec(c,
			    "INSERT INTO payouts (round_id, digest, payer, total, recipients, status)"
			    " VALUES ($1, $2, $3, $4::bigint, $5::int, 'paying')"
			    " ON CONFLICT (round_id) DO NOTHING",
			    5, p, NULL);
	if (r == DUX_EEXIST) {
		x->refusal = "payout-in-progress";
		return DUX_ECONFLICT;
	}
	if (r == 0)
		r = dux_db_exec(c,
				"SELECT digest, status, plan::text, answer::text FROM payouts"
				" WHERE round_id = $1 FOR UPDATE",
				1, p, &res);
	if (r < 0)
		return r;
	if (strcmp(PQgetvalue(res, 0, 0), x->digest) != 0)
		x->refusal = "payout-differs";
	snprintf(x->status, sizeof x->status, "%s", PQgetvalue(res, 0, 1));
	free(x->plan);
	free(x->answer);
	x->plan = PQgetisnull(res, 0, 2) ? NULL : strdup(PQgetvalue(res, 0, 2));
	x->answer = PQgetisnull(res, 0, 3) ? NULL : strdup(PQgetvalue(res, 0, 3));
	PQclear(res);
	return x->refusal ? DUX_ECONFLICT : 0;
}

/* The gather plan from the shards' balances now; stored unless another request stored one. */
static int make_plan(payout_t *x, wl_resp_t *w)
{
	escrow_t *e = x->e;
	int r = wl_call(e, "GET", "/v1/wallet/balance", NULL, NULL, NULL, w);
	if (r < 0 || w->status != 200)
		return DUX_EUNAVAIL;
	int64_t bal[FUND_SHARDS_MAX] = {0};
	const cJSON *acc, *accounts = cJSON_GetObjectItemCaseSensitive(w->json, "accounts");
	cJSON_ArrayForEach(acc, accounts)
	{
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(acc, "address"));
		const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(acc, "balance"));
		for (int i = 0; a && b && i < fund_shard_count(); i++) {
			if (strcmp(e->shards[i], a) == 0 &&
			    dux_money_parse(b, strlen(b), false, &bal[i]) < 0)
				return DUX_EPROTO;
		}
	}
	int64_t need = x->total - bal[0], gathered = 0;
	cJSON *items = cJSON_CreateArray();
	for (int i = 1; i < fund_shard_count() && need > 0; i++) {
		int64_t take = bal[i] < need ? bal[i] : need;
		if (take <= 0)
			continue;
		char id[128];
		snprintf(id, sizeof id, "payout:%s:gather:%d", x->round_id, i);
		wl_item(items, id, "immediate", e->shards[i], e->shards[0], NULL, take);
		need -= take;
		gathered += take;
	}
	if (need > 0) {
		cJSON_Delete(items);
		x->refusal = "insufficient-funds";
		return DUX_ECONFLICT;
	}
	char *plan = cJSON_PrintUnformatted(items), g[24];
	cJSON_Delete(items);
	if (!plan)
		return DUX_ENOMEM;
	snprintf(g, sizeof g, "%lld", (long long)gathered);
	const char *p[] = {x->round_id, plan, g};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	r = dux_db_acquire(dux_daemon_db(e->d), &c);
	if (r == 0) {
		r = dux_db_exec(c,
				"UPDATE payouts SET plan = coalesce(plan, $2::jsonb), gathered ="
				" coalesce(gathered, $3::bigint), updated_at = now() WHERE round_id = $1"
				" RETURNING plan::text",
				3, p, &res);
		dux_db_release(dux_daemon_db(e->d), c);
	}
	free(plan);
	if (r == 0) {
		free(x->plan);
		x->plan = strdup(PQgetvalue(res, 0, 0));
		r = x->plan ? 0 : DUX_ENOMEM;
	}
	PQclear(res);
	return r;
}

static cJSON *pay_items(const payout_t *x)
{
	cJSON *items = cJSON_CreateArray();
	const cJSON *it;
	int pos = 0;
	cJSON_ArrayForEach(it, x->recipients)
	{
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "address"));
		int64_t amount = 0;
		dux_verr_t ve;
		if (dux_json_money(it, "amount", true, &amount, &ve) < 0)
			break; /* checked before: cannot happen */
		char id[128];
		snprintf(id, sizeof id, "payout:%s:pay:%d", x->round_id, ++pos);
		wl_item(items, id, "immediate", x->e->shards[0], a, NULL, amount);
	}
	return items;
}

typedef struct {
	payout_t *x;
	const char *status;
	cJSON *answer; /* borrowed */
	bool done;
} finish_ctx_t;

static int finish_tx(dux_db_conn_t *c, void *arg)
{
	finish_ctx_t *f = arg;
	char *ans = cJSON_PrintUnformatted(f->answer);
	const char *p[] = {f->x->round_id, f->status, ans};
	PGresult *res;
	int r = ans ? dux_db_exec(c,
				  "UPDATE payouts SET status = $2, answer = $3::jsonb, updated_at = now()"
				  " WHERE round_id = $1 AND status = 'paying' RETURNING 1",
				  3, p, &res)
		    : DUX_ENOMEM;
	free(ans);
	if (r < 0)
		return r;
	f->done = PQntuples(res) == 1;
	PQclear(res);
	if (!f->done || strcmp(f->status, "paid") != 0)
		return 0;
	return audit_queue(c, "fund_payout", NULL, f->x->payer, f->answer);
}

static void reply_paid(dux_req_t *r, payout_t *x, wl_resp_t *w)
{
	char m[DUX_MONEY_STRLEN];
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "round_id", x->round_id);
	cJSON_AddStringToObject(a, "status", "paid");
	cJSON_AddStringToObject(a, "total", dux_money_format(x->total, m));
	cJSON_AddNumberToObject(a, "recipients", x->n);
	cJSON_AddStringToObject(a, "digest", x->digest);
	cJSON_AddStringToObject(a, "payout_account", x->e->shards[0]);
	cJSON *plan = x->plan ? cJSON_Parse(x->plan) : NULL;
	cJSON_AddNumberToObject(a, "gather_transfers", cJSON_GetArraySize(plan));
	cJSON_Delete(plan);
	char first[140], last[140];
	snprintf(first, sizeof first, "payout:%s:pay:1", x->round_id);
	snprintf(last, sizeof last, "payout:%s:pay:%d", x->round_id, x->n);
	cJSON_AddStringToObject(a, "first_transfer", first);
	cJSON_AddStringToObject(a, "last_transfer", last);
	dux_json_add_time(a, "paid_at", dux_now_us());
	finish_ctx_t f = {.x = x, .status = "paid", .answer = a};
	int rc = dux_db_tx(dux_daemon_db(x->e->d), NULL, finish_tx, &f);
	(void)w;
	if (rc < 0) {
		cJSON_Delete(a);
		dux_reply_err(r, rc, "the payout's record (it is paid: ask again)");
		return;
	}
	dux_log(DUX_LOG_INFO, dux_req_id(r), "community fund paid out round %s: %s FLOP to %d",
		x->round_id, dux_money_format(x->total, m), x->n);
	dux_reply_json(r, 201, a);
}

static void fail_payout(dux_req_t *r, payout_t *x, int status, const char *code,
			const char *detail, int index)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddNumberToObject(a, "status", status);
	cJSON_AddStringToObject(a, "code", code);
	cJSON_AddStringToObject(a, "detail", detail);
	if (index >= 0)
		cJSON_AddNumberToObject(a, "index", index);
	finish_ctx_t f = {.x = x, .status = "failed", .answer = a};
	int rc = dux_db_tx(dux_daemon_db(x->e->d), NULL, finish_tx, &f);
	cJSON_Delete(a);
	if (rc < 0) {
		dux_reply_err(r, rc, "the payout's record");
		return;
	}
	cJSON *ext = cJSON_CreateObject();
	if (index >= 0)
		cJSON_AddNumberToObject(ext, "index", index);
	dux_reply_problem_ext(r, status, code, ext, "round %s: %s", x->round_id, detail);
}

/* A stored answer, as it was given the first time. */
static void reply_stored(dux_req_t *r, const payout_t *x)
{
	cJSON *a = cJSON_Parse(x->answer);
	if (!a) {
		dux_reply_problem(r, 500, "internal", "out of memory");
		return;
	}
	if (strcmp(x->status, "paid") == 0) {
		dux_reply_json(r, 200, a);
		return;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "status");
	const cJSON *ix = cJSON_GetObjectItemCaseSensitive(a, "index");
	cJSON *ext = cJSON_CreateObject();
	if (cJSON_IsNumber(ix))
		cJSON_AddNumberToObject(ext, "index", ix->valuedouble);
	dux_reply_problem_ext(r, cJSON_IsNumber(st) ? (int)st->valuedouble : 422,
			      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "code")), ext,
			      "round %s: %s", x->round_id,
			      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "detail")));
	cJSON_Delete(a);
}

/* One wallet batch; 0 done, 1 refused (replied), < 0 no answer (replied 503). */
static int send_batch(dux_req_t *r, payout_t *x, cJSON *items, const char *what)
{
	wl_resp_t w;
	int rc = wl_transfers(x->e, items, NULL, &w);
	if (rc == 0 && (w.status == 200 || w.status == 201)) {
		wl_resp_clear(&w);
		return 0;
	}
	if (rc == 0 && w.status >= 400 && w.status < 500 && w.status != 429) {
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(w.json, "index");
		char d[512];
		snprintf(d, sizeof d, "the wallet refused the %s batch: %s", what, w.detail);
		fail_payout(r, x, 422, *w.problem ? w.problem : "wallet-refused", d,
			    cJSON_IsNumber(ix) ? (int)ix->valuedouble : -1);
		wl_resp_clear(&w);
		return 1;
	}
	dux_log(DUX_LOG_WARN, dux_req_id(r), "round %s: the wallet gave no answer to the %s batch",
		x->round_id, what);
	wl_resp_clear(&w);
	dux_reply_header(r, "Retry-After", "2");
	dux_reply_problem(r, 503, "wallet-unavailable",
			  "the wallet did not answer; the payout is unfinished: ask again");
	return -1;
}

static void run(dux_req_t *r, payout_t *x)
{
	int rc = dux_db_tx(dux_daemon_db(x->e->d), NULL, begin_tx, x);
	if (rc == DUX_ECONFLICT && strcmp(x->refusal, "payout-differs") == 0) {
		dux_reply_problem(r, 409, x->refusal,
				  "round %s was paid out with other recipients or amounts", x->round_id);
		return;
	}
	if (rc == DUX_ECONFLICT) {
		dux_reply_header(r, "Retry-After", "2");
		dux_reply_problem(r, 409, x->refusal, "another payout is unfinished; ask again");
		return;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the payouts");
		return;
	}
	if (strcmp(x->status, "paying") != 0) {
		reply_stored(r, x);
		return;
	}
	wl_resp_t w = {0};
	if (!x->plan)
		rc = make_plan(x, &w);
	wl_resp_clear(&w);
	if (rc == DUX_ECONFLICT) {
		fail_payout(r, x, 422, "insufficient-funds",
			    "the community fund holds less than the payout's total", -1);
		return;
	}
	if (rc < 0) {
		dux_reply_header(r, "Retry-After", "2");
		dux_reply_problem(r, 503, "wallet-unavailable", "the fund's balance is unknown now");
		return;
	}
	cJSON *gather = cJSON_Parse(x->plan), *pay = NULL;
	rc = !gather ? -1 : cJSON_GetArraySize(gather) ? send_batch(r, x, gather, "gather") : 0;
	if (rc == 0) {
		pay = pay_items(x);
		rc = send_batch(r, x, pay, "pay");
	}
	if (rc == 0)
		reply_paid(r, x, &w);
	else if (!gather)
		dux_reply_problem(r, 500, "internal", "out of memory");
	cJSON_Delete(gather);
	cJSON_Delete(pay);
}

static bool payer_ok(const escrow_t *e, const char *sub)
{
	for (size_t i = 0; i < e->cfg.fund_payers.n; i++)
		if (strcmp(e->cfg.fund_payers.v[i], sub) == 0)
			return true;
	return false;
}

void api_fund_payout(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"round_id", "total", "recipients", NULL};
	escrow_t *e = app;
	payout_t x = {.e = e, .payer = dux_req_token(r)->sub};
	dux_verr_t ve;
	if (!payer_ok(e, x.payer)) {
		dux_reply_problem(r, 403, "not-fund-payer",
				  "%s may not pay out the community fund (escrow.fund_payers)", x.payer);
		return;
	}
	cJSON *body = dux_req_json(r, allowed);
	if (!body)
		return;
	int rc = dux_json_str(body, "round_id", true, 1, 64, &x.round_id, &ve);
	if (rc == 0 && !round_id_ok(x.round_id))
		rc = dux_verr_set(&ve, "round_id", "may hold only letters, digits and . _ : -");
	if (rc == 0)
		rc = dux_json_money(body, "total", true, &x.total, &ve);
	if (rc == 0 && x.total <= 0)
		rc = dux_verr_set(&ve, "total", "must be positive");
	if (rc == 0)
		rc = dux_json_array(body, "recipients", true, PAYOUT_MAX, &x.recipients, &ve);
	x.n = rc == 0 ? cJSON_GetArraySize(x.recipients) : 0;
	if (rc == 0 && x.n == 0)
		rc = dux_verr_set(&ve, "recipients", "must hold at least one recipient");
	if (rc == 0 && fund_shard_count() == 0) {
		dux_reply_header(r, "Retry-After", "2");
		dux_reply_problem(r, 503, "fund-not-ready", "the fund's accounts do not exist yet");
		goto out;
	}
	if (rc == 0)
		rc = check_recipients(&x, &ve);
	if (rc == 0)
		rc = check_unique(&x, &ve);
	if (rc < 0) {
		dux_reply_verr(r, &ve);
		goto out;
	}
	run(r, &x);
out:
	free(x.plan);
	free(x.answer);
	cJSON_Delete(body);
}
