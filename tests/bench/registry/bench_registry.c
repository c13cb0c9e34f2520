/* bench_registry.c - how fast duxos-registry serves, against references measured in the same
 * run on the same machine:
 *
 *   GET /v1/nodes/{id}     requests/s, p50/p99   vs a libmicrohttpd hello-world with the
 *                                                  daemons' flags (a thread per connection),
 *                                                  and vs the former epoll pool of 2 threads
 *   signed heartbeats/s   from N simulated nodes vs pgbench TPC-B on the same PostgreSQL
 *   RSS when idle          after start-up and after the load
 *
 * The daemon runs as a child process with a generated configuration, over a database of its
 * own in the PostgreSQL cluster given (made by deploy/local/pgctl.sh). Run it through
 * tests/bench/registry/run.sh, which builds a release tree and makes the cluster.
 *
 * Exit status: 0 when the run is valid, whatever the figures; 1 when it is not (transport
 * errors, a non-200 answer, a daemon that failed); 2 on bad usage or a set-up failure. */
#include "harness.h"
#include "hello.h"
#include "loadgen.h"
#include "sys.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <dux/json.h>
#include <dux/sign.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGET_GET_RATIO 0.50
#define TARGET_HB_RATE 5000.0
#define TARGET_RSS_KIB (16 * 1024)
#define REGISTRY_DB "bench_registry"
#define PGBENCH_DB "bench_pgbench"

/* ---- options ---- */

typedef struct {
	const char *pg_dir, *registry, *pgbench;
	double duration, warmup;
	int nodes, conns, lg_threads;
	int pool_size; /* the registry's db.pool_size */
	int ref_pool;  /* event loops of the stricter hello-world reference */
	int pgbench_scale, pgbench_clients;
	bool no_pgbench;
	int presign; /* heartbeats signed before the measured window; 0 = sign in the send loop */
	bool keep_logs;
} opts_t;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bench_registry --pg-dir DIR --registry PATH [--pgbench PATH] [options]\n"
		"\n"
		"  --pg-dir DIR         cluster made by deploy/local/pgctl.sh init DIR\n"
		"  --registry PATH      the duxos-registry binary (a release build)\n"
		"  --pgbench PATH       pgbench (default /usr/lib/postgresql/15/bin/pgbench)\n"
		"  --duration S         measured seconds per figure (default 10)\n"
		"  --warmup S           seconds of warm-up not counted (default 1)\n"
		"  --nodes N            simulated nodes (default 1000)\n"
		"  --conns N            keep-alive connections of the load generator (default 8)\n"
		"  --lg-threads N       load-generator threads the connections share (default 2)\n"
		"  --pool-size N        the registry's db.pool_size (default 8, its own default)\n"
		"  --ref-pool N         event loops of the stricter hello-world reference (epoll,\n"
		"                       thread pool; default 2)\n"
		"  --pgbench-scale N    pgbench -i -s N (default 8)\n"
		"  --pgbench-clients N  pgbench -c N (default 8)\n"
		"  --presign N          heartbeats signed ahead of each run (default 150000; when they\n"
		"                       run out, the generator signs in its loop); 0 = always sign in\n"
		"                       the loop, as a node would, at the cost of generator CPU\n"
		"  --no-pgbench         skip the pgbench reference (quick comparisons)\n"
		"  --keep-logs          keep the registry's logs and configs in the work directory\n");
}

static bool parse_int(const char *s, int min, int max, int *ret)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < min || v > max)
		return false;
	*ret = (int)v;
	return true;
}

static bool parse_secs(const char *s, double min, double *ret)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !(v >= min) || v > 3600)
		return false;
	*ret = v;
	return true;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	enum { O_PG = 1, O_REG, O_PGB, O_DUR, O_WARM, O_NODES, O_CONNS, O_LGT, O_POOL, O_REFPOOL, O_SCALE,
	       O_PGC, O_KEEP, O_PRESIGN, O_NOPGB, O_HELP };
	static const struct option lo[] = {
		{"pg-dir", required_argument, NULL, O_PG},
		{"registry", required_argument, NULL, O_REG},
		{"pgbench", required_argument, NULL, O_PGB},
		{"duration", required_argument, NULL, O_DUR},
		{"warmup", required_argument, NULL, O_WARM},
		{"nodes", required_argument, NULL, O_NODES},
		{"conns", required_argument, NULL, O_CONNS},
		{"lg-threads", required_argument, NULL, O_LGT},
		{"pool-size", required_argument, NULL, O_POOL},
		{"ref-pool", required_argument, NULL, O_REFPOOL},
		{"pgbench-scale", required_argument, NULL, O_SCALE},
		{"pgbench-clients", required_argument, NULL, O_PGC},
		{"keep-logs", no_argument, NULL, O_KEEP},
		{"presign", required_argument, NULL, O_PRESIGN},
		{"no-pgbench", no_argument, NULL, O_NOPGB},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	*o = (opts_t){.pgbench = "/usr/lib/postgresql/15/bin/pgbench", .duration = 10, .warmup = 1,
		      .nodes = 1000, .conns = 8, .lg_threads = 2, .pool_size = 8, .ref_pool = 2,
		      .pgbench_scale = 8, .pgbench_clients = 8,
		      .presign = 150000};
	int c;
	bool ok = true;
	while (ok && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PG: o->pg_dir = optarg; break;
		case O_REG: o->registry = optarg; break;
		case O_PGB: o->pgbench = optarg; break;
		case O_DUR: ok = parse_secs(optarg, 1, &o->duration); break;
		case O_WARM: ok = parse_secs(optarg, 0, &o->warmup); break;
		case O_NODES: ok = parse_int(optarg, 1, 1000000, &o->nodes); break;
		case O_CONNS: ok = parse_int(optarg, 1, 1000, &o->conns); break;
		case O_LGT: ok = parse_int(optarg, 1, 64, &o->lg_threads); break;
		case O_POOL: ok = parse_int(optarg, 1, 256, &o->pool_size); break;
		case O_REFPOOL: ok = parse_int(optarg, 1, 64, &o->ref_pool); break;
		case O_SCALE: ok = parse_int(optarg, 1, 1000, &o->pgbench_scale); break;
		case O_PGC: ok = parse_int(optarg, 1, 100, &o->pgbench_clients); break;
		case O_KEEP: o->keep_logs = true; break;
		case O_NOPGB: o->no_pgbench = true; break;
		case O_PRESIGN: ok = parse_int(optarg, 0, 10000000, &o->presign); break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: ok = false;
		}
	}
	if (!ok || optind < argc || !o->pg_dir || !o->registry) {
		usage(stderr);
		return -1;
	}
	if (o->nodes < o->conns) {
		/* each connection owns its nodes, so that their counters stay in order */
		fprintf(stderr, "bench_registry: --nodes must be at least --conns (%d)\n", o->conns);
		return -1;
	}
	if (o->lg_threads > o->conns)
		o->lg_threads = o->conns;
	return 0;
}

