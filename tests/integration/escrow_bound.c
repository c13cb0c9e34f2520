/* escrow_bound.c - the TransactionValidator for escrows bound to a task: the release's
 * result_hash must equal the validated result hash the task engine recorded. The task engine
 * here is a small libmicrohttpd server in this process answering GET /v1/tasks/{id} from a
 * table the test fills. */
#include "escrow_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define HASH_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

/* The task engine's records: id, state, result hash. */
static const char *tasks[][3] = {
	{"task-done", "succeeded", HASH_A},
	{"task-running", "running", ""},
};
static pthread_mutex_t calls_mu = PTHREAD_MUTEX_INITIALIZER;
static int calls;

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **state)
{
	(void)cls, (void)method, (void)version, (void)data, (void)size, (void)state;
	pthread_mutex_lock(&calls_mu);
	calls++;
	pthread_mutex_unlock(&calls_mu);
	char body[256] = "{\"type\":\"urn:duxos:problem:not-found\"}";
	unsigned status = 404;
	for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "/v1/tasks/%s", tasks[i][0]);
		if (strcmp(url, path) != 0)
			continue;
		snprintf(body, sizeof body, "{\"id\":\"%s\",\"state\":\"%s\",\"result_hash\":%s%s%s}",
			 tasks[i][0], tasks[i][1], *tasks[i][2] ? "\"" : "",
			 *tasks[i][2] ? tasks[i][2] : "null", *tasks[i][2] ? "\"" : "");
		status = 200;
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static eu_t E;
static struct MHD_Daemon *engine;

static int setup(void **state)
{
	(void)state;
	int port = th_free_port();
	engine = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
				  answer, NULL, MHD_OPTION_END);
	if (!engine)
		return -1;
	char yaml[256];
	snprintf(yaml, sizeof yaml, "  tasks_url: \"http://127.0.0.1:%d\"\n", port);
	return eu_start(&E, yaml) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	eu_free(&E);
	MHD_stop_daemon(engine);
	return 0;
}

/* A held escrow of 1 FLOP bound to task_id; its id into id. */
static void bound_escrow(const eu_user_t *u, const eu_user_t *p, const char *task_id,
			 char id[64])
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"api_id\":\"api.bound\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\","
		 "\"amount\":\"1\",\"task_id\":\"%s\"}",
		 u->addr, p->addr, task_id);
	cJSON *esc = NULL;
	assert_int_equal(eu_call(&E, "POST", "/v1/escrow/create", u->auth, NULL, body, &esc), 201);
	assert_string_equal(eu_str(esc, "task_id"), task_id);
	snprintf(id, 64, "%s", eu_str(esc, "id"));
	cJSON_Delete(esc);
}

/* POST /v1/escrow/release; the status, and the problem code into problem. */
static long release(const char *id, const char *hash, char problem[64], cJSON **ret)
{
	char body[256];
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", id, hash);
	dux_client_resp_t resp;
	assert_int_equal(eu_http(&E, "POST", "/v1/escrow/release", E.service, NULL, body, &resp), 0);
	long st = resp.status;
	snprintf(problem, 64, "%s", th_problem(&resp));
	if (ret) {
		*ret = resp.json;
		resp.json = NULL;
	}
	dux_client_resp_clear(&resp);
	return st;
}

static void bound_release_compares_the_recorded_hash(void **state)
{
	(void)state;
	eu_user_t u, p;
	char id[64], problem[64];
	assert_true(eu_user(&E, &u, "bound", DUX_SCOPE_USER, "10"));
	assert_true(eu_user(&E, &p, "prov", DUX_SCOPE_PROVIDER, NULL));

	bound_escrow(&u, &p, "task-done", id);
	int before = calls;
	/* another hash than the task engine validated: refused, nothing paid */
	assert_int_equal(release(id, HASH_B, problem, NULL), 422);
	assert_string_equal(problem, "result-mismatch");
	assert_true(calls > before); /* the engine was asked */
	/* the recorded hash: released, and the answer says it was compared */
	cJSON *esc = NULL;
	assert_int_equal(release(id, HASH_A, problem, &esc), 200);
	assert_string_equal(eu_str(esc, "status"), "released");
	const cJSON *v = cJSON_GetObjectItem(esc, "validation");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "bound")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "compared")));
	cJSON_Delete(esc);

	/* a task not validated yet, and a task the engine does not know */
	bound_escrow(&u, &p, "task-running", id);
	assert_int_equal(release(id, HASH_A, problem, NULL), 409);
	assert_string_equal(problem, "task-not-validated");
	bound_escrow(&u, &p, "task-unknown", id);
	assert_int_equal(release(id, HASH_A, problem, NULL), 422);
	assert_string_equal(problem, "task-unknown");
	/* those two stay held: refunded, the user has all but the released 1 FLOP */
	assert_true(eu_conserved(&E));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bound_release_compares_the_recorded_hash, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
