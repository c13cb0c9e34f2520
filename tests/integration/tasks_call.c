/* tasks_call.c - the seed's API Transaction Flow end to end, through the real daemons: a
 * provider publishes a service in the store and its code bundle, signed with its own key; a
 * user calls it; the escrow holds the price; one of the provider's executor nodes (which trust
 * only that key) runs the bundle in the sandbox; the validated result releases the escrow, 95 %
 * to the provider and 5 % to the community fund. Failures refund it with the task's reason: the
 * program failing, a tampered bundle, no eligible node, an executor killed mid-call (retried
 * on the provider's other node, paid once). Money is conserved throughout. */
#include "tasks_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tu_t T;
static eu_user_t P, U;          /* the provider, a user with 20 FLOP */
static dux_key_t *bundle_key;   /* the provider's bundle signing key */
static char bundle_pub[64];
static char svc[64];            /* the provider's service, 2 FLOP a call */

/* PUT /v1/bundles/{service} signed with key; the status. */
static long put_bundle(const char *service, const char *version, const char *code,
		       const char *format, const dux_key_t *key, const char *auth)
{
	uint8_t d[32], sig[64], pub[32];
	char sha[65], msg[512], sig64[100], pub64[64], path[96];
	dux_sha256(code, strlen(code), d);
	dux_hex_encode(d, 32, sha);
	snprintf(msg, sizeof msg, "DUX-BUNDLE-1\n%s\n%s\nbash\n%s", service, version, sha);
	if (dux_key_sign(key, msg, strlen(msg), sig) < 0 || dux_key_public(key, pub) < 0)
		return -1;
	dux_b64url_encode(sig, 64, sig64);
	dux_b64url_encode(pub, 32, pub64);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "version", version);
	cJSON_AddStringToObject(b, "runtime", "bash");
	cJSON_AddStringToObject(b, "code", code);
	cJSON_AddStringToObject(b, "public_key", pub64);
	cJSON_AddStringToObject(b, "signature", sig64);
	if (format)
		cJSON_AddRawToObject(b, "output_format", format);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	snprintf(path, sizeof path, "/v1/bundles/%s", service);
	long st = th_call(T.url, "PUT", path, auth, NULL, body, NULL);
	free(body);
	return st;
}

static int setup(void **state)
{
	(void)state;
	uint8_t pub[32];
	if (dux_key_generate(&bundle_key) < 0 || dux_key_public(bundle_key, pub) < 0)
		return -1;
	dux_b64url_encode(pub, 32, bundle_pub);
	char keys[128], body[SU_BODY_MAX];
	snprintf(keys, sizeof keys, "[\"%s\"]", bundle_pub);
	/* node 0 (the scheduler's own executor) is paid on another wallet: it never runs calls */
	if (!tu_start(&T, NULL, NULL, keys) || !su_provider(&T.s, &P) || !su_user(&T.s, &U, "20") ||
	    tu_add_executor(&T, P.addr) < 0 || tu_add_executor(&T, P.addr) < 0)
		goto fail;
	su_body(body, "Echo", "echoes its input", "1.0.0", P.addr, "2", "[\"demo\"]", NULL);
	if (!su_publish(&T.s, &P, body, svc) ||
	    put_bundle(svc, "1.0.0", "read x; echo \"echo: $x\"", NULL, bundle_key, P.auth) != 201)
		goto fail;
	return 0;
fail:
	tu_dump_logs(&T);
	return -1;
}

static int teardown(void **state)
{
	(void)state;
	bool ok = tu_finish(&T);
	dux_key_free(bundle_key);
	return ok ? 0 : -1;
}

/* POST /v1/calls?wait=30000 as the user; the task (caller frees) and the status. */
static cJSON *call(const char *service, const char *input, long *status)
{
	char body[512];
	snprintf(body, sizeof body, "{\"service_id\":\"%s\",\"input\":\"%s\",\"user_wallet\":\"%s\"}",
		 service, input, U.addr);
	cJSON *task = NULL;
	*status = th_call(T.url, "POST", "/v1/calls?wait=30000", U.auth, NULL, body, &task);
	return task;
}

/* Polls the escrow until its status is want. */
static bool escrow_ends(const char *id, const char *want)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/escrow/%s", id);
	for (int i = 0; i < 300; i++) {
		cJSON *e = NULL;
		long st = eu_call(&T.s.e, "GET", path, T.s.admin, NULL, NULL, &e);
		bool done = st == 200 && !strcmp(eu_str(e, "status"), want);
		if (st == 200 && i == 299)
			fprintf(stderr, "escrow %s is %s, not %s\n", id, eu_str(e, "status"), want);
		cJSON_Delete(e);
		if (done)
			return true;
		usleep(100000);
	}
	return false;
}

