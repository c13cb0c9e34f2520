/* api_outcome.c - POST /nodes/{id}/outcomes: task results feeding the reputation score.
 * Reported by services (the task engine) with a service token; each task counts once. */
#include "registry.h"
#include <dux/bus.h>
#include <dux/json.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	registry_t *reg;
	const char *id, *task_id, *by;
	bool success;
	bool duplicate;
	cJSON *node;
} out_ctx_t;

static bool task_id_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("-_.:", *p)))
			return false;
	return true;
}

static int outcome_tx(dux_db_conn_t *c, void *arg)
{
	out_ctx_t *x = arg;
	rep_params_t rp;
	rep_params(x->reg, &rp);
	const char *ok = x->success ? "t" : "f";
	const char *p[] = {x->id, x->task_id, ok, x->by, rp.hl};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT 1 FROM nodes WHERE node_id = $1 FOR UPDATE", 1, p, &res);
	if (r < 0)
		return r;
	bool exists = PQntuples(res) == 1;
	PQclear(res);
	if (!exists)
		return DUX_ENOENT;
	r = dux_db_exec(c,
			"INSERT INTO outcomes (node_id, task_id, success, reported_by)"
			" VALUES ($1, $2, $3::boolean, $4) ON CONFLICT DO NOTHING",
			4, p, &res);
	if (r < 0)
		return r;
	x->duplicate = strcmp(PQcmdTuples(res), "1") != 0;
	PQclear(res);
	if (x->duplicate) {
		r = dux_db_exec(c, "SELECT success FROM outcomes WHERE node_id = $1 AND task_id = $2", 2,
				p, &res);
		if (r < 0)
			return r;
		bool same = dux_db_bool(res, 0, 0) == x->success;
		PQclear(res);
		return same ? nodes_get(x->reg, c, x->id, &x->node) : DUX_ECONFLICT;
	}
	/* decay the old evidence to now, then add this outcome */
	const char *u[] = {x->id, ok, rp.hl};
	r = dux_db_exec(c,
			"UPDATE nodes SET"
			" rep_success = rep_success * d + CASE WHEN $2::boolean THEN 1 ELSE 0 END,"
			" rep_failure = rep_failure * d + CASE WHEN $2::boolean THEN 0 ELSE 1 END,"
			" rep_updated = now(),"
			" tasks_succeeded = tasks_succeeded + CASE WHEN $2::boolean THEN 1 ELSE 0 END,"
			" tasks_failed = tasks_failed + CASE WHEN $2::boolean THEN 0 ELSE 1 END"
			" FROM (SELECT power(2.0, -greatest(extract(epoch FROM now() - rep_updated), 0)"
			"       / $3::float8) AS d FROM nodes WHERE node_id = $1) k"
			" WHERE node_id = $1",
			3, u, NULL);
	if (r == 0)
		r = nodes_get(x->reg, c, x->id, &x->node);
	if (r == 0)
		r = dux_outbox_emit(c, "node.reputation", x->id, x->node);
	return r;
}

void api_outcome(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"task_id", "success", NULL};
	registry_t *reg = app;
	out_ctx_t x = {.reg = reg, .id = dux_req_param(r, "id"), .by = dux_req_token(r)->sub};
	dux_verr_t e;
	cJSON *body = dux_req_json(r, allowed);
	if (!body)
		return;
	int rc = dux_json_str(body, "task_id", true, 1, 128, &x.task_id, &e);
	if (rc == 0 && !task_id_ok(x.task_id))
		rc = dux_verr_set(&e, "task_id", "may hold only letters, digits and - _ . :");
	if (rc == 0)
		rc = dux_json_bool(body, "success", true, &x.success, &e);
	if (rc < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	rc = dux_node_id_valid(x.id) < 0 ? DUX_ENOENT
					 : dux_db_tx(dux_daemon_db(reg->d), NULL, outcome_tx, &x);
	if (rc >= 0)
		nodecache_forget(x.id);
	if (rc == DUX_ECONFLICT) {
		dux_reply_problem(r, 409, "conflicting-outcome",
				  "task %s was already reported with the opposite result", x.task_id);
	} else if (rc < 0) {
		dux_reply_err(r, rc, "the node");
	} else {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "node_id", x.id);
		cJSON_AddStringToObject(o, "task_id", x.task_id);
		cJSON_AddBoolToObject(o, "success", x.success);
		cJSON_AddBoolToObject(o, "duplicate", x.duplicate);
		cJSON_AddItemToObject(o, "node", x.node);
		x.node = NULL;
		dux_reply_json(r, x.duplicate ? 200 : 201, o);
	}
out:
	cJSON_Delete(x.node);
	cJSON_Delete(body);
}
