/* http.c - the libmicrohttpd server: request lifecycle, dispatch, built-in routes. */
#include "http_internal.h"
#include <arpa/inet.h>
#include <dux/log.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HTTP_DRAIN_MAX(h) (16 * (h)->opts.max_body)

static bool header_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static dux_req_t *req_new(dux_http_t *h, struct MHD_Connection *c, const char *url,
			  const char *method)
{
	dux_req_t *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->h = h;
	r->conn = c;
	r->start_us = dux_now_us();
	r->route = -1;
	snprintf(r->method, sizeof r->method, "%s", method);
	r->path = strdup(url);
	dux_buf_init(&r->body, h->opts.max_body);
	const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && header_ok(rid, 64))
		snprintf(r->id, sizeof r->id, "%s", rid);
	else
		dux_random_id(r->id);
	if (!r->path) {
		free(r);
		return NULL;
	}
	return r;
}

static void req_free(dux_req_t *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nheaders; i++) {
		free(r->hdr_names[i]);
		free(r->hdr_values[i]);
	}
	free(r->resp_body);
	free(r->path);
	dux_buf_free(&r->body);
	free(r);
}

static bool json_content_type(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (!ct)
		return false;
	size_t n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	       (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* A user's or provider's requests beyond http.rate_limit get 429; daemons calling each other
 * (service) and operators (admin) are not limited. */
static bool within_rate(dux_req_t *r)
{
	dux_http_t *h = r->h;
	if (!h->limiter || (r->token.scopes & (DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN)))
		return true;
	int wait = limiter_take(h->limiter, r->token.sub, dux_now_us());
	if (wait == 0)
		return true;
	char after[16];
	snprintf(after, sizeof after, "%d", wait);
	dux_reply_header(r, "Retry-After", after);
	dux_reply_problem(r, 429, "rate-limited",
			  "more than %u requests a second (bursts of %u) from one caller; try again"
			  " in %d s",
			  h->opts.rate_limit, h->opts.rate_burst ? h->opts.rate_burst : h->opts.rate_limit,
			  wait);
	return false;
}

static bool authorize(dux_req_t *r, unsigned scopes)
{
	dux_http_t *h = r->h;
	const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0) {
		dux_reply_header(r, "WWW-Authenticate", "Bearer");
		dux_reply_problem(r, 401, "unauthenticated",
				  "this route needs a bearer token (Authorization: Bearer ...)");
		return false;
	}
	if (!h->opts.auth_key ||
	    dux_token_verify_cached(h->tokens, h->opts.auth_key,
				    h->opts.auth_issuer ? h->opts.auth_issuer : "duxos", a + 7,
				    dux_now_us() / 1000000, &r->token) < 0) {
		dux_reply_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		dux_reply_problem(r, 401, "invalid-token",
				  "the bearer token is invalid, expired or not for this deployment");
		return false;
	}
	if (!(r->token.scopes & scopes)) {
		char need[64];
		dux_reply_problem(r, 403, "insufficient-scope", "this route needs one of the scopes: %s",
				  dux_scope_format(scopes, need, sizeof need));
		return false;
	}
	r->has_token = true;
	return within_rate(r);
}

/* Routing, checks, then the handler. Leaves exactly one reply on r. */
static void dispatch(dux_req_t *r)
{
	dux_http_t *h = r->h;
	char allow[64];
	r->route = route_find(h->routes, h->nroutes, r->method, r->path, &r->match, allow,
			      sizeof allow);
	if (r->route == -2) {
		dux_reply_header(r, "Allow", allow);
		dux_reply_problem(r, 405, "method-not-allowed", "%s is not allowed here; use %s",
				  r->method, allow);
		return;
	}
	if (r->route < 0) {
		dux_reply_problem(r, 404, "not-found", "no such resource: %s", r->path);
		return;
	}
	const dux_route_t *rt = h->routes[r->route].route;
	if (r->too_large) {
		dux_reply_problem(r, 413, "body-too-large", "the request body exceeds %zu bytes",
				  h->opts.max_body);
		return;
	}
	if ((rt->flags & DUX_ROUTE_BODY) && !json_content_type(r->conn)) {
		dux_reply_problem(r, 415, "unsupported-media-type",
				  "the body must be sent as Content-Type: application/json");
		return;
	}
	if (rt->scopes && !authorize(r, rt->scopes))
		return;
	if ((rt->flags & DUX_ROUTE_DB) && h->opts.usable && !h->opts.usable(h->opts.app)) {
		dux_reply_err(r, DUX_EUNAVAIL, "the database");
		return;
	}
	rt->fn(r, h->opts.app);
	if (!r->replied) {
		dux_log(DUX_LOG_ERROR, r->id, "handler for %s %s did not reply", rt->method,
			rt->pattern);
		dux_reply_problem(r, 500, "internal", "internal error");
	}
}

static enum MHD_Result send_reply(dux_req_t *r)
{
	struct MHD_Response *resp =
		r->resp_body ? MHD_create_response_from_buffer(r->resp_len, r->resp_body,
							       MHD_RESPMEM_MUST_FREE)
			     : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->resp_body = NULL; /* MHD owns it now */
	MHD_add_response_header(resp, "Content-Type", r->content_type);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->hdr_names[i], r->hdr_values[i]);
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	dux_http_t *h = cls;
	dux_req_t *r = *con_cls;
	if (!r) {
		/* First call: set up only. Replying now would cost the connection its keep-alive. */
		r = req_new(h, c, url, method);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&h->inflight, 1);
		return MHD_YES;
	}
	if (r->queued) { /* answered early (413): drop the rest of the upload */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		r->body_seen += *upload_size;
		if (!r->too_large && dux_buf_append(&r->body, upload, *upload_size) < 0)
			r->too_large = true;
		*upload_size = 0;
		/* A body somewhat too large is read to its end (and dropped) so that the client
		 * gets its 413 cleanly; a flood is answered at once and the connection closed. */
		if (!r->too_large || r->body_seen <= HTTP_DRAIN_MAX(r->h))
			return MHD_YES;
	}
	dispatch(r);
	r->queued = true;
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)c;
	dux_http_t *h = cls;
	dux_req_t *r = *con_cls;
	if (!r)
		return;
	http_observe(h, r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	atomic_fetch_sub(&h->inflight, 1);
	req_free(r);
	*con_cls = NULL;
}