/* ---- the cluster ---- */

typedef struct {
	char dir[256];
	int port;
	char conninfo[512];     /* the app role, database duxos */
	char password_file[300];
	char password[128];
	char super[600];        /* superuser over the unix socket */
	pid_t postmaster;
} cluster_t;

static bool cluster_load(const char *dir, cluster_t *cl)
{
	char env[300], port[16], path[300];
	snprintf(cl->dir, sizeof cl->dir, "%s", dir);
	snprintf(env, sizeof env, "%s/env", dir);
	if (!th_env_value(env, "DUX_PG_PORT", port, sizeof port) ||
	    !th_env_value(env, "DUX_PG_CONNINFO", cl->conninfo, sizeof cl->conninfo) ||
	    !th_env_value(env, "DUX_PG_PASSWORD_FILE", cl->password_file, sizeof cl->password_file)) {
		fprintf(stderr, "bench_registry: cannot read %s (made by pgctl.sh init)\n", env);
		return false;
	}
	cl->port = (int)strtol(port, NULL, 10);
	FILE *f = fopen(cl->password_file, "r");
	if (!f || !fgets(cl->password, sizeof cl->password, f)) {
		fprintf(stderr, "bench_registry: cannot read %s\n", cl->password_file);
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
		fprintf(stderr, "bench_registry: no running PostgreSQL in %s\n", dir);
		return false;
	}
	return true;
}

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Runs SQL as the superuser in database db; prints the error and returns false on failure.
 * When ret is given, the first value of the first row is copied into it. */
static bool super_sql(const cluster_t *cl, const char *db, const char *sql, char *ret,
		      size_t len)
{
	char ci[700];
	snprintf(ci, sizeof ci, "%s", cl->super);
	char *d = strstr(ci, "dbname=postgres");
	if (d && db)
		snprintf(d, sizeof ci - (size_t)(d - ci), "dbname=%s user=postgres", db);
	PGconn *c = PQconnectdb(ci);
	bool ok = PQstatus(c) == CONNECTION_OK;
	if (ok)
		PQsetNoticeProcessor(c, quiet_notice, NULL);
	PGresult *res = ok ? PQexec(c, sql) : NULL;
	ok = ok && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok)
		fprintf(stderr, "bench_registry: SQL failed (%s): %s\n", sql, PQerrorMessage(c));
	if (ok && ret)
		snprintf(ret, len, "%s",
			 PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	PQfinish(c);
	return ok;
}

static bool fresh_db(const cluster_t *cl, const char *name)
{
	char sql[200];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	if (!super_sql(cl, NULL, sql, NULL, 0))
		return false;
	snprintf(sql, sizeof sql, "CREATE DATABASE %s OWNER duxos", name);
	return super_sql(cl, NULL, sql, NULL, 0);
}

/* The app conninfo with another database. */
static void conninfo_for(const cluster_t *cl, const char *db, char *out, size_t len)
{
	char base[512];
	snprintf(base, sizeof base, "%s", cl->conninfo);
	char *d = strstr(base, "dbname=");
	const char *rest = d ? strchr(d, ' ') : NULL;
	if (d)
		*d = '\0';
	snprintf(out, len, "%sdbname=%s%s", base, db, rest ? rest : "");
}

/* ---- simulated nodes ---- */

typedef struct {
	dux_key_t *key;
	char id[DUX_NODE_ID_LEN + 1];
	char pub_b64[48];
	char wallet[DUX_ADDRESS_MAX];
	int64_t last_counter;
} node_t;

static int64_t unix_ms(void)
{
	return dux_now_us() / 1000;
}

static int64_t node_counter(node_t *n)
{
	int64_t c = unix_ms();
	if (c <= n->last_counter)
		c = n->last_counter + 1;
	n->last_counter = c;
	return c;
}

/* A signed request from node n; -1 when it does not fit or signing fails. */
static int signed_request(node_t *n, const char *method, const char *path, const char *body,
			  char *buf, size_t cap)
{
	char sig[DUX_SIG_B64_LEN + 1], hdr[512];
	int64_t counter = node_counter(n);
	if (dux_sign_request(n->key, method, path, n->id, counter, body, body ? strlen(body) : 0,
			     sig) < 0)
		return -1;
	snprintf(hdr, sizeof hdr, "%s: %s\r\n%s: %lld\r\n%s: %s\r\n", DUX_HDR_NODE, n->id,
		 DUX_HDR_COUNTER, (long long)counter, DUX_HDR_SIGNATURE, sig);
	return lg_format(buf, cap, method, path, hdr, body);
}

/* Each node gets its own Ed25519 identity and a mainnet payout address. The address is the
 * Base58Check of a random 160-bit hash (version byte 35, "F"): as valid as any to the registry,
 * which never needs its private key. */
