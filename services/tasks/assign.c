/* assign.c - node selection: which nodes may run a task, and which of them does.
 *
 * Eligible: online in the registry and claiming work within tasks.unknown_after (else
 * "unknown": no new work), capability task_execution, a free slot (its announced slots minus
 * the attempts it holds), the memory and cores the task asks, for a paid call a node paid on
 * the service's provider wallet, and neither a node that already tried the task nor one of
 * the wallet of another live replica (one owner cannot outvote the others).
 *
 * Score, highest first, ties by node id:
 *   0.5 x reputation + 0.3 x free share of its slots + 0.2 x (1 - min(load1 / cores, 1))
 *   - 0.1 x (attempts it lost or was outvoted on in the last hour)
 *
 * Trust rule: a generic task asking one replica runs on two nodes of different wallets as soon
 * as a node chosen for it (first or retry) has a reputation below tasks.trusted_reputation;
 * judge.c adds a third when those two do not agree and at least one output was valid. Paid
 * calls run on one node of the provider: its own nodes share one wallet, so a second replica
 * there would prove nothing, and the provider answers for its results through disputes. */
#include "tasks.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char kind[16], provider[64];
	int replicas, replicas_asked, counting, attempts;
	char memory[24], cpu[24];
} assign_row_t;

static int load(dux_db_conn_t *c, const char *id, assign_row_t *a, bool *ret_open)
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "assign_load",
		"SELECT kind, coalesce(provider_wallet, ''), replicas, replicas_asked,"
		" memory_bytes, cpu_milli, state IN ('queued', 'running') AND funded,"
		" (SELECT count(*) FILTER (WHERE state IN ('offered', 'running', 'reported'))"
		"  FROM attempts WHERE task_id = $1),"
		" (SELECT count(*) FROM attempts WHERE task_id = $1)"
		" FROM tasks WHERE id = $1", 1, p, &res);
	if (r < 0)
		return r;
	*ret_open = PQntuples(res) == 1 && dux_db_bool(res, 0, 6);
	if (*ret_open) {
		snprintf(a->kind, sizeof a->kind, "%s", PQgetvalue(res, 0, 0));
		snprintf(a->provider, sizeof a->provider, "%s", PQgetvalue(res, 0, 1));
		a->replicas = (int)dux_db_i64(res, 0, 2);
		a->replicas_asked = (int)dux_db_i64(res, 0, 3);
		snprintf(a->memory, sizeof a->memory, "%s", PQgetvalue(res, 0, 4));
		snprintf(a->cpu, sizeof a->cpu, "%s", PQgetvalue(res, 0, 5));
		a->counting = (int)dux_db_i64(res, 0, 7);
		a->attempts = (int)dux_db_i64(res, 0, 8);
	}
	PQclear(res);
	return 0;
}

/* The best eligible node for task id; ret_node "" when none. */
static int best_node(tasks_t *t, dux_db_conn_t *c, const char *id, const assign_row_t *a,
		     char node[64], char wallet[64], double *ret_rep)
{
	char unknown[24];
	snprintf(unknown, sizeof unknown, "%lld", (long long)t->cfg.unknown_after);
	const char *p[] = {id, unknown, a->memory, a->cpu, *a->provider ? a->provider : NULL};
	PGresult *res;
	int r = dux_db_execp(c, "assign_best",
		"WITH cand AS ("
		" SELECT n.id, n.wallet, n.reputation, n.slots, n.cpus, n.load1,"
		"  (SELECT count(*) FROM attempts o WHERE o.node_id = n.id"
		"   AND o.state IN ('offered', 'running')) AS busy,"
		"  (SELECT count(*) FROM attempts f WHERE f.node_id = n.id"
		"   AND f.verdict IN ('lost', 'disagreed')"
		"   AND f.finished_at > now() - interval '1 hour') AS bad"
		" FROM nodes n"
		" WHERE n.status = 'online' AND 'task_execution' = ANY (n.capabilities)"
		"  AND n.seen_at > now() - make_interval(secs => $2::int)"
		"  AND n.memory_mb * 1048576 >= $3::bigint AND n.cpus * 1000 >= $4::int"
		"  AND ($5::text IS NULL OR n.wallet = $5)"
		"  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.task_id = $1 AND"
		"   (a.node_id = n.id OR (a.wallet = n.wallet"
		"    AND a.state IN ('offered', 'running', 'reported')))))"
		" SELECT id, wallet, reputation FROM cand WHERE slots > busy"
		" ORDER BY 0.5 * reputation + 0.3 * (slots - busy)::float8 / slots"
		"  + 0.2 * (1 - least(load1 / greatest(cpus, 1), 1)) - 0.1 * bad DESC, id"
		" LIMIT 1", 5, p, &res);
	if (r < 0)
		return r;
	node[0] = wallet[0] = '\0';
	if (PQntuples(res) == 1) {
		snprintf(node, 64, "%s", PQgetvalue(res, 0, 0));
		snprintf(wallet, 64, "%s", PQgetvalue(res, 0, 1));
		*ret_rep = strtod(PQgetvalue(res, 0, 2), NULL);
	}
	PQclear(res);
	return 0;
}

