/* api_create.c - POST /escrow/create: the user's payment held in the wallet.
 *
 * 1. The escrow is recorded as "creating" (an intent), 2. the wallet holds the two shares in
 * one batch, as pending transfers from the user (the user's own token goes along as
 * Dux-On-Behalf-Of, so the wallet itself checks that the caller owns user_wallet), 3. the
 * escrow becomes "held". A refusal by the wallet makes it "failed" with the wallet's reason;
 * a lost answer leaves it "creating" for the recovery job, which asks the wallet. */
#include "escrow.h"
#include <dux/address.h>
#include <dux/bus.h>
#include <dux/json.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	escrow_t *e;
	const char *api_id, *user, *provider, *task_id, *owner, *idem;
	int64_t amount, timeout;
	char id[ESCROW_ID_LEN + 1];
	int64_t provider_share, community_share;
	const char *fund;
	char *json;
	bool existed;
} create_t;

static int check_address(escrow_t *e, const cJSON *body, const char *key, const char **ret,
			 dux_verr_t *err)
{
	const char *why = NULL;
	int r = dux_json_str(body, key, true, 1, DUX_ADDRESS_MAX - 1, ret, err);
	if (r == 0 && dux_address_validate(*ret, dux_daemon_net(e->d), NULL, &why) < 0)
		r = dux_verr_set(err, key, "is not a %s Flopcoin address: %s",
				 dux_net_name(dux_daemon_net(e->d)), why);
	return r;
}

static bool id_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._:-", *s)))
			return false;
	return true;
}

static int parse(escrow_t *e, const cJSON *body, create_t *x, dux_verr_t *err)
{
	char lim[DUX_MONEY_STRLEN];
	x->timeout = e->cfg.default_timeout;
	int r = dux_json_str(body, "api_id", true, 1, 128, &x->api_id, err);
	if (r == 0 && !id_chars(x->api_id))
		r = dux_verr_set(err, "api_id", "may hold only letters, digits and . _ : -");
	if (r == 0)
		r = check_address(e, body, "user_wallet", &x->user, err);
	if (r == 0)
		r = check_address(e, body, "provider_wallet", &x->provider, err);
	if (r == 0 && strcmp(x->user, x->provider) == 0)
		r = dux_verr_set(err, "provider_wallet", "must differ from user_wallet");
	if (r == 0)
		r = dux_json_money(body, "amount", true, &x->amount, err);
	if (r == 0 && x->amount <= 0)
		r = dux_verr_set(err, "amount", "must be positive");
	if (r == 0 && x->amount > e->max_amount)
		r = dux_verr_set(err, "amount", "is above escrow.max_amount (%s FLOP)",
				 dux_money_format(e->max_amount, lim));
	if (r == 0)
		r = dux_json_str(body, "task_id", false, 1, 128, &x->task_id, err);
	if (r == 0 && x->task_id && !id_chars(x->task_id))
		r = dux_verr_set(err, "task_id", "may hold only letters, digits and . _ : -");
	if (r == 0)
		r = dux_json_i64(body, "timeout", false, e->cfg.min_timeout, e->cfg.max_timeout,
				 &x->timeout, err);
	return r;
}

static int insert_tx(dux_db_conn_t *c, void *arg)
{
	create_t *x = arg;
	char amount[24], ps[24], cs[24], bps[16], timeout[24];
	snprintf(amount, sizeof amount, "%lld", (long long)x->amount);
	snprintf(ps, sizeof ps, "%lld", (long long)x->provider_share);
	snprintf(cs, sizeof cs, "%lld", (long long)x->community_share);
	snprintf(bps, sizeof bps, "%lld", (long long)x->e->cfg.community_bps);
	snprintf(timeout, sizeof timeout, "%lld", (long long)x->timeout);
	const char *p[] = {x->id,  x->api_id, x->user, x->provider, x->owner, amount,   bps,
			   cs,     ps,        x->fund, x->task_id,  x->idem,  timeout};
	PGresult *res;
	int r = dux_db_execp(
		c, "escrow_insert",
		"INSERT INTO escrows AS e (id, api_id, user_wallet, provider_wallet, owner, amount,"
		" community_bps, community_share, provider_share, fund_account, task_id, idem_key,"
		" status, timeout_s, timeout_at) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7::int,"
		" $8::bigint, $9::bigint, $10, $11, $12, 'creating', $13::bigint,"
		" now() + make_interval(secs => $13::bigint))"
		" ON CONFLICT (owner, idem_key) WHERE idem_key IS NOT NULL DO NOTHING"
		" RETURNING escrow_json(e)::text",
		13, p, &res);
	if (r < 0)
		return r;
	x->existed = PQntuples(res) == 0;
	free(x->json);
	x->json = x->existed ? NULL : strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!x->existed)
		return x->json ? 0 : DUX_ENOMEM;
	/* the same caller and Idempotency-Key: the escrow made the first time */
	const char *q[] = {x->owner, x->idem};
	r = dux_db_exec(c,
			"SELECT escrow_json(e)::text FROM escrows e WHERE owner = $1 AND idem_key = $2",
			2, q, &res);
	if (r < 0)
		return r;
	x->json = PQntuples(res) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	return x->json ? 0 : DUX_ECONFLICT;
}

