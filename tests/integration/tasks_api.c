/* tasks_api.c - duxos-tasks' generic tasks through the real chain: a task submitted over HTTP
 * runs in the sandbox on the scheduler's own executor (a node registered with the registry,
 * pulling its work with signed claims), its output is validated against the declared format
 * and hashed; failures carry the sandbox's precise reason; owners see only their tasks; bad
 * input is refused per field and changes nothing. */
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

static int setup(void **state)
{
	(void)state;
	if (!tu_start(&T, NULL, NULL, NULL)) {
		tu_dump_logs(&T);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_finish(&T) ? 0 : -1;
}

/* Runs code as the test user; the ended task (caller frees). */
static cJSON *run(const char *code, const char *more)
{
	char body[4096], id[64];
	tu_bash(body, sizeof body, code, more);
	if (tu_submit(&T, T.user, body, id) != 201)
		return NULL;
	cJSON *task = tu_wait_task(&T, T.user, id, 60000);
	if (!task)
		tu_dump_logs(&T);
	return task;
}

static void test_task_runs_and_is_validated(void **state)
{
	(void)state;
	cJSON *task = run("read x; echo \"hello $x\"", ",\"input\":\"world\\n\"");
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	assert_string_equal(eu_str(task, "reason"), "ok");
	assert_string_equal(eu_str(task, "output"), "hello world\n");
	char sha[65];
	uint8_t d[32];
	dux_sha256("hello world\n", 12, d);
	dux_hex_encode(d, 32, sha);
	assert_string_equal(eu_str(task, "result_hash"), sha);
	const cJSON *att = cJSON_GetObjectItemCaseSensitive(task, "attempts");
	assert_int_equal(cJSON_GetArraySize(att), 1);
	const cJSON *a = cJSON_GetArrayItem(att, 0);
	assert_string_equal(eu_str(a, "verdict"), "agreed");
	assert_string_equal(eu_str(a, "node_id"), T.nodes[0].id);
	assert_string_equal(eu_str(a, "wallet_address"), T.wallets[0]);
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(task, "usage");
	assert_true(cJSON_GetObjectItemCaseSensitive(usage, "wall_us")->valuedouble > 0);
	assert_true(cJSON_GetObjectItemCaseSensitive(usage, "peak_memory_bytes")->valuedouble > 0);
	cJSON_Delete(task);
}

/* The sandbox's reason, the exit code and stderr reach the task and its logs. */
static void test_failure_reason_is_precise(void **state)
{
	(void)state;
	cJSON *task = run("echo oops >&2; exit 3", NULL);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "failed");
	assert_string_equal(eu_str(task, "reason"), "nonzero-exit");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(task, "result_hash")));
	const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(task, "attempts"), 0);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(a, "exit_code")->valueint, 3);
	assert_string_equal(eu_str(a, "verdict"), "failed");
	char path[96];
	snprintf(path, sizeof path, "/v1/tasks/%s/logs", eu_str(task, "id"));
	cJSON *logs = NULL;
	assert_int_equal(th_call(T.url, "GET", path, T.user, NULL, NULL, &logs), 200);
	const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(logs, "attempts"), 0);
	assert_string_equal(eu_str(l, "stderr"), "oops\n");
	cJSON_Delete(logs);
	cJSON_Delete(task);

	task = run("sleep 30", ",\"resources\":{\"timeout\":1}");
	assert_non_null(task);
	assert_string_equal(eu_str(task, "reason"), "timeout");
	cJSON_Delete(task);
}

/* Attempts to get out, through the whole path (API, scheduler, executor, sandbox), fail the
 * task cleanly with the sandbox's precise reason; the next task runs as usual. The sandbox's
 * own tests (tests/sandbox/sandbox_escape.c, sandbox_limits.c) cover every escape in detail. */
