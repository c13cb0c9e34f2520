/* escrow_flow.c - duxos-escrow's API Transaction Flow end to end, against a real duxos-wallet
 * on the same PostgreSQL: create (the shares held in the wallet), release 95/5 to the provider
 * and the community fund, refunds, disputes and their resolution by an admin, the timeout,
 * idempotency, conflicts and refusals, listing, the signed hash-chained audit log, and
 * conservation of money across both daemons. */
#include "escrow_util.h"
#include <dux/address.h>
#include <dux/money.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#define FLOP EU_FLOP

static eu_t E;

static int setup(void **state)
{
	(void)state;
	/* timeouts down to 1 s, so that the timeout test needs no long wait */
	return eu_start(&E, "  min_timeout: 1\n") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	int es = E.d.pid > 0 ? eu_escrow_stop(&E) : 0;
	int ws = eu_wallet_stop(&E);
	eu_free(&E);
	/* both run under AddressSanitizer: a clean exit means no leak and no crash */
	return es == 0 && ws == 0 ? 0 : -1;
}

/* ---- helpers */

/* One call to the escrow checking the status and the problem type ("" for none); the JSON
 * answer (caller frees). */
static cJSON *expect(const char *method, const char *path, const char *auth,
		     const char *const *extra, const char *body, long status, const char *problem)
{
	dux_client_resp_t resp;
	assert_int_equal(eu_http(&E, method, path, auth, extra, body, &resp), 0);
	if (resp.status != status || strcmp(th_problem(&resp), problem) != 0) {
		fprintf(stderr, "%s %s %.400s\n  want %ld %s, got %ld %.800s\n", method, path,
			body ? body : "", status, problem, resp.status, resp.body);
		char got[64];
		snprintf(got, sizeof got, "%ld %s", resp.status, th_problem(&resp));
		dux_client_resp_clear(&resp); /* a failed assertion does not return */
		char wanted[64];
		snprintf(wanted, sizeof wanted, "%ld %s", status, problem);
		assert_string_equal(got, wanted);
	}
	cJSON *j = resp.json;
	resp.json = NULL;
	dux_client_resp_clear(&resp);
	return j;
}

static void expect_status(const char *method, const char *path, const char *auth,
			  const char *body, long status, const char *problem)
{
	cJSON_Delete(expect(method, path, auth, NULL, body, status, problem));
}

/* POST path with body must answer 400 invalid-field naming field. */
static void expect_field(const char *path, const char *auth, const char *body, const char *field)
{
	dux_client_resp_t resp;
	assert_int_equal(eu_http(&E, "POST", path, auth, NULL, body, &resp), 0);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(resp.json, "field");
	bool ok = resp.status == 400 && strcmp(th_problem(&resp), "invalid-field") == 0 &&
		  cJSON_IsString(f) && strcmp(f->valuestring, field) == 0;
	if (!ok)
		fprintf(stderr, "POST %s %.400s\n  want 400 invalid-field %s, got %ld %.800s\n", path,
			body, field, resp.status, resp.body);
	dux_client_resp_clear(&resp);
	assert_true(ok);
}

static void new_user(eu_user_t *u, const char *fund)
{
	assert_true(eu_user(&E, u, "user", DUX_SCOPE_USER, fund));
}

static void new_provider(eu_user_t *p)
{
	assert_true(eu_user(&E, p, "prov", DUX_SCOPE_PROVIDER, NULL));
}

static void uid(const char *prefix, char out[64])
{
	wu_subject(prefix, out);
}

/* The body of a create; more: extra members (",\"timeout\":2") or NULL. */
static const char *create_body(char *buf, size_t len, const char *api, const char *user,
			       const char *provider, const char *amount, const char *more)
{
	snprintf(buf, len,
		 "{\"api_id\":\"%s\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\","
		 "\"amount\":\"%s\"%s}",
		 api, user, provider, amount, more ? more : "");
	return buf;
}

/* POST /escrow/create (the seed's path) as u paying p; the answer (caller frees). */
static cJSON *create(const eu_user_t *u, const char *provider, const char *amount,
		     const char *more, long status, const char *problem)
{
	char body[1024];
	return expect("POST", "/escrow/create", u->auth, NULL,
		      create_body(body, sizeof body, "api.flow", u->addr, provider, amount, more),
		      status, problem);
}

/* A held escrow of amount from u to p; its id in id. */
static void create_held(const eu_user_t *u, const char *provider, const char *amount,
			const char *more, char id[64])
{
	cJSON *esc = create(u, provider, amount, more, 201, "");
	assert_string_equal(eu_str(esc, "status"), "held");
	snprintf(id, 64, "%s", eu_str(esc, "id"));
	assert_int_equal(strlen(id), 36);
	cJSON_Delete(esc);
}

/* A result hash: the SHA-256 hex of text. */
static const char *hash_of(const char *text, char out[65])
{
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(text, strlen(text), h);
	dux_hex_encode(h, sizeof h, out);
	return out;
}

static cJSON *release(const char *auth, const char *id, long status, const char *problem)
{
	char body[256], h[65];
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", id,
		 hash_of(id, h));
	return expect("POST", "/v1/escrow/release", auth, NULL, body, status, problem);
}

/* reason NULL: none. */
static cJSON *refund(const char *auth, const char *id, const char *reason, long status,
		     const char *problem)
{
	char body[256];
	if (reason)
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"reason\":\"%s\"}", id, reason);
	else
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\"}", id);
	return expect("POST", "/escrow/refund", auth, NULL, body, status, problem);
}

static cJSON *dispute(const char *auth, const char *id, long status, const char *problem)
{
	char body[256];
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"reason\":\"the result was empty\"}", id);
	return expect("POST", "/v1/escrow/dispute", auth, NULL, body, status, problem);
}

/* provider_amount NULL: none. */
static cJSON *resolve(const char *auth, const char *id, const char *outcome,
		      const char *provider_amount, long status, const char *problem)
{
	char body[256], pa[64] = "";
	if (provider_amount)
		snprintf(pa, sizeof pa, ",\"provider_amount\":\"%s\"", provider_amount);
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"outcome\":\"%s\"%s}", id, outcome, pa);
	return expect("POST", "/escrow/resolve", auth, NULL, body, status, problem);
}

static void status_only(cJSON *j)
{
	cJSON_Delete(j);
}

/* GET /v1/escrow/{id} as admin. */
static cJSON *get_escrow(const char *id)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/escrow/%s", id);
	return expect("GET", path, E.admin, NULL, NULL, 200, "");
}

static void assert_units(const cJSON *o, const char *key, int64_t want)
{
	int64_t got = eu_amount(o, key);
	if (got != want)
		fprintf(stderr, "%s: %lld units (\"%s\"), expected %lld\n", key, (long long)got,
			eu_str(o, key), (long long)want);
	assert_true(got == want);
}

static void assert_paid(const cJSON *esc, int64_t provider, int64_t community, int64_t refunded)
{
	const cJSON *paid = cJSON_GetObjectItemCaseSensitive(esc, "paid");
	assert_non_null(paid);
	assert_units(paid, "provider", provider);
	assert_units(paid, "community", community);
	assert_units(paid, "refunded", refunded);
}

