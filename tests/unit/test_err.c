/* test_err.c - the names of the error codes. */
#include "unit.h"
#include <dux/err.h>

static void every_code_has_its_own_name(void **state)
{
	(void)state;
	const char *names[13];
	for (int code = 0; code >= DUX_ERETRY; code--) {
		const char *s = dux_strerror(code);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
		names[-code] = s;
		for (int j = 0; j < -code; j++)
			assert_string_not_equal(s, names[j]);
	}
	assert_string_equal(dux_strerror(DUX_OK), "success");
	assert_string_equal(dux_strerror(DUX_EAUTH), "authentication failed");
}

static void unknown_codes_are_named_unknown(void **state)
{
	(void)state;
	assert_string_equal(dux_strerror(DUX_ERETRY - 1), "unknown error");
	assert_string_equal(dux_strerror(1), "unknown error");
	assert_string_equal(dux_strerror(-1000), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_its_own_name),
		cmocka_unit_test(unknown_codes_are_named_unknown),
	};
	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
