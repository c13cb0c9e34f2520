/* wallet_api.c - duxos-wallet's HTTP API against a real PostgreSQL (wallet.chain: none,
 * wallet.encryption: true): accounts, the faucet, batches of transfers and their refusals,
 * two-phase transfers and their timeout, acting on behalf of an owner, sends, history, address
 * validation, events, the conservation check, and a restart with a wrong passphrase. */
#include "wallet_util.h"
#include <dux/address.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#define FLOP INT64_C(100000000)
#define WALLET_LONG_ID 120 /* an allowed id (at most 128) longer than 128 - len("wallet:timeout:") */

static wu_wallet_t W;

static int setup(void **state)
{
	(void)state;
	return wu_start(&W, WU_PASSPHRASE, "  faucet_limit: \"1000\"\n  sweep_interval_ms: 100\n")
		       ? 0
		       : -1;
}

static int teardown(void **state)
{
	(void)state;
	int st = wu_stop(&W);
	wu_free(&W);
	/* the daemon runs under AddressSanitizer: a clean exit means no leak and no crash */
	return st == 0 ? 0 : -1;
}

/* ---- helpers */

typedef struct {
	char sub[64];
	char auth[WU_HDR_MAX];
	char addr[64]; /* its first account */
} user_t;

/* A user (scope user) with one account, credited with fund FLOP by the faucet (NULL: none). */
static void new_user(user_t *u, const char *fund)
{
	wu_subject("user", u->sub);
	assert_true(wu_bearer(&W, u->sub, DUX_SCOPE_USER, u->auth, sizeof u->auth));
	assert_true(wu_account(&W, u->auth, u->addr));
	if (fund)
		assert_int_equal(wu_faucet(&W, u->addr, fund), 201);
}

/* Another account of u. */
static void new_account(const user_t *u, char addr[64])
{
	assert_true(wu_account(&W, u->auth, addr));
}

static void uid(const char *prefix, char out[64])
{
	wu_subject(prefix, out);
}

/* One call checking the status and the problem type ("" for none); the JSON answer (caller
 * frees). */
static cJSON *expect(const char *method, const char *path, const char *auth,
		     const char *const *extra, const char *body, long status, const char *problem)
{
	dux_client_resp_t resp;
	assert_int_equal(wu_http(&W, method, path, auth, extra, body, &resp), 0);
	if (resp.status != status || strcmp(th_problem(&resp), problem) != 0)
		fprintf(stderr, "%s %s %.300s\n  want %ld %s, got %ld %.600s\n", method, path,
			body ? body : "", status, problem, resp.status, resp.body);
	assert_int_equal(resp.status, status);
	assert_string_equal(th_problem(&resp), problem);
	cJSON *j = resp.json;
	resp.json = NULL;
	dux_client_resp_clear(&resp);
	return j;
}

static void expect_status(const char *method, const char *path, const char *auth,
			  const char *const *extra, const char *body, long status,
			  const char *problem)
{
	cJSON_Delete(expect(method, path, auth, extra, body, status, problem));
}

/* POST path with body must answer 400 invalid-field naming field. */
static void expect_field(const char *path, const char *auth, const char *body, const char *field)
{
	dux_client_resp_t resp;
	assert_int_equal(wu_http(&W, "POST", path, auth, NULL, body, &resp), 0);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(resp.json, "field");
	bool ok = resp.status == 400 && strcmp(th_problem(&resp), "invalid-field") == 0 &&
		  cJSON_IsString(f) && strcmp(f->valuestring, field) == 0;
	if (!ok)
		fprintf(stderr, "POST %s %.300s\n  want 400 invalid-field %s, got %ld %.600s\n", path,
			body, field, resp.status, resp.body);
	dux_client_resp_clear(&resp);
	assert_true(ok);
}

/* {"id":..,"debit":..,"credit":..,"amount":..<more>} */
static const char *item(char *buf, size_t len, const char *id, const char *debit,
			const char *credit, const char *amount, const char *more)
{
	int n = snprintf(buf, len,
			 "{\"id\":\"%s\",\"debit\":\"%s\",\"credit\":\"%s\",\"amount\":\"%s\"%s}",
			 id, debit, credit, amount, more ? more : "");
	assert_true(n > 0 && (size_t)n < len);
	return buf;
}

/* A post or void of pending_id; amount NULL: none. */
static const char *resolve(char *buf, size_t len, const char *id, const char *mode,
			   const char *pending_id, const char *amount)
{
	char a[64] = "";
	if (amount)
		snprintf(a, sizeof a, ",\"amount\":\"%s\"", amount);
	snprintf(buf, len, "{\"id\":\"%s\",\"mode\":\"%s\",\"pending_id\":\"%s\"%s}", id, mode,
		 pending_id, a);
	return buf;
}

/* {"transfers":[items...]}: the items up to NULL. */
static const char *batch(char *out, size_t len, ...)
{
	va_list ap;
	size_t o = (size_t)snprintf(out, len, "{\"transfers\":[");
	va_start(ap, len);
	const char *it;
	for (int i = 0; (it = va_arg(ap, const char *)) != NULL; i++)
		o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s%s", i ? "," : "", it);
	va_end(ap);
	snprintf(out + o, o < len ? len - o : 0, "]}");
	return out;
}

/* POST /v1/transfers with one item. */
static cJSON *post_one(const char *auth, const char *const *extra, const char *it, long status,
		       const char *problem)
{
	char body[2048];
	return expect("POST", "/v1/transfers", auth, extra, batch(body, sizeof body, it, NULL),
		      status, problem);
}

static void post_one_status(const char *auth, const char *it, long status, const char *problem)
{
	cJSON_Delete(post_one(auth, NULL, it, status, problem));
}

