/* store_events.c - total_calls of duxos-store from duxos-escrow's escrow.released events,
 * through the escrow's real flow (create, release, refund) against a real wallet: each release
 * counted exactly once; refunds and escrows still held not counted; calls of an api_id that is
 * no service recorded; what was released while the store was down (stopped, or killed -9)
 * backfilled on restart; the whole event log applied again from seq 0 counting nothing twice;
 * and the escrow restarted under the store. */
#include "store_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

static su_t S;
static eu_user_t P, U1, U2, U3;
static char S1[64], S2[64];
static int64_t n1, n2; /* the calls each should have */

static int setup(void **state)
{
	(void)state;
	su_opts_t o = {0};
	char body[SU_BODY_MAX];
	if (!su_start(&S, &o) || !su_provider(&S, &P) || !su_user(&S, &U1, "100") ||
	    !su_user(&S, &U2, "100") || !su_user(&S, &U3, "100"))
		return -1;
	su_body(body, "Counted", "one", "1.0.0", P.addr, "1", NULL, NULL);
	if (!su_publish(&S, &P, body, S1))
		return -1;
	su_body(body, "Counted too", "two", "1.0.0", P.addr, "1", NULL, NULL);
	return su_publish(&S, &P, body, S2) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return su_finish(&S) ? 0 : -1;
}

static int64_t sql_int(const char *sql)
{
	char v[64];
	assert_true(su_sql(&S, sql, v, sizeof v));
	return strtoll(v, NULL, 10);
}

/* Waits until the store has applied every event the escrow published. */
static void caught_up(void)
{
	int64_t last = -1, cur = -2;
	for (int waited = 0; waited < 20000; waited += 50) {
		last = sql_int("SELECT coalesce(max(seq), 0) FROM escrow.bus_events");
		cur = sql_int("SELECT coalesce(max(seq), -1) FROM store.bus_cursor"
			      " WHERE source = 'duxos-escrow'");
		if (cur == last && last > 0)
			return;
		usleep(50000);
	}
	fail_msg("the store's cursor is at %lld, the escrow's log at %lld", (long long)cur,
		 (long long)last);
}

static void pay(const eu_user_t *u, const char *api_id, int64_t *count)
{
	char esc[64];
	assert_true(su_paid_call(&S, u, P.addr, api_id, "1", esc));
	if (count)
		(*count)++;
}

/* Exactly n1 and n2 now, and still after more rounds of backfill (events_poll_ms 300). */
static void counts_exact(void)
{
	assert_true(su_wait_calls(&S, S1, n1, 15000));
	assert_true(su_wait_calls(&S, S2, n2, 15000));
	caught_up();
	usleep(1000000);
	assert_true(su_total_calls(&S, S1) == n1);
	assert_true(su_total_calls(&S, S2) == n2);
}

static void releases_count_once_each(void **state)
{
	(void)state;
	char body[256], esc[64];
	for (int i = 0; i < 3; i++)
		pay(&U1, S1, &n1);
	for (int i = 0; i < 2; i++)
		pay(&U2, S2, &n2);
	pay(&U1, "api.elsewhere", NULL); /* no service of the store */
	/* a refund and a held escrow are no paid calls */
	cJSON *e = NULL;
	snprintf(body, sizeof body,
		 "{\"api_id\":\"%s\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\",\"amount\":\"1\"}",
		 S1, U3.addr, P.addr);
	assert_int_equal(eu_call(&S.e, "POST", "/v1/escrow/create", U3.auth, NULL, body, &e), 201);
	snprintf(esc, sizeof esc, "%s", eu_str(e, "id"));
	cJSON_Delete(e);
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\"}", esc);
	assert_int_equal(eu_call(&S.e, "POST", "/v1/escrow/refund", S.e.service, NULL, body, NULL),
			 200);
	snprintf(body, sizeof body,
		 "{\"api_id\":\"%s\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\",\"amount\":\"1\"}",
		 S2, U3.addr, P.addr);
	assert_int_equal(eu_call(&S.e, "POST", "/v1/escrow/create", U3.auth, NULL, body, NULL), 201);
	counts_exact();
	assert_true(sql_int("SELECT count(*) FROM store.calls WHERE api_id = 'api.elsewhere'") == 1);
	assert_true(sql_int("SELECT count(*) FROM store.calls") == n1 + n2 + 1);
	/* U3 paid for nothing: the refund and the held escrow admit no review */
	char path[96];
	snprintf(path, sizeof path, "/v1/services/%s/reviews", S1);
	assert_true(su_check(&S, "POST", path, U3.auth, NULL, "{\"stars\":3}", 403, "no-paid-call",
			     NULL, NULL));
}

static void downtime_is_backfilled(void **state)
{
	(void)state;
	assert_int_equal(su_store_stop(&S), 0);
	pay(&U1, S1, &n1);
	pay(&U1, S1, &n1);
	pay(&U3, S2, &n2);
	assert_true(su_store_restart(&S));
	counts_exact();
	/* U3's call, released while the store was down, admits its review */
	char path[96];
	snprintf(path, sizeof path, "/v1/services/%s/reviews", S2);
	assert_true(su_check(&S, "POST", path, U3.auth, NULL, "{\"stars\":4}", 201, "", NULL, NULL));
}

static void replay_from_zero_counts_nothing_twice(void **state)
{
	(void)state;
	int64_t calls = sql_int("SELECT count(*) FROM store.calls");
	assert_int_equal(su_store_stop(&S), 0);
	char out[8];
	/* as if the store had never seen an event: every one comes again by backfill */
	assert_true(su_sql(&S,
			   "UPDATE store.bus_cursor SET seq = 0, event_id = ''"
			   " WHERE source = 'duxos-escrow'",
			   out, sizeof out));
	assert_true(su_store_restart(&S));
	caught_up();
	counts_exact();
	assert_true(sql_int("SELECT count(*) FROM store.calls") == calls);
}

static void kill_9_and_resume(void **state)
{
	(void)state;
	pay(&U2, S2, &n2);
	su_store_kill(&S);
	pay(&U2, S2, &n2);
	pay(&U1, S1, &n1);
	assert_true(su_store_restart(&S));
	counts_exact();
}

static void escrow_restarted_under_the_store(void **state)
{
	(void)state;
	assert_int_equal(eu_escrow_stop(&S.e), 0);
	assert_true(eu_escrow_restart(&S.e, NULL, true));
	pay(&U1, S1, &n1);
	pay(&U2, S2, &n2);
	counts_exact();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(releases_count_once_each),
		cmocka_unit_test(downtime_is_backfilled),
		cmocka_unit_test(replay_from_zero_counts_nothing_twice),
		cmocka_unit_test(kill_9_and_resume),
		cmocka_unit_test(escrow_restarted_under_the_store),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
