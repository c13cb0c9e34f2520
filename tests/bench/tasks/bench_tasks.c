/* bench_tasks.c - duxos-tasks through its real chain (registry, wallet, escrow, store, the
 * task engine in role both whose executor runs every task in the native sandbox), beside
 * references measured in the same run:
 *
 *   no-op tasks/s      C clients each POST /v1/tasks {"runtime":"bash","code":"true"} and poll
 *                      GET /v1/tasks/{id} until it ended (scheduler, claim, sandbox, report,
 *                      judge: nothing skipped), for each tasks.executor_slots of --slots;
 *                      beside the same sandbox (dux_sandbox_run of bash "true", the executor's
 *                      spec) run back to back by as many threads as there are slots, in this
 *                      process: what the executor could do if scheduling cost nothing
 *   paid call p50/p99  POST /v1/calls?wait=10000 of a store service (price --price FLOP) whose
 *                      signed bundle is `cat`, by a funded user, one at a time and then by
 *                      --callers at once; the answer must carry the validated output (the
 *                      call's own input); then each escrow must be released with the task's
 *                      result_hash (GET /v1/escrow/{id}), the user must have paid and the
 *                      provider received exactly their shares, and the wallet's ledger must
 *                      hold                                       target: p50 < 25 ms
 *                      beside the sandbox's own start-to-exit of the same bundle (bash `cat`)
 *   pgbench TPC-B      on the same cluster (--no-pgbench skips it)
 *
 * Where a call's time goes is read from the task's own timestamps (created_at, the attempt's
 * offered_at/started_at/finished_at, usage.wall_us; milliseconds, PostgreSQL's now(), i.e.
 * the start of the transaction that wrote them) against the caller's clock.
 *
 * Exit status: 0 when the run is valid, whatever the figures; 1 when it is not (a transport
 * error, an answer other than expected, a task that did not succeed with the right output, an
 * escrow not released, money that does not add up, a daemon that did not stop cleanly); 2 on
 * bad usage or a set-up failure. Run it as root through tests/bench/tasks/run.sh. */
#include "bench.h"
#include "chain.h"
#include "cluster.h"
#include "loadgen.h"
#include "sandbox.h"
#include "sys.h"
#include <cjson/cJSON.h>
#include <dux/auth.h>
#include <dux/money.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PROG "bench_tasks"
#define SLOTS_MAX 8
#define CLIENTS_MAX 64
#define PGBENCH_DB "bench_pgbench"
#define NOOP_BODY "{\"runtime\":\"bash\",\"code\":\"true\"}"
#define CALL_CODE "cat"
#define TASK_WAIT_S 30.0 /* a task that takes longer makes the run invalid */

/* ---- options ---- */

typedef struct {
	const char *pg_dir, *bindir, *pgbench;
	int slots[SLOTS_MAX], nslots;
	int clients, poll_ms;
	double duration, warmup;
	int calls, call_warmup, callers, ccalls, call_slots;
	const char *price;
	int ref_runs;
	chain_knobs_t knobs; /* claim_wait_ms, schedule_interval_ms, pool_size */
	bool no_pgbench, keep_logs;
} opts_t;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bench_tasks --pg-dir DIR --bin-dir DIR [options]   (as root)\n"
		"\n"
		"  --pg-dir DIR              cluster made by deploy/local/pgctl.sh init DIR\n"
		"  --bin-dir DIR             where duxos-{registry,wallet,escrow,store,tasks} are (a "
		"release build)\n"
		"  --pgbench PATH            pgbench (default /usr/lib/postgresql/15/bin/pgbench)\n"
		"  --no-pgbench              skip the pgbench reference\n"
		"  --slots LIST              tasks.executor_slots of each no-op run (default: 2 and the "
		"number of CPUs)\n"
		"  --clients N               no-op clients at once (default 8)\n"
		"  --poll-ms N               a no-op client's GET /v1/tasks/{id} interval (default 10)\n"
		"  --duration S              measured seconds of each no-op run and sandbox reference, "
		"and pgbench -T (default 10)\n"
		"  --task-warmup S           seconds not counted before each (default 1)\n"
		"  --calls N                 paid calls one at a time (default 200)\n"
		"  --call-warmup N           calls before those, not counted (default 10)\n"
		"  --callers N               callers at once in the second call run (default 4)\n"
		"  --concurrent-calls N      calls in that run (default 200)\n"
		"  --call-slots N            tasks.executor_slots during the calls (default 2)\n"
		"  --price FLOP              the service's price (default 0.01)\n"
		"  --ref-runs N              sandbox runs of the call's bundle for its reference "
		"(default 100)\n"
		"  --claim-wait-ms N         tasks.claim_wait_ms (default: the daemon's)\n"
		"  --schedule-interval-ms N  tasks.schedule_interval_ms (default: the daemon's)\n"
		"  --pool-size N             db.pool_size of duxos-tasks (default: the daemon's)\n"
		"  --keep-logs               keep the daemons' configs and logs\n");
}

