/* duxos-tasks: the task engine. As scheduler it owns tasks, chooses nodes, validates results
 * and pays or refunds their escrows; as executor it pulls work for this node and runs it in
 * the sandbox. */
#include "docker.h"
#include "tasks.h"
#include <dux/log.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern const dux_blob_t tasks_migrations[];
extern const dux_blob_t tasks_openapi[];

static tasks_t tasks = {
	.wake_mu = PTHREAD_MUTEX_INITIALIZER,
	.wake_cv = PTHREAD_COND_INITIALIZER,
};

#define T(field) offsetof(tasks_cfg_t, field)
static const dux_cfg_opt_t options[] = {
	{"tasks.role", DUX_CFG_STR, T(role), "both", 0, 0, 0,
	 "scheduler (owns tasks, chooses nodes, pays), executor (runs this node's work), or both"},
	{"tasks.registry_url", DUX_CFG_STR, T(registry_url), "http://127.0.0.1:8101", 0, 0, 0,
	 "base URL of duxos-registry (node events' backfill, outcomes, heartbeats)"},
	{"tasks.registry_events", DUX_CFG_STR, T(registry_events), "tcp://127.0.0.1:7101", 0, 0, 0,
	 "the registry's event socket"},
	{"tasks.registry_token", DUX_CFG_STR, T(registry_token), "", 0, 0, DUX_CFG_SECRET,
	 "service token for the registry's outcomes (or registry_token_file)"},
	{"tasks.escrow_url", DUX_CFG_STR, T(escrow_url), "http://127.0.0.1:8103", 0, 0, 0,
	 "base URL of duxos-escrow (paid calls)"},
	{"tasks.escrow_token", DUX_CFG_STR, T(escrow_token), "", 0, 0, DUX_CFG_SECRET,
	 "service token that releases and refunds escrows (or escrow_token_file)"},
	{"tasks.store_url", DUX_CFG_STR, T(store_url), "http://127.0.0.1:8104", 0, 0, 0,
	 "base URL of duxos-store (services of paid calls)"},
	{"tasks.max_retries", DUX_CFG_INT, T(max_retries), "2", 0, 10, 0,
	 "attempts lost (node failed, timed out, went away) that are tried again elsewhere"},
	{"tasks.queue_timeout", DUX_CFG_INT, T(queue_timeout), "60", 1, 86400, 0,
	 "seconds a task may wait for an eligible node before it fails (no-eligible-node)"},
	{"tasks.offer_timeout", DUX_CFG_INT, T(offer_timeout), "15", 1, 3600, 0,
	 "seconds an attempt offered to a node may wait for the node's claim"},
	{"tasks.lease_grace", DUX_CFG_INT, T(lease_grace), "30", 1, 3600, 0,
	 "seconds past a task's timeout before its running attempt counts as lost"},
	{"tasks.unknown_after", DUX_CFG_INT, T(unknown_after), "30", 1, 86400, 0,
	 "seconds without a claim after which an online node gets no new work (unknown)"},
	{"tasks.trusted_reputation", DUX_CFG_DOUBLE, T(trusted_reputation), "0.8", 0, 1, 0,
	 "reputation from which a node runs a single-replica task alone; below, 2 replicas"},
	{"tasks.claim_wait_ms", DUX_CFG_INT, T(claim_wait_ms), "25000", 0, 120000, 0,
	 "longest wait of an executor's claim for work (long poll)"},
	{"tasks.schedule_interval_ms", DUX_CFG_INT, T(schedule_interval_ms), "200", 20, 60000, 0,
	 "milliseconds between rounds of the scheduler job (leases, retries, queue)"},
	{"tasks.events_poll_ms", DUX_CFG_INT, T(events_poll_ms), "5000", 100, 600000, 0,
	 "milliseconds between backfills of the registry's events without a gap"},
	{"tasks.wake_endpoints", DUX_CFG_STRLIST, T(wake_endpoints), "", 0, 0, 0,
	 "event buses of every scheduler copy (their bus.endpoint) whose task.* events wake the"
	 " claims waiting here; empty: this daemon's own bus.endpoint"},
	{"tasks.scheduler_url", DUX_CFG_STR, T(scheduler_url), "http://127.0.0.1:8105", 0, 0, 0,
	 "executor: base URL of the scheduler it pulls work from"},
	{"tasks.node_key_file", DUX_CFG_STR, T(node_key_file), "", 0, 0, 0,
	 "executor: the node's Ed25519 private key (PEM), its registry identity"},
	{"tasks.executor_slots", DUX_CFG_INT, T(executor_slots), "2", 1, 256, 0,
	 "executor: sandboxes run at once"},
	{"tasks.bundle_keys", DUX_CFG_STRLIST, T(bundle_keys), "", 0, 0, 0,
	 "executor: base64url Ed25519 keys whose signed bundles this node runs (paid calls)"},
	{"tasks.heartbeat_interval", DUX_CFG_INT, T(heartbeat_interval), "30", 0, 3600, 0,
	 "executor: seconds between the node's heartbeats to the registry (0 = none)"},
	{"sandbox.runtime", DUX_CFG_STR, T(sb_runtime), "native", 0, 0, 0,
	 "native (namespaces, cgroups, seccomp) or docker"},
	{"sandbox.docker_socket", DUX_CFG_STR, T(sb_docker_socket), DUX_DOCKER_SOCKET, 0, 0, 0,
	 "runtime docker: the Docker Engine's unix socket (the engine must answer at start)"},
	{"sandbox.memory_limit", DUX_CFG_STR, T(sb_memory), "512m", 0, 0, 0,
	 "memory a task may use (k, m, g): the default and the most a task may ask"},
	{"sandbox.cpu_limit", DUX_CFG_STR, T(sb_cpu), "1.0", 0, 0, 0,
	 "cores a task may use: the default and the most a task may ask"},
	{"sandbox.network_access", DUX_CFG_BOOL, T(sb_network), "false", 0, 0, 0,
	 "whether a task may ask for network access"},
	{"sandbox.timeout", DUX_CFG_INT, T(sb_timeout), "300", 1, 86400, 0,
	 "seconds of wall clock: the default and the most a task may ask"},
	{"sandbox.allowed_commands", DUX_CFG_STRLIST, T(sb_allowed), "python,node,bash", 0, 0, 0,
	 "runtimes a task may ask for"},
	{"sandbox.output_cap", DUX_CFG_INT, T(sb_output_cap), "1048576", 1024, 1048576, 0,
	 "bytes of stdout and of stderr a task may write; more fails it (output-limit)"},
	{"sandbox.pids_max", DUX_CFG_INT, T(sb_pids), "128", 8, 65536, 0,
	 "processes and threads a task may have at once"},
	{"sandbox.scratch_dir", DUX_CFG_STR, T(sb_scratch), DUX_SANDBOX_SCRATCH_BASE, 0, 0, 0,
	 "host directory holding the tasks' private scratch directories"},
	{"sandbox.cgroup_parent", DUX_CFG_STR, T(sb_cgroup), DUX_SANDBOX_CGROUP_PARENT, 0, 0, 0,
	 "cgroup (under each hierarchy's root) holding the tasks' cgroups"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef T

#define CALLER (DUX_SCOPE_USER | DUX_SCOPE_PROVIDER | DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN)
#define BD (DUX_ROUTE_BODY | DUX_ROUTE_DB)
static const dux_route_t routes[] = {
	{"POST", "/tasks", api_task_create, BD, CALLER},
	{"GET", "/tasks/{id}", api_task_get, DUX_ROUTE_DB, CALLER},
	{"GET", "/tasks", api_task_list, DUX_ROUTE_DB, CALLER},
	{"POST", "/tasks/{id}/cancel", api_task_cancel, DUX_ROUTE_DB, CALLER},
	{"GET", "/tasks/{id}/logs", api_task_logs, DUX_ROUTE_DB, CALLER},
	{"POST", "/calls", api_call, BD, DUX_SCOPE_USER | DUX_SCOPE_PROVIDER},
	{"PUT", "/bundles/{service}", api_bundle_put, BD, DUX_SCOPE_USER | DUX_SCOPE_PROVIDER},
	{"GET", "/bundles/{service}", api_bundle_get, DUX_ROUTE_DB, CALLER},
	{"GET", "/executors", api_nodes, DUX_ROUTE_DB, CALLER},
	/* signed by the node key, no bearer token: nodes behind NAT pull their work */
	{"POST", "/executor/claim", api_claim, BD, 0},
	{"POST", "/executor/attempts/{id}/result", api_result, BD, 0},
	{"POST", "/executor/attempts/{id}/heartbeat", api_attempt_heartbeat, BD, 0},
};

static int check(void *app, char *err, size_t len)
{
	return tasks_check(app, err, len);
}

static int start(dux_daemon_t *d, void *app)
{
	tasks_t *t = app;
	t->d = d;
	dux_metrics_t *m = dux_daemon_metrics(d);
	t->m_stuck = dux_metrics_gauge(m, "tasks_registry_events_stuck",
				       "1 while the registry's event log no longer reaches our cursor",
				       NULL);
	t->m_runs = dux_metrics_counter(m, "tasks_sandbox_runs_total",
					"sandboxes this executor ran", NULL);
	int r = 0;
	if (t->scheduler) {
		r = nodeview_start(t);
		if (r == 0)
			r = wake_start(t);
		if (r == 0)
			r = dux_daemon_job(d, "tasks.schedule", (int)t->cfg.schedule_interval_ms,
					   dux_lock_key("tasks.schedule"), sched_run, t);
		if (r == 0)
			r = dux_daemon_job(d, "tasks.settle", 500, dux_lock_key("tasks.settle"),
					   settle_run, t);
		if (r == 0)
			r = dux_daemon_job(d, "tasks.outcomes", 1000, dux_lock_key("tasks.outcomes"),
					   outcome_run, t);
	}
	if (r == 0 && t->executor)
		r = executor_start(t);
	return r;
}

static void stop(dux_daemon_t *d, void *app)
{
	(void)d;
	tasks_t *t = app;
	executor_stop(t);
	wake_stop(t);
	nodeview_stop(t);
}

int main(int argc, char **argv)
{
	const dux_daemon_spec_t spec = {
		.name = "duxos-tasks",
		.summary = "Dux_OS task engine: node selection, sandboxed execution, validation.",
		.schema = "tasks",
		.default_port = 8105,
		.default_bus = "tcp://127.0.0.1:7105",
		/* 1 MiB of code, input or output, escaped in JSON, plus 64 KiB of stderr */
		.default_max_body = "4194304",
		.events_scopes = DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN, /* owners, nodes, wallets */
		.opts = options,
		.cfg = &tasks.cfg,
		.migrations = tasks_migrations,
		.openapi = tasks_openapi,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.check = check,
		.start = start,
		.stop = stop,
		.app = &tasks,
	};
	return dux_daemon_main(argc, argv, &spec);
}
