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
#include "bench.h"
#include "child.h"
#include "cluster.h"
#include "harness.h"
#include "hello.h"
#include "loadgen.h"
#include "measure.h"
#include "sys.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <dux/json.h>
#include <dux/sign.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		case O_DUR: ok = bench_parse_secs(optarg, 1, &o->duration); break;
		case O_WARM: ok = bench_parse_secs(optarg, 0, &o->warmup); break;
		case O_NODES: ok = bench_parse_int(optarg, 1, 1000000, &o->nodes); break;
		case O_CONNS: ok = bench_parse_int(optarg, 1, 1000, &o->conns); break;
		case O_LGT: ok = bench_parse_int(optarg, 1, 64, &o->lg_threads); break;
		case O_POOL: ok = bench_parse_int(optarg, 1, 256, &o->pool_size); break;
		case O_REFPOOL: ok = bench_parse_int(optarg, 1, 64, &o->ref_pool); break;
		case O_SCALE: ok = bench_parse_int(optarg, 1, 1000, &o->pgbench_scale); break;
		case O_PGC: ok = bench_parse_int(optarg, 1, 100, &o->pgbench_clients); break;
		case O_KEEP: o->keep_logs = true; break;
		case O_NOPGB: o->no_pgbench = true; break;
		case O_PRESIGN: ok = bench_parse_int(optarg, 0, 10000000, &o->presign); break;
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

/* One signed registration (bench_parallel's fn; ctx: the nodes). */
static bool register_one(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen)
{
	node_t *n = (node_t *)ctx + i;
	char body[512], req[LG_REQ_MAX];
	const char *resp = NULL;
	register_body(n, i, body, sizeof body);
	int len = signed_request(n, "POST", "/v1/nodes/register", body, req, sizeof req);
	int st = len > 0 ? lg_sync_do(s, req, (size_t)len, &resp, NULL) : -1;
	if (st != 201)
		snprintf(err, errlen, "registration answered %d: %.300s", st,
			 st > 0 ? resp : "(no answer)");
	return st == 201;
}