static bool parse_list(const char *s, opts_t *o)
{
	char buf[64];
	o->nslots = 0;
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (o->nslots >= SLOTS_MAX || !bench_parse_int(t, 1, 64, &o->slots[o->nslots++]))
			return false;
	return o->nslots > 0;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	enum { O_PG = 1, O_BIN, O_PGB, O_NOPGB, O_SLOTS, O_CLIENTS, O_POLL, O_DUR, O_WARM, O_CALLS,
	       O_CWARM, O_CALLERS, O_CCALLS, O_CSLOTS, O_PRICE, O_REF, O_CLAIM, O_SCHED, O_POOL,
	       O_KEEP, O_HELP };
	static const struct option lo[] = {
		{"pg-dir", required_argument, NULL, O_PG},
		{"bin-dir", required_argument, NULL, O_BIN},
		{"pgbench", required_argument, NULL, O_PGB},
		{"no-pgbench", no_argument, NULL, O_NOPGB},
		{"slots", required_argument, NULL, O_SLOTS},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"poll-ms", required_argument, NULL, O_POLL},
		{"duration", required_argument, NULL, O_DUR},
		{"task-warmup", required_argument, NULL, O_WARM},
		{"calls", required_argument, NULL, O_CALLS},
		{"call-warmup", required_argument, NULL, O_CWARM},
		{"callers", required_argument, NULL, O_CALLERS},
		{"concurrent-calls", required_argument, NULL, O_CCALLS},
		{"call-slots", required_argument, NULL, O_CSLOTS},
		{"price", required_argument, NULL, O_PRICE},
		{"ref-runs", required_argument, NULL, O_REF},
		{"claim-wait-ms", required_argument, NULL, O_CLAIM},
		{"schedule-interval-ms", required_argument, NULL, O_SCHED},
		{"pool-size", required_argument, NULL, O_POOL},
		{"keep-logs", no_argument, NULL, O_KEEP},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (opts_t){.pgbench = "/usr/lib/postgresql/15/bin/pgbench", .slots = {2}, .nslots = 1,
		      .clients = 8, .poll_ms = 10, .duration = 10, .warmup = 1, .calls = 200,
		      .call_warmup = 10, .callers = 4, .ccalls = 200, .call_slots = 2,
		      .price = "0.01", .ref_runs = 100};
	if (ncpu > 2 && ncpu <= 64)
		o->slots[o->nslots++] = (int)ncpu;
	int c;
	bool ok = true;
	while (ok && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PG: o->pg_dir = optarg; break;
		case O_BIN: o->bindir = optarg; break;
		case O_PGB: o->pgbench = optarg; break;
		case O_NOPGB: o->no_pgbench = true; break;
		case O_SLOTS: ok = parse_list(optarg, o); break;
		case O_CLIENTS: ok = bench_parse_int(optarg, 1, CLIENTS_MAX, &o->clients); break;
		case O_POLL: ok = bench_parse_int(optarg, 1, 1000, &o->poll_ms); break;
		case O_DUR: ok = bench_parse_secs(optarg, 1, &o->duration); break;
		case O_WARM: ok = bench_parse_secs(optarg, 0, &o->warmup); break;
		case O_CALLS: ok = bench_parse_int(optarg, 0, 100000, &o->calls); break;
		case O_CWARM: ok = bench_parse_int(optarg, 0, 1000, &o->call_warmup); break;
		case O_CALLERS: ok = bench_parse_int(optarg, 1, CLIENTS_MAX, &o->callers); break;
		case O_CCALLS: ok = bench_parse_int(optarg, 0, 100000, &o->ccalls); break;
		case O_CSLOTS: ok = bench_parse_int(optarg, 1, 64, &o->call_slots); break;
		case O_PRICE: o->price = optarg; break;
		case O_REF: ok = bench_parse_int(optarg, 10, 100000, &o->ref_runs); break;
		case O_CLAIM: ok = bench_parse_int(optarg, 0, 120000, &o->knobs.claim_wait_ms); break;
		case O_SCHED: ok = bench_parse_int(optarg, 20, 60000, &o->knobs.schedule_interval_ms);
			break;
		case O_POOL: ok = bench_parse_int(optarg, 1, 256, &o->knobs.pool_size); break;
		case O_KEEP: o->keep_logs = true; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: ok = false;
		}
	}
	if (!ok || optind < argc || !o->pg_dir || !o->bindir) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- samples ---- */

typedef struct {
	double *v;
	int n, cap;
} series_t;

static bool series_add(series_t *s, double v)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 1024;
		double *nv = realloc(s->v, (size_t)cap * sizeof *nv);
		if (!nv)
			return false;
		s->v = nv, s->cap = cap;
	}
	s->v[s->n++] = v;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Quantile q (0..1) of s (sorted in place); NAN when empty. */
static double quant(series_t *s, double q)
{
	if (!s->n)
		return NAN;
	qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_double);
	int i = (int)(q * s->n);
	return s->v[i < s->n ? i : s->n - 1];
}

static double mean(const series_t *s)
{
	double sum = 0;
	for (int i = 0; i < s->n; i++)
		sum += s->v[i];
	return s->n ? sum / s->n : NAN;
}

static double real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* "2026-11-25T03:49:29.123Z" in unix ms; -1 when s is not one. */
static double ts_ms(const char *s)
{
	struct tm tm = {0};
	int ms;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) * 1e3 + ms;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : "";
}

/* ---- one task as the caller saw it and as the task engine recorded it ---- */

typedef struct {
	double send, recv; /* caller's clock, unix ms */
	double created, offered, started, afinished, finished; /* the task's, unix ms */
	double wall_ms;                                        /* the attempt's usage.wall_us */
	int polls;
	char escrow[48], hash[65];
} rec_t;

/* Reads an ended task into r; false with why when it did not succeed as expected (one
 * attempt, exit 0, output want when want is not NULL). */
static bool task_rec(const cJSON *t, const char *want, rec_t *r, char *why, size_t len)
{
	const cJSON *atts = cJSON_GetObjectItemCaseSensitive(t, "attempts");
	const cJSON *a = cJSON_GetArrayItem(atts, 0);
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(a, "exit_code");
	const cJSON *wall = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(a, "usage"), "wall_us");
	if (!strcmp(jstr(t, "state"), "queued") || !strcmp(jstr(t, "state"), "running")) {
		snprintf(why, len, "task %s was still %s when the answer came (its wait ran out)",
			 jstr(t, "id"), jstr(t, "state"));
		return false;
	}
	if (strcmp(jstr(t, "state"), "succeeded") != 0 || strcmp(jstr(t, "reason"), "ok") != 0) {
		snprintf(why, len, "task %s ended %s (%s: %.200s)", jstr(t, "id"), jstr(t, "state"),
			 jstr(t, "reason"), jstr(t, "detail"));
		return false;
	}
	if (cJSON_GetArraySize(atts) != 1 || !cJSON_IsNumber(ex) || ex->valuedouble != 0 ||
	    !cJSON_IsNumber(wall)) {
		snprintf(why, len, "task %s: %d attempts, the first without exit 0 or usage",
			 jstr(t, "id"), cJSON_GetArraySize(atts));
		return false;
	}
	if (want && strcmp(jstr(t, "output"), want) != 0) {
		snprintf(why, len, "task %s: output \"%.60s\", expected \"%.60s\"", jstr(t, "id"),
			 jstr(t, "output"), want);
		return false;
	}
	r->created = ts_ms(jstr(t, "created_at"));
	r->offered = ts_ms(jstr(a, "offered_at"));
	r->started = ts_ms(jstr(a, "started_at"));
	r->afinished = ts_ms(jstr(a, "finished_at"));
	r->finished = ts_ms(jstr(t, "finished_at"));
	r->wall_ms = wall->valuedouble / 1e3;
	snprintf(r->escrow, sizeof r->escrow, "%s", jstr(t, "escrow_id"));
	snprintf(r->hash, sizeof r->hash, "%s", jstr(t, "result_hash"));
	if (r->created < 0 || r->offered < 0 || r->started < 0 || r->afinished < 0 ||
	    r->finished < 0) {
		snprintf(why, len, "task %s: a timestamp is missing", jstr(t, "id"));
		return false;
	}
	return true;
}

