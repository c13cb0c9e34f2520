/* api_nodes.c - POST /nodes/register, GET /nodes/{id}, GET /nodes, GET /topology. */
#include "registry.h"
#include <arpa/inet.h>
#include <dux/bus.h>
#include <dux/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CAPABILITIES 16

typedef struct {
	registry_t *reg;
	const char *node_id;
	char pub_hex[2 * DUX_ED25519_PUB_LEN + 1];
	int64_t counter;
	const char *wallet, *ip;
	int64_t port, cpu_cores, memory_mb, disk_mb;
	bool has_resources;
	char caps[MAX_CAPABILITIES * 40]; /* PostgreSQL array literal */
	/* results */
	bool created, replayed;
	cJSON *node;
} reg_ctx_t;

static bool capability_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static int parse_caps(const cJSON *body, reg_ctx_t *x, dux_verr_t *e)
{
	const cJSON *arr = NULL;
	int r = dux_json_array(body, "capabilities", true, MAX_CAPABILITIES, &arr, e);
	if (r < 0)
		return r;
	size_t o = (size_t)snprintf(x->caps, sizeof x->caps, "{");
	for (const cJSON *c = arr->child; c; c = c->next) {
		if (!cJSON_IsString(c) || !capability_ok(c->valuestring))
			return dux_verr_set(e, "capabilities",
					    "must hold names like \"task_execution\" (a-z, 0-9, _)");
		char quoted[40];
		snprintf(quoted, sizeof quoted, "\"%s\"", c->valuestring);
		if (strstr(x->caps, quoted))
			continue; /* duplicates collapse */
		o += (size_t)snprintf(x->caps + o, sizeof x->caps - o, "%s%s", o > 1 ? "," : "",
				      quoted);
	}
	snprintf(x->caps + o, sizeof x->caps - o, "}");
	return 0;
}

static int parse_resources(const cJSON *body, reg_ctx_t *x, dux_verr_t *e)
{
	static const char *const allowed[] = {"cpu_cores", "memory_mb", "disk_mb", NULL};
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(body, "resources");
	if (!rs || cJSON_IsNull(rs))
		return 0;
	if (!cJSON_IsObject(rs))
		return dux_verr_set(e, "resources", "must be an object");
	x->has_resources = true;
	dux_verr_t inner;
	int r = dux_json_only(rs, allowed, &inner);
	if (r == 0)
		r = dux_json_i64(rs, "cpu_cores", false, 0, 4096, &x->cpu_cores, &inner);
	if (r == 0)
		r = dux_json_i64(rs, "memory_mb", false, 0, INT64_C(1) << 40, &x->memory_mb, &inner);
	if (r == 0)
		r = dux_json_i64(rs, "disk_mb", false, 0, INT64_C(1) << 50, &x->disk_mb, &inner);
	if (r < 0)
		return dux_verr_set(e, "resources", "%s %s", inner.field, inner.detail);
	return 0;
}

static int parse_register(registry_t *reg, const cJSON *body, reg_ctx_t *x, dux_verr_t *e)
{
	const char *why = NULL;
	int r = dux_json_str(body, "wallet_address", true, 1, 64, &x->wallet, e);
	if (r == 0 && dux_address_validate(x->wallet, dux_daemon_net(reg->d), NULL, &why) < 0)
		return dux_verr_set(e, "wallet_address", "is not a %s Flopcoin address: %s",
				    dux_net_name(dux_daemon_net(reg->d)), why);
	if (r == 0)
		r = dux_json_str(body, "ip_address", true, 2, 45, &x->ip, e);
	unsigned char addr[16];
	if (r == 0 && inet_pton(AF_INET, x->ip, addr) != 1 && inet_pton(AF_INET6, x->ip, addr) != 1)
		return dux_verr_set(e, "ip_address", "must be an IPv4 or IPv6 address");
	if (r == 0)
		r = dux_json_i64(body, "port", true, 1, 65535, &x->port, e);
	if (r == 0)
		r = parse_caps(body, x, e);
	if (r == 0)
		r = parse_resources(body, x, e);
	return r;
}

