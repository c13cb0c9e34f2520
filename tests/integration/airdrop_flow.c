/* airdrop_flow.c - duxos-airdrop end to end against a real registry, wallet and escrow and the
 * fake task-event publisher: bad input per endpoint; every eligibility criterion excluded with
 * its reason; a threshold crossing (with concurrent inflows) proposes exactly one round; nodes
 * sharing a wallet are paid once; too few approvals pay nothing; forged, unknown and repeated
 * approvals are refused; M approvals pay exactly the round, the fund shrinks by the total and
 * money is conserved; the escrow's payout route refuses others and other content; dry runs. */
#include "airdrop_util.h"
#include <dux/money.h>
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
#define BASE_YAML "  threshold: \"10\"\n"

static au_t A;
/* good1 has 2 agreed tasks, good2 1, shared1 3 (sharing its wallet with shared2, 1) */
static au_node_t good1, good2, shared1, shared2, notask, flagged, lowrep, noacct;
static char round_id[40];

static int setup(void **state)
{
	(void)state;
	return au_start(&A, BASE_YAML) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return au_stop(&A) ? 0 : -1;
}

static void expect(const char *method, const char *path, const char *auth, const char *body,
		   long status, const char *problem)
{
	dux_client_resp_t resp;
	assert_int_equal(th_http_as(A.air.url, method, path, auth, NULL, body, &resp), 0);
	bool ok = resp.status == status && strcmp(th_problem(&resp), problem) == 0;
	if (!ok)
		fprintf(stderr, "%s %s %s: want %ld %s, got %ld %s\n", method, path, body ? body : "",
			status, problem, resp.status, resp.body);
	dux_client_resp_clear(&resp);
	assert_true(ok);
}

static void bad_input(void **state)
{
	(void)state;
	char user[WU_HDR_MAX];
	assert_true(eu_bearer(&A.e, "someone", DUX_SCOPE_USER, user, sizeof user));
	expect("GET", "/v1/airdrop/eligibility/xyz", NULL, NULL, 400, "invalid-field");
	expect("GET", "/airdrop/eligibility/0123456789abcdef0123456789abcdef", NULL, NULL, 404,
	       "not-found");
	expect("POST", "/airdrop/dry-run", NULL, "{}", 401, "unauthenticated");
	expect("POST", "/v1/airdrop/dry-run", user, "{\"fund_balance\":\"-1\"}", 400,
	       "invalid-field");
	expect("POST", "/v1/airdrop/dry-run", user, "{\"weighting\":\"votes\"}", 400,
	       "invalid-field");
	expect("POST", "/v1/airdrop/dry-run", user, "{\"colour\":1}", 400, "invalid-field");
	expect("POST", "/v1/airdrop/dry-run", user, "[1]", 400, "invalid-body");
	expect("GET", "/v1/airdrop/rounds?limit=0", NULL, NULL, 400, "invalid-query");
	expect("GET", "/v1/airdrop/rounds?status=paid", NULL, NULL, 400, "invalid-query");
	expect("GET", "/v1/airdrop/rounds?cursor=x", NULL, NULL, 400, "invalid-query");
	expect("GET", "/v1/airdrop/rounds/adr_x", NULL, NULL, 404, "not-found");
	expect("GET", "/airdrop/rounds/adr_0123456789abcdef0123456789abcdef", NULL, NULL, 404,
	       "not-found");
	expect("POST", "/v1/airdrop/rounds/adr_0123456789abcdef0123456789abcdef/approve", NULL,
	       "{\"approver\":\"x\"}", 400, "invalid-field");
	char body[256], zeros[87];
	memset(zeros, 'A', 86);
	zeros[86] = '\0';
	snprintf(body, sizeof body, "{\"approver\":\"%s\",\"signature\":\"%s\"}",
		 A.approver_b64[0], zeros);
	expect("POST", "/v1/airdrop/rounds/adr_0123456789abcdef0123456789abcdef/approve", NULL, body,
	       404, "not-found");
	expect("GET", "/v1/airdrop/audit?limit=5000", NULL, NULL, 400, "invalid-query");
	expect("DELETE", "/v1/airdrop/rounds", NULL, NULL, 405, "method-not-allowed");
	expect("GET", "/v1/airdrop/status", NULL, NULL, 200, "");
	expect("GET", "/v1/airdrop/audit/key", NULL, NULL, 200, "");
}

