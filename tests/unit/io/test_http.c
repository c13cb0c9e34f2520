/* test_http.c - the HTTP server (dux_http): routing, checks, problems, built-in routes,
 * connections and concurrency, against a server on 127.0.0.1 port 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "io_util.h"
#include <dux/auth.h>
#include <dux/client.h>
#include <dux/crypto.h>
#include <dux/http.h>
#include <dux/text.h>
#include <dux/log.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BODY 1024

typedef struct {
	atomic_bool ready;  /* answers /readyz */
	atomic_bool usable; /* lets DUX_ROUTE_DB routes through */
} app_t;

/* Served verbatim at /openapi.yaml: odd bytes on purpose (UTF-8, a tab, no final newline). */
static const char openapi_doc[] = "openapi: 3.1.0\ninfo:\n  title: \"unit \xc3\xa9\"\n\tversion: '1'";

/* ---- handlers ---- */

static void h_hello(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "hello", "world");
	cJSON_AddBoolToObject(j, "has_token", dux_req_token(r) != NULL);
	dux_reply_json(r, 200, j);
}

static void h_item(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "method", dux_req_method(r));
	cJSON_AddStringToObject(j, "id", dux_req_param(r, "id"));
	dux_reply_json(r, 200, j);
}

static void h_part(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", dux_req_param(r, "id"));
	cJSON_AddStringToObject(j, "part", dux_req_param(r, "part"));
	cJSON_AddBoolToObject(j, "no_other", dux_req_param(r, "other") == NULL);
	dux_reply_json(r, 200, j);
}

static void h_query(dux_req_t *r, void *app)
{
	(void)app;
	int64_t n;
	double x;
	if (!dux_req_query_i64(r, "n", 7, 1, 100, &n) ||
	    !dux_req_query_num(r, "x", 0.5, 0.0, 1.0, &x))
		return;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "n", (double)n);
	cJSON_AddNumberToObject(j, "x", x);
	dux_reply_json(r, 200, j);
}

static void h_echo(dux_req_t *r, void *app)
{
	(void)app;
	static const char *const allowed[] = {"name", "count", NULL};
	cJSON *in = dux_req_json(r, allowed);
	if (!in)
		return;
	size_t len;
	(void)dux_req_body(r, &len);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", cJSON_IsString(name) ? name->valuestring : "");
	cJSON_AddNumberToObject(j, "len", (double)len);
	cJSON_Delete(in);
	dux_reply_json(r, 200, j);
}

static void h_private(dux_req_t *r, void *app)
{
	(void)app;
	const dux_token_t *t = dux_req_token(r);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "sub", t ? t->sub : "");
	dux_reply_json(r, 200, j);
}

static void h_db(dux_req_t *r, void *app)
{
	(void)app;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "db", "ok");
	dux_reply_json(r, 200, j);
}

static void h_forgets(dux_req_t *r, void *app)
{
	(void)r;
	(void)app;
}

static const dux_route_t routes[] = {
	{"GET", "/hello", h_hello, 0, 0},
	{"GET", "/items/{id}", h_item, 0, 0},
	{"DELETE", "/items/{id}", h_item, 0, 0},
	{"GET", "/items/{id}/parts/{part}", h_part, 0, 0},
	{"GET", "/query", h_query, 0, 0},
	{"POST", "/echo", h_echo, DUX_ROUTE_BODY, 0},
	{"GET", "/private", h_private, 0, DUX_SCOPE_USER | DUX_SCOPE_ADMIN},
	{"GET", "/db", h_db, DUX_ROUTE_DB, 0},
	{"GET", "/forgets", h_forgets, 0, 0},
};

static bool app_ready(void *app)
{
	return atomic_load(&((app_t *)app)->ready);
}

static bool app_usable(void *app)
{
	return atomic_load(&((app_t *)app)->usable);
}

/* ---- fixture: one server per test ---- */

typedef struct {
	app_t app;
	dux_key_t *key;
	dux_http_t *h;
	int port;
	dux_client_t *c;
	unsigned rate; /* http.rate_limit and rate_burst of the server; 0 = none */
} srv_t;

/* Starts a server with the route table on s's app and key; s->h and s->port. */
static void srv_start(srv_t *s)
{
	dux_http_opts_t o = {
		.service = "unit",
		.bind = "127.0.0.1",
		.port = 0,
		.max_body = MAX_BODY,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.app = &s->app,
		.openapi = openapi_doc,
		.openapi_len = sizeof openapi_doc - 1,
		.ready = app_ready,
		.usable = app_usable,
		.auth_key = s->key,
		.rate_limit = s->rate,
		.rate_burst = s->rate,
	};
	assert_int_equal(dux_http_start(&o, &s->h), 0);
	s->port = dux_http_port(s->h);
	assert_true(s->port > 0);
}