/* The n-th transfer of a POST /v1/transfers answer (borrowed). */
static const cJSON *nth(const cJSON *answer, int n)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(answer, "transfers"), n);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static bool is_null(const cJSON *o, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void assert_money(const wu_wallet_t *w, const char *addr, int64_t balance, int64_t held)
{
	int64_t b = wu_balance(w, addr), h = wu_held(w, addr);
	if (b != balance || h != held)
		fprintf(stderr, "account %s: balance %lld held %lld, expected %lld and %lld\n", addr,
			(long long)b, (long long)h, (long long)balance, (long long)held);
	assert_true(b == balance);
	assert_true(h == held);
}

/* GET /v1/transfers/{id} as auth; the status, and the transfer in ret when not NULL. */
static long get_transfer(const char *auth, const char *id, cJSON **ret)
{
	char path[256];
	int n = snprintf(path, sizeof path, "/v1/transfers/%s", id);
	assert_true(n > 0 && (size_t)n < sizeof path);
	return wu_call(&W, "GET", path, auth, NULL, NULL, ret);
}

/* ---- accounts */

static void accounts_create_and_read(void **state)
{
	(void)state;
	char usub[64], vsub[64], uauth[WU_HDR_MAX], vauth[WU_HDR_MAX], svc[WU_HDR_MAX];
	char key[200], path[128];
	wu_subject("user", usub);
	wu_subject("user", vsub);
	assert_true(wu_bearer(&W, usub, DUX_SCOPE_USER, uauth, sizeof uauth));
	assert_true(wu_bearer(&W, vsub, DUX_SCOPE_USER | DUX_SCOPE_PROVIDER, vauth, sizeof vauth));
	assert_true(wu_bearer(&W, "duxos-escrow", DUX_SCOPE_SERVICE, svc, sizeof svc));
	uid("acct-key", key);
	char hdr[256];
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
	const char *idem[] = {hdr, NULL};

	cJSON *a = expect("POST", "/wallet/address", uauth, idem, NULL, 201, "");
	char addr[64];
	snprintf(addr, sizeof addr, "%s", str_of(a, "address"));
	assert_string_equal(str_of(a, "owner"), usub);
	assert_string_equal(str_of(a, "balance"), "0");
	assert_string_equal(str_of(a, "held"), "0");
	assert_string_equal(str_of(a, "origin"), "generated");
	assert_int_equal(dux_address_validate(addr, DUX_NET_MAINNET, NULL, NULL), 0);
	cJSON_Delete(a);

	/* the same key again: the same account */
	a = expect("POST", "/v1/wallet/address", uauth, idem, NULL, 200, "");
	assert_string_equal(str_of(a, "address"), addr);
	cJSON_Delete(a);
	/* the same key from another owner: that owner's own new account */
	a = expect("POST", "/v1/wallet/address", vauth, idem, NULL, 201, "");
	assert_string_not_equal(str_of(a, "address"), addr);
	assert_string_equal(str_of(a, "owner"), vsub);
	cJSON_Delete(a);
	/* without a key: a new account every time */
	char other[64];
	assert_true(wu_account(&W, uauth, other));
	assert_string_not_equal(other, addr);

	/* malformed keys */
	char longkey[200];
	memset(longkey, 'k', 129);
	longkey[129] = '\0';
	char h1[256], h2[64];
	snprintf(h1, sizeof h1, "Idempotency-Key: %s", longkey);
	snprintf(h2, sizeof h2, "Idempotency-Key: two words");
	const char *bad1[] = {h1, NULL}, *bad2[] = {h2, NULL};
	expect_status("POST", "/v1/wallet/address", uauth, bad1, NULL, 400, "invalid-header");
	expect_status("POST", "/v1/wallet/address", uauth, bad2, NULL, 400, "invalid-header");
	expect_status("POST", "/v1/wallet/address", NULL, NULL, NULL, 401, "unauthenticated");
	expect_status("POST", "/v1/wallet/address", "Authorization: Bearer nonsense", NULL, NULL,
		      401, "invalid-token");

	/* reading it: the owner, admins and services; to anyone else it does not exist */
	snprintf(path, sizeof path, "/v1/accounts/%s", addr);
	a = expect("GET", path, uauth, NULL, NULL, 200, "");
	assert_string_equal(str_of(a, "address"), addr);
	assert_string_equal(str_of(a, "owner"), usub);
	cJSON_Delete(a);
	expect_status("GET", path, vauth, NULL, NULL, 404, "not-found");
	expect_status("GET", path, W.admin, NULL, NULL, 200, "");
	expect_status("GET", path, svc, NULL, NULL, 200, "");
	expect_status("GET", path, NULL, NULL, NULL, 401, "unauthenticated");
	snprintf(path, sizeof path, "/accounts/%s", addr); /* the unversioned form */
	expect_status("GET", path, uauth, NULL, NULL, 200, "");
	char unknown[64];
	th_address(unknown);
	snprintf(path, sizeof path, "/v1/accounts/%s", unknown);
	expect_status("GET", path, W.admin, NULL, NULL, 404, "not-found");
	expect_status("GET", "/v1/accounts/not-an-address", W.admin, NULL, NULL, 404, "not-found");
}

/* ---- faucet */

static void faucet_rules(void **state)
{
	(void)state;
	user_t u;
	new_user(&u, NULL);
	char body[512];
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", u.addr);
	expect_status("POST", "/v1/faucet", u.auth, NULL, body, 403, "insufficient-scope");
	expect_status("POST", "/v1/faucet", NULL, NULL, body, 401, "unauthenticated");
	char svc[WU_HDR_MAX];
	assert_true(wu_bearer(&W, "duxos-escrow", DUX_SCOPE_SERVICE, svc, sizeof svc));
	expect_status("POST", "/v1/faucet", svc, NULL, body, 403, "insufficient-scope");

	/* amounts out of bounds or not amounts (the limit is 1000 FLOP) */
	static const char *const bad[] = {
		"\"0\"",   "\"-1\"",	"-1",	       "0",	      "\"0.000000001\"",
		"\"1001\"", "\"1000.00000001\"", "\"1e5\"", "1e5", "\"abc\"",
		"\"\"",	   "null",	"true",	       "\" 5\"",      "\"92233720368547.75808\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":%s}", u.addr, bad[i]);
		expect_field("/v1/faucet", W.admin, body, "amount");
	}
	snprintf(body, sizeof body, "{\"address\":\"%s\"}", u.addr);
	expect_field("/v1/faucet", W.admin, body, "amount");
	expect_field("/v1/faucet", W.admin, "{\"amount\":\"1\"}", "address");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"memo\":\"x\"}", u.addr);
	expect_field("/v1/faucet", W.admin, body, "memo");
	assert_money(&W, u.addr, 0, 0);

	/* an address with no account */
	char unknown[64];
	th_address(unknown);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", unknown);
	expect_status("POST", "/v1/faucet", W.admin, NULL, body, 404, "account-not-found");

	/* the limit itself is allowed; the seed-style path works too */
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1000\"}", u.addr);
	cJSON *t = expect("POST", "/faucet", W.admin, NULL, body, 201, "");
	assert_string_equal(str_of(t, "kind"), "faucet");
	assert_string_equal(str_of(t, "credit"), u.addr);
	assert_true(is_null(t, "debit"));
	assert_string_equal(str_of(t, "amount"), "1000");
	cJSON_Delete(t);
	assert_money(&W, u.addr, 1000 * FLOP, 0);

	/* Idempotency-Key: once only */
	char key[64], hdr[128];
	uid("faucet-key", key);
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
	const char *idem[] = {hdr, NULL};
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":2.5}", u.addr);
	t = expect("POST", "/v1/faucet", W.admin, idem, body, 201, "");
	char first[160];
	snprintf(first, sizeof first, "%s", str_of(t, "id"));
	cJSON_Delete(t);
	t = expect("POST", "/v1/faucet", W.admin, idem, body, 200, "");
	assert_string_equal(str_of(t, "id"), first);
	cJSON_Delete(t);
	assert_money(&W, u.addr, 100250000000, 0);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"3\"}", u.addr);
	expect_status("POST", "/v1/faucet", W.admin, idem, body, 422, "idempotency-key-reused");
	char h2[256], longkey[200];
	memset(longkey, 'k', 129);
	longkey[129] = '\0';
	snprintf(h2, sizeof h2, "Idempotency-Key: %s", longkey);
	const char *badidem[] = {h2, NULL};
	expect_status("POST", "/v1/faucet", W.admin, badidem, body, 400, "invalid-header");
	assert_money(&W, u.addr, 100250000000, 0);
}

/* ---- transfers: input */

/* Copies tmpl replacing @A, @B (accounts), @T (a testnet address) and @X (an unknown mainnet
 * address). */