static void outcome(const au_node_t *n, bool success)
{
	char path[96], body[160], task[33];
	dux_random_id(task);
	snprintf(path, sizeof path, "/v1/nodes/%s/outcomes", n->id.id);
	snprintf(body, sizeof body, "{\"task_id\":\"t%s\",\"success\":%s}", task,
		 success ? "true" : "false");
	assert_int_equal(th_call(A.reg.url, "POST", path, A.service, NULL, body, NULL), 201);
}

static void task1(au_node_t *n, const char *verdict)
{
	au_node_t *ns[] = {n};
	const char *vs[] = {verdict};
	assert_true(au_task(&A, true, ns, vs, 1));
}

static void eligibility_reasons(void **state)
{
	(void)state;
	char addr[64];
	assert_true(au_node(&A, &good1, NULL));
	assert_true(au_node(&A, &good2, NULL));
	assert_true(au_node(&A, &shared1, NULL));
	assert_true(au_node(&A, &shared2, shared1.wallet));
	assert_true(au_node(&A, &notask, NULL));
	assert_true(au_node(&A, &flagged, NULL));
	assert_true(au_node(&A, &lowrep, NULL));
	th_address(addr);
	assert_true(au_node(&A, &noacct, addr));
	/* a replicated task: good1, good2 and flagged agreed... flagged was outvoted in another */
	au_node_t *ns[] = {&good1, &good2, &shared1, &flagged};
	const char *vs[] = {"agreed", "agreed", "agreed", "disagreed"};
	assert_true(au_task(&A, true, ns, vs, 4));
	task1(&good1, "agreed");
	task1(&shared1, "agreed");
	task1(&shared1, "agreed");
	task1(&shared2, "agreed");
	task1(&lowrep, "agreed");
	task1(&flagged, "agreed"); /* validated work, but flagged */
	task1(&noacct, "agreed");
	task1(&notask, "failed"); /* a failed attempt is no validated work */
	outcome(&lowrep, false);  /* (0 + 1) / (1 + 2) = 0.33 < 0.5 */
	assert_true(au_wait_verdict(&A, good1.id.id, "recent_task", "pass"));
	assert_true(au_wait_verdict(&A, notask.id.id, "recent_task", "fail"));
	assert_true(au_wait_verdict(&A, flagged.id.id, "not_flagged", "fail"));
	assert_true(au_wait_verdict(&A, lowrep.id.id, "reputation", "fail"));
	assert_true(au_wait_verdict(&A, noacct.id.id, "wallet_account", "fail"));
	assert_true(au_wait_verdict(&A, shared1.id.id, "unique_wallet", "pass"));
	assert_true(au_wait_verdict(&A, shared2.id.id, "unique_wallet", "fail"));
	/* one failed criterion each: the others pass */
	const au_node_t *one[] = {&notask, &flagged, &lowrep, &noacct, &shared2};
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		char path[96];
		cJSON *o = NULL;
		snprintf(path, sizeof path, "/v1/airdrop/eligibility/%s", one[i]->id.id);
		assert_int_equal(au_call(&A, "GET", path, NULL, NULL, &o), 200);
		assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "eligible")));
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "failed")), 1);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "criteria")), 7);
		cJSON_Delete(o);
	}
	cJSON *o = NULL;
	char path[96];
	snprintf(path, sizeof path, "/airdrop/eligibility/%s", good1.id.id);
	assert_int_equal(au_call(&A, "GET", path, NULL, NULL, &o), 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "eligible")));
	cJSON_Delete(o);
	/* the criteria that need other settings: a minimum age nobody has, a heartbeat window of
	 * 1 s (the registry marks a silent node offline after 5 s) */
	assert_true(au_airdrop_restart(&A, BASE_YAML "  min_node_age: 3600\n"
						   "  heartbeat_window: 1\n"));
	assert_true(au_wait_verdict(&A, good1.id.id, "node_age", "fail"));
	assert_true(au_wait_verdict(&A, good1.id.id, "heartbeat", "fail"));
	assert_true(au_airdrop_restart(&A, BASE_YAML));
	assert_true(au_wait_verdict(&A, good1.id.id, "heartbeat", "pass"));
}

