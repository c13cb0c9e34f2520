/* registry.h - duxos-registry internals: configuration, shared state and the pieces the
 * route handlers are made of. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <dux/daemon.h>
#include <dux/http.h>
#include <dux/sign.h>

typedef struct {
	int64_t heartbeat_timeout; /* seconds without a heartbeat before a node is offline */
	int64_t monitor_interval;  /* seconds between health-monitor sweeps */
	int64_t replay_window;     /* seconds a request counter may differ from our clock */
	double half_life;          /* seconds: reputation evidence halves in weight */
	int64_t read_cache_ms;     /* GET /nodes/{id} answers reused this long; 0 = never */
	double prior_success, prior_failure;
} registry_cfg_t;

typedef struct {
	registry_cfg_t cfg;
	dux_daemon_t *d;
} registry_t;

/* The node columns every query selects, in node_json's order. Queries that use it pass the
 * reputation parameters as $1, $2, $3 (half-life, prior successes, prior failures). */
#define NODE_COLUMNS \
	"node_id, wallet_address, host(ip_address), port, to_json(capabilities)::text," \
	" reputation(rep_success, rep_failure, rep_updated, $1::float8, $2::float8, $3::float8)," \
	" tasks_succeeded, tasks_failed, (extract(epoch FROM last_heartbeat) * 1e6)::bigint," \
	" uptime, to_json(load_average)::text, available_memory, available_cpu, status," \
	" (extract(epoch FROM registered_at) * 1e6)::bigint, cpu_cores, memory_mb, disk_mb," \
	" encode(public_key, 'hex')"

/* Text of the three reputation parameters, for $1..$3. */
typedef struct {
	char hl[32], a[32], b[32];
} rep_params_t;
void rep_params(const registry_t *reg, rep_params_t *ret);

/* nodes.c: the node as JSON (caller frees), from a row of NODE_COLUMNS. */
cJSON *node_json(const PGresult *res, int row);
/* Fetches one node; DUX_ENOENT when unknown. */
int nodes_get(registry_t *reg, dux_db_conn_t *c, const char *node_id, cJSON **ret);

/* The public key of a registered node (caller frees with dux_key_free), from a small cache of
 * immutable keys or the database. DUX_ENOENT when the node is unknown. */
int keys_lookup(dux_db_t *db, const char *node_id, dux_key_t **ret);
/* Frees the cache (at shutdown). */
void keys_clear(void);

/* nodecache.c: rendered GET /nodes/{id} answers, for registry.read_cache_ms. reply answers
 * 200 from the cache and returns true, or returns false with the generation to pass to put
 * after a fetch (until_us: fetch start + TTL); forget after every change of a node, clear
 * after changes of many; free at shutdown. */
bool nodecache_reply(dux_req_t *r, const char *id, uint64_t *ret_gen);
void nodecache_put(const char *id, const char *json, size_t len, uint64_t gen, int64_t until_us);
void nodecache_forget(const char *id);
void nodecache_clear(void);
void nodecache_free(void);

/* Handlers. */
void api_register(dux_req_t *r, void *app);
void api_heartbeat(dux_req_t *r, void *app);
void api_node_get(dux_req_t *r, void *app);
void api_nodes_list(dux_req_t *r, void *app);
void api_outcome(dux_req_t *r, void *app);
void api_topology(dux_req_t *r, void *app);

/* monitor.c: marks silent nodes offline. */
int monitor_start(registry_t *reg);

#endif
