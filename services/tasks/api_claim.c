/* api_claim.c - POST /executor/claim: an executor, signed with its node key, announces its
 * capacity and takes the attempts offered to its node, waiting up to tasks.claim_wait_ms for
 * one (a long poll: nodes behind NAT need no inbound port). An offer in this process wakes the
 * wait at once; offers made by another copy of the scheduler are seen within 250 ms. */
#include "tasks.h"
#include <dux/json.h>
#include <dux/sign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 250

typedef struct {
	const char *node_id;
	int64_t slots, free, memory_mb, wait_ms;
	double cpus, load;
} claim_req_t;

static bool claim_parse(tasks_t *t, dux_req_t *r, claim_req_t *q, cJSON **ret_body)
{
	static const char *const allowed[] = {"node_id", "slots", "free", "memory_mb", "cpus",
					      "load", "wait_ms", NULL};
	cJSON *b = dux_req_json(r, allowed);
	dux_verr_t e = {0};
	if (!b)
		return false;
	int rc = dux_json_str(b, "node_id", true, 32, 32, &q->node_id, &e);
	if (rc == 0)
		rc = dux_json_i64(b, "slots", true, 1, 256, &q->slots, &e);
	if (rc == 0)
		rc = dux_json_i64(b, "free", true, 0, q->slots, &q->free, &e);
	if (rc == 0)
		rc = dux_json_i64(b, "memory_mb", true, 0, INT64_C(1) << 30, &q->memory_mb, &e);
	if (rc == 0)
		rc = dux_json_num(b, "cpus", true, 0.01, 65536, &q->cpus, &e);
	if (rc == 0)
		rc = dux_json_num(b, "load", true, 0, 1e6, &q->load, &e);
	q->wait_ms = t->cfg.claim_wait_ms;
	if (rc == 0)
		rc = dux_json_i64(b, "wait_ms", false, 0, t->cfg.claim_wait_ms, &q->wait_ms, &e);
	if (rc < 0) {
		dux_reply_verr(r, &e);
		cJSON_Delete(b);
		return false;
	}
	*ret_body = b;
	return true;
}

static int announce(dux_db_conn_t *c, const claim_req_t *q)
{
	char slots[24], mem[24], cpus[32], load[32];
	snprintf(slots, sizeof slots, "%lld", (long long)q->slots);
	snprintf(mem, sizeof mem, "%lld", (long long)q->memory_mb);
	snprintf(cpus, sizeof cpus, "%.3f", q->cpus);
	snprintf(load, sizeof load, "%.3f", q->load);
	const char *p[] = {q->node_id, slots, mem, cpus, load};
	return dux_db_execp(c, "claim_announce",
			    "UPDATE nodes SET seen_at = now(), slots = $2::int, memory_mb = $3::bigint,"
			    " cpus = $4::float8, load1 = $5::float8 WHERE id = $1", 5, p, NULL);
}

typedef struct {
	tasks_t *t;
	const claim_req_t *q;
	char *json; /* the attempts taken, a JSON array */
	int taken;
} take_ctx_t;

static int started_events(dux_db_conn_t *c, const char *ids)
{
	const char *p[] = {ids};
	PGresult *res;
	int r = dux_db_exec(c, "UPDATE tasks SET state = 'running', started_at = now(),"
			       " updated_at = now() WHERE id = ANY ($1::text[]) AND state = 'queued'"
			       " RETURNING id", 1, p, &res);
	for (int i = 0; r == 0 && i < PQntuples(res); i++)
		r = task_started(c, PQgetvalue(res, i, 0));
	if (res)
		PQclear(res);
	return r;
}

