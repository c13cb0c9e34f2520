/* docker_unit: the parts of the docker runtime that need no engine: the logs framing fed in
 * every split (and capped), the stats objects (types, ranges, zero samples after the end), and
 * the strict reading of create and inspect replies and of error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker_int.h"

static size_t frame(unsigned char *p, int type, const char *payload, size_t n)
{
	p[0] = (unsigned char)type, p[1] = p[2] = p[3] = 0;
	p[4] = (unsigned char)(n >> 24), p[5] = (unsigned char)(n >> 16), p[6] = (unsigned char)(n >> 8),
	p[7] = (unsigned char)n;
	memcpy(p + 8, payload, n);
	return n + 8;
}

/* Three frames (stdout, stderr, an empty one, stdout) fed in pieces of every size from 1 to all. */
static void test_demux_splits(void **state)
{
	unsigned char s[128];
	size_t len = 0;
	(void)state;
	len += frame(s + len, 1, "hello ", 6);
	len += frame(s + len, 2, "oops\n", 5);
	len += frame(s + len, 1, "", 0);
	len += frame(s + len, 0, "world\n", 6);
	for (size_t step = 1; step <= len; step++) {
		struct dk_demux d;
		assert_int_equal(dk_demux_init(&d, 100), 0);
		for (size_t off = 0; off < len; off += step)
			assert_int_equal(dk_demux_feed(&d, (const char *)s + off, off + step <= len ? step : len - off), 0);
		assert_string_equal(d.out.buf, "hello world\n");
		assert_string_equal(d.err.buf, "oops\n");
		assert_false(dk_demux_exceeded(&d));
		assert_false(dk_demux_partial(&d));
		dk_demux_free(&d);
	}
}

static void test_demux_cap_and_errors(void **state)
{
	unsigned char s[64];
	struct dk_demux d;
	size_t len;
	(void)state;
	assert_int_equal(dk_demux_init(&d, 4), 0);
	len = frame(s, 1, "abcdef", 6);
	assert_int_equal(dk_demux_feed(&d, (const char *)s, len), 0);
	assert_int_equal(d.out.len, 4);
	assert_string_equal(d.out.buf, "abcd");
	assert_true(d.out.truncated && dk_demux_exceeded(&d));
	/* Exactly the cap is not past it. */
	dk_demux_free(&d);
	assert_int_equal(dk_demux_init(&d, 6), 0);
	assert_int_equal(dk_demux_feed(&d, (const char *)s, len), 0);
	assert_false(dk_demux_exceeded(&d));
	/* A header that is no frame's: stream type 3, or a non-zero padding byte. */
	s[0] = 3;
	assert_int_equal(dk_demux_feed(&d, (const char *)s, 8), DUX_EPROTO);
	dk_demux_free(&d);
	assert_int_equal(dk_demux_init(&d, 6), 0);
	frame(s, 1, "x", 1);
	s[2] = 1;
	assert_int_equal(dk_demux_feed(&d, (const char *)s, 9), DUX_EPROTO);
	dk_demux_free(&d);
	/* Cut inside a payload, or inside a header. */
	assert_int_equal(dk_demux_init(&d, 6), 0);
	len = frame(s, 1, "abc", 3);
	assert_int_equal(dk_demux_feed(&d, (const char *)s, len - 1), 0);
	assert_true(dk_demux_partial(&d));
	assert_int_equal(dk_demux_feed(&d, (const char *)s + len - 1, 1), 0);
	assert_false(dk_demux_partial(&d));
	assert_int_equal(dk_demux_feed(&d, (const char *)s, 3), 0);
	assert_true(dk_demux_partial(&d));
	dk_demux_free(&d);
	/* A cap of zero keeps nothing and says so. */
	assert_int_equal(dk_demux_init(&d, 0), 0);
	assert_int_equal(dk_demux_feed(&d, (const char *)s, len), 0);
	assert_int_equal(d.out.len, 0);
	assert_true(dk_demux_exceeded(&d));
	dk_demux_free(&d);
}

static void test_stats(void **state)
{
	static const char two[] =
		"{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":5000000,\"usage_in_usermode\":3000000,"
		"\"usage_in_kernelmode\":2000000}},\"memory_stats\":{\"usage\":1000,\"max_usage\":9000},"
		"\"pids_stats\":{\"current\":2}}\n"
		"{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":7000000}},\"memory_stats\":{\"usage\":12000},"
		"\"pids_stats\":{\"current\":3,\"limit\":8}}\r\n\n"
		/* what an engine sends once the container stopped: zeros, no memory figures */
		"{\"read\":\"0001-01-01T00:00:00Z\",\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":0}},"
		"\"memory_stats\":{},\"pids_stats\":{}}\n";
	struct dk_stats s;
	(void)state;
	dk_stats_init(&s, 10);
	for (size_t i = 0; i < sizeof(two) - 1; i += 7)
		assert_int_equal(dk_stats_feed(&s, two + i, sizeof(two) - 1 - i < 7 ? sizeof(two) - 1 - i : 7), 0);
	assert_int_equal(s.samples, 3);
	assert_int_equal(s.cpu_total_ns, 7000000);
	assert_false(s.have_split); /* the latest real sample had no split */
	assert_int_equal(s.peak_memory, 12000);
	assert_false(s.pids_hit);
	assert_int_equal(dk_stats_object(&s, "{\"pids_stats\":{\"current\":10}}", 29), 0);
	assert_true(s.pids_hit);
	dk_stats_free(&s);
}

