/* store_api.c - duxos-store's catalogue and reviews against a real duxos-wallet (who owns a
 * provider address) and a real duxos-escrow (whose releases are the paid calls that admit a
 * review), on one PostgreSQL: every field of the seed's schema, each refusal of bad input
 * naming its field and changing nothing, publishing as a non-owner, the wallet down,
 * Idempotency-Key, new versions and the old ones readable, delisting, and reviews: refused
 * without a paid call, accepted after one, replaced on the second post, the Bayesian
 * reputation. */
#include "store_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

static su_t S;
static eu_user_t P, Q, U; /* providers P and Q, a user U with money */

static int setup(void **state)
{
	(void)state;
	su_opts_t o = {0};
	if (!su_start(&S, &o) || !su_provider(&S, &P) || !su_provider(&S, &Q) ||
	    !su_user(&S, &U, "100"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return su_finish(&S) ? 0 : -1; /* each daemon leak-free under the sanitizers */
}

/* ---- helpers */

#define CHECK(method, path, auth, body, status, problem, field) \
	assert_true(su_check(&S, method, path, auth, NULL, body, status, problem, field, NULL))

static const char *mstr(const cJSON *o, const char *key)
{
	return eu_str(o, key);
}

static double mnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static bool mbool(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsBool(v));
	return cJSON_IsTrue(v);
}

/* The seed's example with the provider address addr, as a cJSON object (caller frees). */
static cJSON *seed_body(const char *addr)
{
	char text[SU_BODY_MAX];
	snprintf(text, sizeof text,
		 "{\"name\":\"Image Upscaler API\",\"description\":\"AI-powered image upscaling"
		 " service\",\"version\":\"1.0.0\",\"provider\":\"%s\",\"price\":1.0,"
		 "\"tags\":[\"ai\",\"image-processing\",\"upscaling\"],"
		 "\"endpoint\":\"https://provider-node:8080/upscale\",\"rate_limit\":100}",
		 addr);
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	return j;
}

/* The seed body with member key set to the JSON text value (NULL: removed); caller frees. */
static char *body_with(const char *key, const char *value)
{
	cJSON *j = seed_body(P.addr);
	cJSON_DeleteItemFromObjectCaseSensitive(j, key);
	if (value) {
		cJSON *v = cJSON_Parse(value);
		assert_non_null(v);
		cJSON_AddItemToObject(j, key, v);
	}
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_non_null(s);
	return s;
}

/* A JSON string of n copies of c. */
static char *long_string(size_t n, char c)
{
	char *s = malloc(n + 3);
	assert_non_null(s);
	s[0] = '"';
	memset(s + 1, c, n);
	s[n + 1] = '"';
	s[n + 2] = '\0';
	return s;
}

static long services_count(void)
{
	char v[32];
	assert_true(su_sql(&S, "SELECT count(*) FROM store.services", v, sizeof v));
	return strtol(v, NULL, 10);
}

static void publish(const eu_user_t *p, const char *body, char id[64])
{
	assert_true(su_publish(&S, p, body, id));
}

/* path = base + id + rest. */
static void path_of(char *buf, size_t len, const char *base, const char *id, const char *rest)
{
	snprintf(buf, len, "%s%s%s", base, id, rest);
}

/* ---- publishing */

static void publish_returns_every_field(void **state)
{
	(void)state;
	cJSON *b = seed_body(P.addr);
	/* tags are normalised: trimmed, lowercased, repeats dropped in place */
	cJSON_ReplaceItemInObjectCaseSensitive(
		b, "tags", cJSON_Parse("[\" AI\",\"image-processing\",\"Upscaling \",\"ai\"]"));
	char *text = cJSON_PrintUnformatted(b);
	dux_client_resp_t resp;
	assert_int_equal(su_http(&S, "POST", "/services", P.auth, NULL, text, &resp), 0);
	assert_int_equal(resp.status, 201);
	cJSON *sv = resp.json;
	resp.json = NULL;
	dux_client_resp_clear(&resp);
	const char *id = mstr(sv, "id");
	assert_int_equal(strlen(id), 36);
	assert_memory_equal(id, "svc_", 4);
	assert_string_equal(mstr(sv, "name"), "Image Upscaler API");
	assert_string_equal(mstr(sv, "description"), "AI-powered image upscaling service");
	assert_string_equal(mstr(sv, "version"), "1.0.0");
	assert_string_equal(mstr(sv, "provider"), P.addr);
	assert_string_equal(mstr(sv, "price"), "1");
	char *tags = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(sv, "tags"));
	assert_string_equal(tags, "[\"ai\",\"image-processing\",\"upscaling\"]");
	free(tags);
	assert_string_equal(mstr(sv, "endpoint"), "https://provider-node:8080/upscale");
	assert_true(mnum(sv, "rate_limit") == 100);
	assert_true(mnum(sv, "reputation") == 3); /* the prior: no reviews yet */
	assert_true(mnum(sv, "total_calls") == 0);
	assert_int_equal(strlen(mstr(sv, "created_at")), 24);
	assert_string_equal(mstr(sv, "created_at"), mstr(sv, "updated_at"));
	assert_true(mbool(sv, "listed"));
	assert_string_equal(mstr(sv, "owner"), P.sub);
	assert_true(mnum(sv, "rating_count") == 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sv, "rating_mean")));
	/* GET answers the same object, with and without /v1 */
	char path[96];
	path_of(path, sizeof path, "/services/", id, "");
	cJSON *got = su_service(&S, id);
	assert_non_null(got);
	assert_true(cJSON_Compare(got, sv, true));
	cJSON_Delete(got);
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &got));
	assert_true(cJSON_Compare(got, sv, true));
	cJSON_Delete(got);
	cJSON_Delete(sv);
	cJSON_Delete(b);
	free(text);
}

