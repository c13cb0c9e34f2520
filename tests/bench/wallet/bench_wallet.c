/* bench_wallet.c - how many immediate transfers per second duxos-wallet applies, beside pgbench
 * TPC-B measured on the same PostgreSQL in the same run:
 *
 *   single transfers/s    one transfer per POST /v1/transfers       target >= 0.5 x pgbench tps
 *   batched transfers/s   a batch of N (100) per POST /v1/transfers target >= 3 x pgbench tps
 *
 * The daemon runs as a child process with a generated configuration (wallet.encryption on, a
 * generated token key), over a database of its own in the PostgreSQL cluster given (made by
 * deploy/local/pgctl.sh). Owners get accounts (POST /v1/wallet/address) funded by the admin
 * faucet; each connection of the load generator is one owner and moves money from its
 * accounts to random accounts of any owner. After the load, GET /v1/ledger/check must hold
 * and count exactly the transfers the 201 answers carried. Run it through
 * tests/bench/wallet/run.sh, which builds a release tree and makes the cluster.
 *
 * Exit status: 0 when the run is valid, whatever the figures; 1 when it is not (transport
 * errors, an answer other than 201, a ledger check that fails or counts other transfers, a
 * daemon that did not stop cleanly); 2 on bad usage or a set-up failure. */
#include "bench.h"
#include "wallet_calls.h"
#include "child.h"
#include "cluster.h"
#include "harness.h"
#include "loadgen.h"
#include "measure.h"
#include "sys.h"
#include <cjson/cJSON.h>
#include <dux/address.h>
#include <dux/auth.h>
#include <dux/crypto.h>
#include <dux/money.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TARGET_SINGLE_RATIO 0.50 /* single transfers/s against pgbench tps */
#define TARGET_BATCH_RATIO 3.0   /* batched transfers/s against pgbench tps */
#define WALLET_DB "bench_wallet"
#define PGBENCH_DB "bench_pgbench"
#define ITEM_MAX 256    /* one transfer object in a request body */
#define MAX_AMOUNT 1000 /* base units (0.00001 FLOP): no account can run dry */

/* ---- options ---- */

