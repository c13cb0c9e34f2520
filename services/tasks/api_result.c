/* api_result.c - POST /executor/attempts/{id}/result: the node that holds an attempt reports
 * what the sandbox did. The scheduler hashes the output itself (the reported digest must
 * match), checks it against the task's declared format, and judges the task. Idempotent: the
 * same report again is answered the same; a report for an attempt that was lost or cancelled
 * meanwhile, or that comes after its lease ran out, is kept for the record and does not count. */
#include "tasks.h"
#include <dux/json.h>
#include <dux/log.h>
#include <dux/text.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reasons[] = {"ok", "nonzero-exit", "killed-by-signal", "timeout",
				      "memory-limit", "pids-limit", "output-limit",
				      "setup-failed", "bundle-refused", "invalid-output",
				      "cancelled", NULL};

typedef struct {
	tasks_t *t;
	const char *id, *reason, *detail, *out, *err, *digest;
	bool has_exit, out_trunc, err_trunc;
	int64_t exit_code;
	char *usage; /* JSON text */
	char sha[65];
	/* answers */
	char state[16], task_state[16];
	char task[TASK_ID_LEN + 1];
	bool counted, conflict;
} result_ctx_t;

static bool str_opt(const cJSON *b, const char *k, size_t max, bool multiline, const char **ret,
		    dux_verr_t *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, k);
	*ret = "";
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
		return dux_verr_set(e, k, "must be a string of at most %zu bytes", max), false;
	if (multiline ? !dux_utf8_ok(v->valuestring, strlen(v->valuestring))
		      : !dux_text_ok(v->valuestring, false))
		return dux_verr_set(e, k, "must be UTF-8 text"), false;
	*ret = v->valuestring;
	return true;
}

static char *usage_read(const cJSON *b, dux_verr_t *e)
{
	static const char *const keys[] = {"cpu_user_us", "cpu_sys_us", "peak_memory_bytes",
					   "wall_us", NULL};
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(b, "usage");
	if (!cJSON_IsObject(u) || dux_json_only(u, keys, e) < 0) {
		if (!e->field[0])
			dux_verr_set(e, "usage", "must be an object of cpu_user_us, cpu_sys_us,"
						 " peak_memory_bytes, wall_us");
		return NULL;
	}
	cJSON *out = cJSON_CreateObject();
	for (int i = 0; keys[i]; i++) {
		int64_t v;
		if (dux_json_i64(u, keys[i], true, 0, INT64_C(1) << 50, &v, e) < 0) {
			cJSON_Delete(out);
			return NULL;
		}
		cJSON_AddNumberToObject(out, keys[i], (double)v);
	}
	char *s = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return s;
}

static int result_parse(const cJSON *b, result_ctx_t *x, dux_verr_t *e)
{
	const char *reason;
	if (dux_json_str(b, "reason", true, 1, 32, &reason, e) < 0)
		return DUX_EINVAL;
	bool known = false;
	for (int i = 0; reasons[i]; i++)
		known |= strcmp(reasons[i], reason) == 0;
	if (!known)
		return dux_verr_set(e, "reason", "is not a reason of the sandbox");
	x->reason = reason;
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(b, "exit_code");
	x->has_exit = ex && !cJSON_IsNull(ex);
	if (x->has_exit && dux_json_i64(b, "exit_code", true, -1, 255, &x->exit_code, e) < 0)
		return DUX_EINVAL;
	if (!str_opt(b, "detail", 200, false, &x->detail, e) ||
	    !str_opt(b, "stdout", TASK_OUTPUT_MAX, true, &x->out, e) ||
	    !str_opt(b, "stderr", TASK_STDERR_MAX, true, &x->err, e))
		return DUX_EINVAL;
	if (dux_json_str(b, "output_sha256", true, 64, 64, &x->digest, e) < 0)
		return DUX_EINVAL;
	if (dux_json_bool(b, "stdout_truncated", false, &x->out_trunc, e) < 0 ||
	    dux_json_bool(b, "stderr_truncated", false, &x->err_trunc, e) < 0)
		return DUX_EINVAL;
	sha256_hex(x->out, strlen(x->out), x->sha);
	if (strcmp(x->sha, x->digest) != 0)
		return dux_verr_set(e, "output_sha256", "is not the SHA-256 of stdout");
	x->usage = usage_read(b, e);
	return x->usage ? 0 : DUX_EINVAL;
}