typedef struct {
	const char *id, *status, *reason;
	char *json;
} mark_t;

/* creating -> held (event escrow.created, audit) or failed. */
static int mark_tx(dux_db_conn_t *c, void *arg)
{
	mark_t *x = arg;
	const char *p[] = {x->id, x->status, x->reason};
	PGresult *res;
	int r = dux_db_execp(c, "escrow_mark",
			     "UPDATE escrows e SET status = $2, reason = $3, updated_at = now(),"
			     " finished_at = CASE WHEN $2 = 'failed' THEN now() END"
			     " WHERE id = $1 AND status = 'creating' RETURNING escrow_json(e)::text",
			     3, p, &res);
	if (r < 0)
		return r;
	bool mine = PQntuples(res) == 1;
	free(x->json);
	x->json = mine ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!mine)
		return escrows_get(c, x->id, &x->json);
	if (strcmp(x->status, "held") != 0)
		return 0;
	cJSON *data = cJSON_Parse(x->json);
	r = data ? dux_outbox_emit(c, "escrow.created", x->id, data) : DUX_ENOMEM;
	if (r == 0)
		r = audit_queue(c, "held", x->id, cJSON_GetStringValue(cJSON_GetObjectItem(data, "owner")),
				data);
	cJSON_Delete(data);
	return r;
}

/* The wallet's refusal as this escrow's failure reason ("insufficient-funds" ->
 * "insufficient_funds"). */
static void reason_of(const wl_resp_t *w, char ret[48])
{
	snprintf(ret, 48, "%s", *w->problem ? w->problem : "wallet_refused");
	for (char *p = ret; *p; p++)
		if (*p == '-')
			*p = '_';
}

static int hold(create_t *x, const char *user_token, wl_resp_t *resp)
{
	char hp[96], hf[96];
	escrow_tid(x->id, "hold:p", hp);
	escrow_tid(x->id, "hold:f", hf);
	cJSON *items = cJSON_CreateArray();
	if (x->provider_share > 0)
		wl_item(items, hp, "pending", x->user, x->provider, NULL, x->provider_share);
	if (x->community_share > 0)
		wl_item(items, hf, "pending", x->user, x->fund, NULL, x->community_share);
	int r = wl_transfers(x->e, items, user_token, resp);
	cJSON_Delete(items);
	return r;
}

/* The wallet refused the hold: its reason, with the escrow that recorded the failure. */
static void reply_failed(dux_req_t *r, const wl_resp_t *w, const char *id)
{
	bool delegation = strcmp(w->problem, "invalid-delegation") == 0;
	if (w->status == 401 && !delegation) {
		/* the escrow's own token: the operator's problem, not the caller's */
		dux_reply_problem(r, 502, "wallet-auth",
				  "the wallet refused this daemon's token (escrow %s failed)", id);
		return;
	}
	int status = w->status == 401 || w->status == 403 || w->status == 404 || w->status == 422
			     ? (int)w->status
			     : 422;
	dux_reply_problem(r, status, *w->problem ? w->problem : "wallet-refused",
			  "the wallet refused the hold: %s (escrow %s failed)", w->detail, id);
}

static bool status_is(const char *json, const char *status)
{
	cJSON *j = cJSON_Parse(json);
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
	bool is = s && strcmp(s, status) == 0;
	cJSON_Delete(j);
	return is;
}

