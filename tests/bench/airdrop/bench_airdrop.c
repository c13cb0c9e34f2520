/* bench_airdrop: duxos-airdrop's eligibility scan over 100,000 nodes and a round of 1,000
 * recipients end to end (fund crossing -> proposal -> M approvals -> the escrow's payout in
 * the wallet), beside pgbench TPC-B on the same PostgreSQL in the same run.
 * Run it with tests/bench/airdrop/run.sh (release build, private PostgreSQL cluster).
 *
 * The 100,000 nodes and their validated work are written straight into the airdrop's view
 * (tables nodes and attempts, as its subscriber writes them from the registry's and the task
 * engine's events): the figure is the scan, not the ingestion of 300,000 events. The 1,000
 * nodes with the most validated work have real ledger accounts; the others have valid
 * addresses that no round reaches. */
#include "airdrop_util.h"
#include "cluster.h"
#include <dux/money.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODES 100000
#define PAID 1000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static bool exec_sql(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "bench_airdrop: %s\n", PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* The view: NODES nodes, the first PAID with real accounts and 5 agreed attempts each, the
 * others 1 to 3, every tenth of those also flagged. */
static bool seed(au_t *a)
{
	size_t cap = (size_t)NODES * 40 + 16, len = 0;
	char *arr = malloc(cap);
	if (!arr)
		return false;
	arr[len++] = '{';
	for (int i = 0; i < NODES; i++) {
		char addr[64];
		if (i < PAID) {
			eu_user_t u;
			if (!eu_user(&a->e, &u, "node", DUX_SCOPE_PROVIDER, NULL)) {
				free(arr);
				return false;
			}
			snprintf(addr, sizeof addr, "%s", u.addr);
		} else {
			th_address(addr);
		}
		len += (size_t)snprintf(arr + len, cap - len, "%s%s", i ? "," : "", addr);
	}
	snprintf(arr + len, cap - len, "}");
	PGconn *c = wu_pg_session(&a->e.w);
	const char *p[] = {arr};
	bool ok = c &&
		  exec_sql(c,
			   "INSERT INTO airdrop.nodes (node_id, wallet_address, status, reputation,"
			   " last_heartbeat, registered_at, event_seq) SELECT md5('n' || i), addr,"
			   " CASE WHEN i % 7 = 0 THEN 'offline' ELSE 'online' END, 0.5 + (i % 50) / 100.0,"
			   " now() - interval '10 minutes', now() - interval '2 days', i"
			   " FROM unnest($1::text[]) WITH ORDINALITY AS u(addr, i)",
			   1, p) &&
		  exec_sql(c,
			   "INSERT INTO airdrop.attempts (attempt_id, task_id, node_id, verdict, cpu_us, at)"
			   " SELECT 'att_' || md5('a' || i || '_' || k), 'tsk_' || md5('t' || i || '_' || k),"
			   " md5('n' || i), 'agreed', 1000, now() - interval '1 hour'"
			   " FROM generate_series(1, 100000) i CROSS JOIN LATERAL generate_series(1,"
			   " CASE WHEN i <= 1000 THEN 5 ELSE 1 + i % 3 END) k",
			   0, NULL) &&
		  exec_sql(c,
			   "INSERT INTO airdrop.attempts (attempt_id, task_id, node_id, verdict, cpu_us, at)"
			   " SELECT 'att_' || md5('d' || i), 'tsk_' || md5('d' || i), md5('n' || i),"
			   " 'disagreed', 0, now() - interval '2 hours' FROM generate_series(1001, 100000, 10) i",
			   0, NULL) &&
		  exec_sql(c, "ANALYZE airdrop.nodes", 0, NULL) &&
		  exec_sql(c, "ANALYZE airdrop.attempts", 0, NULL);
	if (c)
		PQfinish(c);
	free(arr);
	return ok;
}

static double dry_run(const au_t *a, const char *auth, int *ret_n)
{
	cJSON *o = NULL;
	double t0 = now_s();
	long st = au_call(a, "POST", "/v1/airdrop/dry-run", auth, "{\"fund_balance\":\"1000\"}", &o);
	double dt = now_s() - t0;
	*ret_n = st == 200 ? cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "recipients")) : -1;
	cJSON_Delete(o);
	return dt;
}

static bool approve(const au_t *a, const cJSON *round, int k, double *ret_s)
{
	char body[512], path[96];
	if (!au_approval(a, round, k, NULL, body, sizeof body))
		return false;
	snprintf(path, sizeof path, "/v1/airdrop/rounds/%s/approve", eu_str(round, "id"));
	double t0 = now_s();
	long st = au_call(a, "POST", path, NULL, body, NULL);
	*ret_s = now_s() - t0;
	return st == 201;
}