typedef struct {
	const char *pg_dir, *wallet, *pgbench;
	double duration, warmup;
	int conns, lg_threads;
	int pool_size; /* the wallet's db.pool_size; 0 = conns */
	int owners, accounts; /* accounts per owner */
	int batch;            /* transfers per request in the batched run */
	int fund;             /* FLOP the faucet gives each account */
	int pgbench_scale, pgbench_clients; /* clients 0 = conns */
	bool no_pgbench, keep_logs;
} opts_t;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bench_wallet --pg-dir DIR --wallet PATH [--pgbench PATH] [options]\n"
		"\n"
		"  --pg-dir DIR         cluster made by deploy/local/pgctl.sh init DIR\n"
		"  --wallet PATH        the duxos-wallet binary (a release build)\n"
		"  --pgbench PATH       pgbench (default /usr/lib/postgresql/15/bin/pgbench)\n"
		"  --duration S         measured seconds per figure, and pgbench -T (default 10)\n"
		"  --warmup S           seconds of warm-up not counted (default 1)\n"
		"  --conns N            keep-alive connections of the load generator, each one owner's\n"
		"                       (default 16)\n"
		"  --lg-threads N       load-generator threads the connections share (default 2)\n"
		"  --pool-size N        the wallet's db.pool_size (default: --conns)\n"
		"  --owners N           owners, each with its own bearer token (default 16)\n"
		"  --accounts N         accounts per owner (default 64)\n"
		"  --batch N            transfers per request in the batched run (default 100)\n"
		"  --fund FLOP          what the faucet credits each account (default 1000)\n"
		"  --pgbench-scale N    pgbench -i -s N (default 8)\n"
		"  --pgbench-clients N  pgbench -c N (default: --conns, the same client count)\n"
		"  --no-pgbench         skip the pgbench reference (no ratios, no verdicts)\n"
		"  --keep-logs          keep the wallet's log and config in the work directory\n");
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	enum { O_PG = 1, O_WAL, O_PGB, O_DUR, O_WARM, O_CONNS, O_LGT, O_POOL, O_OWNERS, O_ACCTS,
	       O_BATCH, O_FUND, O_SCALE, O_PGC, O_NOPGB, O_KEEP, O_HELP };
	static const struct option lo[] = {
		{"pg-dir", required_argument, NULL, O_PG},
		{"wallet", required_argument, NULL, O_WAL},
		{"pgbench", required_argument, NULL, O_PGB},
		{"duration", required_argument, NULL, O_DUR},
		{"warmup", required_argument, NULL, O_WARM},
		{"conns", required_argument, NULL, O_CONNS},
		{"lg-threads", required_argument, NULL, O_LGT},
		{"pool-size", required_argument, NULL, O_POOL},
		{"owners", required_argument, NULL, O_OWNERS},
		{"accounts", required_argument, NULL, O_ACCTS},
		{"batch", required_argument, NULL, O_BATCH},
		{"fund", required_argument, NULL, O_FUND},
		{"pgbench-scale", required_argument, NULL, O_SCALE},
		{"pgbench-clients", required_argument, NULL, O_PGC},
		{"no-pgbench", no_argument, NULL, O_NOPGB},
		{"keep-logs", no_argument, NULL, O_KEEP},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	*o = (opts_t){.pgbench = "/usr/lib/postgresql/15/bin/pgbench", .duration = 10, .warmup = 1,
		      .conns = 16, .lg_threads = 2, .owners = 16, .accounts = 64, .batch = 100,
		      .fund = 1000, .pgbench_scale = 8};
	int c;
	bool ok = true;
	while (ok && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PG: o->pg_dir = optarg; break;
		case O_WAL: o->wallet = optarg; break;
		case O_PGB: o->pgbench = optarg; break;
		case O_DUR: ok = bench_parse_secs(optarg, 1, &o->duration); break;
		case O_WARM: ok = bench_parse_secs(optarg, 0, &o->warmup); break;
		case O_CONNS: ok = bench_parse_int(optarg, 1, 200, &o->conns); break;
		case O_LGT: ok = bench_parse_int(optarg, 1, 64, &o->lg_threads); break;
		case O_POOL: ok = bench_parse_int(optarg, 1, 256, &o->pool_size); break;
		case O_OWNERS: ok = bench_parse_int(optarg, 1, 10000, &o->owners); break;
		case O_ACCTS: ok = bench_parse_int(optarg, 1, 10000, &o->accounts); break;
		case O_BATCH: ok = bench_parse_int(optarg, 2, 1000, &o->batch); break;
		case O_FUND: ok = bench_parse_int(optarg, 1, 1000000, &o->fund); break;
		case O_SCALE: ok = bench_parse_int(optarg, 1, 1000, &o->pgbench_scale); break;
		case O_PGC: ok = bench_parse_int(optarg, 1, 100, &o->pgbench_clients); break;
		case O_NOPGB: o->no_pgbench = true; break;
		case O_KEEP: o->keep_logs = true; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: ok = false;
		}
	}
	if (!ok || optind < argc || !o->pg_dir || !o->wallet) {
		usage(stderr);
		return -1;
	}
	if (o->owners * o->accounts < 2 || o->owners * o->accounts > 1000000) {
		fprintf(stderr, "bench_wallet: --owners x --accounts must be 2 .. 1000000\n");
		return -1;
	}
	if (!o->pool_size)
		o->pool_size = o->conns;
	if (!o->pgbench_clients)
		o->pgbench_clients = o->conns;
	if (o->lg_threads > o->conns)
		o->lg_threads = o->conns;
	return 0;
}

/* ---- owners, tokens and accounts ---- */

typedef struct {
	char sub[64];
	char auth[BENCH_AUTH_MAX]; /* "Authorization: Bearer ...\r\n" */
} owner_t;

typedef struct {
	const opts_t *o;
	owner_t *owners;
	char admin[BENCH_AUTH_MAX];
	char (*addr)[DUX_ADDRESS_MAX]; /* owner k's accounts: addr[k * accounts ...] */
	int naddr;
} world_t;

