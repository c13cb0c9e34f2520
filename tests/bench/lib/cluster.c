/* cluster.c - see cluster.h. */
#include "cluster.h"
#include "harness.h"
#include "sys.h"
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG program_invocation_short_name

bool bench_cluster_load(const char *dir, bench_cluster_t *cl)
{
	char env[300], port[16], path[300];
	snprintf(cl->dir, sizeof cl->dir, "%s", dir);
	snprintf(env, sizeof env, "%s/env", dir);
	if (!th_env_value(env, "DUX_PG_PORT", port, sizeof port) ||
	    !th_env_value(env, "DUX_PG_CONNINFO", cl->conninfo, sizeof cl->conninfo) ||
	    !th_env_value(env, "DUX_PG_PASSWORD_FILE", cl->password_file, sizeof cl->password_file)) {
		fprintf(stderr, "%s: cannot read %s (made by pgctl.sh init)\n", PROG, env);
		return false;
	}
	cl->port = (int)strtol(port, NULL, 10);
	FILE *f = fopen(cl->password_file, "r");
	if (!f || !fgets(cl->password, sizeof cl->password, f)) {
		fprintf(stderr, "%s: cannot read %s\n", PROG, cl->password_file);
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	cl->password[strcspn(cl->password, "\n")] = '\0';
	snprintf(cl->super, sizeof cl->super, "host=%s/run port=%d dbname=postgres user=postgres",
		 dir, cl->port);
	snprintf(path, sizeof path, "%s/data/postmaster.pid", dir);
	f = fopen(path, "r");
	char line[32] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	cl->postmaster = (pid_t)strtol(line, NULL, 10);
	if (cl->postmaster <= 0) {
		fprintf(stderr, "%s: no running PostgreSQL in %s\n", PROG, dir);
		return false;
	}
	return true;
}

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* The superuser's conninfo for database db (NULL: postgres). */
static void super_conninfo(const bench_cluster_t *cl, const char *db, char *ci, size_t len)
{
	snprintf(ci, len, "%s", cl->super);
	char *d = strstr(ci, "dbname=postgres");
	if (d && db)
		snprintf(d, len - (size_t)(d - ci), "dbname=%s user=postgres", db);
}

bool bench_sql(const bench_cluster_t *cl, const char *db, const char *sql, char *ret, size_t len)
{
	char ci[700];
	super_conninfo(cl, db, ci, sizeof ci);
	PGconn *c = PQconnectdb(ci);
	bool ok = PQstatus(c) == CONNECTION_OK;
	if (ok)
		PQsetNoticeProcessor(c, quiet_notice, NULL);
	PGresult *res = ok ? PQexec(c, sql) : NULL;
	ok = ok && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok)
		fprintf(stderr, "%s: SQL failed (%s): %s\n", PROG, sql, PQerrorMessage(c));
	if (ok && ret)
		snprintf(ret, len, "%s",
			 PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	PQfinish(c);
	return ok;
}

bool bench_fresh_db(const bench_cluster_t *cl, const char *name)
{
	char sql[200];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	if (!bench_sql(cl, NULL, sql, NULL, 0))
		return false;
	snprintf(sql, sizeof sql, "CREATE DATABASE %s OWNER duxos", name);
	return bench_sql(cl, NULL, sql, NULL, 0);
}

void bench_conninfo_for(const bench_cluster_t *cl, const char *db, char *out, size_t len)
{
	char base[512];
	snprintf(base, sizeof base, "%s", cl->conninfo);
	char *d = strstr(base, "dbname=");
	const char *rest = d ? strchr(d, ' ') : NULL;
	if (d)
		*d = '\0';
	snprintf(out, len, "%sdbname=%s%s", base, db, rest ? rest : "");
}

/* ---- pgbench ---- */

static double parse_after(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	return p ? strtod(p + strlen(key), NULL) : -1;
}

bool bench_pgbench(const bench_cluster_t *cl, const bench_pgbench_t *p,
		   bench_pgbench_result_t *ret, char *cmdline, size_t cmdlen)
{
	static char out[65536];
	char e_host[] = "PGHOST=127.0.0.1", e_port[32], e_user[] = "PGUSER=duxos", e_pw[160],
	     e_db[128];
	snprintf(e_port, sizeof e_port, "PGPORT=%d", cl->port);
	snprintf(e_pw, sizeof e_pw, "PGPASSWORD=%s", cl->password);
	snprintf(e_db, sizeof e_db, "PGDATABASE=%s", p->db);
	char *env[] = {e_host, e_port, e_user, e_pw, e_db, NULL};
	char scale[16], clients[16], secs[16];
	snprintf(scale, sizeof scale, "%d", p->scale);
	snprintf(clients, sizeof clients, "%d", p->clients);
	snprintf(secs, sizeof secs, "%d", p->secs);
	char *init[] = {(char *)(uintptr_t)p->pgbench, (char *)(uintptr_t) "-i",
			(char *)(uintptr_t) "-q", (char *)(uintptr_t) "-s", scale, NULL};
	if (!bench_fresh_db(cl, p->db))
		return false;
	if (sys_run(init, env, out, sizeof out) != 0) {
		fprintf(stderr, "%s: pgbench -i failed:\n%s\n", PROG, out);
		return false;
	}
	if (!bench_sql(cl, NULL, "CHECKPOINT", NULL, 0))
		return false;
	char *run[] = {(char *)(uintptr_t)p->pgbench, (char *)(uintptr_t) "-M",
		       (char *)(uintptr_t) "prepared", (char *)(uintptr_t) "-c", clients,
		       (char *)(uintptr_t) "-j", (char *)(uintptr_t) "2", (char *)(uintptr_t) "-T",
		       secs, NULL};
	snprintf(cmdline, cmdlen, "pgbench -i -s %s; pgbench -M prepared -c %s -j 2 -T %s", scale,
		 clients, secs);
	ret->have_stats = bench_pgstat_read(cl, p->db, "public", "pgbench_accounts", &ret->st0);
	bench_pgwait_sampler_t *sampler = bench_pgwait_start(cl, p->db);
	double cpu0 = sys_tree_cpu_s(cl->postmaster), t0 = sys_now_s();
	int st = sys_run(run, env, out, sizeof out);
	ret->wall_s = sys_now_s() - t0;
	ret->pg_cpu_s = sys_tree_cpu_s(cl->postmaster) - cpu0;
	bench_pgwait_stop(sampler, &ret->wait);
	ret->have_stats = ret->have_stats &&
			  bench_pgstat_read(cl, p->db, "public", "pgbench_accounts", &ret->st1);
	if (st != 0 || (ret->tps = parse_after(out, "tps = ")) < 0) {
		fprintf(stderr, "%s: pgbench failed:\n%s\n", PROG, out);
		return false;
	}
	ret->lat_ms = parse_after(out, "latency average = ");
	return true;
}

/* ---- statistics ---- */

bool bench_pgstat_read(const bench_cluster_t *cl, const char *db, const char *schema,
		       const char *table, bench_pgstat_t *ret)
{
	char v[256], sql[700];
	memset(ret, 0, sizeof *ret);
	snprintf(sql, sizeof sql,
		 "SELECT coalesce((SELECT n_tup_upd || ' ' || n_tup_hot_upd FROM"
		 " pg_stat_user_tables WHERE schemaname = '%s' AND relname = '%s'),"
		 " '0 0') || ' ' || (SELECT wal_sync || ' ' || wal_bytes || ' ' || wal_fpi"
		 " FROM pg_stat_wal) || ' ' || (SELECT xact_commit FROM pg_stat_database"
		 " WHERE datname = current_database())",
		 schema, table);
	if (!bench_sql(cl, db, sql, v, sizeof v))
		return false;
	return sscanf(v, "%lf %lf %lf %lf %lf %lf", &ret->upd, &ret->hot, &ret->wal_sync,
		      &ret->wal_bytes, &ret->wal_fpi, &ret->commits) == 6;
}

void bench_pgstat_print(const char *label, const char *table, const bench_pgstat_t *a,
			const bench_pgstat_t *b)
{
	double upd = b->upd - a->upd, hot = b->hot - a->hot;
	double sync = b->wal_sync - a->wal_sync;
	double commits = b->commits - a->commits;
	printf("  %-34s %s updates %.0f (HOT %.0f%%), commits %.0f, WAL fsyncs %.0f (%.1f "
	       "updates per fsync), WAL %.0f bytes per update, full-page images %.0f\n",
	       label, table, upd, upd > 0 ? 100 * hot / upd : 0, commits, sync,
	       sync > 0 ? upd / sync : 0, upd > 0 ? (b->wal_bytes - a->wal_bytes) / upd : 0,
	       b->wal_fpi - a->wal_fpi);
}

/* ---- what the backends wait for ---- */

struct bench_pgwait_sampler {
	PGconn *pg;
	pthread_t th;
	atomic_bool stop;
	bench_pgwait_t sum;
	const char *app; /* only the backends of this application_name (NULL: all) */
};

static void *pgwait_thread(void *arg)
{
	bench_pgwait_sampler_t *s = arg;
	const char *params[] = {s->app};
	static const char sql[] =
		"SELECT count(*) FILTER (WHERE state = 'active' AND wait_event IS NULL),"
		" count(*) FILTER (WHERE wait_event_type = 'Lock'),"
		" count(*) FILTER (WHERE wait_event LIKE 'WAL%'),"
		" count(*) FILTER (WHERE state = 'active' AND wait_event_type <> 'Lock'"
		"  AND wait_event NOT LIKE 'WAL%'),"
		" count(*) FILTER (WHERE state LIKE 'idle in transaction%')"
		" FROM pg_stat_activity WHERE datname = current_database()"
		" AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
		" AND ($1::text IS NULL OR application_name = $1)";
	while (!atomic_load(&s->stop)) {
		PGresult *res = PQexecParams(s->pg, sql, 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			s->sum.samples++;
			s->sum.running += strtod(PQgetvalue(res, 0, 0), NULL);
			s->sum.lock += strtod(PQgetvalue(res, 0, 1), NULL);
			s->sum.wal += strtod(PQgetvalue(res, 0, 2), NULL);
			s->sum.other += strtod(PQgetvalue(res, 0, 3), NULL);
			s->sum.idle_in_tx += strtod(PQgetvalue(res, 0, 4), NULL);
		}
		PQclear(res);
		usleep(50000);
	}
	return NULL;
}

bench_pgwait_sampler_t *bench_pgwait_start(const bench_cluster_t *cl, const char *db)
{
	return bench_pgwait_start_app(cl, db, NULL);
}

bench_pgwait_sampler_t *bench_pgwait_start_app(const bench_cluster_t *cl, const char *db,
					       const char *app)
{
	char ci[700];
	super_conninfo(cl, db, ci, sizeof ci);
	bench_pgwait_sampler_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->app = app;
	s->pg = PQconnectdb(ci);
	if (PQstatus(s->pg) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot sample pg_stat_activity: %s\n", PROG,
			PQerrorMessage(s->pg));
		PQfinish(s->pg);
		free(s);
		return NULL;
	}
	if (pthread_create(&s->th, NULL, pgwait_thread, s) != 0)
		abort(); /* a benchmark that cannot start its threads has nothing to say */
	return s;
}

