/* test_json.c - strict request-body reading: the object parser, the typed getters with their
 * field errors, amounts, and time stamps. */
#include "unit.h"
#include <dux/json.h>
#include <dux/money.h>
#include <time.h>

static cJSON *obj(const char *s)
{
	cJSON *j = NULL;
	dux_verr_t e;
	int rc = dux_json_parse_object(s, strlen(s), &j, &e);
	if (rc != 0)
		fail_msg("%s: refused: %s", s, e.detail);
	return j;
}

/* Expects refusal; returns the detail for further checks (static storage). */
static const char *refused(const char *s, size_t len)
{
	static dux_verr_t e;
	cJSON *j = (cJSON *)(uintptr_t)1;
	memset(&e, 0, sizeof e);
	assert_int_equal(dux_json_parse_object(s, len, &j, &e), DUX_EINVAL);
	assert_true(j == (cJSON *)(uintptr_t)1); /* untouched */
	assert_string_equal(e.field, "");
	assert_true(e.detail[0] != '\0');
	return e.detail;
}

/* levels nested containers, the innermost being inner: nest(2, "[]") is {"a":[]}.
 * Returns static storage, valid until the next call. */
static char *nest(int levels, const char *inner)
{
	static char s[6 * 5000 + 64];
	char *p = s;
	assert_true((size_t)levels * 6 + strlen(inner) < sizeof s);
	for (int i = 1; i < levels; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "%s", inner);
	for (int i = 1; i < levels; i++)
		*p++ = '}';
	*p = '\0';
	return s;
}

/* ---- dux_json_parse_object ---- */

static void parse_accepts_objects(void **state)
{
	(void)state;
	cJSON *j = obj("{}");
	assert_true(cJSON_IsObject(j));
	cJSON_Delete(j);
	j = obj(" \n{\"a\": [1, {\"b\": null}], \"c\": \"x\"}\r\n\t ");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "c"));
	cJSON_Delete(j);
}

static void parse_reads_only_len_bytes(void **state)
{
	(void)state;
	const char s[] = "{\"a\":1}{\"b\":2}";
	cJSON *j = NULL;
	dux_verr_t e;
	assert_int_equal(dux_json_parse_object(s, 7, &j, &e), 0);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "a"));
	cJSON_Delete(j);
}

static void parse_refuses_non_objects(void **state)
{
	(void)state;
	assert_non_null(strstr(refused("", 0), "empty"));
	static const char *const bad[] = {"[]", "[{}]", "1", "\"x\"", "true", "null", " ", NULL};
	for (const char *const *p = bad; *p; p++)
		refused(*p, strlen(*p));
	assert_non_null(strstr(refused("[1]", 3), "object"));
}

static void parse_refuses_trailing_garbage(void **state)
{
	(void)state;
	assert_non_null(strstr(refused("{} x", 4), "after"));
	refused("{}{}", 4);
	refused("{},", 3);
	refused("{}\f", 3);
}

static void parse_refuses_nul_bytes(void **state)
{
	(void)state;
	assert_non_null(strstr(refused("{\"a\":\"b\0c\"}", 11), "NUL"));
	assert_non_null(strstr(refused("{}\0", 3), "NUL"));
}

static void parse_refuses_malformed_json(void **state)
{
	(void)state;
	static const char *const bad[] = {"{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
					  "{'a':1}", "{\"a\":NaN}", "{\"a\":tru}",
					  "{\"a\":\"\\x\"}", "{\"a\":1 \"b\":2}", NULL};
	for (const char *const *p = bad; *p; p++)
		refused(*p, strlen(*p));
	assert_non_null(strstr(refused("{\"a\":}", 6), "malformed"));
}

static void parse_accepts_depth_16(void **state)
{
	(void)state;
	static const char *const inner[] = {"{}", "[]", NULL};
	for (const char *const *in = inner; *in; in++) {
		cJSON_Delete(obj(nest(16, *in)));
	}
}