static void test_paid_call_end_to_end(void **state)
{
	(void)state;
	int64_t prov0 = wu_balance(&T.s.e.w, P.addr), user0 = wu_balance(&T.s.e.w, U.addr);
	long st;
	cJSON *task = call(svc, "hello\\n", &st);
	assert_int_equal(st, 201);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	assert_string_equal(eu_str(task, "kind"), "call");
	assert_string_equal(eu_str(task, "output"), "echo: hello\n");
	const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(task, "attempts"), 0);
	assert_string_equal(eu_str(a, "wallet_address"), P.addr); /* a node of the provider */
	assert_true(escrow_ends(eu_str(task, "escrow_id"), "released"));
	cJSON *e = NULL;
	char path[96];
	snprintf(path, sizeof path, "/v1/escrow/%s", eu_str(task, "escrow_id"));
	assert_int_equal(eu_call(&T.s.e, "GET", path, T.s.admin, NULL, NULL, &e), 200);
	assert_string_equal(eu_str(e, "result_hash"), eu_str(task, "result_hash"));
	assert_string_equal(eu_str(e, "task_id"), eu_str(task, "id"));
	cJSON_Delete(e);
	assert_true(wu_balance(&T.s.e.w, P.addr) == prov0 + 190000000);
	assert_true(wu_balance(&T.s.e.w, U.addr) == user0 - 200000000);
	assert_true(eu_wait_fund_balance(&T.s.e, 10000000, 10000));
	assert_true(eu_conserved(&T.s.e));
	cJSON_Delete(task);
}

/* The program fails: the task fails with its reason and the escrow is refunded. */
static void test_failure_refunds(void **state)
{
	(void)state;
	assert_int_equal(put_bundle(svc, "1.0.1", "echo broken >&2; exit 4", NULL, bundle_key,
				    P.auth), 201);
	int64_t user0 = wu_balance(&T.s.e.w, U.addr);
	long st;
	cJSON *task = call(svc, "x", &st);
	assert_int_equal(st, 201);
	assert_string_equal(eu_str(task, "state"), "failed");
	assert_string_equal(eu_str(task, "reason"), "nonzero-exit");
	assert_true(escrow_ends(eu_str(task, "escrow_id"), "refunded"));
	assert_true(wu_balance(&T.s.e.w, U.addr) == user0);
	cJSON_Delete(task);
	assert_true(eu_conserved(&T.s.e));
}

/* A bundle changed behind the scheduler's back is refused by the executor before it runs. */
static void test_tampered_bundle_refused(void **state)
{
	(void)state;
	assert_int_equal(put_bundle(svc, "1.0.2", "echo fine", NULL, bundle_key, P.auth), 201);
	char out[8];
	assert_true(su_sql(&T.s, "UPDATE tasks.bundles SET code = 'echo pwned' WHERE version ="
			   " '1.0.2' RETURNING 1", out, sizeof out));
	long st;
	cJSON *task = call(svc, "x", &st);
	assert_int_equal(st, 201);
	assert_string_equal(eu_str(task, "state"), "failed");
	assert_string_equal(eu_str(task, "reason"), "bundle-refused");
	assert_true(escrow_ends(eu_str(task, "escrow_id"), "refunded"));
	cJSON_Delete(task);
}

/* Bundles: only a good signature, only the service's owner, a version never changes. */
static void test_bundle_rules(void **state)
{
	(void)state;
	dux_key_t *other = NULL;
	assert_int_equal(dux_key_generate(&other), 0);
	eu_user_t q;
	assert_true(su_provider(&T.s, &q));
	assert_int_equal(put_bundle(svc, "2.0.0", "echo a", NULL, bundle_key, q.auth), 403);
	assert_int_equal(put_bundle(svc, "1.0.2", "echo other", NULL, bundle_key, P.auth), 409);
	assert_int_equal(put_bundle("svc_00000000000000000000000000000000", "1.0.0", "echo",
				    NULL, bundle_key, P.auth), 404);
	/* a signature by another key than the one named: recomputed with a mismatching key */
	char body[1024];
	snprintf(body, sizeof body, "{\"version\":\"3.0.0\",\"runtime\":\"bash\",\"code\":\"echo\","
		 "\"public_key\":\"%s\",\"signature\":\"%086d\"}", bundle_pub, 0);
	char path[96];
	snprintf(path, sizeof path, "/v1/bundles/%s", svc);
	assert_int_equal(th_call(T.url, "PUT", path, P.auth, NULL, body, NULL), 422);
	dux_key_free(other);
}