static int srv_setup(void **state)
{
	srv_t *s = calloc(1, sizeof *s);
	assert_non_null(s);
	atomic_store(&s->app.ready, true);
	atomic_store(&s->app.usable, true);
	assert_int_equal(dux_key_generate(&s->key), 0);
	srv_start(s);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
	dux_client_opts_t co = {.base_url = url, .timeout_ms = 5000};
	assert_int_equal(dux_client_new(&co, &s->c), 0);
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	srv_t *s = *state;
	s->c = dux_client_free(s->c);
	s->h = dux_http_stop(s->h);
	s->key = dux_key_free(s->key);
	free(s);
	return 0;
}

/* One call through dux_client; asserts that an answer came back. */
static void call(srv_t *s, const char *method, const char *path, const char *const *headers,
		 const char *body, dux_client_resp_t *resp)
{
	int r = dux_client_do(s->c, method, path, headers, body, body ? strlen(body) : 0, resp);
	if (r != 0)
		fail_msg("%s %s: %s (%s)", method, path, dux_strerror(r), dux_client_errmsg(s->c));
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -12345.0;
}

/* Asserts a problem+json answer with this status and type slug; field checked when not NULL. */
static void assert_problem(const dux_client_resp_t *resp, long status, const char *code,
			   const char *field)
{
	char type[96];
	snprintf(type, sizeof type, "urn:duxos:problem:%s", code);
	if (resp->status != status)
		fail_msg("status %ld, expected %ld: %s", resp->status, status, resp->body);
	assert_string_equal(resp->content_type, "application/problem+json");
	assert_non_null(resp->json);
	assert_non_null(jstr(resp->json, "type"));
	assert_string_equal(jstr(resp->json, "type"), type);
	assert_int_equal((long)jnum(resp->json, "status"), status);
	assert_non_null(jstr(resp->json, "detail"));
	if (field) {
		assert_non_null(jstr(resp->json, "field"));
		assert_string_equal(jstr(resp->json, "field"), field);
		assert_non_null(strstr(jstr(resp->json, "detail"), field));
	}
}

static void expect_status(srv_t *s, const char *method, const char *path, long status)
{
	dux_client_resp_t resp;
	call(s, method, path, NULL, NULL, &resp);
	if (resp.status != status)
		fail_msg("%s %s: status %ld, expected %ld", method, path, resp.status, status);
	dux_client_resp_clear(&resp);
}

/* ---- routing and replies ---- */

static void test_handler_json_reply(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/hello", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.content_type, "application/json");
	assert_non_null(resp.json);
	assert_string_equal(jstr(resp.json, "hello"), "world");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp.json, "has_token")));
	dux_client_resp_clear(&resp);
}

static void test_path_params(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/items/abc-1", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(jstr(resp.json, "id"), "abc-1");
	assert_string_equal(jstr(resp.json, "method"), "GET");
	dux_client_resp_clear(&resp);

	call(s, "DELETE", "/v1/items/xyz", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(jstr(resp.json, "id"), "xyz");
	assert_string_equal(jstr(resp.json, "method"), "DELETE");
	dux_client_resp_clear(&resp);

	call(s, "GET", "/items/i9/parts/p7", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(jstr(resp.json, "id"), "i9");
	assert_string_equal(jstr(resp.json, "part"), "p7");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp.json, "no_other")));
	dux_client_resp_clear(&resp);
}

/* Every route, the daemon's and the built-in ones, answers the same as written and under /v1. */
static void test_every_route_under_v1(void **state)
{
	srv_t *s = *state;
	char *tok = NULL, auth[DUX_TOKEN_MAX + 32];
	assert_int_equal(dux_token_mint(s->key, "duxos", "Fuser", DUX_SCOPE_USER, 300, &tok), 0);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
	free(tok);
	const char *const hdrs[] = {auth, NULL};
	static const struct {
		const char *method, *path, *body;
		long status;
	} cases[] = {
		{"GET", "/hello", NULL, 200},
		{"GET", "/items/a1", NULL, 200},
		{"DELETE", "/items/a1", NULL, 200},
		{"GET", "/items/a1/parts/p2", NULL, 200},
		{"GET", "/query?n=3", NULL, 200},
		{"POST", "/echo", "{\"name\":\"v\"}", 200},
		{"GET", "/private", NULL, 200},
		{"GET", "/db", NULL, 200},
		{"GET", "/forgets", NULL, 500},
		{"GET", "/healthz", NULL, 200},
		{"GET", "/readyz", NULL, 200},
		{"GET", "/metrics", NULL, 200},
		{"GET", "/openapi.yaml", NULL, 200},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int v1 = 0; v1 < 2; v1++) {
			char path[128];
			snprintf(path, sizeof path, "%s%s", v1 ? "/v1" : "", cases[i].path);
			dux_client_resp_t resp;
			call(s, cases[i].method, path, hdrs, cases[i].body, &resp);
			if (resp.status != cases[i].status)
				fail_msg("%s %s: status %ld, expected %ld", cases[i].method, path,
					 resp.status, cases[i].status);
			dux_client_resp_clear(&resp);
		}
	}
}