typedef struct {
	const char *key, *value; /* value: JSON text, NULL = member removed */
	const char *field;
} bad_t;

static void publish_refuses_bad_input(void **state)
{
	(void)state;
	char *name121 = long_string(121, 'n'), *desc2001 = long_string(2001, 'd');
	char *ver65 = malloc(80), *url2049 = malloc(2100);
	assert_non_null(ver65);
	assert_non_null(url2049);
	snprintf(ver65, 80, "\"1.0.0-%058d\"", 1);
	snprintf(url2049, 2100, "\"https://h.example/%02031d\"", 0); /* 2049 bytes */
	char bad_addr[64];
	snprintf(bad_addr, sizeof bad_addr, "\"%.*s%c\"", (int)strlen(P.addr) - 1, P.addr,
		 P.addr[strlen(P.addr) - 1] == 'x' ? 'y' : 'x');
	const bad_t cases[] = {
		{"name", NULL, "name"},
		{"name", "\"\"", "name"},
		{"name", "\" Upscaler\"", "name"},
		{"name", name121, "name"},
		{"name", "\"bell\\u0007\"", "name"},
		{"name", "\"new\\nline\"", "name"},
		{"name", "\"bad \xff utf-8\"", "name"},
		{"name", "\"overlong \xc0\xaf\"", "name"},
		{"name", "42", "name"},
		{"description", desc2001, "description"},
		{"description", "\"esc \\u001b[2J\"", "description"},
		{"description", "[]", "description"},
		{"version", NULL, "version"},
		{"version", "\"1.0\"", "version"},
		{"version", "\"v1.0.0\"", "version"},
		{"version", "\"01.0.0\"", "version"},
		{"version", "\"1.0.0-\"", "version"},
		{"version", "\"1.0.0-01\"", "version"},
		{"version", "\"1.0.0-alpha..1\"", "version"},
		{"version", "\"1.0.0+\"", "version"},
		{"version", "\"1.0.0+build_1\"", "version"},
		{"version", "\"1.0.0.0\"", "version"},
		{"version", ver65, "version"},
		{"version", "1", "version"},
		{"provider", NULL, "provider"},
		{"provider", "\"not-an-address\"", "provider"},
		{"provider", bad_addr, "provider"},
		{"price", NULL, "price"},
		{"price", "\"-1\"", "price"},
		{"price", "-1", "price"},
		{"price", "\"1.123456789\"", "price"},
		{"price", "\"1e3\"", "price"},
		{"price", "\"abc\"", "price"},
		{"price", "\"1000000.00000001\"", "price"},
		{"price", "true", "price"},
		{"tags", "\"ai\"", "tags"},
		{"tags", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]", "tags"},
		{"tags", "[\"ai\",5]", "tags[1]"},
		{"tags", "[\"\"]", "tags[0]"},
		{"tags", "[\"   \"]", "tags[0]"},
		{"tags", "[\"image processing\"]", "tags[0]"},
		{"tags", "[\"-leading\"]", "tags[0]"},
		{"tags", "[\"under_score\"]", "tags[0]"},
		{"tags", "[\"caf\xc3\xa9\"]", "tags[0]"},
		{"tags", "[\"abcdefghijklmnopqrstuvwxyz0123456\"]", "tags[0]"},
		{"endpoint", NULL, "endpoint"},
		{"endpoint", "\"ftp://h.example/x\"", "endpoint"},
		{"endpoint", "\"https://\"", "endpoint"},
		{"endpoint", "\"h.example/x\"", "endpoint"},
		{"endpoint", "\"https://user:pw@h.example/x\"", "endpoint"},
		{"endpoint", "\"https://h.example:0/x\"", "endpoint"},
		{"endpoint", "\"https://h.example:65536/x\"", "endpoint"},
		{"endpoint", "\"https://h.example:80a/x\"", "endpoint"},
		{"endpoint", "\"https://h example/x\"", "endpoint"},
		{"endpoint", "\"https://h.example/a b\"", "endpoint"},
		{"endpoint", "\"https://h.example/%zz\"", "endpoint"},
		{"endpoint", "\"https://h.example/x#part\"", "endpoint"},
		{"endpoint", "\"https://[::1/x\"", "endpoint"},
		{"endpoint", "\"https://[::g]/x\"", "endpoint"},
		{"endpoint", "\"https://256.1.1.1/x\"", "endpoint"},
		{"endpoint", "\"https://-h.example/x\"", "endpoint"},
		{"endpoint", "\"https://h..example/x\"", "endpoint"},
		{"endpoint", "\"https://h.example/caf\xc3\xa9\"", "endpoint"},
		{"endpoint", url2049, "endpoint"},
		{"rate_limit", NULL, "rate_limit"},
		{"rate_limit", "0", "rate_limit"},
		{"rate_limit", "-5", "rate_limit"},
		{"rate_limit", "1.5", "rate_limit"},
		{"rate_limit", "\"10\"", "rate_limit"},
		{"rate_limit", "1000001", "rate_limit"},
		{"colour", "\"blue\"", "colour"},
	};
	long before = services_count();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *b = body_with(cases[i].key, cases[i].value);
		bool ok = su_check(&S, "POST", "/v1/services", P.auth, NULL, b, 400, "invalid-field",
				   cases[i].field, NULL);
		if (!ok)
			fprintf(stderr, "case %zu: %s = %.60s\n", i, cases[i].key,
				cases[i].value ? cases[i].value : "(none)");
		free(b);
		assert_true(ok);
	}
	/* the body itself, its type, the token */
	CHECK("POST", "/v1/services", P.auth, "{\"name\":", 400, "invalid-body", NULL);
	CHECK("POST", "/v1/services", P.auth, "[]", 400, "invalid-body", NULL);
	char *b = body_with("name", "\"dup\"");
	char dup[SU_BODY_MAX];
	snprintf(dup, sizeof dup, "{\"name\":\"a\",%s", b + 1);
	CHECK("POST", "/v1/services", P.auth, dup, 400, "invalid-field", "name");
	const char *form[] = {"Content-Type: text/plain", NULL};
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, form, b, 415,
			     "unsupported-media-type", NULL, NULL));
	CHECK("POST", "/v1/services", NULL, b, 401, "unauthenticated", NULL);
	CHECK("POST", "/v1/services", U.auth, b, 403, "insufficient-scope", NULL);
	char long_key[200];
	snprintf(long_key, sizeof long_key, "Idempotency-Key: %0129d", 7);
	const char *idem[] = {long_key, NULL}, *spaced[] = {"Idempotency-Key: two words", NULL};
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, idem, b, 400, "invalid-header",
			     NULL, NULL));
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, spaced, b, 400, "invalid-header",
			     NULL, NULL));
	free(b);
	assert_int_equal(services_count(), before); /* nothing was stored */
	/* what the rules admit: a free service, new lines in a description, build metadata,
	 * an IPv6 endpoint with a query, upper-case scheme and host */
	const char *fine[][2] = {
		{"price", "\"0\""},
		{"description", "\"line one\\nline two\\ttabbed \xe2\x9c\x93\""},
		{"version", "\"1.0.0-alpha.1+build.5\""},
		{"endpoint", "\"http://[::1]:8080/v1/run?x=1&y=%20\""},
		{"endpoint", "\"HTTPS://Provider-Node.EXAMPLE./upscale\""},
		{"tags", "[]"},
		{"description", NULL},
	};
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		char id[64];
		b = body_with(fine[i][0], fine[i][1]);
		publish(&P, b, id);
		free(b);
	}
	assert_int_equal(services_count(), before + (long)(sizeof fine / sizeof fine[0]));
	free(name121);
	free(desc2001);
	free(ver65);
	free(url2049);
}

