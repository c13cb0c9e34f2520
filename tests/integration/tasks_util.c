/* tasks_util.c - see tasks_util.h. */
#include "tasks_util.h"
#include "registry_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool start_registry(tu_t *t)
{
	char extra[1024];
	snprintf(extra, sizeof extra,
		 "auth:\n  public_key_file: %s\nregistry:\n  heartbeat_timeout: 5\n"
		 "  monitor_interval: 1\n  read_cache_ms: 0\n", t->s.e.w.keyfile);
	return th_daemon_start(&t->registry, "duxos-registry", &t->s.e.w.pg, extra, true);
}

/* The config of a task engine: role, node key, and where everything is. */
static void tasks_config(const tu_t *t, const char *role, int node, const char *more, char *out,
			 size_t len)
{
	snprintf(out, len,
		 "auth:\n  public_key_file: %s\ntasks:\n  role: %s\n"
		 "  registry_url: \"%s\"\n  registry_events: \"%s\"\n  registry_token: \"%s\"\n"
		 "  escrow_url: \"%s\"\n  escrow_token: \"%s\"\n  store_url: \"%s\"\n"
		 "  scheduler_url: \"http://127.0.0.1:%d\"\n  node_key_file: %s\n"
		 "  heartbeat_interval: 1\n  claim_wait_ms: 2000\n  offer_timeout: 5\n"
		 "  queue_timeout: 5\n  lease_grace: 2\n  unknown_after: 10\n  events_poll_ms: 500\n"
		 "  schedule_interval_ms: 100\n%s  bundle_keys: %s\n%s"
		 "sandbox:\n  scratch_dir: %s\n  cgroup_parent: %s\n  timeout: 60\n",
		 t->s.e.w.keyfile, role, t->registry.url, t->registry.bus, t->service_token,
		 t->s.e.url, t->service_token, t->s.url, t->sched.port, t->keyfiles[node],
		 more && strstr(more, "trusted_reputation") ? "" : "  trusted_reputation: 0\n",
		 t->bundle_keys, more ? more : "", t->scratch, t->cgroup);
}

/* A new node on wallet (NULL: fresh), registered with the registry; its key file written. */
static int new_node(tu_t *t, const char *wallet)
{
	int i = t->nnodes;
	if (i >= TU_NODES_MAX || !th_node_new(&t->nodes[i]))
		return -1;
	t->nnodes++;
	char id[33];
	dux_random_id(id);
	snprintf(t->keyfiles[i], sizeof t->keyfiles[i], "/tmp/duxos-test-node-%.12s.pem", id);
	if (wallet)
		snprintf(t->wallets[i], sizeof t->wallets[i], "%s", wallet);
	else
		th_address(t->wallets[i]);
	if (dux_key_save_file(t->nodes[i].key, t->keyfiles[i]) < 0)
		return -1;
	char *body = reg_body(&t->nodes[i], t->wallets[i], 8080, "[\"task_execution\"]");
	dux_client_resp_t resp;
	long st = -1;
	if (body && th_signed(t->registry.url, &t->nodes[i], "POST", "/v1/nodes/register", body, 0,
			      &resp) == 0) {
		st = resp.status;
		dux_client_resp_clear(&resp);
	}
	free(body);
	return st == 201 ? i : -1;
}

bool tu_start(tu_t *t, const char *wallet0, const char *tasks_yaml, const char *bundle_keys)
{
	memset(t, 0, sizeof *t);
	char id[33];
	dux_random_id(id);
	snprintf(t->scratch, sizeof t->scratch, "/var/tmp/duxos-test-%.12s", id);
	snprintf(t->cgroup, sizeof t->cgroup, "duxos-test-%.12s", id);
	snprintf(t->tasks_yaml, sizeof t->tasks_yaml, "%s", tasks_yaml ? tasks_yaml : "");
	snprintf(t->bundle_keys, sizeof t->bundle_keys, "%s", bundle_keys ? bundle_keys : "[]");
	const su_opts_t o = {0};
	if (!su_start(&t->s, &o) || !start_registry(t))
		return false;
	if (!wu_token(t->s.e.w.key, "duxos-tasks", DUX_SCOPE_SERVICE, 7200, t->service_token,
		      sizeof t->service_token) ||
	    !eu_bearer(&t->s.e, "tasks-user", DUX_SCOPE_USER, t->user, sizeof t->user) ||
	    !eu_bearer(&t->s.e, "tasks-admin", DUX_SCOPE_ADMIN, t->admin, sizeof t->admin))
		return false;
	if (new_node(t, wallet0) != 0)
		return false;
	/* the scheduler's address first: the escrow asks it about bound escrows */
	t->sched.port = th_free_port();
	t->sched.bus_port = th_free_port();
	char yaml[WU_HDR_MAX + 128];
	snprintf(yaml, sizeof yaml, "  tasks_url: \"http://127.0.0.1:%d\"\n  tasks_token: \"%s\"\n",
		 t->sched.port, t->service_token);
	if (eu_escrow_stop(&t->s.e) != 0 || !eu_escrow_restart(&t->s.e, yaml, true))
		return false;
	char cfg[8192];
	tasks_config(t, "both", 0, t->tasks_yaml, cfg, sizeof cfg);
	bool ok = th_daemon_respawn(&t->sched, "duxos-tasks", &t->s.e.w.pg, cfg, true);
	t->url = t->sched.url;
	return ok && tu_wait_online(t, 0, 30000);
}