static void assert_money(const char *addr, int64_t balance, int64_t held)
{
	int64_t b = wu_balance(&E.w, addr), h = wu_held(&E.w, addr);
	if (b != balance || h != held)
		fprintf(stderr, "account %s: balance %lld held %lld, expected %lld and %lld\n", addr,
			(long long)b, (long long)h, (long long)balance, (long long)held);
	assert_true(b == balance);
	assert_true(h == held);
}

/* The fund's balance in the wallet (the sum of its shards). */
static int64_t fund_balance(void)
{
	int64_t b = eu_fund_in_wallet(&E);
	assert_true(b >= 0);
	return b;
}

/* GET /community-fund shows want (the fund job reads the wallet every 200 ms). */
static void fund_shows(int64_t want)
{
	assert_true(eu_wait_fund_balance(&E, want, 5000));
}

static int64_t fund_inflow(void)
{
	int64_t b = -1, in = -1;
	assert_true(eu_fund(&E, &b, &in));
	return in;
}

static bool is_null(const cJSON *o, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Polls GET /v1/escrow/{id} until its status is want (deadline ms); the escrow. */
static cJSON *wait_status(const char *id, const char *want, int deadline_ms)
{
	cJSON *esc = NULL;
	for (int waited = 0; waited <= deadline_ms; waited += 50) {
		cJSON_Delete(esc);
		esc = get_escrow(id);
		if (strcmp(eu_str(esc, "status"), want) == 0)
			return esc;
		usleep(50000);
	}
	fprintf(stderr, "escrow %s stayed %s, expected %s\n", id, eu_str(esc, "status"), want);
	fail();
	return esc;
}

/* ---- create and release: 95/5 */

static void create_and_release_pay_95_5(void **state)
{
	(void)state;
	eu_user_t u, p;
	char id[64];
	new_user(&u, "100");
	new_provider(&p);
	int64_t fund0 = fund_balance(), inflow0 = fund_inflow();

	cJSON *esc = create(&u, p.addr, "10", NULL, 201, "");
	assert_string_equal(eu_str(esc, "status"), "held");
	assert_string_equal(eu_str(esc, "amount"), "10");
	assert_string_equal(eu_str(esc, "provider_share"), "9.5");
	assert_string_equal(eu_str(esc, "community_share"), "0.5");
	assert_int_equal(cJSON_GetObjectItem(esc, "community_bps")->valueint, 500);
	assert_string_equal(eu_str(esc, "user_wallet"), u.addr);
	assert_string_equal(eu_str(esc, "provider_wallet"), p.addr);
	assert_string_equal(eu_str(esc, "owner"), u.sub);
	assert_string_equal(eu_str(esc, "api_id"), "api.flow");
	assert_true(is_null(esc, "reason"));
	assert_true(is_null(esc, "result_hash"));
	bool shard = false;
	for (int i = 0; i < E.nshards; i++)
		shard = shard || strcmp(E.shards[i], eu_str(esc, "fund_account")) == 0;
	assert_true(shard);
	snprintf(id, sizeof id, "%s", eu_str(esc, "id"));
	cJSON_Delete(esc);
	/* the wallet holds the whole amount on the user's account */
	assert_money(u.addr, 90 * FLOP, 10 * FLOP);
	assert_money(p.addr, 0, 0);

	/* the owner reads it; the release by a service */
	char path[96];
	snprintf(path, sizeof path, "/escrow/%s", id);
	esc = expect("GET", path, u.auth, NULL, NULL, 200, "");
	assert_string_equal(eu_str(esc, "status"), "held");
	cJSON_Delete(esc);
	esc = release(E.service, id, 200, "");
	assert_string_equal(eu_str(esc, "status"), "released");
	assert_string_equal(eu_str(esc, "reason"), "released");
	char h[65];
	assert_string_equal(eu_str(esc, "result_hash"), hash_of(id, h));
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(esc, "validation");
	assert_non_null(v);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "bound")));
	assert_paid(esc, 950000000, 50000000, 0);
	assert_false(is_null(esc, "finished_at"));
	cJSON_Delete(esc);
	assert_money(u.addr, 90 * FLOP, 0);
	assert_money(p.addr, 950000000, 0);

	/* the fund: +0.5, and the inflow listed */
	assert_true(fund_balance() == fund0 + 50000000);
	fund_shows(fund0 + 50000000);
	cJSON *f = expect("GET", "/community-fund", NULL, NULL, NULL, 200, "");
	assert_true(eu_amount(f, "total_inflow") == inflow0 + 50000000);
	assert_string_equal(eu_str(f, "threshold"), "100");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f, "shards")), E.nshards);
	const cJSON *in;
	bool listed = false;
	cJSON_ArrayForEach(in, cJSON_GetObjectItem(f, "inflows"))
	{
		if (strcmp(eu_str(in, "escrow_id"), id) == 0) {
			assert_string_equal(eu_str(in, "amount"), "0.5");
			assert_string_equal(eu_str(in, "api_id"), "api.flow");
			listed = true;
		}
	}
	assert_true(listed);
	cJSON_Delete(f);

	/* the events: escrow.created, escrow.released, and fund.balance with the new balance */
	char want_balance[DUX_MONEY_STRLEN];
	dux_money_format(fund0 + 50000000, want_balance);
	bool created = false, released = false, announced = false;
	for (int tries = 0; tries < 200 && !(created && released && announced); tries++) {
		int64_t after = 0;
		for (;;) {
			char epath[96];
			snprintf(epath, sizeof epath, "/v1/events?after=%lld&limit=1000", (long long)after);
			cJSON *page = expect("GET", epath, E.admin, NULL, NULL, 200, "");
			const cJSON *ev;
			int n = 0;
			cJSON_ArrayForEach(ev, cJSON_GetObjectItem(page, "events"))
			{
				n++;
				after = (int64_t)cJSON_GetObjectItem(ev, "seq")->valuedouble;
				const cJSON *data = cJSON_GetObjectItem(ev, "data");
				const char *type = eu_str(ev, "type");
				assert_string_equal(eu_str(ev, "source"), "duxos-escrow");
				if (strcmp(eu_str(ev, "subject"), id) == 0 &&
				    strcmp(type, "escrow.created") == 0) {
					assert_string_equal(eu_str(data, "status"), "held");
					created = true;
				}
				if (strcmp(eu_str(ev, "subject"), id) == 0 &&
				    strcmp(type, "escrow.released") == 0) {
					assert_string_equal(eu_str(data, "status"), "released");
					released = true;
				}
				if (strcmp(type, "fund.balance") == 0 &&
				    strcmp(eu_str(data, "balance"), want_balance) == 0) {
					assert_string_equal(eu_str(ev, "subject"), "community-fund");
					assert_string_equal(eu_str(data, "threshold"), "100");
					announced = true;
				}
			}
			cJSON_Delete(page);
			if (n < 1000)
				break;
		}
		if (!(created && released && announced))
			usleep(50000);
	}
	if (!(created && released && announced))
		fprintf(stderr, "events: created %d released %d fund.balance %s %d\n", created,
			released, want_balance, announced);
	assert_true(created && released && announced);
}

