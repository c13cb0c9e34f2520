/* http.h - the HTTP/JSON server every daemon runs, on libmicrohttpd.
 *
 * Routes are a table: method, pattern with {params}, handler, flags. Every route is served both
 * as written ("/nodes/{id}") and under "/v1" ("/v1/nodes/{id}"). The server adds /healthz,
 * /readyz, /metrics and /openapi.yaml, a request id (X-Request-Id, taken from the caller when
 * well-formed), an access log line per request, body limits (413), content-type checks (415),
 * 404/405, bearer-token checks for routes that need a scope (401/403), and RFC 9457
 * problem+json errors. Each connection is served by its own thread, so handlers may block on
 * the database; each must reply exactly once. */
#ifndef DUX_HTTP_H
#define DUX_HTTP_H

#include <cjson/cJSON.h>
#include <dux/auth.h>
#include <dux/crypto.h>
#include <dux/err.h>
#include <dux/json.h>
#include <dux/metrics.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dux_http dux_http_t;
typedef struct dux_req dux_req_t;
typedef void (*dux_handler_fn)(dux_req_t *req, void *app);

enum {
	DUX_ROUTE_BODY = 1u << 0, /* expects a JSON body: 415 unless application/json */
	DUX_ROUTE_DB = 1u << 1,   /* needs the database: 503 + Retry-After while it is down */
};

typedef struct {
	const char *method;  /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern; /* "/nodes/{id}/heartbeat": literal segments and {name} segments */
	dux_handler_fn fn;
	unsigned flags;
	unsigned scopes; /* DUX_SCOPE_* any of which admits the caller; 0 = no token needed */
} dux_route_t;

typedef struct {
	const char *service; /* for logs and metrics; borrowed */
	const char *bind;    /* IPv4 or IPv6 literal */
	uint16_t port;       /* 0 = any free port (see dux_http_port) */
	size_t max_body;     /* bytes; larger bodies get 413 */
	unsigned conn_limit;   /* concurrent connections, each a thread */
	unsigned conn_timeout; /* seconds of inactivity */
	const dux_route_t *routes;
	size_t nroutes;
	void *app; /* passed to handlers */
	const char *openapi; /* document served at /openapi.yaml; borrowed; may be NULL */
	size_t openapi_len;
	bool (*ready)(void *app);  /* answers /readyz; NULL = always ready */
	bool (*usable)(void *app); /* false: DUX_ROUTE_DB routes answer 503; NULL = always */
	const dux_key_t *auth_key; /* verifies bearer tokens; borrowed; NULL = scoped routes 401 */
	const char *auth_issuer;
	dux_metrics_t *metrics; /* borrowed; rendered at /metrics with the server's own */
	/* requests a second per user or provider token subject, in bursts of rate_burst (429
	 * beyond); services and admins are not limited. 0 = no limit. */
	unsigned rate_limit, rate_burst;
} dux_http_opts_t;

/* Starts listening and serving. Borrowed pointers in opts must outlive the server. */
DUX_MUST_USE int dux_http_start(const dux_http_opts_t *opts, dux_http_t **ret);
uint16_t dux_http_port(const dux_http_t *h);
/* Stops accepting connections; requests in flight continue. */
void dux_http_quiesce(dux_http_t *h);
/* Number of requests being handled now. */
int dux_http_inflight(dux_http_t *h);
/* Stops the server (waits for the worker threads). Accepts NULL; returns NULL. */
dux_http_t *dux_http_stop(dux_http_t *h);

/* The reason phrase of an HTTP status ("Not Found"); "Error" for one without its own. */
const char *dux_http_reason(int status);

/* Request accessors: returned strings are borrowed until the handler returns. */
const char *dux_req_method(const dux_req_t *r);
const char *dux_req_path(const dux_req_t *r); /* as sent, without the query */
const char *dux_req_id(const dux_req_t *r);
const char *dux_req_param(const dux_req_t *r, const char *name); /* from the pattern */
const char *dux_req_query(const dux_req_t *r, const char *name); /* NULL when absent */
/* Calls fn for every query parameter in the order sent, repeated names included
 * (?tag=a&tag=b), with value "" for a parameter without '='; stops early when fn returns
 * false. name and value are borrowed for the call. Returns the number of calls made. */
typedef bool (*dux_query_fn)(const char *name, const char *value, void *ctx);
size_t dux_req_query_each(const dux_req_t *r, dux_query_fn fn, void *ctx);
const char *dux_req_header(const dux_req_t *r, const char *name);
const char *dux_req_body(const dux_req_t *r, size_t *ret_len); /* NUL-terminated */
/* The verified token of a scoped route; NULL on routes without scopes. */
const dux_token_t *dux_req_token(const dux_req_t *r);

/* Replies (exactly one per request). */
void dux_reply_json(dux_req_t *r, int status, cJSON *body); /* takes ownership of body */
void dux_reply_text(dux_req_t *r, int status, const char *content_type, const char *data,
		    size_t len); /* copies data */
/* problem+json; code is the stable slug ("invalid-field") of type urn:duxos:problem:<code>. */
void dux_reply_problem(dux_req_t *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* As dux_reply_problem, with the members of ext (an object; taken, may be NULL) added as
 * extension members ("index": 2). */
void dux_reply_problem_ext(dux_req_t *r, int status, const char *code, cJSON *ext,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 400 invalid-field with the field name as an extension member. */
void dux_reply_verr(dux_req_t *r, const dux_verr_t *e);
/* Maps a DUX_E* code to the usual status (503 + Retry-After for DUX_EUNAVAIL, ...). */
void dux_reply_err(dux_req_t *r, int err, const char *what);
/* Adds a response header; call before the reply. name and value are copied. */
void dux_reply_header(dux_req_t *r, const char *name, const char *value);

/* Parses the body as a JSON object, or replies 400 and returns NULL.
 * allowed: member names accepted (NULL-terminated), or NULL to accept any.
 * The caller frees the result with cJSON_Delete. */
cJSON *dux_req_json(dux_req_t *r, const char *const *allowed);
/* Admits a request signed by node node_id's key (dux/sign.h): the three headers, the node
 * named, the counter's canonical form, the signature, and the counter within window_s seconds
 * of this host's clock. Replies 401 and returns false when refused. The caller then checks
 * *ret_counter against the last counter it accepted from the node (replay). */
bool dux_req_signed(dux_req_t *r, const dux_key_t *key, const char *node_id, int64_t window_s,
		    int64_t *ret_counter);

/* Query helpers that reply 400 themselves and return false on bad input. */
bool dux_req_query_i64(dux_req_t *r, const char *name, int64_t def, int64_t min, int64_t max,
		       int64_t *ret);
bool dux_req_query_num(dux_req_t *r, const char *name, double def, double min, double max,
		       double *ret);

#endif