/* ---- what a run shares between its client threads ---- */

typedef struct {
	const chain_t *c;
	const opts_t *o;
	double warm_end, end; /* monotonic s: counted are tasks ending in [warm_end, end] */
	pthread_mutex_t mu;
	rec_t *recs;
	int nrec, cap;
	atomic_int bad, next; /* failures; the next call's number (call runs) */
	atomic_int threads;   /* client threads started: each no-op client is a user of its own
			       * (http.rate_limit counts per token subject) */
	int total;            /* calls to make (call runs); 0: until end (no-op runs) */
	atomic_llong gets;
	char first_bad[600];
	const char *path;    /* POST path */
	bool calls;          /* paid calls, else no-op tasks */
} run_t;

/* Counts a failure; the first one's message is kept. */
static void run_fail(run_t *x, const char *msg)
{
	pthread_mutex_lock(&x->mu);
	if (!x->first_bad[0])
		snprintf(x->first_bad, sizeof x->first_bad, "%s", msg);
	pthread_mutex_unlock(&x->mu);
	atomic_fetch_add(&x->bad, 1);
}

/* "what answered STATUS: body" as a failure of x. */
static void run_fail_answer(run_t *x, const char *what, int st, const char *body)
{
	char msg[600];
	snprintf(msg, sizeof msg, "%s answered %d: %.400s", what, st, st > 0 && body ? body : "");
	run_fail(x, msg);
}

static bool run_keep(run_t *x, const rec_t *r)
{
	pthread_mutex_lock(&x->mu);
	if (x->nrec == x->cap) {
		int cap = x->cap ? 2 * x->cap : 4096;
		rec_t *n = realloc(x->recs, (size_t)cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&x->mu);
			return false;
		}
		x->recs = n, x->cap = cap;
	}
	x->recs[x->nrec++] = *r;
	pthread_mutex_unlock(&x->mu);
	return true;
}

/* One no-op task: submit, poll until it ended. */
static bool noop_one(run_t *x, lg_sync_t *s, const char *auth, rec_t *r)
{
	char req[LG_REQ_MAX], path[96], id[64], why[400];
	const char *body = NULL;
	memset(r, 0, sizeof *r);
	int len = lg_format(req, sizeof req, "POST", "/v1/tasks", auth, NOOP_BODY);
	r->send = real_ms();
	int st = lg_sync_do(s, req, (size_t)len, &body, NULL);
	cJSON *j = st == 201 ? cJSON_Parse(body) : NULL;
	snprintf(id, sizeof id, "%s", jstr(j, "id"));
	cJSON_Delete(j);
	if (st != 201 || strlen(id) != 36) {
		run_fail_answer(x, "POST /v1/tasks", st, body);
		return false;
	}
	snprintf(path, sizeof path, "/v1/tasks/%s", id);
	len = lg_format(req, sizeof req, "GET", path, auth, NULL);
	for (double until = sys_now_s() + TASK_WAIT_S; sys_now_s() < until;) {
		usleep((useconds_t)x->o->poll_ms * 1000);
		st = lg_sync_do(s, req, (size_t)len, &body, NULL);
		r->polls++;
		atomic_fetch_add(&x->gets, 1);
		j = st == 200 ? cJSON_Parse(body) : NULL;
		if (!j) {
			run_fail_answer(x, path, st, body);
			return false;
		}
		const char *state = jstr(j, "state");
		if (strcmp(state, "queued") && strcmp(state, "running")) {
			r->recv = real_ms();
			bool ok = task_rec(j, "", r, why, sizeof why);
			cJSON_Delete(j);
			if (!ok)
				run_fail(x, why);
			return ok;
		}
		cJSON_Delete(j);
	}
	snprintf(why, sizeof why, "task %s did not end within %d s", id, (int)TASK_WAIT_S);
	run_fail(x, why);
	return false;
}

/* One paid call: POST /v1/calls?wait=... with a unique input; the answer carries the task. */
static bool call_one(run_t *x, lg_sync_t *s, int n, rec_t *r)
{
	char req[LG_REQ_MAX], body_in[600], input[64], why[400];
	const char *body = NULL;
	memset(r, 0, sizeof *r);
	snprintf(input, sizeof input, "bench call %d %08x\n", n, (unsigned)rand());
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "service_id", x->c->svc);
	cJSON_AddStringToObject(b, "input", input);
	cJSON_AddStringToObject(b, "user_wallet", x->c->user_addr);
	if (!cJSON_PrintPreallocated(b, body_in, sizeof body_in, false)) {
		cJSON_Delete(b);
		return false;
	}
	cJSON_Delete(b);
	int len = lg_format(req, sizeof req, "POST", x->path, x->c->user, body_in);
	r->send = real_ms();
	int st = lg_sync_do(s, req, (size_t)len, &body, NULL);
	r->recv = real_ms();
	cJSON *j = st == 201 ? cJSON_Parse(body) : NULL;
	if (!j) {
		run_fail_answer(x, "POST /v1/calls", st, body);
		return false;
	}
	bool ok = task_rec(j, input, r, why, sizeof why);
	if (ok && strlen(r->escrow) < 8) {
		snprintf(why, sizeof why, "task %s has no escrow", jstr(j, "id"));
		ok = false;
	}
	cJSON_Delete(j);
	if (!ok)
		run_fail(x, why);
	return ok;
}