void bench_pgwait_stop(bench_pgwait_sampler_t *s, bench_pgwait_t *ret)
{
	memset(ret, 0, sizeof *ret);
	if (!s)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	PQfinish(s->pg);
	int n = s->sum.samples;
	if (n > 0)
		*ret = (bench_pgwait_t){.samples = n, .running = s->sum.running / n,
					.lock = s->sum.lock / n, .wal = s->sum.wal / n,
					.other = s->sum.other / n, .idle_in_tx = s->sum.idle_in_tx / n};
	free(s);
}

void bench_pgwait_print(const char *whose, int backends, const bench_pgwait_t *w)
{
	if (w->samples > 0)
		printf("  %-34s %s %d backends, mean of %d samples: %.1f running, %.1f waiting for a "
		       "lock, %.1f on the WAL, %.1f on other waits, %.1f idle in a transaction "
		       "(waiting for their client)\n",
		       "", whose, backends, w->samples, w->running, w->lock, w->wal, w->other,
		       w->idle_in_tx);
}

/* ---- CPU of the backends of one application ---- */

bool bench_pgcpu_read(const bench_cluster_t *cl, const char *db, const char *app,
		      bench_pgcpu_t *ret)
{
	char sql[400], v[8192];
	memset(ret, 0, sizeof *ret);
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(string_agg(pid::text, ' '), '') FROM pg_stat_activity"
		 " WHERE datname = current_database() AND backend_type = 'client backend'"
		 " AND application_name = '%s'",
		 app);
	if (!bench_sql(cl, db, sql, v, sizeof v))
		return false;
	char *save = NULL;
	for (char *t = strtok_r(v, " ", &save); t && ret->n < BENCH_PGCPU_MAX;
	     t = strtok_r(NULL, " ", &save)) {
		pid_t pid = (pid_t)strtol(t, NULL, 10);
		double s = sys_cpu_s(pid);
		if (pid > 0 && s >= 0) {
			ret->pid[ret->n] = pid;
			ret->cpu_s[ret->n++] = s;
		}
	}
	return true;
}

double bench_pgcpu_delta(const bench_pgcpu_t *a, const bench_pgcpu_t *b)
{
	double sum = 0;
	for (int i = 0; i < b->n; i++) {
		double before = 0;
		for (int k = 0; k < a->n; k++)
			if (a->pid[k] == b->pid[i])
				before = a->cpu_s[k];
		sum += b->cpu_s[i] - before;
	}
	return sum;
}
