/* bench_escrow.c - how many escrows per second duxos-escrow creates and releases, beside pgbench
 * TPC-B measured on the same PostgreSQL in the same run:
 *
 *   create+release pairs/s    POST /v1/escrow/create (user), then POST /v1/escrow/release
 *                             (service) of the escrow it made        target >= 0.30 x pgbench tps
 *
 * measured once for each escrow.fund_shards of --shards (default 16, the daemon's default, then
 * 1: every release credits ONE fund row), so that the report shows what the sharding buys.
 *
 * duxos-wallet and duxos-escrow run as child processes on one database of the PostgreSQL
 * cluster given (made by deploy/local/pgctl.sh), fresh for each run, with a generated token key:
 * the escrow talks to the wallet with a service token for sub duxos-escrow and signs its audit
 * log with a generated Ed25519 key. Owners get accounts funded by the admin faucet, providers
 * accounts of their own. Each connection of the load generator is one owner with the releasing
 * service beside it: it creates an escrow from a random account of its owner to a random
 * provider account, reads the id from the answer and releases it with a random SHA-256 hex
 * result_hash, and so on. After the load, every escrow the benchmark created must be released
 * (GET /v1/escrows as admin), the community fund's balance must equal the sum of the 5 %
 * shares (floor(amount x 500 / 10000) per escrow), and GET /v1/ledger/check must hold and count
 * exactly the faucet credits and the four transfers of each escrow (two holds, two posts).
 * Run it through tests/bench/escrow/run.sh, which builds a release tree and makes the cluster.
 *
 * Exit status: 0 when the run is valid, whatever the figures; 1 when it is not (transport
 * errors, an answer other than 201 to a create or 200 "released" to a release, an escrow not
 * released, a fund or ledger that does not add up, a daemon that did not stop cleanly); 2 on
 * bad usage or a set-up failure. */
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
#include <sys/resource.h>
#include <unistd.h>

#define TARGET_RATIO 0.30 /* create+release pairs/s against pgbench tps */
#define DB "bench_escrow"  /* the wallet's and the escrow's schemas, one database */
#define PGBENCH_DB "bench_pgbench"
#define BPS 500            /* escrow.community_bps (its default): the fund's 5 % */
#define ESCROW_SUB "duxos-escrow"
#define SERVICE_SUB "bench-tasks" /* the service that releases */
#define ID_LEN 36                 /* "esc_" + 32 hex */
#define SPREAD 10000              /* amounts: 1 FLOP + 0 .. 9999 units */
#define SHARDS_MAX 4              /* runs in one invocation */

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* ---- options ---- */

typedef struct {
	const char *pg_dir, *wallet, *escrow, *pgbench;
	double duration, warmup;
	int conns, lg_threads;
	int pool_size; /* db.pool_size of both daemons; 0 = conns + 4 */
	int owners, accounts, providers;
	int fund; /* FLOP the faucet gives each owner account */
	int shards[SHARDS_MAX], nshards;
	int pgbench_scale, pgbench_clients; /* clients 0 = conns */
	bool no_pgbench, keep_logs;
} opts_t;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bench_escrow --pg-dir DIR --wallet PATH --escrow PATH [--pgbench PATH] "
		"[options]\n"
		"\n"
		"  --pg-dir DIR         cluster made by deploy/local/pgctl.sh init DIR\n"
		"  --wallet PATH        the duxos-wallet binary (a release build)\n"
		"  --escrow PATH        the duxos-escrow binary (a release build)\n"
		"  --pgbench PATH       pgbench (default /usr/lib/postgresql/15/bin/pgbench)\n"
		"  --duration S         measured seconds per run, and pgbench -T (default 10)\n"
		"  --warmup S           seconds of warm-up not counted (default 1)\n"
		"  --conns N            keep-alive connections of the load generator, each one "
		"owner's\n"
		"                       create+release pairs (default 16)\n"
		"  --lg-threads N       load-generator threads the connections share (default 2)\n"
		"  --pool-size N        db.pool_size of the wallet and of the escrow (default: --conns "
		"+ 4)\n"
		"  --owners N           owners, each with its own user token (default 16)\n"
		"  --accounts N         accounts per owner (default 4)\n"
		"  --providers N        provider accounts, each of its own provider (default 16)\n"
		"  --fund FLOP          what the faucet credits each owner account (default 10000)\n"
		"  --shards LIST        escrow.fund_shards of each run, comma-separated (default 16,1)\n"
		"  --pgbench-scale N    pgbench -i -s N (default 8)\n"
		"  --pgbench-clients N  pgbench -c N (default: --conns, the same client count)\n"
		"  --no-pgbench         skip the pgbench reference (no ratios, no verdicts)\n"
		"  --keep-logs          keep the daemons' logs and configs in their work directories\n");
}

static bool parse_shards(const char *s, opts_t *o)
{
	o->nshards = 0;
	char buf[64];
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (o->nshards >= SHARDS_MAX || !bench_parse_int(t, 1, 256, &o->shards[o->nshards++]))
			return false;
	return o->nshards > 0;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	enum { O_PG = 1, O_WAL, O_ESC, O_PGB, O_DUR, O_WARM, O_CONNS, O_LGT, O_POOL, O_OWNERS,
	       O_ACCTS, O_PROV, O_FUND, O_SHARDS, O_SCALE, O_PGC, O_NOPGB, O_KEEP, O_HELP };
	static const struct option lo[] = {
		{"pg-dir", required_argument, NULL, O_PG},
		{"wallet", required_argument, NULL, O_WAL},
		{"escrow", required_argument, NULL, O_ESC},
		{"pgbench", required_argument, NULL, O_PGB},
		{"duration", required_argument, NULL, O_DUR},
		{"warmup", required_argument, NULL, O_WARM},
		{"conns", required_argument, NULL, O_CONNS},
		{"lg-threads", required_argument, NULL, O_LGT},
		{"pool-size", required_argument, NULL, O_POOL},
		{"owners", required_argument, NULL, O_OWNERS},
		{"accounts", required_argument, NULL, O_ACCTS},
		{"providers", required_argument, NULL, O_PROV},
		{"fund", required_argument, NULL, O_FUND},
		{"shards", required_argument, NULL, O_SHARDS},
		{"pgbench-scale", required_argument, NULL, O_SCALE},
		{"pgbench-clients", required_argument, NULL, O_PGC},
		{"no-pgbench", no_argument, NULL, O_NOPGB},
		{"keep-logs", no_argument, NULL, O_KEEP},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	*o = (opts_t){.pgbench = "/usr/lib/postgresql/15/bin/pgbench", .duration = 10, .warmup = 1,
		      .conns = 16, .lg_threads = 2, .owners = 16, .accounts = 4, .providers = 16,
		      .fund = 10000, .shards = {16, 1}, .nshards = 2, .pgbench_scale = 8};
	int c;
	bool ok = true;
	while (ok && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PG: o->pg_dir = optarg; break;
		case O_WAL: o->wallet = optarg; break;
		case O_ESC: o->escrow = optarg; break;
		case O_PGB: o->pgbench = optarg; break;
		case O_DUR: ok = bench_parse_secs(optarg, 1, &o->duration); break;
		case O_WARM: ok = bench_parse_secs(optarg, 0, &o->warmup); break;
		case O_CONNS: ok = bench_parse_int(optarg, 1, 200, &o->conns); break;
		case O_LGT: ok = bench_parse_int(optarg, 1, 64, &o->lg_threads); break;
		case O_POOL: ok = bench_parse_int(optarg, 1, 256, &o->pool_size); break;
		case O_OWNERS: ok = bench_parse_int(optarg, 1, 10000, &o->owners); break;
		case O_ACCTS: ok = bench_parse_int(optarg, 1, 1000, &o->accounts); break;
		case O_PROV: ok = bench_parse_int(optarg, 1, 10000, &o->providers); break;
		case O_FUND: ok = bench_parse_int(optarg, 10, 1000000, &o->fund); break;
		case O_SHARDS: ok = parse_shards(optarg, o); break;
		case O_SCALE: ok = bench_parse_int(optarg, 1, 1000, &o->pgbench_scale); break;
		case O_PGC: ok = bench_parse_int(optarg, 1, 100, &o->pgbench_clients); break;
		case O_NOPGB: o->no_pgbench = true; break;
		case O_KEEP: o->keep_logs = true; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: ok = false;
		}
	}
	if (!ok || optind < argc || !o->pg_dir || !o->wallet || !o->escrow) {
		usage(stderr);
		return -1;
	}
	if (o->owners * o->accounts > 100000) {
		fprintf(stderr, "bench_escrow: --owners x --accounts must be at most 100000\n");
		return -1;
	}
	if (!o->pool_size)
		o->pool_size = o->conns + 4;
	if (!o->pgbench_clients)
		o->pgbench_clients = o->conns;
	if (o->lg_threads > o->conns)
		o->lg_threads = o->conns;
	return 0;
}

