/* http_reply.c - what handlers call: request accessors, replies, body and query parsing. */
#include "http_internal.h"
#include <dux/text.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dux_req_method(const dux_req_t *r) { return r->method; }
const char *dux_req_path(const dux_req_t *r) { return r->path; }
const char *dux_req_id(const dux_req_t *r) { return r->id; }
const dux_token_t *dux_req_token(const dux_req_t *r) { return r->has_token ? &r->token : NULL; }

const char *dux_req_param(const dux_req_t *r, const char *name)
{
	for (int i = 0; i < r->match.nparams; i++)
		if (strcmp(r->match.names[i], name) == 0)
			return r->match.values[i];
	return NULL;
}

const char *dux_req_query(const dux_req_t *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
	dux_query_fn fn;
	void *ctx;
	size_t calls;
	bool stopped;
} query_each_t;

static enum MHD_Result query_one(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	query_each_t *q = cls;
	if (q->stopped)
		return MHD_NO;
	q->calls++;
	q->stopped = !q->fn(key, value ? value : "", q->ctx);
	return q->stopped ? MHD_NO : MHD_YES;
}

size_t dux_req_query_each(const dux_req_t *r, dux_query_fn fn, void *ctx)
{
	query_each_t q = {fn, ctx, 0, false};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_one, &q);
	return q.calls;
}

const char *dux_req_header(const dux_req_t *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *dux_req_body(const dux_req_t *r, size_t *ret_len)
{
	*ret_len = r->body.len;
	return r->body.data ? r->body.data : "";
}

void dux_reply_header(dux_req_t *r, const char *name, const char *value)
{
	if (r->nheaders == REQ_MAX_HEADERS)
		return;
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return;
	}
	r->hdr_names[r->nheaders] = n;
	r->hdr_values[r->nheaders++] = v;
}

static void set_reply(dux_req_t *r, int status, const char *ct, char *body, size_t len)
{
	if (r->replied) { /* a second reply is a bug in the handler: keep the first */
		free(body);
		return;
	}
	r->replied = true;
	r->status = status;
	r->content_type = ct;
	r->resp_body = body;
	r->resp_len = len;
}

static void reply_json_as(dux_req_t *r, int status, const char *ct, cJSON *body)
{
	static const char oom[] = "{\"type\":\"urn:duxos:problem:internal\",\"status\":500}";
	char *s = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	if (!s)
		set_reply(r, 500, "application/problem+json", strdup(oom), sizeof oom - 1);
	else
		set_reply(r, status, ct, s, strlen(s));
}

void dux_reply_json(dux_req_t *r, int status, cJSON *body)
{
	reply_json_as(r, status, "application/json", body);
}

void dux_reply_text(dux_req_t *r, int status, const char *content_type, const char *data,
		    size_t len)
{
	char *copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, data, len);
		copy[len] = '\0';
	}
	set_reply(r, copy ? status : 500, content_type, copy, copy ? len : 0);
}

const char *dux_http_reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

static void problem(dux_req_t *r, int status, const char *code, const char *field,
		    const char *detail, cJSON *ext)
{
	char type[96], instance[1024], safe[512];
	snprintf(type, sizeof type, "urn:duxos:problem:%s", code);
	/* the path and a detail quoting input may hold any bytes: JSON must stay UTF-8 */
	snprintf(safe, sizeof safe, "%s", detail);
	dux_text_sanitize(safe);
	cJSON *p = cJSON_CreateObject();
	if (p) {
		cJSON_AddStringToObject(p, "type", type);
		cJSON_AddStringToObject(p, "title", dux_http_reason(status));
		cJSON_AddNumberToObject(p, "status", status);
		cJSON_AddStringToObject(p, "detail", safe);
		cJSON_AddStringToObject(p, "instance", dux_uri_escape(r->path, instance, sizeof instance));
		cJSON_AddStringToObject(p, "request_id", r->id);
		if (field && *field)
			cJSON_AddStringToObject(p, "field", field);
		for (cJSON *m = ext ? ext->child : NULL; m; m = m->next)
			cJSON_AddItemToObject(p, m->string, cJSON_Duplicate(m, true));
	}
	cJSON_Delete(ext);
	reply_json_as(r, status, "application/problem+json", p);
}

void dux_reply_problem(dux_req_t *r, int status, const char *code, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	problem(r, status, code, NULL, detail, NULL);
}

void dux_reply_problem_ext(dux_req_t *r, int status, const char *code, cJSON *ext,
			   const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	problem(r, status, code, NULL, detail, ext);
}

void dux_reply_verr(dux_req_t *r, const dux_verr_t *e)
{
	char detail[300];
	if (e->field[0])
		snprintf(detail, sizeof detail, "%s %s", e->field, e->detail);
	else
		snprintf(detail, sizeof detail, "%s", e->detail);
	problem(r, 400, e->field[0] ? "invalid-field" : "invalid-body", e->field, detail, NULL);
}

void dux_reply_err(dux_req_t *r, int err, const char *what)
{
	switch (err) {
	case DUX_EUNAVAIL:
		dux_reply_header(r, "Retry-After", "2");
		dux_reply_problem(r, 503, "unavailable", "%s is unavailable; retry shortly", what);
		break;
	case DUX_ENOENT: dux_reply_problem(r, 404, "not-found", "%s not found", what); break;
	case DUX_EEXIST: dux_reply_problem(r, 409, "conflict", "%s already exists", what); break;
	case DUX_ECONFLICT:
		dux_reply_problem(r, 409, "conflict", "%s conflicts with the current state", what);
		break;
	case DUX_EAUTH: dux_reply_problem(r, 401, "unauthenticated", "%s was refused", what); break;
	case DUX_EINVAL: dux_reply_problem(r, 400, "invalid-body", "%s is invalid", what); break;
	default:
		dux_reply_problem(r, 500, "internal", "internal error while handling %s", what);
	}
}

cJSON *dux_req_json(dux_req_t *r, const char *const *allowed)
{
	dux_verr_t e;
	cJSON *j = NULL;
	if (dux_json_parse_object(r->body.data ? r->body.data : "", r->body.len, &j, &e) < 0 ||
	    (allowed && dux_json_only(j, allowed, &e) < 0)) {
		cJSON_Delete(j);
		dux_reply_verr(r, &e);
		return NULL;
	}
	return j;
}

bool dux_req_query_i64(dux_req_t *r, const char *name, int64_t def, int64_t min, int64_t max,
		       int64_t *ret)
{
	const char *s = dux_req_query(r, name);
	if (!s) {
		*ret = def;
		return true;
	}
	char *end;
	errno = 0;
	/* strtoll also takes spaces and a '+' before the digits: a plain integer only */
	bool plain = (*s == '-' ? s[1] : *s) >= '0' && (*s == '-' ? s[1] : *s) <= '9';
	long long v = strtoll(s, &end, 10);
	if (!plain || errno || end == s || *end || v < min || v > max) {
		char d[200];
		snprintf(d, sizeof d, "query parameter %s must be an integer between %lld and %lld",
			 name, (long long)min, (long long)max);
		problem(r, 400, "invalid-query", name, d, NULL);
		return false;
	}
	*ret = v;
	return true;
}

bool dux_req_query_num(dux_req_t *r, const char *name, double def, double min, double max,
		       double *ret)
{
	const char *s = dux_req_query(r, name);
	if (!s) {
		*ret = def;
		return true;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
		char d[200];
		snprintf(d, sizeof d, "query parameter %s must be a number between %g and %g", name,
			 min, max);
		problem(r, 400, "invalid-query", name, d, NULL);
		return false;
	}
	*ret = v;
	return true;
}