/* Depth counts containers, as cJSON's own nesting limit does: a scalar is not a level. */
static void parse_accepts_depth_16_with_values_inside(void **state)
{
	(void)state;
	static const char *const inner[] = {"{\"k\":1}", "[1,2]", "{\"k\":\"v\"}", NULL};
	for (const char *const *in = inner; *in; in++) {
		cJSON_Delete(obj(nest(16, *in)));
	}
}

static void parse_refuses_depth_17(void **state)
{
	(void)state;
	static const char *const inner[] = {"{}", "[]", "{\"k\":1}", "[1]", NULL};
	for (const char *const *in = inner; *in; in++) {
		char *s = nest(17, *in);
		assert_non_null(strstr(refused(s, strlen(s)), "deeper"));
	}
	char *s = nest(5000, "{}");
	refused(s, strlen(s));
}

static void parse_refuses_duplicate_names(void **state)
{
	(void)state;
	const char s[] = "{\"amount\":\"1\",\"to\":\"x\",\"amount\":\"1000\"}";
	cJSON *j = NULL;
	dux_verr_t e;
	assert_int_equal(dux_json_parse_object(s, strlen(s), &j, &e), DUX_EINVAL);
	assert_string_equal(e.field, "amount");
	assert_non_null(strstr(e.detail, "more than once"));
	cJSON_Delete(obj("{\"a\":1,\"A\":2}")); /* names are case-sensitive */
}

/* The same rule one level down: {"resources":{"cpu_cores":1,"cpu_cores":4096}} must not reach
 * a handler, or the body means different things to different readers. */
static void parse_refuses_duplicate_names_in_nested_objects(void **state)
{
	(void)state;
	const char s[] = "{\"resources\":{\"cpu_cores\":1,\"cpu_cores\":4096}}";
	cJSON *j = NULL;
	dux_verr_t e;
	int rc = dux_json_parse_object(s, strlen(s), &j, &e);
	cJSON_Delete(j);
	assert_int_equal(rc, DUX_EINVAL);
	const char t[] = "{\"list\":[{\"k\":1,\"k\":2}]}";
	j = NULL;
	rc = dux_json_parse_object(t, strlen(t), &j, &e);
	cJSON_Delete(j);
	assert_int_equal(rc, DUX_EINVAL);
}

/* A body of many distinct members (here 256 KiB, about 30,000 names) must be checked for
 * duplicates in far less than a second: an outsider controls the member count. */
static void parse_many_members_is_fast(void **state)
{
	(void)state;
	size_t max = 256 * 1024;
	char *s = malloc(max + 32);
	assert_non_null(s);
	size_t o = 0;
	int n = 0;
	s[o++] = '{';
	while (o < max)
		o += (size_t)sprintf(s + o, "%s\"%x\":0", n ? "," : "", n), n++;
	s[o++] = '}';
	cJSON *j = NULL;
	dux_verr_t e;
	clock_t t0 = clock();
	assert_int_equal(dux_json_parse_object(s, o, &j, &e), 0);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_int_equal(cJSON_GetArraySize(j), n);
	cJSON_Delete(j);
	free(s);
	if (secs > 1.0)
		fail_msg("%d members took %.2f s of CPU", n, secs);
}

/* ---- dux_json_only ---- */

static void only_names_the_unknown_field(void **state)
{
	(void)state;
	static const char *const allowed[] = {"to", "amount", NULL};
	static const char *const none[] = {NULL};
	dux_verr_t e;
	cJSON *j = obj("{\"to\":\"x\",\"amount\":1}");
	assert_int_equal(dux_json_only(j, allowed, &e), 0);
	cJSON_Delete(j);
	j = obj("{\"to\":\"x\",\"fee\":0,\"amount\":1}");
	assert_int_equal(dux_json_only(j, allowed, &e), DUX_EINVAL);
	assert_string_equal(e.field, "fee");
	assert_non_null(strstr(e.detail, "not a known field"));
	assert_int_equal(dux_json_only(j, none, &e), DUX_EINVAL);
	cJSON_Delete(j);
	j = obj("{}");
	assert_int_equal(dux_json_only(j, none, &e), 0);
	cJSON_Delete(j);
}

