/* registry_api.c - duxos-registry's HTTP API against a real PostgreSQL: the seed's Node
 * Registration Flow, every refusal with its status and problem type, lists and filters,
 * reputation, topology and the event log. */
#include "registry_util.h"
#include <dux/address.h>
#include <dux/auth.h>
#include <dux/sign.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

static th_pg_t pg;
static th_daemon_t reg;
static dux_key_t *auth;
static char keyfile[64];
static const char *url;

static int setup(void **state)
{
	(void)state;
	char extra[256];
	snprintf(keyfile, sizeof keyfile, "/tmp/duxos-test-auth-%d.pem", (int)getpid());
	if (!th_pg_newdb(&pg) || !th_auth_key(keyfile, &auth))
		return -1;
	snprintf(extra, sizeof extra, "auth:\n  public_key_file: %s\n", keyfile);
	if (!th_daemon_start(&reg, "duxos-registry", &pg, extra, true))
		return -1;
	url = reg.url;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	int st = th_daemon_stop(&reg);
	unlink(keyfile);
	dux_key_free(auth);
	/* the daemon runs under AddressSanitizer: a clean exit means no leak and no crash */
	return st == 0 ? 0 : -1;
}

/* Sends a signed request and checks status and problem type ("" for none). */
static void expect_signed(th_node_t *n, const char *method, const char *path, const char *body,
			  int64_t counter, long status, const char *problem)
{
	dux_client_resp_t resp;
	assert_int_equal(th_signed(url, n, method, path, body, counter, &resp), 0);
	if (resp.status != status || strcmp(th_problem(&resp), problem) != 0)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, resp.status, resp.body);
	assert_int_equal(resp.status, status);
	assert_string_equal(th_problem(&resp), problem);
	dux_client_resp_clear(&resp);
}

static void expect_plain(const char *method, const char *path, const char *body,
			 const char *const *headers, long status, const char *problem)
{
	dux_client_resp_t resp;
	assert_int_equal(th_http(url, method, path, body, headers, &resp), 0);
	if (resp.status != status || strcmp(th_problem(&resp), problem) != 0)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, resp.status, resp.body);
	assert_int_equal(resp.status, status);
	assert_string_equal(th_problem(&resp), problem);
	dux_client_resp_clear(&resp);
}

static void register_creates_then_updates(void **state)
{
	(void)state;
	th_node_t n;
	char wallet[64], path[80];
	assert_true(th_node_new(&n));
	th_address(wallet);
	char *body = reg_body(&n, wallet, 8080, "[\"api_hosting\",\"task_execution\"]");
	dux_client_resp_t resp;
	assert_int_equal(th_signed(url, &n, "POST", "/nodes/register", body, 0, &resp), 0);
	assert_int_equal(resp.status, 201);
	assert_string_equal(cJSON_GetObjectItem(resp.json, "node_id")->valuestring, n.id);
	dux_client_resp_clear(&resp);
	free(body);

	/* read it once, so that the answer is cached: the update below must not be hidden */
	snprintf(path, sizeof path, "/v1/nodes/%s", n.id);
	assert_int_equal(get_json(url, path, NULL), 200);

	/* re-registering with a new port updates the same node */
	body = reg_body(&n, wallet, 9090, "[\"task_execution\"]");
	assert_int_equal(th_signed(url, &n, "POST", "/v1/nodes/register", body, 0, &resp), 0);
	assert_int_equal(resp.status, 200);
	dux_client_resp_clear(&resp);
	free(body);

	/* without "resources", the ones advertised before stay */
	char nores[512];
	snprintf(nores, sizeof nores,
		 "{\"public_key\":\"%s\",\"wallet_address\":\"%s\",\"ip_address\":\"10.0.0.7\","
		 "\"port\":9090,\"capabilities\":[\"task_execution\"]}",
		 n.pub_b64, wallet);
	assert_int_equal(th_signed(url, &n, "POST", "/v1/nodes/register", nores, 0, &resp), 0);
	assert_int_equal(resp.status, 200);
	dux_client_resp_clear(&resp);

	cJSON *node = NULL;
	snprintf(path, sizeof path, "/v1/nodes/%s", n.id);
	assert_int_equal(get_json(url, path, &node), 200);
	assert_int_equal(cJSON_GetObjectItem(node, "port")->valueint, 9090);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(node, "capabilities")), 1);
	cJSON *res = cJSON_GetObjectItem(node, "resources");
	assert_int_equal(cJSON_GetObjectItem(res, "cpu_cores")->valueint, 4);
	assert_int_equal(cJSON_GetObjectItem(res, "memory_mb")->valueint, 4096);
	cJSON_Delete(node);
	th_node_free(&n);
}

