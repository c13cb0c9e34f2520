/* daemon_loop.c - signals, the watchdog, migration retries, and background jobs. */
#include "daemon_internal.h"
#include <dux/crypto.h>
#include <dux/log.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

void daemon_signals_block(void)
{
	/* Blocked before any thread starts, so that only the main loop receives them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int daemon_migrate(dux_daemon_t *d)
{
	int r = dux_db_migrate(d->db);
	if (r == DUX_EUNAVAIL) {
		dux_log(DUX_LOG_WARN, NULL, "database unavailable; serving 503 until it is back");
		return 0;
	}
	if (r < 0)
		dux_error("database migration failed: %s", dux_db_migrate_error(d->db));
	return r;
}

int daemon_loop(dux_daemon_t *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	uint64_t wd_usec = 0;
	bool watchdog = sd_watchdog_enabled(0, &wd_usec) > 0;
	int64_t tick_ms = watchdog && wd_usec / 2000 < 1000 ? (int64_t)(wd_usec / 2000) : 1000;
	struct timespec ts = {tick_ms / 1000, (tick_ms % 1000) * 1000000L};
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			dux_info("received %s; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return 0;
		}
		if (sig == SIGHUP)
			dux_info("SIGHUP ignored: restart the daemon to apply a new configuration");
		if (watchdog)
			sd_notify(0, "WATCHDOG=1");
		if (!dux_db_ready(d->db)) {
			int r = dux_db_migrate(d->db);
			if (r < 0 && r != DUX_EUNAVAIL && !dux_db_migrated(d->db)) {
				dux_error("database migration failed: %s", dux_db_migrate_error(d->db));
				return 1;
			}
		}
	}
}

int64_t dux_lock_key(const char *name)
{
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(name, strlen(name), h);
	int64_t k = 0;
	memcpy(&k, h, sizeof k);
	return k;
}

static void job_sleep(dux_daemon_t *d, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->mu);
	while (!atomic_load(&d->stopping))
		if (pthread_cond_timedwait(&d->cv, &d->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&d->mu);
}

/* Takes the job's advisory lock on c; 1 when held, 0 when another copy holds it. */
static int job_lock(dux_db_conn_t *c, int64_t key)
{
	char k[24];
	snprintf(k, sizeof k, "%lld", (long long)key);
	const char *p[] = {k};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT pg_try_advisory_lock($1::bigint)", 1, p, &res);
	if (r < 0)
		return r;
	r = dux_db_bool(res, 0, 0);
	PQclear(res);
	return r;
}

static void *job_main(void *arg)
{
	daemon_job_t *j = arg;
	dux_daemon_t *d = j->d;
	dux_db_conn_t *c = NULL;
	bool locked = false;
	while (!atomic_load(&d->stopping)) {
		int r = 0;
		if (!dux_db_ready(d->db) && !c)
			goto wait;
		if (!c && (r = dux_db_connect(d->db, &c)) < 0)
			goto wait;
		if (j->lock_key && !locked && (r = job_lock(c, j->lock_key)) <= 0)
			goto wait;
		locked = true;
		r = j->fn(d, c, j->ctx);
		if (r > 0)
			continue;
wait:
		if (r < 0 && c && (r == DUX_EUNAVAIL || PQstatus(dux_db_pg(c)) != CONNECTION_OK)) {
			dux_log(DUX_LOG_WARN, NULL, "job %s lost its database session", j->name);
			c = dux_db_conn_free(c); /* the lock goes with the session */
			locked = false;
		} else if (r < 0) {
			dux_log(DUX_LOG_WARN, NULL, "job %s: %s", j->name, dux_strerror(r));
		}
		job_sleep(d, j->interval_ms);
	}
	dux_db_conn_free(c);
	return NULL;
}

int dux_daemon_job(dux_daemon_t *d, const char *name, int interval_ms, int64_t lock_key,
		   dux_job_fn fn, void *ctx)
{
	if (d->njobs == DAEMON_MAX_JOBS)
		return DUX_ERANGE;
	if (!d->sync_init) {
		pthread_mutex_init(&d->mu, NULL);
		pthread_cond_init(&d->cv, NULL);
		d->sync_init = true;
	}
	daemon_job_t *j = &d->jobs[d->njobs];
	*j = (daemon_job_t){.d = d, .interval_ms = interval_ms, .lock_key = lock_key, .fn = fn,
			    .ctx = ctx};
	snprintf(j->name, sizeof j->name, "%s", name);
	if (pthread_create(&j->thread, NULL, job_main, j) != 0)
		return DUX_EIO;
	d->njobs++;
	return 0;
}

void daemon_jobs_stop(dux_daemon_t *d)
{
	if (!d->sync_init)
		return;
	pthread_mutex_lock(&d->mu);
	atomic_store(&d->stopping, true);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (int i = 0; i < d->njobs; i++)
		pthread_join(d->jobs[i].thread, NULL);
	d->njobs = 0;
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	d->sync_init = false;
}