static void subst(const char *tmpl, const char *const vals[4], char *out, size_t len)
{
	static const char names[] = "ABTX";
	size_t o = 0;
	for (const char *t = tmpl; *t && o + 1 < len;) {
		const char *n = t[0] == '@' && t[1] ? strchr(names, t[1]) : NULL;
		if (n) {
			o += (size_t)snprintf(out + o, len - o, "%s", vals[n - names]);
			t += 2;
		} else {
			out[o++] = *t++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static void transfer_field_errors(void **state)
{
	(void)state;
	user_t u;
	char b[64], tnet[64], unknown[64], *pem = NULL;
	new_user(&u, "100");
	new_account(&u, b);
	assert_int_equal(dux_address_new(DUX_NET_TESTNET, tnet, &pem), 0);
	free(pem);
	th_address(unknown);
	const char *vals[4] = {u.addr, b, tnet, unknown};

#define OK_ITEM "{\"id\":\"fe-ok-1\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"
#define TR(x) "{\"transfers\":[" x "]}"
	static const struct {
		const char *tmpl, *field;
	} cases[] = {
		{TR("{\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].id"},
		{TR("{\"id\":\"\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].id"},
		{TR("{\"id\":\"bad id!\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].id"},
		{TR("{\"id\":\"fe/1\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].id"},
		{TR("{\"id\":\"wallet:mine\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].id"},
		{TR("{\"id\":\"wallet:timeout:x\",\"mode\":\"void\",\"pending_id\":\"x\"}"), "transfers[0].id"},
		{TR("{\"id\":12,\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].id"},
		{TR("{\"id\":\"fe-2\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\",\"colour\":\"red\"}"), "transfers[0].colour"},
		{TR("{\"id\":\"fe-3\",\"mode\":\"sideways\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].mode"},
		{TR("{\"id\":\"fe-4\",\"debit\":\"@A\",\"credit\":\"@A\",\"amount\":\"1\"}"), "transfers[0].credit"},
		{TR("{\"id\":\"fe-5\",\"debit\":\"F1234\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].debit"},
		{TR("{\"id\":\"fe-6\",\"credit\":\"@B\",\"amount\":\"1\"}"), "transfers[0].debit"},
		{TR("{\"id\":\"fe-7\",\"debit\":\"@A\",\"credit\":\"@T\",\"amount\":\"1\"}"), "transfers[0].credit"},
		{TR("{\"id\":\"fe-8\",\"debit\":\"@A\",\"credit\":\"@B\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-9\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"0\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-10\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"-1\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-11\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":-1}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-12\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"0.000000001\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-13\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"92233720368547.75808\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-14\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1e5\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-15\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\",\"timeout\":5}"), "transfers[0].timeout"},
		{TR("{\"id\":\"fe-16\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\",\"pending_id\":\"p\"}"), "transfers[0].pending_id"},
		{TR("{\"id\":\"fe-17\",\"mode\":\"void\",\"pending_id\":\"p\",\"amount\":\"1\"}"), "transfers[0].amount"},
		{TR("{\"id\":\"fe-18\",\"mode\":\"post\",\"pending_id\":\"p\",\"debit\":\"@A\"}"), "transfers[0].debit"},
		{TR("{\"id\":\"fe-19\",\"mode\":\"post\"}"), "transfers[0].pending_id"},
		{TR("{\"id\":\"fe-20\",\"mode\":\"pending\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\",\"timeout\":0}"), "transfers[0].timeout"},
		{TR("{\"id\":\"fe-21\",\"mode\":\"pending\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\",\"timeout\":2592001}"), "transfers[0].timeout"},
		{TR("{\"id\":\"fe-22\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1\",\"memo\":7}"), "transfers[0].memo"},
		{TR("5"), "transfers[0]"},
		{TR(OK_ITEM ",{\"id\":\"fe-23\",\"debit\":\"@A\",\"credit\":\"@B\",\"amount\":\"1.123456789\"}"), "transfers[1].amount"},
		{TR(OK_ITEM ",{\"id\":\"fe-24\",\"debit\":\"@A\",\"credit\":\"@T\",\"amount\":\"1\"}"), "transfers[1].credit"},
		{"{\"transfers\":[" OK_ITEM "],\"extra\":1}", "extra"},
		{"{\"transfers\":[]}", "transfers"},
		{"{\"transfers\":\"x\"}", "transfers"},
		{"{\"transfers\":{\"id\":\"fe-25\"}}", "transfers"},
		{"{}", "transfers"},
	};
#undef TR
#undef OK_ITEM
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[1024];
		subst(cases[i].tmpl, vals, body, sizeof body);
		expect_field("/v1/transfers", u.auth, body, cases[i].field);
	}
	/* an id one character too long */
	{
		char id[160], it[512];
		memset(id, 'i', 129);
		id[129] = '\0';
		post_one_status(u.auth, item(it, sizeof it, id, u.addr, b, "1", NULL), 400,
				"invalid-field");
	}
	/* more than 1000 items, even empty ones: refused before any is looked at */
	{
		size_t cap = 16 + 1001 * 3;
		char *big = malloc(cap);
		assert_non_null(big);
		size_t o = (size_t)snprintf(big, cap, "{\"transfers\":[");
		for (int i = 0; i < 1001; i++)
			o += (size_t)snprintf(big + o, cap - o, "%s{}", i ? "," : "");
		snprintf(big + o, cap - o, "]}");
		expect_field("/v1/transfers", u.auth, big, "transfers");
		free(big);
	}
	/* not JSON, or not an object */
	expect_status("POST", "/v1/transfers", u.auth, NULL, "{\"transfers\":", 400, "invalid-body");
	expect_status("POST", "/v1/transfers", u.auth, NULL, "[1]", 400, "invalid-body");
	/* nothing moved, nothing was recorded */
	assert_money(&W, u.addr, 100 * FLOP, 0);
	assert_money(&W, b, 0, 0);
	assert_int_equal(get_transfer(u.auth, "fe-ok-1", NULL), 404);
	assert_int_equal(get_transfer(W.admin, "fe-ok-1", NULL), 404);
}

/* ---- transfers: the ledger's refusals */

static void transfer_refusals(void **state)
{
	(void)state;
	user_t u, v;
	char b[64], unknown[64], it[512], id[64];
	new_user(&u, "100");
	new_user(&v, "10");
	new_account(&u, b);
	th_address(unknown);

	uid("rf", id);
	post_one_status(v.auth, item(it, sizeof it, id, u.addr, b, "1", NULL), 403, "not-owner");
	post_one_status(u.auth, item(it, sizeof it, id, v.addr, u.addr, "1", NULL), 403,
			"not-owner");
	post_one_status(u.auth, item(it, sizeof it, id, u.addr, b, "100.00000001", NULL), 422,
			"insufficient-funds");
	post_one_status(u.auth,
			item(it, sizeof it, id, u.addr, b, "1", ",\"mode\":\"pending\""), 201, "");
	/* 99 left to spend, 1 held */
	char id2[64];
	uid("rf", id2);
	post_one_status(u.auth, item(it, sizeof it, id2, u.addr, b, "99.00000001", NULL), 422,
			"insufficient-funds");
	post_one_status(u.auth, item(it, sizeof it, id2, u.addr, unknown, "1", NULL), 404,
			"account-not-found");
	post_one_status(u.auth, item(it, sizeof it, id2, unknown, u.addr, "1", NULL), 404,
			"account-not-found");
	/* posting or voiding what does not exist, or what is not pending */
	char id3[64];
	uid("rf", id3);
	post_one_status(u.auth, resolve(it, sizeof it, id3, "post", "rf-no-such", NULL), 404,
			"pending-not-found");
	post_one_status(u.auth, resolve(it, sizeof it, id3, "void", "rf-no-such", NULL), 404,
			"pending-not-found");
	char imm[64];
	uid("rf", imm);
	post_one_status(u.auth, item(it, sizeof it, imm, u.addr, b, "2", NULL), 201, "");
	post_one_status(u.auth, resolve(it, sizeof it, id3, "post", imm, NULL), 409, "not-pending");

	assert_money(&W, u.addr, 97 * FLOP, 1 * FLOP);
	assert_money(&W, b, 2 * FLOP, 0);
	assert_money(&W, v.addr, 10 * FLOP, 0);
	assert_int_equal(get_transfer(W.admin, id2, NULL), 404);
	assert_int_equal(get_transfer(W.admin, id3, NULL), 404);
	/* someone else's transfer is as unknown as a missing one */
	assert_int_equal(get_transfer(v.auth, imm, NULL), 404);
	assert_int_equal(get_transfer(u.auth, imm, NULL), 200);
	expect_status("GET", "/v1/transfers/bad%20id", u.auth, NULL, NULL, 404, "not-found");
	expect_status("POST", "/v1/transfers", NULL, NULL, "{\"transfers\":[]}", 401,
		      "unauthenticated");
}

static void batch_all_or_none(void **state)
{
	(void)state;
	user_t u, v;
	char b[64], c[64], unknown[64], i1[512], i2[512], i3[512], body[2048];
	char id1[64], id2[64], id3[64];
	new_user(&u, "100");
	new_user(&v, "5");
	new_account(&u, b);
	new_account(&u, c);
	th_address(unknown);
	uid("aon", id1);
	uid("aon", id2);
	uid("aon", id3);
	item(i1, sizeof i1, id1, u.addr, b, "10", NULL);
	item(i2, sizeof i2, id2, u.addr, c, "20", NULL);

	/* the third item fails for each reason: the first two are not applied either */
	item(i3, sizeof i3, id3, u.addr, b, "1000", NULL);
	cJSON *p = expect("POST", "/v1/transfers", u.auth, NULL,
			  batch(body, sizeof body, i1, i2, i3, NULL), 422, "insufficient-funds");
	assert_non_null(strstr(str_of(p, "detail"), "transfers[2]"));
	cJSON_Delete(p);
	item(i3, sizeof i3, id3, u.addr, unknown, "1", NULL);
	expect_status("POST", "/v1/transfers", u.auth, NULL, batch(body, sizeof body, i1, i2, i3, NULL),
		      404, "account-not-found");
	item(i3, sizeof i3, id3, v.addr, b, "1", NULL);
	expect_status("POST", "/v1/transfers", u.auth, NULL, batch(body, sizeof body, i1, i2, i3, NULL),
		      403, "not-owner");
	item(i3, sizeof i3, id3, u.addr, b, "71", NULL); /* 100 - 10 - 20 = 70 left */
	expect_status("POST", "/v1/transfers", u.auth, NULL, batch(body, sizeof body, i1, i2, i3, NULL),
		      422, "insufficient-funds");
	assert_money(&W, u.addr, 100 * FLOP, 0);
	assert_money(&W, b, 0, 0);
	assert_money(&W, c, 0, 0);
	assert_money(&W, v.addr, 5 * FLOP, 0);
	assert_int_equal(get_transfer(u.auth, id1, NULL), 404);
	assert_int_equal(get_transfer(u.auth, id2, NULL), 404);
	assert_int_equal(get_transfer(u.auth, id3, NULL), 404);

	/* with a good third item all three apply */
	item(i3, sizeof i3, id3, u.addr, b, "70", NULL);
	p = expect("POST", "/v1/transfers", u.auth, NULL, batch(body, sizeof body, i1, i2, i3, NULL),
		   201, "");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "transfers")), 3);
	assert_string_equal(str_of(nth(p, 0), "id"), id1);
	assert_string_equal(str_of(nth(p, 2), "id"), id3);
	cJSON_Delete(p);
	assert_money(&W, u.addr, 0, 0);
	assert_money(&W, b, 80 * FLOP, 0);
	assert_money(&W, c, 20 * FLOP, 0);
}

/* wallet.h: a refused batch answers with an "index" member naming the item. */
static void batch_refusal_names_index(void **state)
{
	(void)state;
	user_t u;
	char b[64], i1[512], i2[512], i3[512], body[2048], id1[64], id2[64], id3[64];
	new_user(&u, "10");
	new_account(&u, b);
	uid("idx", id1);
	uid("idx", id2);
	uid("idx", id3);
	item(i1, sizeof i1, id1, u.addr, b, "1", NULL);
	item(i2, sizeof i2, id2, u.addr, b, "1", NULL);
	item(i3, sizeof i3, id3, u.addr, b, "100", NULL);
	cJSON *p = expect("POST", "/v1/transfers", u.auth, NULL,
			  batch(body, sizeof body, i1, i2, i3, NULL), 422, "insufficient-funds");
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(p, "index");
	if (!cJSON_IsNumber(index))
		fprintf(stderr, "refusal of a batch without \"index\": %s\n",
			str_of(p, "detail"));
	assert_true(cJSON_IsNumber(index));
	assert_int_equal(index->valueint, 2);
	cJSON_Delete(p);
}

static void batch_applies_in_order(void **state)
{
	(void)state;
	user_t u;
	char b[64], c[64], i1[512], i2[512], body[2048], id1[64], id2[64];
	new_user(&u, "100");
	new_account(&u, b);
	new_account(&u, c);
	uid("ord", id1);
	uid("ord", id2);
	/* b spends in item 1 what item 0 credited it */
	item(i1, sizeof i1, id1, u.addr, b, "30", NULL);
	item(i2, sizeof i2, id2, b, c, "30", NULL);
	cJSON *p = expect("POST", "/v1/transfers", u.auth, NULL,
			  batch(body, sizeof body, i1, i2, NULL), 201, "");
	assert_string_equal(str_of(nth(p, 0), "id"), id1);
	assert_string_equal(str_of(nth(p, 1), "id"), id2);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(nth(p, 0), "existed")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(nth(p, 1), "existed")));
	cJSON_Delete(p);
	assert_money(&W, u.addr, 70 * FLOP, 0);
	assert_money(&W, b, 0, 0);
	assert_money(&W, c, 30 * FLOP, 0);

	/* the other way round, b has nothing yet when its debit comes */
	char id3[64], id4[64];
	uid("ord", id3);
	uid("ord", id4);
	item(i1, sizeof i1, id3, b, c, "5", NULL);
	item(i2, sizeof i2, id4, u.addr, b, "5", NULL);
	p = expect("POST", "/v1/transfers", u.auth, NULL, batch(body, sizeof body, i1, i2, NULL),
		   422, "insufficient-funds");
	assert_non_null(strstr(str_of(p, "detail"), "transfers[0]"));
	cJSON_Delete(p);
	assert_money(&W, u.addr, 70 * FLOP, 0);
	assert_money(&W, b, 0, 0);
	assert_money(&W, c, 30 * FLOP, 0);
	assert_int_equal(get_transfer(u.auth, id4, NULL), 404);
}

/* n immediate transfers of 1 FLOP from `from` to `to` in one request (8 or more take the fast
 * path); ids prefix-0, prefix-1, ... */
static void post_ones(const char *auth, const char *from, const char *to, int n, const char *prefix)
{
	char body[8192], it[512];
	size_t o = (size_t)snprintf(body, sizeof body, "{\"transfers\":[");
	for (int i = 0; i < n; i++) {
		char id[96];
		snprintf(id, sizeof id, "%s-%d", prefix, i);
		o += (size_t)snprintf(body + o, sizeof body - o, "%s%s", i ? "," : "",
				      item(it, sizeof it, id, from, to, "1", NULL));
		assert_true(o < sizeof body);
	}
	snprintf(body + o, sizeof body - o, "]}");
	cJSON_Delete(expect("POST", "/v1/transfers", auth, NULL, body, 201, ""));
}

/* sql/003_credits.sql: a fast-path batch locks only what it debits; what it credits waits in
 * wallet.credits, is counted in every balance shown and in the ledger check, is spendable at
 * once, and is folded into the balance column by the folding job (which skips an account
 * another transaction holds) or by the next debit of the account. */
static void fast_path_credits_fold(void **state)
{
	(void)state;
	user_t u, v;
	char batch_id[64];
	new_user(&u, "100");
	new_user(&v, NULL);
	PGconn *pg = wu_pg_session(&W);
	assert_non_null(pg);
	/* v's account held by another transaction: the batch does not wait for it, the job skips it */
	PQclear(PQexec(pg, "BEGIN"));
	assert_int_equal(wu_sql_i64(pg, "SELECT 1 FROM wallet.accounts WHERE address = $1 FOR UPDATE",
				    v.addr),
			 1);
	uid("fold", batch_id);
	post_ones(u.auth, u.addr, v.addr, 10, batch_id);
	usleep(1200 * 1000); /* two rounds of the folding job */
	PGconn *look = wu_pg_session(&W);
	assert_non_null(look);
	assert_int_equal(wu_sql_i64(look, "SELECT sum(amount) FROM wallet.credits WHERE account = $1",
				    v.addr),
			 10 * FLOP);
	assert_int_equal(wu_sql_i64(look, "SELECT balance FROM wallet.accounts WHERE address = $1",
				    v.addr),
			 0);
	assert_money(&W, v.addr, 10 * FLOP, 0); /* shown with its credits */
	assert_money(&W, u.addr, 90 * FLOP, 0);
	cJSON *b = expect("GET", "/v1/wallet/balance", v.auth, NULL, NULL, 200, "");
	const cJSON *total = cJSON_GetObjectItem(b, "total");
	assert_string_equal(str_of(total, "balance"), "10");
	cJSON_Delete(b);
	assert_true(wu_ledger_holds(&W));

	/* released: spendable at once (the debit folds if the job has not yet) */
	PQclear(PQexec(pg, "ROLLBACK"));
	char id[64], it[512];
	uid("fold-spend", id);
	post_one_status(v.auth, item(it, sizeof it, id, v.addr, u.addr, "7", NULL), 201, "");
	assert_money(&W, v.addr, 3 * FLOP, 0);
	assert_int_equal(wu_sql_i64(look, "SELECT count(*) FROM wallet.credits WHERE account = $1",
				    v.addr),
			 0);
	assert_int_equal(wu_sql_i64(look, "SELECT balance FROM wallet.accounts WHERE address = $1",
				    v.addr),
			 3 * FLOP);

	/* an account only paid: the job folds it within a few rounds */
	uid("fold", batch_id);
	post_ones(u.auth, u.addr, v.addr, 8, batch_id);
	int64_t left = -1;
	for (int i = 0; i < 50 && left != 0; i++) {
		usleep(100 * 1000);
		left = wu_sql_i64(look, "SELECT count(*) FROM wallet.credits", NULL);
	}
	assert_int_equal(left, 0);
	assert_int_equal(wu_sql_i64(look, "SELECT balance FROM wallet.accounts WHERE address = $1",
				    v.addr),
			 11 * FLOP);
	assert_money(&W, v.addr, 11 * FLOP, 0);
	assert_true(wu_ledger_holds(&W));
	PQfinish(look);
	PQfinish(pg);
}

/* A receiver's account is never locked: transfers and posts paying an account that another
 * transaction holds go through at once (their credits wait in wallet.credits), while a debit of
 * it waits. */
static void credits_take_no_lock(void **state)
{
	(void)state;
	user_t u, v;
	char id[64], pid[64], it[512];
	new_user(&u, "10");
	new_user(&v, "1");
	uid("nolock-p", pid);
	post_one_status(u.auth, item(it, sizeof it, pid, u.addr, v.addr, "4", ",\"mode\":\"pending\""),
			201, "");
	PGconn *pg = wu_pg_session(&W);
	assert_non_null(pg);
	PQclear(PQexec(pg, "BEGIN"));
	assert_int_equal(wu_sql_i64(pg, "SELECT 1 FROM wallet.accounts WHERE address = $1 FOR UPDATE",
				    v.addr),
			 1);
	uid("nolock-i", id);
	post_one_status(u.auth, item(it, sizeof it, id, u.addr, v.addr, "2", NULL), 201, "");
	uid("nolock-post", id);
	post_one_status(u.auth, resolve(it, sizeof it, id, "post", pid, "3"), 201, "");
	assert_money(&W, v.addr, 6 * FLOP, 0);
	assert_money(&W, u.addr, 5 * FLOP, 0); /* 10 - 2 - 3, the 1 left of the hold back */
	assert_int_equal(wu_sql_i64(pg, "SELECT sum(amount) FROM wallet.credits WHERE account = $1",
				    v.addr),
			 5 * FLOP);
	PQclear(PQexec(pg, "ROLLBACK"));
	PQfinish(pg);
	assert_true(wu_ledger_holds(&W));
}

static void transfer_idempotent(void **state)
{
	(void)state;
	user_t u;
	char b[64], c[64], it[512], id[64], body[2048], other[512];
	new_user(&u, "100");
	new_account(&u, b);
	new_account(&u, c);
	uid("idem", id);
	item(it, sizeof it, id, u.addr, b, "5", ",\"memo\":\"rent\"");
	cJSON *p = post_one(u.auth, NULL, it, 201, "");
	const cJSON *t = nth(p, 0);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(t, "existed")));
	assert_string_equal(str_of(t, "amount"), "5");
	assert_string_equal(str_of(t, "state"), "posted");
	assert_string_equal(str_of(t, "mode"), "immediate");
	assert_string_equal(str_of(t, "kind"), "transfer");
	assert_string_equal(str_of(t, "memo"), "rent");
	assert_string_equal(str_of(t, "actor"), u.sub);
	double seq = cJSON_GetObjectItem(t, "seq")->valuedouble;
	cJSON_Delete(p);

	/* again: the original, moved once */
	p = post_one(u.auth, NULL, it, 200, "");
	t = nth(p, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(t, "existed")));
	assert_true(cJSON_GetObjectItem(t, "seq")->valuedouble == seq);
	assert_string_equal(str_of(t, "amount"), "5");
	cJSON_Delete(p);
	assert_money(&W, u.addr, 95 * FLOP, 0);
	assert_money(&W, b, 5 * FLOP, 0);

	/* the same id with other fields is a conflict */
	post_one_status(u.auth, item(other, sizeof other, id, u.addr, b, "6", ",\"memo\":\"rent\""),
			409, "id-reused");
	post_one_status(u.auth, item(other, sizeof other, id, u.addr, c, "5", ",\"memo\":\"rent\""),
			409, "id-reused");
	post_one_status(u.auth, item(other, sizeof other, id, u.addr, b, "5", ",\"memo\":\"food\""),
			409, "id-reused");
	post_one_status(u.auth,
			item(other, sizeof other, id, u.addr, b, "5",
			     ",\"memo\":\"rent\",\"mode\":\"pending\""),
			409, "id-reused");
	post_one_status(u.auth, resolve(other, sizeof other, id, "void", id, NULL), 409,
			"id-reused");
	/* another caller sending the very same transfer learns only that the id is taken */
	user_t thief;
	new_user(&thief, "1");
	cJSON *taken = post_one(thief.auth, NULL,
				item(other, sizeof other, id, u.addr, b, "5", ",\"memo\":\"rent\""),
				409, "id-reused");
	assert_null(cJSON_GetObjectItem(taken, "transfers"));
	cJSON_Delete(taken);
	assert_money(&W, u.addr, 95 * FLOP, 0);
	assert_money(&W, b, 5 * FLOP, 0);

	/* a batch mixing the old id and a new one: 201, each flagged */
	char id2[64], it2[512];
	uid("idem", id2);
	p = expect("POST", "/v1/transfers", u.auth, NULL,
		   batch(body, sizeof body, it, item(it2, sizeof it2, id2, u.addr, c, "1", NULL), NULL),
		   201, "");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(nth(p, 0), "existed")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(nth(p, 1), "existed")));
	cJSON_Delete(p);
	assert_money(&W, u.addr, 94 * FLOP, 0);
	assert_money(&W, c, 1 * FLOP, 0);

	cJSON *g = NULL;
	assert_int_equal(get_transfer(u.auth, id, &g), 200);
	assert_string_equal(str_of(g, "id"), id);
	assert_string_equal(str_of(g, "debit"), u.addr);
	assert_string_equal(str_of(g, "credit"), b);
	assert_null(cJSON_GetObjectItem(g, "existed"));
	cJSON_Delete(g);

	/* a partial post asked again without an amount asks for more: not the same transfer */
	char pid[64], post[64];
	uid("idem", pid);
	uid("idem", post);
	post_one_status(u.auth, item(it, sizeof it, pid, u.addr, b, "10", ",\"mode\":\"pending\""), 201,
			"");
	post_one_status(u.auth, resolve(other, sizeof other, post, "post", pid, "4"), 201, "");
	post_one_status(u.auth, resolve(other, sizeof other, post, "post", pid, "4"), 200, "");
	post_one_status(u.auth, resolve(other, sizeof other, post, "post", pid, NULL), 409, "id-reused");
	/* a pending with a timeout is not the same as one without */
	uid("idem", pid);
	post_one_status(u.auth, item(it, sizeof it, pid, u.addr, b, "1", ",\"mode\":\"pending\""), 201,
			"");
	post_one_status(u.auth,
			item(it, sizeof it, pid, u.addr, b, "1", ",\"mode\":\"pending\",\"timeout\":60"),
			409, "id-reused");
}