static bool nodes_make(node_t *nodes, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t pub[DUX_ED25519_PUB_LEN], h160[20];
		dux_random_bytes(h160, sizeof h160);
		if (dux_key_generate(&nodes[i].key) < 0 || dux_key_public(nodes[i].key, pub) < 0 ||
		    dux_base58check_encode(35, h160, sizeof h160, nodes[i].wallet,
					   sizeof nodes[i].wallet) < 0) {
			fprintf(stderr, "bench_registry: cannot make node keys\n");
			return false;
		}
		dux_node_id(pub, nodes[i].id);
		dux_b64url_encode(pub, sizeof pub, nodes[i].pub_b64);
	}
	return true;
}

static int register_body(const node_t *n, int i, char *out, size_t len)
{
	return snprintf(out, len,
			"{\"public_key\":\"%s\",\"wallet_address\":\"%s\",\"ip_address\":"
			"\"10.%d.%d.%d\",\"port\":%d,\"capabilities\":[\"task_execution\","
			"\"storage\"],\"resources\":{\"cpu_cores\":%d,\"memory_mb\":%d,"
			"\"disk_mb\":%d}}",
			n->pub_b64, n->wallet, (i >> 16) & 255, (i >> 8) & 255, i & 255,
			8000 + i % 1000, 2 + i % 31, 2048 + 1024 * (i % 32), 100000 + i);
}

typedef struct {
	node_t *nodes;
	int n, nthreads, port;
	atomic_int failures;
	pthread_t th[16];
	int idx[16];
} reg_job_t;

typedef struct {
	reg_job_t *job;
	int t;
} reg_arg_t;

static void *register_thread(void *arg)
{
	reg_arg_t *a = arg;
	reg_job_t *j = a->job;
	lg_sync_t *s = lg_sync_open("127.0.0.1", j->port);
	for (int i = a->t; s && i < j->n; i += j->nthreads) {
		char body[512], req[LG_REQ_MAX];
		const char *resp;
		register_body(&j->nodes[i], i, body, sizeof body);
		int len = signed_request(&j->nodes[i], "POST", "/v1/nodes/register", body, req,
					 sizeof req);
		int st = len > 0 ? lg_sync_do(s, req, (size_t)len, &resp, NULL) : -1;
		if (st != 201) {
			if (atomic_fetch_add(&j->failures, 1) == 0)
				fprintf(stderr, "bench_registry: registration answered %d: %.300s\n", st,
					st > 0 ? resp : "(no answer)");
		}
	}
	if (!s)
		atomic_fetch_add(&j->failures, 1);
	lg_sync_close(s);
	return NULL;
}

/* Registers every node, signed, over nthreads parallel keep-alive connections. */
static bool nodes_register(node_t *nodes, int n, int port, int nthreads, double *ret_rate)
{
	reg_job_t j = {.nodes = nodes, .n = n, .nthreads = nthreads > 16 ? 16 : nthreads,
		       .port = port};
	reg_arg_t args[16];
	double t0 = sys_now_s();
	for (int t = 0; t < j.nthreads; t++) {
		args[t] = (reg_arg_t){&j, t};
		pthread_create(&j.th[t], NULL, register_thread, &args[t]);
	}
	for (int t = 0; t < j.nthreads; t++)
		pthread_join(j.th[t], NULL);
	*ret_rate = n / (sys_now_s() - t0);
	return atomic_load(&j.failures) == 0;
}

/* ---- request makers for the load generator ---- */

/* Heartbeats signed ahead for one connection, sent in order. */
typedef struct {
	char *arena;
	size_t *off; /* request i is arena[off[i] .. off[i+1]) */
	int count, next;
} presigned_t;

typedef struct {
	node_t *nodes;
	int n, conns;
	int *cursor;        /* per connection */
	presigned_t *pre;   /* per connection; NULL when signing in the loop */
	atomic_llong inline_signed; /* heartbeats signed in the send loop */
} mk_t;

/* Connection c cycles through nodes c, c+conns, c+2*conns, ...: no node is ever used by two
 * connections, so each node's counters stay strictly increasing. */
static node_t *mk_next(mk_t *m, int c)
{
	int per = (m->n - c + m->conns - 1) / m->conns; /* >= 1: nodes >= conns */
	int k = m->cursor[c]++ % per;
	return &m->nodes[c + k * m->conns];
}

static int make_get(void *ctx, int c, char *buf, size_t cap)
{
	mk_t *m = ctx;
	char path[64];
	snprintf(path, sizeof path, "/v1/nodes/%s", mk_next(m, c)->id);
	return lg_format(buf, cap, "GET", path, NULL, NULL);
}

static int sign_heartbeat(mk_t *m, int c, char *buf, size_t cap)
{
	node_t *n = mk_next(m, c);
	char path[80], body[200];
	snprintf(path, sizeof path, "/v1/nodes/%s/heartbeat", n->id);
	int64_t ms = unix_ms();
	snprintf(body, sizeof body,
		 "{\"load_average\":[%.2f,%.2f,%.2f],\"available_memory\":%lld,"
		 "\"available_cpu\":%.2f,\"uptime\":%lld}",
		 (double)(ms % 400) / 100, (double)(ms % 300) / 100, (double)(ms % 200) / 100,
		 (long long)(4294967296LL + ms % 1000000), (double)(ms % 800) / 100,
		 (long long)(ms / 1000 % 10000000));
	return signed_request(n, "POST", path, body, buf, cap);
}

static int make_heartbeat(void *ctx, int c, char *buf, size_t cap)
{
	mk_t *m = ctx;
	presigned_t *p = m->pre ? &m->pre[c] : NULL;
	if (p && p->next < p->count) {
		size_t len = p->off[p->next + 1] - p->off[p->next];
		p->next++;
		if (len > cap)
			return -1;
		memcpy(buf, p->arena + p->off[p->next - 1], len);
		return (int)len;
	}
	atomic_fetch_add(&m->inline_signed, 1);
	return sign_heartbeat(m, c, buf, cap);
}

