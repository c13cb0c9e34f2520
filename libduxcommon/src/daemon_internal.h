/* daemon_internal.h - private state of the daemon skeleton. */
#ifndef DUX_DAEMON_INTERNAL_H
#define DUX_DAEMON_INTERNAL_H

#include <dux/daemon.h>
#include <pthread.h>
#include <stdatomic.h>

#define DAEMON_MAX_JOBS 16

typedef struct {
	dux_daemon_t *d;
	char name[64];
	int interval_ms;
	int64_t lock_key;
	dux_job_fn fn;
	void *ctx;
	pthread_t thread;
} daemon_job_t;

struct dux_daemon {
	const dux_daemon_spec_t *spec;
	const char *config_path;
	bool check_only, print_defaults;
	dux_common_cfg_t common;
	dux_cfg_opt_t *common_opts;
	char port_def[8];
	dux_cfg_section_t secs[2];
	size_t nsecs;
	dux_net_t net;
	dux_key_t *auth_key;
	dux_metrics_t *metrics;
	dux_metric_t *published;
	dux_db_t *db;
	dux_http_t *http;
	dux_route_t *routes;
	void *zctx, *pub;
	atomic_bool stopping;
	atomic_bool draining; /* set before the server stops accepting */
	pthread_mutex_t mu; /* with cv: wakes sleeping jobs at stop */
	pthread_cond_t cv;
	bool sync_init;
	daemon_job_t jobs[DAEMON_MAX_JOBS];
	int njobs;
};

void daemon_signals_block(void);
/* Runs until SIGTERM/SIGINT; returns the exit code. */
int daemon_loop(dux_daemon_t *d);
/* Applies migrations if the database is there; DUX_EUNAVAIL is not an error at start-up. */
int daemon_migrate(dux_daemon_t *d);
void daemon_jobs_stop(dux_daemon_t *d);

#endif