/* ---- getters ---- */

static void required_missing_names_field(void **state)
{
	(void)state;
	cJSON *j = obj("{\"other\":1,\"nothing\":null}");
	dux_verr_t e;
	const char *s = "keep";
	int64_t i = 7;
	double d = 7;
	bool b = true;
	const cJSON *a = NULL;
	assert_int_equal(dux_json_str(j, "name", true, 0, 10, &s, &e), DUX_EINVAL);
	assert_string_equal(e.field, "name");
	assert_string_equal(e.detail, "is required");
	assert_int_equal(dux_json_i64(j, "nothing", true, 0, 10, &i, &e), DUX_EINVAL);
	assert_string_equal(e.field, "nothing");
	assert_string_equal(e.detail, "is required");
	assert_int_equal(dux_json_num(j, "n", true, 0, 10, &d, &e), DUX_EINVAL);
	assert_int_equal(dux_json_bool(j, "b", true, &b, &e), DUX_EINVAL);
	assert_int_equal(dux_json_array(j, "a", true, 3, &a, &e), DUX_EINVAL);
	assert_int_equal(dux_json_money(j, "amount", true, &i, &e), DUX_EINVAL);
	assert_string_equal(e.field, "amount");
	assert_string_equal(e.detail, "is required");
	/* optional: 0 and nothing written */
	assert_int_equal(dux_json_str(j, "name", false, 0, 10, &s, &e), 0);
	assert_int_equal(dux_json_i64(j, "nothing", false, 0, 10, &i, &e), 0);
	assert_int_equal(dux_json_num(j, "n", false, 0, 10, &d, &e), 0);
	assert_int_equal(dux_json_bool(j, "b", false, &b, &e), 0);
	assert_int_equal(dux_json_array(j, "a", false, 3, &a, &e), 0);
	assert_int_equal(dux_json_money(j, "amount", false, &i, &e), 0);
	assert_string_equal(s, "keep");
	assert_true(i == 7 && d == 7 && b && a == NULL);
	cJSON_Delete(j);
}

static void getters_refuse_wrong_types(void **state)
{
	(void)state;
	cJSON *j = obj("{\"s\":\"5\",\"n\":5,\"b\":true,\"a\":[],\"o\":{}}");
	dux_verr_t e;
	const char *s;
	int64_t i;
	double d;
	bool b;
	const cJSON *a;
	assert_int_equal(dux_json_str(j, "n", true, 0, 9, &s, &e), DUX_EINVAL);
	assert_string_equal(e.detail, "must be a string");
	assert_int_equal(dux_json_str(j, "o", true, 0, 9, &s, &e), DUX_EINVAL);
	assert_int_equal(dux_json_i64(j, "s", true, 0, 9, &i, &e), DUX_EINVAL);
	assert_string_equal(e.field, "s");
	assert_int_equal(dux_json_i64(j, "b", true, 0, 9, &i, &e), DUX_EINVAL);
	assert_int_equal(dux_json_num(j, "s", true, 0, 9, &d, &e), DUX_EINVAL);
	assert_int_equal(dux_json_num(j, "a", true, 0, 9, &d, &e), DUX_EINVAL);
	assert_int_equal(dux_json_bool(j, "n", true, &b, &e), DUX_EINVAL);
	assert_int_equal(dux_json_bool(j, "s", true, &b, &e), DUX_EINVAL);
	assert_int_equal(dux_json_array(j, "o", true, 9, &a, &e), DUX_EINVAL);
	assert_int_equal(dux_json_array(j, "s", true, 9, &a, &e), DUX_EINVAL);
	assert_string_equal(e.detail, "must be an array");
	cJSON_Delete(j);
}