static void publish_refused_unless_the_wallet_says_owner(void **state)
{
	(void)state;
	long before = services_count();
	cJSON *b = seed_body(Q.addr);
	char *text = cJSON_PrintUnformatted(b);
	/* P names Q's account */
	CHECK("POST", "/v1/services", P.auth, text, 403, "provider-not-owned", NULL);
	/* an admin must own the address too */
	CHECK("POST", "/v1/services", S.admin, text, 403, "provider-not-owned", NULL);
	free(text);
	cJSON_Delete(b);
	/* a well-formed address the wallet never opened */
	char stranger[64];
	th_address(stranger);
	b = seed_body(stranger);
	text = cJSON_PrintUnformatted(b);
	CHECK("POST", "/v1/services", P.auth, text, 403, "provider-unknown", NULL);
	free(text);
	cJSON_Delete(b);
	assert_int_equal(services_count(), before);
}

static void publish_while_the_wallet_is_down(void **state)
{
	(void)state;
	long before = services_count();
	cJSON *b = seed_body(P.addr);
	char *text = cJSON_PrintUnformatted(b);
	assert_int_equal(eu_wallet_stop(&S.e), 0);
	dux_client_resp_t resp;
	assert_int_equal(su_http(&S, "POST", "/v1/services", P.auth, NULL, text, &resp), 0);
	bool ok = resp.status == 503 && strcmp(th_problem(&resp), "wallet-unavailable") == 0 &&
		  strcmp(resp.retry_after, "5") == 0;
	if (!ok)
		fprintf(stderr, "wallet down: %ld %s\n", resp.status, resp.body);
	dux_client_resp_clear(&resp);
	assert_true(ok);
	assert_int_equal(services_count(), before);
	/* reading needs no wallet */
	CHECK("GET", "/v1/services", NULL, NULL, 200, "", NULL);
	assert_true(eu_wallet_restart(&S.e));
	char id[64];
	publish(&P, text, id);
	free(text);
	cJSON_Delete(b);
}