static void test_escapes_fail_cleanly(void **state)
{
	(void)state;
	static const struct {
		const char *code, *more, *reason;
	} cases[] = {
		{"exec 3<>/dev/tcp/127.0.0.1/5432 && echo connected", NULL, "nonzero-exit"},
		{"echo x > /etc/owned && echo wrote", NULL, "nonzero-exit"},
		{"cat /etc/shadow", NULL, "nonzero-exit"},
		{"b() { b | b & }; b; sleep 30", ",\"resources\":{\"timeout\":3}", "pids-limit"},
		{"yes | head -c 300000000 | tr -d y > /dev/null; x=$(head -c 200000000 /dev/zero | tr "
		 "'\\0' a); echo ${#x}", ",\"resources\":{\"memory_limit\":\"64m\"}", "memory-limit"},
		{"sleep 60 & sleep 60", ",\"resources\":{\"timeout\":1}", "timeout"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *task = run(cases[i].code, cases[i].more);
		assert_non_null(task);
		if (strcmp(eu_str(task, "reason"), cases[i].reason) != 0)
			fprintf(stderr, "case %zu (%s): %s: %s\n", i, cases[i].code,
				eu_str(task, "reason"), eu_str(task, "detail"));
		assert_string_equal(eu_str(task, "state"), "failed");
		assert_string_equal(eu_str(task, "reason"), cases[i].reason);
		cJSON_Delete(task);
	}
	assert_int_equal(access("/etc/owned", F_OK), -1);
	cJSON *task = run("echo still fine", NULL);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "output"), "still fine\n");
	cJSON_Delete(task);
}

/* Output that does not match the declared format fails the task: invalid-output. */
static void test_output_format_is_checked(void **state)
{
	(void)state;
	const char *schema = ",\"output_format\":{\"content_type\":\"application/json\","
			     "\"schema\":{\"type\":\"object\",\"required\":[\"sum\"],"
			     "\"properties\":{\"sum\":{\"type\":\"integer\",\"minimum\":0}}}}";
	cJSON *task = run("echo '{\"sum\": 5}'", schema);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	cJSON_Delete(task);
	task = run("echo '{\"sum\": -1}'", schema);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "reason"), "invalid-output");
	assert_non_null(strstr(eu_str(task, "detail"), "sum"));
	cJSON_Delete(task);
	task = run("echo not json", schema);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "reason"), "invalid-output");
	cJSON_Delete(task);
	task = run("printf '\\xff\\xfe'", NULL);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "reason"), "invalid-output");
	cJSON_Delete(task);
}

static void test_cancel(void **state)
{
	(void)state;
	char body[512], id[64], path[96];
	tu_bash(body, sizeof body, "sleep 50", NULL);
	assert_int_equal(tu_submit(&T, T.user, body, id), 201);
	snprintf(path, sizeof path, "/v1/tasks/%s/cancel", id);
	char other[WU_HDR_MAX];
	assert_true(eu_bearer(&T.s.e, "someone-else", DUX_SCOPE_USER, other, sizeof other));
	assert_int_equal(th_call(T.url, "POST", path, other, NULL, NULL, NULL), 404);
	cJSON *task = NULL;
	assert_int_equal(th_call(T.url, "POST", path, T.user, NULL, NULL, &task), 200);
	assert_string_equal(eu_str(task, "state"), "cancelled");
	assert_string_equal(eu_str(task, "reason"), "cancelled");
	cJSON_Delete(task);
	assert_int_equal(th_call(T.url, "POST", path, T.user, NULL, NULL, NULL), 409);
	/* the executor hears it within seconds and ends the sandbox (sleep 50 would outlast
	 * the test); its late report is kept for the record and counts for nothing */
	snprintf(path, sizeof path, "/v1/tasks/%s/logs", id);
	bool ended = false;
	for (int i = 0; i < 100 && !ended; i++) {
		cJSON *logs = NULL;
		assert_int_equal(th_call(T.url, "GET", path, T.user, NULL, NULL, &logs), 200);
		const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(logs, "attempts"),
						    0);
		ended = !strcmp(eu_str(a, "reason"), "cancelled") &&
			!strcmp(eu_str(a, "state"), "cancelled");
		cJSON_Delete(logs);
		if (!ended)
			usleep(100000);
	}
	assert_true(ended);
}

