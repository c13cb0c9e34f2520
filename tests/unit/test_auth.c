/* test_auth.c - JWT bearer tokens (EdDSA): mint, verify, and every refusal. */
#include "unit.h"
#include <dux/auth.h>
#include <dux/crypto.h>
#include <dux/json.h>

static dux_key_t *key, *other;
static const char iss[] = "duxos-test";

static int setup(void **state)
{
	(void)state;
	if (dux_key_generate(&key) < 0 || dux_key_generate(&other) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	key = dux_key_free(key);
	other = dux_key_free(other);
	return 0;
}

static int64_t now(void)
{
	return dux_now_us() / 1000000;
}

static char *mint(const char *sub, unsigned scopes, int64_t ttl)
{
	char *t = NULL;
	assert_int_equal(dux_token_mint(key, iss, sub, scopes, ttl, &t), 0);
	assert_non_null(t);
	return t;
}

static int verify(const dux_key_t *k, const char *token, dux_token_t *ret)
{
	return dux_token_verify(k, iss, token, now(), ret);
}

static void b64(const char *s, char *out)
{
	dux_b64url_encode(s, strlen(s), out);
}

/* A token built by hand from header and claims JSON, signed with k (NULL: no signature). */
static char *forge(const char *header, const char *claims, const dux_key_t *k)
{
	size_t cap = dux_b64url_len(strlen(header)) + dux_b64url_len(strlen(claims)) + 100;
	char *t = malloc(cap), *h = malloc(cap), *c = malloc(cap);
	assert_true(t && h && c);
	b64(header, h);
	b64(claims, c);
	int n = snprintf(t, cap, "%s.%s", h, c);
	free(h);
	free(c);
	uint8_t sig[DUX_ED25519_SIG_LEN];
	if (k) {
		assert_int_equal(dux_key_sign(k, t, (size_t)n, sig), 0);
		t[n] = '.';
		dux_b64url_encode(sig, sizeof sig, t + n + 1);
	} else {
		snprintf(t + n, cap - (size_t)n, ".");
	}
	return t;
}

static char *claims_json(const char *sub, const char *scope, int64_t exp)
{
	static char c[512];
	snprintf(c, sizeof c, "{\"iss\":\"%s\",\"sub\":\"%s\",\"scope\":\"%s\",\"iat\":%lld,"
			      "\"exp\":%lld,\"jti\":\"j\"}",
		 iss, sub, scope, (long long)now(), (long long)exp);
	return c;
}

/* tmpl with each '@' replaced by val, into out (512 bytes) */
static void subst(const char *tmpl, const char *val, char out[512])
{
	size_t o = 0;
	for (const char *p = tmpl; *p && o + strlen(val) + 1 < 512; p++) {
		if (*p == '@') {
			memcpy(out + o, val, strlen(val));
			o += strlen(val);
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static const char good_header[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";

static void mint_then_verify(void **state)
{
	(void)state;
	int64_t before = now();
	char *t = mint("FxAddr", DUX_SCOPE_USER | DUX_SCOPE_ADMIN, 3600);
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
			 strlen(t));
	dux_token_t tok;
	memset(&tok, 0, sizeof tok);
	assert_int_equal(verify(key, t, &tok), 0);
	assert_string_equal(tok.sub, "FxAddr");
	assert_int_equal(tok.scopes, DUX_SCOPE_USER | DUX_SCOPE_ADMIN);
	assert_true(tok.exp >= before + 3600 && tok.exp <= now() + 3600);
	free(t);
}

static void header_says_eddsa_jwt(void **state)
{
	(void)state;
	char *t = mint("s", DUX_SCOPE_SERVICE, 60);
	char *dot = strchr(t, '.');
	uint8_t h[256];
	size_t n = 0;
	assert_int_equal(dux_b64url_decode(t, (size_t)(dot - t), h, sizeof h - 1, &n), 0);
	h[n] = '\0';
	cJSON *j = cJSON_Parse((const char *)h);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "alg")->valuestring, "EdDSA");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "typ")->valuestring, "JWT");
	cJSON_Delete(j);
	free(t);
}

static void two_tokens_differ(void **state)
{
	(void)state;
	char *a = mint("s", DUX_SCOPE_USER, 60), *b = mint("s", DUX_SCOPE_USER, 60);
	assert_string_not_equal(a, b); /* jti */
	free(a);
	free(b);
}

