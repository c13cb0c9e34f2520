/* api_tasks.c - generic tasks: submit, read, list, cancel, logs.
 * A task is visible to its owner, to services and to admins; to anyone else it does not
 * exist (404), so ids cannot be probed. */
#include "tasks.h"
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	tasks_t *t;
	const task_spec_t *spec;
	const char *owner, *idem;
	char digest[65];
	char id[TASK_ID_LEN + 1];
	bool existing;  /* the Idempotency-Key found an earlier task */
	bool differs;   /* ... asked with other contents */
	char *json;
} create_ctx_t;

/* The task an earlier request with this caller's Idempotency-Key made, if any. The keys of
 * tasks and of calls are one namespace: a key names one request, whichever route. */
int idem_lookup(dux_db_conn_t *c, const char *owner, const char *idem, const char *digest,
		char id[TASK_ID_LEN + 1], bool *ret_differs, bool *ret_unfunded)
{
	const char *p[] = {owner, idem};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT id, coalesce(request_sha256, ''), NOT funded AND"
			       " state = 'queued' FROM tasks WHERE owner = $1 AND idem_key = $2",
			    2, p, &res);
	if (r < 0)
		return r;
	bool found = PQntuples(res) == 1;
	if (found) {
		snprintf(id, TASK_ID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
		*ret_differs = !*digest || strcmp(PQgetvalue(res, 0, 1), digest) != 0;
		if (ret_unfunded)
			*ret_unfunded = dux_db_bool(res, 0, 2);
	}
	PQclear(res);
	return found;
}

static int create_tx(dux_db_conn_t *c, void *arg)
{
	create_ctx_t *x = arg;
	const task_spec_t *s = x->spec;
	char sha[65];
	sha256_hex(s->code, strlen(s->code), sha);
	int r = x->idem ? idem_lookup(c, x->owner, x->idem, x->digest, x->id, &x->differs, NULL)
			: 0;
	x->existing = r == 1;
	if (r < 0 || x->existing)
		return r < 0 ? r : task_json_text(c, x->id, true, &x->json);
	new_id("tsk_", x->id);
	char *fmt = cJSON_PrintUnformatted(s->output_format);
	char mem[24], cpu[24], to[24], rep[24];
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)s->memory_bytes);
	snprintf(cpu, sizeof cpu, "%u", s->cpu_milli);
	snprintf(to, sizeof to, "%lld", (long long)s->timeout_s);
	snprintf(rep, sizeof rep, "%lld", (long long)s->replicas);
	const char *p[] = {x->id, x->owner, s->runtime_name, s->code, sha, s->input,
			   s->memory_text, mem, s->cpu_text, cpu, to, s->network ? "t" : "f",
			   fmt, rep, x->idem, x->idem ? x->digest : NULL};
	r = fmt ? dux_db_exec(c,
			      "INSERT INTO tasks (id, kind, owner, runtime, code, code_sha256, input,"
			      " memory_limit, memory_bytes, cpu_limit, cpu_milli, timeout_s, network,"
			      " output_format, replicas_asked, replicas, idem_key, request_sha256,"
			      " state) VALUES ($1, 'generic', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
			      " $12::boolean, $13::jsonb, $14, $14, $15, $16, 'queued')",
			      16, p, NULL)
		: DUX_ENOMEM;
	free(fmt);
	if (r == 0)
		r = task_queued(c, x->id);
	if (r == 0)
		r = assign_task(x->t, c, x->id);
	if (r >= 0)
		r = task_json_text(c, x->id, true, &x->json);
	return r;
}

bool idem_ok(dux_req_t *r, const char *idem)
{
	size_t n = idem ? strlen(idem) : 0;
	if (idem && (n < 1 || n > 128 || strspn(idem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
						   "qrstuvwxyz0123456789._:-") != n)) {
		dux_reply_problem(r, 400, "invalid-header", "Idempotency-Key must be 1 to 128 of"
							   " letters, digits and . _ : -");
		return false;
	}
	return true;
}

void api_task_create(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	static const char *const allowed[] = {"runtime", "code", "input", "resources",
					      "replicas", "output_format", NULL};
	if (!t->scheduler) {
		dux_reply_problem(r, 404, "not-scheduler", "this daemon runs only an executor"
				  " (tasks.role executor): ask the scheduler");
		return;
	}
	cJSON *body = dux_req_json(r, allowed);
	task_spec_t spec = {0};
	if (!body || !spec_read(t, r, body, true, &spec))
		goto out;
	create_ctx_t x = {.t = t, .spec = &spec, .owner = dux_req_token(r)->sub,
			  .idem = dux_req_header(r, "Idempotency-Key")};
	if (!idem_ok(r, x.idem))
		goto out;
	spec_digest(&spec, x.digest);
	int rc = dux_db_tx(dux_daemon_db(t->d), NULL, create_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "submitting the task");
	else if (x.differs)
		dux_reply_problem(r, 422, "idempotency-key-reused",
				  "this Idempotency-Key was used before for another request (task %s)",
				  x.id);
	else {
		if (!x.existing)
			assign_wake(t);
		reply_db_json(r, x.existing ? 200 : 201, x.json);
	}
	free(x.json);
out:
	spec_clear(&spec);
	cJSON_Delete(body);
}