/* community share = floor(amount x 500 / 10000): the provider gets the rest, to the unit */
static void shares_floor_to_the_unit(void **state)
{
	(void)state;
	static const struct {
		const char *amount;
		int64_t p, c; /* provider and community shares, units */
	} cases[] = {
		{"0.00000019", 19, 0}, /* floor(0.95) = 0: the provider gets it all */
		{"0.00000001", 1, 0},
		{"0.0000002", 19, 1},
		{"1.23456789", 117283950, 6172839},
	};
	eu_user_t u, p;
	new_user(&u, "10");
	new_provider(&p);
	int64_t paid_p = 0, fund0 = fund_balance(), spent = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *esc = create(&u, p.addr, cases[i].amount, NULL, 201, "");
		assert_string_equal(eu_str(esc, "status"), "held");
		assert_units(esc, "provider_share", cases[i].p);
		assert_units(esc, "community_share", cases[i].c);
		char id[64];
		snprintf(id, sizeof id, "%s", eu_str(esc, "id"));
		cJSON_Delete(esc);
		assert_money(u.addr, 10 * FLOP - spent - cases[i].p - cases[i].c, cases[i].p + cases[i].c);
		esc = release(E.service, id, 200, "");
		assert_string_equal(eu_str(esc, "status"), "released");
		assert_paid(esc, cases[i].p, cases[i].c, 0);
		cJSON_Delete(esc);
		paid_p += cases[i].p;
		spent += cases[i].p + cases[i].c;
		assert_money(p.addr, paid_p, 0);
		assert_money(u.addr, 10 * FLOP - spent, 0);
		assert_true(fund_balance() == fund0 + spent - paid_p);
	}
	fund_shows(fund0 + spent - paid_p);
}

/* ---- refunds */

/* A release asked again while the first one's wallet step is still under way (the wallet was
 * away; the recovery job finishes it) is answered 202 as the first was, not refused; once
 * the step is done the same release is answered 200. */
static void release_repeated_while_under_way(void **state)
{
	(void)state;
	eu_user_t u, p;
	char id[64];
	assert_true(eu_user(&E, &u, "again", DUX_SCOPE_USER, "10"));
	assert_true(eu_user(&E, &p, "prov", DUX_SCOPE_PROVIDER, NULL));
	create_held(&u, p.addr, "4", NULL, id);
	assert_int_equal(eu_wallet_stop(&E), 0);
	cJSON *j = release(E.service, id, 202, "");
	assert_string_equal(eu_str(j, "status"), "releasing");
	cJSON_Delete(j);
	j = release(E.service, id, 202, "");
	assert_string_equal(eu_str(j, "status"), "releasing");
	cJSON_Delete(j);
	assert_true(eu_wallet_restart(&E));
	bool released = false;
	for (int i = 0; i < 200 && !released; i++) {
		j = get_escrow(id);
		released = strcmp(eu_str(j, "status"), "released") == 0;
		cJSON_Delete(j);
		if (!released)
			usleep(100000);
	}
	assert_true(released);
	status_only(release(E.service, id, 200, ""));
	assert_true(eu_conserved(&E));
}

static void refund_returns_everything(void **state)
{
	(void)state;
	eu_user_t u, p;
	char a[64], b[64], c[64];
	new_user(&u, "100");
	new_provider(&p);
	int64_t fund0 = fund_balance();
	create_held(&u, p.addr, "10", NULL, a);
	create_held(&u, p.addr, "20", NULL, b);
	create_held(&u, p.addr, "30", NULL, c);
	assert_money(u.addr, 40 * FLOP, 60 * FLOP);

	cJSON *esc = refund(E.service, a, NULL, 200, "");
	assert_string_equal(eu_str(esc, "status"), "refunded");
	assert_string_equal(eu_str(esc, "reason"), "refunded_request");
	assert_paid(esc, 0, 0, 10 * FLOP);
	cJSON_Delete(esc);
	assert_money(u.addr, 50 * FLOP, 50 * FLOP);

	esc = refund(E.service, b, "failure", 200, "");
	assert_string_equal(eu_str(esc, "status"), "refunded");
	assert_string_equal(eu_str(esc, "reason"), "refunded_failure");
	assert_paid(esc, 0, 0, 20 * FLOP);
	cJSON_Delete(esc);

	/* an admin may refund too; reason request is the default's name */
	char body[256];
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"reason\":\"oops\"}", c);
	expect_field("/escrow/refund", E.service, body, "reason");
	esc = refund(E.admin, c, "request", 200, "");
	assert_string_equal(eu_str(esc, "reason"), "refunded_request");
	cJSON_Delete(esc);

	assert_money(u.addr, 100 * FLOP, 0);
	assert_money(p.addr, 0, 0);
	assert_true(fund_balance() == fund0);
	fund_shows(fund0);
}

/* ---- disputes */

