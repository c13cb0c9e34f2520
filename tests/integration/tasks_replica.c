/* tasks_replica.c - redundancy in duxos-tasks: the trust rule runs a single-replica task of
 * untrusted nodes on two nodes of different wallets; a lying executor (this test, speaking
 * the executor protocol with its own node key) is outvoted by the honest ones and loses
 * reputation in the registry; an executor killed with SIGKILL mid-task loses its attempt to
 * another node and the task still succeeds, once. Executors are real daemons in role
 * executor; tasks.trusted_reputation is 0.8 and new nodes have 0.5. */
#include "registry_util.h"
#include "tasks_util.h"
#include <dux/json.h>
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
	if (!tu_start(&T, NULL, "  trusted_reputation: 0.8\n", NULL) || tu_add_executor(&T, NULL) < 0 ||
	    tu_add_executor(&T, NULL) < 0) {
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

static const cJSON *attempts(const cJSON *task)
{
	return cJSON_GetObjectItemCaseSensitive(task, "attempts");
}

static int count_verdict(const cJSON *task, const char *verdict)
{
	int n = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, attempts(task))
	{
		n += strcmp(eu_str(a, "verdict"), verdict) == 0;
	}
	return n;
}

/* Asked for one replica, run on two untrusted nodes of different wallets that agree. */
static void test_trust_rule_replicates(void **state)
{
	(void)state;
	char body[512], id[64];
	tu_bash(body, sizeof body, "echo same", NULL);
	assert_int_equal(tu_submit(&T, T.user, body, id), 201);
	cJSON *task = tu_wait_task(&T, T.user, id, 60000);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(task, "replicas")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(task, "replicas_asked")->valueint, 1);
	assert_int_equal(count_verdict(task, "agreed"), 2);
	const cJSON *a0 = cJSON_GetArrayItem(attempts(task), 0);
	const cJSON *a1 = cJSON_GetArrayItem(attempts(task), 1);
	assert_string_not_equal(eu_str(a0, "wallet_address"), eu_str(a1, "wallet_address"));
	cJSON_Delete(task);
}

/* SIGKILL of the executor running an attempt: the registry marks its node offline, the
 * attempt is lost, another node runs it, and the task succeeds with every replica agreeing. */
static void test_killed_executor_is_replaced(void **state)
{
	(void)state;
	char body[512], id[64], path[96];
	tu_bash(body, sizeof body, "sleep 3; echo survived", NULL);
	assert_int_equal(tu_submit(&T, T.user, body, id), 201);
	snprintf(path, sizeof path, "/v1/tasks/%s", id);
	int victim = -1;
	for (int tries = 0; tries < 200 && victim < 0; tries++) {
		cJSON *task = NULL;
		assert_int_equal(th_call(T.url, "GET", path, T.user, NULL, NULL, &task), 200);
		const cJSON *a;
		cJSON_ArrayForEach(a, attempts(task))
		{
			int i = tu_node_of(&T, a);
			if (i >= 1 && !strcmp(eu_str(a, "state"), "running"))
				victim = i;
		}
		cJSON_Delete(task);
		if (victim < 0)
			usleep(50000);
	}
	assert_true(victim >= 1);
	th_daemon_kill(&T.execs[victim]);
	cJSON *task = tu_wait_task(&T, T.user, id, 90000);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	assert_string_equal(eu_str(task, "output"), "survived\n");
	int lost = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, attempts(task))
	{
		if (tu_node_of(&T, a) == victim) {
			assert_string_equal(eu_str(a, "state"), "lost");
			lost++;
		}
	}
	assert_int_equal(lost, 1);
	assert_int_equal(count_verdict(task, "agreed"), 2);
	cJSON_Delete(task);
}

/* The test as a node: claims with its own key and reports what it likes. */
typedef struct {
	th_node_t n;
	char wallet[64];
} liar_t;

/* A claim (after a heartbeat, so that the registry keeps the liar online); the status, and
 * the attempt offered if any. */
static long liar_claim(liar_t *l, char attempt[64])
{
	char body[256];
	snprintf(body, sizeof body, "{\"node_id\":\"%s\",\"slots\":4,\"free\":1,\"memory_mb\":"
		 "65536,\"cpus\":64,\"load\":0,\"wait_ms\":0}", l->n.id);
	dux_client_resp_t resp;
	if (heartbeat(T.registry.url, &l->n, 0) != 200 ||
	    th_signed(T.url, &l->n, "POST", "/v1/executor/claim", body, 0, &resp) < 0)
		return -1;
	const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp.json, "attempts"),
					    0);
	if (resp.status == 200 && a)
		snprintf(attempt, 64, "%s", eu_str(a, "attempt_id"));
	long st = resp.status;
	dux_client_resp_clear(&resp);
	return st;
}