/* The task's owner, or "" when unknown. */
static int task_owner(dux_db_conn_t *c, const char *id, char owner[128])
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "task_owner", "SELECT owner FROM tasks WHERE id = $1", 1, p, &res);
	if (r < 0)
		return r;
	owner[0] = '\0';
	if (PQntuples(res) == 1)
		snprintf(owner, 128, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Acquires a connection and checks the caller may see task id; replies 404 otherwise. */
static dux_db_conn_t *visible(tasks_t *t, dux_req_t *r, const char *id)
{
	dux_db_conn_t *c = NULL;
	char owner[128];
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc == 0)
		rc = task_owner(c, id, owner);
	if (rc < 0) {
		dux_reply_err(r, rc, "reading the task");
	} else if (!*owner || (!is_admin_or_service(r) && strcmp(owner, dux_req_token(r)->sub))) {
		dux_reply_problem(r, 404, "not-found", "no task %s", id);
	} else {
		return c;
	}
	if (c)
		dux_db_release(dux_daemon_db(t->d), c);
	return NULL;
}

void api_task_get(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	const char *id = dux_req_param(r, "id");
	dux_db_conn_t *c = visible(t, r, id);
	if (!c)
		return;
	char *json = NULL;
	int rc = task_json_text(c, id, true, &json);
	dux_db_release(dux_daemon_db(t->d), c);
	if (rc < 0)
		dux_reply_err(r, rc, "reading the task");
	else
		reply_db_json(r, 200, json);
	free(json);
}

typedef struct {
	const char *id, *caller;
	bool admin;
	char state[16];
	bool found;
} cancel_ctx_t;

static int cancel_tx(dux_db_conn_t *c, void *arg)
{
	cancel_ctx_t *x = arg;
	const char *p[] = {x->id};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT owner, state FROM tasks WHERE id = $1 FOR UPDATE", 1, p,
			    &res);
	if (r < 0)
		return r;
	x->found = PQntuples(res) == 1 && (x->admin || !strcmp(PQgetvalue(res, 0, 0), x->caller));
	if (x->found)
		snprintf(x->state, sizeof x->state, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!x->found || (strcmp(x->state, "queued") && strcmp(x->state, "running")))
		return 0;
	char detail[160];
	snprintf(detail, sizeof detail, "cancelled by %s", x->caller);
	return task_end(c, x->id, "cancelled", "cancelled", detail);
}

void api_task_cancel(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	const dux_token_t *tok = dux_req_token(r);
	cancel_ctx_t x = {.id = dux_req_param(r, "id"), .caller = tok->sub,
			  .admin = (tok->scopes & DUX_SCOPE_ADMIN) != 0};
	int rc = dux_db_tx(dux_daemon_db(t->d), NULL, cancel_tx, &x);
	if (rc < 0) {
		dux_reply_err(r, rc, "cancelling the task");
		return;
	}
	if (!x.found) {
		dux_reply_problem(r, 404, "not-found", "no task %s", x.id);
		return;
	}
	if (strcmp(x.state, "queued") && strcmp(x.state, "running")) {
		dux_reply_problem(r, 409, "task-ended", "task %s already ended (%s)", x.id, x.state);
		return;
	}
	api_task_get(r, app);
}

void api_task_logs(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	const char *id = dux_req_param(r, "id");
	dux_db_conn_t *c = visible(t, r, id);
	if (!c)
		return;
	const char *p[] = {id};
	PGresult *res = NULL;
	int rc = dux_db_exec(c,
			     "SELECT jsonb_build_object('task_id', $1::text, 'attempts',"
			     " coalesce(jsonb_agg(jsonb_build_object('id', id, 'node_id', node_id,"
			     " 'state', state, 'reason', reason, 'stdout', output, 'stderr', stderr,"
			     " 'stdout_truncated', stdout_truncated, 'stderr_truncated',"
			     " stderr_truncated) ORDER BY created_at, id), '[]'))::text"
			     " FROM attempts WHERE task_id = $1",
			     1, p, &res);
	dux_db_release(dux_daemon_db(t->d), c);
	if (rc < 0)
		dux_reply_err(r, rc, "reading the logs");
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}
