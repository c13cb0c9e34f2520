/* cluster.h - the PostgreSQL cluster a benchmark runs on (made by deploy/local/pgctl.sh init,
 * see tests/harness/README.md): its settings, SQL as the superuser, fresh databases, the
 * pgbench TPC-B reference, and the statistics that explain a figure. */
#ifndef BENCH_CLUSTER_H
#define BENCH_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
	char dir[256];
	int port;
	char conninfo[512]; /* the app role, database duxos */
	char password_file[300];
	char password[128];
	char super[600]; /* superuser over the unix socket */
	pid_t postmaster;
} bench_cluster_t;

/* Reads DIR/env, the password and the postmaster's pid; prints why and returns false when the
 * cluster is not there or not running. */
bool bench_cluster_load(const char *dir, bench_cluster_t *cl);

/* Runs SQL as the superuser in database db (NULL: postgres); prints the error and returns false
 * on failure. When ret is given, the first value of the first row is copied into it. */
bool bench_sql(const bench_cluster_t *cl, const char *db, const char *sql, char *ret, size_t len);

/* Drops database name if it exists and creates it empty, owned by the app role. */
bool bench_fresh_db(const bench_cluster_t *cl, const char *name);

/* The app conninfo with another database. */
void bench_conninfo_for(const bench_cluster_t *cl, const char *db, char *out, size_t len);

/* What PostgreSQL did: updates of one table and how many were HOT, commits of the database,
 * WAL fsyncs, bytes and full-page images of the cluster. */
typedef struct {
	double upd, hot, wal_sync, wal_bytes, wal_fpi, commits;
} bench_pgstat_t;

/* What the client backends of one database are doing, sampled from pg_stat_activity every
 * 50 ms by a thread of its own: the mean number of backends running (active, no wait event),
 * waiting for a heavyweight lock (a row or transaction another one holds), waiting on the WAL
 * (writing, flushing or inserting), waiting on anything else, and idle inside a transaction
 * (waiting for the client's next statement). */
typedef struct {
	int samples;
	double running, lock, wal, other, idle_in_tx;
} bench_pgwait_t;

/* pgbench TPC-B in a fresh database of its own: pgbench -i -q -s scale, CHECKPOINT, then
 * pgbench -M prepared -c clients -j 2 -T secs. */
typedef struct {
	const char *pgbench; /* the binary */
	const char *db;
	int scale, clients, secs;
} bench_pgbench_t;

typedef struct {
	double tps;      /* pgbench's "tps = " */
	double lat_ms;   /* pgbench's "latency average = ", -1 when absent */
	double pg_cpu_s; /* CPU seconds of the postmaster and its backends during the run */
	double wall_s;   /* seconds the run took */
	bench_pgstat_t st0, st1; /* around the run, table pgbench_accounts */
	bool have_stats;
	bench_pgwait_t wait; /* what its backends did during the run */
} bench_pgbench_result_t;

/* cmdline: the commands, for the report. Prints pgbench's output on failure. */
bool bench_pgbench(const bench_cluster_t *cl, const bench_pgbench_t *p,
		   bench_pgbench_result_t *ret, char *cmdline, size_t cmdlen);

bool bench_pgstat_read(const bench_cluster_t *cl, const char *db, const char *schema,
		       const char *table, bench_pgstat_t *ret);
/* One report line of the difference b - a, under label. */
void bench_pgstat_print(const char *label, const char *table, const bench_pgstat_t *a,
			const bench_pgstat_t *b);

typedef struct bench_pgwait_sampler bench_pgwait_sampler_t;
/* NULL (after printing why) when it cannot connect. */
bench_pgwait_sampler_t *bench_pgwait_start(const bench_cluster_t *cl, const char *db);
/* The same for the backends of one application_name only (libduxcommon's pool names its
 * connections after the daemon's schema: "wallet", "escrow"), when daemons share a database.
 * app (NULL: all) must outlive the sampler. */
bench_pgwait_sampler_t *bench_pgwait_start_app(const bench_cluster_t *cl, const char *db,
					       const char *app);
/* Stops the sampler and frees it; ret gets the means. */
void bench_pgwait_stop(bench_pgwait_sampler_t *s, bench_pgwait_t *ret);
/* CPU time of the client backends of one application_name in a database, by pid: read before
 * and after a run, the difference is what those backends used (a backend that ended in between
 * is not counted: the daemons' pools keep theirs). */
#define BENCH_PGCPU_MAX 256
typedef struct {
	int n;
	pid_t pid[BENCH_PGCPU_MAX];
	double cpu_s[BENCH_PGCPU_MAX];
} bench_pgcpu_t;
bool bench_pgcpu_read(const bench_cluster_t *cl, const char *db, const char *app,
		      bench_pgcpu_t *ret);
/* CPU seconds used between a and b (a backend absent from a counts from 0). */
double bench_pgcpu_delta(const bench_pgcpu_t *a, const bench_pgcpu_t *b);

/* One report line: "the wallet's 16 backends, mean of N samples: ..." (nothing without samples). */
void bench_pgwait_print(const char *whose, int backends, const bench_pgwait_t *w);

#endif