/* ---- two-phase */

static void two_phase(void **state)
{
	(void)state;
	user_t u, v;
	char b[64], it[512], p1[64], p2[64], p3[64], r[64];
	new_user(&u, "100");
	new_user(&v, "1");
	new_account(&u, b);

	/* pending reserves */
	uid("tp", p1);
	cJSON *a = post_one(u.auth, NULL,
			    item(it, sizeof it, p1, u.addr, b, "40", ",\"mode\":\"pending\""), 201,
			    "");
	assert_string_equal(str_of(nth(a, 0), "state"), "pending");
	assert_true(is_null(nth(a, 0), "expires_at"));
	cJSON_Delete(a);
	assert_money(&W, u.addr, 60 * FLOP, 40 * FLOP);
	assert_money(&W, b, 0, 0);

	/* post 25 of the 40: the rest returns */
	uid("tp", r);
	a = post_one(u.auth, NULL, resolve(it, sizeof it, r, "post", p1, "25"), 201, "");
	assert_string_equal(str_of(nth(a, 0), "mode"), "post");
	assert_string_equal(str_of(nth(a, 0), "pending_id"), p1);
	assert_string_equal(str_of(nth(a, 0), "amount"), "25");
	assert_string_equal(str_of(nth(a, 0), "debit"), u.addr);
	assert_string_equal(str_of(nth(a, 0), "credit"), b);
	cJSON_Delete(a);
	assert_money(&W, u.addr, 75 * FLOP, 0);
	assert_money(&W, b, 25 * FLOP, 0);
	cJSON *g = NULL;
	assert_int_equal(get_transfer(u.auth, p1, &g), 200);
	assert_string_equal(str_of(g, "state"), "posted");
	assert_string_equal(str_of(g, "posted_amount"), "25");
	assert_false(is_null(g, "resolved_at"));
	cJSON_Delete(g);
	/* resolved once only */
	uid("tp", r);
	post_one_status(u.auth, resolve(it, sizeof it, r, "post", p1, "1"), 409,
			"pending-already-posted");
	post_one_status(u.auth, resolve(it, sizeof it, r, "void", p1, NULL), 409,
			"pending-already-posted");

	/* post more than pending; someone else's post; void releases all */
	uid("tp", p2);
	post_one_status(u.auth, item(it, sizeof it, p2, u.addr, b, "10", ",\"mode\":\"pending\""), 201,
			"");
	assert_money(&W, u.addr, 65 * FLOP, 10 * FLOP);
	uid("tp", r);
	post_one_status(u.auth, resolve(it, sizeof it, r, "post", p2, "10.00000001"), 422,
			"amount-exceeds-pending");
	post_one_status(v.auth, resolve(it, sizeof it, r, "post", p2, NULL), 403, "not-owner");
	post_one_status(v.auth, resolve(it, sizeof it, r, "void", p2, NULL), 403, "not-owner");
	assert_money(&W, u.addr, 65 * FLOP, 10 * FLOP);
	a = post_one(u.auth, NULL, resolve(it, sizeof it, r, "void", p2, NULL), 201, "");
	assert_string_equal(str_of(nth(a, 0), "amount"), "10");
	assert_string_equal(str_of(nth(a, 0), "state"), "voided");
	cJSON_Delete(a);
	assert_money(&W, u.addr, 75 * FLOP, 0);
	assert_money(&W, b, 25 * FLOP, 0);
	assert_int_equal(get_transfer(u.auth, p2, &g), 200);
	assert_string_equal(str_of(g, "state"), "voided");
	cJSON_Delete(g);
	char r2[64];
	uid("tp", r2);
	post_one_status(u.auth, resolve(it, sizeof it, r2, "post", p2, NULL), 409,
			"pending-already-voided");
	post_one_status(u.auth, resolve(it, sizeof it, r2, "void", p2, NULL), 409,
			"pending-already-voided");
	/* the void's own id again: the original, nothing moves */
	a = post_one(u.auth, NULL, resolve(it, sizeof it, r, "void", p2, NULL), 200, "");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(nth(a, 0), "existed")));
	cJSON_Delete(a);

	/* a post without an amount takes the whole pending amount */
	uid("tp", p3);
	post_one_status(u.auth, item(it, sizeof it, p3, u.addr, b, "7.5", ",\"mode\":\"pending\""),
			201, "");
	uid("tp", r);
	post_one_status(u.auth, resolve(it, sizeof it, r, "post", p3, NULL), 201, "");
	assert_money(&W, u.addr, 675 * FLOP / 10, 0);
	assert_money(&W, b, 325 * FLOP / 10, 0);
	/* a pending cannot spend what is held */
	char p4[64], p5[64];
	uid("tp", p4);
	uid("tp", p5);
	post_one_status(u.auth, item(it, sizeof it, p4, u.addr, b, "60", ",\"mode\":\"pending\""), 201,
			"");
	post_one_status(u.auth, item(it, sizeof it, p5, u.addr, b, "8", ",\"mode\":\"pending\""), 422,
			"insufficient-funds");
	assert_money(&W, u.addr, 75 * FLOP / 10, 60 * FLOP);
	uid("tp", r);
	post_one_status(u.auth, resolve(it, sizeof it, r, "void", p4, NULL), 201, "");
	assert_money(&W, u.addr, 675 * FLOP / 10, 0);
	assert_true(wu_ledger_holds(&W));
}