/* Registers every node, signed, over nthreads parallel keep-alive connections. */
static bool nodes_register(node_t *nodes, int n, int port, int nthreads, double *ret_rate)
{
	return bench_parallel(n, nthreads, port, register_one, nodes, ret_rate);
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

static bool measure(const opts_t *o, int port, lg_make_fn make, void *ctx, pid_t server,
		    pid_t postmaster, bench_run_t *ret)
{
	bench_load_t load = {.conns = o->conns, .threads = o->lg_threads, .warmup = o->warmup,
			     .duration = o->duration};
	return bench_measure(&load, port, make, ctx, server, postmaster, ret);
}

/* ---- the registry as a child ---- */

/* The registry with its defaults but for where it listens and connects, log.level warn and
 * db.pool_size; http.c serves each connection on its own thread. */
static bool registry_start(bench_daemon_t *g, const opts_t *o, const bench_cluster_t *cl)
{
	char conninfo[600], yaml[2048];
	bench_conninfo_for(cl, REGISTRY_DB, conninfo, sizeof conninfo);
	int bus = th_free_port();
	snprintf(yaml, sizeof yaml,
		 "# generated by bench_registry\n"
		 "http:\n  bind: 127.0.0.1\n  port: %d\n"
		 "db:\n  conninfo: \"%s\"\n  password_file: %s\n  pool_size: %d\n"
		 "bus:\n  endpoint: \"tcp://127.0.0.1:%d\"\n"
		 "log:\n  level: warn\n",
		 g->port, conninfo, cl->password_file, o->pool_size, bus);
	return bench_daemon_start(g, o->registry, yaml);
}

static void print_metrics(const bench_daemon_t *g)
{
	char *body = NULL;
	if (bench_call(g->port, "GET", "/metrics", NULL, NULL, &body) == 200 && body)
		printf("  %-34s server-side mean: GET /nodes/{id} %.3f ms, POST heartbeat %.3f ms "
		       "(from its /metrics)\n",
		       "", bench_metrics_mean_ms(body, "GET", "/nodes/{id}"),
		       bench_metrics_mean_ms(body, "POST", "/nodes/{id}/heartbeat"));
	free(body);
}

/* ---- the report ---- */

typedef struct {
	bench_run_t hello_tpc, hello_pool, get, hb;
	long rss_start, rss_after, hwm;
	bench_pgstat_t st0, st1;
	bool have_stats;
	long long inline_signed;
} result_t;

static const char *verdict(bool pass)
{
	return pass ? "PASS" : "MISS";
}

static bool hello_run(const opts_t *o, const bench_cluster_t *cl, unsigned pool,
		      const char *label, bench_run_t *ret)
{
	hello_t *h = hello_start(pool, (unsigned)o->conns);
	if (!h || !measure(o, hello_port(h), make_hello, NULL, 0, cl->postmaster, ret)) {
		fprintf(stderr, "bench_registry: the hello-world reference (%s) did not run\n", label);
		hello_stop(h);
		return false;
	}
	hello_stop(h);
	bench_print_run(label, ret);
	return true;
}

int main(int argc, char **argv)
{
	opts_t o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_guard_install();
	bench_cluster_t cl;
	if (!bench_cluster_load(o.pg_dir, &cl) || access(o.registry, X_OK) != 0) {
		if (access(o.registry, X_OK) != 0)
			fprintf(stderr, "bench_registry: %s is not an executable\n", o.registry);
		return 2;
	}
	bench_daemon_t g;
	if (!bench_daemon_init(&g, "registry", "the registry"))
		return 2;

	char cpu[300];
	bench_header("duxos-registry", cpu, sizeof cpu);
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
	bench_note_shared_cpus();
	printf("each figure: %g s measured after %g s of warm-up; %d simulated nodes; the registry "
	       "with its defaults (a thread per connection) but log.level warn, db.pool_size %d.\n\n",
	       o.duration, o.warmup, o.nodes, o.pool_size);

	int exit_code = 0;
	result_t res = {0};
	node_t *nodes = calloc((size_t)o.nodes, sizeof *nodes);
	mk_t mk = {.nodes = nodes, .n = o.nodes, .conns = o.conns,
		   .cursor = calloc((size_t)o.conns, sizeof(int))};
	if (!nodes || !mk.cursor || !nodes_make(nodes, o.nodes) || !bench_fresh_db(&cl, REGISTRY_DB))
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
	res.have_stats = bench_pgstat_read(&cl, REGISTRY_DB, "registry", "nodes", &res.st0);
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
		bench_daemon_stop(&g);
		return 1;
	}
	printf("  %-34s %d nodes, signed, %.0f /s (each one transaction + event)\n", "registration",
	       o.nodes, reg_rate);
	if (!measure(&o, g.port, make_get, &mk, g.pid, cl.postmaster, &res.get))
		return 2;
	bench_print_run("GET /v1/nodes/{id}", &res.get);
	double sign_s = 0;
	if (!presign(&mk, o.presign, &sign_s)) {
		fprintf(stderr, "bench_registry: cannot sign heartbeats\n");
		return 2;
	}
	(void)bench_sql(&cl, NULL, "CHECKPOINT", NULL, 0);
	if (!measure(&o, g.port, make_heartbeat, &mk, g.pid, cl.postmaster, &res.hb))
		return 2;
	bench_print_run("POST heartbeat (signed)", &res.hb);
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
	if (!bench_daemon_stop(&g))
		exit_code = 1;
	res.have_stats = res.have_stats &&
			 bench_pgstat_read(&cl, REGISTRY_DB, "registry", "nodes", &res.st1);
	if (res.have_stats)
		bench_pgstat_print("PostgreSQL during the registry", "nodes", &res.st0, &res.st1);

	/* c. the database reference */
	printf("\n[c] reference: pgbench TPC-B on the same PostgreSQL, database %s\n", PGBENCH_DB);
	double tps = -1;
	bench_pgbench_result_t pgr;
	char pgcmd[200] = "";
	bench_pgbench_t pgb = {.pgbench = o.pgbench, .db = PGBENCH_DB, .scale = o.pgbench_scale,
			       .clients = o.pgbench_clients, .secs = (int)(o.duration + 0.5)};
	if (o.no_pgbench)
		printf("  skipped (--no-pgbench)\n");
	else if (!bench_pgbench(&cl, &pgb, &pgr, pgcmd, sizeof pgcmd))
		exit_code = exit_code ? exit_code : 1;
	else {
		tps = pgr.tps;
		printf("  %-34s %9.0f tps  (%s)\n", "pgbench TPC-B", tps, pgcmd);
	}

	/* the summary */
	char a[32], b[32], val[64], ref[128], ratio[16], pool_name[40];
	double ratio_tpc = res.get.rate / res.hello_tpc.rate;
	double ratio_pool = res.get.rate / res.hello_pool.rate;
	snprintf(pool_name, sizeof pool_name, "epoll pool %d", o.ref_pool);
	printf("\n== summary (registry db.pool_size %d; every run is listed above) ==\n",
	       o.pool_size);
	bench_row("figure", "value", "reference", "ratio", "target", "verdict");
	bench_fmt_rate(res.get.rate, a, sizeof a);
	snprintf(val, sizeof val, "%s req/s", a);
	bench_fmt_rate(res.hello_tpc.rate, b, sizeof b);
	snprintf(ref, sizeof ref, "hello-world thread/conn %s req/s", b);
	snprintf(ratio, sizeof ratio, "%.2f", ratio_tpc);
	bench_row("GET /v1/nodes/{id}", val, ref, ratio, ">= 0.50",
		    verdict(ratio_tpc >= TARGET_GET_RATIO));
	bench_fmt_rate(res.hello_pool.rate, b, sizeof b);
	snprintf(ref, sizeof ref, "hello-world %s %s req/s", pool_name, b);
	snprintf(ratio, sizeof ratio, "%.2f", ratio_pool);
	bench_row("", "", ref, ratio, "(stricter)", "");
	snprintf(val, sizeof val, "%.2f/%.2f ms", res.get.p50 / 1000, res.get.p99 / 1000);
	snprintf(ref, sizeof ref, "thread/conn %.2f/%.2f, %s %.2f/%.2f ms",
		 res.hello_tpc.p50 / 1000, res.hello_tpc.p99 / 1000, pool_name,
		 res.hello_pool.p50 / 1000, res.hello_pool.p99 / 1000);
	bench_row("  latency p50/p99", val, ref, "", "", "");
	snprintf(val, sizeof val, "%.0f /s", res.hb.rate);
	if (tps > 0) {
		snprintf(ref, sizeof ref, "pgbench TPC-B %.0f tps", tps);
		snprintf(ratio, sizeof ratio, "%.2f", res.hb.rate / tps);
	} else {
		snprintf(ref, sizeof ref, "pgbench TPC-B: %s", o.no_pgbench ? "skipped" : "failed");
		ratio[0] = '\0';
	}
	bench_row("signed heartbeats", val, ref, ratio, ">= 5000/s",
		    verdict(res.hb.rate >= TARGET_HB_RATE));
	snprintf(val, sizeof val, "%.2f/%.2f ms", res.hb.p50 / 1000, res.hb.p99 / 1000);
	bench_row("  latency p50/p99", val, "", "", "", "");
	snprintf(val, sizeof val, "%.1f MiB", res.rss_start / 1024.0);
	bench_row("RSS idle after start-up", val, "", "", "< 16 MiB",
		    verdict(res.rss_start < TARGET_RSS_KIB));
	snprintf(val, sizeof val, "%.1f MiB", res.rss_after / 1024.0);
	bench_row("RSS idle after the load", val, "", "", "< 16 MiB",
		    verdict(res.rss_after < TARGET_RSS_KIB));
	bench_footer(cpu);
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
	bench_daemon_finish(&g, !o.keep_logs && exit_code == 0);
	return exit_code;
}
