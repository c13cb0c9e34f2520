/* jobs.c - the scheduler's background work, each in the one copy holding its advisory lock:
 * leases and retries (sched_run), the escrow step of paid tasks that ended (settle_run), and
 * the outcomes the registry's reputation is made of (outcome_run). */
#include "tasks.h"
#include <dux/json.h>
#include <dux/log.h>
#include <stdio.h>
#include <string.h>

#define BATCH 100

/* Task ids (one column) of a query, copied out; returns the count. */
static int ids_of(dux_db_conn_t *c, const char *name, const char *sql, int np,
		  const char *const *p, char ids[BATCH][TASK_ID_LEN + 1])
{
	PGresult *res;
	int r = dux_db_execp(c, name, sql, np, p, &res);
	if (r < 0)
		return r;
	int n = PQntuples(res) < BATCH ? PQntuples(res) : BATCH;
	for (int i = 0; i < n; i++)
		snprintf(ids[i], TASK_ID_LEN + 1, "%s", PQgetvalue(res, i, 0));
	PQclear(res);
	return n;
}

typedef struct {
	tasks_t *t;
	const char *id;
	int offered;
} sched_ctx_t;

/* One task: its expired or orphaned attempts are lost, then it is judged and given nodes. */
static int sched_task_tx(dux_db_conn_t *c, void *arg)
{
	sched_ctx_t *x = arg;
	tasks_t *t = x->t;
	char retries[24], qt[24];
	snprintf(retries, sizeof retries, "%lld", (long long)t->cfg.max_retries);
	snprintf(qt, sizeof qt, "%lld", (long long)t->cfg.queue_timeout);
	const char *p[] = {x->id, retries};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT 1 FROM tasks WHERE id = $1 AND state IN ('queued', 'running')"
			       " FOR UPDATE", 1, p, &res);
	if (r < 0)
		return r;
	bool open = PQntuples(res) == 1;
	PQclear(res);
	if (!open)
		return 0;
	/* a claimed attempt whose node went silent costs the node; an unclaimed offer does not */
	r = dux_db_exec(c,
		"UPDATE attempts a SET state = 'lost', verdict = 'lost', finished_at = now(),"
		" outcome = CASE WHEN a.state = 'running' THEN 'failure' END"
		" WHERE a.task_id = $1 AND a.state IN ('offered', 'running') AND (a.lease_until < now()"
		" OR EXISTS (SELECT 1 FROM nodes n WHERE n.id = a.node_id AND n.status = 'offline'))",
		1, p, NULL);
	if (r == 0)
		r = dux_db_exec(c, "SELECT count(*) > $2::int FROM attempts WHERE task_id = $1"
				   " AND state = 'lost'", 2, p, &res);
	if (r < 0)
		return r;
	bool exhausted = dux_db_bool(res, 0, 0);
	PQclear(res);
	if (exhausted)
		return task_end(c, x->id, "failed", "executor-lost",
				"its nodes stopped answering more often than tasks.max_retries allows");
	r = judge_task(t, c, x->id);
	if (r == 0)
		r = x->offered = assign_task(t, c, x->id);
	if (r < 0)
		return r;
	const char *q[] = {x->id, qt};
	r = dux_db_exec(c,
		"SELECT greatest(created_at, (SELECT max(finished_at) FROM attempts WHERE"
		" task_id = $1)) < now() - make_interval(secs => $2::int) AND (SELECT count(*)"
		" FROM attempts WHERE task_id = $1 AND state IN ('offered', 'running', 'reported'))"
		" < replicas, replicas FROM tasks WHERE id = $1 AND state IN ('queued', 'running')",
		2, q, &res);
	if (r < 0)
		return r;
	bool starved = PQntuples(res) == 1 && dux_db_bool(res, 0, 0);
	char detail[160];
	snprintf(detail, sizeof detail, "no eligible node came within tasks.queue_timeout (%s s)"
		 " for %s replica(s) on nodes of different wallets", qt,
		 PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "?");
	PQclear(res);
	return starved ? task_end(c, x->id, "failed", "no-eligible-node", detail) : 0;
}

int sched_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	tasks_t *t = ctx;
	char ids[BATCH][TASK_ID_LEN + 1];
	int n = ids_of(c, "sched_due",
		"SELECT id FROM tasks t WHERE state IN ('queued', 'running') AND funded AND ("
		" EXISTS (SELECT 1 FROM attempts a LEFT JOIN nodes n ON n.id = a.node_id"
		"  WHERE a.task_id = t.id AND a.state IN ('offered', 'running')"
		"  AND (a.lease_until < now() OR n.status = 'offline'))"
		" OR (SELECT count(*) FROM attempts a WHERE a.task_id = t.id"
		"  AND a.state IN ('offered', 'running', 'reported')) < t.replicas)"
		" ORDER BY created_at LIMIT 100", 0, NULL, ids);
	int offered = 0;
	for (int i = 0; i < n; i++) {
		sched_ctx_t x = {.t = t, .id = ids[i]};
		int r = dux_db_tx_on(c, NULL, sched_task_tx, &x);
		if (r == DUX_EUNAVAIL)
			return r;
		if (r < 0) /* this task only: the others still get their turn */
			dux_warn("scheduling task %s: %s (%s)", ids[i], dux_strerror(r),
				 dux_db_errmsg(c));
		offered += x.offered;
	}
	/* a call whose escrow was never recorded: its request died between the two steps */
	int r = n < 0 ? n : dux_db_exec(c,
		"UPDATE tasks SET state = 'failed', reason = 'payment-failed', finished_at = now(),"
		" updated_at = now(), detail = 'the escrow of this call was not confirmed'"
		" WHERE NOT funded AND state = 'queued' AND created_at < now() - interval '2 minutes'",
		0, NULL, NULL);
	if (offered)
		assign_wake(t);
	if (r == 0) { /* counters past the window cannot come again: dux_req_signed refuses them */
		char oldest[24];
		snprintf(oldest, sizeof oldest, "%lld",
			 (long long)(dux_now_us() / 1000 - 2 * SIGNED_WINDOW_S * 1000));
		const char *q[] = {oldest};
		r = dux_db_execp(c, "sched_prune", "DELETE FROM seen_counters WHERE counter <"
				 " $1::bigint", 1, q, NULL);
	}
	return r < 0 ? r : 0;
}

