/* test_text.c - UTF-8 and control characters of text from outside; URI escapes. */
#include "unit.h"
#include <dux/text.h>

static void well_formed_utf8_accepted(void **state)
{
	(void)state;
	assert_true(dux_text_ok("", false));
	assert_true(dux_text_ok("plain ASCII", false));
	assert_true(dux_text_ok("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", false)); /* 2, 3, 4 bytes */
	assert_true(dux_text_ok("\xf4\x8f\xbf\xbf", false));                          /* U+10FFFF */
	assert_true(dux_text_ok("two\nlines\tand a tab", true));
}

static void malformed_and_control_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\xff", "\xc3", "\xc3(", "\xc0\xaf",       /* invalid byte, truncated, overlong / */
		"\xe0\x80\xaf", "\xed\xa0\x80",             /* overlong, a surrogate */
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", /* above U+10FFFF, 5 bytes */
		"bell\a", "del\x7f", "c1 \xc2\x85",         /* C0, DEL, C1 (NEL) */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dux_text_ok(bad[i], true))
			fail_msg("accepted bad[%zu]", i);
	assert_false(dux_text_ok("two\nlines", false)); /* new lines only when multiline */
}

static void utf8_of_a_length(void **state)
{
	(void)state;
	assert_true(dux_utf8_ok("", 0));
	assert_true(dux_utf8_ok("a\r\x1b[0m\tcaf\xc3\xa9\n", 12)); /* controls are fine here */
	assert_false(dux_utf8_ok("a\0b", 3));                       /* a NUL inside */
	assert_false(dux_utf8_ok("\xff", 1));
	assert_false(dux_utf8_ok("caf\xc3", 4));  /* cut inside a sequence: the NUL bounds it */
	assert_false(dux_utf8_ok("\xed\xa0\x80", 3));
	assert_true(dux_utf8_ok("caf\xc3\xa9", 5));
}

static void sanitize_replaces_bytes_in_place(void **state)
{
	(void)state;
	char s[] = "ok \xff caf\xc3\xa9 \xc3( tab\t end\x7f";
	assert_string_equal(dux_text_sanitize(s), "ok ? caf\xc3\xa9 ?( tab? end?");
	assert_true(dux_text_ok(s, false));
}

static void uri_escape_keeps_printable_ascii(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(dux_uri_escape("/v1/nodes/abc?x=1", out, sizeof out), "/v1/nodes/abc?x=1");
	assert_string_equal(dux_uri_escape("/a b/\xff%", out, sizeof out), "/a%20b/%FF%25");
	/* truncated at a whole escape */
	assert_string_equal(dux_uri_escape("/ab\xff", out, 6), "/ab");
	assert_string_equal(dux_uri_escape("/ab\xff", out, 7), "/ab%FF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(well_formed_utf8_accepted),
		cmocka_unit_test(malformed_and_control_refused),
		cmocka_unit_test(utf8_of_a_length),
		cmocka_unit_test(sanitize_replaces_bytes_in_place),
		cmocka_unit_test(uri_escape_keeps_printable_ascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