typedef struct {
	int ok;
} feed_t;

static void *feeder(void *arg)
{
	feed_t *f = arg;
	f->ok = au_feed(&A, "3");
	return NULL;
}

static int64_t balance_of(const char *addr)
{
	return wu_balance(&A.e.w, addr);
}

static void crossing_proposes_one_round(void **state)
{
	(void)state;
	assert_true(au_feed(&A, "4"));
	/* below the threshold (10): the view follows the fund, and nothing is proposed */
	for (int i = 0; i < 200; i++) {
		cJSON *s = NULL;
		assert_int_equal(au_call(&A, "GET", "/v1/airdrop/status", NULL, NULL, &s), 200);
		int64_t b = eu_amount(cJSON_GetObjectItemCaseSensitive(s, "fund"), "balance");
		cJSON_Delete(s);
		if (b == 4 * FLOP)
			break;
		usleep(50000);
	}
	assert_int_equal(au_round_count(&A), 0);
	/* four inflows at once cross it */
	pthread_t t[4];
	feed_t f[4] = {{0}};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, feeder, &f[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(f[i].ok);
	}
	cJSON *r = au_wait_round(&A, "proposed", 30000);
	assert_non_null(r);
	snprintf(round_id, sizeof round_id, "%s", eu_str(r, "id"));
	cJSON_Delete(r);
	/* many monitor rounds later, still exactly one */
	cJSON *s = NULL;
	for (int i = 0; i < 20; i++) {
		usleep(100000);
		assert_int_equal(au_round_count(&A), 1);
	}
	assert_int_equal(au_call(&A, "GET", "/v1/airdrop/status", NULL, NULL, &s), 200);
	assert_string_equal(eu_str(cJSON_GetObjectItemCaseSensitive(s, "open_round"), "id"),
			    round_id);
	cJSON_Delete(s);
}

static cJSON *get_round(void)
{
	char path[96];
	cJSON *r = NULL;
	snprintf(path, sizeof path, "/v1/airdrop/rounds/%s", round_id);
	assert_int_equal(au_call(&A, "GET", path, NULL, NULL, &r), 200);
	return r;
}

static void approve(const cJSON *round, int k, const dux_key_t *key, long status,
		    const char *problem)
{
	char body[512], path[96];
	assert_true(au_approval(&A, round, k, key, body, sizeof body));
	snprintf(path, sizeof path, "/v1/airdrop/rounds/%s/approve", round_id);
	expect("POST", path, NULL, body, status, problem);
}