/* Reads and checks the public key; replies and returns NULL on failure. */
static dux_key_t *body_key(dux_req_t *r, const cJSON *body, reg_ctx_t *x)
{
	dux_verr_t e;
	const char *pk = NULL;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	size_t n = 0;
	dux_key_t *key = NULL;
	if (dux_json_str(body, "public_key", true, 43, 43, &pk, &e) < 0 ||
	    dux_b64url_decode(pk, strlen(pk), pub, sizeof pub, &n) < 0 || n != sizeof pub ||
	    dux_key_from_public(pub, &key) < 0) {
		dux_verr_set(&e, "public_key", "must be an Ed25519 public key in base64url (43 chars)");
		dux_reply_verr(r, &e);
		return NULL;
	}
	dux_hex_encode(pub, sizeof pub, x->pub_hex);
	return key;
}

static int load_node(reg_ctx_t *x, dux_db_conn_t *c)
{
	cJSON_Delete(x->node);
	x->node = NULL;
	return nodes_get(x->reg, c, x->node_id, &x->node);
}

static int register_tx(dux_db_conn_t *c, void *arg)
{
	reg_ctx_t *x = arg;
	char counter[24], port[8], cpu[16], mem[24], disk[24];
	snprintf(counter, sizeof counter, "%lld", (long long)x->counter);
	snprintf(port, sizeof port, "%lld", (long long)x->port);
	snprintf(cpu, sizeof cpu, "%lld", (long long)x->cpu_cores);
	snprintf(mem, sizeof mem, "%lld", (long long)x->memory_mb);
	snprintf(disk, sizeof disk, "%lld", (long long)x->disk_mb);
	/* without "resources", a re-registration keeps the ones advertised before */
	const char *p[] = {x->node_id, x->pub_hex, x->wallet, x->ip, port, x->caps,
			   x->has_resources ? cpu : NULL, x->has_resources ? mem : NULL,
			   x->has_resources ? disk : NULL, counter};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT status, last_counter FROM nodes WHERE node_id = $1 FOR UPDATE",
			    1, p, &res);
	if (r < 0)
		return r;
	bool exists = PQntuples(res) == 1;
	bool was_offline = exists && strcmp(PQgetvalue(res, 0, 0), "offline") == 0;
	int64_t last = exists ? dux_db_i64(res, 0, 1) : 0;
	PQclear(res);
	if (exists && x->counter <= last) {
		x->replayed = true;
		return DUX_ECONFLICT;
	}
	if (exists)
		r = dux_db_exec(c,
				"UPDATE nodes SET wallet_address = $3, ip_address = $4::inet,"
				" port = $5::int, capabilities = $6::text[],"
				" cpu_cores = coalesce($7::int, cpu_cores),"
				" memory_mb = coalesce($8::bigint, memory_mb),"
				" disk_mb = coalesce($9::bigint, disk_mb), last_counter = $10::bigint,"
				" status = 'online', last_heartbeat = now(), updated_at = now()"
				" WHERE node_id = $1 AND public_key = decode($2, 'hex')",
				10, p, NULL);
	else
		r = dux_db_exec(c,
				"INSERT INTO nodes (node_id, public_key, wallet_address, ip_address, port,"
				" capabilities, cpu_cores, memory_mb, disk_mb, last_counter) VALUES"
				" ($1, decode($2, 'hex'), $3, $4::inet, $5::int, $6::text[],"
				" coalesce($7::int, 0), coalesce($8::bigint, 0), coalesce($9::bigint, 0),"
				" $10::bigint)",
				10, p, NULL);
	if (r == DUX_EEXIST)
		return DUX_ERETRY; /* a concurrent first registration won: run again as an update */
	if (r == 0)
		r = load_node(x, c);
	if (r == 0)
		r = dux_outbox_emit(c, exists ? "node.updated" : "node.registered", x->node_id, x->node);
	if (r == 0 && was_offline)
		r = dux_outbox_emit(c, "node.online", x->node_id, x->node);
	x->created = !exists;
	return r;
}

