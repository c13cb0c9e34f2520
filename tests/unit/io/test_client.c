/* test_client.c - the HTTP client (dux_client) against a dux_http peer on 127.0.0.1 port 0:
 * JSON in and out, headers, bearer auth, transport failures, retries, the response size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "io_util.h"
#include <dux/client.h>
#include <dux/http.h>
#include <dux/log.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAP (8u << 20) /* the client's documented response limit */

typedef struct {
	atomic_int flaky, once, problem, big; /* attempts seen, per route */
} peer_t;

static const char *hdr_or_empty(dux_req_t *r, const char *name)
{
	const char *v = dux_req_header(r, name);
	return v ? v : "";
}

static void h_json(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", true);
	dux_reply_json(r, 200, j);
}

static void h_echo(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *in = dux_req_json(r, NULL);
	if (!in)
		return;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "got", in);
	cJSON_AddStringToObject(j, "method", dux_req_method(r));
	cJSON_AddStringToObject(j, "content_type", hdr_or_empty(r, "Content-Type"));
	dux_reply_json(r, 201, j);
}

static void h_text(dux_req_t *r, void *app)
{
	(void)app;
	dux_reply_text(r, 200, "text/plain; charset=utf-8", "plain words", 11);
}

static void h_upper(dux_req_t *r, void *app)
{
	(void)app;
	dux_reply_text(r, 200, "Application/JSON; charset=UTF-8", "{\"u\":1}", 7);
}

static void h_empty(dux_req_t *r, void *app)
{
	(void)app;
	dux_reply_text(r, 204, "text/plain", "", 0);
}

static void h_problem(dux_req_t *r, void *app)
{
	atomic_fetch_add(&((peer_t *)app)->problem, 1);
	dux_reply_problem(r, 409, "conflict", "it is already there");
}

static void h_headers(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "x_test", hdr_or_empty(r, "X-Test"));
	cJSON_AddStringToObject(j, "x_other", hdr_or_empty(r, "X-Other"));
	cJSON_AddStringToObject(j, "authorization", hdr_or_empty(r, "Authorization"));
	cJSON_AddStringToObject(j, "accept", hdr_or_empty(r, "Accept"));
	dux_reply_json(r, 200, j);
}

static void h_flaky(dux_req_t *r, void *app)
{
	atomic_fetch_add(&((peer_t *)app)->flaky, 1);
	dux_reply_err(r, DUX_EUNAVAIL, "the test peer");
}

static void h_once(dux_req_t *r, void *app)
{
	if (atomic_fetch_add(&((peer_t *)app)->once, 1) == 0) {
		dux_reply_problem(r, 500, "internal", "first attempt fails");
		return;
	}
	h_json(r, app);
}

static void h_big(dux_req_t *r, void *app)
{
	atomic_fetch_add(&((peer_t *)app)->big, 1);
	int64_t n;
	if (!dux_req_query_i64(r, "n", 0, 0, 2 * (int64_t)CAP, &n))
		return;
	char *s = malloc((size_t)n + 1);
	if (!s) {
		dux_reply_err(r, DUX_ENOMEM, "the body");
		return;
	}
	memset(s, 'x', (size_t)n);
	dux_reply_text(r, 200, "text/plain", s, (size_t)n);
	free(s);
}

static const dux_route_t routes[] = {
	{"GET", "/json", h_json, 0, 0},
	{"POST", "/echo", h_echo, DUX_ROUTE_BODY, 0},
	{"PUT", "/echo", h_echo, DUX_ROUTE_BODY, 0},
	{"GET", "/text", h_text, 0, 0},
	{"GET", "/upper", h_upper, 0, 0},
	{"GET", "/empty", h_empty, 0, 0},
	{"GET", "/problem", h_problem, 0, 0},
	{"GET", "/headers", h_headers, 0, 0},
	{"GET", "/flaky", h_flaky, 0, 0},
	{"POST", "/flaky", h_flaky, 0, 0},
	{"GET", "/once", h_once, 0, 0},
	{"GET", "/big", h_big, 0, 0},
};