int main(int argc, char **argv)
{
	const char *pgbench = "/usr/lib/postgresql/15/bin/pgbench";
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--pgbench") == 0)
			pgbench = argv[i + 1];
	au_t a;
	bench_cluster_t cl;
	const char *dir = getenv("DUX_TEST_PG_DIR");
	if (!dir || !bench_cluster_load(dir, &cl))
		return 2;
	/* the payout of 1,000 recipients is about 75 KB: the escrow must take it (the daemons
	 * started below inherit this; deploy/config/escrow.yaml sets the same) */
	setenv("DUXOS_HTTP_MAX_BODY", "262144", 1);
	if (!au_start(&a, "  threshold: \"500\"\n  peer_timeout_ms: 30000\n"
			  "  recovery_grace_ms: 120000\n  max_nodes_per_airdrop: 1000\n")) {
		fprintf(stderr, "bench_airdrop: the daemons did not start\n");
		return 2;
	}
	char user[WU_HDR_MAX];
	int n = 0, rc = 1;
	double t0 = now_s();
	if (!seed(&a) || !eu_bearer(&a.e, "bench", DUX_SCOPE_ADMIN, user, sizeof user))
		goto out;
	printf("duxos-airdrop benchmark: %d nodes in the view (%d with ledger accounts), seeded in"
	       " %.1f s\n\n",
	       NODES, PAID, now_s() - t0);
	double cold = dry_run(&a, user, &n), warm[7];
	printf("  %-46s %8.0f ms  (%d recipients; asks the wallet about %d accounts)\n",
	       "eligibility scan + dry run, cold", cold * 1e3, n, PAID);
	for (int i = 0; i < 7; i++)
		warm[i] = dry_run(&a, user, &n);
	qsort(warm, 7, sizeof warm[0], cmp_d);
	printf("  %-46s %8.0f ms  (median of 7; min %.0f, max %.0f; %d recipients)\n",
	       "eligibility scan + dry run, warm", warm[3] * 1e3, warm[0] * 1e3, warm[6] * 1e3, n);
	if (n != PAID)
		goto out;
	/* a round of 1,000: the fund crosses 500 */
	int64_t fund0 = eu_fund_in_wallet(&a.e);
	double f0 = now_s();
	if (!au_feed(&a, "1000"))
		goto out;
	cJSON *round = au_wait_round(&a, "proposed", 120000);
	double f1 = now_s(), s1 = 0, s2 = 0;
	if (!round)
		goto out;
	int count = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(round, "recipients"));
	int64_t total = eu_amount(round, "total");
	bool ok = approve(&a, round, 0, &s1) && approve(&a, round, 1, &s2);
	cJSON *done = ok ? au_wait_round(&a, "executed", 120000) : NULL;
	/* the fund lost exactly the total; the wallet's own check recomputes every account */
	ok = done && eu_fund_in_wallet(&a.e) == fund0 + 1000 * EU_FLOP - total &&
	     wu_ledger_holds(&a.e.w);
	printf("  %-46s %8.0f ms  (release of 1000 FLOP into the fund -> round of %d proposed;"
	       " includes the monitor's 100 ms tick)\n",
	       "fund crossing to proposal", (f1 - f0) * 1e3, count);
	printf("  %-46s %8.0f ms\n", "first approval (verify + record)", s1 * 1e3);
	printf("  %-46s %8.0f ms  (escrow: gather batch + %d-transfer batch in the wallet)\n",
	       "last approval to paid", s2 * 1e3, count);
	printf("  %-46s %s\n", "conservation after the round", ok ? "holds" : "BROKEN");
	cJSON_Delete(done);
	cJSON_Delete(round);
	if (!ok)
		goto out;
	bench_pgbench_t pgb = {.pgbench = pgbench, .db = "bench_pgbench", .scale = 10, .clients = 8,
			       .secs = 10};
	bench_pgbench_result_t pgr;
	char cmd[512];
	if (!bench_pgbench(&cl, &pgb, &pgr, cmd, sizeof cmd))
		goto out;
	printf("  %-46s %8.0f tps  latency average %.3f ms  (%s)\n", "pgbench TPC-B, same cluster",
	       pgr.tps, pgr.lat_ms, cmd);
	printf("\n  the 1000-recipient round's payout is %.1f pgbench transactions' worth of time at"
	       " that rate\n",
	       s2 * pgr.tps);
	rc = 0;
out:
	if (rc)
		au_dump_logs(&a);
	return au_stop(&a) ? rc : 1;
}