static void dispute_freezes_and_admin_resolves(void **state)
{
	(void)state;
	eu_user_t u, other, p;
	char r1[64], r2[64], r3[64], r4[64], held[64];
	new_user(&u, "100");
	new_user(&other, "1");
	new_provider(&p);
	int64_t fund0 = fund_balance();
	create_held(&u, p.addr, "10", NULL, r1);
	create_held(&u, p.addr, "10", NULL, r2);
	create_held(&u, p.addr, "10", NULL, r3);
	create_held(&u, p.addr, "1.23456789", NULL, r4);
	create_held(&u, p.addr, "1", NULL, held);

	/* only its owner may dispute it: to anyone else it does not exist */
	status_only(dispute(other.auth, r1, 404, "not-found"));
	status_only(dispute(p.auth, r1, 404, "not-found"));
	status_only(dispute(E.service, r1, 403, "insufficient-scope"));
	const char *ids[] = {r1, r2, r3, r4};
	for (int i = 0; i < 4; i++) {
		cJSON *esc = dispute(u.auth, ids[i], 200, "");
		assert_string_equal(eu_str(esc, "status"), "disputed");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(esc, "dispute");
		assert_string_equal(eu_str(d, "reason"), "the result was empty");
		assert_true(is_null(d, "resolution"));
		cJSON_Delete(esc);
	}
	/* frozen: no release, no refund, no second dispute */
	status_only(release(E.service, r1, 409, "invalid-state"));
	status_only(refund(E.service, r1, NULL, 409, "invalid-state"));
	status_only(dispute(u.auth, r1, 409, "invalid-state"));
	cJSON *esc = get_escrow(r1);
	assert_string_equal(eu_str(esc, "status"), "disputed");
	cJSON_Delete(esc);
	assert_money(u.addr, 100 * FLOP - (32 * FLOP + 23456789), 32 * FLOP + 23456789);

	/* only an admin resolves */
	status_only(resolve(E.service, r1, "refund", NULL, 403, "insufficient-scope"));
	status_only(resolve(u.auth, r1, "refund", NULL, 403, "insufficient-scope"));
	status_only(resolve(p.auth, r1, "release", NULL, 403, "insufficient-scope"));
	/* a held escrow is not resolved */
	status_only(resolve(E.admin, held, "refund", NULL, 409, "invalid-state"));
	/* bad resolutions */
	char body[256];
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"outcome\":\"halve\"}", r1);
	expect_field("/escrow/resolve", E.admin, body, "outcome");
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"outcome\":\"split\"}", r1);
	expect_field("/escrow/resolve", E.admin, body, "provider_amount");
	snprintf(body, sizeof body,
		 "{\"escrow_id\":\"%s\",\"outcome\":\"split\",\"provider_amount\":\"0\"}", r1);
	expect_field("/escrow/resolve", E.admin, body, "provider_amount");
	snprintf(body, sizeof body,
		 "{\"escrow_id\":\"%s\",\"outcome\":\"split\",\"provider_amount\":\"10.00000001\"}", r1);
	expect_field("/escrow/resolve", E.admin, body, "provider_amount");
	snprintf(body, sizeof body,
		 "{\"escrow_id\":\"%s\",\"outcome\":\"refund\",\"provider_amount\":\"1\"}", r1);
	expect_field("/escrow/resolve", E.admin, body, "provider_amount");

	/* refund: everything back to the user */
	esc = resolve(E.admin, r1, "refund", NULL, 200, "");
	assert_string_equal(eu_str(esc, "status"), "resolved");
	assert_string_equal(eu_str(esc, "reason"), "resolved_refund");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(esc, "dispute");
	assert_string_equal(eu_str(d, "resolution"), "refund");
	assert_string_equal(eu_str(d, "resolved_by"), "duxos-admin");
	assert_paid(esc, 0, 0, 10 * FLOP);
	cJSON_Delete(esc);
	/* asked again: as it stands */
	esc = resolve(E.admin, r1, "refund", NULL, 200, "");
	assert_string_equal(eu_str(esc, "status"), "resolved");
	cJSON_Delete(esc);
	assert_money(p.addr, 0, 0);

	/* release: 95/5 */
	esc = resolve(E.admin, r2, "release", NULL, 200, "");
	assert_string_equal(eu_str(esc, "reason"), "resolved_release");
	assert_paid(esc, 950000000, 50000000, 0);
	cJSON_Delete(esc);
	assert_money(p.addr, 950000000, 0);

	/* split of 4 released: the provider 4 - floor(4 x 5%) = 3.8, the fund 0.2, the user 6 */
	esc = resolve(E.admin, r3, "split", "4", 200, "");
	assert_string_equal(eu_str(esc, "reason"), "resolved_split");
	d = cJSON_GetObjectItemCaseSensitive(esc, "dispute");
	assert_string_equal(eu_str(d, "resolution"), "split");
	assert_string_equal(eu_str(d, "split_amount"), "4");
	assert_paid(esc, 380000000, 20000000, 600000000);
	cJSON_Delete(esc);
	assert_money(p.addr, 950000000 + 380000000, 0);

	/* split of 0.33333333 of 1.23456789: the fund floor(33333333 x 500 / 10000) = 1666666 */
	esc = resolve(E.admin, r4, "split", "0.33333333", 200, "");
	assert_paid(esc, 31666667, 1666666, 123456789 - 33333333);
	cJSON_Delete(esc);
	assert_money(p.addr, 950000000 + 380000000 + 31666667, 0);

	/* the user: 100 - 1 held - 10 (r2) - 4 (r3) - 0.33333333 (r4) */
	assert_money(u.addr, 85 * FLOP - 33333333, 1 * FLOP);
	assert_true(fund_balance() == fund0 + 50000000 + 20000000 + 1666666);
	fund_shows(fund0 + 50000000 + 20000000 + 1666666);
	status_only(refund(E.service, held, NULL, 200, ""));
	assert_true(eu_conserved(&E));
}

/* ---- the timeout */

static void timeout_refunds_without_a_call(void **state)
{
	(void)state;
	eu_user_t u, p;
	char frozen[64], due[64], later[64], body[1024];
	new_user(&u, "10");
	new_provider(&p);
	/* out of [escrow.min_timeout, escrow.max_timeout] */
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, "api.t", u.addr, p.addr, "1", ",\"timeout\":0"),
		     "timeout");
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, "api.t", u.addr, p.addr, "1",
				 ",\"timeout\":604801"),
		     "timeout");
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, "api.t", u.addr, p.addr, "1",
				 ",\"timeout\":\"2\""),
		     "timeout");
	create_held(&u, p.addr, "1", ",\"timeout\":2", frozen);
	status_only(dispute(u.auth, frozen, 200, "")); /* well within its 2 s */
	create_held(&u, p.addr, "2", ",\"timeout\":2", due);
	create_held(&u, p.addr, "3", NULL, later); /* the default: an hour */
	assert_money(u.addr, 4 * FLOP, 6 * FLOP);

	cJSON *esc = wait_status(due, "refunded", 15000);
	assert_string_equal(eu_str(esc, "reason"), "refunded_timeout");
	assert_paid(esc, 0, 0, 2 * FLOP);
	cJSON_Delete(esc);
	/* the disputed one was due first and is frozen; the other is not due */
	esc = get_escrow(frozen);
	assert_string_equal(eu_str(esc, "status"), "disputed");
	cJSON_Delete(esc);
	esc = get_escrow(later);
	assert_string_equal(eu_str(esc, "status"), "held");
	cJSON_Delete(esc);
	assert_money(u.addr, 6 * FLOP, 4 * FLOP);
	status_only(resolve(E.admin, frozen, "refund", NULL, 200, ""));
	status_only(refund(E.service, later, NULL, 200, ""));
	assert_money(u.addr, 10 * FLOP, 0);
}

/* ---- idempotency */

/* A dispute no admin resolves within escrow.dispute_timeout is refunded by the recovery job:
 * no dispute holds money for ever. */
static void unresolved_dispute_is_refunded(void **state)
{
	(void)state;
	assert_int_equal(eu_escrow_stop(&E), 0);
	assert_true(eu_escrow_restart(&E, "  min_timeout: 1\n  dispute_timeout: 2\n", true));
	eu_user_t u, p;
	char id[64], other[64];
	new_user(&u, "10");
	new_provider(&p);
	create_held(&u, p.addr, "4", NULL, id);
	create_held(&u, p.addr, "1", NULL, other);
	status_only(dispute(u.auth, id, 200, ""));
	cJSON *esc = wait_status(id, "refunded", 15000);
	assert_string_equal(eu_str(esc, "reason"), "refunded_dispute_timeout");
	assert_paid(esc, 0, 0, 4 * FLOP);
	cJSON_Delete(esc);
	esc = get_escrow(other); /* not disputed: its own hour */
	assert_string_equal(eu_str(esc, "status"), "held");
	cJSON_Delete(esc);
	assert_money(u.addr, 9 * FLOP, 1 * FLOP);
	status_only(resolve(E.admin, id, "refund", NULL, 409, "invalid-state"));
	status_only(refund(E.service, other, NULL, 200, ""));
	assert_int_equal(eu_escrow_stop(&E), 0);
	assert_true(eu_escrow_restart(&E, "  min_timeout: 1\n", true));
}