/* ---- fixture: a peer per test ---- */

typedef struct {
	peer_t peer;
	dux_http_t *h;
	char url[64];
	dux_client_t *c;
} fx_t;

static int fx_setup(void **state)
{
	fx_t *f = calloc(1, sizeof *f);
	assert_non_null(f);
	dux_http_opts_t o = {
		.service = "peer",
		.bind = "127.0.0.1",
		.max_body = 64 * 1024,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.app = &f->peer,
	};
	assert_int_equal(dux_http_start(&o, &f->h), 0);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", dux_http_port(f->h));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *f = *state;
	f->c = dux_client_free(f->c);
	f->h = dux_http_stop(f->h);
	free(f);
	return 0;
}

/* (Re)makes f->c for the peer with these options. */
static dux_client_t *client(fx_t *f, int retries, long timeout_ms, const char *bearer)
{
	f->c = dux_client_free(f->c);
	dux_client_opts_t o = {
		.base_url = f->url, .timeout_ms = timeout_ms, .retries = retries, .bearer = bearer};
	assert_int_equal(dux_client_new(&o, &f->c), 0);
	return f->c;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void do_ok(dux_client_t *c, const char *method, const char *path,
		  const char *const *headers, const char *body, dux_client_resp_t *resp)
{
	int r = dux_client_do(c, method, path, headers, body, body ? strlen(body) : 0, resp);
	if (r != 0)
		fail_msg("%s %s: %s (%s)", method, path, dux_strerror(r), dux_client_errmsg(c));
}

/* ---- tests ---- */

static void test_get_json(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 0, 5000, NULL);
	dux_client_resp_t resp;
	do_ok(c, "GET", "/json", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_non_null(resp.json);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp.json, "ok")));
	assert_int_equal(resp.len, strlen(resp.body));
	assert_string_equal(resp.body, "{\"ok\":true}");
	dux_client_resp_clear(&resp);
	assert_null(resp.body); /* cleared */
	assert_null(resp.json);
}

static void test_post_json(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 0, 5000, NULL);
	dux_client_resp_t resp;
	const char *body = "{\"amount\":\"10.5\",\"to\":\"Fabc\"}";
	static const char *const methods[] = {"POST", "PUT"};
	for (int i = 0; i < 2; i++) {
		do_ok(c, methods[i], "/echo", NULL, body, &resp);
		assert_int_equal(resp.status, 201);
		assert_string_equal(jstr(resp.json, "method"), methods[i]);
		assert_string_equal(jstr(resp.json, "content_type"), "application/json");
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(resp.json, "got");
		assert_string_equal(jstr(got, "amount"), "10.5");
		assert_string_equal(jstr(got, "to"), "Fabc");
		dux_client_resp_clear(&resp);
	}
	/* the body is sent by length, not up to a NUL */
	assert_int_equal(dux_client_do(c, "POST", "/echo", NULL, "{\"a\":1}garbage", 7, &resp), 0);
	assert_int_equal(resp.status, 201);
	dux_client_resp_clear(&resp);
	/* a caller's own Content-Type is the one sent */
	const char *const hdrs[] = {"Content-Type: application/problem+json", NULL};
	do_ok(c, "POST", "/echo", hdrs, body, &resp);
	assert_int_equal(resp.status, 201);
	assert_string_equal(jstr(resp.json, "content_type"), "application/problem+json");
	dux_client_resp_clear(&resp);
}