static void expired_beyond_leeway_refused(void **state)
{
	(void)state;
	dux_token_t tok = {.exp = 77};
	char *t = forge(good_header, claims_json("s", "user", now() - 120), key);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	assert_true(tok.exp == 77); /* untouched */
	free(t);
	t = forge(good_header, claims_json("s", "user", now() - 30), key); /* within the leeway */
	assert_int_equal(verify(key, t, &tok), 0);
	free(t);
	/* and the clock passed in is the one used */
	t = mint("s", DUX_SCOPE_USER, 600);
	assert_int_equal(dux_token_verify(key, iss, t, now() + 600 + 61, &tok), DUX_EAUTH);
	assert_int_equal(dux_token_verify(key, iss, t, now() + 600 + 59, &tok), 0);
	free(t);
}

static void mint_refuses_what_verify_would_refuse(void **state)
{
	(void)state;
	char *t = NULL;
	char sub[200];
	memset(sub, 's', sizeof sub - 1);
	sub[sizeof sub - 1] = '\0';
	assert_int_equal(dux_token_mint(key, iss, "s", DUX_SCOPE_USER, -120, &t), DUX_EINVAL);
	assert_int_equal(dux_token_mint(key, iss, "s", DUX_SCOPE_USER, 0, &t), DUX_EINVAL);
	assert_int_equal(dux_token_mint(key, iss, "", DUX_SCOPE_USER, 60, &t), DUX_EINVAL);
	assert_int_equal(dux_token_mint(key, iss, sub, DUX_SCOPE_USER, 60, &t), DUX_EINVAL);
	assert_int_equal(dux_token_mint(key, iss, "s", 0, 60, &t), DUX_EINVAL);
	assert_int_equal(dux_token_mint(key, "", "s", DUX_SCOPE_USER, 60, &t), DUX_EINVAL);
	assert_null(t);
	/* a public key cannot mint */
	uint8_t pub[DUX_ED25519_PUB_LEN];
	dux_key_t *pk = NULL;
	assert_int_equal(dux_key_public(key, pub), 0);
	assert_int_equal(dux_key_from_public(pub, &pk), 0);
	assert_int_equal(dux_token_mint(pk, iss, "s", DUX_SCOPE_USER, 60, &t), DUX_EINVAL);
	assert_null(t);
	dux_key_free(pk);
}

/* An expiry past any calendar date (here about 146 billion years away) is refused at minting
 * rather than written as a float that readers round or cannot hold. */
static void mint_refuses_ttl_beyond_any_date(void **state)
{
	(void)state;
	char *t = NULL;
	int rc = dux_token_mint(key, iss, "s", DUX_SCOPE_USER, INT64_C(1) << 62, &t);
	free(t);
	assert_int_not_equal(rc, 0);
}

static void wrong_key_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	char *t = mint("s", DUX_SCOPE_USER, 600);
	assert_int_equal(verify(other, t, &tok), DUX_EAUTH);
	uint8_t pub[DUX_ED25519_PUB_LEN];
	dux_key_t *pk = NULL;
	assert_int_equal(dux_key_public(key, pub), 0);
	assert_int_equal(dux_key_from_public(pub, &pk), 0);
	assert_int_equal(verify(pk, t, &tok), 0); /* the public half is all a daemon needs */
	dux_key_free(pk);
	free(t);
}

static void tampered_payload_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	char *t = mint("user1", DUX_SCOPE_USER, 600);
	char *mid = strchr(t, '.') + 1;
	size_t len = (size_t)(strchr(mid, '.') - mid);
	for (size_t i = 0; i < len; i += 3) {
		char c = mid[i];
		mid[i] = c == 'A' ? 'B' : 'A';
		assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
		mid[i] = c;
	}
	assert_int_equal(verify(key, t, &tok), 0);
	free(t);
}

static void alg_none_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	const char *claims = claims_json("admin", "admin", now() + 600);
	char *t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, NULL);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
	/* even with a valid signature over it, only EdDSA is accepted */
	t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, key);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
	t = forge("{\"alg\":\"HS256\"}", claims, key);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
	t = forge("{\"typ\":\"JWT\"}", claims, key);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
	t = forge("{\"alg\":\"EdDSA\",\"crit\":[\"x\"]}", claims, key);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
	/* the control: the same claims under the right header pass */
	t = forge(good_header, claims, key);
	assert_int_equal(verify(key, t, &tok), 0);
	assert_int_equal(tok.scopes, DUX_SCOPE_ADMIN);
	free(t);
}