static void publish_with_idempotency_key(void **state)
{
	(void)state;
	char key[64], hdr[96], id[64];
	wu_subject("key", key);
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
	const char *extra[] = {hdr, NULL};
	cJSON *b = seed_body(P.addr), *first = NULL, *again = NULL;
	char *text = cJSON_PrintUnformatted(b);
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, extra, text, 201, "", NULL, &first));
	snprintf(id, sizeof id, "%s", mstr(first, "id"));
	long count = services_count();
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, extra, text, 200, "", NULL, &again));
	assert_string_equal(mstr(again, "id"), id);
	assert_int_equal(services_count(), count);
	cJSON_Delete(again);
	/* the same key for something else */
	char *other = body_with("price", "\"2\"");
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, extra, other, 422,
			     "idempotency-key-reused", NULL, NULL));
	/* another owner's key is another key */
	cJSON *qb = seed_body(Q.addr);
	char *qtext = cJSON_PrintUnformatted(qb);
	assert_true(su_check(&S, "POST", "/v1/services", Q.auth, extra, qtext, 201, "", NULL, NULL));
	/* after a new version, the first request repeated still names the same service */
	char path[96], put[SU_BODY_MAX];
	path_of(path, sizeof path, "/v1/services/", id, "");
	CHECK("PUT", path, P.auth,
	      su_body(put, "Image Upscaler API", "v2", "2.0.0", P.addr, "3", NULL, NULL), 200, "",
	      NULL);
	assert_true(su_check(&S, "POST", "/v1/services", P.auth, extra, text, 200, "", NULL, &again));
	assert_string_equal(mstr(again, "id"), id);
	assert_string_equal(mstr(again, "version"), "2.0.0"); /* as it stands now */
	cJSON_Delete(again);
	cJSON_Delete(first);
	cJSON_Delete(qb);
	cJSON_Delete(b);
	free(qtext);
	free(other);
	free(text);
}

/* ---- versions */

static void put_version(const char *id, const eu_user_t *who, const char *version,
			const char *provider, long status, const char *problem)
{
	char path[96], body[SU_BODY_MAX];
	path_of(path, sizeof path, "/v1/services/", id, "");
	su_body(body, "Versioned", "versions", version, provider, "2", "[\"v\"]", NULL);
	CHECK("PUT", path, who->auth, body, status, problem, NULL);
}