/* The escrow's answer to a release or refund; true when the step is over (done, or refused
 * for good), false to try again later. */
static bool settle_once(tasks_t *t, const char *id, const char *what, const char *escrow,
			const char *hash, char note[200])
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "escrow_id", escrow);
	if (strcmp(what, "release") == 0)
		cJSON_AddStringToObject(body, "result_hash", hash);
	else
		cJSON_AddStringToObject(body, "reason", "failure");
	char path[64];
	snprintf(path, sizeof path, "/v1/escrow/%s", what);
	peer_resp_t resp;
	int r = peer_call(t, "escrow", "POST", path, NULL, NULL, body, &resp);
	cJSON_Delete(body);
	bool over = r == 0 && resp.status >= 200 && resp.status < 500 && resp.status != 429;
	if (over && resp.status < 300) {
		const char *st = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(resp.json, "status"));
		snprintf(note, 200, "escrow %s: %s", escrow, st ? st : "accepted");
	} else if (over) {
		snprintf(note, 200, "the escrow refused the %s: %s: %.120s", what, resp.problem,
			 resp.detail);
		dux_warn("task %s: %s", id, note);
	} else {
		dux_info("task %s: the escrow's %s is to be tried again (%s %ld)", id, what,
			 r < 0 ? dux_strerror(r) : "status", resp.status);
	}
	peer_resp_clear(&resp);
	return over;
}

int settle_task(tasks_t *t, dux_db_conn_t *c, const char *id)
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "settle_one", "SELECT settle, escrow_id, coalesce(result_hash, '')"
			     " FROM tasks WHERE id = $1 AND settle IN ('release', 'refund')", 1, p, &res);
	if (r < 0 || PQntuples(res) == 0) {
		if (r == 0)
			PQclear(res);
		return r;
	}
	char what[16], note[200];
	snprintf(what, sizeof what, "%s", PQgetvalue(res, 0, 0));
	bool over = settle_once(t, id, what, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), note);
	PQclear(res);
	const char *q[] = {id, what, note};
	return over ? dux_db_exec(c, "UPDATE tasks SET settle = 'done', settle_note = $3,"
				  " updated_at = now() WHERE id = $1 AND settle = $2", 3, q, NULL)
		    : 0;
}

int settle_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	tasks_t *t = ctx;
	PGresult *res;
	int r = dux_db_execp(c, "settle_due",
		"SELECT id, settle, escrow_id, coalesce(result_hash, '') FROM tasks"
		" WHERE settle IN ('release', 'refund') ORDER BY updated_at LIMIT 20", 0, NULL, &res);
	if (r < 0)
		return r;
	int n = PQntuples(res), done = 0;
	for (int i = 0; i < n && r == 0; i++) {
		char note[200];
		const char *id = PQgetvalue(res, i, 0), *what = PQgetvalue(res, i, 1);
		if (!settle_once(t, id, what, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), note))
			continue;
		const char *p[] = {id, what, note};
		r = dux_db_exec(c, "UPDATE tasks SET settle = 'done', settle_note = $3,"
				   " updated_at = now() WHERE id = $1 AND settle = $2", 3, p, NULL);
		done++;
	}
	PQclear(res);
	return r < 0 ? r : n == 20 && done == n;
}

int outcome_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	tasks_t *t = ctx;
	PGresult *res;
	int r = dux_db_execp(c, "outcome_due",
		"SELECT id, node_id, task_id, outcome = 'success' FROM attempts"
		" WHERE outcome IS NOT NULL AND NOT outcome_sent ORDER BY finished_at LIMIT 50",
		0, NULL, &res);
	if (r < 0)
		return r;
	int n = PQntuples(res), sent = 0;
	for (int i = 0; i < n && r == 0; i++) {
		char path[96];
		snprintf(path, sizeof path, "/v1/nodes/%s/outcomes", PQgetvalue(res, i, 1));
		cJSON *body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "task_id", PQgetvalue(res, i, 2));
		cJSON_AddBoolToObject(body, "success", dux_db_bool(res, i, 3));
		peer_resp_t resp;
		int rc = peer_call(t, "registry", "POST", path, NULL, NULL, body, &resp);
		cJSON_Delete(body);
		bool over = rc == 0 && resp.status >= 200 && resp.status < 500 && resp.status != 429;
		if (over && resp.status >= 300)
			dux_warn("the registry refused the outcome of %s on node %s: %s: %.120s",
				 PQgetvalue(res, i, 2), PQgetvalue(res, i, 1), resp.problem, resp.detail);
		peer_resp_clear(&resp);
		if (!over)
			break; /* the registry is away: later, in order */
		const char *p[] = {PQgetvalue(res, i, 0)};
		r = dux_db_exec(c, "UPDATE attempts SET outcome_sent = true WHERE id = $1", 1, p, NULL);
		sent++;
	}
	PQclear(res);
	return r < 0 ? r : n == 50 && sent == n;
}
