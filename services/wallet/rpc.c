/* rpc.c - JSON-RPC to Flopcoin Core over libcurl. */
#include "rpc.h"
#include <curl/curl.h>
#include <dux/buf.h>
#include <dux/money.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RPC_MAX_ANSWER (16u << 20)

struct rpc {
	char url[300];
	char *user, *password;
	long timeout_ms;
	_Atomic long next_id;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int rpc_new(const char *host, int port, const char *user, const char *password, int timeout_s,
	    rpc_t **ret)
{
	pthread_once(&curl_once, curl_init_once);
	rpc_t *c = calloc(1, sizeof *c);
	if (!c)
		return DUX_ENOMEM;
	bool v6 = strchr(host, ':') != NULL;
	snprintf(c->url, sizeof c->url, "http://%s%s%s:%d/", v6 ? "[" : "", host, v6 ? "]" : "",
		 port);
	c->user = strdup(user);
	c->password = strdup(password);
	c->timeout_ms = (long)timeout_s * 1000;
	if (!c->user || !c->password) {
		rpc_free(c);
		return DUX_ENOMEM;
	}
	*ret = c;
	return 0;
}

rpc_t *rpc_free(rpc_t *c)
{
	if (!c)
		return NULL;
	free(c->user);
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	free(c);
	return NULL;
}

char *rpc_quote_decimals(const char *s, size_t len)
{
	dux_buf_t b;
	dux_buf_init(&b, 2 * len + 16);
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (dux_buf_append(&b, &ch, 1) < 0)
				goto fail;
			if (ch == '\\' && i + 1 < len) {
				if (dux_buf_append(&b, &s[++i], 1) < 0)
					goto fail;
			} else if (ch == '"') {
				in_str = false;
			}
			continue;
		}
		if (ch == '-' || (ch >= '0' && ch <= '9')) {
			size_t j = i;
			bool frac = false;
			while (j < len && strchr("+-.eE0123456789", s[j])) {
				frac |= s[j] == '.' || s[j] == 'e' || s[j] == 'E';
				j++;
			}
			if ((frac && dux_buf_append(&b, "\"", 1) < 0) || dux_buf_append(&b, s + i, j - i) < 0 ||
			    (frac && dux_buf_append(&b, "\"", 1) < 0))
				goto fail;
			i = j - 1;
			continue;
		}
		in_str = ch == '"';
		if (dux_buf_append(&b, &ch, 1) < 0)
			goto fail;
	}
	char *out = dux_buf_steal(&b);
	return out ? out : strdup("");
fail:
	dux_buf_free(&b);
	return NULL;
}

int rpc_amount(const cJSON *v, int64_t *ret)
{
	if (cJSON_IsString(v))
		return dux_money_parse(v->valuestring, strlen(v->valuestring), true, ret);
	if (cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble &&
	    v->valuedouble > -9e10 && v->valuedouble < 9e10) {
		*ret = (int64_t)v->valuedouble * DUX_UNITS_PER_FLOP;
		return 0;
	}
	return DUX_EPROTO;
}

char *rpc_amount_text(int64_t units, char buf[40])
{
	uint64_t a = units < 0 ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
	snprintf(buf, 40, "%s%" PRIu64 ".%08" PRIu64, units < 0 ? "-" : "",
		 a / (uint64_t)DUX_UNITS_PER_FLOP, a % (uint64_t)DUX_UNITS_PER_FLOP);
	return buf;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	dux_buf_t *b = arg;
	if (dux_buf_append(b, p, size * n) < 0)
		return 0;
	return size * n;
}

/* One HTTP exchange. ret_status: the HTTP status; the body in b. */
static int post(rpc_t *c, const char *body, long *ret_status, dux_buf_t *b)
{
	CURL *h = curl_easy_init();
	if (!h)
		return DUX_ENOMEM;
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
	curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
		return DUX_EUNAVAIL; /* nothing reached the node */
	if (cc != CURLE_OK)
		return cc == CURLE_WRITE_ERROR ? DUX_EPROTO : DUX_ETIMEDOUT;
	return 0;
}

static int parse_answer(long status, dux_buf_t *b, cJSON **ret, rpc_error_t *err)
{
	if (status == 401 || status == 403)
		return DUX_EAUTH;
	char *q = rpc_quote_decimals(b->data ? b->data : "", b->len);
	cJSON *j = q ? cJSON_Parse(q) : NULL;
	free(q);
	int r = DUX_EPROTO;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (cJSON_IsObject(e)) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (cJSON_IsNumber(code)) {
			err->code = code->valueint;
			snprintf(err->message, sizeof err->message, "%s",
				 cJSON_IsString(msg) ? msg->valuestring : "");
			r = DUX_ECONFLICT;
		}
	} else if (status == 200 && res && cJSON_IsNull(e)) {
		if (ret)
			*ret = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
		r = 0;
	}
	cJSON_Delete(j);
	return r;
}

int rpc_call(rpc_t *c, const char *method, const char *params_json, cJSON **ret,
	     rpc_error_t *err)
{
	dux_buf_t body, answer;
	dux_buf_init(&body, 1u << 16);
	dux_buf_init(&answer, RPC_MAX_ANSWER);
	memset(err, 0, sizeof *err);
	long id = ++c->next_id, status = 0;
	int r = dux_buf_printf(&body, "{\"jsonrpc\":\"1.0\",\"id\":%ld,\"method\":\"%s\",\"params\":%s}",
			       id, method, params_json ? params_json : "[]");
	if (r == 0)
		r = post(c, body.data, &status, &answer);
	if (r == 0)
		r = parse_answer(status, &answer, ret, err);
	if (body.data)
		memset(body.data, 0, body.len); /* may hold the wallet passphrase */
	dux_buf_free(&body);
	dux_buf_free(&answer);
	return r;
}