static void new_versions_keep_the_old_readable(void **state)
{
	(void)state;
	char id[64], path[512], body[SU_BODY_MAX];
	publish(&P, su_body(body, "Versioned", "the first", "1.0.0-alpha", P.addr, "1", "[\"one\"]",
			    NULL),
		id);
	/* semver precedence, not text order: each raises the one before */
	const char *rising[] = {"1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
				"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"};
	for (size_t i = 0; i < sizeof rising / sizeof rising[0]; i++)
		put_version(id, &P, rising[i], P.addr, 200, "");
	/* not raised: equal, lower, equal but for build metadata, a pre-release of it */
	const char *lower[] = {"2.0.0", "1.99.99", "2.0.0+build.7", "2.0.0-rc.1", "1.0.0-beta.2"};
	for (size_t i = 0; i < sizeof lower / sizeof lower[0]; i++) {
		path_of(path, sizeof path, "/v1/services/", id, "");
		su_body(body, "Versioned", "x", lower[i], P.addr, "2", NULL, NULL);
		cJSON *p = NULL;
		assert_true(su_check(&S, "PUT", path, P.auth, NULL, body, 409, "version-not-raised",
				     "version", &p));
		assert_string_equal(mstr(p, "current_version"), "2.0.0");
		cJSON_Delete(p);
	}
	/* the owner only; bad input; no such service */
	put_version(id, &Q, "3.0.0", Q.addr, 403, "not-owner");
	path_of(path, sizeof path, "/v1/services/", id, "");
	su_body(body, "V", "x", "3.0.0", P.addr, "2", NULL, ",\"rate_limit\":0");
	CHECK("PUT", path, P.auth, body, 400, "invalid-field", "rate_limit");
	CHECK("PUT", "/v1/services/svc_00000000000000000000000000000000", P.auth,
	      su_body(body, "V", "x", "3.0.0", P.addr, "2", NULL, NULL), 404, "not-found", NULL);
	CHECK("PUT", "/v1/services/nonsense", P.auth,
	      su_body(body, "V", "x", "3.0.0", P.addr, "2", NULL, NULL), 404, "not-found", NULL);
	CHECK("PUT", path, U.auth, su_body(body, "V", "x", "3.0.0", P.addr, "2", NULL, NULL), 403,
	      "insufficient-scope", NULL);
	/* a new provider address must be the caller's as well */
	put_version(id, &P, "3.0.0", Q.addr, 403, "provider-not-owned");
	char second[64];
	assert_true(wu_account(&S.e.w, P.auth, second));
	put_version(id, &P, "3.0.0", second, 200, "");
	/* without provider: the address stays */
	path_of(path, sizeof path, "/services/", id, "");
	cJSON *now = NULL;
	CHECK("PUT", path, P.auth,
	      "{\"name\":\"Versioned\",\"version\":\"3.0.1\",\"price\":\"4\",\"endpoint\":"
	      "\"https://n.example/\",\"rate_limit\":7}",
	      200, "", NULL);
	now = su_service(&S, id);
	assert_string_equal(mstr(now, "version"), "3.0.1");
	assert_string_equal(mstr(now, "provider"), second);
	assert_string_equal(mstr(now, "description"), ""); /* a PUT replaces every field */
	assert_true(mbool(now, "current"));
	assert_true(strcmp(mstr(now, "updated_at"), mstr(now, "created_at")) > 0);
	cJSON_Delete(now);

	/* an old version, as it was */
	path_of(path, sizeof path, "/v1/services/", id, "?version=1.0.0-alpha");
	cJSON *old = NULL;
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &old));
	assert_string_equal(mstr(old, "version"), "1.0.0-alpha");
	assert_string_equal(mstr(old, "description"), "the first");
	assert_string_equal(mstr(old, "price"), "1");
	assert_string_equal(mstr(old, "provider"), P.addr);
	assert_false(mbool(old, "current"));
	assert_string_equal(mstr(old, "id"), id);
	assert_int_equal(strlen(mstr(old, "superseded_at")), 24);
	cJSON_Delete(old);
	path_of(path, sizeof path, "/v1/services/", id, "?version=3.0.1");
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &old));
	assert_true(mbool(old, "current"));
	cJSON_Delete(old);
	path_of(path, sizeof path, "/v1/services/", id, "?version=9.9.9");
	CHECK("GET", path, NULL, NULL, 404, "version-not-found", NULL);
	path_of(path, sizeof path, "/v1/services/", id, "?version=latest");
	CHECK("GET", path, NULL, NULL, 400, "invalid-query", "version");
	path_of(path, sizeof path, "/v1/services/", id, "?versoin=1.0.0");
	CHECK("GET", path, NULL, NULL, 400, "invalid-query", "versoin");
	CHECK("GET", "/v1/services/svc_00000000000000000000000000000000", NULL, NULL, 404,
	      "not-found", NULL);

	/* every version, newest first, a page at a time */
	int seen = 0;
	char cursor[400] = "", prev_seq[16] = "";
	for (int pages = 0; pages < 40; pages++) {
		if (cursor[0])
			snprintf(path, sizeof path, "/v1/services/%s/versions?limit=3&cursor=%s", id,
				 cursor);
		else
			snprintf(path, sizeof path, "/v1/services/%s/versions?limit=3", id);
		cJSON *page = NULL, *v;
		assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(page, "versions"))
		{
			char seq[16];
			snprintf(seq, sizeof seq, "%d", (int)mnum(v, "seq"));
			if (prev_seq[0])
				assert_true(atoi(seq) == atoi(prev_seq) - 1);
			snprintf(prev_seq, sizeof prev_seq, "%s", seq);
			assert_true(mbool(v, "current") == (seen == 0));
			seen++;
		}
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
		snprintf(cursor, sizeof cursor, "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		cJSON_Delete(page);
		if (!cursor[0])
			break;
	}
	assert_int_equal(seen, 13); /* the first, ten raises, the new provider, the last */
	assert_string_equal(prev_seq, "1");
	path_of(path, sizeof path, "/v1/services/", id, "/versions?cursor=bogus");
	CHECK("GET", path, NULL, NULL, 400, "invalid-query", "cursor");
	path_of(path, sizeof path, "/v1/services/", id, "/versions?limit=101");
	CHECK("GET", path, NULL, NULL, 400, "invalid-query", "limit");
}

