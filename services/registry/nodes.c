/* nodes.c - a node row as the JSON of the seed's Node Information Schema. */
#include "registry.h"
#include <dux/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rep_params(const registry_t *reg, rep_params_t *ret)
{
	snprintf(ret->hl, sizeof ret->hl, "%.17g", reg->cfg.half_life);
	snprintf(ret->a, sizeof ret->a, "%.17g", reg->cfg.prior_success);
	snprintf(ret->b, sizeof ret->b, "%.17g", reg->cfg.prior_failure);
}

static double num(const PGresult *res, int row, int col)
{
	return strtod(PQgetvalue(res, row, col), NULL);
}

cJSON *node_json(const PGresult *res, int i)
{
	cJSON *n = cJSON_CreateObject();
	if (!n)
		return NULL;
	int64_t ok = dux_db_i64(res, i, 6), failed = dux_db_i64(res, i, 7);
	cJSON_AddStringToObject(n, "node_id", PQgetvalue(res, i, 0));
	cJSON_AddStringToObject(n, "wallet_address", PQgetvalue(res, i, 1));
	cJSON_AddStringToObject(n, "ip_address", PQgetvalue(res, i, 2));
	cJSON_AddNumberToObject(n, "port", (double)dux_db_i64(res, i, 3));
	cJSON_AddItemToObject(n, "capabilities", cJSON_Parse(PQgetvalue(res, i, 4)));
	cJSON_AddNumberToObject(n, "reputation_score", num(res, i, 5));
	cJSON_AddNumberToObject(n, "total_tasks_completed", (double)ok);
	cJSON_AddNumberToObject(n, "success_rate",
				ok + failed ? (double)ok / (double)(ok + failed) : 0.0);
	dux_json_add_time(n, "last_heartbeat", dux_db_i64(res, i, 8));
	cJSON_AddNumberToObject(n, "uptime", (double)dux_db_i64(res, i, 9));
	cJSON_AddItemToObject(n, "load_average", cJSON_Parse(PQgetvalue(res, i, 10)));
	cJSON_AddNumberToObject(n, "available_memory", (double)dux_db_i64(res, i, 11));
	cJSON_AddNumberToObject(n, "available_cpu", num(res, i, 12));
	cJSON_AddStringToObject(n, "status", PQgetvalue(res, i, 13));
	dux_json_add_time(n, "registered_at", dux_db_i64(res, i, 14));
	cJSON *rs = cJSON_AddObjectToObject(n, "resources");
	cJSON_AddNumberToObject(rs, "cpu_cores", (double)dux_db_i64(res, i, 15));
	cJSON_AddNumberToObject(rs, "memory_mb", (double)dux_db_i64(res, i, 16));
	cJSON_AddNumberToObject(rs, "disk_mb", (double)dux_db_i64(res, i, 17));
	cJSON_AddNumberToObject(n, "tasks_failed", (double)failed);
	uint8_t pub[DUX_ED25519_PUB_LEN];
	const char *hex = PQgetvalue(res, i, 18);
	char url[64] = "";
	if (dux_hex_decode(hex, strlen(hex), pub, sizeof pub) == 0)
		dux_b64url_encode(pub, sizeof pub, url);
	cJSON_AddStringToObject(n, "public_key", url);
	return n;
}

int nodes_get(registry_t *reg, dux_db_conn_t *c, const char *node_id, cJSON **ret)
{
	rep_params_t rp;
	rep_params(reg, &rp);
	const char *p[] = {rp.hl, rp.a, rp.b, node_id};
	PGresult *res;
	int r = dux_db_execp(c, "node_get", "SELECT " NODE_COLUMNS " FROM nodes WHERE node_id = $4",
			     4, p, &res);
	if (r < 0)
		return r;
	cJSON *n = PQntuples(res) == 1 ? node_json(res, 0) : NULL;
	r = PQntuples(res) == 1 ? (n ? 0 : DUX_ENOMEM) : DUX_ENOENT;
	PQclear(res);
	if (r == 0)
		*ret = n;
	return r;
}