static void test_query_i64(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/query", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal((int)jnum(resp.json, "n"), 7); /* default */
	dux_client_resp_clear(&resp);
	call(s, "GET", "/query?n=1", NULL, NULL, &resp);
	assert_int_equal((int)jnum(resp.json, "n"), 1);
	dux_client_resp_clear(&resp);
	call(s, "GET", "/query?n=100", NULL, NULL, &resp);
	assert_int_equal((int)jnum(resp.json, "n"), 100);
	dux_client_resp_clear(&resp);

	static const char *const bad[] = {
		"/query?n=0",   "/query?n=101", "/query?n=-5",   "/query?n=abc",
		"/query?n=5x",  "/query?n=",    "/query?n=1.5",  "/query?n=99999999999999999999",
		"/query?n=0x10", "/query?n=%2B5", "/query?n=%205", "/query?n=-%205",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		call(s, "GET", bad[i], NULL, NULL, &resp);
		if (resp.status != 400)
			fail_msg("%s: status %ld", bad[i], resp.status);
		assert_problem(&resp, 400, "invalid-query", "n");
		dux_client_resp_clear(&resp);
	}
}

static void test_query_num(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/query", NULL, NULL, &resp);
	assert_true(jnum(resp.json, "x") == 0.5); /* default */
	dux_client_resp_clear(&resp);
	call(s, "GET", "/query?x=0.25", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_true(jnum(resp.json, "x") == 0.25);
	dux_client_resp_clear(&resp);
	call(s, "GET", "/query?x=1", NULL, NULL, &resp);
	assert_true(jnum(resp.json, "x") == 1.0);
	dux_client_resp_clear(&resp);

	static const char *const bad[] = {"/query?x=1.01", "/query?x=-0.1", "/query?x=abc",
					  "/query?x=nan",  "/query?x=inf",  "/query?x=0.5q",
					  "/query?x="};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		call(s, "GET", bad[i], NULL, NULL, &resp);
		if (resp.status != 400)
			fail_msg("%s: status %ld", bad[i], resp.status);
		assert_problem(&resp, 400, "invalid-query", "x");
		dux_client_resp_clear(&resp);
	}
}

static void test_unknown_paths_404(void **state)
{
	srv_t *s = *state;
	static const char *const paths[] = {
		"/nope",       "/hello/",   "/items/abc/", "/items//parts/p", "//hello",
		"/v1/hello/",  "/v1//hello", "/items",     "/items/a/parts", "/v2/hello",
		"/hello/more", "/",
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		dux_client_resp_t resp;
		call(s, "GET", paths[i], NULL, NULL, &resp);
		if (resp.status != 404)
			fail_msg("%s: status %ld", paths[i], resp.status);
		assert_problem(&resp, 404, "not-found", NULL);
		assert_string_equal(jstr(resp.json, "instance"), paths[i]);
		dux_client_resp_clear(&resp);
	}
}

/* A path of any bytes (libmicrohttpd decodes %ff to the byte 0xff) still gets a problem that
 * is valid JSON and UTF-8: the instance escaped again, the detail's bad bytes replaced. */
static void test_undecodable_path_problem_is_utf8(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/no%ffpe%20x%25", NULL, NULL, &resp);
	assert_problem(&resp, 404, "not-found", NULL);
	assert_string_equal(jstr(resp.json, "instance"), "/no%FFpe%20x%25");
	assert_true(dux_text_ok(jstr(resp.json, "detail"), false));
	assert_non_null(strstr(jstr(resp.json, "detail"), "/no?pe x%"));
	assert_true(dux_text_ok(resp.body, false));
	dux_client_resp_clear(&resp);
}

static void test_wrong_method_405_allow(void **state)
{
	srv_t *s = *state;
	static const char *const paths[] = {"/items/q", "/v1/items/q"};
	for (size_t i = 0; i < 2; i++) {
		io_resp_t resp;
		assert_true(io_call(s->port, "PUT", paths[i], NULL, NULL, &resp));
		assert_int_equal(resp.status, 405);
		char allow[128], ct[128];
		assert_non_null(io_header(&resp, "Allow", allow, sizeof allow));
		assert_string_equal(allow, "GET, HEAD, DELETE");
		assert_non_null(io_header(&resp, "Content-Type", ct, sizeof ct));
		assert_string_equal(ct, "application/problem+json");
		assert_non_null(strstr(resp.body, "urn:duxos:problem:method-not-allowed"));
		io_resp_clear(&resp);
	}
	io_resp_t resp;
	assert_true(io_call(s->port, "POST", "/healthz", NULL, "", &resp));
	assert_int_equal(resp.status, 405);
	char allow[128];
	assert_string_equal(io_header(&resp, "Allow", allow, sizeof allow), "GET, HEAD");
	io_resp_clear(&resp);
}

/* HEAD is GET without the body: the same status and headers (the test handler echoes the method,
 * so the length it announces is that of its own body). */