static int take_tx(dux_db_conn_t *c, void *arg)
{
	take_ctx_t *x = arg;
	free(x->json); /* a transaction run again starts over */
	x->json = NULL;
	x->taken = 0;
	char free_s[24], grace[24];
	snprintf(free_s, sizeof free_s, "%lld", (long long)x->q->free);
	snprintf(grace, sizeof grace, "%lld", (long long)x->t->cfg.lease_grace);
	const char *p[] = {x->q->node_id, free_s, grace};
	PGresult *res;
	int r = dux_db_execp(c, "claim_take",
		"WITH picked AS (SELECT a.id FROM attempts a JOIN tasks t ON t.id = a.task_id"
		"  WHERE a.node_id = $1 AND a.state = 'offered' AND a.lease_until > now()"
		"  AND t.state IN ('queued', 'running') ORDER BY a.created_at LIMIT $2::int"
		"  FOR UPDATE OF a SKIP LOCKED)"
		" UPDATE attempts a SET state = 'running', started_at = now(),"
		"  lease_until = now() + make_interval(secs => t.timeout_s + $3::int)"
		" FROM tasks t WHERE a.id IN (SELECT id FROM picked) AND t.id = a.task_id"
		" RETURNING a.id, a.task_id", 3, p, &res);
	if (r < 0)
		return r;
	x->taken = PQntuples(res);
	char *ids = NULL, *tids = NULL;
	size_t n = (size_t)x->taken * (TASK_ID_LEN + 1) + 3;
	if (x->taken && (ids = malloc(n)) && (tids = malloc(n))) {
		strcpy(ids, "{");
		strcpy(tids, "{");
		for (int i = 0; i < x->taken; i++) {
			strcat(ids, i ? "," : ""), strcat(ids, PQgetvalue(res, i, 0));
			strcat(tids, i ? "," : ""), strcat(tids, PQgetvalue(res, i, 1));
		}
		strcat(ids, "}"), strcat(tids, "}");
	} else if (x->taken) {
		r = DUX_ENOMEM;
	}
	PQclear(res);
	if (r == 0 && x->taken)
		r = started_events(c, tids);
	if (r == 0 && x->taken) {
		const char *q[] = {ids};
		r = dux_db_execp(c, "claim_specs",
			"SELECT jsonb_agg(jsonb_build_object('attempt_id', a.id, 'task_id', t.id,"
			" 'runtime', t.runtime, 'code', t.code, 'input', t.input,"
			" 'memory_bytes', t.memory_bytes, 'cpu_milli', t.cpu_milli,"
			" 'timeout_s', t.timeout_s, 'network_access', t.network,"
			" 'lease_until', ts(a.lease_until), 'bundle', CASE WHEN t.kind = 'call' THEN"
			"  jsonb_build_object('service_id', b.service_id, 'version', b.version,"
			"  'public_key', b.public_key, 'signature', b.signature) END))::text"
			" FROM attempts a JOIN tasks t ON t.id = a.task_id LEFT JOIN bundles b"
			" ON b.service_id = t.service_id AND b.version = t.bundle_version"
			" WHERE a.id = ANY ($1::text[])", 1, q, &res);
		if (r == 0) {
			x->json = strdup(PQgetvalue(res, 0, 0));
			r = x->json ? 0 : DUX_ENOMEM;
			PQclear(res);
		}
	}
	free(ids);
	free(tids);
	return r;
}

/* Waits until this process offers work, POLL_MS passes, or the daemon drains. */
static void nap(tasks_t *t, uint64_t gen)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += POLL_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&t->wake_mu);
	while (t->wake_gen == gen &&
	       pthread_cond_timedwait(&t->wake_cv, &t->wake_mu, &until) == 0)
		;
	pthread_mutex_unlock(&t->wake_mu);
}

static int take_waiting(tasks_t *t, const claim_req_t *q, take_ctx_t *x)
{
	int64_t deadline = dux_now_us() + q->wait_ms * 1000;
	for (;;) {
		pthread_mutex_lock(&t->wake_mu);
		uint64_t gen = t->wake_gen;
		pthread_mutex_unlock(&t->wake_mu);
		int r = q->free > 0 ? dux_db_tx(dux_daemon_db(t->d), NULL, take_tx, x) : 0;
		if (r < 0 || x->taken || dux_now_us() >= deadline || dux_daemon_draining(t->d))
			return r;
		nap(t, gen);
	}
}

void api_claim(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	claim_req_t q = {0};
	cJSON *body = NULL;
	dux_db_conn_t *c = NULL;
	if (!t->scheduler) {
		dux_reply_problem(r, 404, "not-scheduler", "this daemon runs only an executor"
				  " (tasks.role executor): ask the scheduler");
		return;
	}
	if (!claim_parse(t, r, &q, &body))
		return;
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc < 0) {
		dux_reply_err(r, rc, "admitting the claim");
		goto out;
	}
	bool ok = signed_admit(t, r, c, q.node_id);
	if (ok && (rc = announce(c, &q)) < 0)
		dux_reply_err(r, rc, "recording the node's capacity");
	dux_db_release(dux_daemon_db(t->d), c);
	if (!ok || rc < 0)
		goto out;
	take_ctx_t x = {.t = t, .q = &q};
	rc = take_waiting(t, &q, &x);
	if (rc < 0) {
		dux_reply_err(r, rc, "taking work");
	} else {
		cJSON *out = cJSON_CreateObject();
		cJSON *list = x.json ? cJSON_Parse(x.json) : cJSON_CreateArray();
		cJSON_AddItemToObject(out, "attempts", list ? list : cJSON_CreateArray());
		dux_reply_json(r, 200, out);
	}
	free(x.json);
out:
	cJSON_Delete(body);
}