/* ---- tokens and accounts ---- */

typedef struct {
	char auth[BENCH_AUTH_MAX]; /* "Authorization: Bearer ...\r\n" */
} tok_t;

typedef struct {
	const opts_t *o;
	dux_key_t *key;
	int64_t ttl;
	tok_t *owners, *providers;
	char admin[BENCH_AUTH_MAX], service[BENCH_AUTH_MAX];
	char *escrow_token; /* the escrow's own, for the wallet (bare token) */
	char (*addr)[DUX_ADDRESS_MAX];  /* owner k's accounts: addr[k * accounts ...] */
	char (*paddr)[DUX_ADDRESS_MAX]; /* provider accounts */
	int naddr;
} world_t;

/* POST /v1/wallet/address: owner accounts first, then provider accounts (bench_parallel's fn). */
static bool create_account(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen)
{
	world_t *w = ctx;
	bool owner = i < w->naddr;
	const char *auth = owner ? w->owners[i / w->o->accounts].auth
				 : w->providers[i - w->naddr].auth;
	char *dst = owner ? w->addr[i] : w->paddr[i - w->naddr];
	return bench_new_account(s, auth, dst, err, errlen);
}

/* POST /v1/faucet as the admin: an owner account gets --fund FLOP (bench_parallel's fn). */
static bool fund_account(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen)
{
	world_t *w = ctx;
	return bench_faucet(s, w->admin, w->addr[i], w->o->fund, err, errlen);
}

/* ---- the load: each connection alternates create and release ---- */

enum { K_CREATE, K_RELEASE };

typedef struct {
	uint64_t rng, seq;
	int next, sent;        /* what the maker sends next / what is in flight (K_*) */
	char id[ID_LEN + 1];   /* the escrow created, to release next */
	int64_t amount;        /* of the create in flight, base units */
	uint64_t created, released;         /* ok answers in the whole run */
	uint64_t win_created, win_released; /* of those, inside the window */
	uint64_t bad_create, bad_release;
	int64_t shares;        /* sum of floor(amount x BPS / 10000) of the creates answered 201 */
	uint64_t h_create[LG_HIST_BUCKETS], h_release[LG_HIST_BUCKETS]; /* window only */
	char body[640];
} conn_state_t;

typedef struct {
	const world_t *w;
	conn_state_t *cs;
} mk_t;

static uint64_t next_rand(uint64_t *s) /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int64_t share_of(int64_t amount)
{
	return amount * BPS / 10000; /* floor: amount > 0, no overflow below 1.8e15 units */
}

static int make_pair(void *ctx, int c, char *buf, size_t cap)
{
	mk_t *m = ctx;
	const world_t *w = m->w;
	conn_state_t *st = &m->cs[c];
	if (st->next == K_RELEASE) {
		/* a random SHA-256 digest as the result of the work */
		uint64_t seed[4] = {next_rand(&st->rng), next_rand(&st->rng), st->seq, (uint64_t)c};
		uint8_t h[DUX_SHA256_LEN];
		char hex[2 * DUX_SHA256_LEN + 1];
		dux_sha256(seed, sizeof seed, h);
		dux_hex_encode(h, sizeof h, hex);
		snprintf(st->body, sizeof st->body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}",
			 st->id, hex);
		st->sent = K_RELEASE;
		return lg_format(buf, cap, "POST", "/v1/escrow/release", w->service, st->body);
	}
	const opts_t *o = w->o;
	int owner = c % o->owners;
	int a = owner * o->accounts + (int)(next_rand(&st->rng) % (uint64_t)o->accounts);
	int p = (int)(next_rand(&st->rng) % (uint64_t)o->providers);
	char amount[DUX_MONEY_STRLEN];
	st->amount = DUX_UNITS_PER_FLOP + (int64_t)(next_rand(&st->rng) % SPREAD);
	int n = snprintf(st->body, sizeof st->body,
			 "{\"api_id\":\"bench-api-%d-%llu\",\"user_wallet\":\"%s\","
			 "\"provider_wallet\":\"%s\",\"amount\":\"%s\"}",
			 c, (unsigned long long)st->seq++, w->addr[a], w->paddr[p],
			 dux_money_format(st->amount, amount));
	if (n < 0 || (size_t)n >= sizeof st->body)
		return -1;
	st->sent = K_CREATE;
	return lg_format(buf, cap, "POST", "/v1/escrow/create", w->owners[owner].auth, st->body);
}

/* The id of the escrow a create answered: "id":"esc_<32 hex>". */
static bool id_from(const char *body, size_t len, char ret[ID_LEN + 1])
{
	static const char key[] = "\"id\":\"";
	const char *p = memmem(body, len, "\"id\":\"esc_", sizeof key - 1 + 4);
	if (!p || (size_t)(body + len - p) < sizeof key - 1 + ID_LEN + 1)
		return false;
	p += sizeof key - 1;
	if (p[ID_LEN] != '"' || strspn(p + 4, "0123456789abcdef") < ID_LEN - 4)
		return false;
	memcpy(ret, p, ID_LEN);
	ret[ID_LEN] = '\0';
	return true;
}