void api_register(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"public_key", "wallet_address", "ip_address", "port",
					      "capabilities", "resources", NULL};
	registry_t *reg = app;
	reg_ctx_t x = {.reg = reg};
	char id[DUX_NODE_ID_LEN + 1];
	dux_verr_t e;
	dux_key_t *key = NULL;
	cJSON *body = dux_req_json(r, allowed);
	if (!body || !(key = body_key(r, body, &x)))
		goto out;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	if (dux_key_public(key, pub) < 0) {
		dux_reply_problem(r, 500, "internal", "cannot read the public key");
		goto out;
	}
	dux_node_id(pub, id);
	x.node_id = id;
	if (!dux_req_signed(r, key, id, reg->cfg.replay_window, &x.counter))
		goto out;
	if (parse_register(reg, body, &x, &e) < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	int rc = dux_db_tx(dux_daemon_db(reg->d), NULL, register_tx, &x);
	nodecache_forget(id);
	if (x.replayed) {
		dux_reply_problem(r, 409, "replayed",
				  "%s must be greater than the last one accepted from this node",
				  DUX_HDR_COUNTER);
	} else if (rc < 0) {
		dux_reply_err(r, rc, "the registration");
	} else {
		char loc[64];
		snprintf(loc, sizeof loc, "/v1/nodes/%s", id);
		dux_reply_header(r, "Location", loc);
		dux_reply_json(r, x.created ? 201 : 200, x.node);
		x.node = NULL;
	}
out:
	cJSON_Delete(x.node);
	cJSON_Delete(body);
	dux_key_free(key);
}

void api_node_get(dux_req_t *r, void *app)
{
	registry_t *reg = app;
	const char *id = dux_req_param(r, "id");
	if (dux_node_id_valid(id) < 0) {
		dux_reply_problem(r, 404, "not-found", "no node has the id \"%.40s\"", id);
		return;
	}
	uint64_t gen = 0;
	char *json;
	bool cached = reg->cfg.read_cache_ms > 0;
	if (cached && nodecache_reply(r, id, &gen))
		return;
	dux_db_t *db = dux_daemon_db(reg->d);
	dux_db_conn_t *c;
	cJSON *node = NULL;
	int64_t until = dux_now_us() + reg->cfg.read_cache_ms * 1000;
	int rc = dux_db_acquire(db, &c);
	if (rc == 0) {
		rc = nodes_get(reg, c, id, &node);
		dux_db_release(db, c);
	}
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "node %s is not registered", id);
	else if (rc < 0)
		dux_reply_err(r, rc, "the node");
	else if (!cached || !(json = cJSON_PrintUnformatted(node)))
		dux_reply_json(r, 200, node);
	else {
		nodecache_put(id, json, strlen(json), gen, until);
		dux_reply_text(r, 200, "application/json", json, strlen(json));
		cJSON_Delete(node);
		free(json);
	}
}

typedef struct {
	const char *capability, *status, *cursor;
	double min_rep;
	bool has_min_rep;
	int64_t limit;
} list_q_t;

static bool list_query(dux_req_t *r, list_q_t *q)
{
	q->capability = dux_req_query(r, "capability");
	q->status = dux_req_query(r, "status");
	q->cursor = dux_req_query(r, "cursor");
	q->has_min_rep = dux_req_query(r, "min_reputation") != NULL;
	if (!dux_req_query_i64(r, "limit", 50, 1, 500, &q->limit) ||
	    !dux_req_query_num(r, "min_reputation", 0, 0, 1, &q->min_rep))
		return false;
	if (q->capability && !capability_ok(q->capability)) {
		dux_reply_problem(r, 400, "invalid-query",
				  "capability must be a name like task_execution (a-z, 0-9, _)");
		return false;
	}
	if (q->status && strcmp(q->status, "online") != 0 && strcmp(q->status, "offline") != 0) {
		dux_reply_problem(r, 400, "invalid-query", "status must be online or offline");
		return false;
	}
	if (q->cursor && dux_node_id_valid(q->cursor) < 0) {
		dux_reply_problem(r, 400, "invalid-query",
				  "cursor must be a next_cursor value from an earlier page");
		return false;
	}
	return true;
}

