/* api_heartbeat.c - POST /nodes/{id}/heartbeat: signed, replay-protected liveness reports.
 * The common case (an online node) is one UPDATE; a node coming back goes through a
 * transaction that also emits node.online. */
#include "registry.h"
#include <dux/bus.h>
#include <dux/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	registry_t *reg;
	const char *id;
	char counter[24], load[96], mem[24], cpu[32], uptime[24];
	cJSON *node;
} hb_ctx_t;

static int parse(const cJSON *body, hb_ctx_t *x, dux_verr_t *e)
{
	const cJSON *la = NULL;
	double cpu = 0, v[3];
	int64_t mem = 0, up = 0;
	int r = dux_json_array(body, "load_average", true, 3, &la, e);
	if (r == 0 && cJSON_GetArraySize(la) != 3)
		return dux_verr_set(e, "load_average", "must hold 3 numbers (1, 5 and 15 minutes)");
	for (int i = 0; r == 0 && i < 3; i++) {
		const cJSON *it = cJSON_GetArrayItem(la, i);
		if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 1e6))
			return dux_verr_set(e, "load_average", "must hold numbers from 0 to 1000000");
		v[i] = it->valuedouble;
	}
	if (r == 0)
		r = dux_json_i64(body, "available_memory", true, 0, INT64_C(1) << 40, &mem, e);
	if (r == 0)
		r = dux_json_num(body, "available_cpu", true, 0, 65536, &cpu, e);
	if (r == 0)
		r = dux_json_i64(body, "uptime", true, 0, INT64_C(1) << 40, &up, e);
	if (r < 0)
		return r;
	snprintf(x->load, sizeof x->load, "{%.6g,%.6g,%.6g}", v[0], v[1], v[2]);
	snprintf(x->mem, sizeof x->mem, "%lld", (long long)mem);
	snprintf(x->cpu, sizeof x->cpu, "%.17g", cpu);
	snprintf(x->uptime, sizeof x->uptime, "%lld", (long long)up);
	return 0;
}

#define HB_SET \
	"last_heartbeat = now(), last_counter = $2::bigint, load_average = $3::float8[]," \
	" available_memory = $4::bigint, available_cpu = $5::float8, uptime = $6::bigint"

/* 1 when the node was online and the heartbeat is recorded, 0 when the slow path must decide. */
static int fast_path(dux_db_t *db, hb_ctx_t *x)
{
	const char *p[] = {x->id, x->counter, x->load, x->mem, x->cpu, x->uptime};
	dux_db_conn_t *c;
	PGresult *res;
	int r = dux_db_acquire(db, &c);
	if (r < 0)
		return r;
	/* Committed without waiting for the WAL flush: a crash may forget the last fraction of a
	 * second of heartbeats, which only ever refresh liveness figures (the next heartbeat
	 * restores them); registrations, outcomes and status changes stay synchronous. */
	r = dux_db_execp(c, "hb_fast",
			 "WITH async AS (SELECT set_config('synchronous_commit', 'off', true))"
			 " UPDATE nodes SET " HB_SET " FROM async WHERE node_id = $1"
			 " AND status = 'online' AND last_counter < $2::bigint",
			 6, p, &res);
	dux_db_release(db, c);
	if (r < 0)
		return r;
	r = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return r;
}

static int slow_tx(dux_db_conn_t *c, void *arg)
{
	hb_ctx_t *x = arg;
	const char *p[] = {x->id, x->counter, x->load, x->mem, x->cpu, x->uptime};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT status, last_counter FROM nodes WHERE node_id = $1 FOR UPDATE",
			    1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DUX_ENOENT;
	}
	bool offline = strcmp(PQgetvalue(res, 0, 0), "offline") == 0;
	bool replay = strtoll(x->counter, NULL, 10) <= dux_db_i64(res, 0, 1);
	PQclear(res);
	if (replay)
		return DUX_ECONFLICT;
	r = dux_db_exec(c,
			"UPDATE nodes SET " HB_SET ", status = 'online', updated_at = now()"
			" WHERE node_id = $1",
			6, p, NULL);
	if (r == 0 && offline && (r = nodes_get(x->reg, c, x->id, &x->node)) == 0)
		r = dux_outbox_emit(c, "node.online", x->id, x->node);
	return r;
}

static void reply_ok(dux_req_t *r, hb_ctx_t *x)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "node_id", x->id);
	cJSON_AddStringToObject(o, "status", "online");
	dux_json_add_time(o, "last_heartbeat", dux_now_us());
	cJSON_AddNumberToObject(o, "heartbeat_timeout", (double)x->reg->cfg.heartbeat_timeout);
	dux_reply_json(r, 200, o);
}

void api_heartbeat(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"load_average", "available_memory", "available_cpu",
					      "uptime", NULL};
	registry_t *reg = app;
	dux_db_t *db = dux_daemon_db(reg->d);
	hb_ctx_t x = {.reg = reg, .id = dux_req_param(r, "id")};
	dux_key_t *key = NULL;
	cJSON *body = NULL;
	dux_verr_t e;
	int64_t counter;
	int rc = dux_node_id_valid(x.id) < 0 ? DUX_ENOENT : keys_lookup(db, x.id, &key);
	if (rc < 0) {
		dux_reply_err(r, rc, "the node");
		goto out;
	}
	if (!dux_req_signed(r, key, x.id, reg->cfg.replay_window, &counter) ||
	    !(body = dux_req_json(r, allowed)))
		goto out;
	if (parse(body, &x, &e) < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	snprintf(x.counter, sizeof x.counter, "%lld", (long long)counter);
	rc = fast_path(db, &x);
	if (rc == 0)
		rc = dux_db_tx(db, NULL, slow_tx, &x);
	nodecache_forget(x.id);
	if (rc == DUX_ECONFLICT)
		dux_reply_problem(r, 409, "replayed",
				  "%s %lld is not greater than the last one accepted from this node",
				  DUX_HDR_COUNTER, (long long)counter);
	else if (rc < 0)
		dux_reply_err(r, rc, "the heartbeat");
	else
		reply_ok(r, &x);
out:
	cJSON_Delete(x.node);
	cJSON_Delete(body);
	dux_key_free(key);
}
