/* test_metrics.c - counters, gauges and histograms in the Prometheus text format. */
#include "unit.h"
#include <dux/metrics.h>
#include <math.h>

/* Checks the exposition rules: HELP then TYPE exactly once per family, before its samples;
 * every sample belongs to the family just announced; a family never reappears later. */
static void check_exposition(const char *text)
{
	char fams[32][64];
	int nfam = 0;
	char cur[64] = "", type[64] = "";
	bool help_seen = false;
	const char *line = text;
	assert_true(text[0] != '\0');
	assert_true(text[strlen(text) - 1] == '\n');
	while (*line) {
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		char l[512];
		snprintf(l, sizeof l, "%.*s", (int)(nl - line), line);
		char name[64], rest[64];
		if (sscanf(l, "# HELP %63s", name) == 1) {
			for (int i = 0; i < nfam; i++)
				if (strcmp(fams[i], name) == 0)
					fail_msg("family %s announced twice", name);
			assert_true(nfam < 32);
			snprintf(fams[nfam++], 64, "%s", name);
			snprintf(cur, sizeof cur, "%s", name);
			help_seen = true;
			type[0] = '\0';
		} else if (sscanf(l, "# TYPE %63s %63s", name, rest) == 2) {
			assert_true(help_seen);
			assert_string_equal(name, cur);
			assert_string_equal(type, "");
			assert_true(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 ||
				    strcmp(rest, "histogram") == 0);
			snprintf(type, sizeof type, "%s", rest);
		} else {
			assert_true(l[0] != '#');
			assert_string_not_equal(type, "");
			size_t n = strcspn(l, "{ ");
			snprintf(name, sizeof name, "%.*s", (int)n, l);
			bool ok = strcmp(name, cur) == 0;
			if (strcmp(type, "histogram") == 0) {
				char b[80], s[80], c[80];
				snprintf(b, sizeof b, "%s_bucket", cur);
				snprintf(s, sizeof s, "%s_sum", cur);
				snprintf(c, sizeof c, "%s_count", cur);
				ok = !strcmp(name, b) || !strcmp(name, s) || !strcmp(name, c);
			}
			if (!ok)
				fail_msg("sample \"%s\" outside its family %s", l, cur);
			if (l[n] == '{')
				assert_non_null(strstr(l, "} "));
			const char *val = strrchr(l, ' ') + 1;
			char *end;
			strtod(val, &end);
			assert_true(end != val && *end == '\0');
		}
		line = nl + 1;
	}
}

static char *render(dux_metrics_t *m)
{
	dux_buf_t b;
	dux_buf_init(&b, 1 << 20);
	assert_int_equal(dux_metrics_render(m, &b), 0);
	return dux_buf_steal(&b);
}

static void counters_and_gauges(void **state)
{
	(void)state;
	dux_metrics_t *m = dux_metrics_new();
	assert_non_null(m);
	dux_metric_t *c = dux_metrics_counter(m, "dux_requests_total", "Requests served.", NULL);
	dux_metric_t *g = dux_metrics_gauge(m, "dux_pool_idle", "Idle connections.", NULL);
	assert_non_null(c);
	assert_non_null(g);
	dux_metric_add(c, 3);
	dux_metric_add(c, 4);
	dux_metric_set(g, 9);
	dux_metric_set(g, -2);
	char *t = render(m);
	check_exposition(t);
	assert_string_equal(t, "# HELP dux_requests_total Requests served.\n"
			       "# TYPE dux_requests_total counter\n"
			       "dux_requests_total 7\n"
			       "# HELP dux_pool_idle Idle connections.\n"
			       "# TYPE dux_pool_idle gauge\n"
			       "dux_pool_idle -2\n");
	free(t);
	dux_metrics_free(m);
}

static void series_of_one_name_are_grouped(void **state)
{
	(void)state;
	dux_metrics_t *m = dux_metrics_new();
	dux_metric_t *a = dux_metrics_counter(m, "http_total", "HTTP.", "code=\"2xx\"");
	dux_metric_t *g = dux_metrics_gauge(m, "up", "Up.", NULL);
	dux_metric_t *b = dux_metrics_counter(m, "http_total", "HTTP.", "code=\"5xx\"");
	dux_metric_t *c = dux_metrics_counter(m, "http_total", "HTTP.", "code=\"4xx\"");
	dux_metric_add(a, 1);
	dux_metric_add(b, 2);
	dux_metric_add(c, 3);
	dux_metric_set(g, 1);
	char *t = render(m);
	check_exposition(t);
	assert_string_equal(t, "# HELP http_total HTTP.\n"
			       "# TYPE http_total counter\n"
			       "http_total{code=\"2xx\"} 1\n"
			       "http_total{code=\"5xx\"} 2\n"
			       "http_total{code=\"4xx\"} 3\n"
			       "# HELP up Up.\n"
			       "# TYPE up gauge\n"
			       "up 1\n");
	free(t);
	dux_metrics_free(m);
}

/* Parses "<name>_bucket{...le="X"} N" lines in order; returns the number of buckets. */
static int buckets(const char *t, const char *name, double le[32], long long n[32])
{
	int k = 0;
	char prefix[80];
	snprintf(prefix, sizeof prefix, "%s_bucket{", name);
	for (const char *p = strstr(t, prefix); p; p = strstr(p + 1, prefix)) {
		const char *q = strstr(p, "le=\"");
		assert_non_null(q);
		q += 4;
		le[k] = strncmp(q, "+Inf", 4) == 0 ? INFINITY : strtod(q, NULL);
		n[k] = atoll(strstr(q, "} ") + 2);
		k++;
	}
	return k;
}