static long liar_report(liar_t *l, const char *attempt, const char *out)
{
	uint8_t d[32];
	char sha[65], path[96];
	dux_sha256(out, strlen(out), d);
	dux_hex_encode(d, 32, sha);
	snprintf(path, sizeof path, "/v1/executor/attempts/%s/result", attempt);
	cJSON *b = cJSON_CreateObject(), *u = cJSON_AddObjectToObject(b, "usage");
	cJSON_AddStringToObject(b, "reason", "ok");
	cJSON_AddNumberToObject(b, "exit_code", 0);
	cJSON_AddStringToObject(b, "stdout", out);
	cJSON_AddStringToObject(b, "stderr", "");
	cJSON_AddStringToObject(b, "output_sha256", sha);
	cJSON_AddNumberToObject(u, "cpu_user_us", 1);
	cJSON_AddNumberToObject(u, "cpu_sys_us", 1);
	cJSON_AddNumberToObject(u, "peak_memory_bytes", 1);
	cJSON_AddNumberToObject(u, "wall_us", 1);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	dux_client_resp_t resp;
	long st = -1;
	if (th_signed(T.url, &l->n, "POST", path, body, 0, &resp) == 0) {
		st = resp.status;
		dux_client_resp_clear(&resp);
	}
	free(body);
	return st;
}

static int64_t registry_failed(const char *node)
{
	char path[96];
	cJSON *j = NULL;
	snprintf(path, sizeof path, "/v1/nodes/%s", node);
	int64_t n = -1;
	if (get_json(T.registry.url, path, &j) == 200)
		n = (int64_t)cJSON_GetObjectItemCaseSensitive(j, "tasks_failed")->valuedouble;
	cJSON_Delete(j);
	return n;
}

/* A liar among three replicas: the two honest nodes agree, the liar's digest is outvoted, its
 * node is told to the registry as a failure; replaying its report changes nothing. */
static void test_liar_is_outvoted(void **state)
{
	(void)state;
	liar_t l;
	assert_true(th_node_new(&l.n));
	th_address(l.wallet);
	char *reg = reg_body(&l.n, l.wallet, 8080, "[\"task_execution\"]");
	dux_client_resp_t resp;
	assert_int_equal(th_signed(T.registry.url, &l.n, "POST", "/v1/nodes/register", reg, 0,
				   &resp), 0);
	assert_int_equal(resp.status, 201);
	dux_client_resp_clear(&resp);
	free(reg);
	char attempt[64] = "";
	for (int i = 0; i < 100 && liar_claim(&l, attempt) != 200; i++) /* the view learns it */
		usleep(100000);
	char body[512], id[64];
	tu_bash(body, sizeof body, "echo truth", ",\"replicas\":3");
	assert_int_equal(tu_submit(&T, T.user, body, id), 201);
	for (int i = 0; i < 100 && !*attempt; i++)
		if (liar_claim(&l, attempt) != 200 || !*attempt)
			usleep(50000);
	assert_true(*attempt);
	assert_int_equal(liar_report(&l, attempt, "lie\n"), 200);
	cJSON *task = tu_wait_task(&T, T.user, id, 60000);
	assert_non_null(task);
	assert_string_equal(eu_str(task, "state"), "succeeded");
	assert_string_equal(eu_str(task, "output"), "truth\n");
	assert_int_equal(count_verdict(task, "agreed"), 2);
	assert_int_equal(count_verdict(task, "disagreed"), 1);
	const cJSON *a;
	cJSON_ArrayForEach(a, attempts(task))
	{
		if (!strcmp(eu_str(a, "verdict"), "disagreed"))
			assert_string_equal(eu_str(a, "node_id"), l.n.id);
	}
	cJSON_Delete(task);
	/* the same report again is answered alike; another one conflicts */
	assert_int_equal(liar_report(&l, attempt, "lie\n"), 200);
	assert_int_equal(liar_report(&l, attempt, "other\n"), 409);
	int64_t failed = 0;
	for (int i = 0; i < 100 && failed < 1; i++) {
		failed = registry_failed(l.n.id);
		if (failed < 1)
			usleep(100000);
	}
	assert_int_equal(failed, 1);
	th_node_free(&l.n);
}

static long signed_status(th_node_t *n, const char *path, const char *body, int64_t counter,
			  const char *problem)
{
	dux_client_resp_t resp;
	if (th_signed(T.url, n, "POST", path, body, counter, &resp) < 0)
		return -1;
	long st = resp.status;
	if (problem && strcmp(th_problem(&resp), problem) != 0) {
		fprintf(stderr, "%s: problem %s, expected %s\n", path, th_problem(&resp), problem);
		st = -2;
	}
	dux_client_resp_clear(&resp);
	return st;
}