static void idempotency_key_makes_create_repeatable(void **state)
{
	(void)state;
	eu_user_t u, v, p;
	char key[200], body[1024], first[64];
	new_user(&u, "100");
	new_user(&v, "100");
	new_provider(&p);
	char k[64];
	uid("idem", k);
	snprintf(key, sizeof key, "Idempotency-Key: %s", k);
	const char *const hdr[] = {key, NULL};
	create_body(body, sizeof body, "api.idem", u.addr, p.addr, "10", NULL);
	cJSON *esc = expect("POST", "/v1/escrow/create", u.auth, hdr, body, 201, "");
	snprintf(first, sizeof first, "%s", eu_str(esc, "id"));
	cJSON_Delete(esc);
	/* the same request again: the same escrow, held once */
	for (int i = 0; i < 2; i++) {
		esc = expect("POST", "/v1/escrow/create", u.auth, hdr, body, 200, "");
		assert_string_equal(eu_str(esc, "id"), first);
		assert_string_equal(eu_str(esc, "status"), "held");
		cJSON_Delete(esc);
	}
	assert_money(u.addr, 90 * FLOP, 10 * FLOP);
	/* the same key with other fields */
	cJSON_Delete(expect("POST", "/v1/escrow/create", u.auth, hdr,
			    create_body(body, sizeof body, "api.idem", u.addr, p.addr, "11", NULL), 422,
			    "idempotency-key-reused"));
	cJSON_Delete(expect("POST", "/v1/escrow/create", u.auth, hdr,
			    create_body(body, sizeof body, "api.other", u.addr, p.addr, "10", NULL),
			    422, "idempotency-key-reused"));
	assert_money(u.addr, 90 * FLOP, 10 * FLOP);
	/* another caller's key is its own */
	esc = expect("POST", "/v1/escrow/create", v.auth, hdr,
		     create_body(body, sizeof body, "api.idem", v.addr, p.addr, "10", NULL), 201, "");
	assert_string_not_equal(eu_str(esc, "id"), first);
	cJSON_Delete(esc);
	/* still answered as it stands after a release */
	status_only(release(E.service, first, 200, ""));
	esc = expect("POST", "/v1/escrow/create", u.auth, hdr,
		     create_body(body, sizeof body, "api.idem", u.addr, p.addr, "10", NULL), 200, "");
	assert_string_equal(eu_str(esc, "id"), first);
	assert_string_equal(eu_str(esc, "status"), "released");
	cJSON_Delete(esc);
	assert_money(u.addr, 90 * FLOP, 0);
	/* a key out of bounds */
	memset(key, 'k', sizeof key);
	memcpy(key, "Idempotency-Key: ", 17);
	key[17 + 129] = '\0';
	cJSON_Delete(expect("POST", "/v1/escrow/create", u.auth, hdr, body, 400, "invalid-header"));
}

/* The same key with another timeout asks for another escrow: refused like other fields. */
static void idempotency_key_with_other_timeout(void **state)
{
	(void)state;
	eu_user_t u, p;
	char key[200], body[1024], k[64];
	new_user(&u, "10");
	new_provider(&p);
	uid("idemt", k);
	snprintf(key, sizeof key, "Idempotency-Key: %s", k);
	const char *const hdr[] = {key, NULL};
	cJSON_Delete(expect("POST", "/v1/escrow/create", u.auth, hdr,
			    create_body(body, sizeof body, "api.idem", u.addr, p.addr, "1",
					",\"timeout\":60"),
			    201, ""));
	cJSON_Delete(expect("POST", "/v1/escrow/create", u.auth, hdr,
			    create_body(body, sizeof body, "api.idem", u.addr, p.addr, "1",
					",\"timeout\":3600"),
			    422, "idempotency-key-reused"));
}

/* ---- conflicts, permissions, unknown escrows */

static void settle_conflicts_and_permissions(void **state)
{
	(void)state;
	eu_user_t u, other, p;
	char a[64], b[64], path[96];
	new_user(&u, "10");
	new_user(&other, "1");
	new_provider(&p);
	create_held(&u, p.addr, "1", NULL, a);
	create_held(&u, p.addr, "1", NULL, b);

	/* who may release and refund: services and admins */
	status_only(release(u.auth, a, 403, "insufficient-scope"));
	status_only(release(p.auth, a, 403, "insufficient-scope"));
	status_only(release(NULL, a, 401, "unauthenticated"));
	status_only(refund(u.auth, a, NULL, 403, "insufficient-scope"));
	status_only(refund(p.auth, a, NULL, 403, "insufficient-scope"));
	/* who may create: users and providers */
	char body[1024];
	expect_status("POST", "/escrow/create", E.service,
		      create_body(body, sizeof body, "api.x", u.addr, p.addr, "1", NULL), 403,
		      "insufficient-scope");
	expect_status("POST", "/escrow/create", E.admin,
		      create_body(body, sizeof body, "api.x", u.addr, p.addr, "1", NULL), 403,
		      "insufficient-scope");
	expect_status("POST", "/escrow/create", NULL,
		      create_body(body, sizeof body, "api.x", u.addr, p.addr, "1", NULL), 401,
		      "unauthenticated");
	/* reading: the owner, the owner of the provider account, services and admins; to anyone
	 * else it does not exist */
	snprintf(path, sizeof path, "/v1/escrow/%s", a);
	expect_status("GET", path, other.auth, NULL, 404, "not-found");
	expect_status("GET", path, p.auth, NULL, 200, "");
	expect_status("GET", path, u.auth, NULL, 200, "");
	expect_status("GET", path, E.service, NULL, 200, "");
	expect_status("GET", path, NULL, NULL, 401, "unauthenticated");

	/* release twice: the second answers as it stands; then no refund */
	cJSON *esc = release(E.service, a, 200, "");
	assert_string_equal(eu_str(esc, "status"), "released");
	cJSON_Delete(esc);
	esc = release(E.admin, a, 200, "");
	assert_string_equal(eu_str(esc, "status"), "released");
	assert_paid(esc, 95000000, 5000000, 0);
	cJSON_Delete(esc);
	/* ... but not with another result */
	char other_hash[65];
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", a,
		 hash_of("another result", other_hash));
	expect_status("POST", "/escrow/release", E.service, body, 409, "result-differs");
	status_only(refund(E.service, a, NULL, 409, "invalid-state"));
	status_only(dispute(u.auth, a, 409, "invalid-state"));
	/* refund twice: the second as it stands; then no release */
	status_only(refund(E.service, b, NULL, 200, ""));
	esc = refund(E.service, b, NULL, 200, "");
	assert_string_equal(eu_str(esc, "status"), "refunded");
	cJSON_Delete(esc);
	status_only(release(E.service, b, 409, "invalid-state"));
	assert_money(u.addr, 9 * FLOP, 0);
	assert_money(p.addr, 95000000, 0);

	/* unknown escrows */
	const char *unknown = "esc_00000000000000000000000000000000";
	snprintf(path, sizeof path, "/v1/escrow/%s", unknown);
	expect_status("GET", path, E.admin, NULL, 404, "not-found");
	expect_status("GET", "/v1/escrow/esc_nonsense", E.admin, NULL, 404, "not-found");
	status_only(release(E.service, unknown, 404, "not-found"));
	status_only(refund(E.service, unknown, NULL, 404, "not-found"));
	status_only(dispute(u.auth, unknown, 404, "not-found"));
	status_only(resolve(E.admin, unknown, "refund", NULL, 404, "not-found"));
	status_only(resolve(E.admin, unknown, "split", "1", 404, "not-found"));
}

/* ---- refusals at the edge */

