/* monitor.c - the health monitor: nodes silent for heartbeat_timeout go offline, with a
 * node.offline event in the same transaction. Runs in one copy of the daemon at a time. */
#include "registry.h"
#include <dux/bus.h>
#include <dux/log.h>
#include <stdio.h>

#define SWEEP_BATCH 500

static int sweep_tx(dux_db_conn_t *c, void *arg)
{
	registry_t *reg = arg;
	rep_params_t rp;
	rep_params(reg, &rp);
	char timeout[24], batch[16];
	snprintf(timeout, sizeof timeout, "%lld", (long long)reg->cfg.heartbeat_timeout);
	snprintf(batch, sizeof batch, "%d", SWEEP_BATCH);
	const char *p[] = {rp.hl, rp.a, rp.b, timeout, batch};
	PGresult *res;
	int r = dux_db_exec(c,
			    "UPDATE nodes SET status = 'offline', updated_at = now() WHERE node_id IN"
			    " (SELECT node_id FROM nodes WHERE status = 'online' AND last_heartbeat <"
			    " now() - $4::int * interval '1 second' ORDER BY last_heartbeat"
			    " LIMIT $5::int FOR UPDATE SKIP LOCKED) RETURNING " NODE_COLUMNS,
			    5, p, &res);
	if (r < 0)
		return r;
	int n = PQntuples(res);
	for (int i = 0; i < n && r == 0; i++) {
		cJSON *node = node_json(res, i);
		r = node ? dux_outbox_emit(c, "node.offline", PQgetvalue(res, i, 0), node)
			 : DUX_ENOMEM;
		cJSON_Delete(node);
	}
	PQclear(res);
	if (r == 0 && n > 0)
		dux_info("health monitor: %d node(s) offline after %llds without a heartbeat", n,
			 (long long)reg->cfg.heartbeat_timeout);
	return r < 0 ? r : n;
}

static int sweep(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	int n = dux_db_tx_on(c, NULL, sweep_tx, ctx);
	if (n > 0)
		nodecache_clear(); /* after the commit: nothing older can be cached again */
	return n < 0 ? n : n == SWEEP_BATCH;
}

int monitor_start(registry_t *reg)
{
	return dux_daemon_job(reg->d, "health-monitor", (int)reg->cfg.monitor_interval * 1000,
			      dux_lock_key("registry.health-monitor"), sweep, reg);
}