static bool on_answer(void *ctx, int c, int status, const char *body, size_t len,
		      int64_t latency_ns, int when)
{
	mk_t *m = ctx;
	conn_state_t *st = &m->cs[c];
	if (st->sent == K_CREATE) {
		bool ok = status == 201 && id_from(body, len, st->id);
		if (!ok) {
			st->bad_create++;
			st->next = K_CREATE;
			return false;
		}
		st->created++;
		st->shares += share_of(st->amount);
		st->next = K_RELEASE;
		if (when == LG_WINDOW) {
			st->win_created++;
			lg_hist_add(st->h_create, latency_ns);
		}
		return true;
	}
	/* a refused release leaves its escrow held: the check after the load finds it */
	st->next = K_CREATE;
	bool ok = status == 200 && memmem(body, len, "\"status\":\"released\"", 19);
	if (!ok) {
		st->bad_release++;
		return false;
	}
	st->released++;
	if (when == LG_WINDOW) {
		st->win_released++;
		lg_hist_add(st->h_release, latency_ns);
	}
	return true;
}

/* ---- the daemons ---- */

typedef struct {
	bench_daemon_t wallet, escrow;
	char pubfile[300], auditfile[300];
} daemons_t;

static bool wallet_start(bench_daemon_t *g, const opts_t *o, const bench_cluster_t *cl,
			 const char *keyfile)
{
	char conninfo[600], yaml[4096], pass[33];
	bench_conninfo_for(cl, DB, conninfo, sizeof conninfo);
	dux_random_id(pass);
	snprintf(yaml, sizeof yaml,
		 "# generated by bench_escrow\n"
		 "http:\n  bind: 127.0.0.1\n  port: %d\n"
		 "db:\n  conninfo: \"%s\"\n  password_file: %s\n  pool_size: %d\n"
		 "bus:\n  endpoint: \"tcp://127.0.0.1:%d\"\n"
		 "log:\n  level: warn\n"
		 "auth:\n  public_key_file: %s\n"
		 "wallet:\n  chain: none\n  encryption: true\n  passphrase: \"%s\"\n"
		 "  faucet_limit: \"%d\"\n",
		 g->port, conninfo, cl->password_file, o->pool_size, th_free_port(), keyfile, pass,
		 o->fund);
	return bench_daemon_start(g, o->wallet, yaml);
}

static bool escrow_start(bench_daemon_t *g, const opts_t *o, const bench_cluster_t *cl,
			 const daemons_t *d, const world_t *w, int shards)
{
	char conninfo[600], yaml[6144];
	bench_conninfo_for(cl, DB, conninfo, sizeof conninfo);
	snprintf(yaml, sizeof yaml,
		 "# generated by bench_escrow\n"
		 "http:\n  bind: 127.0.0.1\n  port: %d\n"
		 "db:\n  conninfo: \"%s\"\n  password_file: %s\n  pool_size: %d\n"
		 "bus:\n  endpoint: \"tcp://127.0.0.1:%d\"\n"
		 "log:\n  level: warn\n"
		 "auth:\n  public_key_file: %s\n"
		 "escrow:\n  wallet_url: \"http://127.0.0.1:%d\"\n  wallet_token: \"%s\"\n"
		 "  audit_key_file: %s\n  fund_shards: %d\n  community_bps: %d\n",
		 g->port, conninfo, cl->password_file, o->pool_size, th_free_port(), d->pubfile,
		 d->wallet.port, w->escrow_token, d->auditfile, shards, BPS);
	return bench_daemon_start(g, o->escrow, yaml);
}

/* GET /v1/community-fund until it answers 200 with every shard (30 s at most). */
static bool wait_fund(const bench_daemon_t *g, int shards)
{
	for (double until = sys_now_s() + 30; sys_now_s() < until; usleep(50000)) {
		char *text = NULL;
		int st = bench_call(g->port, "GET", "/v1/community-fund", NULL, NULL, &text);
		cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
		int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "shards"));
		cJSON_Delete(j);
		free(text);
		if (st == 200 && n == shards)
			return true;
	}
	fprintf(stderr, "bench_escrow: GET /v1/community-fund never answered 200 with %d shards\n",
		shards);
	return false;
}

/* ---- what is measured after the load ---- */

typedef struct {
	int64_t count, released, other; /* escrows listed, released, in any other status */
	int64_t shares;                  /* sum of floor(amount x BPS / 10000) of those listed */
	int64_t paid_community;          /* sum of paid.community */
	char first_other[96];
} listing_t;

static bool money_of(const cJSON *o, const char *key, int64_t *ret)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
	return s && dux_money_parse(s, strlen(s), false, ret) == 0;
}

/* Every escrow, page by page (GET /v1/escrows as admin). */
static bool list_escrows(const bench_daemon_t *g, const world_t *w, listing_t *ret)
{
	memset(ret, 0, sizeof *ret);
	char path[200], cursor[ID_LEN + 1] = "";
	for (;;) {
		snprintf(path, sizeof path, "/v1/escrows?limit=500%s%s", *cursor ? "&cursor=" : "",
			 cursor);
		char *text = NULL;
		int st = bench_call(g->port, "GET", path, w->admin, NULL, &text);
		cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "escrows"), *e;
		if (!cJSON_IsArray(arr)) {
			printf("  %-34s GET %s answered %d: %.300s\n", "", path, st,
			       text ? text : "(no answer)");
			cJSON_Delete(j);
			free(text);
			return false;
		}
		cJSON_ArrayForEach(e, arr)
		{
			int64_t amount = 0, paid = 0;
			const char *status =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "status"));
			if (!money_of(e, "amount", &amount) ||
			    !money_of(cJSON_GetObjectItemCaseSensitive(e, "paid"), "community", &paid)) {
				cJSON_Delete(j);
				free(text);
				return false;
			}
			ret->count++;
			ret->shares += share_of(amount);
			ret->paid_community += paid;
			if (status && strcmp(status, "released") == 0) {
				ret->released++;
			} else {
				if (!ret->other)
					snprintf(ret->first_other, sizeof ret->first_other, "%s %s",
						 cJSON_GetStringValue(
							 cJSON_GetObjectItemCaseSensitive(e, "id")),
						 status ? status : "?");
				ret->other++;
			}
		}
		const char *next =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "next_cursor"));
		bool more = next && strlen(next) == ID_LEN;
		if (more)
			snprintf(cursor, sizeof cursor, "%s", next);
		cJSON_Delete(j);
		free(text);
		if (!more)
			return true;
	}
}

typedef struct {
	int64_t balance, inflow;
	int shards, bps;
} fund_t;