static void node_has_every_seed_field(void **state)
{
	(void)state;
	static const char *const fields[] = {
		"node_id", "wallet_address", "ip_address", "port", "capabilities",
		"reputation_score", "total_tasks_completed", "success_rate", "last_heartbeat",
		"uptime", "load_average", "available_memory", "available_cpu", "status", NULL};
	th_node_t n;
	char path[80];
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(url, &n, "[\"api_hosting\"]"), 201);
	assert_int_equal(heartbeat(url, &n, 0), 200);
	cJSON *node = NULL;
	snprintf(path, sizeof path, "/nodes/%s", n.id);
	assert_int_equal(get_json(url, path, &node), 200);
	for (const char *const *f = fields; *f; f++)
		assert_non_null(cJSON_GetObjectItem(node, *f));
	assert_string_equal(cJSON_GetObjectItem(node, "status")->valuestring, "online");
	assert_string_equal(cJSON_GetObjectItem(node, "ip_address")->valuestring, "10.0.0.7");
	assert_int_equal(cJSON_GetObjectItem(node, "uptime")->valueint, 1234);
	assert_int_equal(cJSON_GetObjectItem(node, "available_memory")->valueint, 2048);
	assert_true(cJSON_GetObjectItem(node, "available_cpu")->valuedouble == 3.5);
	cJSON *la = cJSON_GetObjectItem(node, "load_average");
	assert_int_equal(cJSON_GetArraySize(la), 3);
	assert_true(cJSON_GetArrayItem(la, 0)->valuedouble == 0.5);
	/* a new node scores the prior: 1 / (1 + 1) */
	assert_true(cJSON_GetObjectItem(node, "reputation_score")->valuedouble == 0.5);
	cJSON_Delete(node);
	th_node_free(&n);
}