typedef struct {
	mk_t *m;
	int first, step, per;
	bool ok;
} presign_job_t;

static void *presign_thread(void *arg)
{
	presign_job_t *j = arg;
	j->ok = true;
	for (int c = j->first; c < j->m->conns && j->ok; c += j->step) {
		presigned_t *p = &j->m->pre[c];
		char req[LG_REQ_MAX];
		size_t used = 0, cap = (size_t)j->per * 640 + LG_REQ_MAX;
		p->arena = malloc(cap);
		p->off = malloc(((size_t)j->per + 1) * sizeof *p->off);
		p->count = p->next = 0;
		if (!p->arena || !p->off) {
			j->ok = false;
			break;
		}
		p->off[0] = 0;
		for (int i = 0; i < j->per; i++) {
			int len = sign_heartbeat(j->m, c, req, sizeof req);
			if (len < 0) {
				j->ok = false;
				break;
			}
			if (used + (size_t)len > cap) {
				char *na = realloc(p->arena, cap * 2);
				if (!na) {
					j->ok = false;
					break;
				}
				p->arena = na;
				cap *= 2;
			}
			memcpy(p->arena + used, req, (size_t)len);
			used += (size_t)len;
			p->off[++p->count] = used;
		}
	}
	return NULL;
}

static void presign_free(mk_t *m)
{
	for (int c = 0; m->pre && c < m->conns; c++) {
		free(m->pre[c].arena);
		free(m->pre[c].off);
	}
	free(m->pre);
	m->pre = NULL;
}

/* Signs total heartbeats ahead, spread over the connections, on every CPU; the counters are
 * those the nodes would use (unix ms, strictly increasing), so they stay inside the
 * registry's replay window for minutes. */
static bool presign(mk_t *m, int total, double *ret_secs)
{
	presign_free(m);
	atomic_store(&m->inline_signed, 0);
	if (total <= 0)
		return true;
	m->pre = calloc((size_t)m->conns, sizeof *m->pre);
	if (!m->pre)
		return false;
	int nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
	nt = nt < 1 ? 1 : nt > 16 ? 16 : nt;
	pthread_t th[16];
	presign_job_t jobs[16];
	double t0 = sys_now_s();
	for (int t = 0; t < nt; t++) {
		jobs[t] = (presign_job_t){.m = m, .first = t, .step = nt,
					  .per = (total + m->conns - 1) / m->conns};
		pthread_create(&th[t], NULL, presign_thread, &jobs[t]);
	}
	bool ok = true;
	for (int t = 0; t < nt; t++) {
		pthread_join(th[t], NULL);
		ok = ok && jobs[t].ok;
	}
	*ret_secs = sys_now_s() - t0;
	return ok;
}

static int make_hello(void *ctx, int c, char *buf, size_t cap)
{
	(void)ctx;
	(void)c;
	return lg_format(buf, cap, "GET", "/", NULL, NULL);
}

/* ---- one measured run ---- */

#define MAX_THREADS 256

typedef struct {
	lg_result_t *r;
	double rate, p50, p99, p999;
	char workers[200]; /* CPU of each HTTP thread of the server (connection threads or event
			    * loops, not the listener), busiest first */
	double cpu_gen, cpu_server, cpu_pg, wall; /* CPU seconds during the run; wall seconds */
	uint64_t non200;
	bool valid;
} run_t;

typedef struct {
	pid_t pid;
	int n;
	sys_thread_t th[MAX_THREADS];
} thread_snap_t;

static void snap_threads(void *arg)
{
	thread_snap_t *s = arg;
	s->n = sys_threads(s->pid, s->th, MAX_THREADS);
}

/* The CPU share of each HTTP thread (MHD-connection or MHD-worker, not MHD-listen) between two
 * snapshots, busiest first. */