/* GET /v1/community-fund: the fund job's last reading of the balance, the inflow the escrow
 * recorded, the shards and the rate. quiet: no message when it does not answer 200. */
static bool read_fund(const bench_daemon_t *g, fund_t *ret, bool quiet)
{
	char *text = NULL;
	int st = bench_call(g->port, "GET", "/v1/community-fund", NULL, NULL, &text);
	cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
	const cJSON *bps = cJSON_GetObjectItemCaseSensitive(j, "community_bps");
	bool ok = money_of(j, "balance", &ret->balance) && money_of(j, "total_inflow", &ret->inflow) &&
		  cJSON_IsNumber(bps);
	if (ok) {
		ret->bps = (int)bps->valuedouble;
		ret->shards = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "shards"));
	} else if (!quiet) {
		printf("  %-34s GET /v1/community-fund answered %d: %.300s\n", "", st,
		       text ? text : "(no answer)");
	}
	cJSON_Delete(j);
	free(text);
	return ok;
}

/* What the escrow's own accounts (the shards) hold in the wallet: GET /v1/wallet/balance with
 * its token. ret_n: how many accounts. */
static bool wallet_fund(const bench_daemon_t *wallet, const world_t *w, int64_t *ret,
			int *ret_n)
{
	char auth[BENCH_AUTH_MAX], *text = NULL;
	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", w->escrow_token);
	int st = bench_call(wallet->port, "GET", "/v1/wallet/balance", auth, NULL, &text);
	cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
	bool ok = money_of(cJSON_GetObjectItemCaseSensitive(j, "total"), "balance", ret);
	*ret_n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "accounts"));
	if (!ok)
		printf("  %-34s GET /v1/wallet/balance (as %s) answered %d: %.300s\n", "", ESCROW_SUB,
		       st, text ? text : "(no answer)");
	cJSON_Delete(j);
	free(text);
	return ok;
}


/* ---- one run: fresh database, both daemons, the load, the checks ---- */

typedef struct {
	int shards;
	bool ran;   /* the load ran (figures below are real) */
	bool valid; /* and every check held */
	bench_run_t run;
	double pairs, creates; /* per second, in the window */
	double c50, c99, r50, r99; /* latency, us */
	uint64_t created, released, leftover, leftover_ok, bad_create, bad_release;
	double cpu_wallet;
	double cpu_others, steal; /* CPU seconds of other work on the machine; stolen */
	double pg_wallet, pg_escrow; /* CPU seconds of the wallet's and the escrow's backends */
	double srv_create, srv_release, srv_transfers; /* server-side means, ms */
	bench_pgwait_t wait_w, wait_e;
	bench_pgstat_t st0, st1;
	bool have_stats;
	long long audit_queued, audit_chained;
	int64_t shares; /* sum of floor(amount x BPS / 10000) of the creates answered 201 */
	bool checks_ok;
} erun_t;

/* The pairs the CPU of a run bought: its answers (warm-up, window, drain) over 2. */
static double pairs_done(const erun_t *x)
{
	return (double)(x->created + x->released - x->leftover_ok) / 2;
}

static void metrics_routes(int port, const char *const *routes, int n, double *sum, double *cnt)
{
	char *text = NULL;
	bool got = bench_call(port, "GET", "/metrics", NULL, NULL, &text) == 200 && text;
	for (int i = 0; i < n; i++)
		if (!got || !bench_metrics_route(text, "POST", routes[i], &sum[i], &cnt[i]))
			sum[i] = cnt[i] = 0;
	free(text);
}

static double mean_ms(double s0, double c0, double s1, double c1)
{
	return c1 > c0 ? (s1 - s0) / (c1 - c0) * 1000 : -1;
}