static void test_head_is_get_without_body(void **state)
{
	srv_t *s = *state;
	io_resp_t get, head;
	char a[64], b[64];
	assert_true(io_call(s->port, "GET", "/items/q", NULL, NULL, &get));
	assert_true(io_call(s->port, "HEAD", "/items/q", NULL, NULL, &head));
	assert_int_equal(head.status, get.status);
	assert_int_equal(head.len, 0);
	assert_true(get.len > 0);
	assert_string_equal(io_header(&head, "Content-Type", a, sizeof a),
			    io_header(&get, "Content-Type", b, sizeof b));
	assert_non_null(io_header(&head, "Content-Length", a, sizeof a));
	assert_true(strtoul(a, NULL, 10) > 0);
	io_resp_clear(&get);
	io_resp_clear(&head);
	assert_true(io_call(s->port, "HEAD", "/healthz", NULL, NULL, &head));
	assert_int_equal(head.status, 200);
	io_resp_clear(&head);
}

/* A JSON body of exactly n bytes: {"name":"aaa..."}. Caller frees. */
static char *body_of_size(size_t n)
{
	const size_t frame = strlen("{\"name\":\"\"}");
	assert_true(n > frame);
	char *b = malloc(n + 1);
	assert_non_null(b);
	memcpy(b, "{\"name\":\"", 9);
	memset(b + 9, 'a', n - frame);
	memcpy(b + 9 + (n - frame), "\"}", 3);
	assert_int_equal(strlen(b), n);
	return b;
}