static void create_refuses_bad_input(void **state)
{
	(void)state;
	eu_user_t u, p;
	char body[1024], api[64], testnet[DUX_ADDRESS_MAX], badsum[64], *pem = NULL;
	new_user(&u, "10");
	new_provider(&p);
	uid("api.bad", api);
	static const struct {
		const char *amount; /* as JSON */
	} bad_amounts[] = {
		{"\"0\""},         {"0"},          {"\"-1\""},  {"-1"},
		{"\"0.000000001\""}, /* 9 decimals */
		{"\"1000000.00000001\""},       /* above escrow.max_amount */
		{"\"92233720368.54775808\""},   /* INT64_MAX + 1 units */
		{"\"100000000000\""},           /* far above int64 */
		{"\"1e3\""},       {"\"ten\""},    {"\"\""},    {"null"}, {"true"},
	};
	for (size_t i = 0; i < sizeof bad_amounts / sizeof bad_amounts[0]; i++) {
		snprintf(body, sizeof body,
			 "{\"api_id\":\"%s\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\","
			 "\"amount\":%s}",
			 api, u.addr, p.addr, bad_amounts[i].amount);
		expect_field("/escrow/create", u.auth, body, "amount");
	}
	snprintf(body, sizeof body,
		 "{\"api_id\":\"%s\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\"}", api, u.addr,
		 p.addr);
	expect_field("/escrow/create", u.auth, body, "amount");

	/* addresses */
	assert_int_equal(dux_address_new(DUX_NET_TESTNET, testnet, &pem), 0);
	free(pem);
	snprintf(badsum, sizeof badsum, "%s", u.addr);
	badsum[strlen(badsum) - 1] = badsum[strlen(badsum) - 1] == 'a' ? 'b' : 'a';
	const char *bad_addrs[] = {"notanaddress", testnet, badsum, "", "0OIl"};
	for (size_t i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++) {
		expect_field("/escrow/create", u.auth,
			     create_body(body, sizeof body, api, bad_addrs[i], p.addr, "1", NULL),
			     "user_wallet");
		expect_field("/escrow/create", u.auth,
			     create_body(body, sizeof body, api, u.addr, bad_addrs[i], "1", NULL),
			     "provider_wallet");
	}
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, api, u.addr, u.addr, "1", NULL),
		     "provider_wallet");
	/* api_id and task_id */
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, "an api", u.addr, p.addr, "1", NULL), "api_id");
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, "", u.addr, p.addr, "1", NULL), "api_id");
	char long_api[140];
	memset(long_api, 'a', 129);
	long_api[129] = '\0';
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, long_api, u.addr, p.addr, "1", NULL), "api_id");
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, api, u.addr, p.addr, "1", ",\"task_id\":\"t 1\""),
		     "task_id");
	/* not JSON, or a member nobody asked for */
	expect_status("POST", "/escrow/create", u.auth, "{\"api_id\":", 400, "invalid-body");
	dux_client_resp_t resp;
	assert_int_equal(eu_http(&E, "POST", "/escrow/create", u.auth, NULL,
				 create_body(body, sizeof body, api, u.addr, p.addr, "1",
					     ",\"colour\":\"red\""),
				 &resp),
			 0);
	assert_int_equal(resp.status, 400);
	dux_client_resp_clear(&resp);

	/* nothing was made or held */
	char path[160];
	snprintf(path, sizeof path, "/v1/escrows?api_id=%s", api);
	cJSON *list = expect("GET", path, E.admin, NULL, NULL, 200, "");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(list, "escrows")), 0);
	cJSON_Delete(list);
	assert_money(u.addr, 10 * FLOP, 0);

	/* result hashes of a release: 64 lowercase hex digits */
	char id[64], h[65], bad[80];
	create_held(&u, p.addr, "1", NULL, id);
	hash_of("x", h);
	const char *bad_hashes[5];
	char nothex[65], upper[65], short63[64], long65[66];
	snprintf(nothex, sizeof nothex, "%s", h);
	nothex[10] = 'g';
	snprintf(upper, sizeof upper, "%s", h);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	if (strcmp(upper, h) == 0) /* all digits: make one a letter */
		upper[0] = 'A';
	snprintf(short63, sizeof short63, "%.63s", h);
	snprintf(long65, sizeof long65, "%s0", h);
	bad_hashes[0] = nothex;
	bad_hashes[1] = upper;
	bad_hashes[2] = short63;
	bad_hashes[3] = long65;
	bad_hashes[4] = "";
	for (int i = 0; i < 5; i++) {
		snprintf(bad, sizeof bad, "%s", bad_hashes[i]);
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", id, bad);
		expect_field("/escrow/release", E.service, body, "result_hash");
	}
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\"}", id);
	expect_field("/escrow/release", E.service, body, "result_hash");
	snprintf(body, sizeof body, "{\"result_hash\":\"%s\"}", h);
	expect_field("/escrow/release", E.service, body, "escrow_id");
	cJSON *esc = get_escrow(id);
	assert_string_equal(eu_str(esc, "status"), "held");
	cJSON_Delete(esc);
	assert_money(u.addr, 9 * FLOP, 1 * FLOP);
	status_only(release(E.service, id, 200, ""));
}

/* ---- refusals by the wallet */

static void wallet_refusals_hold_nothing(void **state)
{
	(void)state;
	eu_user_t u, victim, p;
	char body[1024], api[64], stranger[64], path[200];
	new_user(&u, "10");
	new_user(&victim, "100");
	new_provider(&p);
	uid("api.refused", api);
	/* the victim's account: the wallet itself checks ownership (Dux-On-Behalf-Of) */
	cJSON *j = expect("POST", "/escrow/create", u.auth, NULL,
			  create_body(body, sizeof body, api, victim.addr, p.addr, "5", NULL), 403,
			  "not-owner");
	cJSON_Delete(j);
	assert_money(victim.addr, 100 * FLOP, 0);
	/* more than the user has */
	cJSON_Delete(expect("POST", "/escrow/create", u.auth, NULL,
			    create_body(body, sizeof body, api, u.addr, p.addr, "10.00000001", NULL),
			    422, "insufficient-funds"));
	assert_money(u.addr, 10 * FLOP, 0);
	/* a provider account the wallet does not know */
	th_address(stranger);
	cJSON_Delete(expect("POST", "/escrow/create", u.auth, NULL,
			    create_body(body, sizeof body, api, u.addr, stranger, "1", NULL), 404,
			    "account-not-found"));
	assert_money(u.addr, 10 * FLOP, 0);
	assert_money(p.addr, 0, 0);
	/* they are recorded as failed, with the wallet's reason */
	snprintf(path, sizeof path, "/v1/escrows?api_id=%s", api);
	cJSON *list = expect("GET", path, E.admin, NULL, NULL, 200, "");
	const cJSON *esc;
	int n = 0;
	cJSON_ArrayForEach(esc, cJSON_GetObjectItem(list, "escrows"))
	{
		n++;
		assert_string_equal(eu_str(esc, "status"), "failed");
		const char *reason = eu_str(esc, "reason");
		bool known = strcmp(reason, "not_owner") == 0 ||
			     strcmp(reason, "insufficient_funds") == 0 ||
			     strcmp(reason, "account_not_found") == 0;
		if (!known)
			fprintf(stderr, "failed escrow with reason \"%s\"\n", reason);
		assert_true(known);
		char id[64];
		snprintf(id, sizeof id, "%s", eu_str(esc, "id"));
		status_only(release(E.service, id, 409, "invalid-state"));
		status_only(refund(E.service, id, NULL, 409, "invalid-state"));
	}
	cJSON_Delete(list);
	assert_int_equal(n, 3);
	assert_money(victim.addr, 100 * FLOP, 0);
	assert_money(u.addr, 10 * FLOP, 0);
	/* the community fund's accounts are no one's to pay from or to */
	cJSON *fund = expect("GET", "/v1/community-fund", NULL, NULL, NULL, 200, "");
	char shard[64];
	snprintf(shard, sizeof shard, "%s",
		 cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(fund, "shards"), 0)));
	cJSON_Delete(fund);
	cJSON_Delete(expect("POST", "/escrow/create", u.auth, NULL,
			    create_body(body, sizeof body, api, shard, p.addr, "1", NULL), 422,
			    "fund-account"));
	cJSON_Delete(expect("POST", "/escrow/create", u.auth, NULL,
			    create_body(body, sizeof body, api, u.addr, shard, "1", NULL), 422,
			    "fund-account"));
}