/* Tasks are their owner's: others get 404 and see none in lists; services see all. */
static void test_visibility_and_list(void **state)
{
	(void)state;
	char body[512], id[64], path[96], other[WU_HDR_MAX], svc[WU_HDR_MAX];
	assert_true(eu_bearer(&T.s.e, "someone-else", DUX_SCOPE_USER, other, sizeof other));
	assert_true(eu_bearer(&T.s.e, "a-service", DUX_SCOPE_SERVICE, svc, sizeof svc));
	tu_bash(body, sizeof body, "echo x", NULL);
	assert_int_equal(tu_submit(&T, T.user, body, id), 201);
	snprintf(path, sizeof path, "/v1/tasks/%s", id);
	assert_int_equal(th_call(T.url, "GET", path, other, NULL, NULL, NULL), 404);
	assert_int_equal(th_call(T.url, "GET", path, svc, NULL, NULL, NULL), 200);
	cJSON *list = NULL;
	assert_int_equal(th_call(T.url, "GET", "/v1/tasks", other, NULL, NULL, &list), 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "tasks")), 0);
	cJSON_Delete(list);
	assert_int_equal(th_call(T.url, "GET", "/v1/tasks?owner=tasks-user", other, NULL, NULL,
				 NULL), 403);
	/* pages of 2 walk every task of the user once, newest first */
	int seen = 0, pages = 0;
	char next[128] = "";
	do {
		char q[256];
		snprintf(q, sizeof q, "/v1/tasks?limit=2%s%s", *next ? "&cursor=" : "", next);
		assert_int_equal(th_call(T.url, "GET", q, T.user, NULL, NULL, &list), 200);
		seen += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "tasks"));
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(list, "next_cursor");
		snprintf(next, sizeof next, "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		cJSON_Delete(list);
		pages++;
	} while (*next && pages < 50);
	char count[32];
	assert_true(su_sql(&T.s, "SELECT count(*) FROM tasks.tasks WHERE owner = 'tasks-user'",
			   count, sizeof count));
	assert_int_equal(seen, atoi(count));
	assert_int_equal(th_call(T.url, "GET", "/v1/tasks?cursor=zz", T.user, NULL, NULL, NULL),
			 400);
	assert_int_equal(th_call(T.url, "GET", "/v1/tasks?state=done", T.user, NULL, NULL, NULL),
			 400);
}

/* Each bad field gets its own 4xx naming it, and creates nothing. */
static void test_bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		long status;
		const char *field;
	} cases[] = {
		{"{\"code\":\"echo\"}", 400, "runtime"},
		{"{\"runtime\":\"ruby\",\"code\":\"x\"}", 400, "runtime"},
		{"{\"runtime\":\"bash\"}", 400, "code"},
		{"{\"runtime\":\"bash\",\"code\":7}", 400, "code"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"replicas\":6}", 400, "replicas"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"replicas\":1.5}", 400, "replicas"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"resources\":{\"memory_limit\":\"64g\"}}",
		 400, "resources.memory_limit"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"resources\":{\"cpu_limit\":\"9\"}}",
		 400, "resources.cpu_limit"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"resources\":{\"timeout\":0}}", 400,
		 "resources.timeout"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"resources\":{\"network_access\":true}}",
		 400, "resources.network_access"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"resources\":{\"gpu\":1}}", 400,
		 "resources"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"output_format\":{\"schema\":"
		 "{\"pattern\":\"a\"}}}", 400, "output_format"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"output_format\":{\"content_type\":"
		 "\"image/png\"}}", 400, "output_format"},
		{"{\"runtime\":\"bash\",\"code\":\"x\",\"colour\":1}", 400, "colour"},
		{"[1]", 400, NULL},
	};
	char before[32], after[32];
	assert_true(su_sql(&T.s, "SELECT count(*) FROM tasks.tasks", before, sizeof before));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *p = NULL;
		long st = th_call(T.url, "POST", "/v1/tasks", T.user, NULL, cases[i].body, &p);
		if (st != cases[i].status || (cases[i].field &&
					      strcmp(eu_str(p, "field"), cases[i].field) != 0))
			fprintf(stderr, "case %zu: %s -> %ld field \"%s\"\n", i, cases[i].body, st,
				eu_str(p, "field"));
		assert_int_equal(st, cases[i].status);
		if (cases[i].field)
			assert_string_equal(eu_str(p, "field"), cases[i].field);
		cJSON_Delete(p);
	}
	assert_int_equal(th_call(T.url, "POST", "/v1/tasks", NULL, NULL, "{}", NULL), 401);
	assert_true(su_sql(&T.s, "SELECT count(*) FROM tasks.tasks", after, sizeof after));
	assert_string_equal(before, after);
}

