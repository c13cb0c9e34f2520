/* test_log.c - JSON lines on stderr: levels, fields, escaping, one line per call. */
#include "unit.h"
#include <cjson/cJSON.h>
#include <dux/json.h>
#include <dux/log.h>

/* Splits captured text into lines, parses each as a JSON object (caller frees). */
static int lines_of(const char *text, cJSON *out[16])
{
	int n = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* every line ends with a newline */
		assert_true(n < 16);
		out[n] = cJSON_ParseWithLength(p, (size_t)(nl - p));
		if (!out[n])
			fail_msg("not JSON: %.*s", (int)(nl - p), p);
		assert_true(cJSON_IsObject(out[n]));
		n++;
		p = nl + 1;
	}
	return n;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int setup(void **state)
{
	(void)state;
	dux_log_init("duxos-test", DUX_LOG_DEBUG);
	return 0;
}

static void level_parse(void **state)
{
	(void)state;
	dux_log_level_t l = DUX_LOG_ERROR;
	assert_int_equal(dux_log_level_parse("debug", &l), 0);
	assert_int_equal(l, DUX_LOG_DEBUG);
	assert_int_equal(dux_log_level_parse("info", &l), 0);
	assert_int_equal(l, DUX_LOG_INFO);
	assert_int_equal(dux_log_level_parse("WARN", &l), 0);
	assert_int_equal(l, DUX_LOG_WARN);
	assert_int_equal(dux_log_level_parse("error", &l), 0);
	assert_int_equal(l, DUX_LOG_ERROR);
	assert_int_equal(dux_log_level_parse("warning", &l), DUX_EINVAL);
	assert_int_equal(dux_log_level_parse("", &l), DUX_EINVAL);
	assert_int_equal(dux_log_level_parse("trace", &l), DUX_EINVAL);
	assert_int_equal(l, DUX_LOG_ERROR);
}

static void one_json_line_per_call(void **state)
{
	(void)state;
	unit_capture_t c;
	int64_t t0 = dux_now_us();
	unit_capture_start(&c);
	dux_log_write(DUX_LOG_INFO, "req-123", "node %s registered", "abc");
	dux_warn("pool %d of %d busy", 3, 4);
	char *out = unit_capture_end(&c);
	cJSON *l[16];
	assert_int_equal(lines_of(out, l), 2);
	assert_string_equal(str(l[0], "level"), "info");
	assert_string_equal(str(l[0], "svc"), "duxos-test");
	assert_string_equal(str(l[0], "msg"), "node abc registered");
	assert_string_equal(str(l[0], "req"), "req-123");
	const char *ts = str(l[0], "ts");
	if (!ts) { /* cmocka's failures return as far as the compiler knows */
		fail_msg("the first line has no ts");
		return;
	}
	assert_int_equal(strlen(ts), 24); /* 2024-01-15T12:30:00.123Z */
	assert_true(ts[10] == 'T' && ts[23] == 'Z');
	char t[40];
	dux_time_format(t0, t);
	assert_memory_equal(ts, t, 10); /* same day as the clock (unless at midnight) */
	assert_string_equal(str(l[1], "level"), "warn");
	assert_string_equal(str(l[1], "msg"), "pool 3 of 4 busy");
	assert_null(cJSON_GetObjectItemCaseSensitive(l[1], "req"));
	cJSON_Delete(l[0]);
	cJSON_Delete(l[1]);
	free(out);
}

static void quotes_and_newlines_stay_on_one_line(void **state)
{
	(void)state;
	const char *nasty = "say \"hi\"\nsecond line\r\n\ttab \\ back \x01 ctl }{";
	unit_capture_t c;
	unit_capture_start(&c);
	dux_log_write(DUX_LOG_ERROR, "r\"1\n", "%s", nasty);
	char *out = unit_capture_end(&c);
	cJSON *l[16];
	assert_int_equal(lines_of(out, l), 1);
	assert_string_equal(str(l[0], "msg"), nasty);
	assert_string_equal(str(l[0], "req"), "r\"1\n");
	assert_string_equal(str(l[0], "level"), "error");
	cJSON_Delete(l[0]);
	free(out);
}

static void lines_below_the_level_are_not_written(void **state)
{
	(void)state;
	dux_log_set_level(DUX_LOG_WARN);
	assert_false(dux_log_enabled(DUX_LOG_INFO));
	assert_true(dux_log_enabled(DUX_LOG_WARN));
	assert_true(dux_log_enabled(DUX_LOG_ERROR));
	int evaluated = 0;
	unit_capture_t c;
	unit_capture_start(&c);
	dux_debug("debug %d", ++evaluated);
	dux_info("info %d", ++evaluated);
	dux_warn("warn");
	dux_error("error");
	char *out = unit_capture_end(&c);
	dux_log_set_level(DUX_LOG_DEBUG);
	assert_int_equal(evaluated, 0); /* arguments not even evaluated */
	cJSON *l[16];
	assert_int_equal(lines_of(out, l), 2);
	assert_string_equal(str(l[0], "level"), "warn");
	assert_string_equal(str(l[1], "level"), "error");
	cJSON_Delete(l[0]);
	cJSON_Delete(l[1]);
	free(out);
}

static void fields_are_merged_into_the_line(void **state)
{
	(void)state;
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "msg", "request");
	cJSON_AddNumberToObject(f, "status", 201);
	cJSON_AddStringToObject(f, "path", "/v1/nodes");
	unit_capture_t c;
	unit_capture_start(&c);
	dux_log_fields(DUX_LOG_INFO, f); /* takes ownership */
	dux_log_fields(DUX_LOG_INFO, NULL);
	char *out = unit_capture_end(&c);
	cJSON *l[16];
	assert_int_equal(lines_of(out, l), 1);
	assert_string_equal(str(l[0], "msg"), "request");
	assert_string_equal(str(l[0], "path"), "/v1/nodes");
	assert_string_equal(str(l[0], "svc"), "duxos-test");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(l[0], "status")->valueint, 201);
	cJSON_Delete(l[0]);
	free(out);
}

static void long_message_is_one_line(void **state)
{
	(void)state;
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	unit_capture_t c;
	unit_capture_start(&c);
	dux_log_write(DUX_LOG_INFO, NULL, "%s", big);
	char *out = unit_capture_end(&c);
	cJSON *l[16];
	assert_int_equal(lines_of(out, l), 1);
	assert_true(strlen(str(l[0], "msg")) > 1000);
	cJSON_Delete(l[0]);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(level_parse),
		cmocka_unit_test(one_json_line_per_call),
		cmocka_unit_test(quotes_and_newlines_stay_on_one_line),
		cmocka_unit_test(lines_below_the_level_are_not_written),
		cmocka_unit_test(fields_are_merged_into_the_line),
		cmocka_unit_test(long_message_is_one_line),
	};
	return cmocka_run_group_tests_name("log", tests, setup, NULL);
}