/* ---- listing */

/* Every escrow of the query, paging by limit; the ids in order, into ids (up to max). */
static int list_all(const char *auth, const char *query, int limit, char ids[][64], int max)
{
	char cursor[64] = "", path[512];
	int n = 0;
	for (int pages = 0; pages < 100; pages++) {
		snprintf(path, sizeof path, "/v1/escrows?%s&limit=%d%s%s", query, limit,
			 *cursor ? "&cursor=" : "", cursor);
		cJSON *page = expect("GET", path, auth, NULL, NULL, 200, "");
		const cJSON *esc, *arr = cJSON_GetObjectItem(page, "escrows");
		assert_true(cJSON_GetArraySize(arr) <= limit);
		cJSON_ArrayForEach(esc, arr)
		{
			assert_true(n < max);
			snprintf(ids[n], 64, "%s", eu_str(esc, "id"));
			if (n > 0)
				assert_true(strcmp(ids[n - 1], ids[n]) < 0);
			n++;
		}
		const cJSON *next = cJSON_GetObjectItem(page, "next_cursor");
		bool more = cJSON_IsString(next);
		if (more) {
			assert_int_equal(cJSON_GetArraySize(arr), limit);
			snprintf(cursor, sizeof cursor, "%s", next->valuestring);
		} else {
			assert_true(cJSON_IsNull(next));
		}
		cJSON_Delete(page);
		if (!more)
			return n;
	}
	fail();
	return n;
}

static void list_filters_and_pages(void **state)
{
	(void)state;
	eu_user_t u1, u2, p, q;
	char api[64], query[256], ids[16][64], made[7][64];
	new_user(&u1, "100");
	new_user(&u2, "100");
	new_provider(&p);
	new_provider(&q);
	uid("api.list", api);
	char body[1024];
	for (int i = 0; i < 7; i++) {
		const eu_user_t *who = i < 5 ? &u1 : &u2;
		cJSON *esc = expect("POST", "/escrow/create", who->auth, NULL,
				    create_body(body, sizeof body, api, who->addr, i == 6 ? q.addr : p.addr,
						"1", NULL),
				    201, "");
		snprintf(made[i], 64, "%s", eu_str(esc, "id"));
		cJSON_Delete(esc);
	}
	status_only(release(E.service, made[0], 200, ""));
	status_only(release(E.service, made[1], 200, ""));
	status_only(refund(E.service, made[5], NULL, 200, ""));

	snprintf(query, sizeof query, "api_id=%s", api);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 7);
	assert_int_equal(list_all(E.admin, query, 2, ids, 16), 7); /* pages of 2, 2, 2, 1 */
	assert_int_equal(list_all(E.admin, query, 7, ids, 16), 7); /* one full page, then none */
	for (int i = 0; i < 7; i++) {
		bool found = false;
		for (int j = 0; j < 7; j++)
			found = found || strcmp(made[i], ids[j]) == 0;
		assert_true(found);
	}
	assert_int_equal(list_all(E.service, query, 3, ids, 16), 7);
	snprintf(query, sizeof query, "api_id=%s&status=released", api);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 2);
	snprintf(query, sizeof query, "api_id=%s&status=held", api);
	assert_int_equal(list_all(E.admin, query, 1, ids, 16), 4);
	snprintf(query, sizeof query, "api_id=%s&status=refunded", api);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 1);
	assert_string_equal(ids[0], made[5]);
	snprintf(query, sizeof query, "user=%s", u2.addr);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 2);
	snprintf(query, sizeof query, "provider=%s", q.addr);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 1);
	assert_string_equal(ids[0], made[6]);
	snprintf(query, sizeof query, "provider=%s&user=%s", p.addr, u1.addr);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 5);
	snprintf(query, sizeof query, "provider=%s&status=held", p.addr);
	assert_int_equal(list_all(E.admin, query, 500, ids, 16), 3);

	/* a user sees only its own */
	snprintf(query, sizeof query, "api_id=%s", api);
	assert_int_equal(list_all(u1.auth, query, 2, ids, 16), 5);
	assert_int_equal(list_all(u2.auth, query, 500, ids, 16), 2);
	snprintf(query, sizeof query, "user=%s", u2.addr);
	assert_int_equal(list_all(u1.auth, query, 500, ids, 16), 0);
	snprintf(query, sizeof query, "api_id=%s", api);
	assert_int_equal(list_all(p.auth, query, 500, ids, 16), 0);
	cJSON *page = expect("GET", "/escrows?limit=500", u1.auth, NULL, NULL, 200, "");
	const cJSON *esc;
	cJSON_ArrayForEach(esc, cJSON_GetObjectItem(page, "escrows"))
		assert_string_equal(eu_str(esc, "owner"), u1.sub);
	cJSON_Delete(page);

	/* a provider sees the escrows paying an account of its own, whoever paid; another
	 * provider naming that account sees none of them */
	snprintf(query, sizeof query, "provider=%s", p.addr);
	assert_int_equal(list_all(p.auth, query, 2, ids, 16), 6);
	snprintf(query, sizeof query, "provider=%s&user=%s", p.addr, u2.addr);
	assert_int_equal(list_all(p.auth, query, 500, ids, 16), 1);
	snprintf(query, sizeof query, "provider=%s", p.addr);
	assert_int_equal(list_all(q.auth, query, 500, ids, 16), 0);
	char path[128];
	snprintf(path, sizeof path, "/v1/escrow/%s", made[0]);
	cJSON_Delete(expect("GET", path, p.auth, NULL, NULL, 200, ""));
	cJSON_Delete(expect("GET", path, q.auth, NULL, NULL, 404, "not-found"));
	cJSON_Delete(expect("GET", path, u2.auth, NULL, NULL, 404, "not-found"));

	/* bad queries */
	expect_status("GET", "/v1/escrows?provider=Fnope", E.admin, NULL, 400, "invalid-query");
	expect_status("GET", "/v1/escrows?status=lost", E.admin, NULL, 400, "invalid-query");
	expect_status("GET", "/v1/escrows?cursor=abc", E.admin, NULL, 400, "invalid-query");
	expect_status("GET", "/v1/escrows?limit=0", E.admin, NULL, 400, "invalid-query");
	expect_status("GET", "/v1/escrows?limit=501", E.admin, NULL, 400, "invalid-query");
	expect_status("GET", "/v1/escrows", NULL, NULL, 401, "unauthenticated");
}