static void worker_shares(const thread_snap_t *a, const thread_snap_t *b, double wall, char *out,
			  size_t len)
{
	double busy[MAX_THREADS];
	int nb = 0;
	for (int i = 0; i < b->n; i++) {
		if (strncmp(b->th[i].comm, "MHD-", 4) != 0 || strcmp(b->th[i].comm, "MHD-listen") == 0)
			continue;
		double before = 0;
		for (int k = 0; k < a->n; k++)
			if (a->th[k].tid == b->th[i].tid)
				before = a->th[k].cpu_s;
		busy[nb++] = (b->th[i].cpu_s - before) / wall;
	}
	for (int i = 1; i < nb; i++)
		for (int k = i; k > 0 && busy[k] > busy[k - 1]; k--) {
			double t = busy[k];
			busy[k] = busy[k - 1];
			busy[k - 1] = t;
		}
	size_t off = 0;
	out[0] = '\0';
	for (int i = 0; i < nb && i < 12 && off + 8 < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%.2f", i ? " " : "", busy[i]);
	if (nb > 12 && off + 24 < len)
		snprintf(out + off, len - off, " ... (%d threads)", nb);
}

static bool measure(const opts_t *o, int port, lg_make_fn make, void *ctx, pid_t server,
		    pid_t postmaster, run_t *ret)
{
	static thread_snap_t snap0, snap1;
	snap0.pid = snap1.pid = server > 0 ? server : getpid();
	lg_opts_t lo = {.host = "127.0.0.1", .port = port, .conns = o->conns,
			.threads = o->lg_threads, .warmup_s = o->warmup, .duration_s = o->duration,
			.make = make, .ctx = ctx, .before_close = snap_threads,
			.before_close_arg = &snap1};
	memset(ret, 0, sizeof *ret);
	snap_threads(&snap0);
	double s0 = server > 0 ? sys_cpu_s(server) : sys_self_cpu_s();
	double p0 = sys_tree_cpu_s(postmaster), t0 = sys_now_s();
	if (lg_run(&lo, &ret->r) < 0)
		return false;
	ret->wall = sys_now_s() - t0;
	worker_shares(&snap0, &snap1, ret->wall, ret->workers, sizeof ret->workers);
	ret->cpu_pg = sys_tree_cpu_s(postmaster) - p0;
	ret->cpu_gen = ret->r->cpu_s;
	/* in-process reference: the process minus the generator threads */
	ret->cpu_server = (server > 0 ? sys_cpu_s(server) : sys_self_cpu_s() - ret->r->cpu_s) - s0;
	ret->rate = lg_rate(ret->r);
	ret->p50 = lg_quantile_us(ret->r, 0.50);
	ret->p99 = lg_quantile_us(ret->r, 0.99);
	ret->p999 = lg_quantile_us(ret->r, 0.999);
	uint64_t all = 0;
	for (int k = 0; k < 6; k++)
		all += ret->r->status[k];
	ret->non200 = all - ret->r->ok;
	ret->valid = ret->r->errors == 0 && ret->non200 == 0 && ret->r->requests > 0;
	return true;
}

static void print_run(const char *label, const run_t *r)
{
	printf("  %-34s %9.0f /s  p50 %6.3f ms  p99 %6.3f ms  p99.9 %6.3f ms  (n=%llu, non-200 "
	       "%llu, errors %llu, reconnects %llu)\n",
	       label, r->rate, r->p50 / 1000, r->p99 / 1000, r->p999 / 1000,
	       (unsigned long long)r->r->requests, (unsigned long long)r->non200,
	       (unsigned long long)r->r->errors, (unsigned long long)r->r->reconnects);
	printf("  %-34s CPU cores busy: generator %.2f, server %.2f, PostgreSQL %.2f (of %ld)\n", "",
	       r->cpu_gen / r->wall, r->cpu_server / r->wall,
	       r->cpu_pg > 0 ? r->cpu_pg / r->wall : 0.0, sysconf(_SC_NPROCESSORS_ONLN));
	if (r->workers[0])
		printf("  %-34s CPU of each HTTP thread: %s\n", "", r->workers);
	if (r->r->first_bad_status)
		printf("  %-34s first non-200: %d %s\n", "", r->r->first_bad_status,
		       r->r->first_bad_body);
	fflush(stdout);
}

/* ---- the registry as a child ---- */

typedef struct {
	pid_t pid;
	int port;
	char workdir[128], config[200], log[200];
} registry_t;

static volatile sig_atomic_t child_pid; /* killed if we are interrupted */

static void on_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Every early exit leaves no daemon behind. */
static void kill_child(void)
{
	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
		child_pid = 0;
	}
}

static void dump_log(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;
	fprintf(stderr, "---- %s (first lines) ----\n", path);
	while (f && n++ < 40 && fgets(line, sizeof line, f))
		fputs(line, stderr);
	if (f)
		fclose(f);
}

static bool wait_ready(registry_t *g)
{
	char req[256];
	int len = lg_format(req, sizeof req, "GET", "/readyz", NULL, NULL);
	for (double until = sys_now_s() + 30; sys_now_s() < until; usleep(20000)) {
		if (!sys_alive(g->pid))
			return false;
		lg_sync_t *s = lg_sync_open("127.0.0.1", g->port);
		int st = s ? lg_sync_do(s, req, (size_t)len, NULL, NULL) : -1;
		lg_sync_close(s);
		if (st == 200)
			return true;
	}
	return false;
}

/* The registry with its defaults but for where it listens and connects, log.level warn and
 * db.pool_size; http.c serves each connection on its own thread. */
static bool registry_start(registry_t *g, const opts_t *o, const cluster_t *cl)
{
	char conninfo[600];
	conninfo_for(cl, REGISTRY_DB, conninfo, sizeof conninfo);
	g->port = th_free_port();
	int bus = th_free_port();
	snprintf(g->config, sizeof g->config, "%s/registry.yaml", g->workdir);
	snprintf(g->log, sizeof g->log, "%s/registry.log", g->workdir);
	FILE *f = fopen(g->config, "w");
	if (!f)
		return false;
	fprintf(f,
		"# generated by bench_registry\n"
		"http:\n  bind: 127.0.0.1\n  port: %d\n"
		"db:\n  conninfo: \"%s\"\n  password_file: %s\n  pool_size: %d\n"
		"bus:\n  endpoint: \"tcp://127.0.0.1:%d\"\n"
		"log:\n  level: warn\n",
		g->port, conninfo, cl->password_file, o->pool_size, bus);
	if (fclose(f) != 0)
		return false;
	char *argv[] = {(char *)(uintptr_t)o->registry, (char *)(uintptr_t) "--config", g->config,
			NULL};
	g->pid = sys_spawn(argv, g->log);
	child_pid = g->pid;
	if (g->pid < 0 || !wait_ready(g)) {
		fprintf(stderr, "bench_registry: the registry did not become ready\n");
		dump_log(g->log);
		return false;
	}
	return true;
}

static bool registry_stop(registry_t *g)
{
	int st = sys_stop(g->pid, 30);
	child_pid = 0;
	g->pid = 0;
	if (st != 0) {
		fprintf(stderr, "bench_registry: the registry exited with status %d\n", st);
		dump_log(g->log);
	}
	return st == 0;
}

/* Mean server-side latency of a route from the daemon's /metrics, in ms; -1 when absent. */
static double metrics_mean_ms(const char *text, const char *method, const char *route)
{
	char key_sum[200], key_cnt[200];
	snprintf(key_sum, sizeof key_sum,
		 "dux_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} ", method, route);
	snprintf(key_cnt, sizeof key_cnt,
		 "dux_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} ", method,
		 route);
	const char *s = strstr(text, key_sum), *c = strstr(text, key_cnt);
	if (!s || !c)
		return -1;
	double sum = strtod(s + strlen(key_sum), NULL), cnt = strtod(c + strlen(key_cnt), NULL);
	return cnt > 0 ? sum / cnt * 1000 : -1;
}

