/* test_money.c - exact FLOP amounts: parsing, formatting, checked arithmetic, shares. */
#include "unit.h"
#include <dux/money.h>

static int64_t parse(const char *s, bool neg, int expect_rc)
{
	int64_t v = INT64_C(-4242);
	assert_int_equal(dux_money_parse(s, strlen(s), neg, &v), expect_rc);
	return v;
}

static void check_round_trip(int64_t units, const char *text)
{
	char buf[DUX_MONEY_STRLEN];
	assert_string_equal(dux_money_format(units, buf), text);
	int64_t back = 0;
	assert_int_equal(dux_money_parse(buf, strlen(buf), units < 0, &back), 0);
	assert_true(back == units);
}

static void parse_format_round_trips(void **state)
{
	(void)state;
	check_round_trip(0, "0");
	check_round_trip(1, "0.00000001");
	check_round_trip(10, "0.0000001");
	check_round_trip(DUX_UNITS_PER_FLOP, "1");
	check_round_trip(1050000000, "10.5");
	check_round_trip(123456789012345678, "1234567890.12345678");
	check_round_trip(INT64_MAX, "92233720368.54775807");
	check_round_trip(-1, "-0.00000001");
	check_round_trip(-1050000000, "-10.5");
	check_round_trip(INT64_MIN + 1, "-92233720368.54775807");
}

/* format writes INT64_MIN; parse (negatives allowed) must read it back. */
static void int64_min_round_trips(void **state)
{
	(void)state;
	check_round_trip(INT64_MIN, "-92233720368.54775808");
}

static void parse_canonical_values(void **state)
{
	(void)state;
	assert_true(parse("0", false, 0) == 0);
	assert_true(parse("0.00000001", false, 0) == 1);
	assert_true(parse("1.5", false, 0) == 150000000);
	assert_true(parse("1.50000000", false, 0) == 150000000);
	assert_true(parse("007", false, 0) == 700000000);
	assert_true(parse("92233720368.54775807", false, 0) == INT64_MAX);
	assert_true(parse("-2.25", true, 0) == -225000000);
}

static void parse_refuses_overflow(void **state)
{
	(void)state;
	assert_true(parse("92233720368.54775808", false, DUX_ERANGE) == -4242);
	assert_true(parse("92233720369", false, DUX_ERANGE) == -4242);
	assert_true(parse("99999999999999999999", false, DUX_ERANGE) == -4242);
	assert_true(parse("-92233720368.54775809", true, DUX_ERANGE) == -4242);
}

static void parse_refuses_nine_decimals(void **state)
{
	(void)state;
	assert_true(parse("0.000000001", false, DUX_ERANGE) == -4242);
	assert_true(parse("1.123456789", false, DUX_ERANGE) == -4242);
}

static void parse_refuses_malformed_text(void **state)
{
	(void)state;
	static const char *const bad[] = {"", ".", "1.", ".5", "+1", " 1", "1 ", "1e5", "0x10",
					  "1,5", "-", "--1", "1.2.3", "1..2", "abc", "1_000",
					  "١", "0.5e1", NULL};
	for (const char *const *p = bad; *p; p++) {
		int64_t v = -4242;
		int rc = dux_money_parse(*p, strlen(*p), true, &v);
		if (rc != DUX_EINVAL)
			fail_msg("\"%s\" gave %d, not DUX_EINVAL", *p, rc);
		assert_true(v == -4242);
	}
}

static void parse_refuses_negative_unless_allowed(void **state)
{
	(void)state;
	assert_true(parse("-1", false, DUX_EINVAL) == -4242);
	assert_true(parse("-0.00000001", false, DUX_EINVAL) == -4242);
	assert_true(parse("-1", true, 0) == -DUX_UNITS_PER_FLOP);
}

static void parse_reads_exactly_len_bytes(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(dux_money_parse("12.5xyz", 4, false, &v), 0);
	assert_true(v == 1250000000);
	assert_int_equal(dux_money_parse("1\0002", 3, false, &v), DUX_EINVAL);
	assert_int_equal(dux_money_parse("1", 0, false, &v), DUX_EINVAL);
}

static void add_sub_detect_overflow(void **state)
{
	(void)state;
	int64_t r = 7;
	assert_int_equal(dux_money_add(INT64_MAX - 1, 1, &r), 0);
	assert_true(r == INT64_MAX);
	r = 7;
	assert_int_equal(dux_money_add(INT64_MAX, 1, &r), DUX_ERANGE);
	assert_int_equal(dux_money_add(INT64_MIN, -1, &r), DUX_ERANGE);
	assert_true(r == 7);
	assert_int_equal(dux_money_sub(INT64_MIN + 1, 1, &r), 0);
	assert_true(r == INT64_MIN);
	r = 7;
	assert_int_equal(dux_money_sub(INT64_MIN, 1, &r), DUX_ERANGE);
	assert_int_equal(dux_money_sub(0, INT64_MIN, &r), DUX_ERANGE);
	assert_int_equal(dux_money_sub(INT64_MAX, -1, &r), DUX_ERANGE);
	assert_true(r == 7);
	assert_int_equal(dux_money_sub(5, 7, &r), 0);
	assert_true(r == -2);
}