/* Copies tmpl replacing "PK" with pk and "\"W\"" with the quoted wallet. */
static void subst(const char *tmpl, const char *pk, const char *wallet, char *out, size_t len)
{
	size_t o = 0;
	for (const char *t = tmpl; *t && o + 1 < len;) {
		if (strncmp(t, "PK", 2) == 0) {
			o += (size_t)snprintf(out + o, len - o, "%s", pk);
			t += 2;
		} else if (strncmp(t, "\"W\"", 3) == 0) {
			o += (size_t)snprintf(out + o, len - o, "\"%s\"", wallet);
			t += 3;
		} else {
			out[o++] = *t++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static void register_refusals(void **state)
{
	(void)state;
	th_node_t n, other;
	char wallet[64], *body;
	assert_true(th_node_new(&n) && th_node_new(&other));
	th_address(wallet);
	const char *json_ct[] = {"Content-Type: application/json", NULL};
	const char *text_ct[] = {"Content-Type: text/plain", NULL};
	const char *p = "/v1/nodes/register";

	expect_plain("POST", p, "{\"port\": 80,", json_ct, 400, "invalid-body");
	expect_plain("POST", p, "[1,2]", json_ct, 400, "invalid-body");
	expect_plain("POST", p, "{\"public_key\":\"x\"}", text_ct, 415, "unsupported-media-type");
	body = reg_body(&n, wallet, 8080, "[\"api_hosting\"]");
	expect_plain("POST", p, body, json_ct, 401, "signature-required");
	/* signed by another key than the one registered */
	{
		char sig[DUX_SIG_B64_LEN + 1], h1[80], h2[64], h3[128];
		int64_t c = th_node_counter(&n);
		assert_int_equal(dux_sign_request(other.key, "POST", p, n.id, c, body, strlen(body), sig), 0);
		snprintf(h1, sizeof h1, "X-Dux-Node: %s", n.id);
		snprintf(h2, sizeof h2, "X-Dux-Counter: %lld", (long long)c);
		snprintf(h3, sizeof h3, "X-Dux-Signature: %s", sig);
		const char *h[] = {"Content-Type: application/json", h1, h2, h3, NULL};
		expect_plain("POST", p, body, h, 401, "bad-signature");
	}
	/* the signature covers the path: a valid signature for another path fails */
	{
		char sig[DUX_SIG_B64_LEN + 1], h1[80], h2[64], h3[128];
		int64_t c = th_node_counter(&n);
		assert_int_equal(dux_sign_request(n.key, "POST", "/nodes/register", n.id, c, body, strlen(body), sig), 0);
		snprintf(h1, sizeof h1, "X-Dux-Node: %s", n.id);
		snprintf(h2, sizeof h2, "X-Dux-Counter: %lld", (long long)c);
		snprintf(h3, sizeof h3, "X-Dux-Signature: %s", sig);
		const char *h[] = {"Content-Type: application/json", h1, h2, h3, NULL};
		expect_plain("POST", p, body, h, 401, "bad-signature");
	}
	free(body);
	/* the registration is signed by the key it carries: naming another node is refused */
	body = reg_body(&other, wallet, 8080, "[\"api_hosting\"]");
	expect_signed(&n, "POST", p, body, 0, 401, "node-mismatch");
	free(body);

	struct {
		const char *tmpl; /* PK = the node's public key, W = a valid wallet */
		const char *field;
	} bad[] = {
		{"{\"public_key\":\"PK\",\"wallet_address\":\"F1111111111111111111111111\",\"ip_address\":\"10.0.0.1\",\"port\":80,\"capabilities\":[\"api_hosting\"]}", "wallet_address"},
		{"{\"public_key\":\"PK\",\"ip_address\":\"10.0.0.1\",\"port\":80,\"capabilities\":[\"api_hosting\"]}", "wallet_address"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.1\",\"port\":\"80\",\"capabilities\":[]}", "port"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.1\",\"port\":70000,\"capabilities\":[]}", "port"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.300\",\"port\":80,\"capabilities\":[]}", "ip_address"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.1\",\"port\":80,\"capabilities\":[\"Bad Cap\"]}", "capabilities"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.1\",\"port\":80,\"capabilities\":\"api_hosting\"}", "capabilities"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.1\",\"port\":80,\"capabilities\":[],\"resources\":{\"gpus\":1}}", "resources"},
		{"{\"public_key\":\"PK\",\"wallet_address\":\"W\",\"ip_address\":\"10.0.0.1\",\"port\":80,\"capabilities\":[],\"colour\":\"red\"}", "colour"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char fixed[1100];
		subst(bad[i].tmpl, n.pub_b64, wallet, fixed, sizeof fixed);
		dux_client_resp_t resp;
		assert_int_equal(th_signed(url, &n, "POST", p, fixed, 0, &resp), 0);
		const cJSON *field = cJSON_GetObjectItem(resp.json, "field");
		if (resp.status != 400 || !field || strcmp(field->valuestring, bad[i].field) != 0)
			fprintf(stderr, "case %zu: %ld %s\n", i, resp.status, resp.body);
		assert_int_equal(resp.status, 400);
		assert_string_equal(field->valuestring, bad[i].field);
		dux_client_resp_clear(&resp);
	}
	/* a testnet address is not a mainnet one */
	{
		char *pem = NULL, tw[64];
		assert_int_equal(dux_address_new(DUX_NET_TESTNET, tw, &pem), 0);
		free(pem);
		body = reg_body(&n, tw, 8080, "[\"api_hosting\"]");
		expect_signed(&n, "POST", p, body, 0, 400, "invalid-field");
		free(body);
	}
	/* body over the limit (65536 by default) */
	{
		size_t big = 70000;
		char *huge = malloc(big + 1);
		memset(huge, ' ', big);
		memcpy(huge, "{\"a\":1", 6);
		huge[big - 1] = '}';
		huge[big] = '\0';
		expect_plain("POST", p, huge, json_ct, 413, "body-too-large");
		free(huge);
	}
	/* a flood is cut short: 413 or a closed connection, never the whole body read */
	{
		size_t big = 4u << 20;
		char *huge = malloc(big + 1);
		memset(huge, ' ', big);
		huge[0] = '{';
		huge[big - 1] = '}';
		huge[big] = '\0';
		dux_client_resp_t resp;
		int rc = th_http(url, "POST", p, huge, json_ct, &resp);
		if (rc == 0) {
			assert_int_equal(resp.status, 413);
			dux_client_resp_clear(&resp);
		} else {
			assert_int_equal(rc, DUX_EUNAVAIL);
		}
		free(huge);
		assert_int_equal(get_json(url, "/healthz", NULL), 200);
	}
	/* nothing above registered anything */
	char path[80];
	snprintf(path, sizeof path, "/v1/nodes/%s", n.id);
	assert_int_equal(get_json(url, path, NULL), 404);
	th_node_free(&n);
	th_node_free(&other);
}

static void replays_refused(void **state)
{
	(void)state;
	th_node_t n;
	char wallet[64], path[96];
	assert_true(th_node_new(&n));
	th_address(wallet);
	char *body = reg_body(&n, wallet, 8080, "[\"api_hosting\"]");
	int64_t c = th_node_counter(&n);
	expect_signed(&n, "POST", "/v1/nodes/register", body, c, 201, "");
	expect_signed(&n, "POST", "/v1/nodes/register", body, c, 409, "replayed");
	free(body);

	snprintf(path, sizeof path, "/v1/nodes/%s/heartbeat", n.id);
	const char *hb = "{\"load_average\":[1,1,1],\"available_memory\":1,\"available_cpu\":1,"
			 "\"uptime\":1}";
	c = th_node_counter(&n);
	expect_signed(&n, "POST", path, hb, c, 200, "");
	expect_signed(&n, "POST", path, hb, c, 409, "replayed");     /* the same request again */
	expect_signed(&n, "POST", path, hb, c - 5, 409, "replayed"); /* an older one */
	/* a counter far from our clock, even if larger, is refused */
	expect_signed(&n, "POST", path, hb, c + 3600 * 1000, 401, "counter-out-of-window");
	expect_signed(&n, "POST", path, hb, c - 3600 * 1000, 401, "counter-out-of-window");
	/* the counter must be written canonically: the signature covers the number */
	{
		char sig[DUX_SIG_B64_LEN + 1], h1[80], h2[64], h3[128];
		c = th_node_counter(&n);
		assert_int_equal(dux_sign_request(n.key, "POST", path, n.id, c, hb, strlen(hb), sig), 0);
		snprintf(h1, sizeof h1, "X-Dux-Node: %s", n.id);
		snprintf(h2, sizeof h2, "X-Dux-Counter: 0%lld", (long long)c);
		snprintf(h3, sizeof h3, "X-Dux-Signature: %s", sig);
		const char *h[] = {"Content-Type: application/json", h1, h2, h3, NULL};
		expect_plain("POST", path, hb, h, 401, "bad-counter");
	}
	assert_int_equal(heartbeat(url, &n, 0), 200);
	th_node_free(&n);
}

static void heartbeat_refusals(void **state)
{
	(void)state;
	th_node_t n, other;
	char path[96], opath[96];
	assert_true(th_node_new(&n) && th_node_new(&other));
	assert_int_equal(reg_node(url, &n, "[\"task_execution\"]"), 201);
	snprintf(path, sizeof path, "/nodes/%s/heartbeat", n.id);
	snprintf(opath, sizeof opath, "/nodes/%s/heartbeat", other.id);
	const char *ok = "{\"load_average\":[0.1,0.2,0.3],\"available_memory\":10,"
			 "\"available_cpu\":1,\"uptime\":5}";
	expect_signed(&other, "POST", opath, ok, 0, 404, "not-found"); /* never registered */
	expect_signed(&n, "POST", "/nodes/zz/heartbeat", ok, 0, 404, "not-found");
	/* another node signing for n: its header names itself, not n */
	expect_signed(&other, "POST", path, ok, 0, 401, "node-mismatch");
	const char *json_ct[] = {"Content-Type: application/json", NULL};
	expect_plain("POST", path, ok, json_ct, 401, "signature-required");
	struct {
		const char *body, *field;
	} bad[] = {
		{"{\"load_average\":[0.1,0.2],\"available_memory\":10,\"available_cpu\":1,\"uptime\":5}", "load_average"},
		{"{\"load_average\":[0.1,\"x\",0.3],\"available_memory\":10,\"available_cpu\":1,\"uptime\":5}", "load_average"},
		{"{\"load_average\":[0.1,0.2,0.3],\"available_memory\":-1,\"available_cpu\":1,\"uptime\":5}", "available_memory"},
		{"{\"load_average\":[0.1,0.2,0.3],\"available_memory\":10,\"available_cpu\":\"1\",\"uptime\":5}", "available_cpu"},
		{"{\"load_average\":[0.1,0.2,0.3],\"available_memory\":10,\"available_cpu\":1}", "uptime"},
		{"{\"load_average\":[0.1,0.2,0.3],\"available_memory\":10,\"available_cpu\":1,\"uptime\":5,\"x\":1}", "x"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		dux_client_resp_t resp;
		assert_int_equal(th_signed(url, &n, "POST", path, bad[i].body, 0, &resp), 0);
		const cJSON *field = cJSON_GetObjectItem(resp.json, "field");
		if (resp.status != 400 || !field)
			fprintf(stderr, "case %zu: %ld %s\n", i, resp.status, resp.body);
		assert_int_equal(resp.status, 400);
		assert_string_equal(field->valuestring, bad[i].field);
		dux_client_resp_clear(&resp);
	}
	expect_signed(&n, "POST", path, "not json", 0, 400, "invalid-body");
	expect_signed(&n, "POST", path, ok, 0, 200, "");
	th_node_free(&n);
	th_node_free(&other);
}

static int count_nodes(const char *query)
{
	cJSON *page = NULL;
	char path[256];
	snprintf(path, sizeof path, "/v1/nodes?limit=500%s", query);
	if (get_json(url, path, &page) != 200)
		return -1;
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(page, "nodes"));
	cJSON_Delete(page);
	return n;
}

static void list_filters_and_pages(void **state)
{
	(void)state;
	th_node_t n[5];
	for (int i = 0; i < 5; i++) {
		assert_true(th_node_new(&n[i]));
		assert_int_equal(reg_node(url, &n[i], i < 2 ? "[\"gpu_compute\"]" : "[\"storage_x\"]"), 201);
	}
	assert_int_equal(count_nodes("&capability=gpu_compute"), 2);
	assert_int_equal(count_nodes("&capability=storage_x&status=online"), 3);
	assert_int_equal(count_nodes("&capability=storage_x&status=offline"), 0);
	assert_int_equal(count_nodes("&capability=gpu_compute&min_reputation=0.5"), 2);
	assert_int_equal(count_nodes("&capability=gpu_compute&min_reputation=0.6"), 0);

	/* pages of 2 chain through all the nodes once each, in id order */
	int total = count_nodes(""), seen = 0;
	char cursor[40] = "", last[40] = "";
	for (int guard = 0; guard < 100; guard++) {
		char path[128];
		cJSON *page = NULL;
		snprintf(path, sizeof path, "/v1/nodes?limit=2%s%s", cursor[0] ? "&cursor=" : "", cursor);
		assert_int_equal(get_json(url, path, &page), 200);
		cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(page, "nodes"))
		{
			const char *id = cJSON_GetObjectItem(e, "node_id")->valuestring;
			assert_true(strcmp(id, last) > 0);
			snprintf(last, sizeof last, "%s", id);
			seen++;
		}
		cJSON *next = cJSON_GetObjectItem(page, "next_cursor");
		bool more = cJSON_IsString(next);
		if (more)
			snprintf(cursor, sizeof cursor, "%s", next->valuestring);
		cJSON_Delete(page);
		if (!more)
			break;
	}
	assert_int_equal(seen, total);

	/* SQL metacharacters and nonsense in filters are refused before any query */
	const char *bad[] = {
		"/v1/nodes?capability=x%27%20OR%20%271%27%3D%271", "/v1/nodes?status=online%27--",
		"/v1/nodes?cursor=%27%3B%20DROP%20TABLE%20nodes%3B--", "/v1/nodes?min_reputation=abc",
		"/v1/nodes?min_reputation=2", "/v1/nodes?limit=0", "/v1/nodes?limit=100000",
		"/v1/nodes?limit=10abc",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_plain("GET", bad[i], NULL, NULL, 400, "invalid-query");
	assert_int_equal(count_nodes(""), total);
	for (int i = 0; i < 5; i++)
		th_node_free(&n[i]);
}

static long outcome(const char *id, const char *task, bool success, const char *auth_hdr,
		    cJSON **ret)
{
	char path[96], body[160];
	snprintf(path, sizeof path, "/v1/nodes/%s/outcomes", id);
	snprintf(body, sizeof body, "{\"task_id\":\"%s\",\"success\":%s}", task,
		 success ? "true" : "false");
	const char *h[] = {auth_hdr, NULL};
	dux_client_resp_t resp;
	if (th_http(url, "POST", path, body, auth_hdr ? h : NULL, &resp) < 0)
		return -1;
	long st = resp.status;
	if (ret) {
		*ret = resp.json;
		resp.json = NULL;
	}
	dux_client_resp_clear(&resp);
	return st;
}

static double score_after(const char *id, const char *task, bool ok, const char *svc)
{
	cJSON *o = NULL;
	assert_int_equal(outcome(id, task, ok, svc, &o), 201);
	double s = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "node"), "reputation_score")->valuedouble;
	cJSON_Delete(o);
	return s;
}

static void outcomes_move_reputation(void **state)
{
	(void)state;
	th_node_t n;
	char svc[1024], user[1024];
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(url, &n, "[\"task_execution\"]"), 201);
	assert_true(th_bearer(auth, "duxos-tasks", DUX_SCOPE_SERVICE, svc, sizeof svc));
	assert_true(th_bearer(auth, "Fuser", DUX_SCOPE_USER, user, sizeof user));

	assert_int_equal(outcome(n.id, "t-1", true, NULL, NULL), 401);
	assert_int_equal(outcome(n.id, "t-1", true, "Authorization: Bearer nonsense", NULL), 401);
	assert_int_equal(outcome(n.id, "t-1", true, user, NULL), 403);
	assert_int_equal(outcome("0123456789abcdef0123456789abcdef", "t-1", true, svc, NULL), 404);

	double s1 = score_after(n.id, "t-1", true, svc);
	double s2 = score_after(n.id, "t-2", true, svc);
	assert_true(s1 > 0.5 && s2 > s1 && s2 < 1.0);
	/* the same report again counts once; the opposite result for that task is a conflict */
	cJSON *o = NULL;
	assert_int_equal(outcome(n.id, "t-2", true, svc, &o), 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "duplicate")));
	cJSON_Delete(o);
	assert_int_equal(outcome(n.id, "t-2", false, svc, NULL), 409);
	double s3 = score_after(n.id, "t-3", false, svc);
	assert_true(s3 < s2);

	cJSON *node = NULL;
	char path[80];
	snprintf(path, sizeof path, "/nodes/%s", n.id);
	assert_int_equal(get_json(url, path, &node), 200);
	assert_int_equal(cJSON_GetObjectItem(node, "total_tasks_completed")->valueint, 2);
	double rate = cJSON_GetObjectItem(node, "success_rate")->valuedouble;
	assert_true(rate > 0.66 && rate < 0.67);
	/* (2 + 1) / (3 + 2) with no time for decay to matter */
	double rep = cJSON_GetObjectItem(node, "reputation_score")->valuedouble;
	assert_true(rep > 0.599 && rep < 0.601);
	cJSON_Delete(node);
	th_node_free(&n);
}

