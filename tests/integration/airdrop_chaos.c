/* airdrop_chaos.c - kill -9 in the middle of a round's payout, of the airdrop, the escrow or
 * the wallet, at a different moment each time; then the daemon again, and the round must end
 * executed with every recipient paid exactly its amount once, the fund smaller by exactly the
 * total, and money conserved across the ledger. */
#include "airdrop_util.h"
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#define FLOP EU_FLOP
#define NODES 4

static au_t A;
static au_node_t nodes[NODES];

static int setup(void **state)
{
	(void)state;
	if (!au_start(&A, "  threshold: \"10\"\n"))
		return -1;
	for (int i = 0; i < NODES; i++) {
		if (!au_node(&A, &nodes[i], NULL))
			return -1;
		au_node_t *ns[] = {&nodes[i]};
		const char *vs[] = {"agreed"};
		if (!au_task(&A, true, ns, vs, 1))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return au_stop(&A) ? 0 : -1;
}

typedef struct {
	char body[512];
	char path[96];
	long status;
} approve_t;

static void *approver(void *arg)
{
	approve_t *x = arg;
	x->status = au_call(&A, "POST", x->path, NULL, x->body, NULL);
	return NULL;
}

enum { AIRDROP, ESCROW, WALLET };

static void kill_and_restart(int victim)
{
	if (victim == AIRDROP) {
		th_daemon_kill(&A.air);
		A.air.pid = 0;
		assert_true(au_airdrop_restart(&A, NULL));
	} else if (victim == ESCROW) {
		eu_escrow_kill(&A.e);
		assert_true(eu_escrow_restart(&A.e, NULL, true));
	} else {
		eu_wallet_kill(&A.e);
		assert_true(eu_wallet_restart(&A.e));
	}
}

static void one_round(int victim, int delay_us)
{
	int before_rounds = au_round_count(&A);
	assert_true(au_feed(&A, "12"));
	cJSON *r = NULL;
	for (int i = 0; i < 600 && !r; i++) {
		r = au_wait_round(&A, "proposed", 100);
		if (r && au_round_count(&A) != before_rounds + 1) {
			cJSON_Delete(r);
			r = NULL;
		}
	}
	assert_non_null(r);
	int64_t fund = eu_fund_in_wallet(&A.e), total = eu_amount(r, "total");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(r, "recipients"), *x;
	int64_t bal[NODES] = {0};
	for (int i = 0; i < NODES; i++)
		bal[i] = wu_balance(&A.e.w, nodes[i].wallet);
	approve_t a0 = {0}, a1 = {0};
	snprintf(a0.path, sizeof a0.path, "/v1/airdrop/rounds/%s/approve", eu_str(r, "id"));
	snprintf(a1.path, sizeof a1.path, "%s", a0.path);
	assert_true(au_approval(&A, r, 0, NULL, a0.body, sizeof a0.body));
	assert_true(au_approval(&A, r, 1, NULL, a1.body, sizeof a1.body));
	approver(&a0);
	assert_int_equal(a0.status, 201);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, approver, &a1), 0);
	usleep((useconds_t)delay_us);
	kill_and_restart(victim);
	pthread_join(t, NULL);
	if (a1.status != 201) /* the approval never arrived (the airdrop died first): again */
		approver(&a1);
	cJSON *done = au_wait_round(&A, "executed", 60000);
	if (!done)
		au_dump_logs(&A);
	assert_non_null(done);
	assert_string_equal(eu_str(done, "id"), eu_str(r, "id"));
	cJSON_Delete(done);
	/* each recipient paid exactly once */
	cJSON_ArrayForEach(x, rs)
	{
		for (int i = 0; i < NODES; i++)
			if (strcmp(eu_str(x, "address"), nodes[i].wallet) == 0) {
				assert_int_equal(wu_balance(&A.e.w, nodes[i].wallet),
						 bal[i] + eu_amount(x, "amount"));
				bal[i] = -1;
			}
	}
	for (int i = 0; i < NODES; i++)
		if (bal[i] >= 0) /* not a recipient: untouched */
			assert_int_equal(wu_balance(&A.e.w, nodes[i].wallet), bal[i]);
	assert_int_equal(eu_fund_in_wallet(&A.e), fund - total);
	assert_true(eu_conserved(&A.e));
	cJSON_Delete(r);
}

static void kill_airdrop(void **state)
{
	(void)state;
	const int delays[] = {0, 2000, 20000};
	for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++)
		one_round(AIRDROP, delays[i]);
}

static void kill_escrow(void **state)
{
	(void)state;
	const int delays[] = {1000, 15000};
	for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++)
		one_round(ESCROW, delays[i]);
}

static void kill_wallet(void **state)
{
	(void)state;
	const int delays[] = {1000, 15000};
	for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++)
		one_round(WALLET, delays[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill_airdrop),
		cmocka_unit_test(kill_escrow),
		cmocka_unit_test(kill_wallet),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
