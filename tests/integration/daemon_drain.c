/* daemon_drain.c - the daemon skeleton around requests: SIGTERM lets a request in flight
 * finish and refuses new connections; the drain has a deadline; without a database the
 * daemon still starts, is alive but not ready. */
#include "harness.h"
#include <dux/json.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

/* A database nobody listens on: the skeleton must cope. */
static const th_pg_t nodb = {.dir = "", .conninfo = "host=127.0.0.1 port=1 dbname=none user=none",
			     .password_file = "/dev/null"};

typedef struct {
	const char *url;
	long status;
} slow_call_t;

static void *call_slow(void *arg)
{
	slow_call_t *c = arg;
	dux_client_resp_t resp;
	c->status = -1;
	if (th_http(c->url, "GET", "/slow", NULL, NULL, &resp) == 0) {
		c->status = resp.status;
		dux_client_resp_clear(&resp);
	}
	return NULL;
}

static void request_in_flight_finishes(void **state)
{
	(void)state;
	th_daemon_t d;
	assert_true(th_daemon_start(&d, "duxos-slowd", &nodb, NULL, false));
	assert_true(th_wait_status(d.url, "/healthz", 200, 10000));
	assert_true(th_wait_status(d.url, "/readyz", 503, 1000)); /* alive, not ready */

	slow_call_t c = {.url = d.url};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_slow, &c), 0);
	usleep(400000); /* the request is being handled */
	kill(d.pid, SIGTERM);
	usleep(200000);
	dux_client_resp_t resp;
	assert_int_equal(th_http(d.url, "GET", "/healthz", NULL, NULL, &resp), DUX_EUNAVAIL);
	pthread_join(t, NULL);
	assert_int_equal(c.status, 200);
	assert_int_equal(th_daemon_stop(&d), 0);
}

static void drain_has_a_deadline(void **state)
{
	(void)state;
	th_daemon_t d;
	assert_true(th_daemon_start(&d, "duxos-slowd", &nodb,
				    "daemon:\n  drain_timeout: 0\n", false));
	assert_true(th_wait_status(d.url, "/healthz", 200, 10000));
	slow_call_t c = {.url = d.url};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_slow, &c), 0);
	usleep(400000);
	int64_t t0 = dux_now_us();
	kill(d.pid, SIGTERM);
	int st;
	assert_int_equal(waitpid(d.pid, &st, 0), d.pid);
	d.pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		th_daemon_dump_log(&d);
	assert_true(WIFEXITED(st));
	/* it did not wait for the 3 s request */
	assert_true(dux_now_us() - t0 < 1500000);
	assert_int_equal(WEXITSTATUS(st), 0);
	pthread_join(t, NULL);
	assert_true(c.status != 200);
	unlink(d.config);
	unlink(d.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_in_flight_finishes),
		cmocka_unit_test(drain_has_a_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
