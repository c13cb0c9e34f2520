/* wallet_property.c - the ledger's invariants under concurrency: many threads doing random
 * transfers, pendings, posts, voids, timeouts and retries over a few hot accounts; afterwards no
 * balance is negative and conservation holds. Concurrent retries of one id move money once, and
 * of the posts and voids racing for one pending transfer exactly one wins. */
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
#define THREADS 8
#define OPS 200
#define START_FLOP "1000"
#define FLOP INT64_C(100000000)

typedef struct {
	wu_wallet_t w;
	char auth[USERS][WU_HDR_MAX];
	char addr[USERS][64];
	atomic_int statuses[600];
	atomic_int failures; /* answers no valid request may get */
	pthread_barrier_t barrier;
} world_t;

static world_t world;

static bool world_start(void)
{
	if (!wu_start(&world.w, WU_PASSPHRASE, "  sweep_interval_ms: 100\n"))
		return false;
	for (int i = 0; i < USERS; i++) {
		char sub[64];
		wu_subject("prop", sub);
		if (!wu_bearer(&world.w, sub, DUX_SCOPE_USER, world.auth[i], WU_HDR_MAX) ||
		    !wu_account(&world.w, world.auth[i], world.addr[i]) ||
		    wu_faucet(&world.w, world.addr[i], START_FLOP) != 201)
			return false;
	}
	return true;
}

static int64_t inside(void)
{
	int64_t sum = 0;
	for (int i = 0; i < USERS; i++)
		sum += wu_total(&world.w, world.addr[i]);
	return sum;
}

/* ---- random load */

typedef struct {
	unsigned seed;
	int t;
	char pend[OPS][48]; /* pending ids this thread made */
	int pend_owner[OPS];
	int npend;
	char sent[OPS][2400]; /* bodies sent, for retries */
	int sent_user[OPS], sent_status[OPS];
	int nsent;
} worker_t;

static int64_t rnd(worker_t *k, int64_t n)
{
	return (int64_t)(rand_r(&k->seed) % (unsigned)n);
}

static void amount_text(int64_t units, char out[40])
{
	snprintf(out, 40, "%lld.%08lld", (long long)(units / FLOP), (long long)(units % FLOP));
}

static long post_transfers(int user, const char *items, cJSON **ret)
{
	char body[2500];
	snprintf(body, sizeof body, "{\"transfers\":[%s]}", items);
	return wu_call(&world.w, "POST", "/v1/transfers", world.auth[user], NULL, body, ret);
}

static void record(worker_t *k, int user, const char *items, long status)
{
	if (status != 200 && status != 201 && status != 409 && status != 422) {
		atomic_fetch_add(&world.failures, 1);
		fprintf(stderr, "unexpected %ld for %s\n", status, items);
	}
	if (status >= 0 && status < 600)
		atomic_fetch_add(&world.statuses[status], 1);
	if (k->nsent < OPS) {
		snprintf(k->sent[k->nsent], sizeof k->sent[0], "%s", items);
		k->sent_user[k->nsent] = user;
		k->sent_status[k->nsent++] = (int)status;
	}
}

static void op_move(worker_t *k, int n, bool pending)
{
	int i = (int)rnd(k, USERS), j = (i + 1 + (int)rnd(k, USERS - 1)) % USERS;
	char items[600], amt[40], timeout[32] = "";
	amount_text(1 + rnd(k, 300 * FLOP), amt);
	if (pending && rnd(k, 2))
		snprintf(timeout, sizeof timeout, ",\"timeout\":%d", 1 + (int)rnd(k, 2));
	snprintf(items, sizeof items,
		 "{\"id\":\"p%d-%d\",\"mode\":\"%s\",\"debit\":\"%s\",\"credit\":\"%s\","
		 "\"amount\":\"%s\"%s}",
		 k->t, n, pending ? "pending" : "immediate", world.addr[i], world.addr[j], amt, timeout);
	long st = post_transfers(i, items, NULL);
	record(k, i, items, st);
	if (pending && st == 201) {
		snprintf(k->pend[k->npend], sizeof k->pend[0], "p%d-%d", k->t, n);
		k->pend_owner[k->npend++] = i;
	}
}