/* POST /v1/wallet/address as the account's owner (bench_parallel's fn). */
static bool create_account(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen)
{
	world_t *w = ctx;
	return bench_new_account(s, w->owners[i / w->o->accounts].auth, w->addr[i], err, errlen);
}

/* POST /v1/faucet as the admin: the account gets --fund FLOP (bench_parallel's fn). */
static bool fund_account(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen)
{
	world_t *w = ctx;
	return bench_faucet(s, w->admin, w->addr[i], w->o->fund, err, errlen);
}

/* ---- request maker: transfers from the connection's owner to anyone ---- */

typedef struct {
	uint64_t rng, seq;
	char *body; /* req_max bytes */
} conn_state_t;

typedef struct {
	world_t *w;
	int per_request; /* transfers in each request */
	char prefix;     /* of the ids: 's' single, 'b' batched */
	size_t body_max;
	conn_state_t *cs;
} mk_t;

static uint64_t next_rand(uint64_t *s) /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int make_transfers(void *ctx, int c, char *buf, size_t cap)
{
	mk_t *m = ctx;
	const world_t *w = m->w;
	conn_state_t *st = &m->cs[c];
	int owner = c % w->o->owners, per = w->o->accounts;
	size_t off = (size_t)snprintf(st->body, m->body_max, "{\"transfers\":[");
	for (int k = 0; k < m->per_request; k++) {
		int d = owner * per + (int)(next_rand(&st->rng) % (uint64_t)per);
		int r = (int)(next_rand(&st->rng) % (uint64_t)(w->naddr - 1));
		int cr = r >= d ? r + 1 : r; /* any account but the debit */
		char amount[DUX_MONEY_STRLEN];
		dux_money_format(1 + (int64_t)(next_rand(&st->rng) % MAX_AMOUNT), amount);
		if (off + ITEM_MAX >= m->body_max)
			return -1;
		off += (size_t)snprintf(st->body + off, m->body_max - off,
					"%s{\"id\":\"%c%d-%llu\",\"debit\":\"%s\",\"credit\":\"%s\","
					"\"amount\":\"%s\"}",
					k ? "," : "", m->prefix, c, (unsigned long long)st->seq++,
					w->addr[d], w->addr[cr], amount);
	}
	if (off + 3 >= m->body_max)
		return -1;
	memcpy(st->body + off, "]}", 3);
	return lg_format(buf, cap, "POST", "/v1/transfers", w->owners[owner].auth, st->body);
}

/* ---- one run of the wallet ---- */

typedef struct {
	bench_run_t run;
	int per_request;
	uint64_t answered;             /* 201 answers in the whole run (warm-up and drain too) */
	double server_ms;              /* mean server-side time of POST /transfers in this run */
	bench_pgstat_t st0, st1;
	bool have_stats;
	bench_pgwait_t wait; /* what the wallet's backends did during the run */
} wrun_t;

/* CPU of PostgreSQL per transfer the run's 201 answers carried, in us. */
static double per_transfer_us(const wrun_t *w)
{
	double moved = (double)w->answered * w->per_request;
	return moved > 0 ? w->run.cpu_pg / moved * 1e6 : 0;
}

static void metrics_route(int port, double *sum, double *count)
{
	char *text = NULL;
	*sum = *count = 0;
	if (bench_call(port, "GET", "/metrics", NULL, NULL, &text) != 200 || !text ||
	    !bench_metrics_route(text, "POST", "/transfers", sum, count))
		*sum = *count = 0;
	free(text);
}