static void claims_of_wrong_type_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	int64_t exp = now() + 600;
	char c[512], exps[24];
	snprintf(exps, sizeof exps, "%lld", (long long)exp);
	static const char *const bad[] = {
		"{\"iss\":\"duxos-test\",\"scope\":\"user\",\"exp\":@}",
		"{\"iss\":\"duxos-test\",\"sub\":\"\",\"scope\":\"user\",\"exp\":@}",
		"{\"iss\":\"duxos-test\",\"sub\":7,\"scope\":\"user\",\"exp\":@}",
		"{\"iss\":\"duxos-test\",\"sub\":\"s\",\"scope\":[\"user\"],\"exp\":@}",
		"{\"iss\":\"duxos-test\",\"sub\":\"s\",\"scope\":\"root\",\"exp\":@}",
		"{\"iss\":\"duxos-test\",\"sub\":\"s\",\"scope\":\"user\",\"exp\":\"@\"}",
		"{\"iss\":\"duxos-test\",\"sub\":\"s\",\"scope\":\"user\"}",
		"{\"sub\":\"s\",\"scope\":\"user\",\"exp\":@}",
		"[\"iss\",\"duxos-test\",@]",
		NULL};
	for (const char *const *f = bad; *f; f++) {
		subst(*f, exps, c);
		char *t = forge(good_header, c, key);
		if (verify(key, t, &tok) != DUX_EAUTH)
			fail_msg("accepted claims %s", c);
		free(t);
	}
	/* a sub of 127 bytes fits; 128 does not */
	char sub[130];
	memset(sub, 's', sizeof sub);
	sub[127] = '\0';
	char *t = forge(good_header, claims_json(sub, "user", exp), key);
	assert_int_equal(verify(key, t, &tok), 0);
	assert_string_equal(tok.sub, sub);
	free(t);
	sub[127] = 's';
	sub[128] = '\0';
	t = forge(good_header, claims_json(sub, "user", exp), key);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
}

/* exp beyond what int64 seconds can hold is no valid NumericDate: refuse it rather than
 * convert it (undefined behaviour, and a token that never expires). */
static void exp_out_of_range_refused(void **state)
{
	(void)state;
	dux_token_t tok = {.exp = 1};
	char *t = forge(good_header,
			"{\"iss\":\"duxos-test\",\"sub\":\"s\",\"scope\":\"user\",\"exp\":1e300}", key);
	int rc = verify(key, t, &tok);
	free(t);
	if (rc == 0)
		fail_msg("exp 1e300 accepted, read as %lld", (long long)tok.exp);
	assert_int_equal(rc, DUX_EAUTH);
}

static void malformed_structure_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	char *t = mint("s", DUX_SCOPE_USER, 600);
	char buf[4096];
	size_t len = strlen(t);
	char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
	static const char *const literal[] = {"", ".", "..", "...", "abc", "abc.def", "a.b.c",
					      NULL};
	for (const char *const *p = literal; *p; p++)
		assert_int_equal(verify(key, *p, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, "%.*s", (int)(d2 - t), t); /* no signature part */
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, "%s.", t); /* extra part */
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, "%s.AAAA", t);
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, "%s%s", t, "A"); /* signature one char longer */
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, "%.*s", (int)len - 2, t); /* shorter */
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, " %s", t);
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	snprintf(buf, sizeof buf, "%.*s=%s", (int)(d1 - t), t, d1); /* padding */
	assert_int_equal(verify(key, buf, &tok), DUX_EAUTH);
	free(t);
}

static void over_long_token_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	char *big = malloc(DUX_TOKEN_MAX + 100);
	assert_non_null(big);
	memset(big, 'A', DUX_TOKEN_MAX + 99);
	big[10] = '.';
	big[20] = '.';
	big[DUX_TOKEN_MAX + 99] = '\0';
	assert_int_equal(verify(key, big, &tok), DUX_EAUTH);
	free(big);
	/* a validly signed token whose claims make it longer than the limit */
	char pad[1800];
	memset(pad, 'p', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	char c[2048];
	snprintf(c, sizeof c,
		 "{\"iss\":\"duxos-test\",\"sub\":\"s\",\"scope\":\"user\",\"exp\":%lld,\"pad\":\"%s\"}",
		 (long long)now() + 600, pad);
	char *t = forge(good_header, c, key);
	assert_true(strlen(t) > DUX_TOKEN_MAX);
	assert_int_equal(verify(key, t, &tok), DUX_EAUTH);
	free(t);
}

static void wrong_issuer_refused(void **state)
{
	(void)state;
	dux_token_t tok;
	char *t = mint("s", DUX_SCOPE_USER, 600);
	assert_int_equal(dux_token_verify(key, "duxos-prod", t, now(), &tok), DUX_EAUTH);
	assert_int_equal(dux_token_verify(key, "duxos-tes", t, now(), &tok), DUX_EAUTH);
	assert_int_equal(dux_token_verify(key, "", t, now(), &tok), DUX_EAUTH);
	free(t);
}