/* ---- delisting */

static bool search_finds(const char *word, const char *id)
{
	char path[128];
	cJSON *page = NULL, *it;
	bool found = false;
	snprintf(path, sizeof path, "/v1/services?q=%s", word);
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "services"))
		found = found || strcmp(mstr(it, "id"), id) == 0;
	cJSON_Delete(page);
	return found;
}

static void delist_hides_from_search_only(void **state)
{
	(void)state;
	char id[64], other[64], path[128], body[SU_BODY_MAX];
	publish(&P, su_body(body, "Quokkafier", "turns photos into quokkas", "1.0.0", P.addr, "1",
			    "[\"quokka\"]", NULL),
		id);
	publish(&Q, su_body(body, "Quokka counter", "counts quokkas", "1.0.0", Q.addr, "1", NULL,
			    NULL),
		other);
	assert_true(search_finds("quokkafier", id));
	path_of(path, sizeof path, "/v1/services/", id, "");
	CHECK("DELETE", path, Q.auth, NULL, 403, "not-owner", NULL);
	CHECK("DELETE", path, U.auth, NULL, 403, "insufficient-scope", NULL);
	CHECK("DELETE", path, NULL, NULL, 401, "unauthenticated", NULL);
	cJSON *gone = NULL;
	assert_true(su_check(&S, "DELETE", path, P.auth, NULL, NULL, 200, "", NULL, &gone));
	assert_false(mbool(gone, "listed"));
	assert_false(search_finds("quokkafier", id));
	assert_false(search_finds("quokka", id));
	assert_true(search_finds("quokka", other)); /* the other one still shows */
	cJSON *still = su_service(&S, id);
	assert_non_null(still);
	assert_false(mbool(still, "listed"));
	assert_string_equal(mstr(still, "name"), "Quokkafier");
	assert_string_equal(mstr(still, "updated_at"), mstr(gone, "updated_at"));
	cJSON_Delete(still);
	/* again: as it stands, unchanged */
	cJSON *again = NULL;
	assert_true(su_check(&S, "DELETE", path, P.auth, NULL, NULL, 200, "", NULL, &again));
	assert_string_equal(mstr(again, "updated_at"), mstr(gone, "updated_at"));
	cJSON_Delete(again);
	cJSON_Delete(gone);
	put_version(id, &P, "2.0.0", P.addr, 409, "delisted");
	path_of(path, sizeof path, "/v1/services/", id, "/versions");
	CHECK("GET", path, NULL, NULL, 200, "", NULL);
	/* an admin may delist anyone's service */
	path_of(path, sizeof path, "/services/", other, "");
	CHECK("DELETE", path, S.admin, NULL, 200, "", NULL);
	assert_false(search_finds("quokka", other));
	CHECK("DELETE", "/v1/services/svc_00000000000000000000000000000000", P.auth, NULL, 404,
	      "not-found", NULL);
}

