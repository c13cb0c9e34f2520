/* daemon.h - the skeleton every daemon runs: a daemon's main.c declares a spec and calls
 * dux_daemon_main, which does arguments, configuration, logging, the database pool and its
 * migrations, the event relay, the HTTP server, background jobs, sd_notify (READY, STOPPING,
 * WATCHDOG), signals and a graceful drain.
 *
 *   --config FILE      YAML configuration (default: none, built-in defaults and env only)
 *   --check-config     load and validate the configuration, print it (secrets hidden), exit
 *   --print-defaults   print every option with its default and help as YAML, exit
 *   --version, --help
 *
 * SIGTERM/SIGINT drain: stop accepting, let requests in flight finish (daemon.drain_timeout),
 * stop jobs, close. Requests still running at the deadline are abandoned: the process exits
 * and PostgreSQL rolls their transactions back. SIGHUP is logged and otherwise ignored: restart to apply a new
 * configuration (systemd's ExecReload is not offered). */
#ifndef DUX_DAEMON_H
#define DUX_DAEMON_H

#include <dux/address.h>
#include <dux/auth.h>
#include <dux/blob.h>
#include <dux/config.h>
#include <dux/db.h>
#include <dux/http.h>
#include <dux/metrics.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct dux_daemon dux_daemon_t;

/* The options every daemon has (see dux_daemon_main for their keys). */
typedef struct {
	char *http_bind;
	int64_t http_port, http_max_body, http_conn_limit, http_timeout, http_rate_limit,
		http_rate_burst;
	char *db_conninfo, *db_password;
	int64_t db_pool_size, db_acquire_timeout;
	char *bus_endpoint;
	int64_t bus_retention;
	char *log_level;
	char *auth_public_key_file, *auth_issuer;
	int64_t drain_timeout;
	char *chain_network;
} dux_common_cfg_t;

typedef struct {
	const char *name;    /* "duxos-registry": binary, logs, event source */
	const char *summary; /* one line for --help */
	const char *schema;  /* PostgreSQL schema it owns */
	uint16_t default_port;
	const char *default_bus; /* "tcp://127.0.0.1:7101"; "" = publishes nothing */
	/* http.max_body's default as text, for a daemon whose requests carry more than 64 KiB
	 * ("4194304"); NULL = the library's. */
	const char *default_max_body;
	/* Scopes that may read GET /v1/events (0 = anyone): a daemon whose events carry private
	 * data admits only services and admins. */
	unsigned events_scopes;
	const dux_cfg_opt_t *opts; /* the daemon's own options; may be NULL */
	void *cfg;                 /* struct they fill */
	const dux_blob_t *migrations;
	const dux_blob_t *openapi; /* first entry served at /openapi.yaml */
	const dux_route_t *routes;
	size_t nroutes;
	/* Checks the daemon's own options once they are loaded (also for --check-config); on
	 * failure writes "key: what is wrong" into err and returns < 0 (exit 78). May be NULL. */
	int (*check)(void *app, char *err, size_t len);
	/* After config, pool and metrics exist, before the server starts. < 0 aborts start-up;
	 * DUX_EINVAL says the configuration is wrong (exit 78, which systemd does not retry). */
	int (*start)(dux_daemon_t *d, void *app);
	/* After the server stopped and jobs ended. */
	void (*stop)(dux_daemon_t *d, void *app);
	void *app; /* handed to handlers and hooks */
} dux_daemon_spec_t;

/* Runs the daemon; returns the process exit code. */
int dux_daemon_main(int argc, char **argv, const dux_daemon_spec_t *spec);

dux_db_t *dux_daemon_db(dux_daemon_t *d);
const dux_common_cfg_t *dux_daemon_common(const dux_daemon_t *d);
dux_metrics_t *dux_daemon_metrics(dux_daemon_t *d);
dux_net_t dux_daemon_net(const dux_daemon_t *d);
/* The key that verifies bearer tokens (borrowed; NULL when auth.public_key_file is unset). */
const dux_key_t *dux_daemon_auth_key(const dux_daemon_t *d);

/* True once SIGTERM started the drain: a handler that waits (a long poll) answers now. */
bool dux_daemon_draining(const dux_daemon_t *d);

/* A periodic background job on its own thread and dedicated database connection.
 * lock_key != 0: the job runs only in the copy of the daemon holding that PostgreSQL advisory
 * lock (another copy takes over when that session ends). fn returning > 0 means "more work
 * waiting": it runs again at once. Call from the start hook. */
typedef int (*dux_job_fn)(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);
DUX_MUST_USE int dux_daemon_job(dux_daemon_t *d, const char *name, int interval_ms,
				int64_t lock_key, dux_job_fn fn, void *ctx);
/* A stable advisory-lock key for a name ("registry.monitor"). */
int64_t dux_lock_key(const char *name);

#endif