/* Polls the state of transfer id until it is no longer "pending" (at most ~10 s). */
static void wait_resolved(const char *auth, const char *id, char *state_now, size_t len)
{
	for (int i = 0; i < 200; i++) {
		cJSON *g = NULL;
		assert_int_equal(get_transfer(auth, id, &g), 200);
		snprintf(state_now, len, "%s", str_of(g, "state"));
		cJSON_Delete(g);
		if (strcmp(state_now, "pending") != 0)
			return;
		usleep(50000);
	}
}

static void pending_times_out(void **state)
{
	(void)state;
	user_t u;
	char b[64], it[512], p[64], r[64], path[256], state_now[32] = "";
	new_user(&u, "100");
	new_account(&u, b);
	uid("to", p);
	cJSON *a = post_one(u.auth, NULL,
			    item(it, sizeof it, p, u.addr, b, "7", ",\"mode\":\"pending\",\"timeout\":1"),
			    201, "");
	assert_false(is_null(nth(a, 0), "expires_at"));
	cJSON_Delete(a);
	/* an id so long that "wallet:timeout:" + id would not fit: its void is named by its digest */
	char longid[WALLET_LONG_ID + 1], tail[64];
	uid("", tail);
	memset(longid, 'L', WALLET_LONG_ID);
	memcpy(longid + WALLET_LONG_ID - strlen(tail), tail, strlen(tail));
	longid[WALLET_LONG_ID] = '\0';
	post_one_status(u.auth,
			item(it, sizeof it, longid, u.addr, b, "3", ",\"mode\":\"pending\",\"timeout\":1"),
			201, "");
	assert_money(&W, u.addr, 90 * FLOP, 10 * FLOP);

	/* the sweeper voids them shortly after their timeout */
	wait_resolved(u.auth, p, state_now, sizeof state_now);
	assert_string_equal(state_now, "expired");
	wait_resolved(u.auth, longid, state_now, sizeof state_now);
	assert_string_equal(state_now, "expired");
	snprintf(path, sizeof path, "wallet:timeout:%s", p);
	cJSON *v = NULL;
	assert_int_equal(get_transfer(u.auth, path, &v), 200);
	assert_string_equal(str_of(v, "mode"), "void");
	assert_string_equal(str_of(v, "state"), "voided");
	assert_string_equal(str_of(v, "pending_id"), p);
	assert_string_equal(str_of(v, "amount"), "7");
	assert_string_equal(str_of(v, "debit"), u.addr);
	assert_string_equal(str_of(v, "memo"), "timeout");
	cJSON_Delete(v);
	{
		uint8_t h[DUX_SHA256_LEN];
		char hex[2 * DUX_SHA256_LEN + 1];
		dux_sha256(longid, strlen(longid), h);
		dux_hex_encode(h, sizeof h, hex);
		snprintf(path, sizeof path, "wallet:timeout:%s", hex);
		assert_int_equal(get_transfer(u.auth, path, &v), 200);
		assert_string_equal(str_of(v, "pending_id"), longid);
		assert_string_equal(str_of(v, "amount"), "3");
		cJSON_Delete(v);
	}
	assert_money(&W, u.addr, 100 * FLOP, 0);
	assert_money(&W, b, 0, 0);

	uid("to", r);
	post_one_status(u.auth, resolve(it, sizeof it, r, "post", p, NULL), 409, "pending-expired");
	post_one_status(u.auth, resolve(it, sizeof it, r, "void", p, NULL), 409, "pending-expired");
	assert_money(&W, u.addr, 100 * FLOP, 0);
	assert_money(&W, b, 0, 0);
}

/* ---- Dux-On-Behalf-Of */

