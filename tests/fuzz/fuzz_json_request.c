/* fuzz_json_request.c - what a handler does with a request body: the strict object parser,
 * the field allow-list, and the typed getters on the members the registry reads (register and
 * heartbeat bodies) and on amounts. Every getter's documented contract is checked on success. */
#include "fuzz.h"
#include <arpa/inet.h>
#include <dux/address.h>
#include <dux/crypto.h>
#include <dux/json.h>
#include <dux/money.h>
#include <math.h>
#include <string.h>

static void check_verr(const dux_verr_t *e)
{
	FUZZ_CHECK(memchr(e->field, '\0', sizeof e->field) != NULL);
	FUZZ_CHECK(memchr(e->detail, '\0', sizeof e->detail) != NULL);
	FUZZ_CHECK(e->detail[0] != '\0');
}

/* Nesting of arrays and objects, the top object being 1. */
static int containers(const cJSON *j)
{
	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return 0;
	int max = 0;
	for (const cJSON *c = j->child; c; c = c->next) {
		int d = containers(c);
		if (d > max)
			max = d;
	}
	return max + 1;
}

/* A member counts as given unless it is absent or null. */
static bool given(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return v && !cJSON_IsNull(v);
}

/* A refusal names the field; a missing optional member is no error and writes nothing. */
static void check_refusal(const cJSON *o, const char *key, bool req, const dux_verr_t *e)
{
	check_verr(e);
	FUZZ_CHECK(strcmp(e->field, key) == 0);
	FUZZ_CHECK(given(o, key) || req);
}

static void str(const cJSON *o, const char *key, bool req, size_t min, size_t max,
		const char **ret)
{
	dux_verr_t e;
	const char *s = NULL;
	*ret = NULL;
	if (dux_json_str(o, key, req, min, max, &s, &e) < 0) {
		check_refusal(o, key, req, &e);
		return;
	}
	FUZZ_CHECK(given(o, key) == (s != NULL));
	if (!s)
		return;
	size_t n = strlen(s);
	FUZZ_CHECK(n >= min && n <= max);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20);
	*ret = s;
}

static void i64(const cJSON *o, const char *key, bool req, int64_t min, int64_t max)
{
	dux_verr_t e;
	int64_t v = 0;
	if (dux_json_i64(o, key, req, min, max, &v, &e) < 0) {
		check_refusal(o, key, req, &e);
		return;
	}
	if (given(o, key))
		FUZZ_CHECK(v >= min && v <= max && v >= -(INT64_C(1) << 53) &&
			   v <= (INT64_C(1) << 53) &&
			   (double)v == cJSON_GetObjectItemCaseSensitive(o, key)->valuedouble);
}

static void num(const cJSON *o, const char *key, double min, double max)
{
	dux_verr_t e;
	double d = NAN;
	if (dux_json_num(o, key, false, min, max, &d, &e) < 0) {
		check_refusal(o, key, false, &e);
		return;
	}
	FUZZ_CHECK(given(o, key) == !isnan(d));
	if (!isnan(d))
		FUZZ_CHECK(isfinite(d) && d >= min && d <= max);
}

static void money(const cJSON *o, const char *key)
{
	dux_verr_t e;
	int64_t v = -1;
	if (dux_json_money(o, key, false, &v, &e) < 0) {
		check_refusal(o, key, false, &e);
		return;
	}
	FUZZ_CHECK(given(o, key) == (v != -1));
	if (v == -1)
		return;
	FUZZ_CHECK(v >= 0);
	char text[DUX_MONEY_STRLEN];
	int64_t back = -1;
	dux_money_format(v, text);
	FUZZ_CHECK(dux_money_parse(text, strlen(text), false, &back) == 0 && back == v);
}

static const cJSON *array(const cJSON *o, const char *key, bool req, int max)
{
	dux_verr_t e;
	const cJSON *a = NULL;
	if (dux_json_array(o, key, req, max, &a, &e) < 0) {
		check_refusal(o, key, req, &e);
		return NULL;
	}
	FUZZ_CHECK(given(o, key) == (a != NULL));
	if (a)
		FUZZ_CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) <= max);
	return a;
}