/* After the intent: the hold and its outcome. */
static void hold_and_reply(dux_req_t *r, create_t *x)
{
	const char *auth = dux_req_header(r, "Authorization");
	wl_resp_t w;
	int rc = hold(x, auth + strlen("Bearer "), &w);
	mark_t m = {.id = x->id};
	char reason[48];
	if (rc == 0 && (w.status == 200 || w.status == 201)) {
		m.status = "held";
	} else if (rc == 0 && w.status >= 400 && w.status < 500) {
		reason_of(&w, reason);
		m.status = "failed";
		m.reason = reason;
	}
	if (m.status && dux_db_tx(dux_daemon_db(x->e->d), NULL, mark_tx, &m) < 0)
		m.status = NULL; /* recorded later by the recovery job */
	if (m.status && strcmp(m.status, "held") == 0 && status_is(m.json, "failed")) {
		/* the recovery job gave up on it first: its late hold is being voided */
		dux_reply_problem(r, 409, "create-abandoned",
				  "escrow %s was given up before the wallet answered; its hold is"
				  " being released", x->id);
	} else if (m.status && strcmp(m.status, "held") == 0) {
		reply_db_json(r, 201, m.json);
	} else if (m.status) {
		reply_failed(r, &w, x->id);
	} else {
		/* the wallet may or may not hold it: the recovery job will find out */
		reply_db_json(r, 202, x->json);
	}
	free(m.json);
	wl_resp_clear(&w);
}

/* The escrow an Idempotency-Key found was asked for with the same fields. */
static bool same_request(const create_t *x)
{
	cJSON *j = cJSON_Parse(x->json);
	char amount[DUX_MONEY_STRLEN];
	const char *task = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "task_id"));
	bool same = j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "api_id")), x->api_id) == 0 &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "user_wallet")), x->user) == 0 &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "provider_wallet")),
			   x->provider) == 0 &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "amount")),
			   dux_money_format(x->amount, amount)) == 0 &&
		    (task ? x->task_id && strcmp(task, x->task_id) == 0 : !x->task_id) &&
		    cJSON_GetNumberValue(cJSON_GetObjectItem(j, "timeout")) == (double)x->timeout;
	cJSON_Delete(j);
	return same;
}

void api_create(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"api_id", "user_wallet", "provider_wallet", "amount",
					      "task_id", "timeout", NULL};
	escrow_t *e = app;
	create_t x = {.e = e, .owner = dux_req_token(r)->sub,
		      .idem = dux_req_header(r, "Idempotency-Key")};
	dux_verr_t err;
	cJSON *body = dux_req_json(r, allowed);
	if (!body)
		return;
	if (parse(e, body, &x, &err) < 0) {
		dux_reply_verr(r, &err);
		goto out;
	}
	if (x.idem && (strlen(x.idem) < 1 || strlen(x.idem) > 128)) {
		dux_reply_problem(r, 400, "invalid-header", "Idempotency-Key must be 1 to 128 characters");
		goto out;
	}
	dux_random_id(x.id + 4);
	memcpy(x.id, "esc_", 4);
	x.fund = fund_shard_for(e, x.id);
	for (int i = 0; i < fund_shard_count(); i++)
		if (strcmp(x.user, e->shards[i]) == 0 || strcmp(x.provider, e->shards[i]) == 0) {
			dux_reply_problem(r, 422, "fund-account",
					  "%s is an account of the community fund",
					  strcmp(x.user, e->shards[i]) == 0 ? "user_wallet" : "provider_wallet");
			goto out;
		}
	if (!*x.fund) {
		dux_reply_header(r, "Retry-After", "2");
		dux_reply_problem(r, 503, "fund-not-ready",
				  "the community fund's accounts are not made yet (is the wallet up?)");
		goto out;
	}
	split_amount(x.amount, (int32_t)e->cfg.community_bps, &x.provider_share,
		     &x.community_share);
	int rc = dux_db_tx(dux_daemon_db(e->d), NULL, insert_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "the escrow");
	else if (x.existed && !same_request(&x))
		dux_reply_problem(r, 422, "idempotency-key-reused",
				  "this Idempotency-Key was used before for a different escrow");
	else if (x.existed) /* asked before: as it stands now */
		reply_db_json(r, 200, x.json);
	else
		hold_and_reply(r, &x);
out:
	free(x.json);
	cJSON_Delete(body);
}