static bool wallet_run(const opts_t *o, world_t *w, const bench_cluster_t *cl,
		       const bench_daemon_t *g, int per_request, const char *label, wrun_t *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->per_request = per_request;
	size_t req_max = (size_t)per_request * ITEM_MAX + BENCH_AUTH_MAX + 1024;
	mk_t m = {.w = w, .per_request = per_request, .prefix = per_request == 1 ? 's' : 'b',
		  .body_max = req_max, .cs = calloc((size_t)o->conns, sizeof(conn_state_t))};
	bool ok = m.cs != NULL;
	for (int c = 0; ok && c < o->conns; c++) {
		dux_random_bytes(&m.cs[c].rng, sizeof m.cs[c].rng);
		m.cs[c].rng |= 1;
		ok = (m.cs[c].body = malloc(req_max)) != NULL;
	}
	bench_load_t load = {.conns = o->conns, .threads = o->lg_threads, .warmup = o->warmup,
			     .duration = o->duration, .ok_status = 201, .req_max = req_max,
			     .drain = true};
	double sum0, cnt0, sum1, cnt1;
	(void)bench_sql(cl, NULL, "CHECKPOINT", NULL, 0);
	ret->have_stats = bench_pgstat_read(cl, WALLET_DB, "wallet", "accounts", &ret->st0);
	metrics_route(g->port, &sum0, &cnt0);
	bench_pgwait_sampler_t *sampler = ok ? bench_pgwait_start(cl, WALLET_DB) : NULL;
	ok = ok && bench_measure(&load, g->port, make_transfers, &m, g->pid, cl->postmaster,
				 &ret->run);
	bench_pgwait_stop(sampler, &ret->wait);
	metrics_route(g->port, &sum1, &cnt1);
	ret->have_stats = ret->have_stats &&
			  bench_pgstat_read(cl, WALLET_DB, "wallet", "accounts", &ret->st1);
	for (int c = 0; m.cs && c < o->conns; c++)
		free(m.cs[c].body);
	free(m.cs);
	if (!ok)
		return false;
	ret->answered = ret->run.r->all_ok;
	ret->server_ms = cnt1 > cnt0 ? (sum1 - sum0) / (cnt1 - cnt0) * 1000 : -1;

	const lg_result_t *r = ret->run.r;
	bench_print_run(label, &ret->run);
	if (per_request > 1)
		printf("  %-34s %9.0f /s  (%d per request)\n", "transfers",
		       ret->run.rate * per_request, per_request);
	printf("  %-34s %llu requests, %llu transfers (warm-up %llu, window %llu, after the window "
	       "%llu requests)\n",
	       "answered 201 in all", (unsigned long long)ret->answered,
	       (unsigned long long)(ret->answered * (uint64_t)per_request),
	       (unsigned long long)r->warm, (unsigned long long)r->requests,
	       (unsigned long long)r->late);
	printf("  %-34s server-side mean: POST /transfers %.3f ms (from its /metrics); mean "
	       "latency seen by the generator %.3f ms\n",
	       "", ret->server_ms,
	       ret->run.rate > 0 ? (double)o->conns / ret->run.rate * 1000 : 0.0);
	double moved = (double)ret->answered * per_request;
	printf("  %-34s PostgreSQL %.0f us, duxos-wallet %.0f us, generator %.0f us of CPU per "
	       "transfer\n",
	       "", per_transfer_us(ret), moved > 0 ? ret->run.cpu_server / moved * 1e6 : 0,
	       moved > 0 ? ret->run.cpu_gen / moved * 1e6 : 0);
	bench_pgwait_print("the wallet's", o->pool_size, &ret->wait);
	if (ret->have_stats) {
		char what[64];
		snprintf(what, sizeof what, "PostgreSQL during %s", per_request == 1 ? "[b]" : "[c]");
		bench_pgstat_print(what, "accounts", &ret->st0, &ret->st1);
		double sync = ret->st1.wal_sync - ret->st0.wal_sync;
		printf("  %-34s %.0f WAL bytes per transfer, %.1f transfers per WAL fsync\n", "",
		       moved > 0 ? (ret->st1.wal_bytes - ret->st0.wal_bytes) / moved : 0,
		       sync > 0 ? moved / sync : 0);
	}
	return true;
}

/* ---- the wallet as a child ---- */