static void test_stats_malformed(void **state)
{
	static const char *const bad[] = {
		"[]", "5", "{\"cpu_stats\":5}", "{\"cpu_stats\":{\"cpu_usage\":[]}}",
		"{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":\"1\"}}}",
		"{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":-1}}}",
		"{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":1.5}}}",
		"{\"memory_stats\":{\"max_usage\":1e300}}", "{\"pids_stats\":{\"current\":true}}", "{\"a\":",
	};
	struct dk_stats s;
	char *big;
	(void)state;
	dk_stats_init(&s, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dk_stats_object(&s, bad[i], strlen(bad[i])) != DUX_EPROTO)
			fail_msg("accepted stats %s", bad[i]);
	assert_int_equal(dk_stats_feed(&s, "{\"cpu_stats\":5}\n", 16), DUX_EPROTO);
	dk_stats_free(&s);
	/* No end of line within the maximum: not a stats stream. */
	dk_stats_init(&s, 0);
	big = malloc(DK_STATS_LINE_MAX + 2);
	memset(big, ' ', DK_STATS_LINE_MAX + 1);
	assert_int_equal(dk_stats_feed(&s, big, DK_STATS_LINE_MAX + 1), DUX_EPROTO);
	free(big);
	dk_stats_free(&s);
}

static void test_create_reply(void **state)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char *const bad[] = {
		"", "[]", "{}", "{\"Id\":12}", "{\"Id\":\"0123\"}",
		"{\"Id\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}",
		"{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Warnings\":\"x\"}",
		"{\"Id\":\"../../etc/passwd/0123456789abcdef0123456789abcdef0123456789abcd\"}",
	};
	char text[160], got[DK_ID_LEN + 1] = "unchanged";
	(void)state;
	snprintf(text, sizeof(text), "{\"Id\":\"%s\",\"Warnings\":null}", id);
	assert_int_equal(dk_json_create_reply(text, strlen(text), got), 0);
	assert_string_equal(got, id);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(got, sizeof(got), "unchanged");
		if (dk_json_create_reply(bad[i], strlen(bad[i]), got) != DUX_EPROTO)
			fail_msg("accepted create reply %s", bad[i]);
		assert_string_equal(got, "unchanged");
	}
	assert_int_equal(dk_json_create_reply(NULL, 0, got), DUX_EPROTO);
}

static void test_state(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"State\":[]}", "{\"State\":{\"Running\":false,\"OOMKilled\":false}}",
		"{\"State\":{\"Running\":\"no\",\"OOMKilled\":false,\"ExitCode\":0}}",
		"{\"State\":{\"Running\":false,\"OOMKilled\":false,\"ExitCode\":256}}",
		"{\"State\":{\"Running\":false,\"OOMKilled\":false,\"ExitCode\":-1}}",
		"{\"State\":{\"Running\":false,\"OOMKilled\":false,\"ExitCode\":1.5}}",
	};
	static const char good[] = "{\"State\":{\"Status\":\"exited\",\"Running\":false,\"OOMKilled\":true,\"ExitCode\":137}}";
	struct dk_state st = { .exit_code = 42 };
	(void)state;
	assert_int_equal(dk_json_state(good, strlen(good), &st), 0);
	assert_false(st.running);
	assert_true(st.oom_killed);
	assert_int_equal(st.exit_code, 137);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dk_json_state(bad[i], strlen(bad[i]), &st) != DUX_EPROTO)
			fail_msg("accepted state %s", bad[i]);
}

static void test_message(void **state)
{
	static const char msg[] = "{\"message\":\"No such image: a\\u0001b\\nc\"}";
	char out[16];
	(void)state;
	dk_json_message(msg, strlen(msg), out, sizeof(out));
	assert_string_equal(out, "No such image: ");
	dk_json_message(msg + 12, 10, out, sizeof(out));
	assert_string_equal(out, "");
	{
		char wide[64];
		dk_json_message(msg, strlen(msg), wide, sizeof(wide));
		assert_string_equal(wide, "No such image: a?b?c");
		dk_json_message("{\"message\":5}", 13, wide, sizeof(wide));
		assert_string_equal(wide, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demux_splits),
		cmocka_unit_test(test_demux_cap_and_errors),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_malformed),
		cmocka_unit_test(test_create_reply),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