static void share_bps_known_values(void **state)
{
	(void)state;
	int64_t s = -1;
	assert_int_equal(dux_money_share_bps(100, 500, &s), 0);
	assert_true(s == 5);
	assert_int_equal(dux_money_share_bps(19, 500, &s), 0);
	assert_true(s == 0);
	assert_int_equal(dux_money_share_bps(20, 500, &s), 0);
	assert_true(s == 1);
	assert_int_equal(dux_money_share_bps(INT64_MAX, 500, &s), 0);
	assert_true(s == INT64_C(461168601842738790));
	assert_int_equal(dux_money_share_bps(INT64_MAX, 9999, &s), 0);
	assert_true(s == INT64_C(9222449699651090329));
}

static void share_bps_zero_and_full(void **state)
{
	(void)state;
	int64_t s = -1;
	assert_int_equal(dux_money_share_bps(INT64_MAX, 0, &s), 0);
	assert_true(s == 0);
	assert_int_equal(dux_money_share_bps(INT64_MAX, 10000, &s), 0);
	assert_true(s == INT64_MAX);
	assert_int_equal(dux_money_share_bps(0, 10000, &s), 0);
	assert_true(s == 0);
}

static void share_bps_refuses_bad_input(void **state)
{
	(void)state;
	int64_t s = 99;
	assert_int_equal(dux_money_share_bps(100, -1, &s), DUX_EINVAL);
	assert_int_equal(dux_money_share_bps(100, 10001, &s), DUX_EINVAL);
	assert_int_equal(dux_money_share_bps(100, INT32_MAX, &s), DUX_EINVAL);
	assert_int_equal(dux_money_share_bps(-1, 500, &s), DUX_EINVAL);
	assert_int_equal(dux_money_share_bps(INT64_MIN, 500, &s), DUX_EINVAL);
	assert_true(s == 99);
}

/* community = floor(amount * bps / 10000) and provider = amount - community, for edge amounts
 * and rates: the parts never go negative and always add up to the amount. */
static void share_bps_parts_sum_to_amount(void **state)
{
	(void)state;
	static const int32_t rates[] = {0, 1, 3, 500, 501, 3333, 5000, 9999, 10000};
	int64_t amounts[64] = {0, 1, 2, 3, 19, 20, 21, 9999, 10000, 10001, 19999, 20000,
			       DUX_UNITS_PER_FLOP, DUX_UNITS_PER_FLOP - 1, INT64_MAX, INT64_MAX - 1,
			       INT64_MAX / 10000, INT64_MAX / 10000 + 1, INT64_MAX / 2,
			       INT64_C(4611686018427387904), INT64_C(922337203685477580)};
	size_t n = 21;
	uint64_t x = 0x9e3779b97f4a7c15u; /* xorshift: fixed pseudo-random amounts */
	while (n < sizeof amounts / sizeof amounts[0]) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		amounts[n] = (int64_t)(x >> (1 + n % 40));
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
			int64_t a = amounts[i], c = -1, p = -1;
			assert_int_equal(dux_money_share_bps(a, rates[k], &c), 0);
			assert_int_equal(dux_money_sub(a, c, &p), 0);
			assert_true(c >= 0 && p >= 0);
			int64_t sum = -1;
			assert_int_equal(dux_money_add(c, p, &sum), 0);
			assert_true(sum == a);
			__int128 exact = (__int128)a * rates[k];
			assert_true((__int128)c * 10000 <= exact);
			assert_true(((__int128)c + 1) * 10000 > exact);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_format_round_trips),
		cmocka_unit_test(int64_min_round_trips),
		cmocka_unit_test(parse_canonical_values),
		cmocka_unit_test(parse_refuses_overflow),
		cmocka_unit_test(parse_refuses_nine_decimals),
		cmocka_unit_test(parse_refuses_malformed_text),
		cmocka_unit_test(parse_refuses_negative_unless_allowed),
		cmocka_unit_test(parse_reads_exactly_len_bytes),
		cmocka_unit_test(add_sub_detect_overflow),
		cmocka_unit_test(share_bps_known_values),
		cmocka_unit_test(share_bps_zero_and_full),
		cmocka_unit_test(share_bps_refuses_bad_input),
		cmocka_unit_test(share_bps_parts_sum_to_amount),
	};
	return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