/* A call refused by the escrow (too little money) runs nothing. */
static void test_payment_refused(void **state)
{
	(void)state;
	assert_int_equal(put_bundle(svc, "1.0.3", "read x; echo \"echo: $x\"", NULL, bundle_key,
				    P.auth), 201);
	eu_user_t poor;
	assert_true(su_user(&T.s, &poor, NULL));
	char body[512];
	snprintf(body, sizeof body, "{\"service_id\":\"%s\",\"user_wallet\":\"%s\"}", svc,
		 poor.addr);
	cJSON *p = NULL;
	assert_int_equal(th_call(T.url, "POST", "/v1/calls", poor.auth, NULL, body, &p), 422);
	assert_non_null(strstr(eu_str(p, "type"), "payment-failed"));
	cJSON_Delete(p);
	/* someone else's account: the wallet refuses it through the escrow */
	snprintf(body, sizeof body, "{\"service_id\":\"%s\",\"user_wallet\":\"%s\"}", svc, U.addr);
	assert_int_equal(th_call(T.url, "POST", "/v1/calls", poor.auth, NULL, body, NULL), 422);
	snprintf(body, sizeof body, "{\"service_id\":\"svc_%032d\",\"user_wallet\":\"%s\"}", 0,
		 U.addr);
	assert_int_equal(th_call(T.url, "POST", "/v1/calls", U.auth, NULL, body, NULL), 404);
	assert_int_equal(th_call(T.url, "POST", "/v1/calls", U.auth, NULL, "{\"service_id\":7}",
				 NULL), 400);
	assert_true(eu_conserved(&T.s.e));
}

/* A provider without nodes: no eligible node within tasks.queue_timeout, refunded. */
static void test_no_eligible_node_refunds(void **state)
{
	(void)state;
	eu_user_t q;
	char body[SU_BODY_MAX], other[64];
	assert_true(su_provider(&T.s, &q));
	su_body(body, "Lonely", "no nodes", "1.0.0", q.addr, "1", NULL, NULL);
	assert_true(su_publish(&T.s, &q, body, other));
	assert_int_equal(put_bundle(other, "1.0.0", "echo", NULL, bundle_key, q.auth), 201);
	long st;
	cJSON *task = call(other, "x", &st);
	assert_int_equal(st, 201);
	assert_string_equal(eu_str(task, "state"), "failed");
	assert_string_equal(eu_str(task, "reason"), "no-eligible-node");
	assert_true(escrow_ends(eu_str(task, "escrow_id"), "refunded"));
	cJSON_Delete(task);
}

/* SIGKILL of the provider's node running the call: the other one runs it; paid once. */
static void test_killed_executor_paid_once(void **state)
{
	(void)state;
	assert_int_equal(put_bundle(svc, "1.0.4", "sleep 2; echo slow", NULL, bundle_key, P.auth),
			 201);
	int64_t prov0 = wu_balance(&T.s.e.w, P.addr);
	char body[512], id[64] = "", path[96];
	snprintf(body, sizeof body, "{\"service_id\":\"%s\",\"user_wallet\":\"%s\"}", svc, U.addr);
	cJSON *task = NULL;
	assert_int_equal(th_call(T.url, "POST", "/v1/calls", U.auth, NULL, body, &task), 201);
	snprintf(id, sizeof id, "%s", eu_str(task, "id"));
	cJSON_Delete(task);
	snprintf(path, sizeof path, "/v1/tasks/%s", id);
	int victim = -1;
	for (int i = 0; i < 200 && victim < 0; i++) {
		assert_int_equal(th_call(T.url, "GET", path, U.auth, NULL, NULL, &task), 200);
		const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(task, "attempts"),
						    0);
		if (a && !strcmp(eu_str(a, "state"), "running"))
			victim = tu_node_of(&T, a);
		cJSON_Delete(task);
		if (victim < 0)
			usleep(50000);
	}
	assert_true(victim >= 1);
	th_daemon_kill(&T.execs[victim]);
	task = tu_wait_task(&T, U.auth, id, 60000);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(task, "attempts")), 2);
	assert_true(escrow_ends(eu_str(task, "escrow_id"), "released"));
	cJSON_Delete(task);
	assert_true(wu_balance(&T.s.e.w, P.addr) == prov0 + 190000000);
	assert_true(eu_conserved(&T.s.e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paid_call_end_to_end),
		cmocka_unit_test(test_failure_refunds),
		cmocka_unit_test(test_tampered_bundle_refused),
		cmocka_unit_test(test_bundle_rules),
		cmocka_unit_test(test_payment_refused),
		cmocka_unit_test(test_no_eligible_node_refunds),
		cmocka_unit_test(test_killed_executor_paid_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