static void op_resolve(worker_t *k, int n, bool post)
{
	if (k->npend == 0)
		return;
	int p = (int)rnd(k, k->npend);
	char items[600], amt[64] = "";
	if (post && rnd(k, 2)) {
		char a[40];
		amount_text(1 + rnd(k, 200 * FLOP), a);
		snprintf(amt, sizeof amt, ",\"amount\":\"%s\"", a);
	}
	snprintf(items, sizeof items, "{\"id\":\"r%d-%d\",\"mode\":\"%s\",\"pending_id\":\"%s\"%s}",
		 k->t, n, post ? "post" : "void", k->pend[p], amt);
	record(k, k->pend_owner[p], items, post_transfers(k->pend_owner[p], items, NULL));
}

/* An earlier request again: one that was applied must answer 200 and "existed". */
static void op_retry(worker_t *k)
{
	if (k->nsent == 0)
		return;
	int s = (int)rnd(k, k->nsent);
	cJSON *out = NULL;
	long st = post_transfers(k->sent_user[s], k->sent[s], &out);
	if (st == 200)
		atomic_fetch_add(&world.statuses[200], 1);
	if (k->sent_status[s] == 201 || k->sent_status[s] == 200) {
		const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "transfers"), 0);
		if (st != 200 || !cJSON_IsTrue(cJSON_GetObjectItem(t, "existed"))) {
			atomic_fetch_add(&world.failures, 1);
			fprintf(stderr, "retry of %s answered %ld\n", k->sent[s], st);
		}
	}
	cJSON_Delete(out);
}

/* Ten transfers from one account in one batch, all or none: most fit the account and take the
 * set-wise fast path, racing the other threads for the same accounts. */
static void op_batch(worker_t *k, int n)
{
	int i = (int)rnd(k, USERS);
	char items[2400] = "", one[300], amt[40];
	for (int b = 0; b < 10; b++) {
		int j = (i + 1 + (int)rnd(k, USERS - 1)) % USERS;
		amount_text(1 + rnd(k, 30 * FLOP), amt);
		snprintf(one, sizeof one, "%s{\"id\":\"b%d-%d-%d\",\"debit\":\"%s\",\"credit\":\"%s\","
			 "\"amount\":\"%s\"}", b ? "," : "", k->t, n, b, world.addr[i], world.addr[j], amt);
		strncat(items, one, sizeof items - strlen(items) - 1);
	}
	record(k, i, items, post_transfers(i, items, NULL));
}

static void *worker(void *arg)
{
	worker_t *k = arg;
	pthread_barrier_wait(&world.barrier);
	for (int n = 0; n < OPS; n++) {
		int64_t r = rnd(k, 100);
		if (r < 35)
			op_move(k, n, false);
		else if (r < 55)
			op_move(k, n, true);
		else if (r < 70)
			op_resolve(k, n, true);
		else if (r < 80)
			op_resolve(k, n, false);
		else if (r < 88)
			op_retry(k);
		else
			op_batch(k, n);
	}
	return NULL;
}