static void test_body_limit_413(void **state)
{
	srv_t *s = *state;
	char *at = body_of_size(MAX_BODY), *over = body_of_size(MAX_BODY + 1);
	char *big = body_of_size(4 * MAX_BODY); /* well over, yet read to its end and dropped */
	dux_client_resp_t resp;
	call(s, "POST", "/echo", NULL, at, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal((int)jnum(resp.json, "len"), MAX_BODY);
	dux_client_resp_clear(&resp);
	call(s, "POST", "/echo", NULL, over, &resp);
	assert_problem(&resp, 413, "body-too-large", NULL);
	dux_client_resp_clear(&resp);
	call(s, "POST", "/v1/echo", NULL, big, &resp);
	assert_problem(&resp, 413, "body-too-large", NULL);
	dux_client_resp_clear(&resp);
	free(at);
	free(over);
	free(big);
}

static void test_body_route_content_type_415(void **state)
{
	srv_t *s = *state;
	static const struct {
		const char *headers;
		int status;
	} cases[] = {
		{"", 415},
		{"Content-Type: text/plain\r\n", 415},
		{"Content-Type: application/jsonx\r\n", 415},
		{"Content-Type: application/x-www-form-urlencoded\r\n", 415},
		{"Content-Type: application/json\r\n", 200},
		{"Content-Type: application/json; charset=utf-8\r\n", 200},
		{"Content-Type: Application/JSON\r\n", 200},
		{"Content-Type: application/problem+json\r\n", 200},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		io_resp_t resp;
		assert_true(io_call(s->port, "POST", "/echo", cases[i].headers, "{\"name\":\"n\"}",
				    &resp));
		if (resp.status != cases[i].status)
			fail_msg("[%s]: status %d, expected %d", cases[i].headers, resp.status,
				 cases[i].status);
		if (cases[i].status == 415)
			assert_non_null(strstr(resp.body, "urn:duxos:problem:unsupported-media-type"));
		io_resp_clear(&resp);
	}
}

static void test_req_json_errors_400(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "POST", "/echo", NULL, "{\"name\": ", &resp);
	assert_problem(&resp, 400, "invalid-body", NULL);
	assert_null(cJSON_GetObjectItemCaseSensitive(resp.json, "field"));
	dux_client_resp_clear(&resp);

	call(s, "POST", "/echo", NULL, "[1,2]", &resp);
	assert_problem(&resp, 400, "invalid-body", NULL);
	dux_client_resp_clear(&resp);

	call(s, "POST", "/echo", NULL, "{\"name\":\"x\",\"colour\":\"red\"}", &resp);
	assert_problem(&resp, 400, "invalid-field", "colour");
	dux_client_resp_clear(&resp);

	call(s, "POST", "/echo", NULL, "{\"name\":\"x\",\"name\":\"y\"}", &resp);
	assert_problem(&resp, 400, "invalid-field", "name");
	dux_client_resp_clear(&resp);

	call(s, "POST", "/echo", NULL, "{\"name\":\"ok\",\"count\":2}", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(jstr(resp.json, "name"), "ok");
	dux_client_resp_clear(&resp);
}

static bool is_generated_id(const char *id)
{
	if (strlen(id) != 32)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static void test_request_id(void **state)
{
	srv_t *s = *state;
	char sixty_four[65], two_hundred[201], hdr[300], got[300];
	memset(sixty_four, 'k', 64);
	sixty_four[64] = '\0';
	memset(two_hundred, 'r', 200);
	two_hundred[200] = '\0';
	static const char *const good[] = {"abc-123_x.Y", "0"};
	for (size_t i = 0; i < 3; i++) {
		const char *id = i < 2 ? good[i] : sixty_four;
		snprintf(hdr, sizeof hdr, "X-Request-Id: %s\r\n", id);
		io_resp_t resp;
		assert_true(io_call(s->port, "GET", "/nope", hdr, NULL, &resp));
		assert_int_equal(resp.status, 404);
		assert_non_null(io_header(&resp, "X-Request-Id", got, sizeof got));
		assert_string_equal(got, id);
		cJSON *j = cJSON_Parse(resp.body);
		assert_string_equal(jstr(j, "request_id"), id);
		cJSON_Delete(j);
		io_resp_clear(&resp);
	}
	static const char *const bad[] = {"has spaces in it", "semi;colon", "quote\"d", "ü"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0] + 1; i++) {
		const char *id = i < sizeof bad / sizeof bad[0] ? bad[i] : two_hundred;
		snprintf(hdr, sizeof hdr, "X-Request-Id: %s\r\n", id);
		io_resp_t resp;
		assert_true(io_call(s->port, "GET", "/hello", hdr, NULL, &resp));
		assert_int_equal(resp.status, 200);
		assert_non_null(io_header(&resp, "X-Request-Id", got, sizeof got));
		if (!is_generated_id(got))
			fail_msg("sent [%s], got back [%s]", id, got);
		io_resp_clear(&resp);
	}
	/* none sent: one is made */
	io_resp_t resp;
	assert_true(io_call(s->port, "GET", "/hello", NULL, NULL, &resp));
	assert_true(is_generated_id(io_header(&resp, "X-Request-Id", got, sizeof got)));
	io_resp_clear(&resp);
}

/* A token signed by key with these claims, as dux_token_mint would make it but with claims
 * that dux_token_mint refuses to write (an expired one). Caller frees. */
static char *forge_token(const dux_key_t *key, const char *claims)
{
	static const char header[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
	size_t hl = dux_b64url_len(sizeof header - 1), cl = dux_b64url_len(strlen(claims));
	char *t = malloc(hl + 1 + cl + 1 + dux_b64url_len(DUX_ED25519_SIG_LEN) + 1);
	assert_non_null(t);
	dux_b64url_encode(header, sizeof header - 1, t);
	t[hl] = '.';
	dux_b64url_encode(claims, strlen(claims), t + hl + 1);
	uint8_t sig[DUX_ED25519_SIG_LEN];
	assert_int_equal(dux_key_sign(key, t, hl + 1 + cl, sig), 0);
	t[hl + 1 + cl] = '.';
	dux_b64url_encode(sig, sizeof sig, t + hl + 1 + cl + 1);
	return t;
}

static char *forge_token_exp(const dux_key_t *key, int64_t exp_from_now)
{
	char claims[256];
	int64_t now = dux_now_us() / 1000000;
	snprintf(claims, sizeof claims,
		 "{\"iss\":\"duxos\",\"sub\":\"Fforged\",\"scope\":\"user\",\"iat\":%lld,"
		 "\"exp\":%lld,\"jti\":\"0123456789abcdef0123456789abcdef\"}",
		 (long long)(now - 1000), (long long)(now + exp_from_now));
	return forge_token(key, claims);
}

static void test_scoped_route_tokens(void **state)
{
	srv_t *s = *state;
	char hdr[DUX_TOKEN_MAX + 64], v[256];
	io_resp_t resp;

	/* no token */
	assert_true(io_call(s->port, "GET", "/private", NULL, NULL, &resp));
	assert_int_equal(resp.status, 401);
	assert_string_equal(io_header(&resp, "WWW-Authenticate", v, sizeof v), "Bearer");
	assert_non_null(strstr(resp.body, "urn:duxos:problem:unauthenticated"));
	io_resp_clear(&resp);

	/* not a bearer token */
	assert_true(io_call(s->port, "GET", "/private", "Authorization: Basic dXNlcjpwdw==\r\n",
			    NULL, &resp));
	assert_int_equal(resp.status, 401);
	assert_non_null(io_header(&resp, "WWW-Authenticate", v, sizeof v));
	io_resp_clear(&resp);

	/* garbage, another deployment's key, the wrong issuer, expired */
	dux_key_t *other;
	assert_int_equal(dux_key_generate(&other), 0);
	char *toks[4] = {strdup("not.a.token"), NULL, NULL, NULL};
	assert_non_null(toks[0]);
	assert_int_equal(dux_token_mint(other, "duxos", "Fuser", DUX_SCOPE_USER, 300, &toks[1]), 0);
	assert_int_equal(dux_token_mint(s->key, "elsewhere", "Fuser", DUX_SCOPE_USER, 300, &toks[2]),
			 0);
	toks[3] = forge_token_exp(s->key, -600); /* beyond the 60 s leeway */
	other = dux_key_free(other);
	for (int i = 0; i < 4; i++) {
		snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", toks[i]);
		free(toks[i]);
		assert_true(io_call(s->port, "GET", "/private", hdr, NULL, &resp));
		if (resp.status != 401)
			fail_msg("bad token %d: status %d", i, resp.status);
		assert_non_null(io_header(&resp, "WWW-Authenticate", v, sizeof v));
		assert_non_null(strstr(v, "invalid_token"));
		assert_non_null(strstr(resp.body, "urn:duxos:problem:invalid-token"));
		io_resp_clear(&resp);
	}

	/* valid, but without a scope the route admits */
	char *tok;
	assert_int_equal(dux_token_mint(s->key, "duxos", "Fprov", DUX_SCOPE_PROVIDER, 300, &tok), 0);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
	free(tok);
	assert_true(io_call(s->port, "GET", "/private", hdr, NULL, &resp));
	assert_int_equal(resp.status, 403);
	assert_non_null(strstr(resp.body, "urn:duxos:problem:insufficient-scope"));
	io_resp_clear(&resp);

	/* the forged tokens are well made: one that has not expired passes */
	tok = forge_token_exp(s->key, 300);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
	free(tok);
	assert_true(io_call(s->port, "GET", "/private", hdr, NULL, &resp));
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, "Fforged"));
	io_resp_clear(&resp);

	/* either admitted scope passes, and the handler sees the token's sub */
	unsigned scopes[] = {DUX_SCOPE_USER, DUX_SCOPE_ADMIN | DUX_SCOPE_SERVICE};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dux_token_mint(s->key, "duxos", "Fsub42", scopes[i], 300, &tok), 0);
		snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
		free(tok);
		assert_true(io_call(s->port, "GET", "/v1/private", hdr, NULL, &resp));
		assert_int_equal(resp.status, 200);
		cJSON *j = cJSON_Parse(resp.body);
		assert_string_equal(jstr(j, "sub"), "Fsub42");
		cJSON_Delete(j);
		io_resp_clear(&resp);
	}
}

