/* client.c - libcurl calls to other daemons. */
#include <curl/curl.h>
#include <dux/buf.h>
#include <dux/client.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CLIENT_MAX_RESPONSE (8u << 20)

struct dux_client {
	CURL *curl;
	char *base_url;
	char *auth_header;
	long timeout_ms;
	int retries;
	char err[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int dux_client_new(const dux_client_opts_t *o, dux_client_t **ret)
{
	pthread_once(&curl_once, curl_init_once);
	dux_client_t *c = calloc(1, sizeof *c);
	if (!c)
		return DUX_ENOMEM;
	c->curl = curl_easy_init();
	c->base_url = strdup(o->base_url);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	c->retries = o->retries;
	if (o->bearer && asprintf(&c->auth_header, "Authorization: Bearer %s", o->bearer) < 0)
		c->auth_header = NULL;
	if (!c->curl || !c->base_url || (o->bearer && !c->auth_header)) {
		dux_client_free(c);
		return DUX_ENOMEM;
	}
	*ret = c;
	return 0;
}

dux_client_t *dux_client_free(dux_client_t *c)
{
	if (!c)
		return NULL;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base_url);
	free(c->auth_header);
	free(c);
	return NULL;
}

typedef struct {
	dux_buf_t buf;
	bool too_large; /* the response passed CLIENT_MAX_RESPONSE */
} sink_t;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	sink_t *s = arg;
	int r = dux_buf_append(&s->buf, p, size * n);
	if (r == DUX_ERANGE)
		s->too_large = true;
	return r == 0 ? size * n : 0;
}

/* application/json or any +json type (RFC 6839); media types are case-insensitive. */
static bool json_type(const char *ct)
{
	size_t n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	       (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* Copies the value of header line p (len bytes) into out when its name is name. */
static void header_value(const char *p, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return;
	const char *v = p + nl + 1;
	while (v < p + len && *v == ' ')
		v++;
	size_t vl = (size_t)(p + len - v);
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	snprintf(out, outlen, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	dux_client_resp_t *r = arg;
	size_t len = size * n;
	header_value(p, len, "Content-Type", r->content_type, sizeof r->content_type);
	header_value(p, len, "Retry-After", r->retry_after, sizeof r->retry_after);
	return len;
}

static bool has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);
	for (const char *const *h = headers; h && *h; h++)
		if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
			return true;
	return false;
}

static int attempt(dux_client_t *c, const char *method, const char *url,
		   struct curl_slist *hl, const char *body, size_t len, dux_client_resp_t *ret)
{
	sink_t sink = {.too_large = false};
	dux_buf_init(&sink.buf, CLIENT_MAX_RESPONSE);
	dux_client_resp_t r = {0};
	CURL *h = c->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLIENT_MAX_RESPONSE);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	c->err[0] = '\0';
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		/* An answer that came back too large is final: fetching it again would not help. */
		bool too_large = sink.too_large || cc == CURLE_FILESIZE_EXCEEDED;
		if (too_large)
			snprintf(c->err, sizeof c->err, "the response is larger than %u bytes",
				 CLIENT_MAX_RESPONSE);
		else if (!c->err[0])
			snprintf(c->err, sizeof c->err, "%s", curl_easy_strerror(cc));
		dux_buf_free(&sink.buf);
		return too_large ? DUX_ERANGE : DUX_EUNAVAIL;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	r.len = sink.buf.len;
	r.body = dux_buf_steal(&sink.buf);
	if (!r.body)
		return DUX_ENOMEM;
	if (json_type(r.content_type))
		r.json = cJSON_ParseWithLength(r.body, r.len);
	*ret = r;
	return 0;
}

static bool append(struct curl_slist **l, const char *s)
{
	struct curl_slist *t = curl_slist_append(*l, s);
	if (t)
		*l = t;
	return t != NULL;
}

static int headers_build(const dux_client_t *c, const char *const *headers, bool has_body,
			 struct curl_slist **ret)
{
	const char *fixed[] = {"Accept: application/json", "Expect:",
			       has_body && !has_header(headers, "Content-Type") ? "Content-Type: application/json" : NULL,
			       c->auth_header};
	struct curl_slist *l = NULL;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (fixed[i] && !append(&l, fixed[i]))
			goto fail;
	for (const char *const *h = headers; h && *h; h++)
		if (!append(&l, *h))
			goto fail;
	*ret = l;
	return 0;
fail:
	curl_slist_free_all(l);
	return DUX_ENOMEM;
}

int dux_client_do(dux_client_t *c, const char *method, const char *path,
		  const char *const *headers, const char *body, size_t len,
		  dux_client_resp_t *ret)
{
	char *url = NULL;
	struct curl_slist *hl = NULL;
	if (asprintf(&url, "%s%s", c->base_url, path) < 0)
		return DUX_ENOMEM;
	int r = headers_build(c, headers, body != NULL, &hl);
	bool repeatable = strcmp(method, "GET") == 0 || has_header(headers, "Idempotency-Key");
	int tries = 1 + (repeatable ? c->retries : 0);
	for (int i = 0; r == 0; i++) {
		r = attempt(c, method, url, hl, body, len, ret);
		bool transient = r == DUX_EUNAVAIL || (r == 0 && ret->status >= 500);
		if (!transient || i + 1 >= tries)
			break;
		if (r == 0)
			dux_client_resp_clear(ret);
		r = 0;
		usleep(100000u << (i < 4 ? i : 4));
	}
	curl_slist_free_all(hl);
	free(url);
	return r;
}

void dux_client_resp_clear(dux_client_resp_t *r)
{
	cJSON_Delete(r->json);
	free(r->body);
	memset(r, 0, sizeof *r);
}

const char *dux_client_errmsg(const dux_client_t *c)
{
	return c->err;
}

static void local_free(void *p)
{
	dux_client_free(p);
}

dux_client_t *dux_client_local(dux_client_local_t *l, const dux_client_opts_t *opts)
{
	pthread_mutex_lock(&l->mu);
	bool made = l->made || (l->made = pthread_key_create(&l->key, local_free) == 0);
	pthread_mutex_unlock(&l->mu);
	if (!made)
		return NULL;
	dux_client_t *c = pthread_getspecific(l->key);
	if (c || dux_client_new(opts, &c) < 0)
		return c;
	if (pthread_setspecific(l->key, c) != 0)
		c = dux_client_free(c);
	return c;
}
