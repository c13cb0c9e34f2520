/* docker_http.c - control calls to the engine over its unix socket with libcurl: one request,
 * the whole (bounded) reply, and error texts that say which call failed and why. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "docker_int.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

void dk_http_global(void)
{
	pthread_once(&global_once, global_init);
}

CURL *dk_http_handle(const struct dux_docker_opts *o, const char *method, const char *path)
{
	char url[512];
	CURL *c;
	/* The host part is not used on a unix socket; the engine wants a Host header all the same. */
	if (snprintf(url, sizeof(url), "http://docker/%s/%s", o->api_version, path) >= (int)sizeof(url))
		return NULL;
	dk_http_global();
	if (!(c = curl_easy_init()))
		return NULL;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, o->socket_path) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

int dk_http_curl_why(const struct dux_docker_opts *o, const char *what, CURL *c, CURLcode cc, char *why,
	size_t why_size)
{
	long os_errno = 0;
	if (cc == CURLE_COULDNT_CONNECT) {
		(void)curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		snprintf(why, why_size, "no Docker engine at %s: connect: %s", o->socket_path,
			os_errno ? strerror((int)os_errno) : "refused");
		return DUX_EUNAVAIL;
	}
	snprintf(why, why_size, "%s: %s", what, curl_easy_strerror(cc));
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return DUX_ETIMEDOUT;
	if (cc == CURLE_OUT_OF_MEMORY)
		return DUX_ENOMEM;
	return DUX_EPROTO;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	dux_buf_t *b = arg;
	/* A short count makes libcurl fail the transfer with CURLE_WRITE_ERROR. */
	return dux_buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

int dk_http_call(const struct dux_docker_opts *o, const char *what, const char *method, const char *path,
	const char *json, struct dk_reply *ret, char *why, size_t why_size)
{
	struct curl_slist *hdrs = NULL;
	CURL *c = dk_http_handle(o, method, path);
	/* An empty POST still says Content-Length: 0, which every server reads the same way. */
	const char *body = json ? json : strcmp(method, "POST") == 0 ? "" : NULL;
	CURLcode cc;
	int r = DUX_ENOMEM;
	dux_buf_init(&ret->body, DK_REPLY_MAX);
	ret->status = 0;
	snprintf(why, why_size, "%s: out of memory", what);
	if (!c)
		goto out;
	if (json && !(hdrs = curl_slist_append(NULL, "Content-Type: application/json")))
		goto out;
	if (curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->request_timeout_ms) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &ret->body) != CURLE_OK ||
		(body && curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK) ||
		(hdrs && curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK))
		goto out;
	cc = curl_easy_perform(c);
	if (cc == CURLE_WRITE_ERROR) {
		snprintf(why, why_size, "%s: reply above %u bytes", what, DK_REPLY_MAX);
		r = DUX_EPROTO;
		goto out;
	}
	if (cc != CURLE_OK) {
		r = dk_http_curl_why(o, what, c, cc, why, why_size);
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	why[0] = '\0';
	r = DUX_OK;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

void dk_http_status_why(const char *what, const struct dk_reply *r, char *why, size_t why_size)
{
	char msg[128];
	dk_json_message(r->body.data, r->body.len, msg, sizeof(msg));
	snprintf(why, why_size, "%s: HTTP %ld%s%s", what, r->status, msg[0] ? ": " : "", msg);
}
