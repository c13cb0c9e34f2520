/* metrics.h - counters, gauges and histograms rendered in the Prometheus text format.
 *
 * Metrics are registered at start-up (not thread-safe) and updated from any thread
 * (atomic). Labels are fixed at registration: one series per registration. */
#ifndef DUX_METRICS_H
#define DUX_METRICS_H

#include <dux/buf.h>
#include <stdint.h>

typedef struct dux_metrics dux_metrics_t;
typedef struct dux_metric dux_metric_t;

dux_metrics_t *dux_metrics_new(void);
dux_metrics_t *dux_metrics_free(dux_metrics_t *m);

/* name and labels are copied; labels like `route="/nodes",code="2xx"` or NULL.
 * Returns NULL only on allocation failure (start-up: the daemon exits). */
dux_metric_t *dux_metrics_counter(dux_metrics_t *m, const char *name, const char *help,
				  const char *labels);
dux_metric_t *dux_metrics_gauge(dux_metrics_t *m, const char *name, const char *help,
				const char *labels);
/* Histogram of seconds with fixed buckets from 0.5 ms to 10 s. */
dux_metric_t *dux_metrics_histogram(dux_metrics_t *m, const char *name, const char *help,
				    const char *labels);

void dux_metric_add(dux_metric_t *x, int64_t v);
void dux_metric_set(dux_metric_t *x, int64_t v);
void dux_metric_observe_us(dux_metric_t *x, int64_t microseconds);

/* Appends every series, grouped by name with one HELP/TYPE each. */
DUX_MUST_USE int dux_metrics_render(dux_metrics_t *m, dux_buf_t *out);

#endif