static void *client_main(void *arg)
{
	run_t *x = arg;
	lg_sync_t *s = lg_sync_open("127.0.0.1", x->c->tasks.port);
	char auth[BENCH_AUTH_MAX], sub[32];
	snprintf(sub, sizeof sub, "bench-noop-%d", atomic_fetch_add(&x->threads, 1));
	if (!s || !bench_bearer(x->c->key, sub, DUX_SCOPE_USER, 6 * 3600, auth, sizeof auth)) {
		run_fail(x, "cannot connect to the task engine");
		lg_sync_close(s);
		return NULL;
	}
	for (;;) {
		rec_t r;
		bool ok;
		if (x->calls) {
			int n = atomic_fetch_add(&x->next, 1);
			if (n >= x->total)
				break;
			ok = call_one(x, s, n, &r);
		} else {
			if (sys_now_s() >= x->end)
				break;
			ok = noop_one(x, s, auth, &r);
			double now = sys_now_s();
			if (ok && (now < x->warm_end || now > x->end))
				continue; /* warm-up or drain: checked, not counted */
		}
		if (!ok || !run_keep(x, &r))
			break;
	}
	lg_sync_close(s);
	return NULL;
}

/* Runs nthreads clients over x; false when a thread could not start. */
static bool run_clients(run_t *x, int nthreads)
{
	pthread_t th[CLIENTS_MAX];
	int n = 0;
	for (; n < nthreads; n++)
		if (pthread_create(&th[n], NULL, client_main, x) != 0)
			break;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return n == nthreads;
}

/* ---- CPU around a window ---- */

static const char *const apps[] = {"tasks", "escrow", "wallet", "store", "registry"};
#define NAPPS 5

typedef struct {
	double tasks, pg, others, self, machine, t;
	bench_pgcpu_t app[NAPPS]; /* the backends of each daemon's pool (application_name) */
	bool have_app;
} cpu_t;

static void cpu_read(const chain_t *c, cpu_t *u)
{
	pid_t p[4];
	int n = chain_other_pids(c, p);
	u->tasks = sys_tree_cpu_s(c->tasks.pid); /* with its sandboxes, reaped */
	u->pg = sys_tree_cpu_s(c->cl->postmaster);
	u->others = 0;
	for (int i = 0; i < n; i++)
		u->others += sys_cpu_s(p[i]);
	u->self = sys_self_cpu_s();
	u->machine = sys_machine_busy_s(NULL);
	u->have_app = true;
	for (int i = 0; i < NAPPS; i++)
		u->have_app = bench_pgcpu_read(c->cl, CHAIN_DB, apps[i], &u->app[i]) && u->have_app;
	u->t = sys_now_s();
}

static void cpu_print(const cpu_t *a, const cpu_t *b, double per, const char *what)
{
	char apps_line[300] = "";
	double w = b->t - a->t, tasks = b->tasks - a->tasks, pg = b->pg - a->pg;
	double others = b->others - a->others, self = b->self - a->self;
	double rest = b->machine - a->machine - tasks - pg - others - self;
	printf("  %-30s duxos-tasks with its sandboxes %.2f, PostgreSQL %.2f, the other four daemons "
	       "%.2f, this bench %.2f, other work on the machine %.2f\n",
	       "cores busy", tasks / w, pg / w, others / w, self / w, rest / w);
	if (per > 0 && a->have_app && b->have_app)
		for (int i = 0; i < NAPPS; i++)
			snprintf(apps_line + strlen(apps_line), sizeof apps_line - strlen(apps_line),
				 "%s%s %.2f", i ? ", " : " (its backends of ", apps[i],
				 bench_pgcpu_delta(&a->app[i], &b->app[i]) / per * 1e3);
	if (per > 0)
		printf("  %-30s duxos-tasks (with the sandbox) %.2f ms, PostgreSQL %.2f ms%s%s, the "
		       "other daemons %.2f ms\n",
		       what, tasks / per * 1e3, pg / per * 1e3, apps_line, *apps_line ? ")" : "",
		       others / per * 1e3);
}

/* ---- the sandbox reference: dux_sandbox_run as the executor calls it ---- */

typedef struct {
	const chain_t *c;
	const char *code, *input;
	double warm_end, end;
	int max_runs; /* > 0: stop after so many (one thread) */
	int gap_ms;   /* pause between runs (a call's pace), 0: back to back */
	/* every thread exists before any clones: a thread being created during the sandbox's
	 * clone deadlocks the child (README, "What limits the figures", 1.) */
	pthread_barrier_t go;
	pthread_mutex_t mu;
	series_t ms;   /* dux_sandbox_run, start to return */
	series_t wall; /* its usage.wall_us: what the task's attempt reports */
	atomic_int bad;
	char why[300];
} sbx_ref_t;

static void sbx_spec(const sbx_ref_t *x, struct dux_sandbox_spec *s)
{
	const char *why;
	/* the executor's spec_fill with the daemon's default sandbox section */
	dux_sandbox_spec_init(s);
	if (dux_sandbox_parse_runtime("bash", &s->runtime, &why) < 0)
		s->runtime = DUX_SANDBOX_EXEC;
	s->code = x->code;
	s->code_len = strlen(x->code);
	s->input = x->input;
	s->input_len = strlen(x->input);
	s->scratch_base = x->c->scratch;
	s->cgroup_parent = x->c->cgroup;
	/* not the executor's 300 s: a run that hangs (README, "What limits the figures", 1.)
	 * makes the reference invalid in 10 s */
	s->timeout_ms = 10000;
}

static void *sbx_main(void *arg)
{
	sbx_ref_t *x = arg;
	struct dux_sandbox_spec spec;
	sbx_spec(x, &spec);
	pthread_barrier_wait(&x->go);
	for (int i = 0;; i++) {
		double now = sys_now_s();
		if (x->max_runs ? i >= x->max_runs : now >= x->end)
			break;
		struct dux_sandbox_result res;
		const char *why = NULL;
		if (dux_sandbox_run(&spec, &res, &why) != 0) {
			pthread_mutex_lock(&x->mu);
			snprintf(x->why, sizeof x->why, "spec refused: %s", why ? why : "?");
			pthread_mutex_unlock(&x->mu);
			atomic_fetch_add(&x->bad, 1);
			return NULL;
		}
		double t1 = sys_now_s();
		bool ok = res.reason == DUX_SANDBOX_OK && res.out_len == strlen(x->input) &&
			  memcmp(res.out, x->input, res.out_len) == 0;
		if (!ok) {
			pthread_mutex_lock(&x->mu);
			snprintf(x->why, sizeof x->why, "sandbox run ended %s %s",
				 dux_sandbox_reason_name(res.reason), res.detail);
			pthread_mutex_unlock(&x->mu);
			atomic_fetch_add(&x->bad, 1);
		}
		double wall = (double)res.wall_us / 1e3;
		dux_sandbox_result_release(&res);
		if (!ok)
			return NULL;
		if (x->max_runs || (t1 >= x->warm_end && t1 <= x->end)) {
			pthread_mutex_lock(&x->mu);
			series_add(&x->ms, (t1 - now) * 1e3);
			series_add(&x->wall, wall);
			pthread_mutex_unlock(&x->mu);
		}
		if (x->gap_ms)
			usleep((useconds_t)x->gap_ms * 1000);
	}
	return NULL;
}