static void str_checks_byte_length_bounds(void **state)
{
	(void)state;
	cJSON *j = obj("{\"e\":\"\",\"abc\":\"abc\",\"u\":\"\\u00e9t\\u00e9\"}");
	dux_verr_t e;
	const char *s = NULL;
	assert_int_equal(dux_json_str(j, "abc", true, 3, 3, &s, &e), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(dux_json_str(j, "abc", true, 4, 9, &s, &e), DUX_EINVAL);
	assert_string_equal(e.field, "abc");
	assert_non_null(strstr(e.detail, "4 to 9"));
	assert_int_equal(dux_json_str(j, "abc", true, 0, 2, &s, &e), DUX_EINVAL);
	assert_int_equal(dux_json_str(j, "e", true, 0, 2, &s, &e), 0);
	assert_string_equal(s, "");
	assert_int_equal(dux_json_str(j, "e", true, 1, 2, &s, &e), DUX_EINVAL);
	/* "été" is 5 bytes of UTF-8 */
	assert_int_equal(dux_json_str(j, "u", true, 5, 5, &s, &e), 0);
	assert_int_equal(dux_json_str(j, "u", true, 0, 4, &s, &e), DUX_EINVAL);
	cJSON_Delete(j);
}

static void str_refuses_control_characters(void **state)
{
	(void)state;
	static const char *const bodies[] = {"{\"s\":\"a\\nb\"}", "{\"s\":\"a\\tb\"}",
					     "{\"s\":\"\\u001f\"}", "{\"s\":\"x\\r\"}", NULL};
	for (const char *const *p = bodies; *p; p++) {
		cJSON *j = obj(*p);
		dux_verr_t e;
		const char *s = NULL;
		assert_int_equal(dux_json_str(j, "s", true, 0, 64, &s, &e), DUX_EINVAL);
		assert_non_null(strstr(e.detail, "control"));
		assert_null(s);
		cJSON_Delete(j);
	}
}

/* An escaped NUL must be refused, not silently cut the value short:
 * "F...\u0000anything" would otherwise read as "F...". */
static void str_refuses_escaped_nul(void **state)
{
	(void)state;
	cJSON *j = NULL;
	dux_verr_t e;
	const char body[] = "{\"s\":\"abc\\u0000def\"}";
	int rc = dux_json_parse_object(body, strlen(body), &j, &e);
	if (rc == 0) {
		const char *s = NULL;
		char got[64] = "";
		rc = dux_json_str(j, "s", true, 0, 64, &s, &e);
		if (rc == 0)
			snprintf(got, sizeof got, "%s", s);
		cJSON_Delete(j);
		if (rc == 0)
			fail_msg("\"abc\\u0000def\" was accepted as \"%s\"", got);
	}
	assert_int_equal(rc, DUX_EINVAL);
}

static void i64_accepts_integral_values_in_range(void **state)
{
	(void)state;
	cJSON *j = obj("{\"a\":42,\"b\":-7,\"c\":1e3,\"d\":9007199254740992,"
		       "\"e\":-9007199254740992,\"f\":0}");
	dux_verr_t e;
	int64_t v = 0;
	assert_int_equal(dux_json_i64(j, "a", true, 0, 100, &v, &e), 0);
	assert_true(v == 42);
	assert_int_equal(dux_json_i64(j, "b", true, -10, 0, &v, &e), 0);
	assert_true(v == -7);
	assert_int_equal(dux_json_i64(j, "c", true, 0, 1000, &v, &e), 0);
	assert_true(v == 1000);
	assert_int_equal(dux_json_i64(j, "d", true, INT64_MIN, INT64_MAX, &v, &e), 0);
	assert_true(v == INT64_C(9007199254740992));
	assert_int_equal(dux_json_i64(j, "e", true, INT64_MIN, INT64_MAX, &v, &e), 0);
	assert_true(v == -INT64_C(9007199254740992));
	assert_int_equal(dux_json_i64(j, "f", true, 0, 0, &v, &e), 0);
	assert_true(v == 0);
	cJSON_Delete(j);
}

static void i64_refuses_fractions_range_and_beyond_2_53(void **state)
{
	(void)state;
	cJSON *j = obj("{\"half\":1.5,\"tiny\":1e-300,\"big\":9007199254740994,\"huge\":1e300,"
		       "\"inf\":1e999,\"n\":101}");
	dux_verr_t e;
	int64_t v = 5;
	assert_int_equal(dux_json_i64(j, "half", true, 0, 10, &v, &e), DUX_EINVAL);
	assert_string_equal(e.detail, "must be an integer");
	assert_int_equal(dux_json_i64(j, "tiny", true, 0, 10, &v, &e), DUX_EINVAL);
	assert_int_equal(dux_json_i64(j, "big", true, INT64_MIN, INT64_MAX, &v, &e), DUX_EINVAL);
	assert_int_equal(dux_json_i64(j, "huge", true, INT64_MIN, INT64_MAX, &v, &e), DUX_EINVAL);
	assert_int_equal(dux_json_i64(j, "inf", true, INT64_MIN, INT64_MAX, &v, &e), DUX_EINVAL);
	assert_int_equal(dux_json_i64(j, "n", true, 0, 100, &v, &e), DUX_EINVAL);
	assert_string_equal(e.field, "n");
	assert_string_equal(e.detail, "must be between 0 and 100");
	assert_true(v == 5);
	cJSON_Delete(j);
}

static void num_checks_bounds(void **state)
{
	(void)state;
	cJSON *j = obj("{\"x\":0.75,\"lo\":-0.5,\"inf\":1e999}");
	dux_verr_t e;
	double d = -1;
	assert_int_equal(dux_json_num(j, "x", true, 0, 1, &d, &e), 0);
	assert_true(d == 0.75);
	assert_int_equal(dux_json_num(j, "x", true, 0.75, 0.75, &d, &e), 0);
	d = -1;
	assert_int_equal(dux_json_num(j, "x", true, 0, 0.5, &d, &e), DUX_EINVAL);
	assert_non_null(strstr(e.detail, "between"));
	assert_int_equal(dux_json_num(j, "lo", true, 0, 1, &d, &e), DUX_EINVAL);
	assert_int_equal(dux_json_num(j, "inf", true, 0, 1e308, &d, &e), DUX_EINVAL);
	assert_true(d == -1);
	cJSON_Delete(j);
}

static void bool_reads_true_and_false_only(void **state)
{
	(void)state;
	cJSON *j = obj("{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\"}");
	dux_verr_t e;
	bool b = false;
	assert_int_equal(dux_json_bool(j, "t", true, &b, &e), 0);
	assert_true(b);
	assert_int_equal(dux_json_bool(j, "f", true, &b, &e), 0);
	assert_false(b);
	b = true;
	assert_int_equal(dux_json_bool(j, "one", true, &b, &e), DUX_EINVAL);
	assert_string_equal(e.detail, "must be true or false");
	assert_int_equal(dux_json_bool(j, "s", true, &b, &e), DUX_EINVAL);
	assert_true(b);
	cJSON_Delete(j);
}

static void array_respects_max_length(void **state)
{
	(void)state;
	cJSON *j = obj("{\"three\":[1,2,3],\"none\":[]}");
	dux_verr_t e;
	const cJSON *a = NULL;
	assert_int_equal(dux_json_array(j, "three", true, 3, &a, &e), 0);
	assert_int_equal(cJSON_GetArraySize(a), 3);
	a = NULL;
	assert_int_equal(dux_json_array(j, "three", true, 2, &a, &e), DUX_EINVAL);
	assert_string_equal(e.detail, "must have at most 2 items");
	assert_null(a);
	assert_int_equal(dux_json_array(j, "none", true, 0, &a, &e), 0);
	assert_int_equal(cJSON_GetArraySize(a), 0);
	cJSON_Delete(j);
}

static void verr_set_truncates_long_names(void **state)
{
	(void)state;
	dux_verr_t e;
	char name[200];
	memset(name, 'k', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_int_equal(dux_verr_set(&e, name, "bad %d", 7), DUX_EINVAL);
	assert_int_equal(strlen(e.field), sizeof e.field - 1);
	assert_string_equal(e.detail, "bad 7");
	assert_int_equal(dux_verr_set(&e, NULL, "x"), DUX_EINVAL);
	assert_string_equal(e.field, "");
}

/* ---- dux_json_money ---- */

static int64_t money_of(const char *body, int expect_rc, const char *detail_part)
{
	cJSON *j = obj(body);
	dux_verr_t e;
	int64_t v = -4242;
	int rc = dux_json_money(j, "amount", true, &v, &e);
	cJSON_Delete(j);
	if (rc != expect_rc)
		fail_msg("%s: got %d (%s)", body, rc, rc ? e.detail : "accepted");
	if (rc) {
		assert_string_equal(e.field, "amount");
		assert_true(v == -4242);
		if (detail_part && !strstr(e.detail, detail_part))
			fail_msg("%s: detail \"%s\" lacks \"%s\"", body, e.detail, detail_part);
	}
	return v;
}

static void money_from_string_and_number(void **state)
{
	(void)state;
	assert_true(money_of("{\"amount\":\"10.5\"}", 0, NULL) == 1050000000);
	assert_true(money_of("{\"amount\":10.5}", 0, NULL) == 1050000000);
	assert_true(money_of("{\"amount\":0.1}", 0, NULL) == 10000000);
	assert_true(money_of("{\"amount\":0.3}", 0, NULL) == 30000000);
	assert_true(money_of("{\"amount\":1e-8}", 0, NULL) == 1);
	assert_true(money_of("{\"amount\":0.00000001}", 0, NULL) == 1);
	assert_true(money_of("{\"amount\":100}", 0, NULL) == 100 * DUX_UNITS_PER_FLOP);
	assert_true(money_of("{\"amount\":1.2e2}", 0, NULL) == 120 * DUX_UNITS_PER_FLOP);
	assert_true(money_of("{\"amount\":0}", 0, NULL) == 0);
	assert_true(money_of("{\"amount\":\"0\"}", 0, NULL) == 0);
	assert_true(money_of("{\"amount\":1234567.12345678}", 0, NULL) == 123456712345678);
}

static void money_many_digits_only_as_string(void **state)
{
	(void)state;
	money_of("{\"amount\":123456789.12345678}", DUX_EINVAL, "decimal string");
	assert_true(money_of("{\"amount\":\"123456789.12345678\"}", 0, NULL) ==
		    INT64_C(12345678912345678));
	assert_true(money_of("{\"amount\":\"92233720368.54775807\"}", 0, NULL) == INT64_MAX);
	money_of("{\"amount\":\"92233720368.54775808\"}", DUX_EINVAL, "too large");
	money_of("{\"amount\":1e20}", DUX_EINVAL, NULL);
	money_of("{\"amount\":1e300}", DUX_EINVAL, NULL);
	money_of("{\"amount\":1e-300}", DUX_EINVAL, NULL);
}

static void money_refuses_nine_decimals(void **state)
{
	(void)state;
	money_of("{\"amount\":\"0.000000001\"}", DUX_EINVAL, "8 decimals");
	money_of("{\"amount\":0.000000001}", DUX_EINVAL, "8 decimals");
	money_of("{\"amount\":1.5e-8}", DUX_EINVAL, "8 decimals");
	money_of("{\"amount\":\"1.123456789\"}", DUX_EINVAL, "8 decimals");
}

static void money_refuses_negative_and_other_types(void **state)
{
	(void)state;
	money_of("{\"amount\":-1}", DUX_EINVAL, "negative");
	money_of("{\"amount\":-0.5}", DUX_EINVAL, "negative");
	money_of("{\"amount\":\"-1\"}", DUX_EINVAL, NULL);
	money_of("{\"amount\":true}", DUX_EINVAL, "amount");
	money_of("{\"amount\":false}", DUX_EINVAL, NULL);
	money_of("{\"amount\":[1]}", DUX_EINVAL, NULL);
	money_of("{\"amount\":{}}", DUX_EINVAL, NULL);
	static const char *const bad[] = {"", ".", "1.", ".5", "+1", " 1", "1e5", "0x10", "1,5",
					  NULL};
	for (const char *const *p = bad; *p; p++) {
		char body[64];
		snprintf(body, sizeof body, "{\"amount\":\"%s\"}", *p);
		money_of(body, DUX_EINVAL, NULL);
	}
	char body[200];
	snprintf(body, sizeof body, "{\"amount\":\"%070d\"}", 1);
	money_of(body, DUX_EINVAL, "too long");
}

/* ---- time ---- */

static void time_format_known_epochs(void **state)
{
	(void)state;
	char t[40];
	dux_time_format(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00.000Z");
	dux_time_format(INT64_C(1700000000123456), t);
	assert_string_equal(t, "2023-11-14T22:13:20.123Z");
	dux_time_format(INT64_C(951782400999999), t); /* leap day 2000 */
	assert_string_equal(t, "2000-02-29T00:00:00.999Z");
	dux_time_format(-1, t);
	assert_string_equal(t, "1969-12-31T23:59:59.999Z");

	cJSON *o = cJSON_CreateObject();
	assert_non_null(dux_json_add_time(o, "at", 0));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "at")->valuestring,
			    "1970-01-01T00:00:00.000Z");
	cJSON_Delete(o);
}

static void now_is_current(void **state)
{
	(void)state;
	int64_t a = dux_now_us();
	int64_t t = (int64_t)time(NULL) * 1000000;
	assert_true(a > t - 2000000 && a < t + 2000000);
	assert_true(dux_now_us() >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_accepts_objects),
		cmocka_unit_test(parse_reads_only_len_bytes),
		cmocka_unit_test(parse_refuses_non_objects),
		cmocka_unit_test(parse_refuses_trailing_garbage),
		cmocka_unit_test(parse_refuses_nul_bytes),
		cmocka_unit_test(parse_refuses_malformed_json),
		cmocka_unit_test(parse_accepts_depth_16),
		cmocka_unit_test(parse_accepts_depth_16_with_values_inside),
		cmocka_unit_test(parse_refuses_depth_17),
		cmocka_unit_test(parse_refuses_duplicate_names),
		cmocka_unit_test(parse_refuses_duplicate_names_in_nested_objects),
		cmocka_unit_test(parse_many_members_is_fast),
		cmocka_unit_test(only_names_the_unknown_field),
		cmocka_unit_test(required_missing_names_field),
		cmocka_unit_test(getters_refuse_wrong_types),
		cmocka_unit_test(str_checks_byte_length_bounds),
		cmocka_unit_test(str_refuses_control_characters),
		cmocka_unit_test(str_refuses_escaped_nul),
		cmocka_unit_test(i64_accepts_integral_values_in_range),
		cmocka_unit_test(i64_refuses_fractions_range_and_beyond_2_53),
		cmocka_unit_test(num_checks_bounds),
		cmocka_unit_test(bool_reads_true_and_false_only),
		cmocka_unit_test(array_respects_max_length),
		cmocka_unit_test(verr_set_truncates_long_names),
		cmocka_unit_test(money_from_string_and_number),
		cmocka_unit_test(money_many_digits_only_as_string),
		cmocka_unit_test(money_refuses_nine_decimals),
		cmocka_unit_test(money_refuses_negative_and_other_types),
		cmocka_unit_test(time_format_known_epochs),
		cmocka_unit_test(now_is_current),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
