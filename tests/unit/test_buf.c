/* test_buf.c - bounded buffers: the maximum holds, failures change nothing, steal hands over. */
#include "unit.h"
#include <dux/buf.h>
#include <stdint.h>

static void append_and_terminate(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(dux_buf_append(&b, "abc", 3), 0);
	assert_int_equal(dux_buf_append(&b, "defXX", 3), 0);
	assert_int_equal(b.len, 6);
	assert_string_equal(b.data, "abcdef");
	assert_int_equal(dux_buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 6);
	dux_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

/* No limit (SIZE_MAX) is a limit like any other: the room for the NUL must not wrap. */
static void unlimited_buffer_holds_its_text(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, SIZE_MAX);
	assert_int_equal(dux_buf_printf(&b, "%s-%d", "a longer text than one byte", 42), 0);
	assert_string_equal(b.data, "a longer text than one byte-42");
	dux_buf_free(&b);
}

static void max_is_respected(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 10);
	assert_int_equal(dux_buf_append(&b, "0123456789", 10), 0); /* exactly max */
	assert_int_equal(b.len, 10);
	assert_true(b.cap <= 11);
	assert_int_equal(dux_buf_append(&b, "x", 1), DUX_ERANGE);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(dux_buf_append(&b, "", 0), 0);
	dux_buf_free(&b);

	dux_buf_init(&b, 10);
	assert_int_equal(dux_buf_append(&b, "abc", 3), 0);
	assert_int_equal(dux_buf_append(&b, "12345678", 8), DUX_ERANGE); /* 11 > 10 */
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	assert_int_equal(dux_buf_append(&b, "x", SIZE_MAX), DUX_ERANGE); /* no overflow */
	assert_int_equal(dux_buf_append(&b, "1234567", 7), 0);
	assert_string_equal(b.data, "abc1234567");
	dux_buf_free(&b);
}

static void first_append_beyond_max_leaves_nothing(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 4);
	assert_int_equal(dux_buf_append(&b, "hello", 5), DUX_ERANGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(dux_buf_printf(&b, "%s", "hello"), DUX_ERANGE);
	assert_null(b.data);
	dux_buf_free(&b);
}

static void grows_across_many_appends(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 100000);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(dux_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(strlen(b.data), 100000);
	assert_memory_equal(b.data + 99990, "0123456789", 10);
	assert_int_equal(dux_buf_append(&b, "x", 1), DUX_ERANGE);
	dux_buf_free(&b);
}

static void printf_appends_and_respects_max(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 16);
	assert_int_equal(dux_buf_printf(&b, "%s=%d", "n", 42), 0);
	assert_int_equal(dux_buf_printf(&b, ";%05.1f", 2.25), 0);
	assert_string_equal(b.data, "n=42;002.2");
	assert_int_equal(b.len, 10);
	assert_int_equal(dux_buf_printf(&b, "%s", "1234567"), DUX_ERANGE); /* 17 > 16 */
	assert_string_equal(b.data, "n=42;002.2");
	assert_int_equal(b.len, 10);
	assert_int_equal(dux_buf_printf(&b, "%s", "123456"), 0); /* exactly 16 */
	assert_string_equal(b.data, "n=42;002.2123456");
	assert_int_equal(dux_buf_printf(&b, "%s", ""), 0);
	dux_buf_free(&b);
}

static void printf_of_empty_string_gives_empty_text(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 16);
	assert_int_equal(dux_buf_printf(&b, "%s", ""), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	dux_buf_free(&b);
}

static void steal_hands_over_and_empties(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 64);
	assert_int_equal(dux_buf_printf(&b, "payload %d", 1), 0);
	char *p = dux_buf_steal(&b);
	assert_string_equal(p, "payload 1");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 64);
	free(p);
	/* the buffer is usable again, and stealing an empty one gives "" */
	assert_int_equal(dux_buf_append(&b, "x", 1), 0);
	dux_buf_free(&b);
	p = dux_buf_steal(&b);
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
}

static void reset_keeps_max_and_memory(void **state)
{
	(void)state;
	dux_buf_t b;
	dux_buf_init(&b, 8);
	assert_int_equal(dux_buf_append(&b, "12345678", 8), 0);
	dux_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(dux_buf_append(&b, "abcdefgh", 8), 0);
	assert_int_equal(dux_buf_append(&b, "i", 1), DUX_ERANGE);
	dux_buf_free(&b);
	dux_buf_reset(&b); /* on a freed buffer: harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_and_terminate),
		cmocka_unit_test(max_is_respected),
		cmocka_unit_test(unlimited_buffer_holds_its_text),
		cmocka_unit_test(first_append_beyond_max_leaves_nothing),
		cmocka_unit_test(grows_across_many_appends),
		cmocka_unit_test(printf_appends_and_respects_max),
		cmocka_unit_test(printf_of_empty_string_gives_empty_text),
		cmocka_unit_test(steal_hands_over_and_empties),
		cmocka_unit_test(reset_keeps_max_and_memory),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