/* The load and its figures (the daemons are up, the accounts funded). */
static bool measure(const opts_t *o, const world_t *w, const bench_cluster_t *cl,
		    const daemons_t *d, erun_t *x)
{
	mk_t m = {.w = w, .cs = calloc((size_t)o->conns, sizeof(conn_state_t))};
	if (!m.cs)
		return false;
	for (int c = 0; c < o->conns; c++) {
		dux_random_bytes(&m.cs[c].rng, sizeof m.cs[c].rng);
		m.cs[c].rng |= 1;
	}
	static const char *const eroutes[] = {"/escrow/create", "/escrow/release"};
	static const char *const wroutes[] = {"/transfers"};
	double es0[2], ec0[2], es1[2], ec1[2], ws0[1], wc0[1], ws1[1], wc1[1];
	bench_load_t load = {.conns = o->conns, .threads = o->lg_threads, .warmup = o->warmup,
			     .duration = o->duration, .req_max = 2 * BENCH_AUTH_MAX + 2048, .drain = true,
			     .answer = on_answer};
	(void)bench_sql(cl, NULL, "CHECKPOINT", NULL, 0);
	x->have_stats = bench_pgstat_read(cl, DB, "wallet", "accounts", &x->st0);
	metrics_routes(d->escrow.port, eroutes, 2, es0, ec0);
	metrics_routes(d->wallet.port, wroutes, 1, ws0, wc0);
	bench_pgwait_sampler_t *sw = bench_pgwait_start_app(cl, DB, "wallet");
	bench_pgwait_sampler_t *se = bench_pgwait_start_app(cl, DB, "escrow");
	bench_pgcpu_t pw0, pe0, pw1, pe1;
	bool cpu_split = bench_pgcpu_read(cl, DB, "wallet", &pw0) &&
			 bench_pgcpu_read(cl, DB, "escrow", &pe0);
	double cw0 = sys_cpu_s(d->wallet.pid), st0 = 0, st1 = 0, self0 = sys_self_cpu_s();
	double m0 = sys_machine_busy_s(&st0);
	bool ok = bench_measure(&load, d->escrow.port, make_pair, &m, d->escrow.pid,
				cl->postmaster, &x->run);
	double m1 = sys_machine_busy_s(&st1);
	x->cpu_wallet = sys_cpu_s(d->wallet.pid) - cw0;
	/* the machine's busy time that neither this process (generator, samplers) nor the
	 * daemons nor PostgreSQL used */
	x->cpu_others = ok && m0 >= 0 && m1 >= 0
				? (m1 - m0) - (sys_self_cpu_s() - self0) - x->run.cpu_server -
					  x->cpu_wallet - x->run.cpu_pg
				: -1;
	x->steal = st1 - st0;
	cpu_split = cpu_split && bench_pgcpu_read(cl, DB, "wallet", &pw1) &&
		    bench_pgcpu_read(cl, DB, "escrow", &pe1);
	x->pg_wallet = cpu_split ? bench_pgcpu_delta(&pw0, &pw1) : -1;
	x->pg_escrow = cpu_split ? bench_pgcpu_delta(&pe0, &pe1) : -1;
	bench_pgwait_stop(sw, &x->wait_w);
	bench_pgwait_stop(se, &x->wait_e);
	/* how far the audit chainer is behind, right after the load */
	char v[64] = "";
	if (bench_sql(cl, DB, "SELECT (SELECT count(*) FROM escrow.audit_queue) || ' ' ||"
			      " (SELECT count(*) FROM escrow.audit_log)", v, sizeof v))
		sscanf(v, "%lld %lld", &x->audit_queued, &x->audit_chained);
	metrics_routes(d->escrow.port, eroutes, 2, es1, ec1);
	metrics_routes(d->wallet.port, wroutes, 1, ws1, wc1);
	x->have_stats = x->have_stats && bench_pgstat_read(cl, DB, "wallet", "accounts", &x->st1);
	if (!ok) {
		free(m.cs);
		return false;
	}
	x->ran = true;
	x->srv_create = mean_ms(es0[0], ec0[0], es1[0], ec1[0]);
	x->srv_release = mean_ms(es0[1], ec0[1], es1[1], ec1[1]);
	x->srv_transfers = mean_ms(ws0[0], wc0[0], ws1[0], wc1[0]);

	/* the latencies of each kind, and the counts */
	static uint64_t hc[LG_HIST_BUCKETS], hr[LG_HIST_BUCKETS];
	memset(hc, 0, sizeof hc);
	memset(hr, 0, sizeof hr);
	uint64_t wc = 0, wr = 0;
	int64_t shares = 0;
	for (int c = 0; c < o->conns; c++) {
		const conn_state_t *st = &m.cs[c];
		for (int k = 0; k < LG_HIST_BUCKETS; k++) {
			hc[k] += st->h_create[k];
			hr[k] += st->h_release[k];
		}
		wc += st->win_created;
		wr += st->win_released;
		x->created += st->created;
		x->released += st->released;
		x->bad_create += st->bad_create;
		x->bad_release += st->bad_release;
		shares += st->shares;
	}
	double el = x->run.r->elapsed_s;
	x->pairs = el > 0 ? (double)wr / el : 0;
	x->creates = el > 0 ? (double)wc / el : 0;
	x->c50 = lg_hist_quantile_us(hc, 0.50);
	x->c99 = lg_hist_quantile_us(hc, 0.99);
	x->r50 = lg_hist_quantile_us(hr, 0.50);
	x->r99 = lg_hist_quantile_us(hr, 0.99);

	/* escrows created whose release the window cut off: released now, counted apart */
	for (int c = 0; c < o->conns; c++) {
		conn_state_t *st = &m.cs[c];
		if (st->next != K_RELEASE)
			continue;
		x->leftover++;
		char *text = NULL;
		snprintf(st->body, sizeof st->body,
			 "{\"escrow_id\":\"%s\",\"result_hash\":\"%064d\"}", st->id, 0);
		int s = bench_call(d->escrow.port, "POST", "/v1/escrow/release", w->service, st->body,
				   &text);
		if (s == 200 && text && strstr(text, "\"status\":\"released\"")) {
			x->leftover_ok++;
			x->released++;
		} else {
			printf("  %-34s POST /v1/escrow/release %s after the window answered %d: "
			       "%.300s\n",
			       "", st->id, s, text ? text : "(no answer)");
		}
		free(text);
	}
	x->valid = x->run.valid && x->leftover_ok == x->leftover;

	/* the report of the load */
	const lg_result_t *r = x->run.r;
	double pairs_all = pairs_done(x);
	printf("  %-34s %9.0f /s  (%llu releases in %.2f s; creates %.0f /s)\n",
	       "create+release pairs", x->pairs, (unsigned long long)wr, el, x->creates);
	printf("  %-34s p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms\n", "  POST /v1/escrow/create",
	       x->c50 / 1000, x->c99 / 1000, lg_hist_quantile_us(hc, 0.999) / 1000);
	printf("  %-34s p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms\n", "  POST /v1/escrow/release",
	       x->r50 / 1000, x->r99 / 1000, lg_hist_quantile_us(hr, 0.999) / 1000);
	printf("  %-34s server-side means (their /metrics): escrow create %.2f ms, release %.2f ms; "
	       "wallet POST /transfers %.2f ms\n",
	       "", x->srv_create, x->srv_release, x->srv_transfers);
	printf("  %-34s creates 201: %llu, releases 200 \"released\": %llu (warm-up, window and the "
	       "%llu answers awaited after it); other answers: create %llu, release %llu; transport "
	       "errors %llu, reconnects %llu\n",
	       "answers", (unsigned long long)x->created,
	       (unsigned long long)(x->released - x->leftover_ok), (unsigned long long)r->late,
	       (unsigned long long)x->bad_create, (unsigned long long)x->bad_release,
	       (unsigned long long)r->errors, (unsigned long long)r->reconnects);
	if (r->first_bad_status)
		printf("  %-34s first bad answer: %d %s\n", "", r->first_bad_status,
		       r->first_bad_body);
	printf("  %-34s %llu escrows created in the window's last pair were released by the bench "
	       "afterwards (not counted in any rate): %llu answered 200\n",
	       "after the window", (unsigned long long)x->leftover,
	       (unsigned long long)x->leftover_ok);
	double wall = x->run.wall;
	printf("  %-34s CPU cores busy: generator %.2f, duxos-escrow %.2f, duxos-wallet %.2f, "
	       "PostgreSQL %.2f, other work on the machine %.2f (of %ld; stolen by the "
	       "hypervisor %.2f)\n",
	       "", x->run.cpu_gen / wall, x->run.cpu_server / wall, x->cpu_wallet / wall,
	       x->run.cpu_pg / wall, x->cpu_others / wall, sysconf(_SC_NPROCESSORS_ONLN),
	       x->steal / wall);
	if (pairs_all > 0)
		printf("  %-34s CPU per pair: PostgreSQL %.0f us, duxos-escrow %.0f us, duxos-wallet "
		       "%.0f us, generator %.0f us\n",
		       "", x->run.cpu_pg / pairs_all * 1e6, x->run.cpu_server / pairs_all * 1e6,
		       x->cpu_wallet / pairs_all * 1e6, x->run.cpu_gen / pairs_all * 1e6);
	if (pairs_all > 0 && x->pg_wallet >= 0)
		printf("  %-34s PostgreSQL's per pair: the wallet's backends %.0f us, the escrow's "
		       "%.0f us, the rest (WAL writer, checkpointer, autovacuum, the samplers) %.0f us\n",
		       "", x->pg_wallet / pairs_all * 1e6, x->pg_escrow / pairs_all * 1e6,
		       (x->run.cpu_pg - x->pg_wallet - x->pg_escrow) / pairs_all * 1e6);
	if (x->run.workers[0])
		printf("  %-34s CPU of each escrow HTTP thread: %s\n", "", x->run.workers);
	bench_pgwait_print("the wallet's", o->pool_size, &x->wait_w);
	bench_pgwait_print("the escrow's", o->pool_size, &x->wait_e);
	if (x->have_stats) {
		bench_pgstat_print("PostgreSQL during the run", "wallet.accounts", &x->st0, &x->st1);
		double sync = x->st1.wal_sync - x->st0.wal_sync;
		if (pairs_all > 0)
			printf("  %-34s per pair: %.0f WAL bytes, %.1f commits (both daemons), %.2f "
			       "WAL fsyncs\n",
			       "", (x->st1.wal_bytes - x->st0.wal_bytes) / pairs_all,
			       (x->st1.commits - x->st0.commits) / pairs_all, sync / pairs_all);
	}
	printf("  %-34s %lld entries chained, %lld queued for the chainer right after the load\n",
	       "audit log", x->audit_chained, x->audit_queued);
	x->shares = shares;
	free(m.cs);
	return true;
}