static void random_load_conserves(void **state)
{
	(void)state;
	static worker_t workers[THREADS];
	pthread_t th[THREADS];
	assert_true(world_start());
	assert_int_equal(pthread_barrier_init(&world.barrier, NULL, THREADS), 0);
	for (int t = 0; t < THREADS; t++) {
		workers[t] = (worker_t){.seed = 0x5eed0000u + (unsigned)t, .t = t};
		assert_int_equal(pthread_create(&th[t], NULL, worker, &workers[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&world.barrier);
	fprintf(stderr, "answers: 201 %d, 200 %d, 403 %d, 409 %d, 422 %d\n",
		atomic_load(&world.statuses[201]), atomic_load(&world.statuses[200]),
		atomic_load(&world.statuses[403]), atomic_load(&world.statuses[409]),
		atomic_load(&world.statuses[422]));
	assert_int_equal(atomic_load(&world.failures), 0);
	assert_true(atomic_load(&world.statuses[201]) > THREADS * OPS / 4);
	assert_true(atomic_load(&world.statuses[422]) > 0); /* the load did run into empty accounts */
	assert_true(wu_ledger_holds(&world.w));
	assert_int_equal(inside(), USERS * 1000 * FLOP);
	/* once every timeout has passed, nothing is held but the pendings without one */
	sleep(3);
	assert_true(wu_ledger_holds(&world.w));
	assert_int_equal(inside(), USERS * 1000 * FLOP);
	assert_int_equal(wu_stop(&world.w), 0);
	wu_free(&world.w);
}

/* ---- one id, many concurrent attempts */

typedef struct {
	int user;
	char items[600];
	long status;
	bool existed;
} race_t;

static void *racer(void *arg)
{
	race_t *x = arg;
	cJSON *out = NULL;
	pthread_barrier_wait(&world.barrier);
	x->status = post_transfers(x->user, x->items, &out);
	const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "transfers"), 0);
	x->existed = cJSON_IsTrue(cJSON_GetObjectItem(t, "existed"));
	cJSON_Delete(out);
	return NULL;
}

/* Runs THREADS racers at once; returns how many got 201. */
static int race(race_t *x)
{
	pthread_t th[THREADS];
	assert_int_equal(pthread_barrier_init(&world.barrier, NULL, THREADS), 0);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, racer, &x[t]), 0);
	int created = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		created += x[t].status == 201;
	}
	pthread_barrier_destroy(&world.barrier);
	return created;
}

static void concurrent_retries_move_once(void **state)
{
	(void)state;
	race_t x[THREADS];
	assert_true(world_start());
	for (int t = 0; t < THREADS; t++) {
		x[t] = (race_t){.user = 0};
		snprintf(x[t].items, sizeof x[t].items,
			 "{\"id\":\"same\",\"debit\":\"%s\",\"credit\":\"%s\",\"amount\":\"7\"}",
			 world.addr[0], world.addr[1]);
	}
	assert_int_equal(race(x), 1);
	for (int t = 0; t < THREADS; t++)
		assert_true(x[t].status == 201 || (x[t].status == 200 && x[t].existed));
	assert_int_equal(wu_balance(&world.w, world.addr[0]), 993 * FLOP);
	assert_int_equal(wu_balance(&world.w, world.addr[1]), 1007 * FLOP);

	/* posts and voids racing for one pending transfer: exactly one resolves it */
	char items[300];
	snprintf(items, sizeof items,
		 "{\"id\":\"hold\",\"mode\":\"pending\",\"debit\":\"%s\",\"credit\":\"%s\","
		 "\"amount\":\"100\"}",
		 world.addr[2], world.addr[3]);
	assert_int_equal(post_transfers(2, items, NULL), 201);
	for (int t = 0; t < THREADS; t++) {
		x[t] = (race_t){.user = 2};
		snprintf(x[t].items, sizeof x[t].items,
			 "{\"id\":\"end-%d\",\"mode\":\"%s\",\"pending_id\":\"hold\"}", t,
			 t % 2 ? "post" : "void");
	}
	assert_int_equal(race(x), 1);
	for (int t = 0; t < THREADS; t++)
		assert_true(x[t].status == 201 || x[t].status == 409);
	int64_t b2 = wu_balance(&world.w, world.addr[2]), b3 = wu_balance(&world.w, world.addr[3]);
	assert_int_equal(wu_held(&world.w, world.addr[2]), 0);
	assert_true((b2 == 900 * FLOP && b3 == 1100 * FLOP) || (b2 == 1000 * FLOP && b3 == 1000 * FLOP));
	assert_true(wu_ledger_holds(&world.w));
	assert_int_equal(wu_stop(&world.w), 0);
	wu_free(&world.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_load_conserves),
		cmocka_unit_test(concurrent_retries_move_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