static void multisig_pays_once(void **state)
{
	(void)state;
	cJSON *r = get_round();
	/* the order: shared1 (3 agreed), good1 (2), good2 (1); shared2 shares shared1's wallet */
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(r, "recipients");
	assert_int_equal(cJSON_GetArraySize(rs), 3);
	const char *order[] = {shared1.id.id, good1.id.id, good2.id.id};
	for (int i = 0; i < 3; i++)
		assert_string_equal(eu_str(cJSON_GetArrayItem(rs, i), "node_id"), order[i]);
	/* the pool is the fund read live when the view crossed 10: 10 to 16 FLOP */
	int64_t fund = eu_amount(r, "fund_balance"), total = eu_amount(r, "total");
	int64_t before = eu_fund_in_wallet(&A.e);
	assert_int_equal(before, 16 * FLOP);
	assert_true(fund >= 10 * FLOP && fund <= before);
	assert_int_equal(total, fund / 3 * 3); /* equal shares, the remainder stays */
	int64_t bal[3];
	const au_node_t *paid[] = {&shared1, &good1, &good2};
	for (int i = 0; i < 3; i++)
		bal[i] = balance_of(paid[i]->wallet);

	approve(r, 0, NULL, 201, "");
	approve(r, 0, NULL, 409, "already-approved");
	dux_key_t *forger = NULL;
	assert_int_equal(dux_key_generate(&forger), 0);
	approve(r, 1, forger, 422, "invalid-signature"); /* claims approver 1, signed by another */
	dux_key_free(forger);
	char path[96], body[256], zeros[87];
	memset(zeros, 'A', 86);
	zeros[86] = '\0';
	snprintf(path, sizeof path, "/v1/airdrop/rounds/%s/approve", round_id);
	snprintf(body, sizeof body, "{\"approver\":\"%s\",\"signature\":\"%s\"}",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", zeros);
	expect("POST", path, NULL, body, 403, "unknown-approver");
	/* one approval of two: nothing paid */
	cJSON *now = get_round();
	assert_string_equal(eu_str(now, "status"), "proposed");
	cJSON_Delete(now);
	usleep(500000);
	assert_int_equal(eu_fund_in_wallet(&A.e), before);
	for (int i = 0; i < 3; i++)
		assert_int_equal(balance_of(paid[i]->wallet), bal[i]);

	approve(r, 2, NULL, 201, "");
	now = get_round();
	assert_string_equal(eu_str(now, "status"), "executed");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(now, "approvals")), 2);
	cJSON_Delete(now);
	for (int i = 0; i < 3; i++)
		assert_int_equal(balance_of(paid[i]->wallet),
				 bal[i] + eu_amount(cJSON_GetArrayItem(rs, i), "amount"));
	assert_int_equal(balance_of(shared2.wallet), balance_of(shared1.wallet)); /* one account */
	assert_int_equal(eu_fund_in_wallet(&A.e), before - total);
	assert_true(eu_conserved(&A.e));
	approve(r, 1, NULL, 409, "round-not-open");
	approve(r, 2, NULL, 409, "already-approved");
	cJSON_Delete(r);
	/* the remainder is below the threshold: no second round */
	for (int i = 0; i < 10; i++) {
		usleep(100000);
		assert_int_equal(au_round_count(&A), 1);
	}
}