/* After the load: every escrow released, the fund = the sum of the shares, the ledger. */
static bool checks(const opts_t *o, const world_t *w, const daemons_t *d, erun_t *x,
		   int64_t expect_shares)
{
	listing_t l;
	fund_t f = {0};
	bench_ledger_t lg = {0};
	char a[DUX_MONEY_STRLEN], b[DUX_MONEY_STRLEN], c[DUX_MONEY_STRLEN];
	bool listed = list_escrows(&d->escrow, w, &l);
	bool all_released = listed && l.count == (int64_t)x->created && l.released == l.count &&
			    (int64_t)x->released == l.count;
	if (listed)
		printf("  %-34s %lld escrows (the bench's creates answered 201: %llu), %lld released, "
		       "%lld in another status%s%s: %s\n",
		       "GET /v1/escrows (admin)", (long long)l.count,
		       (unsigned long long)x->created, (long long)l.released, (long long)l.other,
		       l.other ? ", first " : "", l.first_other, all_released ? "ok" : "MISMATCH");
	/* the money in the wallet: the shard accounts hold the sum of the shares */
	int64_t in_wallet = -1;
	int naccts = 0;
	bool wallet_ok = wallet_fund(&d->wallet, w, &in_wallet, &naccts) &&
			 in_wallet == expect_shares && naccts == x->shards;
	if (in_wallet >= 0)
		printf("  %-34s %s FLOP in the escrow's %d accounts (GET /v1/wallet/balance as %s); "
		       "sum of floor(amount x %d / 10000) over the escrows created %s FLOP (over "
		       "those listed %s): %s\n",
		       "community fund in the wallet", dux_money_format(in_wallet, a), naccts,
		       ESCROW_SUB, BPS, dux_money_format(expect_shares, b),
		       dux_money_format(l.shares, c), wallet_ok && l.shares == expect_shares
							  ? "match"
							  : "MISMATCH");
	/* what the escrow shows: its fund job's reading (every fund_interval_ms) catches up */
	double t0 = sys_now_s(), waited = 0;
	bool got_fund = false;
	while ((got_fund = read_fund(&d->escrow, &f, true)) && f.balance != expect_shares &&
	       (waited = sys_now_s() - t0) < 10)
		usleep(50000);
	if (!got_fund)
		got_fund = read_fund(&d->escrow, &f, false);
	bool fund_ok = got_fund && listed && wallet_ok && f.balance == expect_shares &&
		       l.shares == expect_shares && f.inflow == expect_shares &&
		       l.paid_community == expect_shares && f.shards == x->shards && f.bps == BPS;
	if (got_fund)
		printf("  %-34s balance %s FLOP (the fund job's reading, %s after %.1f s), "
		       "total_inflow %s FLOP, %d shards, community_bps %d: %s\n",
		       "GET /v1/community-fund", dux_money_format(f.balance, a),
		       f.balance == expect_shares ? "equal" : "STILL DIFFERENT", waited,
		       dux_money_format(f.inflow, b), f.shards, f.bps, fund_ok ? "match" : "MISMATCH");
	long long faucet = (long long)o->owners * o->accounts;
	long long expect = faucet + 4 * (long long)x->created;
	bool got_ledger = bench_ledger_check(d->wallet.port, w->admin, &lg);
	bool ledger_ok = got_ledger && lg.holds && lg.transfers == expect && lg.pending == 0;
	if (got_ledger)
		printf("  %-34s holds %s; %lld transfers = %lld faucet credits + 4 x %llu escrows "
		       "(2 holds, 2 posts) = %lld expected; %lld pending: %s\n",
		       "wallet ledger check", lg.holds ? "true" : "FALSE", lg.transfers, faucet,
		       (unsigned long long)x->created, expect, lg.pending,
		       ledger_ok ? "match" : "MISMATCH");
	x->checks_ok = all_released && fund_ok && ledger_ok;
	return x->checks_ok;
}

/* After a set-up failure: whichever daemon runs is stopped (the escrow first). */
static void stop_both(daemons_t *d)
{
	if (d->escrow.pid > 0)
		(void)bench_daemon_stop(&d->escrow);
	if (d->wallet.pid > 0)
		(void)bench_daemon_stop(&d->wallet);
}

