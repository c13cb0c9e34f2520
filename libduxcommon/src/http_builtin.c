/* http_builtin.c - the routes every daemon has (/healthz, /readyz, /metrics, /openapi.yaml),
 * request metrics and the access log. */
#include "http_internal.h"
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void healthz(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", "ok");
	dux_reply_json(r, 200, j);
}

static void readyz(dux_req_t *r, void *app)
{
	const dux_http_opts_t *o = &r->h->opts;
	if (o->ready && !o->ready(app)) {
		dux_reply_err(r, DUX_EUNAVAIL, "the database");
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", "ready");
	dux_reply_json(r, 200, j);
}

static int64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%lld %lld", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

static void metrics(dux_req_t *r, void *app)
{
	(void)app;
	dux_http_t *h = r->h;
	dux_buf_t b;
	dux_buf_init(&b, 4u << 20);
	dux_metric_set(h->inflight_gauge, atomic_load(&h->inflight));
	dux_metric_set(h->rss_gauge, rss_bytes());
	int rc = dux_metrics_render(h->own_metrics, &b);
	if (rc == 0 && h->opts.metrics)
		rc = dux_metrics_render(h->opts.metrics, &b);
	if (rc < 0)
		dux_reply_problem(r, 500, "internal", "metrics could not be rendered");
	else
		dux_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8",
			       b.data ? b.data : "", b.len);
	dux_buf_free(&b);
}

static void openapi(dux_req_t *r, void *app)
{
	(void)app;
	const dux_http_opts_t *o = &r->h->opts;
	if (!o->openapi) {
		dux_reply_problem(r, 404, "not-found", "this daemon has no OpenAPI document");
		return;
	}
	dux_reply_text(r, 200, "application/yaml", o->openapi, o->openapi_len);
}

static const dux_route_t builtins[] = {
	{"GET", "/healthz", healthz, 0, 0},
	{"GET", "/readyz", readyz, 0, 0},
	{"GET", "/metrics", metrics, 0, 0},
	{"GET", "/openapi.yaml", openapi, 0, 0},
};

size_t http_builtin_count(void)
{
	return sizeof builtins / sizeof builtins[0];
}

const dux_route_t *http_builtin(size_t i)
{
	return &builtins[i];
}

int http_metrics_init(dux_http_t *h)
{
	h->own_metrics = dux_metrics_new();
	h->route_metrics = calloc((size_t)h->nroutes + 1, sizeof *h->route_metrics);
	if (!h->own_metrics || !h->route_metrics)
		return DUX_ENOMEM;
	for (int i = 0; i <= h->nroutes; i++) {
		const char *m = i < h->nroutes ? h->routes[i].route->method : "";
		const char *p = i < h->nroutes ? h->routes[i].route->pattern : "unmatched";
		char labels[256];
		for (int c = 1; c <= 5; c++) {
			snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",code=\"%dxx\"", m, p,
				 c);
			h->route_metrics[i].by_class[c - 1] = dux_metrics_counter(
				h->own_metrics, "dux_http_requests_total", "HTTP requests served", labels);
		}
		snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\"", m, p);
		h->route_metrics[i].latency = dux_metrics_histogram(
			h->own_metrics, "dux_http_request_duration_seconds",
			"time from request to response", labels);
	}
	h->inflight_gauge = dux_metrics_gauge(h->own_metrics, "dux_http_requests_in_flight",
					      "requests being handled", NULL);
	h->rss_gauge = dux_metrics_gauge(h->own_metrics, "process_resident_memory_bytes",
					 "resident set size", NULL);
	h->start_gauge = dux_metrics_gauge(h->own_metrics, "process_start_time_seconds",
					   "start time, unix seconds", NULL);
	dux_metric_set(h->start_gauge, dux_now_us() / 1000000);
	return h->rss_gauge ? 0 : DUX_ENOMEM;
}

void http_observe(dux_http_t *h, dux_req_t *r, bool aborted)
{
	int64_t dur = dux_now_us() - r->start_us;
	int idx = r->route >= 0 ? r->route : h->nroutes;
	int cls = r->status / 100;
	if (cls >= 1 && cls <= 5)
		dux_metric_add(h->route_metrics[idx].by_class[cls - 1], 1);
	dux_metric_observe_us(h->route_metrics[idx].latency, dur);
	if (!dux_log_enabled(DUX_LOG_INFO))
		return;
	cJSON *f = cJSON_CreateObject();
	if (!f)
		return;
	cJSON_AddStringToObject(f, "msg", aborted ? "request aborted" : "request");
	cJSON_AddStringToObject(f, "req", r->id);
	cJSON_AddStringToObject(f, "method", r->method);
	cJSON_AddStringToObject(f, "path", r->path);
	cJSON_AddNumberToObject(f, "status", r->status);
	cJSON_AddNumberToObject(f, "ms", (double)dur / 1000.0);
	cJSON_AddNumberToObject(f, "bytes_in", (double)r->body.len);
	if (r->has_token)
		cJSON_AddStringToObject(f, "sub", r->token.sub);
	dux_log_fields(DUX_LOG_INFO, f);
}
