/* metrics.c - Prometheus text exposition of counters, gauges and histograms. */
#include <dux/metrics.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype_t;

static const int64_t bucket_us[] = {500,    1000,   2500,    5000,    10000,   25000,
				    50000,  100000, 250000,  500000,  1000000, 2500000,
				    5000000, 10000000};
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

struct dux_metric {
	char *name, *help, *labels;
	mtype_t type;
	atomic_llong value; /* counter/gauge; histogram: count */
	atomic_llong sum_us;
	atomic_llong buckets[NBUCKETS];
	struct dux_metric *next;
};

struct dux_metrics {
	struct dux_metric *head, *tail;
};

dux_metrics_t *dux_metrics_new(void)
{
	return calloc(1, sizeof(dux_metrics_t));
}

dux_metrics_t *dux_metrics_free(dux_metrics_t *m)
{
	if (!m)
		return NULL;
	for (struct dux_metric *x = m->head, *next; x; x = next) {
		next = x->next;
		free(x->name);
		free(x->help);
		free(x->labels);
		free(x);
	}
	free(m);
	return NULL;
}

static dux_metric_t *add(dux_metrics_t *m, mtype_t type, const char *name, const char *help,
			 const char *labels)
{
	dux_metric_t *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->type = type;
	x->name = strdup(name);
	x->help = strdup(help);
	x->labels = labels ? strdup(labels) : NULL;
	if (!x->name || !x->help || (labels && !x->labels)) {
		free(x->name);
		free(x->help);
		free(x->labels);
		free(x);
		return NULL;
	}
	/* Keep series of one name together: insert after the last of that name. */
	dux_metric_t *after = NULL;
	for (dux_metric_t *y = m->head; y; y = y->next)
		if (strcmp(y->name, name) == 0)
			after = y;
	if (after) {
		x->next = after->next;
		after->next = x;
		if (m->tail == after)
			m->tail = x;
	} else if (m->tail) {
		m->tail->next = x;
		m->tail = x;
	} else {
		m->head = m->tail = x;
	}
	return x;
}

dux_metric_t *dux_metrics_counter(dux_metrics_t *m, const char *name, const char *help,
				  const char *labels)
{
	return add(m, M_COUNTER, name, help, labels);
}

dux_metric_t *dux_metrics_gauge(dux_metrics_t *m, const char *name, const char *help,
				const char *labels)
{
	return add(m, M_GAUGE, name, help, labels);
}

dux_metric_t *dux_metrics_histogram(dux_metrics_t *m, const char *name, const char *help,
				    const char *labels)
{
	return add(m, M_HISTOGRAM, name, help, labels);
}

void dux_metric_add(dux_metric_t *x, int64_t v)
{
	if (x)
		atomic_fetch_add(&x->value, v);
}

void dux_metric_set(dux_metric_t *x, int64_t v)
{
	if (x)
		atomic_store(&x->value, v);
}

void dux_metric_observe_us(dux_metric_t *x, int64_t us)
{
	if (!x)
		return;
	atomic_fetch_add(&x->value, 1);
	atomic_fetch_add(&x->sum_us, us);
	for (size_t i = 0; i < NBUCKETS; i++) {
		if (us <= bucket_us[i]) {
			atomic_fetch_add(&x->buckets[i], 1);
			break;
		}
	}
}

static int render_histogram(const dux_metric_t *x, dux_buf_t *out)
{
	const char *l = x->labels ? x->labels : "";
	const char *sep = x->labels ? "," : "";
	long long cum = 0;
	int r = 0;
	for (size_t i = 0; i < NBUCKETS && r == 0; i++) {
		cum += atomic_load(&x->buckets[i]);
		r = dux_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %lld\n", x->name, l, sep,
				   (double)bucket_us[i] / 1e6, cum);
	}
	long long count = atomic_load(&x->value);
	if (r == 0)
		r = dux_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", x->name, l, sep, count);
	char lb[512] = "";
	if (x->labels)
		snprintf(lb, sizeof lb, "{%s}", x->labels);
	if (r == 0)
		r = dux_buf_printf(out, "%s_sum%s %.6f\n%s_count%s %lld\n", x->name, lb,
				   (double)atomic_load(&x->sum_us) / 1e6, x->name, lb, count);
	return r;
}

int dux_metrics_render(dux_metrics_t *m, dux_buf_t *out)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	const char *last = "";
	int r = 0;
	for (const dux_metric_t *x = m->head; x && r == 0; x = x->next) {
		if (strcmp(last, x->name) != 0) {
			r = dux_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help,
					   x->name, types[x->type]);
			last = x->name;
		}
		if (r < 0)
			break;
		if (x->type == M_HISTOGRAM)
			r = render_histogram(x, out);
		else if (x->labels)
			r = dux_buf_printf(out, "%s{%s} %lld\n", x->name, x->labels,
					   (long long)atomic_load(&x->value));
		else
			r = dux_buf_printf(out, "%s %lld\n", x->name,
					   (long long)atomic_load(&x->value));
	}
	return r;
}