static void histogram_buckets_are_cumulative(void **state)
{
	(void)state;
	dux_metrics_t *m = dux_metrics_new();
	dux_metric_t *h = dux_metrics_histogram(m, "dux_latency_seconds", "Latency.",
						"route=\"/nodes\"");
	assert_non_null(h);
	static const int64_t obs[] = {100, 500, 501, 700, 2000000, 20000000, 9000};
	int64_t sum = 0;
	for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
		dux_metric_observe_us(h, obs[i]);
		sum += obs[i];
	}
	char *t = render(m);
	check_exposition(t);
	assert_non_null(strstr(t, "# TYPE dux_latency_seconds histogram\n"));
	double le[32];
	long long n[32];
	int k = buckets(t, "dux_latency_seconds", le, n);
	assert_int_equal(k, 15);
	for (int i = 1; i < k; i++) {
		assert_true(le[i] > le[i - 1]);
		assert_true(n[i] >= n[i - 1]);
	}
	assert_true(isinf(le[k - 1]));
	/* le is inclusive: 500 us lands in the 0.0005 bucket */
	assert_non_null(strstr(t, "dux_latency_seconds_bucket{route=\"/nodes\",le=\"0.0005\"} 2\n"));
	assert_non_null(strstr(t, "dux_latency_seconds_bucket{route=\"/nodes\",le=\"0.001\"} 4\n"));
	assert_non_null(strstr(t, "dux_latency_seconds_bucket{route=\"/nodes\",le=\"0.01\"} 5\n"));
	assert_non_null(strstr(t, "dux_latency_seconds_bucket{route=\"/nodes\",le=\"10\"} 6\n"));
	assert_non_null(strstr(t, "dux_latency_seconds_bucket{route=\"/nodes\",le=\"+Inf\"} 7\n"));
	assert_non_null(strstr(t, "dux_latency_seconds_count{route=\"/nodes\"} 7\n"));
	char want[128];
	snprintf(want, sizeof want, "dux_latency_seconds_sum{route=\"/nodes\"} %.6f\n",
		 (double)sum / 1e6);
	assert_non_null(strstr(t, want));
	assert_true(n[k - 1] == 7);
	free(t);
	dux_metrics_free(m);
}

static void histogram_without_labels(void **state)
{
	(void)state;
	dux_metrics_t *m = dux_metrics_new();
	dux_metric_t *h = dux_metrics_histogram(m, "d", "D.", NULL);
	dux_metric_observe_us(h, 1500000);
	char *t = render(m);
	check_exposition(t);
	assert_non_null(strstr(t, "d_bucket{le=\"1\"} 0\n"));
	assert_non_null(strstr(t, "d_bucket{le=\"2.5\"} 1\n"));
	assert_non_null(strstr(t, "d_bucket{le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(t, "d_sum 1.500000\nd_count 1\n"));
	free(t);
	dux_metrics_free(m);
}

static void two_histograms_of_one_name(void **state)
{
	(void)state;
	dux_metrics_t *m = dux_metrics_new();
	dux_metric_t *a = dux_metrics_histogram(m, "lat", "L.", "r=\"a\"");
	dux_metrics_counter(m, "other_total", "O.", NULL);
	dux_metric_t *b = dux_metrics_histogram(m, "lat", "L.", "r=\"b\"");
	dux_metric_observe_us(a, 1);
	dux_metric_observe_us(b, 1);
	dux_metric_observe_us(b, 1);
	char *t = render(m);
	check_exposition(t);
	assert_non_null(strstr(t, "lat_count{r=\"a\"} 1\n"));
	assert_non_null(strstr(t, "lat_count{r=\"b\"} 2\n"));
	free(t);
	dux_metrics_free(m);
}

static void render_respects_buffer_max(void **state)
{
	(void)state;
	dux_metrics_t *m = dux_metrics_new();
	dux_metrics_histogram(m, "lat", "L.", NULL);
	dux_buf_t b;
	dux_buf_init(&b, 64);
	assert_int_equal(dux_metrics_render(m, &b), DUX_ERANGE);
	assert_true(b.len <= 64);
	dux_buf_free(&b);
	dux_metrics_free(m);
}

static void null_metric_updates_are_ignored(void **state)
{
	(void)state;
	dux_metric_add(NULL, 1);
	dux_metric_set(NULL, 1);
	dux_metric_observe_us(NULL, 1);
	assert_null(dux_metrics_free(NULL));
	dux_metrics_t *m = dux_metrics_new();
	dux_buf_t b;
	dux_buf_init(&b, 100);
	assert_int_equal(dux_metrics_render(m, &b), 0); /* nothing registered: nothing written */
	assert_int_equal(b.len, 0);
	dux_buf_free(&b);
	assert_null(dux_metrics_free(m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counters_and_gauges),
		cmocka_unit_test(series_of_one_name_are_grouped),
		cmocka_unit_test(histogram_buckets_are_cumulative),
		cmocka_unit_test(histogram_without_labels),
		cmocka_unit_test(two_histograms_of_one_name),
		cmocka_unit_test(render_respects_buffer_max),
		cmocka_unit_test(null_metric_updates_are_ignored),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