static bool wallet_start(bench_daemon_t *g, const opts_t *o, const bench_cluster_t *cl,
			 const char *keyfile, long max_body)
{
	char conninfo[600], yaml[4096], pass[33];
	bench_conninfo_for(cl, WALLET_DB, conninfo, sizeof conninfo);
	dux_random_id(pass);
	int bus = th_free_port();
	snprintf(yaml, sizeof yaml,
		 "# generated by bench_wallet\n"
		 "http:\n  bind: 127.0.0.1\n  port: %d\n  max_body: %ld\n"
		 "db:\n  conninfo: \"%s\"\n  password_file: %s\n  pool_size: %d\n"
		 "bus:\n  endpoint: \"tcp://127.0.0.1:%d\"\n"
		 "log:\n  level: warn\n"
		 "auth:\n  public_key_file: %s\n"
		 "wallet:\n  chain: none\n  encryption: true\n  passphrase: \"%s\"\n"
		 "  faucet_limit: \"%d\"\n",
		 g->port, max_body, conninfo, cl->password_file, o->pool_size, bus, keyfile, pass,
		 o->fund);
	return bench_daemon_start(g, o->wallet, yaml);
}

/* ---- the report ---- */

static void summary_figure(const char *fig, double value, double tps, double target,
			   const char *unit)
{
	char v[32], val[64], ref[128], ratio[16], tgt[32];
	bench_fmt_rate(value, v, sizeof v);
	snprintf(val, sizeof val, "%s %s", v, unit);
	snprintf(tgt, sizeof tgt, ">= %.2f x", target);
	if (tps > 0) {
		snprintf(ref, sizeof ref, "pgbench TPC-B %.0f tps", tps);
		snprintf(ratio, sizeof ratio, "%.2f", value / tps);
		bench_row(fig, val, ref, ratio, tgt, value / tps >= target ? "met" : "NOT met");
	} else {
		bench_row(fig, val, "pgbench TPC-B: skipped", "", tgt, "(no reference)");
	}
}