static bool one_run(const opts_t *o, world_t *w, const bench_cluster_t *cl, int shards,
		    erun_t *x)
{
	memset(x, 0, sizeof *x);
	x->shards = shards;
	daemons_t d;
	if (!bench_daemon_init(&d.wallet, "wallet", "the wallet") ||
	    !bench_daemon_init(&d.escrow, "escrow", "the escrow"))
		return false;
	snprintf(d.pubfile, sizeof d.pubfile, "%s/auth.pub.pem", d.escrow.workdir);
	snprintf(d.auditfile, sizeof d.auditfile, "%s/audit.pem", d.escrow.workdir);
	dux_key_t *audit = NULL;
	bool ok = dux_key_generate(&audit) == 0 && dux_key_save_file(audit, d.auditfile) == 0;
	dux_key_free(audit);
	ok = ok && th_auth_key(d.pubfile, &w->key);
	if (!ok) {
		fprintf(stderr, "bench_escrow: cannot write the keys\n");
		return false;
	}
	/* tokens: owners (user), providers (provider), admin, the releasing service, the escrow */
	char sub[64], escrow_auth[BENCH_AUTH_MAX];
	ok = bench_bearer(w->key, "bench-admin", DUX_SCOPE_ADMIN, w->ttl, w->admin, sizeof w->admin) &&
	     bench_bearer(w->key, SERVICE_SUB, DUX_SCOPE_SERVICE, w->ttl, w->service, sizeof w->service) &&
	     bench_bearer(w->key, ESCROW_SUB, DUX_SCOPE_SERVICE, w->ttl, escrow_auth, sizeof escrow_auth);
	for (int k = 0; ok && k < o->owners; k++) {
		snprintf(sub, sizeof sub, "bench-owner-%d", k);
		ok = bench_bearer(w->key, sub, DUX_SCOPE_USER, w->ttl, w->owners[k].auth, BENCH_AUTH_MAX);
	}
	for (int k = 0; ok && k < o->providers; k++) {
		snprintf(sub, sizeof sub, "bench-provider-%d", k);
		ok = bench_bearer(w->key, sub, DUX_SCOPE_PROVIDER, w->ttl, w->providers[k].auth, BENCH_AUTH_MAX);
	}
	if (ok) { /* the bare token: "Authorization: Bearer " ... "\r\n" */
		free(w->escrow_token);
		w->escrow_token = strdup(escrow_auth + strlen("Authorization: Bearer "));
		ok = w->escrow_token != NULL;
		if (ok)
			w->escrow_token[strcspn(w->escrow_token, "\r\n")] = '\0';
	}
	if (!ok) {
		fprintf(stderr, "bench_escrow: cannot mint the tokens\n");
		return false;
	}
	if (!bench_fresh_db(cl, DB) || !wallet_start(&d.wallet, o, cl, d.pubfile) ||
	    !escrow_start(&d.escrow, o, cl, &d, w, shards) || !wait_fund(&d.escrow, shards)) {
		stop_both(&d);
		return false;
	}
	double rate_acct = 0, rate_fund = 0;
	int setup_threads = o->conns < 8 ? o->conns : 8;
	if (!bench_parallel(w->naddr + o->providers, setup_threads, d.wallet.port, create_account, w,
			    &rate_acct) ||
	    !bench_parallel(w->naddr, setup_threads, d.wallet.port, fund_account, w, &rate_fund)) {
		fprintf(stderr, "bench_escrow: the set-up of accounts failed\n");
		stop_both(&d);
		return false;
	}
	printf("  %-34s %d owners x %d (user tokens) + %d providers x 1, POST /v1/wallet/address, "
	       "%.0f /s; faucet %d x %d FLOP, %.0f /s\n",
	       "accounts", o->owners, o->accounts, o->providers, rate_acct, w->naddr, o->fund,
	       rate_fund);
	ok = measure(o, w, cl, &d, x);
	if (!ok) {
		stop_both(&d);
		return false;
	}
	printf("  checks after the load:\n");
	checks(o, w, &d, x, x->shares);
	bool stopped = bench_daemon_stop(&d.escrow);
	stopped = bench_daemon_stop(&d.wallet) && stopped;
	x->valid = x->valid && x->checks_ok && stopped;
	bool keep = o->keep_logs || !x->valid;
	if (!keep) {
		unlink(d.pubfile);
		unlink(d.auditfile);
	}
	bench_daemon_finish(&d.wallet, !keep);
	bench_daemon_finish(&d.escrow, !keep);
	dux_key_free(w->key);
	w->key = NULL;
	return true;
}

/* ---- the report ---- */

static void summary_run(const erun_t *x, double tps, int pool)
{
	char fig[64], v[32], val[64], ref[128], ratio[16], tgt[32];
	snprintf(fig, sizeof fig, "pairs/s, fund_shards %d", x->shards);
	if (!x->ran) {
		bench_row(fig, "(no figure)", "the run did not go through", "", "", "INVALID");
		return;
	}
	bench_fmt_rate(x->pairs, v, sizeof v);
	snprintf(val, sizeof val, "%s /s", v);
	snprintf(tgt, sizeof tgt, ">= %.2f x", TARGET_RATIO);
	if (tps > 0) {
		snprintf(ref, sizeof ref, "pgbench TPC-B %.0f tps", tps);
		snprintf(ratio, sizeof ratio, "%.2f", x->pairs / tps);
		bench_row(fig, val, ref, ratio, tgt, x->pairs / tps >= TARGET_RATIO ? "met" : "NOT met");
	} else {
		bench_row(fig, val, "pgbench TPC-B: skipped", "", tgt, "(no reference)");
	}
	snprintf(val, sizeof val, "%.2f/%.2f ms", x->c50 / 1000, x->c99 / 1000);
	bench_row("  create p50/p99", val, "", "", "", "");
	snprintf(val, sizeof val, "%.2f/%.2f ms", x->r50 / 1000, x->r99 / 1000);
	bench_row("  release p50/p99", val, "", "", "", "");
	snprintf(val, sizeof val, "%.1f + %.1f", x->wait_w.lock, x->wait_e.lock);
	snprintf(ref, sizeof ref, "wallet + escrow backends, of %d each", pool);
	bench_row("  backends waiting for a lock", val, ref, "", "", "");
	double pairs = pairs_done(x);
	snprintf(val, sizeof val, "%.2f ms", pairs > 0 ? x->run.cpu_pg / pairs * 1e3 : 0);
	if (pairs > 0 && x->pg_wallet >= 0)
		snprintf(ref, sizeof ref, "wallet's backends %.2f, escrow's %.2f ms",
			 x->pg_wallet / pairs * 1e3, x->pg_escrow / pairs * 1e3);
	else
		ref[0] = '\0';
	bench_row("  PostgreSQL CPU per pair", val, ref, "", "", "");
	snprintf(val, sizeof val, "%.2f cores", x->cpu_others / x->run.wall);
	snprintf(ref, sizeof ref, "PostgreSQL %.2f, daemons %.2f, generator %.2f",
		 x->run.cpu_pg / x->run.wall, (x->run.cpu_server + x->cpu_wallet) / x->run.wall,
		 x->run.cpu_gen / x->run.wall);
	bench_row("  other work on the machine", val, ref, "", "", "");
	bench_row("  checks after the load", x->valid ? "hold" : "FAILED", "", "", "",
		  x->valid ? "" : "INVALID");
}