/* The types of the store's published events about id, in seq order, joined by spaces. */
static void events_of(const char *id, char *out, size_t len)
{
	cJSON *page = NULL;
	out[0] = '\0';
	assert_int_equal(su_call(&S, "GET", "/v1/events?after=0&limit=1000", NULL, NULL, NULL, &page),
			 200);
	const cJSON *ev;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(page, "events"))
	{
		if (strcmp(mstr(ev, "subject"), id) != 0)
			continue;
		const cJSON *data = cJSON_GetObjectItem(ev, "data");
		assert_string_equal(mstr(data, "id"), id);
		assert_string_equal(mstr(ev, "source"), "duxos-store");
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%s%s", n ? " " : "", mstr(ev, "type"));
	}
	cJSON_Delete(page);
}

/* Each change of the catalogue is an event with the service: published, a new version,
 * delisted (once: delisting again changes nothing). */
static void catalogue_changes_are_events(void **state)
{
	(void)state;
	char id[64], path[128], body[SU_BODY_MAX], types[256] = "";
	publish(&P, su_body(body, "Wombat weigher", "weighs wombats", "1.0.0", P.addr, "1", NULL,
			    NULL),
		id);
	put_version(id, &P, "1.1.0", P.addr, 200, "");
	path_of(path, sizeof path, "/v1/services/", id, "");
	CHECK("DELETE", path, P.auth, NULL, 200, "", NULL);
	CHECK("DELETE", path, P.auth, NULL, 200, "", NULL);
	const char *want = "service.published service.updated service.delisted";
	for (int i = 0; i < 100 && strcmp(types, want) != 0; i++) {
		usleep(50 * 1000); /* the relay publishes every 50 ms */
		events_of(id, types, sizeof types);
	}
	assert_string_equal(types, want);
}

/* ---- reviews */

static void review(const char *id, const eu_user_t *who, const char *body, long status,
		   const char *problem, const char *field)
{
	char path[96];
	path_of(path, sizeof path, "/v1/services/", id, "/reviews");
	CHECK("POST", path, who->auth, body, status, problem, field);
}

static void assert_rating(const char *id, double count, double mean, double reputation)
{
	cJSON *sv = su_service(&S, id);
	assert_non_null(sv);
	bool ok = mnum(sv, "rating_count") == count && mnum(sv, "reputation") == reputation &&
		  (count == 0 ? cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sv, "rating_mean"))
			      : mnum(sv, "rating_mean") == mean);
	if (!ok)
		fprintf(stderr, "service %s: %s\n  want count %g mean %g reputation %g\n", id,
			cJSON_PrintUnformatted(sv), count, mean, reputation);
	cJSON_Delete(sv);
	assert_true(ok);
}