static void test_content_type_parsing(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 0, 5000, NULL);
	dux_client_resp_t resp;

	do_ok(c, "GET", "/json", NULL, NULL, &resp);
	assert_string_equal(resp.content_type, "application/json");
	assert_non_null(resp.json);
	dux_client_resp_clear(&resp);

	do_ok(c, "GET", "/text", NULL, NULL, &resp);
	assert_string_equal(resp.content_type, "text/plain; charset=utf-8");
	assert_null(resp.json);
	assert_string_equal(resp.body, "plain words");
	assert_int_equal(resp.len, 11);
	dux_client_resp_clear(&resp);

	do_ok(c, "GET", "/problem", NULL, NULL, &resp);
	assert_int_equal(resp.status, 409);
	assert_string_equal(resp.content_type, "application/problem+json");
	assert_non_null(resp.json);
	assert_string_equal(jstr(resp.json, "type"), "urn:duxos:problem:conflict");
	dux_client_resp_clear(&resp);

	/* media types are case-insensitive (RFC 9110 section 8.3.1) */
	do_ok(c, "GET", "/upper", NULL, NULL, &resp);
	assert_string_equal(resp.content_type, "Application/JSON; charset=UTF-8");
	bool parsed = resp.json != NULL;
	dux_client_resp_clear(&resp);
	if (!parsed)
		fail_msg("a body sent as \"Application/JSON\" was not parsed as JSON");
}

static void test_empty_response_body(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 0, 5000, NULL);
	dux_client_resp_t resp;
	do_ok(c, "GET", "/empty", NULL, NULL, &resp);
	assert_int_equal(resp.status, 204);
	assert_non_null(resp.body);
	assert_string_equal(resp.body, "");
	assert_int_equal(resp.len, 0);
	assert_null(resp.json);
	dux_client_resp_clear(&resp);
}

static void test_headers_passed(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 0, 5000, NULL);
	const char *const hdrs[] = {"X-Test: hello world", "X-Other: 42", NULL};
	dux_client_resp_t resp;
	do_ok(c, "GET", "/headers", hdrs, NULL, &resp);
	assert_string_equal(jstr(resp.json, "x_test"), "hello world");
	assert_string_equal(jstr(resp.json, "x_other"), "42");
	assert_string_equal(jstr(resp.json, "accept"), "application/json");
	assert_string_equal(jstr(resp.json, "authorization"), ""); /* no bearer configured */
	dux_client_resp_clear(&resp);
}

static void test_bearer_sent(void **state)
{
	fx_t *f = *state;
	char tok[] = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln";
	dux_client_t *c = client(f, 0, 5000, tok);
	memset(tok, 'z', sizeof tok - 1); /* the client keeps its own copy */
	dux_client_resp_t resp;
	for (int i = 0; i < 2; i++) { /* and sends it on every call */
		do_ok(c, "GET", "/headers", NULL, NULL, &resp);
		assert_string_equal(jstr(resp.json, "authorization"),
				    "Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln");
		dux_client_resp_clear(&resp);
	}
}

static void test_refused_port_unavailable(void **state)
{
	(void)state;
	int port = io_closed_port();
	assert_true(port > 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	dux_client_opts_t o = {.base_url = url, .timeout_ms = 2000};
	dux_client_t *c;
	assert_int_equal(dux_client_new(&o, &c), 0);
	dux_client_resp_t resp = {.status = -1};
	int64_t t0 = io_now_ms();
	assert_int_equal(dux_client_do(c, "GET", "/json", NULL, NULL, 0, &resp), DUX_EUNAVAIL);
	assert_true(io_now_ms() - t0 < 2000);
	assert_int_equal(resp.status, -1); /* not written on failure */
	const char *msg = dux_client_errmsg(c);
	assert_non_null(msg);
	if (!strcasestr(msg, "connect"))
		fail_msg("error message: [%s]", msg);
	dux_client_free(c);
}

static void test_timeout_unavailable(void **state)
{
	(void)state;
	int port;
	int ls = io_silent_listener(&port); /* accepts the TCP handshake, never answers */
	assert_true(ls >= 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	dux_client_opts_t o = {.base_url = url, .timeout_ms = 300};
	dux_client_t *c;
	assert_int_equal(dux_client_new(&o, &c), 0);
	dux_client_resp_t resp;
	int64_t t0 = io_now_ms();
	assert_int_equal(dux_client_do(c, "GET", "/json", NULL, NULL, 0, &resp), DUX_EUNAVAIL);
	int64_t took = io_now_ms() - t0;
	if (took < 250 || took > 3000)
		fail_msg("timed out after %lld ms, expected about 300", (long long)took);
	if (!strcasestr(dux_client_errmsg(c), "timed out"))
		fail_msg("error message: [%s]", dux_client_errmsg(c));
	dux_client_free(c);
	close(ls);
}

static void test_get_retried_on_5xx(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 2, 5000, NULL);
	dux_client_resp_t resp;
	do_ok(c, "GET", "/flaky", NULL, NULL, &resp);
	assert_int_equal(resp.status, 503); /* the last answer, after all attempts */
	assert_string_equal(resp.retry_after, "2");
	assert_non_null(resp.json);
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.flaky), 3);

	do_ok(c, "GET", "/once", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200); /* the retry's answer */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp.json, "ok")));
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.once), 2);

	do_ok(c, "GET", "/problem", NULL, NULL, &resp); /* 4xx: final */
	assert_int_equal(resp.status, 409);
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.problem), 1);

	client(f, 0, 5000, NULL); /* retries 0: one attempt */
	atomic_store(&f->peer.flaky, 0);
	do_ok(f->c, "GET", "/flaky", NULL, NULL, &resp);
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.flaky), 1);
}