/* threads x back-to-back runs for the window (or max_runs on one thread); runs/s into rate. */
static bool sbx_reference(sbx_ref_t *x, int threads, const opts_t *o, double *rate)
{
	pthread_t th[SLOTS_MAX * 8];
	int n = 0;
	double t0 = sys_now_s();
	x->warm_end = t0 + o->warmup;
	x->end = x->warm_end + o->duration;
	if (threads > (int)(sizeof th / sizeof th[0]))
		return false;
	pthread_mutex_init(&x->mu, NULL);
	pthread_barrier_init(&x->go, NULL, (unsigned)threads);
	for (; n < threads; n++)
		if (pthread_create(&th[n], NULL, sbx_main, x) != 0)
			break;
	if (n < threads) { /* cannot happen short of memory: the others would wait forever */
		fprintf(stderr, PROG ": cannot start the reference's threads\n");
		exit(2);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&x->go);
	pthread_mutex_destroy(&x->mu);
	*rate = x->ms.n / o->duration;
	if (x->bad)
		printf("  INVALID: %s\n", x->why);
	return n == threads && !x->bad && x->ms.n > 0;
}

/* ---- the no-op runs ---- */

typedef struct {
	int slots;
	bool ran, valid;
	double rate, ref_rate, ref_p50, p50, p99, srv50, srv99, polls;
	double claim50, wall50;
} noop_fig_t;

static void comp_row(const char *name, series_t *s)
{
	printf("    %-52s p50 %7.2f  mean %7.2f  p99 %7.2f ms\n", name, quant(s, 0.5), mean(s),
	       quant(s, 0.99));
}

static bool noop_run(chain_t *c, const opts_t *o, int slots, noop_fig_t *f)
{
	memset(f, 0, sizeof *f);
	f->slots = slots;
	chain_knobs_t k = o->knobs;
	k.slots = slots;
	if (!chain_tasks_start(c, &k))
		return false;
	char desc[600];
	chain_describe(c, desc, sizeof desc);
	printf("\n[b] no-op tasks, tasks.executor_slots %d (load average %.2f)\n  %s\n", slots,
	       sys_loadavg(), desc);

	/* what the chain costs doing nothing (its jobs, the executor's waiting claims) */
	cpu_t i0, i1;
	cpu_read(c, &i0);
	sleep(2);
	cpu_read(c, &i1);
	char idle[300] = "";
	for (int i = 0; i < NAPPS && i0.have_app && i1.have_app; i++)
		snprintf(idle + strlen(idle), sizeof idle - strlen(idle), "%s%s %.3f", i ? ", " : "",
			 apps[i], bench_pgcpu_delta(&i0.app[i], &i1.app[i]) / (i1.t - i0.t));
	printf("  %-30s duxos-tasks %.3f cores, PostgreSQL %.3f (its backends of %s), over %.1f s "
	       "with no work\n", "idle chain", (i1.tasks - i0.tasks) / (i1.t - i0.t),
	       (i1.pg - i0.pg) / (i1.t - i0.t), idle, i1.t - i0.t);

	/* the reference: the same sandbox, as many at once as there are slots */
	sbx_ref_t ref = {.c = c, .code = "true", .input = ""};
	if (!sbx_reference(&ref, slots, o, &f->ref_rate)) {
		free(ref.ms.v);
		return true;
	}
	f->ref_p50 = quant(&ref.ms, 0.5);
	printf("  %-30s %.1f runs/s by %d threads back to back, start-to-exit p50 %.2f ms, p99 "
	       "%.2f ms, usage.wall_us p50 %.2f ms (dux_sandbox_run of bash \"true\" in this "
	       "process, the executor's spec)\n",
	       "reference: the sandbox alone", f->ref_rate, slots, f->ref_p50, quant(&ref.ms, 0.99),
	       quant(&ref.wall, 0.5));
	free(ref.ms.v);
	free(ref.wall.v);

	run_t x = {.c = c, .o = o};
	pthread_mutex_init(&x.mu, NULL);
	double t0 = sys_now_s();
	x.warm_end = t0 + o->warmup;
	x.end = x.warm_end + o->duration;
	cpu_t u0 = {0}, u1 = {0};
	pthread_t th[CLIENTS_MAX];
	int n = 0;
	for (; n < o->clients; n++)
		if (pthread_create(&th[n], NULL, client_main, &x) != 0)
			break;
	double now = sys_now_s();
	if (x.warm_end > now)
		usleep((useconds_t)((x.warm_end - now) * 1e6));
	cpu_read(c, &u0);
	long long g0 = atomic_load(&x.gets);
	now = sys_now_s();
	if (x.end > now)
		usleep((useconds_t)((x.end - now) * 1e6));
	cpu_read(c, &u1);
	long long g1 = atomic_load(&x.gets);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&x.mu);
	f->ran = true;
	f->valid = n == o->clients && !x.bad && x.nrec > 0;

	series_t cl = {0}, srv = {0}, c2t = {0}, queue = {0}, claim = {0}, wall = {0}, out = {0},
		 end = {0}, polls = {0};
	for (int i = 0; i < x.nrec; i++) {
		const rec_t *r = &x.recs[i];
		series_add(&cl, r->recv - r->send);
		series_add(&srv, r->finished - r->created);
		series_add(&c2t, r->created - r->send);
		series_add(&queue, r->offered - r->created);
		series_add(&claim, r->started - r->offered);
		series_add(&wall, r->wall_ms);
		series_add(&out, r->afinished - r->started - r->wall_ms);
		series_add(&end, r->recv - r->finished);
		series_add(&polls, r->polls);
	}
	f->rate = x.nrec / o->duration;
	f->p50 = quant(&cl, 0.5), f->p99 = quant(&cl, 0.99);
	f->srv50 = quant(&srv, 0.5), f->srv99 = quant(&srv, 0.99);
	f->polls = mean(&polls);
	f->claim50 = quant(&claim, 0.5), f->wall50 = quant(&wall, 0.5);
	printf("  %-30s %.1f tasks/s by %d clients (%d ended in the %g s window), %.2f x the "
	       "sandbox alone\n",
	       "no-op tasks", f->rate, o->clients, x.nrec, o->duration,
	       f->ref_rate > 0 ? f->rate / f->ref_rate : 0);
	printf("  %-30s p50 %.1f ms, p99 %.1f ms as the client saw it (polling every %d ms, %.1f "
	       "GETs per task, %.0f GET/s); created_at to finished_at p50 %.1f ms, p99 %.1f ms\n",
	       "submit to end", f->p50, f->p99, o->poll_ms, f->polls,
	       (double)(g1 - g0) / (u1.t - u0.t), f->srv50, f->srv99);
	printf("  where a task's time goes (the task's timestamps, ms resolution, against this "
	       "process's clock):\n");
	comp_row("POST sent -> created_at (request, insert)", &c2t);
	comp_row("created_at -> offered_at (node chosen, same tx)", &queue);
	comp_row("offered_at -> attempt started_at (queue, claim)", &claim);
	comp_row("usage.wall_us (the sandbox)", &wall);
	comp_row("started_at -> finished_at less the sandbox", &out);
	comp_row("finished_at -> seen by the client (poll)", &end);
	cpu_print(&u0, &u1, x.nrec, "CPU per task");
	if (x.bad)
		printf("  INVALID: %d failures; first: %s\n", atomic_load(&x.bad), x.first_bad);
	free(cl.v), free(srv.v), free(c2t.v), free(queue.v), free(claim.v), free(wall.v);
	free(out.v), free(end.v), free(polls.v);
	free(x.recs);
	return true;
}