static void topology_counts(void **state)
{
	(void)state;
	th_node_t n;
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(url, &n, "[\"topo_cap\"]"), 201);
	cJSON *t = NULL;
	assert_int_equal(get_json(url, "/topology", &t), 200);
	cJSON *cap = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "by_capability"), "topo_cap");
	assert_int_equal(cJSON_GetObjectItem(cap, "online")->valueint, 1);
	int total = cJSON_GetObjectItem(t, "total_nodes")->valueint;
	assert_int_equal(total, count_nodes(""));
	cJSON_Delete(t);
	th_node_free(&n);
}

static void events_are_consecutive(void **state)
{
	(void)state;
	th_node_t n;
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(url, &n, "[\"api_hosting\"]"), 201);
	/* the relay publishes within a poll interval; wait for this node's event */
	bool found = false;
	for (int i = 0; i < 100 && !found; i++) {
		cJSON *page = NULL;
		assert_int_equal(get_json(url, "/v1/events?after=0&limit=1000", &page), 200);
		int64_t expect = 1;
		cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(page, "events"))
		{
			assert_int_equal((int64_t)cJSON_GetObjectItem(e, "seq")->valuedouble, expect++);
			assert_string_equal(cJSON_GetObjectItem(e, "source")->valuestring, "duxos-registry");
			const cJSON *subj = cJSON_GetObjectItem(e, "subject");
			if (subj && strcmp(subj->valuestring, n.id) == 0)
				found = strcmp(cJSON_GetObjectItem(e, "type")->valuestring,
					       "node.registered") == 0;
		}
		cJSON_Delete(page);
		if (!found)
			usleep(50000);
	}
	assert_true(found);
	expect_plain("GET", "/v1/events?after=-1", NULL, NULL, 400, "invalid-query");
	th_node_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(register_creates_then_updates),
		cmocka_unit_test(node_has_every_seed_field),
		cmocka_unit_test(register_refusals),
		cmocka_unit_test(replays_refused),
		cmocka_unit_test(heartbeat_refusals),
		cmocka_unit_test(list_filters_and_pages),
		cmocka_unit_test(outcomes_move_reputation),
		cmocka_unit_test(topology_counts),
		cmocka_unit_test(events_are_consecutive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