/* The same Idempotency-Key and body gives the same task; another body a 422. */
static void test_idempotency_key(void **state)
{
	(void)state;
	char body[512], id1[64] = "", id2[64] = "";
	const char *key[] = {"Idempotency-Key: run-1", NULL};
	tu_bash(body, sizeof body, "echo once", NULL);
	cJSON *a = NULL, *b = NULL;
	assert_int_equal(th_call(T.url, "POST", "/v1/tasks", T.user, key, body, &a), 201);
	assert_int_equal(th_call(T.url, "POST", "/v1/tasks", T.user, key, body, &b), 200);
	snprintf(id1, sizeof id1, "%s", eu_str(a, "id"));
	snprintf(id2, sizeof id2, "%s", eu_str(b, "id"));
	assert_string_equal(id1, id2);
	cJSON_Delete(a);
	cJSON_Delete(b);
	tu_bash(body, sizeof body, "echo twice", NULL);
	assert_int_equal(th_call(T.url, "POST", "/v1/tasks", T.user, key, body, NULL), 422);
	/* the same code with other resources is another request too */
	tu_bash(body, sizeof body, "echo once", ",\"resources\":{\"timeout\":7}");
	assert_int_equal(th_call(T.url, "POST", "/v1/tasks", T.user, key, body, NULL), 422);
}

/* The events of a task's life, in order, in GET /v1/events (services only). */
static void test_events(void **state)
{
	(void)state;
	cJSON *task = run("echo ev", NULL);
	assert_non_null(task);
	const char *id = eu_str(task, "id");
	char svc[WU_HDR_MAX];
	assert_true(eu_bearer(&T.s.e, "a-service", DUX_SCOPE_SERVICE, svc, sizeof svc));
	assert_int_equal(th_call(T.url, "GET", "/v1/events", T.user, NULL, NULL, NULL), 403);
	const char *want[] = {"task.queued", "task.started", "task.succeeded"};
	int found = 0;
	for (int tries = 0; tries < 100 && found < 3; tries++) {
		cJSON *ev = NULL;
		found = 0;
		assert_int_equal(th_call(T.url, "GET", "/v1/events?limit=1000", svc, NULL, NULL, &ev),
				 200);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ev, "events"))
		{
			if (found < 3 && !strcmp(eu_str(e, "subject"), id) &&
			    !strcmp(eu_str(e, "type"), want[found]))
				found++;
		}
		cJSON_Delete(ev);
		if (found < 3)
			usleep(100000);
	}
	assert_int_equal(found, 3);
	cJSON_Delete(task);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_runs_and_is_validated),
		cmocka_unit_test(test_failure_reason_is_precise),
		cmocka_unit_test(test_output_format_is_checked),
		cmocka_unit_test(test_escapes_fail_cleanly),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_visibility_and_list),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_events),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
