/* registry_db_outage.c - PostgreSQL dies under the registry and comes back: the daemon answers
 * 503 with Retry-After meanwhile, never crashes, and recovers by itself. It also starts while
 * the database is down. This test kills its own private cluster, not the shared one. */
#include "registry_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

static th_pg_t pg;
static char cluster[64];

static int setup(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cluster, sizeof cluster, "/tmp/duxos-outage-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "%s/deploy/local/pgctl.sh init %s >/dev/null", DUX_SOURCE_DIR,
		 cluster);
	if (system(cmd) != 0)
		return -1;
	setenv("DUX_TEST_PG_DIR", cluster, 1);
	return th_pg_newdb(&pg) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return th_pg_ctl(&pg, "destroy") == 0 ? 0 : -1;
}

static long status_with_retry_after(const char *url, const char *path, bool *has_retry)
{
	dux_client_resp_t resp;
	if (th_http(url, "GET", path, NULL, NULL, &resp) < 0)
		return -1;
	long st = resp.status;
	*has_retry = st == 503 && strstr(resp.content_type, "problem+json") != NULL &&
		     strtol(resp.retry_after, NULL, 10) > 0;
	dux_client_resp_clear(&resp);
	return st;
}

static void database_dies_and_returns(void **state)
{
	(void)state;
	th_daemon_t d;
	th_node_t n;
	char path[80];
	bool retry;
	assert_true(th_daemon_start(&d, "duxos-registry", &pg, NULL, true));
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(d.url, &n, "[\"api_hosting\"]"), 201);
	snprintf(path, sizeof path, "/v1/nodes/%s", n.id);

	assert_int_equal(th_pg_ctl(&pg, "kill"), 0);
	/* the first request may find the dead session; within a few, every answer is 503 */
	long st = 0;
	for (int i = 0; i < 20 && st != 503; i++)
		st = status_with_retry_after(d.url, path, &retry);
	assert_int_equal(st, 503);
	assert_true(retry);
	assert_int_equal(status_with_retry_after(d.url, "/readyz", &retry), 503);
	assert_int_equal(heartbeat(d.url, &n, 0), 503);
	assert_int_equal(status_with_retry_after(d.url, "/healthz", &retry), 200);

	assert_int_equal(th_pg_ctl(&pg, "start"), 0);
	assert_true(th_wait_status(d.url, path, 200, 30000));
	assert_true(th_wait_status(d.url, "/readyz", 200, 30000));
	assert_int_equal(heartbeat(d.url, &n, 0), 200);
	assert_int_equal(th_daemon_stop(&d), 0);
	th_node_free(&n);
}

static void starts_without_a_database(void **state)
{
	(void)state;
	th_daemon_t d;
	th_node_t n;
	bool retry;
	assert_int_equal(th_pg_ctl(&pg, "stop"), 0);
	assert_true(th_daemon_start(&d, "duxos-registry", &pg, NULL, false));
	assert_true(th_wait_status(d.url, "/healthz", 200, 30000));
	assert_int_equal(status_with_retry_after(d.url, "/readyz", &retry), 503);
	assert_int_equal(status_with_retry_after(d.url, "/v1/nodes", &retry), 503);
	assert_true(retry);
	assert_int_equal(th_pg_ctl(&pg, "start"), 0);
	assert_true(th_wait_status(d.url, "/readyz", 200, 30000));
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(d.url, &n, "[\"api_hosting\"]"), 201);
	assert_int_equal(th_daemon_stop(&d), 0);
	th_node_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(database_dies_and_returns),
		cmocka_unit_test(starts_without_a_database),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
