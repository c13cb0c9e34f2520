/* escrow_recovery.c - the recovery of a create whose wallet step did not answer in time.
 *
 * The wallet's account row is locked from a PostgreSQL session of the test, so the escrow's
 * hold batch waits inside the wallet (as it would behind a slow or stuck transaction) and the
 * escrow's calls time out. The recovery job then finds the escrow "creating" for longer than
 * its grace and the holds absent, and marks it failed ("nothing was moved"). When the lock
 * goes, the waiting batch still runs. A failed escrow must not leave the user's money held. */
#include "escrow_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLOP EU_FLOP

static eu_t E;

static int setup(void **state)
{
	(void)state;
	return eu_start(&E, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	int es = eu_escrow_stop(&E), ws = eu_wallet_stop(&E);
	eu_free(&E);
	return es == 0 && ws == 0 ? 0 : -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool pg_ok(PGconn *c, const char *sql, const char *param, ExecStatusType want)
{
	const char *p[] = {param};
	PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, param ? p : NULL, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == want;
	if (!ok)
		fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
	PQclear(res);
	return ok;
}

typedef struct {
	const eu_user_t *u;
	const char *provider;
	long status;
	char id[64], answered[16]; /* the escrow's id and status in the answer */
	int64_t took_ms;
} create_call_t;

/* POST /v1/escrow/create with a client that waits longer than the escrow's own retries. */
static void *create_call(void *arg)
{
	create_call_t *x = arg;
	dux_client_t *c = NULL;
	dux_client_opts_t o = {.base_url = E.url, .timeout_ms = 90000, .retries = 0};
	char body[512];
	snprintf(body, sizeof body,
		 "{\"api_id\":\"api.late\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\","
		 "\"amount\":\"10\"}",
		 x->u->addr, x->provider);
	const char *h[] = {x->u->auth, NULL};
	dux_client_resp_t resp;
	int64_t t0 = now_ms();
	x->status = -1;
	if (dux_client_new(&o, &c) == 0 &&
	    dux_client_do(c, "POST", "/v1/escrow/create", h, body, strlen(body), &resp) == 0) {
		x->status = resp.status;
		snprintf(x->id, sizeof x->id, "%s", eu_str(resp.json, "id"));
		snprintf(x->answered, sizeof x->answered, "%s", eu_str(resp.json, "status"));
		dux_client_resp_clear(&resp);
	}
	x->took_ms = now_ms() - t0;
	dux_client_free(c);
	return NULL;
}

/* The status of u's only escrow ("" when it has none). */
static void escrow_of(const eu_user_t *u, char status[16], char reason[32], char id[64])
{
	char path[160];
	cJSON *page = NULL;
	snprintf(path, sizeof path, "/v1/escrows?user=%s", u->addr);
	status[0] = reason[0] = id[0] = '\0';
	if (eu_call(&E, "GET", path, E.admin, NULL, NULL, &page) == 200) {
		const cJSON *esc = cJSON_GetArrayItem(cJSON_GetObjectItem(page, "escrows"), 0);
		snprintf(status, 16, "%s", eu_str(esc, "status"));
		snprintf(reason, 32, "%s", eu_str(esc, "reason"));
		snprintf(id, 64, "%s", eu_str(esc, "id"));
	}
	cJSON_Delete(page);
}

static void failed_create_holds_nothing(void **state)
{
	(void)state;
	eu_user_t u, p;
	assert_true(eu_user(&E, &u, "late", DUX_SCOPE_USER, "100"));
	assert_true(eu_user(&E, &p, "prov", DUX_SCOPE_PROVIDER, NULL));

	/* the wallet's batch for this user waits on the account's row lock */
	PGconn *pg = wu_pg_session(&E.w);
	assert_non_null(pg);
	assert_true(pg_ok(pg, "BEGIN", NULL, PGRES_COMMAND_OK));
	assert_true(pg_ok(pg, "SELECT 1 FROM wallet.accounts WHERE address = $1 FOR UPDATE", u.addr,
			  PGRES_TUPLES_OK));

	create_call_t x = {.u = &u, .provider = p.addr};
	pthread_t th;
	int64_t t0 = now_ms();
	assert_int_equal(pthread_create(&th, NULL, create_call, &x), 0);
	/* the recovery job settles the creating escrow once it is older than its grace (30 s) */
	char status[16] = "", reason[32] = "", id[64] = "";
	for (int64_t end = t0 + 50000; now_ms() < end;) {
		escrow_of(&u, status, reason, id);
		if (strcmp(status, "failed") == 0 || strcmp(status, "held") == 0)
			break;
		usleep(100000);
	}
	fprintf(stderr, "after %lld ms the escrow %s is %s (%s)\n", (long long)(now_ms() - t0), id,
		status, reason);
	/* the lock goes: the batch still waiting in the wallet runs now */
	assert_true(pg_ok(pg, "ROLLBACK", NULL, PGRES_COMMAND_OK));
	PQfinish(pg);
	pthread_join(th, NULL);
	fprintf(stderr, "POST /v1/escrow/create answered %ld (escrow status \"%s\") after %lld ms\n",
		x.status, x.answered, (long long)x.took_ms);
	assert_string_equal(status, "failed");
	assert_string_equal(reason, "create_unconfirmed");

	/* a failed escrow moved nothing: nothing stays held on the user's account */
	int64_t held = -1;
	for (int64_t end = now_ms() + 5000; now_ms() < end; usleep(100000)) {
		held = wu_held(&E.w, u.addr);
		char st2[16], r2[32], id2[64];
		escrow_of(&u, st2, r2, id2);
		if (held == 0 || strcmp(st2, "held") == 0) /* either is consistent */
			break;
	}
	char path[160], st2[16], r2[32], id2[64];
	cJSON *t = NULL;
	snprintf(path, sizeof path, "/v1/transfers/escrow:%s:hold:p", id);
	long tst = wu_call(&E.w, "GET", path, E.admin, NULL, NULL, &t);
	escrow_of(&u, st2, r2, id2);
	fprintf(stderr, "now: escrow %s; user held %lld units; wallet transfer escrow:%s:hold:p: %ld %s\n",
		st2, (long long)held, id, tst, eu_str(t, "state"));
	cJSON_Delete(t);
	assert_true(eu_conserved(&E));
	if (strcmp(st2, "held") != 0)
		assert_true(held == 0);
	/* and an answer 201 means the escrow is held */
	if (x.status == 201)
		assert_string_equal(x.answered, "held");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failed_create_holds_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