static void test_post_retried_only_with_idempotency_key(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 2, 5000, NULL);
	dux_client_resp_t resp;
	do_ok(c, "POST", "/flaky", NULL, "{}", &resp);
	assert_int_equal(resp.status, 503);
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.flaky), 1);

	atomic_store(&f->peer.flaky, 0);
	const char *const key[] = {"Idempotency-Key: 6f1c2b", NULL};
	do_ok(c, "POST", "/flaky", key, "{}", &resp);
	assert_int_equal(resp.status, 503);
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.flaky), 3);

	/* a header that merely starts like it is not the key */
	atomic_store(&f->peer.flaky, 0);
	const char *const other[] = {"Idempotency-Key-Hint: x", NULL};
	do_ok(c, "POST", "/flaky", other, "{}", &resp);
	dux_client_resp_clear(&resp);
	assert_int_equal(atomic_load(&f->peer.flaky), 1);
}

static void test_response_size_cap(void **state)
{
	fx_t *f = *state;
	dux_client_t *c = client(f, 2, 10000, NULL);
	char path[64];
	dux_client_resp_t resp;
	snprintf(path, sizeof path, "/big?n=%u", CAP);
	do_ok(c, "GET", path, NULL, NULL, &resp); /* exactly at the cap: accepted whole */
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.len, CAP);
	assert_int_equal(strlen(resp.body), CAP);
	dux_client_resp_clear(&resp);
	atomic_store(&f->peer.big, 0);

	/* One byte over: refused as too large. An answer did come back, so this is not
	 * DUX_EUNAVAIL, and fetching the same oversized answer again would not help. */
	snprintf(path, sizeof path, "/big?n=%u", CAP + 1);
	resp.status = -1;
	int r = dux_client_do(c, "GET", path, NULL, NULL, 0, &resp);
	if (r == 0)
		dux_client_resp_clear(&resp);
	int attempts = atomic_load(&f->peer.big);
	if (r != DUX_ERANGE || attempts != 1)
		fail_msg("oversized response: %s (%d) after %d attempts; expected DUX_ERANGE after 1",
			 dux_strerror(r), r, attempts);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	dux_log_init("unit_client", DUX_LOG_WARN);
	const struct CMUnitTest tests[] = {
		T(test_get_json),
		T(test_post_json),
		T(test_content_type_parsing),
		T(test_empty_response_body),
		T(test_headers_passed),
		T(test_bearer_sent),
		T(test_refused_port_unavailable),
		T(test_timeout_unavailable),
		T(test_get_retried_on_5xx),
		T(test_post_retried_only_with_idempotency_key),
		T(test_response_size_cap),
	};
	if (getenv("UNIT_FILTER")) /* UNIT_FILTER='test_x*': only those tests */
		cmocka_set_test_filter(getenv("UNIT_FILTER"));
	return cmocka_run_group_tests_name("unit_client", tests, NULL, NULL);
}