int tu_add_executor(tu_t *t, const char *wallet)
{
	int i = new_node(t, wallet);
	if (i < 0)
		return -1;
	char cfg[8192];
	tasks_config(t, "executor", i, NULL, cfg, sizeof cfg);
	/* an executor serves only /healthz and the like: its database is the scheduler's */
	if (!th_daemon_start(&t->execs[i], "duxos-tasks", &t->s.e.w.pg, cfg, true))
		return -1;
	return tu_wait_online(t, i, 30000) ? i : -1;
}

bool tu_wait_online(const tu_t *t, int i, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		cJSON *j = NULL;
		if (th_call(t->sched.url, "GET", "/v1/executors", t->admin, NULL, NULL, &j) == 200) {
			const cJSON *e;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "executors"))
			{
				if (!strcmp(eu_str(e, "node_id"), t->nodes[i].id) &&
				    !strcmp(eu_str(e, "state"), "online")) {
					cJSON_Delete(j);
					return true;
				}
			}
		}
		cJSON_Delete(j);
		usleep(100000);
	}
	fprintf(stderr, "node %d (%s) never came online in GET /v1/executors\n", i, t->nodes[i].id);
	tu_dump_logs(t);
	return false;
}

cJSON *tu_wait_task(const tu_t *t, const char *auth, const char *id, int timeout_ms)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/tasks/%s", id);
	cJSON *j = NULL;
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		cJSON_Delete(j);
		j = NULL;
		long st = th_call(t->url, "GET", path, auth, NULL, NULL, &j);
		const char *state = eu_str(j, "state");
		if (st == 200 && strcmp(state, "queued") && strcmp(state, "running"))
			return j;
		usleep(50000);
	}
	char *text = j ? cJSON_Print(j) : NULL;
	fprintf(stderr, "task %s did not end within %d ms: %s\n", id, timeout_ms,
		text ? text : "(no answer)");
	free(text);
	cJSON_Delete(j);
	tu_dump_logs(t);
	return NULL;
}

long tu_submit(const tu_t *t, const char *auth, const char *body, char id[64])
{
	cJSON *j = NULL;
	long st = th_call(t->url, "POST", "/v1/tasks", auth, NULL, body, &j);
	if (st == 201)
		snprintf(id, 64, "%s", eu_str(j, "id"));
	else
		fprintf(stderr, "POST /v1/tasks answered %ld\n", st);
	cJSON_Delete(j);
	return st;
}

const char *tu_bash(char *buf, size_t len, const char *code, const char *more)
{
	cJSON *s = cJSON_CreateString(code);
	char *q = cJSON_PrintUnformatted(s);
	snprintf(buf, len, "{\"runtime\":\"bash\",\"code\":%s%s}", q ? q : "\"\"", more ? more : "");
	free(q);
	cJSON_Delete(s);
	return buf;
}

int tu_node_of(const tu_t *t, const cJSON *attempt)
{
	for (int i = 0; i < t->nnodes; i++)
		if (!strcmp(eu_str(attempt, "node_id"), t->nodes[i].id))
			return i;
	return -1;
}

void tu_dump_logs(const tu_t *t)
{
	th_daemon_dump_log(&t->sched);
	for (int i = 1; i < t->nnodes; i++)
		if (t->execs[i].pid > 0)
			th_daemon_dump_log(&t->execs[i]);
}

bool tu_finish(tu_t *t)
{
	bool clean = true;
	for (int i = 1; i < t->nnodes; i++)
		if (t->execs[i].pid > 0 && th_daemon_stop(&t->execs[i]) != 0)
			clean = false;
	if (t->sched.pid > 0 && th_daemon_stop(&t->sched) != 0) {
		th_daemon_dump_log(&t->sched);
		clean = false;
	}
	if (t->registry.pid > 0)
		th_daemon_kill(&t->registry);
	for (int i = 0; i < t->nnodes; i++) {
		unlink(t->keyfiles[i]);
		th_node_free(&t->nodes[i]);
	}
	su_finish(&t->s);
	return clean;
}