static int offer(tasks_t *t, dux_db_conn_t *c, const char *id, const char *node,
		 const char *wallet)
{
	char aid[TASK_ID_LEN + 1], secs[24];
	new_id("att_", aid);
	snprintf(secs, sizeof secs, "%lld", (long long)t->cfg.offer_timeout);
	const char *p[] = {aid, id, node, wallet, secs};
	return dux_db_execp(c, "assign_offer",
			    "INSERT INTO attempts (id, task_id, node_id, wallet, state, lease_until)"
			    " VALUES ($1, $2, $3, $4, 'offered', now() + make_interval(secs => $5::int))",
			    5, p, NULL);
}

static int raise_replicas(dux_db_conn_t *c, const char *id, int replicas)
{
	char n[8];
	snprintf(n, sizeof n, "%d", replicas);
	const char *p[] = {id, n};
	return dux_db_exec(c, "UPDATE tasks SET replicas = $2::int, updated_at = now()"
			      " WHERE id = $1", 2, p, NULL);
}

int assign_task(tasks_t *t, dux_db_conn_t *c, const char *id)
{
	assign_row_t a;
	bool open;
	int r = load(c, id, &a, &open);
	int offered = 0;
	while (r == 0 && open && a.counting < a.replicas) {
		char node[64], wallet[64];
		double rep = 0;
		r = best_node(t, c, id, &a, node, wallet, &rep);
		if (r < 0 || !*node)
			break;
		if (a.replicas_asked == 1 && a.replicas == 1 &&
		    strcmp(a.kind, "generic") == 0 && rep < t->cfg.trusted_reputation) {
			a.replicas = 2;
			r = raise_replicas(c, id, a.replicas);
		}
		if (r == 0)
			r = offer(t, c, id, node, wallet);
		a.counting++;
		a.attempts++;
		offered++;
	}
	return r < 0 ? r : offered;
}

int assign_backlog(tasks_t *t, dux_db_conn_t *c, int max)
{
	char lim[16];
	snprintf(lim, sizeof lim, "%d", max);
	const char *p[] = {lim};
	PGresult *res;
	int r = dux_db_execp(c, "assign_backlog",
		"SELECT id FROM tasks tk WHERE state IN ('queued', 'running') AND funded"
		" AND (SELECT count(*) FROM attempts a WHERE a.task_id = tk.id"
		"  AND a.state IN ('offered', 'running', 'reported')) < tk.replicas"
		" ORDER BY created_at LIMIT $1::int FOR UPDATE SKIP LOCKED", 1, p, &res);
	if (r < 0)
		return r;
	int offered = 0;
	for (int i = 0; i < PQntuples(res) && r >= 0; i++) {
		r = assign_task(t, c, PQgetvalue(res, i, 0));
		offered += r > 0 ? r : 0;
	}
	PQclear(res);
	return r < 0 ? r : offered;
}

void assign_wake(tasks_t *t)
{
	pthread_mutex_lock(&t->wake_mu);
	t->wake_gen++;
	pthread_cond_broadcast(&t->wake_cv);
	pthread_mutex_unlock(&t->wake_mu);
}