static void scope_parse_and_format(void **state)
{
	(void)state;
	unsigned s = 99;
	assert_int_equal(dux_scope_parse("user provider", &s), 0);
	assert_int_equal(s, DUX_SCOPE_USER | DUX_SCOPE_PROVIDER);
	assert_int_equal(dux_scope_parse("  admin   service ", &s), 0);
	assert_int_equal(s, DUX_SCOPE_ADMIN | DUX_SCOPE_SERVICE);
	assert_int_equal(dux_scope_parse("user user", &s), 0);
	assert_int_equal(s, DUX_SCOPE_USER);
	assert_int_equal(dux_scope_parse("", &s), 0);
	assert_int_equal(s, 0);
	s = 99;
	static const char *const bad[] = {"root", "user root", "User", "users", "use",
					  "user,admin", "user\tadmin", NULL};
	for (const char *const *p = bad; *p; p++)
		assert_int_equal(dux_scope_parse(*p, &s), DUX_EINVAL);
	assert_int_equal(s, 99);

	char buf[64];
	assert_string_equal(dux_scope_format(0, buf, sizeof buf), "");
	assert_string_equal(dux_scope_format(DUX_SCOPE_ADMIN | DUX_SCOPE_USER, buf, sizeof buf),
			    "user admin");
	assert_string_equal(dux_scope_format(15, buf, sizeof buf), "user provider service admin");
	for (unsigned bits = 0; bits < 16; bits++) {
		unsigned back = 99;
		assert_int_equal(dux_scope_parse(dux_scope_format(bits, buf, sizeof buf), &back), 0);
		assert_int_equal(back, bits);
	}
}

/* The cache answers as dux_token_verify does: the same claims, expiry checked at every use,
 * refusals never remembered, and a token that lost its slot verified again. */
static void cache_answers_as_verify(void **state)
{
	(void)state;
	dux_token_cache_t *c = NULL;
	assert_int_equal(dux_token_cache_new(0, &c), DUX_EINVAL);
	assert_int_equal(dux_token_cache_new(1, &c), 0);
	char *a = mint("alice", DUX_SCOPE_USER, 100), *b = mint("bob", DUX_SCOPE_ADMIN, 100);
	dux_token_t t;
	int64_t t0 = now();
	assert_int_equal(dux_token_verify_cached(c, key, iss, a, t0, &t), 0);
	assert_int_equal(dux_token_cache_hits(c), 0);
	memset(&t, 0, sizeof t);
	assert_int_equal(dux_token_verify_cached(c, key, iss, a, t0, &t), 0);
	assert_int_equal(dux_token_cache_hits(c), 1);
	assert_string_equal(t.sub, "alice");
	assert_int_equal(t.scopes, DUX_SCOPE_USER);
	/* expired since it was remembered: refused, as without the cache */
	assert_int_equal(dux_token_verify_cached(c, key, iss, a, t0 + 161, &t), DUX_EAUTH);
	assert_int_equal(dux_token_cache_hits(c), 1);
	/* another key or a tampered copy is not the remembered text: verified, refused */
	assert_int_equal(dux_token_verify_cached(c, other, iss, b, t0, &t), DUX_EAUTH);
	char *bad = strdup(a);
	bad[strlen(bad) - 2] ^= 1;
	assert_int_equal(dux_token_verify_cached(c, key, iss, bad, t0, &t), DUX_EAUTH);
	/* one slot: b replaces a, and a is verified afresh */
	assert_int_equal(dux_token_verify_cached(c, key, iss, b, t0, &t), 0);
	assert_string_equal(t.sub, "bob");
	assert_int_equal(dux_token_verify_cached(c, key, iss, a, t0, &t), 0);
	assert_string_equal(t.sub, "alice");
	assert_int_equal(dux_token_cache_hits(c), 1);
	/* without a cache, the plain verification */
	assert_int_equal(dux_token_verify_cached(NULL, key, iss, a, t0, &t), 0);
	free(bad);
	free(a);
	free(b);
	c = dux_token_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mint_then_verify),
		cmocka_unit_test(header_says_eddsa_jwt),
		cmocka_unit_test(two_tokens_differ),
		cmocka_unit_test(expired_beyond_leeway_refused),
		cmocka_unit_test(mint_refuses_what_verify_would_refuse),
		cmocka_unit_test(mint_refuses_ttl_beyond_any_date),
		cmocka_unit_test(wrong_key_refused),
		cmocka_unit_test(tampered_payload_refused),
		cmocka_unit_test(alg_none_refused),
		cmocka_unit_test(claims_of_wrong_type_refused),
		cmocka_unit_test(exp_out_of_range_refused),
		cmocka_unit_test(malformed_structure_refused),
		cmocka_unit_test(over_long_token_refused),
		cmocka_unit_test(wrong_issuer_refused),
		cmocka_unit_test(scope_parse_and_format),
		cmocka_unit_test(cache_answers_as_verify),
	};
	return cmocka_run_group_tests_name("auth", tests, setup, teardown);
}