static void print_metrics(const registry_t *g)
{
	char req[256];
	const char *body = NULL;
	int len = lg_format(req, sizeof req, "GET", "/metrics", NULL, NULL);
	lg_sync_t *s = lg_sync_open("127.0.0.1", g->port);
	int st = s ? lg_sync_do(s, req, (size_t)len, &body, NULL) : -1;
	if (st == 200)
		printf("  %-34s server-side mean: GET /nodes/{id} %.3f ms, POST heartbeat %.3f ms "
		       "(from its /metrics)\n",
		       "", metrics_mean_ms(body, "GET", "/nodes/{id}"),
		       metrics_mean_ms(body, "POST", "/nodes/{id}/heartbeat"));
	lg_sync_close(s);
}

/* ---- PostgreSQL statistics around a registry run ---- */

typedef struct {
	double upd, hot, wal_sync, wal_bytes, wal_fpi, commits;
} pgstat_t;

static bool pgstat_read(const cluster_t *cl, pgstat_t *ret)
{
	char v[256];
	memset(ret, 0, sizeof *ret);
	if (!super_sql(cl, REGISTRY_DB,
		       "SELECT coalesce((SELECT n_tup_upd || ' ' || n_tup_hot_upd FROM"
		       " pg_stat_user_tables WHERE schemaname = 'registry' AND relname = 'nodes'),"
		       " '0 0') || ' ' || (SELECT wal_sync || ' ' || wal_bytes || ' ' || wal_fpi"
		       " FROM pg_stat_wal) || ' ' || (SELECT xact_commit FROM pg_stat_database"
		       " WHERE datname = current_database())",
		       v, sizeof v))
		return false;
	return sscanf(v, "%lf %lf %lf %lf %lf %lf", &ret->upd, &ret->hot, &ret->wal_sync,
		      &ret->wal_bytes, &ret->wal_fpi, &ret->commits) == 6;
}

/* ---- pgbench ---- */

static double parse_tps(const char *out)
{
	const char *p = strstr(out, "tps = ");
	return p ? strtod(p + 6, NULL) : -1;
}

static bool run_pgbench(const opts_t *o, const cluster_t *cl, double *ret_tps, char *cmdline,
			size_t cmdlen)
{
	static char out[65536];
	char e_host[] = "PGHOST=127.0.0.1", e_port[32], e_user[] = "PGUSER=duxos", e_pw[160],
	     e_db[] = "PGDATABASE=" PGBENCH_DB;
	snprintf(e_port, sizeof e_port, "PGPORT=%d", cl->port);
	snprintf(e_pw, sizeof e_pw, "PGPASSWORD=%s", cl->password);
	char *env[] = {e_host, e_port, e_user, e_pw, e_db, NULL};
	char scale[16], clients[16], secs[16];
	snprintf(scale, sizeof scale, "%d", o->pgbench_scale);
	snprintf(clients, sizeof clients, "%d", o->pgbench_clients);
	snprintf(secs, sizeof secs, "%d", (int)(o->duration + 0.5));
	char *init[] = {(char *)(uintptr_t)o->pgbench, (char *)(uintptr_t) "-i",
			(char *)(uintptr_t) "-q", (char *)(uintptr_t) "-s", scale, NULL};
	if (!fresh_db(cl, PGBENCH_DB))
		return false;
	if (sys_run(init, env, out, sizeof out) != 0) {
		fprintf(stderr, "bench_registry: pgbench -i failed:\n%s\n", out);
		return false;
	}
	if (!super_sql(cl, NULL, "CHECKPOINT", NULL, 0))
		return false;
	char *run[] = {(char *)(uintptr_t)o->pgbench, (char *)(uintptr_t) "-M",
		       (char *)(uintptr_t) "prepared", (char *)(uintptr_t) "-c", clients,
		       (char *)(uintptr_t) "-j", (char *)(uintptr_t) "2", (char *)(uintptr_t) "-T",
		       secs, NULL};
	snprintf(cmdline, cmdlen, "pgbench -i -s %s; pgbench -M prepared -c %s -j 2 -T %s", scale,
		 clients, secs);
	if (sys_run(run, env, out, sizeof out) != 0 || (*ret_tps = parse_tps(out)) < 0) {
		fprintf(stderr, "bench_registry: pgbench failed:\n%s\n", out);
		return false;
	}
	return true;
}

/* ---- the report ---- */

typedef struct {
	run_t hello_tpc, hello_pool, get, hb;
	long rss_start, rss_after, hwm;
	pgstat_t st0, st1;
	bool have_stats;
	long long inline_signed;
} result_t;

static const char *verdict(bool pass)
{
	return pass ? "PASS" : "MISS";
}

static void fmt_rate(double v, char *out, size_t len)
{
	if (v >= 10000)
		snprintf(out, len, "%.1fk", v / 1000);
	else
		snprintf(out, len, "%.0f", v);
}

static void summary_row(const char *fig, const char *val, const char *ref, const char *ratio,
			const char *target, const char *verd)
{
	printf("%-30s %-14s %-40s %-6s %-11s %s\n", fig, val, ref, ratio, target, verd);
}

static bool hello_run(const opts_t *o, const cluster_t *cl, unsigned pool, const char *label,
		      run_t *ret)
{
	hello_t *h = hello_start(pool, (unsigned)o->conns);
	if (!h || !measure(o, hello_port(h), make_hello, NULL, 0, cl->postmaster, ret)) {
		fprintf(stderr, "bench_registry: the hello-world reference (%s) did not run\n", label);
		hello_stop(h);
		return false;
	}
	hello_stop(h);
	print_run(label, ret);
	return true;
}