static int compile_routes(dux_http_t *h)
{
	size_t n = h->opts.nroutes + http_builtin_count();
	h->routes = calloc(n, sizeof *h->routes);
	if (!h->routes)
		return DUX_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const dux_route_t *rt = i < h->opts.nroutes ? &h->opts.routes[i]
							    : http_builtin(i - h->opts.nroutes);
		int r = route_compile(rt, &h->routes[i]);
		h->nroutes = (int)i + 1;
		if (r < 0)
			return r;
	}
	return 0;
}

static int bind_addr(const dux_http_opts_t *o, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, o->bind, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(o->port);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, o->bind, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(o->port);
		return AF_INET6;
	}
	return DUX_EINVAL;
}

int dux_http_start(const dux_http_opts_t *opts, dux_http_t **ret)
{
	struct sockaddr_storage ss;
	int family = bind_addr(opts, &ss);
	if (family < 0)
		return DUX_EINVAL;
	dux_http_t *h = calloc(1, sizeof *h);
	if (!h)
		return DUX_ENOMEM;
	h->opts = *opts;
	int r = compile_routes(h);
	if (r == 0)
		r = http_metrics_init(h);
	/* a client's every request carries the same token: verified once, then remembered */
	if (r == 0 && opts->auth_key)
		r = dux_token_cache_new(TOKEN_CACHE_SLOTS, &h->tokens);
	if (r == 0 && opts->rate_limit)
		r = limiter_new(opts->rate_limit, opts->rate_burst ? opts->rate_burst : opts->rate_limit,
				&h->limiter);
	if (r < 0)
		goto fail;
	/* A thread per connection: handlers block on PostgreSQL, and in a pool of event loops
	 * one blocked handler stalls every connection of its loop (libmicrohttpd 0.9.75 also
	 * gives one loop most new connections). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_TURBO |
			 (family == AF_INET6 ? MHD_USE_IPv6 : 0);
	h->mhd = MHD_start_daemon(
		flags, opts->port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
		opts->conn_limit ? opts->conn_limit : 1024u, MHD_OPTION_CONNECTION_TIMEOUT,
		opts->conn_timeout ? opts->conn_timeout : 30u, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, h, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (!h->mhd) {
		r = DUX_EIO;
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : opts->port;
	*ret = h;
	return 0;
fail:
	dux_http_stop(h);
	return r;
}

uint16_t dux_http_port(const dux_http_t *h)
{
	return h->port;
}

void dux_http_quiesce(dux_http_t *h)
{
	if (h && h->mhd && !h->quiesced) {
		MHD_socket s = MHD_quiesce_daemon(h->mhd);
		/* The polling thread may still sit in poll() on the socket, which keeps it
		 * listening after close(); shutdown() stops it listening at once. */
		if (s != MHD_INVALID_SOCKET) {
			shutdown(s, SHUT_RDWR);
			close(s);
		}
		h->quiesced = true;
	}
}

int dux_http_inflight(dux_http_t *h)
{
	return atomic_load(&h->inflight);
}

dux_http_t *dux_http_stop(dux_http_t *h)
{
	if (!h)
		return NULL;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	for (int i = 0; i < h->nroutes; i++)
		route_free(&h->routes[i]);
	free(h->routes);
	free(h->route_metrics);
	dux_metrics_free(h->own_metrics);
	dux_token_cache_free(h->tokens);
	limiter_free(h->limiter);
	free(h);
	return NULL;
}