int main(int argc, char **argv)
{
	opts_t o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_guard_install();
	bench_cluster_t cl;
	if (!bench_cluster_load(o.pg_dir, &cl) || access(o.wallet, X_OK) != 0) {
		if (access(o.wallet, X_OK) != 0)
			fprintf(stderr, "bench_wallet: %s is not an executable\n", o.wallet);
		return 2;
	}
	if (!o.no_pgbench && access(o.pgbench, X_OK) != 0) {
		fprintf(stderr, "bench_wallet: %s is not an executable (or give --no-pgbench)\n",
			o.pgbench);
		return 2;
	}
	bench_daemon_t g;
	if (!bench_daemon_init(&g, "wallet", "the wallet"))
		return 2;
	long max_body = (long)o.batch * ITEM_MAX + 65536;
	int naddr = o.owners * o.accounts;

	char cpu[300];
	bench_header("duxos-wallet", cpu, sizeof cpu);
	char most[DUX_MONEY_STRLEN];
	printf("load generator: %d keep-alive HTTP/1.1 connections over %d threads (epoll, one "
	       "request in flight per connection), raw sockets, in this process. Connection c is "
	       "owner c mod %d (its bearer token) and sends immediate transfers from that owner's "
	       "accounts to random accounts of any owner, each with an id never used before, "
	       "amounts of 0.00000001 to %s FLOP.\n",
	       o.conns, o.lg_threads, o.owners, dux_money_format(MAX_AMOUNT, most));
	bench_note_shared_cpus();
	printf("each figure: %g s measured after %g s of warm-up; %d owners x %d accounts, each "
	       "funded with %d FLOP by the admin faucet; duxos-wallet with wallet.encryption true, "
	       "log.level warn, db.pool_size %d, http.max_body %ld, a thread per connection; every "
	       "answer must be 201, and the answers that come after the window are awaited and "
	       "checked too.\n\n",
	       o.duration, o.warmup, o.owners, o.accounts, o.fund, o.pool_size, max_body);

	/* a. the reference, first, on the machine alone */
	printf("[a] reference: pgbench TPC-B on the same PostgreSQL, database %s\n", PGBENCH_DB);
	double tps = -1, pg_lat = -1, pg_tx_us = -1;
	bench_pgbench_result_t pgr = {0};
	char pgcmd[200] = "";
	bench_pgbench_t pgb = {.pgbench = o.pgbench, .db = PGBENCH_DB, .scale = o.pgbench_scale,
			       .clients = o.pgbench_clients, .secs = (int)(o.duration + 0.5)};
	if (o.no_pgbench) {
		printf("  skipped (--no-pgbench)\n");
	} else {
		if (!bench_pgbench(&cl, &pgb, &pgr, pgcmd, sizeof pgcmd))
			return 2;
		tps = pgr.tps;
		pg_lat = pgr.lat_ms;
		pg_tx_us = pgr.pg_cpu_s / (tps * pgr.wall_s) * 1e6;
		printf("  %-34s %9.0f tps  latency average %.3f ms  (%s)\n", "pgbench TPC-B", tps,
		       pg_lat, pgcmd);
		printf("  %-34s PostgreSQL %.2f cores busy, %.0f us of CPU per transaction (pgbench "
		       "itself runs on the same CPUs)\n",
		       "", pgr.pg_cpu_s / pgr.wall_s, pg_tx_us);
		bench_pgwait_print("pgbench's", o.pgbench_clients, &pgr.wait);
		if (pgr.have_stats)
			bench_pgstat_print("PostgreSQL during pgbench", "pgbench_accounts", &pgr.st0,
					   &pgr.st1);
	}

	/* the wallet, its owners and their money */
	char keyfile[300];
	snprintf(keyfile, sizeof keyfile, "%s/auth.pub.pem", g.workdir);
	dux_key_t *key = NULL;
	world_t w = {.o = &o, .owners = calloc((size_t)o.owners, sizeof(owner_t)),
		     .addr = calloc((size_t)naddr, DUX_ADDRESS_MAX), .naddr = naddr};
	/* tokens outlive the whole run */
	int64_t ttl = 3600 + (int64_t)(4 * (o.duration + o.warmup));
	bool ok = w.owners && w.addr && th_auth_key(keyfile, &key) &&
		  bench_bearer(key, "bench-admin", DUX_SCOPE_ADMIN, ttl, w.admin, sizeof w.admin);
	for (int k = 0; ok && k < o.owners; k++) {
		snprintf(w.owners[k].sub, sizeof w.owners[k].sub, "bench-owner-%d", k);
		ok = bench_bearer(key, w.owners[k].sub, DUX_SCOPE_USER, ttl, w.owners[k].auth,
			    sizeof w.owners[k].auth);
	}
	if (!ok) {
		fprintf(stderr, "bench_wallet: cannot make the token key or the tokens\n");
		return 2;
	}
	printf("\n[b-c] duxos-wallet, db.pool_size %d\n", o.pool_size);
	if (!bench_fresh_db(&cl, WALLET_DB) || !wallet_start(&g, &o, &cl, keyfile, max_body))
		return 2;
	double rate_acct = 0, rate_fund = 0;
	int setup_threads = o.conns < 8 ? o.conns : 8;
	if (!bench_parallel(naddr, setup_threads, g.port, create_account, &w, &rate_acct) ||
	    !bench_parallel(naddr, setup_threads, g.port, fund_account, &w, &rate_fund)) {
		fprintf(stderr, "bench_wallet: the set-up of accounts failed\n");
		bench_daemon_stop(&g);
		return 2;
	}
	printf("  %-34s %d (%d owners x %d), POST /v1/wallet/address, %.0f /s\n", "accounts", naddr,
	       o.owners, o.accounts, rate_acct);
	printf("  %-34s %d x %d FLOP, POST /v1/faucet (admin), %.0f /s\n", "faucet credits", naddr,
	       o.fund, rate_fund);

	int exit_code = 0;
	wrun_t single, batch;
	char label[64];
	printf("\n[b] single immediate transfers: 1 per request\n");
	if (!wallet_run(&o, &w, &cl, &g, 1, "POST /v1/transfers (1)", &single))
		return 2;
	printf("\n[c] batched immediate transfers: %d per request\n", o.batch);
	snprintf(label, sizeof label, "POST /v1/transfers (%d)", o.batch);
	if (!wallet_run(&o, &w, &cl, &g, o.batch, label, &batch))
		return 2;
	if (!single.run.valid || !batch.run.valid)
		exit_code = 1;

	/* d. the ledger adds up, and holds exactly what the 201 answers carried */
	printf("\n[d] ledger check: GET /v1/ledger/check (admin)\n");
	bench_ledger_t lg = {.transfers = -1};
	long long expected = naddr + (long long)single.answered +
			     (long long)batch.answered * o.batch;
	bool checked = bench_ledger_check(g.port, w.admin, &lg);
	bool holds = lg.holds;
	long long count = lg.transfers;
	bool matches = checked && holds && count == expected;
	if (checked)
		printf("  %-34s holds %s; %lld transfers: %d faucet credits + %lld single + %lld x %d "
		       "batched = %lld expected: %s\n",
		       "ledger", holds ? "true" : "FALSE", count, naddr,
		       (long long)single.answered, (long long)batch.answered, o.batch, expected,
		       count == expected ? "match" : "MISMATCH");
	if (!matches)
		exit_code = 1;
	if (!bench_daemon_stop(&g))
		exit_code = 1;

	/* the summary */
	char val[64], ref[128];
	printf("\n== summary (wallet db.pool_size %d, %d connections = pgbench clients %d; every "
	       "run is listed above) ==\n",
	       o.pool_size, o.conns, o.pgbench_clients);
	bench_row("figure", "value", "reference", "ratio", "target", "verdict");
	summary_figure("single transfers", single.run.rate, tps, TARGET_SINGLE_RATIO, "/s");
	snprintf(val, sizeof val, "%.2f/%.2f ms", single.run.p50 / 1000, single.run.p99 / 1000);
	if (pg_lat > 0)
		snprintf(ref, sizeof ref, "pgbench latency average %.2f ms", pg_lat);
	else
		ref[0] = '\0';
	bench_row("  latency p50/p99", val, ref, "", "", "");
	snprintf(label, sizeof label, "batched transfers (%d/req)", o.batch);
	summary_figure(label, batch.run.rate * o.batch, tps, TARGET_BATCH_RATIO, "/s");
	snprintf(val, sizeof val, "%.0f req/s", batch.run.rate);
	bench_row("  requests", val, "", "", "", "");
	snprintf(val, sizeof val, "%.2f/%.2f ms", batch.run.p50 / 1000, batch.run.p99 / 1000);
	bench_row("  latency p50/p99", val, "per request", "", "", "");
	bench_row("PostgreSQL CPU per transfer", "", "", "", "", "");
	snprintf(val, sizeof val, "%.0f us", per_transfer_us(&single));
	if (pg_tx_us > 0)
		snprintf(ref, sizeof ref, "pgbench %.0f us per transaction", pg_tx_us);
	else
		ref[0] = '\0';
	bench_row("  single", val, ref, "", "", "");
	snprintf(val, sizeof val, "%.0f us", per_transfer_us(&batch));
	bench_row("  batched", val, "", "", "", "");
	snprintf(val, sizeof val, "%.1f of %d", batch.wait.lock, o.pool_size);
	snprintf(ref, sizeof ref, "single %.1f, pgbench %.1f", single.wait.lock,
		 o.no_pgbench ? 0.0 : pgr.wait.lock);
	bench_row("backends waiting for a lock", val, ref, "", "", "");
	snprintf(val, sizeof val, "%s", matches ? "holds" : "FAILED");
	snprintf(ref, sizeof ref, "%lld transfers, %lld expected", count, expected);
	bench_row("ledger check", val, ref, "", "", "");
	bench_footer(cpu);
	printf("run %s.\n", exit_code == 0 ? "VALID (no transport error, every answer 201, the "
					     "ledger holds every transfer answered)"
					   : "INVALID: see the errors, other answers or the ledger "
					     "check above");

	free(single.run.r);
	free(batch.run.r);
	free(w.owners);
	free(w.addr);
	dux_key_free(key);
	if (!o.keep_logs && exit_code == 0)
		unlink(keyfile);
	bench_daemon_finish(&g, !o.keep_logs && exit_code == 0);
	return exit_code;
}
