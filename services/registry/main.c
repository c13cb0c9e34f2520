/* duxos-registry: nodes, their identities, heartbeats, liveness and reputation. */
#include "registry.h"
#include <stddef.h>

extern const dux_blob_t registry_migrations[];
extern const dux_blob_t registry_openapi[];

static registry_t registry;

#define R(field) offsetof(registry_cfg_t, field)
static const dux_cfg_opt_t options[] = {
	{"registry.heartbeat_timeout", DUX_CFG_INT, R(heartbeat_timeout), "90", 5, 86400, 0,
	 "seconds without a heartbeat before a node is marked offline"},
	{"registry.monitor_interval", DUX_CFG_INT, R(monitor_interval), "5", 1, 3600, 0,
	 "seconds between health-monitor sweeps"},
	{"registry.replay_window", DUX_CFG_INT, R(replay_window), "300", 5, 86400, 0,
	 "seconds a signed request's counter (unix ms) may differ from this daemon's clock"},
	{"registry.read_cache_ms", DUX_CFG_INT, R(read_cache_ms), "1000", 0, 60000, 0,
	 "milliseconds a GET /nodes/{id} answer is reused (another copy's changes show this late)"},
	{"registry.reputation_half_life", DUX_CFG_DOUBLE, R(half_life), "604800", 60, 3.2e8, 0,
	 "seconds after which a task outcome counts half as much in the reputation score"},
	{"registry.reputation_prior_success", DUX_CFG_DOUBLE, R(prior_success), "1", 0.01, 1000,
	 0, "prior successes of the Bayesian score (a new node scores a/(a+b))"},
	{"registry.reputation_prior_failure", DUX_CFG_DOUBLE, R(prior_failure), "1", 0.01, 1000,
	 0, "prior failures of the Bayesian score"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef R

static const dux_route_t routes[] = {
	{"POST", "/nodes/register", api_register, DUX_ROUTE_BODY | DUX_ROUTE_DB, 0},
	{"POST", "/nodes/{id}/heartbeat", api_heartbeat, DUX_ROUTE_BODY | DUX_ROUTE_DB, 0},
	{"GET", "/nodes/{id}", api_node_get, DUX_ROUTE_DB, 0},
	{"GET", "/nodes", api_nodes_list, DUX_ROUTE_DB, 0},
	{"POST", "/nodes/{id}/outcomes", api_outcome, DUX_ROUTE_BODY | DUX_ROUTE_DB,
	 DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN},
	{"GET", "/topology", api_topology, DUX_ROUTE_DB, 0},
};

static int start(dux_daemon_t *d, void *app)
{
	registry_t *reg = app;
	reg->d = d;
	return monitor_start(reg);
}

static void stop(dux_daemon_t *d, void *app)
{
	(void)d;
	(void)app;
	keys_clear();
	nodecache_free();
}

int main(int argc, char **argv)
{
	const dux_daemon_spec_t spec = {
		.name = "duxos-registry",
		.summary = "Dux_OS node registry: identities, heartbeats, liveness, reputation.",
		.schema = "registry",
		.default_port = 8101,
		.default_bus = "tcp://127.0.0.1:7101",
		.opts = options,
		.cfg = &registry.cfg,
		.migrations = registry_migrations,
		.openapi = registry_openapi,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.start = start,
		.stop = stop,
		.app = &registry,
	};
	return dux_daemon_main(argc, argv, &spec);
}