/* ---- the paid calls ---- */

typedef struct {
	bool ran, valid;
	int callers, n;
	double p50, p99, mean, rel50, rel99, rel_max;
	int released;
} call_fig_t;

/* GET /v1/escrow/{id} as admin until each is released (30 s at most); the time from the call
 * to the escrow's finished_at into rel. */
static int escrows_released(const chain_t *c, const run_t *x, series_t *rel, char *why,
			    size_t len)
{
	int released = 0;
	double until = sys_now_s() + 30;
	for (int i = 0; i < x->nrec; i++) {
		const rec_t *r = &x->recs[i];
		char path[96], *text = NULL;
		snprintf(path, sizeof path, "/v1/escrow/%s", r->escrow);
		for (;;) {
			int st = bench_call(c->escrow.port, "GET", path, c->admin, NULL, &text);
			cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
			const char *status = jstr(j, "status");
			if (!strcmp(status, "released")) {
				if (strcmp(jstr(j, "result_hash"), r->hash) != 0) {
					if (!*why)
						snprintf(why, len, "escrow %s released with %s, the task's "
							 "result_hash is %s", r->escrow,
							 jstr(j, "result_hash"), r->hash);
				} else {
					released++;
					series_add(rel, ts_ms(jstr(j, "finished_at")) - r->send);
				}
				cJSON_Delete(j);
				free(text);
				break;
			}
			bool pending = !strcmp(status, "held") || !strcmp(status, "releasing");
			if (sys_now_s() > until || (j && !pending)) {
				if (!*why)
					snprintf(why, len, "escrow %s is %s (answer %d)", r->escrow,
						 j ? status : "unreadable", st);
				cJSON_Delete(j);
				free(text);
				break;
			}
			cJSON_Delete(j);
			free(text);
			text = NULL;
			usleep(20000);
		}
	}
	return released;
}

static bool call_run(chain_t *c, const opts_t *o, int callers, int count, int warm,
		     call_fig_t *f, int *made)
{
	memset(f, 0, sizeof *f);
	f->callers = callers;
	char path[64];
	snprintf(path, sizeof path, "/v1/calls?wait=10000");
	printf("\n[%c] paid calls, %d caller%s at once (load average %.2f)\n", callers == 1 ? 'c' : 'd',
	       callers, callers == 1 ? "" : "s", sys_loadavg());
	if (warm > 0) { /* not counted; checked */
		run_t w = {.c = c, .o = o, .calls = true, .total = warm, .path = path};
		pthread_mutex_init(&w.mu, NULL);
		run_clients(&w, 1);
		pthread_mutex_destroy(&w.mu);
		*made += w.nrec;
		free(w.recs);
		if (w.bad) {
			printf("  INVALID (warm-up): %s\n", w.first_bad);
			f->ran = true;
			return true;
		}
	}
	run_t x = {.c = c, .o = o, .calls = true, .total = count, .path = path};
	pthread_mutex_init(&x.mu, NULL);
	cpu_t u0, u1;
	cpu_read(c, &u0);
	bool started = run_clients(&x, callers);
	cpu_read(c, &u1);
	pthread_mutex_destroy(&x.mu);
	*made += x.nrec;
	f->ran = true;
	f->n = x.nrec;
	double wall = u1.t - u0.t;
	series_t lat = {0}, c2t = {0}, hold = {0}, claim = {0}, sbx = {0}, out = {0}, ans = {0};
	for (int i = 0; i < x.nrec; i++) {
		const rec_t *r = &x.recs[i];
		series_add(&lat, r->recv - r->send);
		series_add(&c2t, r->created - r->send);
		series_add(&hold, r->offered - r->created);
		series_add(&claim, r->started - r->offered);
		series_add(&sbx, r->wall_ms);
		series_add(&out, r->afinished - r->started - r->wall_ms);
		series_add(&ans, r->recv - r->afinished);
	}
	f->p50 = quant(&lat, 0.5), f->p99 = quant(&lat, 0.99), f->mean = mean(&lat);
	printf("  %-30s %d calls in %.1f s (%.1f calls/s): p50 %.1f ms, p99 %.1f ms, mean %.1f ms "
	       "(POST /v1/calls?wait=10000 to its answer, output checked)\n",
	       "call latency", x.nrec, wall, x.nrec / wall, f->p50, f->p99, f->mean);
	printf("  where a call's time goes (the task's timestamps, ms resolution, against this "
	       "process's clock):\n");
	comp_row("POST sent -> created_at (auth, store GET service)", &c2t);
	comp_row("created_at -> offered_at (escrow create, queued)", &hold);
	comp_row("offered_at -> attempt started_at (wake, claim)", &claim);
	comp_row("usage.wall_us (the sandbox: bash `cat`)", &sbx);
	comp_row("started_at -> finished_at less the sandbox", &out);
	comp_row("attempt finished_at -> answer received", &ans);
	cpu_print(&u0, &u1, x.nrec, "CPU per call");
	char why[600] = "";
	series_t rel = {0};
	f->released = escrows_released(c, &x, &rel, why, sizeof why);
	f->rel50 = quant(&rel, 0.5), f->rel99 = quant(&rel, 0.99), f->rel_max = quant(&rel, 1.0);
	printf("  %-30s %d of %d released with the task's result_hash; call sent -> escrow "
	       "finished_at p50 %.0f ms, p99 %.0f ms, max %.0f ms (the settle job runs every 500 ms)\n",
	       "escrows", f->released, x.nrec, f->rel50, f->rel99, f->rel_max);
	f->valid = started && !x.bad && x.nrec == count && f->released == x.nrec;
	if (x.bad)
		printf("  INVALID: %d failures; first: %s\n", atomic_load(&x.bad), x.first_bad);
	if (*why)
		printf("  INVALID: %s\n", why);
	free(lat.v), free(c2t.v), free(hold.v), free(claim.v), free(sbx.v), free(out.v);
	free(ans.v), free(rel.v);
	free(x.recs);
	return true;
}