int main(int argc, char **argv)
{
	opts_t o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_guard_install();
	bench_cluster_t cl;
	if (!bench_cluster_load(o.pg_dir, &cl))
		return 2;
	const char *bins[] = {o.wallet, o.escrow};
	for (int i = 0; i < 2; i++)
		if (access(bins[i], X_OK) != 0) {
			fprintf(stderr, "bench_escrow: %s is not an executable\n", bins[i]);
			return 2;
		}
	if (!o.no_pgbench && access(o.pgbench, X_OK) != 0) {
		fprintf(stderr, "bench_escrow: %s is not an executable (or give --no-pgbench)\n",
			o.pgbench);
		return 2;
	}
	int naddr = o.owners * o.accounts;
	world_t w = {.o = &o, .owners = calloc((size_t)o.owners, sizeof(tok_t)),
		     .providers = calloc((size_t)o.providers, sizeof(tok_t)),
		     .addr = calloc((size_t)naddr, DUX_ADDRESS_MAX),
		     .paddr = calloc((size_t)o.providers, DUX_ADDRESS_MAX), .naddr = naddr,
		     /* tokens outlive the whole run */
		     .ttl = 3600 + (int64_t)(o.nshards * 4 * (o.duration + o.warmup))};
	if (!w.owners || !w.providers || !w.addr || !w.paddr)
		return 2;

	char cpu[300];
	bench_header("duxos-escrow", cpu, sizeof cpu);
	char shards[64] = "";
	for (int i = 0; i < o.nshards; i++)
		snprintf(shards + strlen(shards), sizeof shards - strlen(shards), "%s%d",
			 i ? ", then " : "", o.shards[i]);
	printf("load generator: %d keep-alive HTTP/1.1 connections over %d threads (epoll, one "
	       "request in flight per connection), raw sockets, in this process. Connection c is "
	       "owner c mod %d (a user token) beside the releasing service (a service token): it "
	       "sends POST /v1/escrow/create from a random account of its owner to a random one of "
	       "%d provider accounts, 1.00000000 to 1.00009999 FLOP, a unique api_id; reads the "
	       "id from the 201 answer; sends POST /v1/escrow/release of that id with a random "
	       "SHA-256 hex result_hash; and again. A pair is counted when its release is answered "
	       "inside the window.\n",
	       o.conns, o.lg_threads, o.owners, o.providers);
	bench_note_shared_cpus();
	printf("each run: a fresh database %s with duxos-wallet (wallet.encryption true) and "
	       "duxos-escrow (escrow.fund_shards %s; community_bps %d; audit log signed with a "
	       "generated Ed25519 key; the wallet called with a service token for sub %s), both "
	       "log.level warn, db.pool_size %d, a thread per connection; %d owners x %d accounts "
	       "funded with %d FLOP each by the admin faucet; %g s measured after %g s of warm-up; "
	       "the answers in flight at the end are awaited and checked, and an escrow whose "
	       "release the window cut off is released by the bench afterwards.\n\n",
	       DB, shards, BPS, ESCROW_SUB, o.pool_size, o.owners, o.accounts, o.fund, o.duration,
	       o.warmup);

	/* a. the reference, first, on the machine alone */
	printf("[a] reference: pgbench TPC-B on the same PostgreSQL, database %s\n", PGBENCH_DB);
	double tps = -1, pg_tx_us = -1, pg_others = -1;
	bench_pgbench_result_t pgr = {0};
	char pgcmd[200] = "";
	bench_pgbench_t pgb = {.pgbench = o.pgbench, .db = PGBENCH_DB, .scale = o.pgbench_scale,
			       .clients = o.pgbench_clients, .secs = (int)(o.duration + 0.5)};
	if (o.no_pgbench) {
		printf("  skipped (--no-pgbench)\n");
	} else {
		/* what other work took meanwhile: the machine's busy time less PostgreSQL's,
		 * pgbench's (a child, waited for) and this process's */
		struct rusage ru0, ru1;
		getrusage(RUSAGE_CHILDREN, &ru0);
		double m0 = sys_machine_busy_s(NULL), p0 = sys_tree_cpu_s(cl.postmaster);
		double s0 = sys_self_cpu_s(), t0 = sys_now_s();
		if (!bench_pgbench(&cl, &pgb, &pgr, pgcmd, sizeof pgcmd))
			return 2;
		getrusage(RUSAGE_CHILDREN, &ru1);
		double kids = tv_s(&ru1.ru_utime) + tv_s(&ru1.ru_stime) - tv_s(&ru0.ru_utime) -
			      tv_s(&ru0.ru_stime);
		pg_others = (sys_machine_busy_s(NULL) - m0 - (sys_tree_cpu_s(cl.postmaster) - p0) -
			     kids - (sys_self_cpu_s() - s0)) /
			    (sys_now_s() - t0);
		tps = pgr.tps;
		pg_tx_us = pgr.pg_cpu_s / (tps * pgr.wall_s) * 1e6;
		printf("  %-34s %9.0f tps  latency average %.3f ms  (%s)\n", "pgbench TPC-B", tps,
		       pgr.lat_ms, pgcmd);
		printf("  %-34s PostgreSQL %.2f cores busy, %.0f us of CPU per transaction (pgbench "
		       "itself runs on the same CPUs); other work on the machine %.2f cores (over "
		       "pgbench -i and the run)\n",
		       "", pgr.pg_cpu_s / pgr.wall_s, pg_tx_us, pg_others);
		bench_pgwait_print("pgbench's", o.pgbench_clients, &pgr.wait);
		if (pgr.have_stats)
			bench_pgstat_print("PostgreSQL during pgbench", "pgbench_accounts", &pgr.st0,
					   &pgr.st1);
	}

	/* b... one run for each fund_shards */
	erun_t runs[SHARDS_MAX];
	int exit_code = 0;
	for (int i = 0; i < o.nshards; i++) {
		printf("\n[%c] escrow.fund_shards %d%s\n", 'b' + i, o.shards[i],
		       o.shards[i] == 1 ? ": every release credits ONE fund row" : "");
		if (!one_run(&o, &w, &cl, o.shards[i], &runs[i])) {
			fprintf(stderr, "bench_escrow: the run with fund_shards %d could not be made\n",
				o.shards[i]);
			return 2;
		}
		if (!runs[i].valid)
			exit_code = 1;
	}

	/* the summary */
	printf("\n== summary (%d connections = pgbench clients %d; db.pool_size %d of each daemon; "
	       "every run is listed above) ==\n",
	       o.conns, o.pgbench_clients, o.pool_size);
	bench_row("figure", "value", "reference", "ratio", "target", "verdict");
	for (int i = 0; i < o.nshards; i++)
		summary_run(&runs[i], tps, o.pool_size);
	if (pg_tx_us > 0) {
		char val[64], ref[96];
		snprintf(val, sizeof val, "%.2f ms", pg_tx_us / 1000);
		snprintf(ref, sizeof ref, "%.1f of %d waiting for a lock; others %.2f cores",
			 pgr.wait.lock, o.pgbench_clients, pg_others);
		bench_row("pgbench PostgreSQL CPU per tx", val, ref, "", "", "");
	}
	for (int i = 1; i < o.nshards; i++)
		if (runs[0].ran && runs[i].ran && runs[i].pairs > 0) {
			char fig[64], val[64];
			snprintf(fig, sizeof fig, "fund_shards %d vs %d", o.shards[0], o.shards[i]);
			snprintf(val, sizeof val, "%.2f x", runs[0].pairs / runs[i].pairs);
			bench_row(fig, val, "pairs/s of one over the other", "", "", "");
		}
	bench_footer(cpu);
	printf("run %s.\n", exit_code == 0 ? "VALID (no transport error, every create 201 and "
					     "every release 200 released, every escrow released, "
					     "the fund and the ledger add up)"
					   : "INVALID: see the errors, other answers or the checks "
					     "above");
	for (int i = 0; i < o.nshards; i++)
		free(runs[i].run.r);
	free(w.owners);
	free(w.providers);
	free(w.addr);
	free(w.paddr);
	free(w.escrow_token);
	return exit_code;
}