static void on_behalf_of(void **state)
{
	(void)state;
	user_t u, v;
	char e[64], it[512], id[64], svc[WU_HDR_MAX], tok[WU_HDR_MAX], hdr[WU_HDR_MAX + 32];
	new_user(&u, "50");
	new_user(&v, "50");
	assert_true(wu_bearer(&W, "duxos-escrow", DUX_SCOPE_SERVICE, svc, sizeof svc));
	assert_true(wu_account(&W, svc, e));
	const char *obo[] = {hdr, NULL};

	/* the service, carrying u's own token, debits u's account */
	assert_true(wu_token(W.key, u.sub, DUX_SCOPE_USER, 300, tok, sizeof tok));
	snprintf(hdr, sizeof hdr, "Dux-On-Behalf-Of: %s", tok);
	uid("obo", id);
	cJSON *a = post_one(svc, obo, item(it, sizeof it, id, u.addr, e, "5", NULL), 201, "");
	assert_string_equal(str_of(nth(a, 0), "actor"), "duxos-escrow");
	cJSON_Delete(a);
	assert_money(&W, u.addr, 45 * FLOP, 0);
	assert_money(&W, e, 5 * FLOP, 0);
	/* ... but not v's, with u's token */
	uid("obo", id);
	post_one_status(svc, item(it, sizeof it, id, v.addr, e, "5", NULL), 403, "not-owner");
	cJSON_Delete(post_one(svc, obo, item(it, sizeof it, id, v.addr, e, "5", NULL), 403,
			      "not-owner"));
	/* ... nor, acting for u, the service's own account (u must not pay from it) */
	cJSON_Delete(post_one(svc, obo, item(it, sizeof it, id, e, u.addr, "1", NULL), 403,
			      "not-owner"));
	/* a user may not delegate to itself or anyone */
	cJSON_Delete(post_one(u.auth, obo, item(it, sizeof it, id, u.addr, e, "5", NULL), 403,
			      "delegation-refused"));
	/* a token signed by another key, an expired one, nonsense */
	dux_key_t *other = NULL;
	assert_int_equal(dux_key_generate(&other), 0);
	assert_true(wu_token(other, u.sub, DUX_SCOPE_USER, 300, tok, sizeof tok));
	dux_key_free(other);
	snprintf(hdr, sizeof hdr, "Dux-On-Behalf-Of: %s", tok);
	cJSON_Delete(post_one(svc, obo, item(it, sizeof it, id, u.addr, e, "5", NULL), 401,
			      "invalid-delegation"));
	assert_true(wu_token(W.key, u.sub, DUX_SCOPE_USER, -600, tok, sizeof tok));
	snprintf(hdr, sizeof hdr, "Dux-On-Behalf-Of: %s", tok);
	cJSON_Delete(post_one(svc, obo, item(it, sizeof it, id, u.addr, e, "5", NULL), 401,
			      "invalid-delegation"));
	snprintf(hdr, sizeof hdr, "Dux-On-Behalf-Of: not.a.token");
	cJSON_Delete(post_one(svc, obo, item(it, sizeof it, id, u.addr, e, "5", NULL), 401,
			      "invalid-delegation"));
	/* an admin's or a service's token cannot be delegated */
	assert_true(wu_token(W.key, "root", DUX_SCOPE_ADMIN, 300, tok, sizeof tok));
	snprintf(hdr, sizeof hdr, "Dux-On-Behalf-Of: %s", tok);
	cJSON_Delete(post_one(svc, obo, item(it, sizeof it, id, u.addr, e, "5", NULL), 403,
			      "delegation-refused"));
	/* without the header a service owns only its own accounts */
	post_one_status(svc, item(it, sizeof it, id, u.addr, e, "5", NULL), 403, "not-owner");
	assert_money(&W, u.addr, 45 * FLOP, 0);
	assert_money(&W, v.addr, 50 * FLOP, 0);
	assert_money(&W, e, 5 * FLOP, 0);
	assert_int_equal(get_transfer(W.admin, id, NULL), 404);
}

/* ---- POST /wallet/send */

static long send_as(const char *auth, const char *key, const char *body, cJSON **ret)
{
	char hdr[200];
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key ? key : "");
	const char *h[] = {hdr, NULL};
	dux_client_resp_t resp;
	*ret = NULL;
	if (wu_http(&W, "POST", "/wallet/send", auth, key ? h : NULL, body, &resp) < 0)
		return -1;
	long st = resp.status;
	*ret = resp.json;
	resp.json = NULL;
	dux_client_resp_clear(&resp);
	return st;
}

static void expect_send(const char *auth, const char *key, const char *body, long status,
			const char *problem)
{
	cJSON *j = NULL;
	long st = send_as(auth, key, body, &j);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
	char got[64] = "";
	if (cJSON_IsString(t) && strncmp(t->valuestring, "urn:duxos:problem:", 18) == 0)
		snprintf(got, sizeof got, "%s", t->valuestring + 18);
	if (st != status || strcmp(got, problem) != 0) {
		char *s = cJSON_PrintUnformatted(j);
		fprintf(stderr, "POST /wallet/send %s\n  want %ld %s, got %ld %s\n", body, status,
			problem, st, s ? s : "");
		free(s);
	}
	cJSON_Delete(j);
	assert_int_equal(st, status);
	assert_string_equal(got, problem);
}

static void send_rules(void **state)
{
	(void)state;
	user_t u, v;
	char body[512], key[64], outside[64], tnet[64], *pem = NULL, a2[64];
	new_user(&u, "20");
	new_user(&v, NULL);
	th_address(outside);
	assert_int_equal(dux_address_new(DUX_NET_TESTNET, tnet, &pem), 0);
	free(pem);

	uid("send", key);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"3\",\"memo\":\"hi\"}", v.addr);
	cJSON *j = NULL;
	assert_int_equal(send_as(u.auth, key, body, &j), 201);
	assert_string_equal(str_of(j, "type"), "internal");
	assert_true(is_null(j, "txid"));
	const cJSON *t = cJSON_GetObjectItem(j, "transfer");
	assert_string_equal(str_of(t, "debit"), u.addr);
	assert_string_equal(str_of(t, "credit"), v.addr);
	assert_string_equal(str_of(t, "amount"), "3");
	assert_string_equal(str_of(t, "memo"), "hi");
	char first[160];
	snprintf(first, sizeof first, "%s", str_of(t, "id"));
	cJSON_Delete(j);
	assert_money(&W, u.addr, 17 * FLOP, 0);
	assert_money(&W, v.addr, 3 * FLOP, 0);
	/* the same key again: the same transfer, nothing moves */
	assert_int_equal(send_as(u.auth, key, body, &j), 200);
	assert_string_equal(str_of(cJSON_GetObjectItem(j, "transfer"), "id"), first);
	cJSON_Delete(j);
	assert_money(&W, u.addr, 17 * FLOP, 0);
	assert_money(&W, v.addr, 3 * FLOP, 0);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"4\",\"memo\":\"hi\"}", v.addr);
	expect_send(u.auth, key, body, 422, "idempotency-key-reused");
	/* another key sends again */
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", v.addr);
	expect_send(u.auth, NULL, body, 201, "");
	assert_money(&W, u.addr, 16 * FLOP, 0);
	assert_money(&W, v.addr, 4 * FLOP, 0);

	/* bad input */
	uid("send", key);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"0\"}", v.addr);
	expect_field("/v1/wallet/send", u.auth, body, "amount");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1e2\"}", v.addr);
	expect_field("/v1/wallet/send", u.auth, body, "amount");
	snprintf(body, sizeof body, "{\"address\":\"%s\"}", v.addr);
	expect_field("/v1/wallet/send", u.auth, body, "amount");
	expect_field("/v1/wallet/send", u.auth, "{\"address\":\"F12\",\"amount\":\"1\"}", "address");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", tnet);
	expect_field("/v1/wallet/send", u.auth, body, "address");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"from\":\"%s\"}", u.addr,
		 u.addr);
	expect_field("/v1/wallet/send", u.auth, body, "address");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"to\":\"x\"}", v.addr);
	expect_field("/v1/wallet/send", u.auth, body, "to");
	{
		char longkey[200];
		memset(longkey, 'k', 129);
		longkey[129] = '\0';
		snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", v.addr);
		expect_send(u.auth, longkey, body, 400, "invalid-header");
	}

	/* refusals */
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", outside);
	expect_send(u.auth, key, body, 422, "no-chain-link");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"16.00000001\"}", v.addr);
	expect_send(u.auth, key, body, 422, "insufficient-funds");
	user_t nobody;
	wu_subject("user", nobody.sub);
	assert_true(wu_bearer(&W, nobody.sub, DUX_SCOPE_USER, nobody.auth, sizeof nobody.auth));
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", v.addr);
	expect_send(nobody.auth, key, body, 422, "no-account");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"from\":\"%s\"}", u.addr,
		 v.addr);
	expect_send(u.auth, key, body, 403, "not-owner");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"from\":\"%s\"}", v.addr,
		 outside);
	expect_send(u.auth, key, body, 404, "account-not-found");
	expect_send(NULL, key, body, 401, "unauthenticated");

	/* with two accounts, from is required */
	new_account(&u, a2);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", v.addr);
	expect_send(u.auth, key, body, 400, "invalid-field");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"from\":\"%s\"}", v.addr,
		 a2);
	expect_send(u.auth, key, body, 422, "insufficient-funds");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\",\"from\":\"%s\"}", a2,
		 u.addr);
	expect_send(u.auth, key, body, 201, "");
	assert_money(&W, u.addr, 15 * FLOP, 0);
	assert_money(&W, a2, 1 * FLOP, 0);
	assert_money(&W, v.addr, 4 * FLOP, 0);
}

/* invalid-field answers name their field: so does the one for a missing "from". */
static void send_from_required_names_field(void **state)
{
	(void)state;
	user_t u, v;
	char a2[64], body[256];
	new_user(&u, "5");
	new_user(&v, NULL);
	new_account(&u, a2);
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", v.addr);
	expect_field("/v1/wallet/send", u.auth, body, "from");
}

/* Sending to the account one sends from is bad input, also when "from" is implied. */
static void send_to_own_account_refused(void **state)
{
	(void)state;
	user_t u;
	char body[256];
	new_user(&u, "5");
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"1\"}", u.addr);
	expect_field("/v1/wallet/send", u.auth, body, "address");
	assert_money(&W, u.addr, 5 * FLOP, 0);
}

/* ---- history */