/* The user paid made x price, the provider received made x its share, nothing is held, the
 * ledger holds. */
static bool money_check(const chain_t *c, int64_t user0, int64_t prov0, int made,
			int64_t price)
{
	int64_t ub, uh, pb, ph;
	bench_ledger_t lg = {0};
	if (!chain_balance(c, c->user, &ub, &uh) || !chain_balance(c, c->provider, &pb, &ph))
		return false;
	int64_t share = price - price * 500 / 10000; /* escrow.community_bps 500, its default */
	bool ok = user0 - ub == (int64_t)made * price && uh == 0 &&
		  pb - prov0 == (int64_t)made * share && ph == 0;
	bool ledger = bench_ledger_check(c->wallet.port, c->admin, &lg) && lg.holds &&
		      lg.pending == 0;
	printf("  %-30s user paid %.8f FLOP = %d calls x %.8f, provider received %.8f = %d x "
	       "%.8f, nothing held: %s; wallet ledger check holds, %lld pending: %s\n",
	       "money", (double)(user0 - ub) / 1e8, made, (double)price / 1e8,
	       (double)(pb - prov0) / 1e8, made, (double)share / 1e8, ok ? "match" : "MISMATCH",
	       lg.pending, ledger ? "ok" : "NOT OK");
	return ok && ledger;
}