static void reviews_need_a_paid_call(void **state)
{
	(void)state;
	char id[64], id2[64], esc[64], body[SU_BODY_MAX], path[512];
	publish(&P, su_body(body, "Reviewed", "to review", "1.0.0", P.addr, "1", NULL, NULL), id);
	publish(&P, su_body(body, "Unpaid", "not paid for", "1.0.0", P.addr, "1", NULL, NULL), id2);
	/* nobody has paid for it yet */
	review(id, &U, "{\"stars\":5}", 403, "no-paid-call", NULL);
	review(id, &P, "{\"stars\":5}", 403, "own-service", NULL);
	review("svc_00000000000000000000000000000000", &U, "{\"stars\":5}", 404, "not-found", NULL);
	path_of(path, sizeof path, "/v1/services/", id, "/reviews");
	CHECK("POST", path, S.admin, "{\"stars\":5}", 403, "insufficient-scope", NULL);
	CHECK("POST", path, NULL, "{\"stars\":5}", 401, "unauthenticated", NULL);
	/* bad input, each naming its field */
	char *long_text = long_string(2001, 't'), big[2100];
	snprintf(big, sizeof big, "{\"stars\":4,\"text\":%s}", long_text);
	free(long_text);
	const char *bad[][2] = {
		{"{}", "stars"},
		{"{\"stars\":0}", "stars"},
		{"{\"stars\":6}", "stars"},
		{"{\"stars\":4.5}", "stars"},
		{"{\"stars\":\"5\"}", "stars"},
		{"{\"stars\":null}", "stars"},
		{"{\"stars\":5,\"text\":\"\"}", "text"},
		{"{\"stars\":5,\"text\":7}", "text"},
		{"{\"stars\":5,\"text\":\"\\u0007\"}", "text"},
		{"{\"stars\":5,\"text\":\"\xfe\"}", "text"},
		{big, "text"},
		{"{\"stars\":5,\"title\":\"x\"}", "title"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		review(id, &U, bad[i][0], 400, "invalid-field", bad[i][1]);
	assert_rating(id, 0, 0, 3);

	/* U pays for a call: the escrow's release reaches the store as an event */
	assert_true(su_paid_call(&S, &U, P.addr, id, "2", esc));
	assert_true(su_wait_calls(&S, id, 1, 10000));
	cJSON *rv = NULL;
	path_of(path, sizeof path, "/services/", id, "/reviews");
	assert_true(su_check(&S, "POST", path, U.auth, NULL,
			     "{\"stars\":5,\"text\":\"sharp results\\nfast\"}", 201, "", NULL, &rv));
	assert_string_equal(mstr(rv, "reviewer"), U.sub);
	assert_string_equal(mstr(rv, "text"), "sharp results\nfast");
	assert_string_equal(mstr(rv, "service_id"), id);
	assert_string_equal(mstr(rv, "version"), "1.0.0");
	cJSON_Delete(rv);
	/* one 5-star vote moves the prior of 3 (weight 5) only to 20/6 */
	assert_rating(id, 1, 5, 3.3333);
	/* the second post replaces the first */
	assert_true(su_check(&S, "POST", path, U.auth, NULL, "{\"stars\":2}", 200, "", NULL, &rv));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rv, "text")));
	cJSON_Delete(rv);
	assert_rating(id, 1, 2, 2.8333);
	/* a paid call of one service admits no review of another */
	review(id2, &U, "{\"stars\":1}", 403, "no-paid-call", NULL);

	/* five more callers, 5 stars each: (15 + 2 + 25) / (5 + 6) */
	eu_user_t more[5];
	for (int i = 0; i < 5; i++) {
		assert_true(su_user(&S, &more[i], "10"));
		assert_true(su_paid_call(&S, &more[i], P.addr, id, "1", esc));
	}
	assert_true(su_wait_calls(&S, id, 6, 15000));
	for (int i = 0; i < 5; i++)
		review(id, &more[i], "{\"stars\":5,\"text\":\"good\"}", 201, "", NULL);
	assert_rating(id, 6, 4.5, 3.8182);

	/* the reviews, newest first, a page at a time, each once */
	char cursor[400] = "";
	int seen = 0;
	bool u_seen = false;
	for (int pages = 0; pages < 10; pages++) {
		if (cursor[0])
			snprintf(path, sizeof path, "/v1/services/%s/reviews?limit=4&cursor=%s", id,
				 cursor);
		else
			snprintf(path, sizeof path, "/v1/services/%s/reviews?limit=4", id);
		cJSON *page = NULL, *it;
		assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "reviews"))
		{
			seen++;
			u_seen = u_seen || strcmp(mstr(it, "reviewer"), U.sub) == 0;
		}
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
		snprintf(cursor, sizeof cursor, "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		cJSON_Delete(page);
		if (!cursor[0])
			break;
	}
	assert_int_equal(seen, 6);
	assert_true(u_seen);
	path_of(path, sizeof path, "/v1/services/", id, "/reviews?cursor=AAAA");
	CHECK("GET", path, NULL, NULL, 400, "invalid-query", "cursor");
	path_of(path, sizeof path, "/v1/services/", id, "/reviews?limit=0");
	CHECK("GET", path, NULL, NULL, 400, "invalid-query", "limit");
	CHECK("GET", "/v1/services/svc_00000000000000000000000000000000/reviews", NULL, NULL, 404,
	      "not-found", NULL);
}

static void unknown_routes_and_methods(void **state)
{
	(void)state;
	CHECK("GET", "/v1/services/", NULL, NULL, 404, "not-found", NULL);
	CHECK("PATCH", "/v1/services", P.auth, NULL, 405, "method-not-allowed", NULL);
	CHECK("GET", "/v1/openapi.yaml", NULL, NULL, 200, "", NULL);
	CHECK("GET", "/v1/events", NULL, NULL, 200, "", NULL); /* public, like the catalogue */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(publish_returns_every_field),
		cmocka_unit_test(publish_refuses_bad_input),
		cmocka_unit_test(publish_refused_unless_the_wallet_says_owner),
		cmocka_unit_test(publish_while_the_wallet_is_down),
		cmocka_unit_test(publish_with_idempotency_key),
		cmocka_unit_test(new_versions_keep_the_old_readable),
		cmocka_unit_test(delist_hides_from_search_only),
		cmocka_unit_test(catalogue_changes_are_events),
		cmocka_unit_test(reviews_need_a_paid_call),
		cmocka_unit_test(unknown_routes_and_methods),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