/* GET /private as a token of sub with scopes: the status (Retry-After in after, if any). */
static int private_as(srv_t *s, const char *sub, unsigned scopes, char after[16])
{
	char hdr[DUX_TOKEN_MAX + 64], *tok;
	io_resp_t resp;
	assert_int_equal(dux_token_mint(s->key, "duxos", sub, scopes, 300, &tok), 0);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
	free(tok);
	assert_true(io_call(s->port, "GET", "/private", hdr, NULL, &resp));
	int status = resp.status;
	if (status == 429)
		assert_non_null(strstr(resp.body, "urn:duxos:problem:rate-limited"));
	if (!io_header(&resp, "Retry-After", after, 16))
		after[0] = '\0';
	io_resp_clear(&resp);
	return status;
}

/* http.rate_limit: a user's requests beyond the burst get 429 with Retry-After, other users
 * and admins are not held back, and the bucket fills again with time. */
static void test_rate_limit_per_caller(void **state)
{
	srv_t *s = *state;
	s->h = dux_http_stop(s->h);
	s->rate = 3;
	srv_start(s);
	char after[16];
	for (int i = 0; i < 3; i++)
		assert_int_equal(private_as(s, "Fann", DUX_SCOPE_USER, after), 200);
	assert_int_equal(private_as(s, "Fann", DUX_SCOPE_USER, after), 429);
	assert_string_equal(after, "1");
	assert_int_equal(private_as(s, "Fbob", DUX_SCOPE_USER, after), 200);
	for (int i = 0; i < 10; i++)
		assert_int_equal(private_as(s, "Fops", DUX_SCOPE_ADMIN, after), 200);
	io_sleep_ms(1100); /* 3 a second: the bucket is full again */
	for (int i = 0; i < 3; i++)
		assert_int_equal(private_as(s, "Fann", DUX_SCOPE_USER, after), 200);
	assert_int_equal(private_as(s, "Fann", DUX_SCOPE_USER, after), 429);
}

static void test_db_route_unusable_503(void **state)
{
	srv_t *s = *state;
	expect_status(s, "GET", "/db", 200);
	atomic_store(&s->app.usable, false);
	io_resp_t resp;
	char v[64];
	assert_true(io_call(s->port, "GET", "/db", NULL, NULL, &resp));
	assert_int_equal(resp.status, 503);
	assert_non_null(io_header(&resp, "Retry-After", v, sizeof v));
	assert_true(atoi(v) > 0);
	assert_non_null(strstr(resp.body, "urn:duxos:problem:unavailable"));
	io_resp_clear(&resp);
	expect_status(s, "GET", "/hello", 200); /* routes without DUX_ROUTE_DB still serve */
	expect_status(s, "GET", "/readyz", 200); /* readiness is ready()'s alone */
	atomic_store(&s->app.usable, true);
	expect_status(s, "GET", "/db", 200);
}

static void test_healthz_readyz(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/healthz", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(jstr(resp.json, "status"), "ok");
	dux_client_resp_clear(&resp);
	call(s, "GET", "/readyz", NULL, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(jstr(resp.json, "status"), "ready");
	dux_client_resp_clear(&resp);

	atomic_store(&s->app.ready, false);
	io_resp_t raw;
	char v[64];
	assert_true(io_call(s->port, "GET", "/readyz", NULL, NULL, &raw));
	assert_int_equal(raw.status, 503);
	assert_non_null(io_header(&raw, "Retry-After", v, sizeof v));
	io_resp_clear(&raw);
	expect_status(s, "GET", "/healthz", 200); /* alive even when not ready */
	expect_status(s, "GET", "/db", 200);      /* usable() alone gates DUX_ROUTE_DB */
	atomic_store(&s->app.ready, true);
	expect_status(s, "GET", "/readyz", 200);
}

/* The value of one exact series ("name{labels}") in a Prometheus text, or -1. */
static long long series_value(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	}
	return -1;
}