/* The executor protocol refuses what is not a known node's own, fresh, signed request, and
 * bad reports, each with its precise problem. */
static void test_protocol_refusals(void **state)
{
	(void)state;
	th_node_t stranger, *node0 = &T.nodes[0]; /* the scheduler's own: never killed here */
	assert_true(th_node_new(&stranger));
	char body[256];
	snprintf(body, sizeof body, "{\"node_id\":\"%s\",\"slots\":1,\"free\":1,\"memory_mb\":"
		 "1024,\"cpus\":1,\"load\":0,\"wait_ms\":0}", stranger.id);
	/* unsigned */
	assert_int_equal(th_call(T.url, "POST", "/v1/executor/claim", NULL, NULL, body, NULL), 401);
	/* not a node of the registry */
	assert_int_equal(signed_status(&stranger, "/v1/executor/claim", body, 0, "unknown-node"),
			 403);
	/* a registered node's id, signed by another key */
	snprintf(body, sizeof body, "{\"node_id\":\"%s\",\"slots\":1,\"free\":1,\"memory_mb\":"
		 "1024,\"cpus\":1,\"load\":0,\"wait_ms\":0}", node0->id);
	th_node_t forger = stranger;
	snprintf(forger.id, sizeof forger.id, "%s", node0->id);
	assert_int_equal(signed_status(&forger, "/v1/executor/claim", body, 0, "bad-signature"),
			 401);
	/* the node itself: a counter far from its clock, then one used twice */
	int64_t old = dux_now_us() / 1000 - 3600 * 1000;
	assert_int_equal(signed_status(node0, "/v1/executor/claim", body, old,
				       "counter-out-of-window"), 401);
	int64_t c = th_node_counter(node0);
	assert_int_equal(signed_status(node0, "/v1/executor/claim", body, c, NULL), 200);
	assert_int_equal(signed_status(node0, "/v1/executor/claim", body, c, "replayed"), 409);
	/* bad capacity */
	char bad[256];
	snprintf(bad, sizeof bad, "{\"node_id\":\"%s\",\"slots\":0,\"free\":0,\"memory_mb\":"
		 "1,\"cpus\":1,\"load\":0}", node0->id);
	assert_int_equal(signed_status(node0, "/v1/executor/claim", bad, 0, "invalid-field"), 400);
	/* reports: an unknown attempt; another node's attempt; a digest that is not stdout's */
	char id[64], path[128];
	tu_bash(bad, sizeof bad, "sleep 2; echo x", ",\"replicas\":1");
	assert_int_equal(tu_submit(&T, T.user, bad, id), 201);
	assert_int_equal(signed_status(node0, "/v1/executor/attempts/att_00000000000000000000000000000000/result",
				       "{}", 0, "not-found"), 404);
	cJSON *task = NULL;
	const cJSON *a = NULL;
	snprintf(path, sizeof path, "/v1/tasks/%s", id);
	for (int i = 0; i < 100 && !a; i++) {
		cJSON_Delete(task);
		assert_int_equal(th_call(T.url, "GET", path, T.user, NULL, NULL, &task), 200);
		a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(task, "attempts"), 0);
		if (!a)
			usleep(50000);
	}
	assert_non_null(a);
	int owner = tu_node_of(&T, a);
	snprintf(path, sizeof path, "/v1/executor/attempts/%s/result", eu_str(a, "id"));
	const char *report = "{\"reason\":\"ok\",\"stdout\":\"x\\n\",\"output_sha256\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\","
		"\"usage\":{\"cpu_user_us\":0,\"cpu_sys_us\":0,\"peak_memory_bytes\":0,"
		"\"wall_us\":0}}";
	assert_int_equal(signed_status(&stranger, path, report, 0, "node-mismatch"), 401);
	if (owner >= 0)
		assert_int_equal(signed_status(&T.nodes[owner], path, report, 0, "invalid-field"), 400);
	cJSON_Delete(task);
	cJSON *done = tu_wait_task(&T, T.user, id, 30000);
	assert_non_null(done);
	assert_string_equal(eu_str(done, "state"), "succeeded"); /* the real report counted */
	cJSON_Delete(done);
	th_node_free(&stranger);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust_rule_replicates),
		cmocka_unit_test(test_killed_executor_is_replaced),
		cmocka_unit_test(test_liar_is_outvoted),
		cmocka_unit_test(test_protocol_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