int main(int argc, char **argv)
{
	opts_t o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, PROG ": needs root (the sandbox: cgroups, mounts, namespaces)\n");
		return 2;
	}
	int64_t price;
	if (dux_money_parse(o.price, strlen(o.price), false, &price) < 0 || price <= 0) {
		fprintf(stderr, PROG ": --price: not an amount of FLOP\n");
		return 2;
	}
	bench_guard_install();
	srand((unsigned)time(NULL));
	bench_cluster_t cl;
	if (!bench_cluster_load(o.pg_dir, &cl))
		return 2;
	if (!o.no_pgbench && access(o.pgbench, X_OK) != 0) {
		fprintf(stderr, PROG ": %s is not an executable (or give --no-pgbench)\n", o.pgbench);
		return 2;
	}
	char cpu[300];
	bench_header("duxos-tasks", cpu, sizeof cpu);
	printf("the chain: duxos-registry, -wallet, -escrow, -store and -tasks (role both: its "
	       "executor is the only node, registered on the provider's wallet, trusting the "
	       "provider's bundle key) as child processes on one fresh database %s, log.level warn, "
	       "their defaults otherwise; every task runs in the native sandbox.\n", CHAIN_DB);
	printf("NOTE: the clients, the five daemons, the sandboxes and PostgreSQL share the %ld "
	       "CPUs.\n", sysconf(_SC_NPROCESSORS_ONLN));

	/* a. pgbench, first, on the machine alone */
	double tps = -1;
	if (!o.no_pgbench) {
		bench_pgbench_result_t pgr = {0};
		char pgcmd[200] = "";
		bench_pgbench_t pgb = {.pgbench = o.pgbench, .db = PGBENCH_DB, .scale = 8,
				       .clients = o.clients, .secs = (int)(o.duration + 0.5)};
		printf("\n[a] reference: pgbench TPC-B on the same PostgreSQL (load average %.2f)\n",
		       sys_loadavg());
		if (!bench_pgbench(&cl, &pgb, &pgr, pgcmd, sizeof pgcmd))
			return 2;
		tps = pgr.tps;
		printf("  %-30s %.0f tps, latency average %.3f ms, PostgreSQL CPU %.3f ms per "
		       "transaction (%s)\n", "pgbench TPC-B", tps, pgr.lat_ms,
		       pgr.wall_s > 0 && tps > 0 ? pgr.pg_cpu_s / (tps * pgr.wall_s) * 1e3 : 0, pgcmd);
	}

	chain_t c;
	int rc = 0;
	if (!chain_start(&c, o.bindir, &cl, 100000, o.price)) {
		chain_stop(&c, true);
		return 2;
	}
	printf("\nset-up: service %s at %s FLOP by the provider, the user's account funded with "
	       "100000 FLOP, node %s on the provider's wallet\n", c.svc, o.price, c.node.id);

	noop_fig_t nf[SLOTS_MAX];
	int nnf = 0;
	for (int i = 0; i < o.nslots; i++) {
		if (!noop_run(&c, &o, o.slots[i], &nf[nnf])) {
			chain_stop(&c, true);
			return 2;
		}
		if (!nf[nnf].valid)
			rc = 1;
		nnf++;
	}

	/* c, d. paid calls */
	chain_knobs_t k = o.knobs;
	k.slots = o.call_slots;
	call_fig_t seq = {0}, par = {0};
	double sbx50 = NAN, sbx99 = NAN, sbx_paced50 = NAN;
	int made = 0;
	int64_t user0 = 0, prov0 = 0, h;
	bool money_ok = false;
	if (o.calls + o.ccalls > 0) {
		if (!chain_tasks_start(&c, &k) || !chain_put_bundle(&c, "1.0.0", CALL_CODE) ||
		    !chain_balance(&c, c.user, &user0, &h) || !chain_balance(&c, c.provider, &prov0, &h)) {
			chain_stop(&c, true);
			return 2;
		}
		char desc[600];
		chain_describe(&c, desc, sizeof desc);
		printf("\n[c/d] the bundle: bash `%s` (signed 1.0.0), input a unique line per call; %s\n",
		       CALL_CODE, desc);
		sbx_ref_t ref = {.c = &c, .code = CALL_CODE, .input = "bench call reference 1\n",
				 .max_runs = o.ref_runs};
		double r;
		if (sbx_reference(&ref, 1, &o, &r)) {
			sbx50 = quant(&ref.ms, 0.5), sbx99 = quant(&ref.ms, 0.99);
			printf("  %-30s start-to-exit p50 %.2f ms, p99 %.2f ms, usage.wall_us p50 %.2f ms, "
			       "over %d runs (dux_sandbox_run of the bundle in this process, one at a "
			       "time)\n",
			       "reference: the sandbox alone", sbx50, sbx99, quant(&ref.wall, 0.5),
			       ref.ms.n);
		} else {
			rc = 1;
		}
		free(ref.ms.v);
		free(ref.wall.v);
		/* the same at a call's pace: the machine idles between runs, as between calls */
		sbx_ref_t paced = {.c = &c, .code = CALL_CODE, .input = "bench call reference 1\n",
				   .max_runs = o.ref_runs, .gap_ms = 25};
		if (sbx_reference(&paced, 1, &o, &r)) {
			sbx_paced50 = quant(&paced.ms, 0.5);
			printf("  %-30s start-to-exit p50 %.2f ms, p99 %.2f ms, usage.wall_us p50 %.2f ms, "
			       "over %d runs, with a pause of %d ms after each\n",
			       "reference: ... at a call's pace", sbx_paced50, quant(&paced.ms, 0.99),
			       quant(&paced.wall, 0.5), paced.ms.n, paced.gap_ms);
		} else {
			rc = 1;
		}
		free(paced.ms.v);
		free(paced.wall.v);
		if (o.calls > 0) {
			call_run(&c, &o, 1, o.calls, o.call_warmup, &seq, &made);
			if (!seq.valid)
				rc = 1;
		}
		if (o.ccalls > 0) {
			call_run(&c, &o, o.callers, o.ccalls, 0, &par, &made);
			if (!par.valid)
				rc = 1;
		}
		printf("\n[e] checks after the calls\n");
		money_ok = money_check(&c, user0, prov0, made, price);
		if (!money_ok)
			rc = 1;
	}

	bool stopped = chain_stop(&c, o.keep_logs || rc != 0); /* an invalid run keeps its logs */
	if (!stopped)
		rc = 1;

	/* the summary */
	printf("\n== summary (no-op: %d clients, polling every %d ms; calls with "
	       "tasks.executor_slots %d) ==\n", o.clients, o.poll_ms, o.call_slots);
	bench_row("figure", "value", "reference (same run)", "ratio", "target", "verdict");
	char fig[64], val[64], ref[96], ratio[16];
	for (int i = 0; i < nnf; i++) {
		noop_fig_t *f = &nf[i];
		snprintf(fig, sizeof fig, "no-op tasks/s, %d slot%s", f->slots, f->slots == 1 ? "" : "s");
		if (!f->ran) {
			bench_row(fig, "(no figure)", "", "", "", "INVALID");
			continue;
		}
		snprintf(val, sizeof val, "%.1f /s", f->rate);
		snprintf(ref, sizeof ref, "sandbox alone x%d: %.1f /s", f->slots, f->ref_rate);
		snprintf(ratio, sizeof ratio, "%.2f", f->ref_rate > 0 ? f->rate / f->ref_rate : 0);
		bench_row(fig, val, ref, ratio, "", f->valid ? "" : "INVALID");
		snprintf(val, sizeof val, "%.1f / %.1f ms", f->p50, f->p99);
		snprintf(ref, sizeof ref, "created->finished %.1f / %.1f ms", f->srv50, f->srv99);
		bench_row("  submit-to-end p50/p99", val, ref, "", "", "");
	}
	if (tps > 0) {
		snprintf(val, sizeof val, "%.0f tps", tps);
		snprintf(ref, sizeof ref, "%d clients", o.clients);
		bench_row("pgbench TPC-B", val, ref, "", "", "");
	}
	call_fig_t *cf[] = {&seq, &par};
	for (int i = 0; i < 2; i++) {
		call_fig_t *f = cf[i];
		if (!f->ran)
			continue;
		snprintf(fig, sizeof fig, "paid call p50, %d caller%s", f->callers,
			 f->callers == 1 ? "" : "s");
		snprintf(val, sizeof val, "%.1f ms", f->p50);
		snprintf(ref, sizeof ref, "sandbox alone p50 %.2f (paced %.2f) ms", sbx50, sbx_paced50);
		snprintf(ratio, sizeof ratio, "%.1f", f->p50 / sbx50);
		bench_row(fig, val, ref, ratio, "< 25 ms",
			  !f->valid ? "INVALID" : f->p50 < 25 ? "PASS" : "MISS");
		snprintf(val, sizeof val, "%.1f ms", f->p99);
		snprintf(ref, sizeof ref, "sandbox alone p99 %.2f ms", sbx99);
		bench_row("  p99", val, ref, "", "", "");
		snprintf(val, sizeof val, "%.0f / %.0f ms", f->rel50, f->rel99);
		snprintf(ref, sizeof ref, "%d of %d released", f->released, f->n);
		bench_row("  call to escrow released p50/p99", val, ref, "", "", "");
	}
	if (made)
		bench_row("money and ledger", money_ok ? "add up" : "DO NOT ADD UP", "", "", "",
			  money_ok ? "" : "INVALID");
	bench_footer(cpu);
	printf("load average after the run: %.2f\n", sys_loadavg());
	printf("run %s.\n", rc == 0 ? "VALID (every task succeeded with the expected output, every "
				      "escrow released with its task's result_hash, the money adds "
				      "up, every daemon stopped cleanly)"
				    : "INVALID: see the failures above");
	return rc;
}