static void test_metrics_count_requests(void **state)
{
	srv_t *s = *state;
	for (int i = 0; i < 3; i++)
		expect_status(s, "GET", "/hello", 200);
	expect_status(s, "GET", "/items/a", 200);
	expect_status(s, "GET", "/v1/items/b", 200);
	expect_status(s, "GET", "/query?n=0", 400);
	expect_status(s, "GET", "/nope", 404);
	expect_status(s, "GET", "/hello/", 404);
	expect_status(s, "POST", "/hello", 405);
	expect_status(s, "GET", "/forgets", 500);

	static const struct {
		const char *series;
		long long want;
	} want[] = {
		{"dux_http_requests_total{method=\"GET\",route=\"/hello\",code=\"2xx\"}", 3},
		{"dux_http_requests_total{method=\"GET\",route=\"/hello\",code=\"4xx\"}", 0},
		{"dux_http_requests_total{method=\"GET\",route=\"/items/{id}\",code=\"2xx\"}", 2},
		{"dux_http_requests_total{method=\"DELETE\",route=\"/items/{id}\",code=\"2xx\"}", 0},
		{"dux_http_requests_total{method=\"GET\",route=\"/query\",code=\"4xx\"}", 1},
		{"dux_http_requests_total{method=\"GET\",route=\"/query\",code=\"2xx\"}", 0},
		{"dux_http_requests_total{method=\"GET\",route=\"/forgets\",code=\"5xx\"}", 1},
		{"dux_http_requests_total{method=\"\",route=\"unmatched\",code=\"4xx\"}", 3},
		{"dux_http_request_duration_seconds_count{method=\"GET\",route=\"/hello\"}", 3},
	};
	/* Requests are counted when their connection is done with them: poll until they show. */
	int64_t deadline = io_now_ms() + 5000;
	char mismatch[256] = "";
	for (;;) {
		dux_client_resp_t resp;
		call(s, "GET", "/metrics", NULL, NULL, &resp);
		assert_int_equal(resp.status, 200);
		assert_non_null(strstr(resp.content_type, "text/plain"));
		assert_non_null(strstr(resp.body, "# TYPE dux_http_requests_total counter\n"));
		mismatch[0] = '\0';
		for (size_t i = 0; i < sizeof want / sizeof want[0] && !mismatch[0]; i++) {
			long long got = series_value(resp.body, want[i].series);
			if (got != want[i].want)
				snprintf(mismatch, sizeof mismatch, "%s = %lld, expected %lld",
					 want[i].series, got, want[i].want);
		}
		dux_client_resp_clear(&resp);
		if (!mismatch[0] || io_now_ms() > deadline)
			break;
		io_sleep_ms(20);
	}
	if (mismatch[0])
		fail_msg("%s", mismatch);
}

static void test_openapi_verbatim(void **state)
{
	srv_t *s = *state;
	for (int v1 = 0; v1 < 2; v1++) {
		io_resp_t resp;
		char ct[128];
		assert_true(io_call(s->port, "GET", v1 ? "/v1/openapi.yaml" : "/openapi.yaml", NULL,
				    NULL, &resp));
		assert_int_equal(resp.status, 200);
		assert_non_null(io_header(&resp, "Content-Type", ct, sizeof ct));
		assert_string_equal(ct, "application/yaml");
		assert_int_equal(resp.len, sizeof openapi_doc - 1);
		assert_memory_equal(resp.body, openapi_doc, sizeof openapi_doc - 1);
		io_resp_clear(&resp);
	}
}

static void test_handler_without_reply_500(void **state)
{
	srv_t *s = *state;
	dux_client_resp_t resp;
	call(s, "GET", "/forgets", NULL, NULL, &resp);
	assert_problem(&resp, 500, "internal", NULL);
	dux_client_resp_clear(&resp);
}

/* ---- connections ---- */

static void test_keepalive_one_connection(void **state)
{
	srv_t *s = *state;
	int fd = io_connect(s->port);
	assert_true(fd >= 0);
	static const char *const paths[] = {"/hello", "/items/k2", "/nope", "/hello"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char *req = io_request("GET", paths[i], NULL, NULL);
		assert_non_null(req);
		assert_true(io_send_all(fd, req, strlen(req)));
		free(req);
		io_resp_t resp;
		if (!io_read_resp(fd, &resp))
			fail_msg("request %zu (%s): no response on the kept-alive connection", i + 1,
				 paths[i]);
		assert_int_equal(resp.status, strcmp(paths[i], "/nope") == 0 ? 404 : 200);
		char v[64];
		if (io_header(&resp, "Connection", v, sizeof v))
			assert_string_not_equal(v, "close");
		io_resp_clear(&resp);
	}
	/* and a body-carrying request on the same connection */
	char *req = io_request("POST", "/echo", "Content-Type: application/json\r\n",
			       "{\"name\":\"ka\"}");
	assert_true(io_send_all(fd, req, strlen(req)));
	free(req);
	io_resp_t resp;
	assert_true(io_read_resp(fd, &resp));
	assert_int_equal(resp.status, 200);
	io_resp_clear(&resp);
	close(fd);
}