/* ---- the audit log */

/* The whole audit log, its chain checked (see eu_audit_read). */
static int read_chain(eu_entry_t **ret)
{
	int n = 0;
	assert_true(eu_audit_read(&E, ret, &n));
	return n;
}

static void free_entries(eu_entry_t *all, int n)
{
	eu_audit_free(all, n);
}

/* The entry of action for escrow id (NULL: none); fails when there are several. */
static const eu_entry_t *entry_of(const eu_entry_t *all, int n, const char *id, const char *action)
{
	const eu_entry_t *found = NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(all[i].escrow_id, id) == 0 && strcmp(all[i].action, action) == 0) {
			assert_null(found);
			found = &all[i];
		}
	return found;
}

static void audit_log_is_chained_and_signed(void **state)
{
	(void)state;
	eu_user_t u, p;
	char a[64], b[64], c[64];
	new_user(&u, "10");
	new_provider(&p);
	create_held(&u, p.addr, "1", NULL, a);
	create_held(&u, p.addr, "1", NULL, b);
	create_held(&u, p.addr, "2", NULL, c);
	status_only(release(E.service, a, 200, ""));
	status_only(refund(E.service, b, "failure", 200, ""));
	status_only(dispute(u.auth, c, 200, ""));
	status_only(resolve(E.admin, c, "split", "1", 200, ""));

	/* one writer chains queued entries every 200 ms: wait for the last one */
	eu_entry_t *all = NULL;
	int n = 0;
	for (int tries = 0; tries < 200; tries++) {
		free_entries(all, n);
		n = read_chain(&all);
		if (entry_of(all, n, c, "resolved"))
			break;
		usleep(50000);
	}
	static const struct {
		int which;
		const char *action, *actor, *status;
	} want[] = {
		{0, "held", NULL, "held"},        {0, "released", "duxos-tasks", "released"},
		{1, "held", NULL, "held"},        {1, "refunded", "duxos-tasks", "refunded"},
		{2, "held", NULL, "held"},        {2, "disputed", NULL, "disputed"},
		{2, "resolved", "duxos-admin", "resolved"},
	};
	const char *ids[] = {a, b, c};
	int64_t last_seq = 0;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const eu_entry_t *x = entry_of(all, n, ids[want[i].which], want[i].action);
		if (!x)
			fprintf(stderr, "no audit entry %s for %s\n", want[i].action, ids[want[i].which]);
		assert_non_null(x);
		assert_string_equal(x->actor, want[i].actor ? want[i].actor : u.sub);
		cJSON *data = cJSON_Parse(x->data);
		assert_non_null(data);
		assert_string_equal(eu_str(data, "id"), ids[want[i].which]);
		assert_string_equal(eu_str(data, "status"), want[i].status);
		cJSON_Delete(data);
		/* one escrow's entries are in the order of its steps */
		if (i > 0 && want[i].which == want[i - 1].which)
			assert_true(x->seq > last_seq);
		last_seq = x->seq;
	}
	/* nothing else was logged for them */
	for (int i = 0; i < n; i++)
		if (strcmp(all[i].escrow_id, c) == 0)
			assert_true(strcmp(all[i].action, "held") == 0 ||
				    strcmp(all[i].action, "disputed") == 0 ||
				    strcmp(all[i].action, "resolved") == 0);
	free_entries(all, n);
	/* only services and admins read it */
	expect_status("GET", "/v1/audit", u.auth, NULL, 403, "insufficient-scope");
	expect_status("GET", "/v1/audit", NULL, NULL, 401, "unauthenticated");
	expect_status("GET", "/v1/audit", E.service, NULL, 200, "");
}

/* ---- events */

/* Every escrow's data (owner, wallets, amounts) is in the events, so, as GET /escrow/{id}
 * hides an escrow from anyone but its owner, services and admins, GET /v1/events is for
 * services and admins only (as the wallet's). */
static void events_are_not_public(void **state)
{
	(void)state;
	eu_user_t u;
	new_user(&u, NULL);
	expect_status("GET", "/v1/events", E.admin, NULL, 200, "");
	expect_status("GET", "/v1/events", E.service, NULL, 200, "");
	expect_status("GET", "/v1/events", u.auth, NULL, 403, "insufficient-scope");
	expect_status("GET", "/v1/events", NULL, NULL, 401, "unauthenticated");
}

/* ---- the default minimum timeout, after a restart with the default configuration */

static void default_min_timeout_is_10_s(void **state)
{
	(void)state;
	eu_user_t u, p;
	char body[1024];
	new_user(&u, "10");
	new_provider(&p);
	assert_int_equal(eu_escrow_stop(&E), 0);
	assert_true(eu_escrow_restart(&E, "", true));
	expect_field("/escrow/create", u.auth,
		     create_body(body, sizeof body, "api.t", u.addr, p.addr, "1", ",\"timeout\":9"),
		     "timeout");
	cJSON *esc = expect("POST", "/escrow/create", u.auth, NULL,
			    create_body(body, sizeof body, "api.t", u.addr, p.addr, "1",
					",\"timeout\":10"),
			    201, "");
	char id[64];
	snprintf(id, sizeof id, "%s", eu_str(esc, "id"));
	cJSON_Delete(esc);
	status_only(release(E.service, id, 200, ""));
}

/* ---- conservation across both daemons */

static void money_is_conserved(void **state)
{
	(void)state;
	/* let anything the recovery job still finishes settle: nothing transient remains */
	static const char *const transient[] = {"creating", "releasing", "refunding", "resolving"};
	for (size_t i = 0; i < 4; i++) {
		char path[96];
		snprintf(path, sizeof path, "/v1/escrows?status=%s&limit=1", transient[i]);
		cJSON *page = expect("GET", path, E.admin, NULL, NULL, 200, "");
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(page, "escrows")), 0);
		cJSON_Delete(page);
	}
	assert_true(eu_conserved(&E));
	/* the fund's balance is everything it was ever paid */
	int64_t b = -1, in = -1;
	assert_true(eu_fund(&E, &b, &in));
	assert_true(fund_balance() == in);
	fund_shows(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_and_release_pay_95_5),
		cmocka_unit_test(shares_floor_to_the_unit),
		cmocka_unit_test(refund_returns_everything),
		cmocka_unit_test(dispute_freezes_and_admin_resolves),
		cmocka_unit_test(timeout_refunds_without_a_call),
		cmocka_unit_test(unresolved_dispute_is_refunded),
		cmocka_unit_test(idempotency_key_makes_create_repeatable),
		cmocka_unit_test(idempotency_key_with_other_timeout),
		cmocka_unit_test(settle_conflicts_and_permissions),
		cmocka_unit_test(create_refuses_bad_input),
		cmocka_unit_test(wallet_refusals_hold_nothing),
		cmocka_unit_test(list_filters_and_pages),
		cmocka_unit_test(audit_log_is_chained_and_signed),
		cmocka_unit_test(events_are_not_public),
		cmocka_unit_test(default_min_timeout_is_10_s),
		cmocka_unit_test(release_repeated_while_under_way),
		cmocka_unit_test(money_is_conserved),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