void api_nodes_list(dux_req_t *r, void *app)
{
	registry_t *reg = app;
	list_q_t q;
	if (!list_query(r, &q))
		return;
	rep_params_t rp;
	rep_params(reg, &rp);
	char minrep[32], limit[24];
	snprintf(minrep, sizeof minrep, "%.17g", q.min_rep);
	snprintf(limit, sizeof limit, "%lld", (long long)q.limit + 1);
	const char *p[] = {rp.hl, rp.a, rp.b, q.capability, q.status, q.has_min_rep ? minrep : NULL,
			   q.cursor, limit};
	dux_db_t *db = dux_daemon_db(reg->d);
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(db, &c);
	if (rc == 0) {
		rc = dux_db_execp(
			c, "nodes_list",
			"SELECT " NODE_COLUMNS " FROM nodes WHERE ($4::text IS NULL OR capabilities @>"
			" ARRAY[$4::text]) AND ($5::text IS NULL OR status = $5) AND ($6::float8 IS NULL"
			" OR reputation(rep_success, rep_failure, rep_updated, $1::float8, $2::float8,"
			" $3::float8) >= $6::float8) AND ($7::text IS NULL OR node_id > $7)"
			" ORDER BY node_id LIMIT $8::int",
			8, p, &res);
		dux_db_release(db, c);
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the node list");
		return;
	}
	int n = PQntuples(res);
	int shown = n > q.limit ? (int)q.limit : n;
	cJSON *out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "nodes");
	for (int i = 0; i < shown; i++)
		cJSON_AddItemToArray(arr, node_json(res, i));
	if (n > shown)
		cJSON_AddStringToObject(out, "next_cursor", PQgetvalue(res, shown - 1, 0));
	else
		cJSON_AddNullToObject(out, "next_cursor");
	PQclear(res);
	dux_reply_json(r, 200, out);
}

static int topology_fill(dux_db_conn_t *c, cJSON *out)
{
	PGresult *res;
	int r = dux_db_exec(c,
			    "SELECT count(*), count(*) FILTER (WHERE status = 'online'),"
			    " coalesce(sum(available_cpu) FILTER (WHERE status = 'online'), 0),"
			    " coalesce(sum(available_memory) FILTER (WHERE status = 'online'), 0)"
			    " FROM nodes",
			    0, NULL, &res);
	if (r < 0)
		return r;
	int64_t total = dux_db_i64(res, 0, 0), online = dux_db_i64(res, 0, 1);
	cJSON_AddNumberToObject(out, "total_nodes", (double)total);
	cJSON *st = cJSON_AddObjectToObject(out, "by_status");
	cJSON_AddNumberToObject(st, "online", (double)online);
	cJSON_AddNumberToObject(st, "offline", (double)(total - online));
	cJSON *cap = cJSON_AddObjectToObject(out, "online_capacity");
	cJSON_AddNumberToObject(cap, "available_cpu", strtod(PQgetvalue(res, 0, 2), NULL));
	cJSON_AddNumberToObject(cap, "available_memory", (double)dux_db_i64(res, 0, 3));
	PQclear(res);
	r = dux_db_exec(c,
			"SELECT cap, count(*), count(*) FILTER (WHERE status = 'online')"
			" FROM nodes, unnest(capabilities) AS cap GROUP BY cap ORDER BY cap",
			0, NULL, &res);
	if (r < 0)
		return r;
	cJSON *bc = cJSON_AddObjectToObject(out, "by_capability");
	for (int i = 0; i < PQntuples(res); i++) {
		cJSON *o = cJSON_AddObjectToObject(bc, PQgetvalue(res, i, 0));
		cJSON_AddNumberToObject(o, "total", (double)dux_db_i64(res, i, 1));
		cJSON_AddNumberToObject(o, "online", (double)dux_db_i64(res, i, 2));
	}
	PQclear(res);
	return 0;
}

void api_topology(dux_req_t *r, void *app)
{
	registry_t *reg = app;
	dux_db_t *db = dux_daemon_db(reg->d);
	dux_db_conn_t *c;
	cJSON *out = cJSON_CreateObject();
	int rc = dux_db_acquire(db, &c);
	if (rc == 0) {
		rc = topology_fill(c, out);
		dux_db_release(db, c);
	}
	if (rc < 0) {
		cJSON_Delete(out);
		dux_reply_err(r, rc, "the topology");
		return;
	}
	dux_reply_json(r, 200, out);
}