/* Pages through path (which has a "?limit=N") as auth; the ids newest first in ids (up to
 * max), their count returned. Checks seq strictly decreasing across pages, each page at most
 * limit items and next_cursor null only on the last. */
static int page_all(const char *path, const char *auth, int limit, char ids[][64], int max)
{
	char cursor[32] = "", p[300];
	double last = 1e300;
	int n = 0;
	for (int guard = 0; guard < 100; guard++) {
		snprintf(p, sizeof p, "%s%s%s", path, *cursor ? "&cursor=" : "", cursor);
		cJSON *page = expect("GET", p, auth, NULL, NULL, 200, "");
		const cJSON *arr = cJSON_GetObjectItem(page, "transfers"), *t;
		assert_true(cJSON_GetArraySize(arr) <= limit);
		cJSON_ArrayForEach(t, arr)
		{
			double seq = cJSON_GetObjectItem(t, "seq")->valuedouble;
			if (!(seq < last))
				fprintf(stderr, "%s: seq %.0f after %.0f (id %s)\n", path, seq, last,
					str_of(t, "id"));
			assert_true(seq < last);
			last = seq;
			if (n < max)
				snprintf(ids[n], 64, "%s", str_of(t, "id"));
			n++;
		}
		const cJSON *next = cJSON_GetObjectItem(page, "next_cursor");
		assert_true(cJSON_IsString(next) || cJSON_IsNull(next));
		bool more = cJSON_IsString(next);
		if (more) {
			assert_int_equal(cJSON_GetArraySize(arr), limit);
			snprintf(cursor, sizeof cursor, "%s", next->valuestring);
		}
		cJSON_Delete(page);
		if (!more)
			return n;
	}
	fail_msg("%s: too many pages", path);
	return n;
}

static void history_pages(void **state)
{
	(void)state;
	user_t u, v;
	char it[512], ids[6][64], got[16][64], path[200];
	new_user(&u, "50");
	new_user(&v, NULL);
	for (int i = 0; i < 6; i++) {
		uid("hist", ids[i]);
		post_one_status(u.auth, item(it, sizeof it, ids[i], u.addr, v.addr, "1", NULL), 201, "");
	}
	/* u's account: 6 sends and the faucet credit, newest first, in pages of 3 */
	snprintf(path, sizeof path, "/v1/accounts/%s/transfers?limit=3", u.addr);
	assert_int_equal(page_all(path, u.auth, 3, got, 16), 7);
	for (int i = 0; i < 6; i++)
		assert_string_equal(got[i], ids[5 - i]);
	/* exactly one page: next_cursor null */
	snprintf(path, sizeof path, "/v1/accounts/%s/transfers?limit=7", u.addr);
	assert_int_equal(page_all(path, u.auth, 7, got, 16), 7);
	snprintf(path, sizeof path, "/v1/accounts/%s/transfers?limit=6", v.addr);
	assert_int_equal(page_all(path, v.auth, 6, got, 16), 6);
	snprintf(path, sizeof path, "/accounts/%s/transfers?limit=500", v.addr);
	assert_int_equal(page_all(path, W.admin, 500, got, 16), 6);
	/* another owner's history is not found */
	snprintf(path, sizeof path, "/v1/accounts/%s/transfers", u.addr);
	expect_status("GET", path, v.auth, NULL, NULL, 404, "not-found");
	/* malformed paging */
	static const char *const bad[] = {"?cursor=abc", "?cursor=0", "?cursor=-1",
					  "?cursor=99999999999999999999", "?cursor=",
					  "?limit=0", "?limit=501", "?limit=x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(path, sizeof path, "/v1/accounts/%s/transfers%s", u.addr, bad[i]);
		expect_status("GET", path, u.auth, NULL, NULL, 400, "invalid-query");
		snprintf(path, sizeof path, "/wallet/transactions%s", bad[i]);
		expect_status("GET", path, u.auth, NULL, NULL, 400, "invalid-query");
	}

	/* the owner's view over all its accounts */
	assert_int_equal(page_all("/wallet/transactions?limit=4", u.auth, 4, got, 16), 7);
	for (int i = 0; i < 6; i++)
		assert_string_equal(got[i], ids[5 - i]);
	assert_int_equal(page_all("/v1/wallet/transactions?limit=2", v.auth, 2, got, 16), 6);
	char fresh[WU_HDR_MAX], sub[64];
	wu_subject("user", sub);
	assert_true(wu_bearer(&W, sub, DUX_SCOPE_USER, fresh, sizeof fresh));
	assert_int_equal(page_all("/wallet/transactions?limit=5", fresh, 5, got, 16), 0);
	expect_status("GET", "/wallet/transactions", NULL, NULL, NULL, 401, "unauthenticated");
}

/* A transfer between two accounts of one owner is one line of its history, not two. */
static void transactions_list_each_transfer_once(void **state)
{
	(void)state;
	user_t u;
	char a2[64], it[512], id[64], got[16][64];
	new_user(&u, "10");
	new_account(&u, a2);
	uid("self", id);
	post_one_status(u.auth, item(it, sizeof it, id, u.addr, a2, "1", NULL), 201, "");
	/* the faucet credit and the transfer */
	int n = page_all("/wallet/transactions?limit=50", u.auth, 50, got, 16);
	if (n != 2)
		for (int i = 0; i < n && i < 16; i++)
			fprintf(stderr, "  /wallet/transactions[%d] = %s\n", i, got[i]);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], id);
}

static void balance_totals(void **state)
{
	(void)state;
	user_t u, v;
	char a2[64], it[512], id[64], path[200];
	new_user(&u, "10");
	new_user(&v, "1");
	new_account(&u, a2);
	assert_int_equal(wu_faucet(&W, a2, "5.5"), 201);
	uid("bal", id);
	post_one_status(u.auth, item(it, sizeof it, id, u.addr, a2, "2", ",\"mode\":\"pending\""),
			201, "");
	cJSON *b = expect("GET", "/wallet/balance", u.auth, NULL, NULL, 200, "");
	assert_string_equal(str_of(b, "owner"), u.sub);
	const cJSON *accts = cJSON_GetObjectItem(b, "accounts");
	assert_int_equal(cJSON_GetArraySize(accts), 2);
	const cJSON *total = cJSON_GetObjectItem(b, "total");
	assert_string_equal(str_of(total, "balance"), "13.5");
	assert_string_equal(str_of(total, "held"), "2");
	const cJSON *x;
	int seen = 0;
	cJSON_ArrayForEach(x, accts)
	{
		if (strcmp(str_of(x, "address"), u.addr) == 0) {
			assert_string_equal(str_of(x, "balance"), "8");
			assert_string_equal(str_of(x, "held"), "2");
			seen++;
		} else if (strcmp(str_of(x, "address"), a2) == 0) {
			assert_string_equal(str_of(x, "balance"), "5.5");
			assert_string_equal(str_of(x, "held"), "0");
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	cJSON_Delete(b);
	/* one account */
	snprintf(path, sizeof path, "/v1/wallet/balance?address=%s", a2);
	b = expect("GET", path, u.auth, NULL, NULL, 200, "");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "accounts")), 1);
	assert_string_equal(str_of(cJSON_GetObjectItem(b, "total"), "balance"), "5.5");
	cJSON_Delete(b);
	snprintf(path, sizeof path, "/v1/wallet/balance?address=%s", v.addr);
	expect_status("GET", path, u.auth, NULL, NULL, 404, "not-found");
	/* nobody's: zero */
	char fresh[WU_HDR_MAX], sub[64];
	wu_subject("user", sub);
	assert_true(wu_bearer(&W, sub, DUX_SCOPE_USER, fresh, sizeof fresh));
	b = expect("GET", "/wallet/balance", fresh, NULL, NULL, 200, "");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "accounts")), 0);
	assert_string_equal(str_of(cJSON_GetObjectItem(b, "total"), "balance"), "0");
	assert_string_equal(str_of(cJSON_GetObjectItem(b, "total"), "held"), "0");
	cJSON_Delete(b);
	expect_status("GET", "/wallet/balance", NULL, NULL, NULL, 401, "unauthenticated");
}

/* ---- GET /wallet/validate/{address} */

static cJSON *validate(const char *addr)
{
	char path[200];
	snprintf(path, sizeof path, "/wallet/validate/%s", addr);
	return expect("GET", path, NULL, NULL, NULL, 200, "");
}

static void validate_addresses(void **state)
{
	(void)state;
	char main_addr[64], reg[64], tnet[64], bad[64], *pem = NULL;
	th_address(main_addr);
	assert_int_equal(dux_address_new(DUX_NET_REGTEST, reg, &pem), 0);
	free(pem);
	pem = NULL;
	assert_int_equal(dux_address_new(DUX_NET_TESTNET, tnet, &pem), 0);
	free(pem);

	cJSON *v = validate(main_addr);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "valid")));
	assert_string_equal(str_of(v, "network"), "mainnet");
	assert_string_equal(str_of(v, "kind"), "pubkey_hash");
	assert_string_equal(str_of(v, "address"), main_addr);
	cJSON_Delete(v);

	v = validate(reg);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "valid")));
	assert_non_null(strstr(str_of(v, "reason"), "regtest"));
	cJSON_Delete(v);
	v = validate(tnet);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "valid")));
	assert_non_null(strstr(str_of(v, "reason"), "testnet"));
	cJSON_Delete(v);

	v = validate("hello");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "valid")));
	assert_true(strlen(str_of(v, "reason")) > 0);
	cJSON_Delete(v);

	/* one character changed at the end: the checksum no longer matches */
	snprintf(bad, sizeof bad, "%s", main_addr);
	size_t n = strlen(bad);
	bad[n - 1] = bad[n - 1] == '2' ? '3' : '2';
	v = validate(bad);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "valid")));
	assert_non_null(strstr(str_of(v, "reason"), "checksum"));
	cJSON_Delete(v);

	/* a pay-to-script-hash address of mainnet (version 22) */
	uint8_t hash[20];
	char p2sh[64];
	dux_random_bytes(hash, sizeof hash);
	assert_int_equal(dux_base58check_encode(22, hash, sizeof hash, p2sh, sizeof p2sh), 0);
	v = validate(p2sh);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "valid")));
	assert_string_equal(str_of(v, "kind"), "script_hash");
	cJSON_Delete(v);

	char path[200];
	snprintf(path, sizeof path, "/v1/wallet/validate/%s", main_addr);
	expect_status("GET", path, NULL, NULL, NULL, 200, "");
}