/* The attempt's row as the report changes it. node_fault: the node, not the program, failed
 * (its sandbox could not start, or its executor stopped and ended it): the attempt is lost and
 * tried elsewhere. */
static int record(dux_db_conn_t *c, result_ctx_t *x, const cJSON *format, bool counts)
{
	char why[200] = "";
	bool node_fault = strcmp(x->reason, "setup-failed") == 0 ||
			  strcmp(x->reason, "cancelled") == 0;
	bool valid = strcmp(x->reason, "ok") == 0 &&
		     judge_output(format, x->out, strlen(x->out), why, sizeof why);
	const char *reason = strcmp(x->reason, "ok") == 0 && !valid ? "invalid-output" : x->reason;
	const char *detail = *why ? why : x->detail;
	const char *state = !counts ? NULL : node_fault ? "lost" : "reported";
	char exit_s[8];
	snprintf(exit_s, sizeof exit_s, "%lld", (long long)x->exit_code);
	const char *p[] = {x->id, state, reason, *detail ? detail : NULL,
			   x->has_exit ? exit_s : NULL, x->out, x->sha, valid ? "t" : "f",
			   x->out_trunc ? "t" : "f", x->err, x->err_trunc ? "t" : "f", x->usage};
	return dux_db_exec(c,
		"UPDATE attempts SET state = coalesce($2, state), reason = $3, detail = $4,"
		" exit_code = $5::int, output = $6, output_sha256 = $7, output_valid = $8::boolean,"
		" stdout_truncated = $9::boolean, stderr = $10, stderr_truncated = $11::boolean,"
		" usage = $12::jsonb, finished_at = coalesce(finished_at, now()),"
		" verdict = CASE WHEN $2 = 'lost' THEN 'lost' ELSE verdict END,"
		" outcome = CASE WHEN $2 = 'lost' THEN 'failure' ELSE outcome END"
		" WHERE id = $1", 12, p, NULL);
}

static int result_tx(dux_db_conn_t *c, void *arg)
{
	result_ctx_t *x = arg;
	const char *p[] = {x->id};
	PGresult *res;
	int r = dux_db_exec(c,
		"SELECT a.state, a.output_sha256, t.output_format::text, t.id, t.state,"
		" a.lease_until < now()"
		" FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE a.id = $1"
		" FOR UPDATE OF t, a", 1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DUX_ENOENT;
	}
	snprintf(x->state, sizeof x->state, "%s", PQgetvalue(res, 0, 0));
	bool was_reported = strcmp(x->state, "reported") == 0;
	x->conflict = was_reported && strcmp(PQgetvalue(res, 0, 1), x->sha) != 0;
	x->counted = strcmp(x->state, "running") == 0 && !dux_db_bool(res, 0, 5);
	cJSON *format = cJSON_Parse(PQgetvalue(res, 0, 2));
	char *task = x->task;
	snprintf(x->task, sizeof x->task, "%s", PQgetvalue(res, 0, 3));
	snprintf(x->task_state, sizeof x->task_state, "%s", PQgetvalue(res, 0, 4));
	PQclear(res);
	if (!was_reported && (strcmp(x->state, "offered") != 0))
		r = record(c, x, format, x->counted);
	cJSON_Delete(format);
	if (r == 0 && x->counted && strcmp(x->reason, "bundle-refused") == 0)
		r = task_end(c, task, "failed", "bundle-refused", x->detail);
	else if (r == 0 && x->counted)
		r = judge_task(x->t, c, task);
	if (r == 0 && x->counted) /* the reporting node has a free slot now */
		r = assign_backlog(x->t, c, 4) < 0 ? DUX_EIO : 0;
	if (r < 0)
		return r;
	x->counted |= was_reported && !x->conflict;
	const char *q[] = {task};
	r = dux_db_exec(c, "SELECT state FROM tasks WHERE id = $1", 1, q, &res);
	if (r == 0) {
		snprintf(x->task_state, sizeof x->task_state, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return r;
}

/* A paid task that just ended pays or refunds now rather than at the settle job's next round
 * (which stays the retry when the escrow does not answer). */
static void settle_now(tasks_t *t, const result_ctx_t *x)
{
	dux_db_conn_t *c;
	if (strcmp(x->task_state, "queued") == 0 || strcmp(x->task_state, "running") == 0 ||
	    dux_db_acquire(dux_daemon_db(t->d), &c) < 0)
		return;
	if (settle_task(t, c, x->task) < 0)
		dux_warn("task %s: the escrow step waits for the settle job", x->task);
	dux_db_release(dux_daemon_db(t->d), c);
}

/* The node the attempt was offered to, "" when there is no such attempt. */
static int attempt_node(dux_db_conn_t *c, const char *id, char node[64])
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "result_node", "SELECT node_id FROM attempts WHERE id = $1", 1, p,
			     &res);
	if (r < 0)
		return r;
	snprintf(node, 64, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}

static bool admit(tasks_t *t, dux_req_t *r, const char *id)
{
	dux_db_conn_t *c;
	char node[64] = "";
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc == 0) {
		rc = attempt_node(c, id, node);
		if (rc == 0 && !*node)
			dux_reply_problem(r, 404, "not-found", "no attempt %.40s", id);
		else if (rc == 0 && !signed_admit(t, r, c, node))
			*node = '\0';
		dux_db_release(dux_daemon_db(t->d), c);
	}
	if (rc < 0)
		dux_reply_err(r, rc, "admitting the report");
	return rc == 0 && *node;
}

