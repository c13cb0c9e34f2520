/* api_nodes.c - GET /executors: the scheduler's view of the nodes, as selection sees them:
 * the registry's status, whether the node claims work (state online | unknown | offline), its
 * announced capacity, the attempts it holds, and its score. */
#include "tasks.h"
#include <stdio.h>

void api_nodes(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	char unknown[24];
	snprintf(unknown, sizeof unknown, "%lld", (long long)t->cfg.unknown_after);
	const char *p[] = {unknown};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(c,
			"SELECT jsonb_build_object('executors', coalesce(jsonb_agg(jsonb_build_object("
			" 'node_id', id, 'wallet_address', wallet, 'registry_status', status,"
			" 'state', CASE WHEN status <> 'online' THEN 'offline' WHEN seen_at >"
			"  now() - make_interval(secs => $1::int) THEN 'online' ELSE 'unknown' END,"
			" 'capabilities', capabilities, 'reputation', reputation, 'slots', slots,"
			" 'busy', busy, 'memory_mb', memory_mb, 'cpus', cpus, 'load', load1,"
			" 'recent_failures', bad, 'last_claim', ts(seen_at)) ORDER BY id), '[]'))::text"
			" FROM (SELECT n.*, (SELECT count(*) FROM attempts a WHERE a.node_id = n.id"
			"  AND a.state IN ('offered', 'running')) AS busy,"
			" (SELECT count(*) FROM attempts f WHERE f.node_id = n.id AND f.verdict IN"
			"  ('lost', 'disagreed') AND f.finished_at > now() - interval '1 hour') AS bad"
			" FROM nodes n) v", 1, p, &res);
		dux_db_release(dux_daemon_db(t->d), c);
	}
	if (rc < 0)
		dux_reply_err(r, rc, "reading the nodes");
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}
