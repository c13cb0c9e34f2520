/* wallet_crash.c - kill -9 of the wallet in the middle of a load, then a restart: every
 * transfer that was acknowledged is there, conservation holds, and the pending transfers left
 * behind still time out. */
#include "wallet_util.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USERS 4
#define THREADS 6
#define MAX_ACKED 4000
#define FLOP INT64_C(100000000)

static wu_wallet_t w;
static char auth[USERS][WU_HDR_MAX], addr[USERS][64];
static atomic_bool stop_load;
static char acked[THREADS][MAX_ACKED][32];
static int nacked[THREADS];

typedef struct {
	int t, round;
	unsigned seed;
} loader_t;

/* Transfers and timed pendings until stop_load; remembers every id answered 2xx. */
static void *loader(void *arg)
{
	loader_t *k = arg;
	for (int n = 0; !atomic_load(&stop_load) && nacked[k->t] < MAX_ACKED; n++) {
		int i = (int)(rand_r(&k->seed) % USERS), j = (i + 1) % USERS;
		char id[32], body[400];
		snprintf(id, sizeof id, "c%d-%d-%d", k->round, k->t, n);
		snprintf(body, sizeof body,
			 "{\"transfers\":[{\"id\":\"%s\",\"mode\":\"%s\",\"debit\":\"%s\","
			 "\"credit\":\"%s\",\"amount\":\"0.%08u\"%s}]}",
			 id, n % 3 ? "immediate" : "pending", addr[i], addr[j],
			 1 + rand_r(&k->seed) % 99999999u, n % 3 ? "" : ",\"timeout\":2");
		long st = wu_call(&w, "POST", "/v1/transfers", auth[i], NULL, body, NULL);
		if (st == 201 || st == 200)
			memcpy(acked[k->t][nacked[k->t]++], id, sizeof id);
		else if (st < 0)
			usleep(20000); /* the wallet is gone: keep trying until told to stop */
	}
	return NULL;
}

static int round_under_kill(int round)
{
	pthread_t th[THREADS];
	loader_t k[THREADS];
	atomic_store(&stop_load, false);
	for (int t = 0; t < THREADS; t++) {
		nacked[t] = 0;
		k[t] = (loader_t){.t = t, .round = round, .seed = 0xc0de0000u + (unsigned)(round * 16 + t)};
		assert_int_equal(pthread_create(&th[t], NULL, loader, &k[t]), 0);
	}
	usleep(1500 * 1000);
	th_daemon_kill(&w.d); /* SIGKILL: no drain, no commit of anything in flight */
	usleep(300 * 1000);
	atomic_store(&stop_load, true);
	int total = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		total += nacked[t];
	}
	return total;
}

static void all_acked_exist(void)
{
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < nacked[t]; i++) {
			char path[64];
			snprintf(path, sizeof path, "/v1/transfers/%s", acked[t][i]);
			long st = wu_call(&w, "GET", path, w.admin, NULL, NULL, NULL);
			if (st != 200)
				fprintf(stderr, "acknowledged transfer %s: GET answered %ld\n", acked[t][i], st);
			assert_int_equal(st, 200);
		}
}

static int64_t inside(void)
{
	int64_t sum = 0;
	for (int i = 0; i < USERS; i++)
		sum += wu_total(&w, addr[i]);
	return sum;
}

static void kill9_loses_nothing(void **state)
{
	(void)state;
	assert_true(wu_start(&w, WU_PASSPHRASE, "  sweep_interval_ms: 100\n"));
	for (int i = 0; i < USERS; i++) {
		char sub[64];
		wu_subject("crash", sub);
		assert_true(wu_bearer(&w, sub, DUX_SCOPE_USER, auth[i], WU_HDR_MAX));
		assert_true(wu_account(&w, auth[i], addr[i]));
		assert_int_equal(wu_faucet(&w, addr[i], "1000"), 201);
	}
	for (int round = 0; round < 2; round++) {
		int n = round_under_kill(round);
		fprintf(stderr, "round %d: %d transfers acknowledged before kill -9\n", round, n);
		assert_true(n > 0);
		assert_true(wu_restart(&w, WU_PASSPHRASE, "  sweep_interval_ms: 100\n", true));
		all_acked_exist();
		assert_true(wu_ledger_holds(&w));
		assert_int_equal(inside(), USERS * 1000 * FLOP);
	}
	/* the pendings left behind time out after the restart: nothing stays held */
	int64_t held = 1;
	for (int waited = 0; held != 0 && waited < 100; waited++) {
		held = 0;
		for (int i = 0; i < USERS; i++)
			held += wu_held(&w, addr[i]);
		if (held)
			usleep(100 * 1000);
	}
	assert_int_equal(held, 0);
	assert_true(wu_ledger_holds(&w));
	assert_int_equal(wu_stop(&w), 0);
	wu_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill9_loses_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