void api_result(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	static const char *const allowed[] = {"reason", "detail", "exit_code", "stdout",
					      "stdout_truncated", "stderr", "stderr_truncated",
					      "output_sha256", "usage", NULL};
	result_ctx_t x = {.t = t, .id = dux_req_param(r, "id")};
	cJSON *body = NULL;
	dux_verr_t e = {0};
	if (!admit(t, r, x.id) || !(body = dux_req_json(r, allowed)))
		goto out;
	if (result_parse(body, &x, &e) < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	int rc = dux_db_tx(dux_daemon_db(t->d), NULL, result_tx, &x);
	if (rc < 0) {
		dux_reply_err(r, rc, "recording the report");
	} else if (x.conflict) {
		dux_reply_problem(r, 409, "conflicting-report", "attempt %s was reported before with"
				  " another output", x.id);
	} else {
		cJSON *out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "attempt_id", x.id);
		cJSON_AddBoolToObject(out, "counted", x.counted);
		cJSON_AddStringToObject(out, "task_state", x.task_state);
		dux_reply_json(r, 200, out);
		assign_wake(t); /* a retry or a third replica may have been offered */
		settle_now(t, &x);
	}
out:
	free(x.usage);
	cJSON_Delete(body);
}

/* POST /executor/attempts/{id}/heartbeat: the node running an attempt asks whether it is still
 * wanted. {"continue": false} once the attempt was lost, cancelled, or its task ended. */
void api_attempt_heartbeat(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	const char *id = dux_req_param(r, "id");
	if (!admit(t, r, id))
		return;
	const char *p[] = {id};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(c, "SELECT CASE WHEN a.state = 'running' AND a.lease_until < now()"
				    " THEN 'lost' ELSE a.state END, t.state FROM attempts a JOIN tasks t"
				    " ON t.id = a.task_id WHERE a.id = $1", 1, p, &res);
		dux_db_release(dux_daemon_db(t->d), c);
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "reading the attempt");
		return;
	}
	cJSON *out = cJSON_CreateObject();
	const char *state = PQntuples(res) ? PQgetvalue(res, 0, 0) : "lost";
	const char *task = PQntuples(res) ? PQgetvalue(res, 0, 1) : "failed";
	cJSON_AddStringToObject(out, "attempt_id", id);
	cJSON_AddStringToObject(out, "state", state);
	cJSON_AddStringToObject(out, "task_state", task);
	cJSON_AddBoolToObject(out, "continue", strcmp(state, "running") == 0 &&
				(strcmp(task, "queued") == 0 || strcmp(task, "running") == 0));
	PQclear(res);
	dux_reply_json(r, 200, out);
}