static void audit_and_events(void **state)
{
	(void)state;
	cJSON *o = NULL;
	for (int i = 0; i < 100; i++) {
		cJSON_Delete(o);
		o = NULL;
		assert_int_equal(au_call(&A, "GET", "/v1/airdrop/audit", NULL, NULL, &o), 200);
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "entries")) >= 4)
			break;
		usleep(50000);
	}
	const char *want[] = {"proposed", "approved", "approved", "executed"};
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(o, "entries");
	assert_int_equal(cJSON_GetArraySize(es), 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(eu_str(cJSON_GetArrayItem(es, i), "action"), want[i]);
	cJSON_Delete(o);
	o = NULL;
	assert_int_equal(au_call(&A, "GET", "/v1/events?after=0", NULL, NULL, &o), 200);
	const char *types[] = {"airdrop.round.proposed", "airdrop.round.approved",
			       "airdrop.round.executed"};
	const cJSON *evs = cJSON_GetObjectItemCaseSensitive(o, "events");
	assert_int_equal(cJSON_GetArraySize(evs), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(eu_str(cJSON_GetArrayItem(evs, i), "type"), types[i]);
	cJSON_Delete(o);
}

static void escrow_payout_rules(void **state)
{
	(void)state;
	char air[WU_HDR_MAX + 32];
	snprintf(air, sizeof air, "Authorization: Bearer %s", A.token);
	char body[512];
	snprintf(body, sizeof body,
		 "{\"round_id\":\"%s\",\"total\":\"1\",\"recipients\":[{\"address\":\"%s\","
		 "\"amount\":\"1\"}]}",
		 round_id, good1.wallet);
	dux_client_resp_t resp;
	struct {
		const char *auth, *body;
		long status;
		const char *problem;
	} cases[] = {
		{A.service, body, 403, "not-fund-payer"}, /* sub duxos-tasks */
		{air, body, 409, "payout-differs"},	  /* the round paid, other content */
		{air, "{\"round_id\":\"r 1\",\"total\":\"1\",\"recipients\":[]}", 400,
		 "invalid-field"},
		{air, "{\"round_id\":\"r1\",\"total\":\"2\",\"recipients\":[{\"address\":\"x\","
		      "\"amount\":\"2\"}]}",
		 400, "invalid-field"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(eu_http(&A.e, "POST", "/v1/community-fund/payouts", cases[i].auth,
					 NULL, cases[i].body, &resp),
				 0);
		if (resp.status != cases[i].status)
			fprintf(stderr, "case %zu: %ld %s\n", i, resp.status, resp.body);
		assert_int_equal(resp.status, cases[i].status);
		assert_string_equal(th_problem(&resp), cases[i].problem);
		dux_client_resp_clear(&resp);
	}
	/* a total that does not add up */
	snprintf(body, sizeof body,
		 "{\"round_id\":\"r2\",\"total\":\"2\",\"recipients\":[{\"address\":\"%s\","
		 "\"amount\":\"1\"}]}",
		 good1.wallet);
	assert_int_equal(eu_call(&A.e, "POST", "/v1/community-fund/payouts", air, NULL, body, NULL),
			 400);
}

static void dry_run(void **state)
{
	(void)state;
	char user[WU_HDR_MAX];
	cJSON *o = NULL;
	assert_true(eu_bearer(&A.e, "someone", DUX_SCOPE_USER, user, sizeof user));
	assert_int_equal(au_call(&A, "POST", "/v1/airdrop/dry-run", user,
				 "{\"fund_balance\":\"100\"}", &o),
			 200);
	assert_int_equal(eu_amount(o, "total"), 3 * 3333333333);
	assert_int_equal(eu_amount(o, "remainder"), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "recipients")), 3);
	cJSON_Delete(o);
	/* weighted by agreed attempts: 3, 2, 1 of 6 */
	assert_int_equal(au_call(&A, "POST", "/airdrop/dry-run", user,
				 "{\"fund_balance\":\"60\",\"weighting\":\"work\"}", &o),
			 200);
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "recipients");
	assert_int_equal(eu_amount(cJSON_GetArrayItem(rs, 0), "amount"), 30 * FLOP);
	assert_int_equal(eu_amount(cJSON_GetArrayItem(rs, 1), "amount"), 20 * FLOP);
	assert_int_equal(eu_amount(cJSON_GetArrayItem(rs, 2), "amount"), 10 * FLOP);
	cJSON_Delete(o);
	/* dust: 0.0002 units over 3 with a minimum of 0.0001 keeps 2 */
	assert_int_equal(au_call(&A, "POST", "/airdrop/dry-run", user,
				 "{\"fund_balance\":\"0.0002\"}", &o),
			 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "recipients")), 2);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "dropped_dust")->valueint, 1);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_input),
		cmocka_unit_test(eligibility_reasons),
		cmocka_unit_test(crossing_proposes_one_round),
		cmocka_unit_test(multisig_pays_once),
		cmocka_unit_test(audit_and_events),
		cmocka_unit_test(escrow_payout_rules),
		cmocka_unit_test(dry_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