/* Several rounds, each on a fresh server: a connection attempt right after dux_http_quiesce
 * returns must be refused, while a connection opened before still gets its answers. */
static void test_quiesce_refuses_new_connections(void **state)
{
	srv_t *s = *state;
	char *req = io_request("GET", "/hello", NULL, NULL);
	assert_non_null(req);
	for (int round = 0; round < 10; round++) {
		if (round > 0) {
			s->h = dux_http_stop(s->h);
			srv_start(s);
		}
		int open_fd = io_connect(s->port);
		assert_true(open_fd >= 0);
		io_resp_t resp;
		assert_true(io_send_all(open_fd, req, strlen(req)));
		assert_true(io_read_resp(open_fd, &resp));
		assert_int_equal(resp.status, 200);
		io_resp_clear(&resp);

		dux_http_quiesce(s->h);
		dux_http_quiesce(s->h); /* twice is harmless */
		int fd = io_connect(s->port);
		if (fd >= 0) {
			close(fd);
			close(open_fd);
			free(req);
			fail_msg("round %d: a new connection was accepted after dux_http_quiesce",
				 round + 1);
		}
		assert_true(io_send_all(open_fd, req, strlen(req)));
		assert_true(io_read_resp(open_fd, &resp));
		assert_int_equal(resp.status, 200);
		io_resp_clear(&resp);
		close(open_fd);
	}
	free(req);
}

#define NTHREADS 8
#define NREQS 200

typedef struct {
	int port, t;
	int ok;
	char err[200];
} worker_t;

static void *worker(void *arg)
{
	worker_t *w = arg;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", w->port);
	dux_client_opts_t co = {.base_url = url, .timeout_ms = 10000};
	dux_client_t *c;
	if (dux_client_new(&co, &c) < 0) {
		snprintf(w->err, sizeof w->err, "dux_client_new failed");
		return NULL;
	}
	for (int i = 0; i < NREQS; i++) {
		char path[64], id[32];
		snprintf(id, sizeof id, "t%d-%d", w->t, i);
		snprintf(path, sizeof path, "%s/items/%s", i % 2 ? "/v1" : "", id);
		dux_client_resp_t resp;
		int r = dux_client_do(c, "GET", path, NULL, NULL, 0, &resp);
		if (r < 0) {
			snprintf(w->err, sizeof w->err, "%s: %s", path, dux_client_errmsg(c));
			continue;
		}
		const char *got = jstr(resp.json, "id");
		if (resp.status == 200 && got && strcmp(got, id) == 0)
			w->ok++;
		else
			snprintf(w->err, sizeof w->err, "%s: status %ld body %.100s", path,
				 resp.status, resp.body);
		dux_client_resp_clear(&resp);
	}
	dux_client_free(c);
	return NULL;
}

static void test_concurrent_requests(void **state)
{
	srv_t *s = *state;
	pthread_t th[NTHREADS];
	worker_t w[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (worker_t){.port = s->port, .t = i};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
		if (w[i].err[0])
			print_error("thread %d: %s\n", i, w[i].err);
	}
	assert_int_equal(ok, NTHREADS * NREQS);
	/* a request leaves the in-flight count once its connection is done with it */
	int64_t deadline = io_now_ms() + 2000;
	while (dux_http_inflight(s->h) != 0 && io_now_ms() < deadline)
		io_sleep_ms(5);
	assert_int_equal(dux_http_inflight(s->h), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, srv_setup, srv_teardown)

int main(void)
{
	dux_log_init("unit_http", DUX_LOG_WARN);
	const struct CMUnitTest tests[] = {
		T(test_handler_json_reply),
		T(test_path_params),
		T(test_every_route_under_v1),
		T(test_query_i64),
		T(test_query_num),
		T(test_unknown_paths_404),
		T(test_undecodable_path_problem_is_utf8),
		T(test_rate_limit_per_caller),
		T(test_wrong_method_405_allow),
		T(test_head_is_get_without_body),
		T(test_body_limit_413),
		T(test_body_route_content_type_415),
		T(test_req_json_errors_400),
		T(test_request_id),
		T(test_scoped_route_tokens),
		T(test_db_route_unusable_503),
		T(test_healthz_readyz),
		T(test_metrics_count_requests),
		T(test_openapi_verbatim),
		T(test_handler_without_reply_500),
		T(test_keepalive_one_connection),
		T(test_quiesce_refuses_new_connections),
		T(test_concurrent_requests),
	};
	if (getenv("UNIT_FILTER")) /* UNIT_FILTER='test_x*': only those tests */
		cmocka_set_test_filter(getenv("UNIT_FILTER"));
	return cmocka_run_group_tests_name("unit_http", tests, NULL, NULL);
}