int main(int argc, char **argv)
{
	opts_t o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_child);
	cluster_t cl;
	if (!cluster_load(o.pg_dir, &cl) || access(o.registry, X_OK) != 0) {
		if (access(o.registry, X_OK) != 0)
			fprintf(stderr, "bench_registry: %s is not an executable\n", o.registry);
		return 2;
	}
	registry_t g = {0};
	snprintf(g.workdir, sizeof g.workdir, "/tmp/bench-registry.XXXXXX");
	if (!mkdtemp(g.workdir)) {
		perror("mkdtemp");
		return 2;
	}

	char cpu[300], kernel[200], date[64];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	sys_machine(cpu, sizeof cpu, kernel, sizeof kernel);
	printf("== duxos-registry benchmark, %s ==\n", date);
	printf("machine: %s; %s; libmicrohttpd %s; %s\n", cpu, kernel, MHD_get_version(),
	       "PostgreSQL 15 (pgctl.sh cluster: fsync on, synchronous_commit on)");
	printf("load average before the run: %.2f (other work on the machine skews the figures)\n",
	       sys_loadavg());
	printf("load generator: %d keep-alive HTTP/1.1 connections over %d threads (epoll, one "
	       "request in flight per connection), raw sockets, in this process.\n",
	       o.conns, o.lg_threads);
	if (o.presign > 0)
		printf("heartbeats: real Ed25519 signatures with fresh counters, %d signed ahead of each "
		       "run on all CPUs (a node signs on its own CPU; here that would steal the "
		       "server's), then signed in the send loop if they run out.\n",
		       o.presign);
	else
		printf("heartbeats: signed in the send loop (--presign 0), costing generator CPU.\n");
	printf("NOTE: the generator shares the %ld CPUs with the server it measures (and with "
	       "PostgreSQL): the figures are lower bounds of what a remote client would see.\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("each figure: %g s measured after %g s of warm-up; %d simulated nodes; the registry "
	       "with its defaults (a thread per connection) but log.level warn, db.pool_size %d.\n\n",
	       o.duration, o.warmup, o.nodes, o.pool_size);

	int exit_code = 0;
	result_t res = {0};
	node_t *nodes = calloc((size_t)o.nodes, sizeof *nodes);
	mk_t mk = {.nodes = nodes, .n = o.nodes, .conns = o.conns,
		   .cursor = calloc((size_t)o.conns, sizeof(int))};
	if (!nodes || !mk.cursor || !nodes_make(nodes, o.nodes) || !fresh_db(&cl, REGISTRY_DB))
		return 2;

	/* a. the references: the daemons' flags, then the former epoll pool */
	char ref_label[64];
	snprintf(ref_label, sizeof ref_label, "hello-world, epoll pool %d", o.ref_pool);
	printf("[a] reference: libmicrohttpd hello-world\n");
	if (!hello_run(&o, &cl, 0, "hello-world, thread/connection", &res.hello_tpc) ||
	    !hello_run(&o, &cl, (unsigned)o.ref_pool, ref_label, &res.hello_pool))
		return 2;
	printf("  %-34s first: the flags of libduxcommon/src/http.c (a thread per connection, "
	       "poll); second: its former flags, %d event loops (epoll), the stricter ceiling, "
	       "with a connection limit of %d so that each loop takes its share\n",
	       "", o.ref_pool, o.ref_pool * ((o.conns + o.ref_pool - 1) / o.ref_pool));
	if (!res.hello_tpc.valid || !res.hello_pool.valid)
		exit_code = 1;

	/* b, c, d: the registry */
	printf("\n[b-d] duxos-registry, db.pool_size %d\n", o.pool_size);
	res.have_stats = pgstat_read(&cl, &res.st0);
	if (!registry_start(&g, &o, &cl))
		return 2;
	sleep(1);
	res.rss_start = sys_vm_kib(g.pid, "VmRSS");
	printf("  %-34s %.1f MiB (anonymous %.1f, file-backed %.1f; %ld threads)\n",
	       "RSS idle after start-up", res.rss_start / 1024.0,
	       sys_vm_kib(g.pid, "RssAnon") / 1024.0, sys_vm_kib(g.pid, "RssFile") / 1024.0,
	       sys_vm_kib(g.pid, "Threads"));
	double reg_rate = 0;
	if (!nodes_register(nodes, o.nodes, g.port, o.conns, &reg_rate)) {
		fprintf(stderr, "bench_registry: node registration failed\n");
		registry_stop(&g);
		return 1;
	}
	printf("  %-34s %d nodes, signed, %.0f /s (each one transaction + event)\n", "registration",
	       o.nodes, reg_rate);
	if (!measure(&o, g.port, make_get, &mk, g.pid, cl.postmaster, &res.get))
		return 2;
	print_run("GET /v1/nodes/{id}", &res.get);
	double sign_s = 0;
	if (!presign(&mk, o.presign, &sign_s)) {
		fprintf(stderr, "bench_registry: cannot sign heartbeats\n");
		return 2;
	}
	(void)super_sql(&cl, NULL, "CHECKPOINT", NULL, 0);
	if (!measure(&o, g.port, make_heartbeat, &mk, g.pid, cl.postmaster, &res.hb))
		return 2;
	print_run("POST heartbeat (signed)", &res.hb);
	res.inline_signed = atomic_load(&mk.inline_signed);
	printf("  %-34s %d signed ahead (%.1f s on %ld CPUs, before the run), %lld signed in the "
	       "send loop\n",
	       "heartbeat signatures", o.presign, sign_s, sysconf(_SC_NPROCESSORS_ONLN),
	       res.inline_signed);
	if (!res.get.valid || !res.hb.valid)
		exit_code = 1;
	print_metrics(&g);
	sleep(2);
	res.rss_after = sys_vm_kib(g.pid, "VmRSS");
	res.hwm = sys_vm_kib(g.pid, "VmHWM");
	printf("  %-34s %.1f MiB (anonymous %.1f, file-backed %.1f; peak %.1f; %ld threads)\n",
	       "RSS idle after the load", res.rss_after / 1024.0,
	       sys_vm_kib(g.pid, "RssAnon") / 1024.0, sys_vm_kib(g.pid, "RssFile") / 1024.0,
	       res.hwm / 1024.0, sys_vm_kib(g.pid, "Threads"));
	if (!registry_stop(&g))
		exit_code = 1;
	res.have_stats = res.have_stats && pgstat_read(&cl, &res.st1);
	if (res.have_stats) {
		double upd = res.st1.upd - res.st0.upd, hot = res.st1.hot - res.st0.hot;
		double sync = res.st1.wal_sync - res.st0.wal_sync;
		double commits = res.st1.commits - res.st0.commits;
		printf("  %-34s nodes updates %.0f (HOT %.0f%%), commits %.0f, WAL fsyncs %.0f (%.1f "
		       "updates per fsync), WAL %.0f bytes per update, full-page images %.0f\n",
		       "PostgreSQL during the registry", upd, upd > 0 ? 100 * hot / upd : 0, commits,
		       sync, sync > 0 ? upd / sync : 0,
		       upd > 0 ? (res.st1.wal_bytes - res.st0.wal_bytes) / upd : 0,
		       res.st1.wal_fpi - res.st0.wal_fpi);
	}

	/* c. the database reference */
	printf("\n[c] reference: pgbench TPC-B on the same PostgreSQL, database %s\n", PGBENCH_DB);
	double tps = -1;
	char pgcmd[200] = "";
	if (o.no_pgbench)
		printf("  skipped (--no-pgbench)\n");
	else if (!run_pgbench(&o, &cl, &tps, pgcmd, sizeof pgcmd))
		exit_code = exit_code ? exit_code : 1;
	else
		printf("  %-34s %9.0f tps  (%s)\n", "pgbench TPC-B", tps, pgcmd);

	/* the summary */
	char a[32], b[32], val[64], ref[128], ratio[16], pool_name[40];
	double ratio_tpc = res.get.rate / res.hello_tpc.rate;
	double ratio_pool = res.get.rate / res.hello_pool.rate;
	snprintf(pool_name, sizeof pool_name, "epoll pool %d", o.ref_pool);
	printf("\n== summary (registry db.pool_size %d; every run is listed above) ==\n",
	       o.pool_size);
	summary_row("figure", "value", "reference", "ratio", "target", "verdict");
	fmt_rate(res.get.rate, a, sizeof a);
	snprintf(val, sizeof val, "%s req/s", a);
	fmt_rate(res.hello_tpc.rate, b, sizeof b);
	snprintf(ref, sizeof ref, "hello-world thread/conn %s req/s", b);
	snprintf(ratio, sizeof ratio, "%.2f", ratio_tpc);
	summary_row("GET /v1/nodes/{id}", val, ref, ratio, ">= 0.50",
		    verdict(ratio_tpc >= TARGET_GET_RATIO));
	fmt_rate(res.hello_pool.rate, b, sizeof b);
	snprintf(ref, sizeof ref, "hello-world %s %s req/s", pool_name, b);
	snprintf(ratio, sizeof ratio, "%.2f", ratio_pool);
	summary_row("", "", ref, ratio, "(stricter)", "");
	snprintf(val, sizeof val, "%.2f/%.2f ms", res.get.p50 / 1000, res.get.p99 / 1000);
	snprintf(ref, sizeof ref, "thread/conn %.2f/%.2f, %s %.2f/%.2f ms",
		 res.hello_tpc.p50 / 1000, res.hello_tpc.p99 / 1000, pool_name,
		 res.hello_pool.p50 / 1000, res.hello_pool.p99 / 1000);
	summary_row("  latency p50/p99", val, ref, "", "", "");
	snprintf(val, sizeof val, "%.0f /s", res.hb.rate);
	if (tps > 0) {
		snprintf(ref, sizeof ref, "pgbench TPC-B %.0f tps", tps);
		snprintf(ratio, sizeof ratio, "%.2f", res.hb.rate / tps);
	} else {
		snprintf(ref, sizeof ref, "pgbench TPC-B: %s", o.no_pgbench ? "skipped" : "failed");
		ratio[0] = '\0';
	}
	summary_row("signed heartbeats", val, ref, ratio, ">= 5000/s",
		    verdict(res.hb.rate >= TARGET_HB_RATE));
	snprintf(val, sizeof val, "%.2f/%.2f ms", res.hb.p50 / 1000, res.hb.p99 / 1000);
	summary_row("  latency p50/p99", val, "", "", "", "");
	snprintf(val, sizeof val, "%.1f MiB", res.rss_start / 1024.0);
	summary_row("RSS idle after start-up", val, "", "", "< 16 MiB",
		    verdict(res.rss_start < TARGET_RSS_KIB));
	snprintf(val, sizeof val, "%.1f MiB", res.rss_after / 1024.0);
	summary_row("RSS idle after the load", val, "", "", "< 16 MiB",
		    verdict(res.rss_after < TARGET_RSS_KIB));
	printf("\nmachine: %s (nproc %ld); generator, server and PostgreSQL share these CPUs.\n",
	       cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("run %s.\n", exit_code == 0 ? "VALID (no transport error, every answer 200)"
					   : "INVALID: see the errors and non-200 answers above");

	free(res.hello_tpc.r);
	free(res.hello_pool.r);
	free(res.get.r);
	free(res.hb.r);
	for (int i = 0; i < o.nodes; i++)
		dux_key_free(nodes[i].key);
	free(nodes);
	presign_free(&mk);
	free(mk.cursor);
	if (!o.keep_logs && exit_code == 0) {
		unlink(g.config);
		unlink(g.log);
		rmdir(g.workdir);
	} else {
		printf("registry config and log kept in %s\n", g.workdir);
	}
	return exit_code;
}