/* ---- events */

static void events_match_transfers(void **state)
{
	(void)state;
	user_t u;
	char b[64], it[512], e1[64], e2[64], e3[64], e4[64], e5[64];
	new_user(&u, "50");
	new_account(&u, b);
	/* every transfer is in the events: services and admins only */
	expect_status("GET", "/v1/events", NULL, NULL, NULL, 401, "unauthenticated");
	expect_status("GET", "/v1/events", u.auth, NULL, NULL, 403, "insufficient-scope");
	uid("ev", e1);
	uid("ev", e2);
	uid("ev", e3);
	uid("ev", e4);
	uid("ev", e5);
	post_one_status(u.auth, item(it, sizeof it, e1, u.addr, b, "2", NULL), 201, "");
	post_one_status(u.auth, item(it, sizeof it, e2, u.addr, b, "3", ",\"mode\":\"pending\""), 201,
			"");
	post_one_status(u.auth, resolve(it, sizeof it, e3, "void", e2, NULL), 201, "");
	post_one_status(u.auth, item(it, sizeof it, e4, u.addr, b, "4", ",\"mode\":\"pending\""), 201,
			"");
	post_one_status(u.auth, resolve(it, sizeof it, e5, "post", e4, "1"), 201, "");

	static const struct {
		const char *type, *mode, *amount;
		int pending; /* index of the pending transfer it resolves, or -1 */
	} want[] = {
		{"wallet.transfer.posted", "immediate", "2", -1},
		{"wallet.transfer.pending", "pending", "3", -1},
		{"wallet.transfer.voided", "void", "3", 1},
		{"wallet.transfer.pending", "pending", "4", -1},
		{"wallet.transfer.posted", "post", "1", 3},
	};
	const char *ids[] = {e1, e2, e3, e4, e5};
	int64_t seqs[5] = {0};
	bool found_faucet = false;
	/* the relay publishes within a poll interval: wait for all five */
	for (int tries = 0; tries < 200; tries++) {
		int64_t after = 0, expect_seq = 1;
		int seen = 0;
		for (;;) {
			char path[96];
			snprintf(path, sizeof path, "/v1/events?after=%lld&limit=1000", (long long)after);
			cJSON *page = expect("GET", path, W.admin, NULL, NULL, 200, "");
			const cJSON *events = cJSON_GetObjectItem(page, "events"), *e;
			int count = cJSON_GetArraySize(events);
			cJSON_ArrayForEach(e, events)
			{
				int64_t seq = (int64_t)cJSON_GetObjectItem(e, "seq")->valuedouble;
				assert_true(seq == expect_seq);
				expect_seq++;
				after = seq;
				assert_string_equal(str_of(e, "source"), "duxos-wallet");
				assert_string_equal(str_of(e, "specversion"), "1.0");
				const cJSON *data = cJSON_GetObjectItem(e, "data");
				if (strcmp(str_of(data, "kind"), "faucet") == 0 &&
				    strcmp(str_of(data, "credit"), u.addr) == 0) {
					assert_string_equal(str_of(e, "type"), "wallet.transfer.posted");
					assert_string_equal(str_of(data, "amount"), "50");
					found_faucet = true;
				}
				for (int i = 0; i < 5; i++) {
					if (strcmp(str_of(e, "subject"), ids[i]) != 0)
						continue;
					assert_string_equal(str_of(e, "type"), want[i].type);
					assert_string_equal(str_of(data, "id"), ids[i]);
					assert_string_equal(str_of(data, "mode"), want[i].mode);
					assert_string_equal(str_of(data, "amount"), want[i].amount);
					assert_string_equal(str_of(data, "debit"), u.addr);
					assert_string_equal(str_of(data, "credit"), b);
					assert_string_equal(str_of(data, "actor"), u.sub);
					if (want[i].pending >= 0)
						assert_string_equal(str_of(data, "pending_id"),
								    ids[want[i].pending]);
					else
						assert_true(is_null(data, "pending_id"));
					assert_true(seqs[i] == 0);
					seqs[i] = seq;
					seen++;
				}
			}
			cJSON_Delete(page);
			if (count < 1000)
				break;
		}
		if (seen == 5)
			break;
		memset(seqs, 0, sizeof seqs);
		found_faucet = false;
		usleep(50000);
	}
	for (int i = 0; i < 5; i++) {
		if (seqs[i] == 0)
			fprintf(stderr, "no event for %s\n", ids[i]);
		assert_true(seqs[i] > 0);
	}
	/* published in the order the transfers were made */
	for (int i = 1; i < 5; i++)
		assert_true(seqs[i] > seqs[i - 1]);
	assert_true(found_faucet);
}

/* ---- the conservation check, after everything above */

static void ledger_check_holds(void **state)
{
	(void)state;
	user_t u;
	new_user(&u, NULL);
	char svc[WU_HDR_MAX];
	assert_true(wu_bearer(&W, "duxos-escrow", DUX_SCOPE_SERVICE, svc, sizeof svc));
	expect_status("GET", "/v1/ledger/check", u.auth, NULL, NULL, 403, "insufficient-scope");
	expect_status("GET", "/v1/ledger/check", svc, NULL, NULL, 403, "insufficient-scope");
	expect_status("GET", "/ledger/check", NULL, NULL, NULL, 401, "unauthenticated");
	cJSON *c = expect("GET", "/v1/ledger/check", W.admin, NULL, NULL, 200, "");
	if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "holds"))) {
		char *s = cJSON_PrintUnformatted(c);
		fprintf(stderr, "ledger check: %s\n", s);
		free(s);
	}
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "holds")));
	assert_true(cJSON_GetObjectItem(c, "accounts")->valuedouble > 10);
	assert_true(cJSON_GetObjectItem(c, "transfers")->valuedouble > 10);
	assert_true(cJSON_GetObjectItem(c, "negative_accounts")->valuedouble == 0);
	assert_true(cJSON_GetObjectItem(c, "unresolved_inconsistencies")->valuedouble == 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "mismatched_accounts")), 0);
	assert_string_equal(str_of(c, "left"), "0");
	assert_string_equal(str_of(c, "total"), str_of(c, "entered"));
	cJSON_Delete(c);
}

/* ---- the passphrase: a restart with a wrong one is refused, the right one starts */

static void wrong_passphrase_refuses_start(void **state)
{
	(void)state;
	wu_wallet_t w;
	char auth[WU_HDR_MAX], sub[64], addr[64], again[64];
	assert_true(wu_start(&w, "first passphrase", NULL));
	wu_subject("user", sub);
	assert_true(wu_bearer(&w, sub, DUX_SCOPE_USER, auth, sizeof auth));
	assert_true(wu_account(&w, auth, addr)); /* a sealed key */
	assert_int_equal(wu_faucet(&w, addr, "5"), 201);
	assert_int_equal(wu_stop(&w), 0);

	/* a wrong passphrase on the same database: it refuses to start, and says why */
	assert_true(wu_restart(&w, "second passphrase", NULL, false));
	int st = wu_wait_exit(&w, 30000);
	bool said = wu_log_contains(&w, "wallet.passphrase does not open the keys");
	/* 78: a configuration error, which systemd does not retry */
	if (st != 78 || !said)
		th_daemon_dump_log(&w.d);
	wu_forget_log(&w);
	assert_int_equal(st, 78);
	assert_true(said);
	/* nothing was changed by the refused start: the right passphrase still opens the keys */

	/* encryption without a passphrase is a configuration error */
	assert_true(wu_restart(&w, "", NULL, false));
	st = wu_wait_exit(&w, 30000);
	said = wu_log_contains(&w, "wallet.passphrase");
	if (st != 78 || !said)
		th_daemon_dump_log(&w.d);
	wu_forget_log(&w);
	assert_int_equal(st, 78);
	assert_true(said);

	/* the right one starts, and the ledger is as it was */
	assert_true(wu_restart(&w, "first passphrase", NULL, true));
	assert_true(wu_balance(&w, addr) == 5 * FLOP);
	assert_true(wu_account(&w, auth, again));
	assert_true(wu_ledger_holds(&w));
	assert_int_equal(wu_stop(&w), 0);
	wu_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accounts_create_and_read),
		cmocka_unit_test(faucet_rules),
		cmocka_unit_test(transfer_field_errors),
		cmocka_unit_test(transfer_refusals),
		cmocka_unit_test(batch_all_or_none),
		cmocka_unit_test(batch_refusal_names_index),
		cmocka_unit_test(batch_applies_in_order),
		cmocka_unit_test(fast_path_credits_fold),
		cmocka_unit_test(credits_take_no_lock),
		cmocka_unit_test(transfer_idempotent),
		cmocka_unit_test(two_phase),
		cmocka_unit_test(pending_times_out),
		cmocka_unit_test(on_behalf_of),
		cmocka_unit_test(send_rules),
		cmocka_unit_test(send_from_required_names_field),
		cmocka_unit_test(send_to_own_account_refused),
		cmocka_unit_test(history_pages),
		cmocka_unit_test(transactions_list_each_transfer_once),
		cmocka_unit_test(balance_totals),
		cmocka_unit_test(validate_addresses),
		cmocka_unit_test(events_match_transfers),
		cmocka_unit_test(wrong_passphrase_refuses_start),
		cmocka_unit_test(ledger_check_holds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
