/* tasks_db.c - a task's JSON, its events, and how it ends without a validated result. */
#include "tasks.h"
#include <stdlib.h>
#include <string.h>

int task_json_text(dux_db_conn_t *c, const char *id, bool full, char **ret)
{
	const char *p[] = {id, full ? "t" : "f"};
	PGresult *res;
	int r = dux_db_execp(c, "task_json",
			     "SELECT task_json(t, $2::boolean)::text FROM tasks t WHERE id = $1", 2, p,
			     &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DUX_ENOENT;
	}
	*ret = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return *ret ? 0 : DUX_ENOMEM;
}

static int task_emit(dux_db_conn_t *c, const char *id, const char *type)
{
	char *text = NULL;
	int r = task_json_text(c, id, false, &text);
	if (r < 0)
		return r;
	cJSON *data = cJSON_Parse(text);
	free(text);
	if (!data)
		return DUX_ENOMEM;
	r = dux_outbox_emit(c, type, id, data);
	cJSON_Delete(data);
	return r;
}

int task_queued(dux_db_conn_t *c, const char *id)
{
	return task_emit(c, id, "task.queued");
}

int task_started(dux_db_conn_t *c, const char *id)
{
	return task_emit(c, id, "task.started");
}

int task_succeeded(dux_db_conn_t *c, const char *id)
{
	return task_emit(c, id, "task.succeeded");
}

int task_end(dux_db_conn_t *c, const char *id, const char *state, const char *reason,
	     const char *detail)
{
	const char *p[] = {id, state, reason, detail};
	PGresult *res;
	/* A paid task's escrow is refunded by the settle job (settle = 'refund'). */
	int r = dux_db_exec(c,
			    "UPDATE tasks SET state = $2, reason = $3, detail = $4,"
			    " finished_at = now(), updated_at = now(),"
			    " settle = CASE WHEN escrow_id IS NULL THEN NULL ELSE 'refund' END"
			    " WHERE id = $1 AND state IN ('queued', 'running')",
			    4, p, &res);
	if (r < 0)
		return r;
	bool changed = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!changed)
		return 0;
	r = dux_db_exec(c,
			"UPDATE attempts SET state = 'cancelled', finished_at = now()"
			" WHERE task_id = $1 AND state IN ('offered', 'running')",
			1, p, NULL);
	if (r == 0)
		r = task_emit(c, id, strcmp(state, "cancelled") == 0 ? "task.cancelled"
								      : "task.failed");
	return r;
}