static void only(const cJSON *o, const char *const *allowed)
{
	dux_verr_t e;
	if (dux_json_only(o, allowed, &e) == 0)
		return;
	check_verr(&e);
	for (const char *const *a = allowed; *a; a++)
		FUZZ_CHECK(strcmp(*a, e.field) != 0);
}

/* POST /nodes/register */
static void register_body(const cJSON *body)
{
	static const char *const fields[] = {"public_key", "wallet_address", "ip_address", "port",
					     "capabilities", "resources", NULL};
	static const char *const res_fields[] = {"cpu_cores", "memory_mb", "disk_mb", NULL};
	only(body, fields);
	const char *pk, *wallet, *ip;
	str(body, "public_key", true, 43, 43, &pk);
	if (pk) {
		uint8_t pub[DUX_ED25519_PUB_LEN];
		size_t n = 0;
		dux_key_t *key = NULL;
		if (dux_b64url_decode(pk, strlen(pk), pub, sizeof pub, &n) == 0 && n == sizeof pub &&
		    dux_key_from_public(pub, &key) == 0)
			dux_key_free(key);
	}
	str(body, "wallet_address", true, 1, 64, &wallet);
	if (wallet) {
		const char *why = NULL;
		if (dux_address_validate(wallet, DUX_NET_MAINNET, NULL, &why) < 0)
			FUZZ_CHECK(why != NULL);
	}
	str(body, "ip_address", true, 2, 45, &ip);
	if (ip) {
		unsigned char addr[16];
		int ok = inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1;
		(void)ok;
	}
	i64(body, "port", true, 1, 65535);
	const cJSON *caps = array(body, "capabilities", true, 16);
	for (const cJSON *c = caps ? caps->child : NULL; c; c = c->next)
		FUZZ_CHECK(!cJSON_IsString(c) || c->valuestring != NULL);
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(body, "resources");
	if (cJSON_IsObject(rs)) {
		only(rs, res_fields);
		i64(rs, "cpu_cores", false, 0, 4096);
		i64(rs, "memory_mb", false, 0, INT64_C(1) << 40);
		i64(rs, "disk_mb", false, 0, INT64_C(1) << 50);
	}
}

/* POST /nodes/{id}/heartbeat */
static void heartbeat_body(const cJSON *body)
{
	static const char *const fields[] = {"load_average", "available_memory", "available_cpu",
					     "uptime", NULL};
	only(body, fields);
	const cJSON *la = array(body, "load_average", true, 3);
	for (int i = 0; la && i < cJSON_GetArraySize(la); i++)
		FUZZ_CHECK(cJSON_GetArrayItem(la, i) != NULL);
	i64(body, "available_memory", true, 0, INT64_C(1) << 40);
	num(body, "available_cpu", 0, 65536);
	i64(body, "uptime", true, 0, INT64_C(1) << 40);
}

/* Amounts and the remaining getters, as the wallet and escrow bodies use them. */
static void other_fields(const cJSON *body)
{
	const char *s;
	dux_verr_t e;
	bool b;
	money(body, "amount");
	money(body, "fee");
	str(body, "to", false, 26, 35, &s);
	str(body, "memo", false, 0, 256, &s);
	i64(body, "limit", false, 1, 1000);
	i64(body, "seq", false, INT64_MIN, INT64_MAX);
	num(body, "score", -1e300, 1e300);
	if (dux_json_bool(body, "dry_run", false, &b, &e) < 0)
		check_refusal(body, "dry_run", false, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body = (cJSON *)(uintptr_t)1;
	dux_verr_t e;
	if (dux_json_parse_object((const char *)data, size, &body, &e) < 0) {
		FUZZ_CHECK(body == (cJSON *)(uintptr_t)1);
		check_verr(&e);
		FUZZ_CHECK(e.field[0] == '\0' || strstr(e.detail, "more than once"));
		return 0;
	}
	FUZZ_CHECK(cJSON_IsObject(body));
	FUZZ_CHECK(containers(body) <= DUX_JSON_MAX_DEPTH);
	for (const cJSON *a = body->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			FUZZ_CHECK(strcmp(a->string, b->string) != 0);
	register_body(body);
	heartbeat_body(body);
	other_fields(body);
	cJSON_Delete(body);
	return 0;
}
