/* http_internal.h - private structures of the HTTP server. */
#ifndef DUX_HTTP_INTERNAL_H
#define DUX_HTTP_INTERNAL_H

#include "http_limit.h"
#include "http_route.h"
#include <dux/auth.h>
#include <dux/buf.h>
#include <dux/http.h>
#include <microhttpd.h>
#include <stdatomic.h>

#define REQ_MAX_HEADERS 8
#define TOKEN_CACHE_SLOTS 1024

typedef struct {
	dux_metric_t *by_class[5]; /* 1xx..5xx */
	dux_metric_t *latency;
} route_metrics_t;

struct dux_http {
	dux_http_opts_t opts;
	struct MHD_Daemon *mhd;
	uint16_t port;
	bool quiesced;
	atomic_int inflight;
	route_compiled_t *routes; /* the daemon's, then the built-in ones */
	int nroutes;
	dux_metrics_t *own_metrics;
	route_metrics_t *route_metrics; /* nroutes + 1 (the last: unmatched) */
	dux_metric_t *inflight_gauge, *rss_gauge, *start_gauge;
	dux_token_cache_t *tokens; /* NULL without auth.public_key_file */
	limiter_t *limiter;        /* NULL: http.rate_limit 0 */
};

struct dux_req {
	dux_http_t *h;
	struct MHD_Connection *conn;
	int64_t start_us;
	char method[16];
	char *path;
	char id[65];
	dux_buf_t body;
	size_t body_seen; /* bytes uploaded, kept or not */
	bool too_large;
	bool queued; /* a response is queued: later calls only drain the upload */
	int route;
	route_match_t match;
	dux_token_t token;
	bool has_token;
	/* the reply */
	bool replied;
	int status;
	const char *content_type;
	char *resp_body;
	size_t resp_len;
	int nheaders;
	char *hdr_names[REQ_MAX_HEADERS], *hdr_values[REQ_MAX_HEADERS];
};

size_t http_builtin_count(void);
const dux_route_t *http_builtin(size_t i);
int http_metrics_init(dux_http_t *h);
/* Counts the finished request in the metrics and writes its access-log line. */
void http_observe(dux_http_t *h, dux_req_t *r, bool aborted);

#endif
