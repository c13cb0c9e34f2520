/* bench_store.c - how fast duxos-store searches a catalogue of 100,000 services, beside a
 * libmicrohttpd hello-world measured in the same run on the same machine:
 *
 *   GET /v1/services (a fixed mix of what users search)   requests/s, p50/p99/p99.9, per class
 *     [b] the store's default configuration (store.search_cache_ms 1000: a search asked again
 *         within 1 s is answered from memory)
 *     [c] store.search_cache_ms 0 (every search asks PostgreSQL)
 *   targets, each run apart: p99 under 20 ms at 32 connections, and at least 0.25 x the
 *   hello-world's requests/s (the daemons' flags: a thread per connection)
 *
 * The catalogue is generated from a seed (catalog.c) and written straight into the store's
 * table (COPY into store.services of the database the daemon migrated, rows as the API stores
 * them; its trigger computes the search document); a sample is then read back through
 * GET /v1/services/{id} and compared field by field before anything is measured. The store
 * runs as a child process with a generated configuration (store.escrow_url "": it subscribes
 * to nothing). Run it through tests/bench/store/run.sh, which builds a release tree and makes
 * the PostgreSQL cluster.
 *
 * Exit status: 0 when the run is valid, whatever the figures; 1 when it is not (a transport
 * error, an answer other than 200 with the JSON page of the search, a daemon that did not stop
 * cleanly); 2 on bad usage or a set-up failure. */
#include "bench.h"
#include "catalog.h"
#include "child.h"
#include "cluster.h"
#include "harness.h"
#include "hello.h"
#include "loadgen.h"
#include "measure.h"
#include "sys.h"
#include <cjson/cJSON.h>
#include <dux/money.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TARGET_P99_MS 20.0
#define TARGET_RATIO 0.25
#define DB "bench_store"
#define SAMPLES 64 /* services read back through GET /v1/services/{id} */
#define FULL_PARSE_EVERY 64 /* answers of a connection between two full JSON parses */

/* ---- options ---- */

typedef struct {
	const char *pg_dir, *store;
	double duration, warmup;
	int conns, lg_threads, pool_size, ref_pool;
	int services, providers, vocab, queries;
	double doc_zipf, query_zipf, page2;
	long long seed;
	bool seed_only, keep_logs;
	const char *mix_out;
	int cache_ms; /* > 0: a run [d] with store.search_cache_ms this */
	int alone;    /* searches of the mix timed one at a time after [c] */
} opts_t;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bench_store --pg-dir DIR --store PATH [options]\n"
		"\n"
		"  --pg-dir DIR         cluster made by deploy/local/pgctl.sh init DIR\n"
		"  --store PATH         the duxos-store binary (a release build)\n"
		"  --duration S         measured seconds per figure (default 10)\n"
		"  --warmup S           seconds of warm-up not counted (default 1)\n"
		"  --conns N            keep-alive connections of the load generator (default 32)\n"
		"  --lg-threads N       load-generator threads the connections share (default 2)\n"
		"  --pool-size N        the store's db.pool_size (default 8, its own default)\n"
		"  --ref-pool N         event loops of the stricter hello-world reference (default 2)\n"
		"  --services N         services in the catalogue (default 100000)\n"
		"  --providers N        providers owning them (default 2000)\n"
		"  --vocab N            words of the vocabulary (default 20000)\n"
		"  --doc-zipf S         Zipf exponent of the words of names and descriptions "
		"(default 1.0)\n"
		"  --query-zipf S       Zipf exponent of the words users search for (default 0.8)\n"
		"  --queries N          searches in the fixed mix (default 4000)\n"
		"  --page2 F            share of them sent as second pages (default 0.1)\n"
		"  --seed N             seed of the catalogue and of the mix (default 1)\n"
		"  --seed-only          seed the catalogue, check it, print the mix and stop: the\n"
		"                       database " DB " stays (for EXPLAIN by hand)\n"
		"  --alone N            after [c], time N searches of the mix one at a time over one\n"
		"                       connection (no cache): the cost of each class alone and its\n"
		"                       share of the total (default 1000; 0: skip)\n"
		"  --cache-ms N         also measure [d]: store.search_cache_ms N (not the default)\n"
		"  --mix-out FILE       write the mix to FILE, one search a line: its class (breadth,\n"
		"                       sort, page), the services q and the whole search match, path\n"
		"  --keep-logs          keep the store's logs and configs in its work directory\n");
}

static bool parse_double(const char *s, double min, double max, double *ret)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !(v >= min) || v > max)
		return false;
	*ret = v;
	return true;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	enum { O_PG = 1, O_STORE, O_DUR, O_WARM, O_CONNS, O_LGT, O_POOL, O_REFPOOL, O_SVC, O_PROV,
	       O_VOCAB, O_DZ, O_QZ, O_QUERIES, O_PAGE2, O_SEED, O_SEEDONLY, O_MIXOUT, O_CACHE, O_ALONE, O_KEEP, O_HELP };
	static const struct option lo[] = {
		{"pg-dir", required_argument, NULL, O_PG},
		{"store", required_argument, NULL, O_STORE},
		{"duration", required_argument, NULL, O_DUR},
		{"warmup", required_argument, NULL, O_WARM},
		{"conns", required_argument, NULL, O_CONNS},
		{"lg-threads", required_argument, NULL, O_LGT},
		{"pool-size", required_argument, NULL, O_POOL},
		{"ref-pool", required_argument, NULL, O_REFPOOL},
		{"services", required_argument, NULL, O_SVC},
		{"providers", required_argument, NULL, O_PROV},
		{"vocab", required_argument, NULL, O_VOCAB},
		{"doc-zipf", required_argument, NULL, O_DZ},
		{"query-zipf", required_argument, NULL, O_QZ},
		{"queries", required_argument, NULL, O_QUERIES},
		{"page2", required_argument, NULL, O_PAGE2},
		{"seed", required_argument, NULL, O_SEED},
		{"seed-only", no_argument, NULL, O_SEEDONLY},
		{"mix-out", required_argument, NULL, O_MIXOUT},
		{"cache-ms", required_argument, NULL, O_CACHE},
		{"alone", required_argument, NULL, O_ALONE},
		{"keep-logs", no_argument, NULL, O_KEEP},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	*o = (opts_t){.duration = 10, .warmup = 1, .conns = 32, .lg_threads = 2, .pool_size = 8,
		      .ref_pool = 2, .services = 100000, .providers = 2000, .vocab = 20000,
		      .queries = 4000, .doc_zipf = 1.0, .query_zipf = 0.8, .page2 = 0.1, .seed = 1,
		      .alone = 1000};
	int c, v;
	bool ok = true;
	while (ok && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PG: o->pg_dir = optarg; break;
		case O_STORE: o->store = optarg; break;
		case O_DUR: ok = bench_parse_secs(optarg, 1, &o->duration); break;
		case O_WARM: ok = bench_parse_secs(optarg, 0, &o->warmup); break;
		case O_CONNS: ok = bench_parse_int(optarg, 1, 1000, &o->conns); break;
		case O_LGT: ok = bench_parse_int(optarg, 1, 64, &o->lg_threads); break;
		case O_POOL: ok = bench_parse_int(optarg, 1, 256, &o->pool_size); break;
		case O_REFPOOL: ok = bench_parse_int(optarg, 1, 64, &o->ref_pool); break;
		case O_SVC: ok = bench_parse_int(optarg, 100, 2000000, &o->services); break;
		case O_PROV: ok = bench_parse_int(optarg, 1, 1000000, &o->providers); break;
		case O_VOCAB: ok = bench_parse_int(optarg, 1000, 200000, &o->vocab); break;
		case O_DZ: ok = parse_double(optarg, 0.1, 3, &o->doc_zipf); break;
		case O_QZ: ok = parse_double(optarg, 0.1, 3, &o->query_zipf); break;
		case O_QUERIES: ok = bench_parse_int(optarg, 1, 1000000, &o->queries); break;
		case O_PAGE2: ok = parse_double(optarg, 0, 1, &o->page2); break;
		case O_SEED:
			ok = bench_parse_int(optarg, 0, 2000000000, &v);
			o->seed = v;
			break;
		case O_SEEDONLY: o->seed_only = true; break;
		case O_MIXOUT: o->mix_out = optarg; break;
		case O_CACHE: ok = bench_parse_int(optarg, 1, 60000, &o->cache_ms); break;
		case O_ALONE: ok = bench_parse_int(optarg, 0, 1000000, &o->alone); break;
		case O_KEEP: o->keep_logs = true; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: ok = false;
		}
	}
	if (!ok || optind < argc || !o->pg_dir || !o->store) {
		usage(stderr);
		return -1;
	}
	if (o->lg_threads > o->conns)
		o->lg_threads = o->conns;
	return 0;
}

/* ---- PostgreSQL as the superuser, in the store's database ---- */

static PGconn *super_connect(const bench_cluster_t *cl)
{
	char ci[700];
	snprintf(ci, sizeof ci, "%s", cl->super);
	char *d = strstr(ci, "dbname=postgres");
	if (d)
		snprintf(d, sizeof ci - (size_t)(d - ci), "dbname=%s user=postgres", DB);
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench_store: cannot connect to %s: %s", DB, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	/* as the daemon's own connections (its trigger calls functions of its schema) */
	PGresult *res = PQexec(c, "SET search_path TO store, public");
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		fprintf(stderr, "bench_store: SET search_path failed: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* ---- seeding: COPY into store.services ---- */

/* A growable buffer; oom once an append failed. */
typedef struct {
	char *data;
	size_t len, cap;
	bool oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* A text field of COPY's text format. */
static void copy_text(sbuf_t *b, const char *s)
{
	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
				: *s == '\r' ? "\\r" : NULL;
		if (esc)
			sb_add(b, esc, 2);
		else
			sb_add(b, s, 1);
	}
}

static void service_row(const catalog_t *c, const cat_service_t *s, sbuf_t *b)
{
	char t[300], day[32], when[64];
	time_t secs = (time_t)s->created_s;
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(when, sizeof when, "%.20s.%06d+00", day, s->created_us);
	const char *text[] = {s->id, s->owner, s->provider, s->name, s->description, s->version};
	for (size_t k = 0; k < sizeof text / sizeof text[0]; k++) {
		copy_text(b, text[k]);
		sb_str(b, "\t");
	}
	snprintf(t, sizeof t, "%lld\t{", (long long)s->price);
	sb_str(b, t);
	for (int k = 0; k < s->ntags; k++) {
		if (k)
			sb_str(b, ",");
		sb_str(b, c->word[c->tag_word[s->tag[k]]]);
	}
	sb_str(b, "}\t");
	copy_text(b, s->endpoint);
	snprintf(t, sizeof t, "\t%d\t%lld\t%lld\t%lld\t%s\t%s\t%s\n", s->rate_limit,
		 (long long)s->total_calls, (long long)s->rating_count, (long long)s->rating_sum,
		 when, when, when);
	sb_str(b, t);
}

typedef struct {
	const catalog_t *c;
	const bench_cluster_t *cl;
	int first, end;
	bool ok;
	pthread_t th;
} copy_job_t;

static void *copy_thread(void *arg)
{
	copy_job_t *j = arg;
	PGconn *pg = super_connect(j->cl);
	j->ok = false;
	if (!pg)
		return NULL;
	PGresult *res = PQexec(pg, "COPY store.services (id, owner, provider, name, description,"
				   " version, price, tags, endpoint, rate_limit, total_calls,"
				   " rating_count, rating_sum, created_at, version_at, updated_at)"
				   " FROM STDIN");
	bool ok = PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	sbuf_t b = {0};
	cat_service_t *s = malloc(sizeof *s);
	ok = ok && s;
	for (int i = j->first; ok && i < j->end; i++) {
		cat_service(j->c, i, s);
		service_row(j->c, s, &b);
		ok = !b.oom;
		if (ok && (b.len >= 256 * 1024 || i + 1 == j->end)) {
			ok = PQputCopyData(pg, b.data, (int)b.len) == 1;
			b.len = 0;
		}
	}
	free(s);
	free(b.data);
	ok = PQputCopyEnd(pg, ok ? NULL : "bench_store: generation failed") == 1 && ok;
	while ((res = PQgetResult(pg))) {
		ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (!ok)
		fprintf(stderr, "bench_store: COPY into store.services failed: %s", PQerrorMessage(pg));
	PQfinish(pg);
	j->ok = ok;
	return NULL;
}

/* Generates every service once here (what searches need of it, for the match counts), then
 * writes them with one COPY per CPU, each over its own range. */
static bool seed(const opts_t *o, catalog_t *c, const bench_cluster_t *cl)
{
	double t0 = sys_now_s();
	cat_service_t *s = malloc(sizeof *s);
	bool ok = s != NULL;
	long long words = 0, desc = 0, tags = 0;
	for (int i = 0; ok && i < o->services; i++) {
		cat_service(c, i, s);
		ok = cat_record(c, i, s);
		words += s->nwords;
		desc += (long long)strlen(s->description);
		tags += s->ntags;
	}
	free(s);
	ok = ok && cat_index(c);
	if (!ok) {
		fprintf(stderr, "bench_store: out of memory generating the catalogue\n");
		return false;
	}
	double t1 = sys_now_s();
	copy_job_t jobs[2];
	int nj = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
	for (int t = 0; t < nj; t++) {
		jobs[t] = (copy_job_t){.c = c, .cl = cl, .first = (int)((long long)o->services * t / nj),
				       .end = (int)((long long)o->services * (t + 1) / nj)};
		if (pthread_create(&jobs[t].th, NULL, copy_thread, &jobs[t]) != 0)
			abort();
	}
	for (int t = 0; t < nj; t++) {
		pthread_join(jobs[t].th, NULL);
		ok = ok && jobs[t].ok;
	}
	if (!ok)
		return false;
	double t2 = sys_now_s();
	ok = bench_sql(cl, DB, "VACUUM (ANALYZE) store.services", NULL, 0) &&
	     bench_sql(cl, NULL, "CHECKPOINT", NULL, 0);
	double t3 = sys_now_s();
	char size[64] = "";
	(void)bench_sql(cl, DB,
			"SELECT pg_size_pretty(pg_relation_size('store.services')) || ' table, ' ||"
			" pg_size_pretty(pg_indexes_size('store.services')) || ' indexes (' ||"
			" pg_size_pretty(pg_relation_size('store.services_document')) || ' GIN on"
			" document)'",
			size, sizeof size);
	printf("  %-34s %d services of %d providers: generated in %.1f s (mean %.1f distinct words, "
	       "%.0f bytes of description, %.1f tags), COPY over %d connections %.1f s (%.0f rows/s, "
	       "the trigger computing each document), VACUUM ANALYZE + CHECKPOINT %.1f s; %s\n",
	       "catalogue", o->services, o->providers, t1 - t0, (double)words / o->services,
	       (double)desc / o->services, (double)tags / o->services, nj, t2 - t1,
	       o->services / (t2 - t1), t3 - t2, size);
	return ok;
}

/* Every word of the vocabulary is one lexeme of its own for PostgreSQL's English
 * configuration (no stop word, no two words with one stem): the match counts computed here
 * are then exact. */
static bool check_vocabulary(const catalog_t *c, const bench_cluster_t *cl)
{
	sbuf_t b = {0};
	sb_str(&b, "{");
	for (int i = 0; i < c->nwords; i++) {
		if (i)
			sb_str(&b, ",");
		sb_str(&b, c->word[i]);
	}
	sb_str(&b, "}");
	PGconn *pg = b.oom ? NULL : super_connect(cl);
	const char *p[] = {b.data};
	PGresult *res = pg ? PQexecParams(pg,
					  "SELECT count(*), count(DISTINCT l), count(*) FILTER (WHERE n <> 1)"
					  " FROM (SELECT tsvector_to_array(to_tsvector('english', w)) a"
					  " FROM unnest($1::text[]) w) x,"
					  " LATERAL (SELECT coalesce(array_length(a, 1), 0) n, a[1] l) y",
					  1, NULL, p, NULL, NULL, 0)
			     : NULL;
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	long words = ok ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	long lexemes = ok ? strtol(PQgetvalue(res, 0, 1), NULL, 10) : 0;
	long bad = ok ? strtol(PQgetvalue(res, 0, 2), NULL, 10) : -1;
	if (!ok && pg)
		fprintf(stderr, "bench_store: the vocabulary check failed: %s", PQerrorMessage(pg));
	PQclear(res);
	PQfinish(pg);
	free(b.data);
	ok = ok && words == c->nwords && lexemes == c->nwords && bad == 0;
	printf("  %-34s %d words (%d real, the others made-up brand names), %ld distinct English "
	       "lexemes, %ld stop words or multi-lexeme words: %s\n",
	       "vocabulary", c->nwords, c->nreal, lexemes, bad, ok ? "ok" : "NOT one lexeme each");
	return ok;
}

/* A few searches counted by PostgreSQL, against the counts computed here. */
static bool check_counts(const catalog_t *c, const bench_cluster_t *cl, const cat_query_t *q,
			 int nq)
{
	PGconn *pg = super_connect(cl);
	if (!pg)
		return false;
	int checked = 0, equal = 0;
	bool seen[NBREADTH][3] = {{false}};
	char text[64], shown[400] = "";
	size_t off = 0;
	for (int i = 0; i < nq && checked < 8; i++) {
		if (!q[i].nq || seen[q[i].breadth][q[i].nq])
			continue;
		seen[q[i].breadth][q[i].nq] = true;
		snprintf(text, sizeof text, "%s%s%s", c->word[q[i].w[0]], q[i].nq == 2 ? " " : "",
			 q[i].nq == 2 ? c->word[q[i].w[1]] : "");
		const char *p[] = {text};
		PGresult *res = PQexecParams(pg,
					     "SELECT count(*) FROM store.services WHERE listed AND"
					     " document @@ websearch_to_tsquery('english', $1)",
					     1, NULL, p, NULL, NULL, 0);
		long n = PQresultStatus(res) == PGRES_TUPLES_OK ? strtol(PQgetvalue(res, 0, 0), NULL, 10)
								: -1;
		PQclear(res);
		checked++;
		equal += n == q[i].qmatches;
		if (off + 40 < sizeof shown)
			off += (size_t)snprintf(shown + off, sizeof shown - off, "%s\"%s\" %ld", off ? ", " : "",
						text, n);
	}
	PQfinish(pg);
	printf("  %-34s %d of %d searches counted by PostgreSQL match the count made here (%s)\n",
	       "match counts", equal, checked, shown);
	return equal == checked;
}

/* ---- the store's search index ---- */

/* A gauge or counter of the store's /metrics; -1 when absent. */
static double store_metric(int port, const char *name)
{
	char *text = NULL, key[128];
	double v = -1;
	snprintf(key, sizeof key, "\n%s ", name);
	if (bench_call(port, "GET", "/metrics", NULL, NULL, &text) == 200 && text) {
		const char *at = strstr(text, key);
		if (at)
			v = strtod(at + strlen(key), NULL);
	}
	free(text);
	return v;
}

/* The resident memory of a process, in MiB (VmRSS); -1 when unreadable. */
static double rss_mib(pid_t pid)
{
	char path[64], line[256];
	double kib = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtod(line + 6, NULL);
	if (f)
		fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

/* The rows were COPYed behind the running store's back: its search index takes them in from
 * the change feed. Waits until it holds all of them (the searches would otherwise see a
 * catalogue still filling); false after 300 s. */
static bool wait_index(const opts_t *o, const bench_daemon_t *g)
{
	double t0 = sys_now_s(), n = -1;
	while (sys_now_s() - t0 < 300) {
		n = store_metric(g->port, "store_search_index_services");
		if (n < 0 || n >= o->services)
			break;
		usleep(100000);
	}
	if (n < 0) {
		printf("  %-34s off (store.search_index false): every search asks PostgreSQL\n",
		       "search index");
		return true;
	}
	printf("  %-34s %.0f services taken in from the change feed %.1f s after the COPY; "
	       "%.0f MiB by its own count, the daemon's RSS %.0f MiB; last base built in %.0f ms\n",
	       "search index", n, sys_now_s() - t0,
	       store_metric(g->port, "store_search_index_bytes") / 1048576.0, rss_mib(g->pid),
	       store_metric(g->port, "store_search_index_build_ms"));
	return n >= o->services;
}

/* ---- the check of a sample through the API ---- */

static const char *jstr(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : "";
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The answer of GET /v1/services/{id} against the generated service; the first difference
 * into why. */
static bool same_service(const catalog_t *c, const cat_service_t *s, const cJSON *j, char *why,
			 size_t len)
{
	int64_t price = -1;
	const char *ps = jstr(j, "price");
	if (dux_money_parse(ps, strlen(ps), false, &price) < 0)
		price = -1;
	char created[32];
	time_t secs = (time_t)s->created_s;
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S", &tm);
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
	bool tags_ok = cJSON_GetArraySize(tags) == s->ntags;
	for (int k = 0; tags_ok && k < s->ntags; k++)
	{
		const char *t = cJSON_GetStringValue(cJSON_GetArrayItem(tags, k));
		tags_ok = t && strcmp(t, c->word[c->tag_word[s->tag[k]]]) == 0;
	}
	const char *field = strcmp(jstr(j, "id"), s->id)			  ? "id"
			    : strcmp(jstr(j, "name"), s->name)			  ? "name"
			    : strcmp(jstr(j, "description"), s->description)	  ? "description"
			    : strcmp(jstr(j, "version"), s->version)		  ? "version"
			    : strcmp(jstr(j, "provider"), s->provider)		  ? "provider"
			    : strcmp(jstr(j, "owner"), s->owner)			  ? "owner"
			    : strcmp(jstr(j, "endpoint"), s->endpoint)		  ? "endpoint"
			    : price != s->price					  ? "price"
			    : !tags_ok						  ? "tags"
			    : jnum(j, "rate_limit") != s->rate_limit		  ? "rate_limit"
			    : jnum(j, "total_calls") != (double)s->total_calls	  ? "total_calls"
			    : jnum(j, "rating_count") != (double)s->rating_count ? "rating_count"
			    : fabs(jnum(j, "reputation") - s->rep_e4 / 1e4) > 1e-9 ? "reputation"
			    : !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "listed")) ? "listed"
			    : strncmp(jstr(j, "created_at"), created, strlen(created))    ? "created_at"
			    : strcmp(jstr(j, "updated_at"), jstr(j, "created_at"))	  ? "updated_at"
											  : NULL;
	if (field)
		snprintf(why, len, "service %s: %s differs", s->id, field);
	return !field;
}

static bool check_sample(const catalog_t *c, int port)
{
	cat_service_t *s = malloc(sizeof *s);
	int good = 0, n = c->nservices < SAMPLES ? c->nservices : SAMPLES;
	char why[200] = "", path[80];
	for (int k = 0; s && k < n; k++) {
		int i = (int)((long long)k * c->nservices / n + k) % c->nservices;
		cat_service(c, i, s);
		snprintf(path, sizeof path, "/v1/services/%s", s->id);
		char *text = NULL;
		int st = bench_call(port, "GET", path, NULL, NULL, &text);
		cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
		char w[160];
		if (j && same_service(c, s, j, w, sizeof w))
			good++;
		else if (!why[0])
			snprintf(why, sizeof why, "%s", j ? w : "GET answered other than 200 JSON");
		cJSON_Delete(j);
		free(text);
	}
	free(s);
	printf("  %-34s %d of %d services read back through GET /v1/services/{id} equal what was "
	       "generated (every field of the schema)%s%s\n",
	       "sample check", good, n, why[0] ? ": " : "", why);
	return good == n;
}

/* ---- the mix ---- */

typedef struct {
	cat_query_t *q;
	int n;
	int fetched, got_cursor;
} mix_t;

/* The first page of a search meant as a second page: its next_cursor (bench_parallel's fn). */
static bool fetch_cursor(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen)
{
	mix_t *m = ctx;
	cat_query_t *q = &m->q[i];
	if (!q->want_page2)
		return true;
	char req[LG_REQ_MAX];
	const char *body = NULL;
	size_t len = 0;
	int n = lg_format(req, sizeof req, "GET", q->path, NULL, NULL);
	int st = n > 0 ? lg_sync_do(s, req, (size_t)n, &body, &len) : -1;
	cJSON *j = st == 200 ? cJSON_ParseWithLength(body, len) : NULL;
	if (!j) {
		snprintf(err, errlen, "GET %s answered %d: %.200s", q->path, st,
			 st > 0 && body ? body : "(no answer)");
		return false;
	}
	const char *cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "next_cursor"));
	size_t used = strlen(q->path);
	if (cur && used + strlen(cur) + 10 < sizeof q->path) {
		snprintf(q->path + used, sizeof q->path - used, "%scursor=%s",
			 strchr(q->path, '?') ? "&" : "?", cur);
		q->page = 2;
	}
	cJSON_Delete(j);
	return true;
}

static void print_mix(const opts_t *o, const catalog_t *c, const cat_query_t *q, int n)
{
	int nq[3] = {0}, br[NBREADTH] = {0}, sorts[NSORTS] = {0}, page2 = 0, tag = 0, price = 0,
	    rep = 0, prov = 0, none = 0, empty = 0;
	double qm[NBREADTH] = {0}, m = 0;
	for (int i = 0; i < n; i++) {
		nq[q[i].nq]++;
		br[q[i].breadth]++;
		qm[q[i].breadth] += q[i].qmatches;
		sorts[q[i].sort]++;
		page2 += q[i].page == 2;
		tag += q[i].ntag > 0;
		price += q[i].min_price >= 0 || q[i].max_price >= 0;
		rep += q[i].min_rep_e4 >= 0;
		prov += q[i].provider >= 0;
		none += !q[i].nq && !q[i].ntag && q[i].min_price < 0 && q[i].max_price < 0 &&
			q[i].min_rep_e4 < 0 && q[i].provider < 0;
		empty += q[i].matches == 0;
		m += q[i].matches;
	}
#define PCT(x) (100.0 * (x) / n)
	printf("  %-34s %d searches (seed %lld, q words Zipf %.2f over the vocabulary, "
	       "documents %.2f); each connection walks the list from its own offset\n",
	       "the mix", n, o->seed, o->query_zipf, o->doc_zipf);
	printf("  %-34s no q %.0f %%, one word %.0f %%, two words %.0f %%\n", "  q", PCT(nq[0]),
	       PCT(nq[1]), PCT(nq[2]));
	for (int b = 1; b < NBREADTH; b++)
		printf("    %-32s %.1f %% of the searches, q matching %.0f services on average\n",
		       cat_breadth_name[b], PCT(br[b]), br[b] ? qm[b] / br[b] : 0.0);
	printf("  %-34s tag %.0f %%, price range %.0f %%, min_reputation %.0f %%, provider %.0f %%, "
	       "none at all %.0f %%\n",
	       "  filters", PCT(tag), PCT(price), PCT(rep), PCT(prov), PCT(none));
	printf("  %-34s relevance %.0f %%, reputation %.0f %%, total_calls %.0f %%, price %.0f %%, "
	       "newest %.0f %%\n",
	       "  sort", PCT(sorts[0]), PCT(sorts[1]), PCT(sorts[2]), PCT(sorts[3]), PCT(sorts[4]));
	printf("  %-34s %.1f %% second pages (cursor of the first), the others first pages of 20\n",
	       "  pages", PCT(page2));
	printf("  %-34s %.0f services on average (all filters), %.1f %% match none\n",
	       "  matches", m / n, PCT(empty));
#undef PCT
	for (int i = 0, shown = 0; i < n && shown < 8; i += n / 8 + 1, shown++)
		printf("  %-34s %.160s\n", shown ? "" : "  e.g.", q[i].path);
	(void)c;
}

static bool write_mix(const char *path, const cat_query_t *q, int n)
{
	FILE *f = fopen(path, "w");
	for (int i = 0; f && i < n; i++)
		fprintf(f, "%s\t%s\t%d\t%d\t%d\t%s\n", cat_breadth_name[q[i].breadth],
			cat_sort_name[q[i].sort], q[i].page, q[i].qmatches, q[i].matches, q[i].path);
	if (!f || fclose(f) != 0) {
		fprintf(stderr, "bench_store: cannot write %s\n", path);
		return false;
	}
	return true;
}

/* ---- the load ---- */

#define NCLASS (NBREADTH * NSORTS * 2)
static int class_of(const cat_query_t *q)
{
	return (q->breadth * NSORTS + q->sort) * 2 + (q->page - 1);
}

/* Latencies per class, one block per generator thread (the answer callback runs in the
 * thread that owns the connection), summed after the run. */
typedef struct hblock {
	uint64_t h[NCLASS][LG_HIST_BUCKETS];
	struct hblock *next;
} hblock_t;

static pthread_mutex_t hb_mu = PTHREAD_MUTEX_INITIALIZER;
static hblock_t *hb_list;
static __thread hblock_t *hb_mine;

static hblock_t *hb_get(void)
{
	if (!hb_mine) {
		hb_mine = calloc(1, sizeof *hb_mine);
		if (!hb_mine)
			abort(); /* a benchmark without memory has nothing to say */
		pthread_mutex_lock(&hb_mu);
		hb_mine->next = hb_list;
		hb_list = hb_mine;
		pthread_mutex_unlock(&hb_mu);
	}
	return hb_mine;
}

typedef struct {
	int next, inflight; /* index of the next search / the one in flight */
	uint64_t answers;
} cstate_t;

typedef struct {
	const cat_query_t *q;
	int n;
	cstate_t *cs;
	atomic_ullong bad_body, parsed, parse_bad, results, empty, window;
} lmk_t;

static int make_search(void *ctx, int c, char *buf, size_t cap)
{
	lmk_t *m = ctx;
	cstate_t *st = &m->cs[c];
	st->inflight = st->next;
	st->next = (st->next + 1) % m->n;
	return lg_format(buf, cap, "GET", m->q[st->inflight].path, NULL, NULL);
}

/* Services on the page: each item starts with its id (service_json's first member). */
static int count_items(const char *body, size_t len)
{
	int n = 0;
	for (const char *p = body, *end = body + len;
	     (p = memmem(p, (size_t)(end - p), "{\"id\":\"svc_", 11)); p += 11)
		n++;
	return n;
}

/* Every answer: 200, and the JSON page of this search ({"services":[...], "next_cursor":
 * ..., "sort":"<its sort>"}); one in FULL_PARSE_EVERY of each connection is parsed whole. */
static bool on_search(void *ctx, int c, int status, const char *body, size_t len,
		      int64_t latency_ns, int when)
{
	lmk_t *m = ctx;
	cstate_t *st = &m->cs[c];
	const cat_query_t *q = &m->q[st->inflight];
	if (status != 200)
		return false;
	char sort[48];
	int sl = snprintf(sort, sizeof sort, "\"sort\":\"%s\"}", cat_sort_name[q->sort]);
	bool ok = len > 30 && memcmp(body, "{\"services\":[", 13) == 0 && (size_t)sl < len &&
		  memcmp(body + len - (size_t)sl, sort, (size_t)sl) == 0;
	if (ok && ++st->answers % FULL_PARSE_EVERY == 0) {
		cJSON *j = cJSON_ParseWithLength(body, len);
		ok = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "services"));
		cJSON_Delete(j);
		atomic_fetch_add(&m->parsed, 1);
		if (!ok)
			atomic_fetch_add(&m->parse_bad, 1);
	}
	if (!ok) {
		atomic_fetch_add(&m->bad_body, 1);
		return false;
	}
	if (when == LG_WINDOW) {
		int items = count_items(body, len);
		lg_hist_add(hb_get()->h[class_of(q)], latency_ns);
		atomic_fetch_add(&m->results, (unsigned long long)items);
		atomic_fetch_add(&m->empty, items == 0);
		atomic_fetch_add(&m->window, 1);
	}
	return true;
}

static int make_hello(void *ctx, int c, char *buf, size_t cap)
{
	(void)ctx;
	(void)c;
	return lg_format(buf, cap, "GET", "/", NULL, NULL);
}

/* ---- the store as a child ---- */

static bool store_start(bench_daemon_t *g, const opts_t *o, const bench_cluster_t *cl,
			int cache_ms)
{
	char conninfo[600], yaml[2048], cache[64] = "";
	bench_conninfo_for(cl, DB, conninfo, sizeof conninfo);
	if (cache_ms >= 0)
		snprintf(cache, sizeof cache, "  search_cache_ms: %d\n", cache_ms);
	snprintf(yaml, sizeof yaml,
		 "# generated by bench_store\n"
		 "http:\n  bind: 127.0.0.1\n  port: %d\n"
		 "db:\n  conninfo: \"%s\"\n  password_file: %s\n  pool_size: %d\n"
		 "bus:\n  endpoint: \"tcp://127.0.0.1:%d\"\n"
		 "log:\n  level: warn\n"
		 "store:\n  wallet_token: \"bench-unused\"\n  escrow_url: \"\"\n%s",
		 g->port, conninfo, cl->password_file, o->pool_size, th_free_port(), cache);
	return bench_daemon_start(g, o->store, yaml);
}

typedef struct {
	double hits, count, sum; /* store_search_cache_hits_total; GET /services count, seconds */
} smetrics_t;

static bool read_metrics(int port, smetrics_t *ret)
{
	char *text = NULL;
	bool ok = bench_call(port, "GET", "/metrics", NULL, NULL, &text) == 200 && text &&
		  bench_metrics_route(text, "GET", "/services", &ret->sum, &ret->count);
	const char *h = text ? strstr(text, "\nstore_search_cache_hits_total ") : NULL;
	ret->hits = h ? strtod(h + strlen("\nstore_search_cache_hits_total "), NULL) : 0;
	free(text);
	return ok && h;
}

/* ---- one measured run of the store ---- */

typedef struct {
	char label[64], name[32];
	int cache_ms; /* -1: the default */
	bool ran, valid;
	bench_run_t run;
	double others, steal;
	double hit_rate, db_searches, srv_mean_ms, pg_per_search_ms, srv_per_req_ms;
	bench_pgwait_t wait;
	uint64_t hist[NCLASS][LG_HIST_BUCKETS];
	uint64_t bad_body, parsed, parse_bad, results, empty, window;
} srun_t;

static double q_of(const uint64_t *h, double q)
{
	return lg_hist_quantile_us(h, q) / 1000;
}

static uint64_t hsum(const uint64_t *h)
{
	uint64_t n = 0;
	for (int k = 0; k < LG_HIST_BUCKETS; k++)
		n += h[k];
	return n;
}

/* One row of the per-class table: the classes for which pick(breadth, sort, page) holds. */
static void class_row(const srun_t *x, const char *label, int br, int sort, int page)
{
	static uint64_t h[LG_HIST_BUCKETS];
	memset(h, 0, sizeof h);
	for (int b = 0; b < NBREADTH; b++)
		for (int s = 0; s < NSORTS; s++)
			for (int p = 0; p < 2; p++) {
				if ((br >= 0 && b != br && !(br == 9 && b > 0 && b < 3)) ||
				    (sort >= 0 && s != sort && !(sort == 9 && s != 0)) ||
				    (page >= 0 && p != page))
					continue;
				const uint64_t *src = x->hist[(b * NSORTS + s) * 2 + p];
				for (int k = 0; k < LG_HIST_BUCKETS; k++)
					h[k] += src[k];
			}
	uint64_t n = hsum(h);
	if (!n)
		return;
	printf("  %-34s %5.1f %% of answers  p50 %7.2f ms  p99 %7.2f ms  p99.9 %7.2f ms\n", label,
	       100.0 * (double)n / (double)(x->window ? x->window : 1), q_of(h, 0.5), q_of(h, 0.99),
	       q_of(h, 0.999));
}

static void print_classes(const srun_t *x)
{
	printf("  latency by class of search (inside the window; q breadth = share of the catalogue "
	       "q alone matches):\n");
	for (int b = 0; b < NBREADTH; b++)
		class_row(x, cat_breadth_name[b], b, -1, -1);
	for (int s = 0; s < NSORTS; s++) {
		char l[64];
		snprintf(l, sizeof l, "sort=%s", cat_sort_name[s]);
		class_row(x, l, -1, s, -1);
	}
	class_row(x, "first pages", -1, -1, 0);
	class_row(x, "second pages (cursor)", -1, -1, 1);
	class_row(x, "q broad, sort=relevance", BR_BROAD, SORT_RELEVANCE, -1);
	class_row(x, "q broad, other sorts", BR_BROAD, 9, -1);
	class_row(x, "q narrow/medium, relevance", 9, SORT_RELEVANCE, -1);
}

static bool measure_store(const opts_t *o, const bench_cluster_t *cl, const bench_daemon_t *g,
			  const cat_query_t *q, int nq, srun_t *x)
{
	lmk_t m = {.q = q, .n = nq, .cs = calloc((size_t)o->conns, sizeof(cstate_t))};
	if (!m.cs)
		return false;
	for (int c = 0; c < o->conns; c++)
		m.cs[c].next = (int)((long long)c * nq / o->conns);
	bench_load_t load = {.conns = o->conns, .threads = o->lg_threads, .warmup = o->warmup,
			     .duration = o->duration, .answer = on_search};
	smetrics_t m0 = {0}, m1 = {0};
	bool have_m = read_metrics(g->port, &m0);
	bench_pgwait_sampler_t *sw = bench_pgwait_start_app(cl, DB, "store");
	double st0 = 0, st1 = 0, self0 = sys_self_cpu_s(), mb0 = sys_machine_busy_s(&st0);
	bool ok = bench_measure(&load, g->port, make_search, &m, g->pid, cl->postmaster, &x->run);
	double mb1 = sys_machine_busy_s(&st1);
	bench_pgwait_stop(sw, &x->wait);
	have_m = have_m && read_metrics(g->port, &m1);
	free(m.cs);
	/* the per-class histograms of the generator threads (gone now) */
	pthread_mutex_lock(&hb_mu);
	for (hblock_t *b = hb_list, *next; b; b = next) {
		next = b->next;
		for (int k = 0; k < NCLASS; k++)
			for (int i = 0; i < LG_HIST_BUCKETS; i++)
				x->hist[k][i] += b->h[k][i];
		free(b);
	}
	hb_list = NULL;
	pthread_mutex_unlock(&hb_mu);
	if (!ok)
		return false;
	x->ran = true;
	x->bad_body = m.bad_body;
	x->parsed = m.parsed;
	x->parse_bad = m.parse_bad;
	x->results = m.results;
	x->empty = m.empty;
	x->window = m.window;
	x->valid = x->run.valid && x->bad_body == 0;
	double wall = x->run.wall;
	x->others = mb0 >= 0 && mb1 >= 0 ? (mb1 - mb0) - (sys_self_cpu_s() - self0) -
						   x->run.cpu_server - x->run.cpu_pg
					 : -1;
	x->steal = st1 - st0;
	double count = have_m ? m1.count - m0.count : 0, hits = have_m ? m1.hits - m0.hits : 0;
	x->hit_rate = count > 0 ? hits / count : -1;
	x->db_searches = count - hits;
	x->srv_mean_ms = count > 0 ? (m1.sum - m0.sum) / count * 1000 : -1;
	x->pg_per_search_ms = x->db_searches > 0 ? x->run.cpu_pg / x->db_searches * 1000 : -1;
	x->srv_per_req_ms = count > 0 ? x->run.cpu_server / count * 1000 : -1;

	bench_print_run("GET /v1/services (the mix)", &x->run);
	printf("  %-34s other work on the machine %.2f cores (stolen by the hypervisor %.2f)\n", "",
	       x->others / wall, x->steal / wall);
	printf("  %-34s %.0f searches (warm-up and window), %.0f answered from the cache "
	       "(store_search_cache_hits_total): hit rate %.1f %%; %.0f asked PostgreSQL\n",
	       "cache", count, hits, x->hit_rate * 100, x->db_searches);
	printf("  %-34s server-side mean %.2f ms (its /metrics); CPU per search: daemon %.3f ms, "
	       "PostgreSQL %.3f ms per search that reached it\n",
	       "", x->srv_mean_ms, x->srv_per_req_ms, x->pg_per_search_ms);
	bench_pgwait_print("the store's", o->pool_size, &x->wait);
	printf("  %-34s every answer 200 with the search's JSON page: %s (%llu bad; %llu parsed whole, "
	       "%llu of them bad); %.1f services per page on average, %.1f %% empty pages\n",
	       "answers", x->valid ? "yes" : "NO", (unsigned long long)x->bad_body,
	       (unsigned long long)x->parsed, (unsigned long long)x->parse_bad,
	       x->window ? (double)x->results / (double)x->window : 0.0,
	       x->window ? 100.0 * (double)x->empty / (double)x->window : 0.0);
	print_classes(x);
	return true;
}

/* ---- searches one at a time ---- */

/* What each class of search costs alone (the store without cache, one connection, nothing
 * else running): the mean time, its p50 and p99, and its share of the time all of them took,
 * which is where the CPU of PostgreSQL goes under load. Every nq / n-th search of the mix. */
static bool alone_pass(const opts_t *o, const bench_daemon_t *g, const cat_query_t *q, int nq)
{
	int n = o->alone < nq ? o->alone : nq, step = nq / n;
	static uint64_t h[NBREADTH][NSORTS][LG_HIST_BUCKETS];
	double sum[NBREADTH][NSORTS] = {{0}}, total = 0;
	int cnt[NBREADTH][NSORTS] = {{0}}, done = 0;
	memset(h, 0, sizeof h);
	lg_sync_t *s = lg_sync_open("127.0.0.1", g->port);
	char req[LG_REQ_MAX];
	for (int k = 0; s && k < n; k++) {
		const cat_query_t *x = &q[k * step];
		int len = lg_format(req, sizeof req, "GET", x->path, NULL, NULL);
		double t0 = sys_now_s();
		int st = len > 0 ? lg_sync_do(s, req, (size_t)len, NULL, NULL) : -1;
		double dt = sys_now_s() - t0;
		if (st != 200) {
			printf("  %-34s GET %s answered %d\n", "one at a time", x->path, st);
			lg_sync_close(s);
			return false;
		}
		lg_hist_add(h[x->breadth][x->sort], (int64_t)(dt * 1e9));
		sum[x->breadth][x->sort] += dt;
		cnt[x->breadth][x->sort]++;
		total += dt;
		done++;
	}
	lg_sync_close(s);
	if (!done)
		return false;
	printf("  %-34s %d searches of the mix (one in %d), one at a time over one connection: "
	       "mean %.2f ms, %.0f searches/s; by class (the time alone, and the share of the "
	       "total time that class took):\n",
	       "one at a time, no cache", done, step, total / done * 1000, done / total);
	for (int b = 0; b < NBREADTH; b++)
		for (int t = 0; t < NSORTS; t++) {
			if (!cnt[b][t])
				continue;
			char l[64];
			snprintf(l, sizeof l, "%.17s, %s", cat_breadth_name[b], cat_sort_name[t]);
			printf("    %-32s %5.1f %% of searches  mean %6.2f ms  p50 %6.2f  p99 %6.2f  "
			       "%5.1f %% of the time\n",
			       l, 100.0 * cnt[b][t] / done, sum[b][t] / cnt[b][t] * 1000,
			       q_of(h[b][t], 0.5), q_of(h[b][t], 0.99), 100 * sum[b][t] / total);
		}
	return true;
}

/* ---- the report ---- */

static bool hello_run(const opts_t *o, const bench_cluster_t *cl, unsigned pool,
		      const char *label, bench_run_t *ret)
{
	bench_load_t load = {.conns = o->conns, .threads = o->lg_threads, .warmup = o->warmup,
			     .duration = o->duration};
	hello_t *h = hello_start(pool, (unsigned)o->conns);
	if (!h || !bench_measure(&load, hello_port(h), make_hello, NULL, 0, cl->postmaster, ret)) {
		fprintf(stderr, "bench_store: the hello-world reference (%s) did not run\n", label);
		hello_stop(h);
		return false;
	}
	hello_stop(h);
	bench_print_run(label, ret);
	return true;
}

static void summary_run(const char *name, const srun_t *x, const bench_run_t *tpc,
			const bench_run_t *pool, int ref_pool)
{
	char fig[64], a[32], b[32], val[64], ref[96], ratio[16];
	snprintf(fig, sizeof fig, "search req/s, %s", name);
	if (!x->ran) {
		bench_row(fig, "(no figure)", "the run did not go through", "", "", "INVALID");
		return;
	}
	double r1 = x->run.rate / tpc->rate, r2 = x->run.rate / pool->rate;
	bench_fmt_rate(x->run.rate, a, sizeof a);
	snprintf(val, sizeof val, "%s req/s", a);
	bench_fmt_rate(tpc->rate, b, sizeof b);
	snprintf(ref, sizeof ref, "hello-world thread/conn %s req/s", b);
	snprintf(ratio, sizeof ratio, r1 < 0.1 ? "%.3f" : "%.2f", r1);
	bench_row(fig, val, ref, ratio, ">= 0.25", r1 >= TARGET_RATIO ? "PASS" : "MISS");
	bench_fmt_rate(pool->rate, b, sizeof b);
	snprintf(ref, sizeof ref, "hello-world epoll pool %d %s req/s", ref_pool, b);
	snprintf(ratio, sizeof ratio, r2 < 0.1 ? "%.3f" : "%.2f", r2);
	bench_row("", "", ref, ratio, "(stricter)", "");
	snprintf(fig, sizeof fig, "  p99, %s", name);
	snprintf(val, sizeof val, "%.2f ms", x->run.p99 / 1000);
	snprintf(ref, sizeof ref, "p50 %.2f, p99.9 %.2f; hello p99 %.2f ms", x->run.p50 / 1000,
		 x->run.p999 / 1000, tpc->p99 / 1000);
	bench_row(fig, val, ref, "", "< 20 ms", x->run.p99 / 1000 < TARGET_P99_MS ? "PASS" : "MISS");
	static uint64_t h[LG_HIST_BUCKETS];
	memset(h, 0, sizeof h);
	for (int p = 0; p < 2; p++)
		for (int k = 0; k < LG_HIST_BUCKETS; k++)
			h[k] += x->hist[(BR_BROAD * NSORTS + SORT_RELEVANCE) * 2 + p][k];
	if (hsum(h)) {
		snprintf(val, sizeof val, "%.2f ms", q_of(h, 0.99));
		snprintf(ref, sizeof ref, "p50 %.2f ms, %.1f %% of answers", q_of(h, 0.5),
			 100.0 * (double)hsum(h) / (double)(x->window ? x->window : 1));
		bench_row("  p99 q broad + relevance", val, ref, "", "", "");
	}
	snprintf(val, sizeof val, "%.2f/%.2f/%.2f", x->run.cpu_gen / x->run.wall,
		 x->run.cpu_server / x->run.wall, x->run.cpu_pg / x->run.wall);
	snprintf(ref, sizeof ref, "other work %.2f; PostgreSQL %.2f ms per search to it",
		 x->others / x->run.wall, x->pg_per_search_ms);
	bench_row("  cores: gen/daemon/PG", val, ref, "", "", "");
	if (x->hit_rate >= 0) {
		snprintf(val, sizeof val, "%.1f %%", x->hit_rate * 100);
		bench_row("  cache hit rate", val, "store_search_cache_hits_total", "", "", "");
	}
}

/* After a set-up failure: the store stopped, its config and log kept (and said where). */
static int setup_failed(bench_daemon_t *g)
{
	if (g->pid > 0)
		(void)bench_daemon_stop(g);
	bench_daemon_finish(g, false);
	return 2;
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
	if (access(o.store, X_OK) != 0) {
		fprintf(stderr, "bench_store: %s is not an executable\n", o.store);
		return 2;
	}
	char cpu[300];
	bench_header("duxos-store", cpu, sizeof cpu);
	printf("load generator: %d keep-alive HTTP/1.1 connections over %d threads (epoll, one "
	       "request in flight per connection), raw sockets, in this process; every answer must "
	       "be 200 with the search's JSON page (one in %d per connection parsed whole).\n",
	       o.conns, o.lg_threads, FULL_PARSE_EVERY);
	bench_note_shared_cpus();
	printf("each figure: %g s measured after %g s of warm-up. The store: its defaults (a thread "
	       "per connection, db.pool_size %d) but log.level warn, store.escrow_url \"\" (no "
	       "events) and, in [c], store.search_cache_ms 0.\n\n",
	       o.duration, o.warmup, o.pool_size);

	catalog_t cat;
	int nq = o.queries;
	cat_query_t *q = calloc((size_t)nq, sizeof *q);
	if (!q || !cat_init(&cat, (uint64_t)o.seed, o.services, o.providers, o.vocab, o.doc_zipf)) {
		fprintf(stderr, "bench_store: out of memory\n");
		return 2;
	}
	bench_daemon_t g;
	if (!bench_daemon_init(&g, "store", "the store"))
		return 2;

	/* the catalogue: the daemon migrates its database, then the rows go in */
	printf("[set-up] the catalogue, database %s\n", DB);
	if (!bench_fresh_db(&cl, DB) || !store_start(&g, &o, &cl, -1))
		return setup_failed(&g);
	if (!check_vocabulary(&cat, &cl) || !seed(&o, &cat, &cl) || !wait_index(&o, &g) ||
	    !check_sample(&cat, g.port) ||
	    !cat_queries(&cat, (uint64_t)o.seed, nq, o.query_zipf, o.page2, q) ||
	    !check_counts(&cat, &cl, q, nq)) {
		return setup_failed(&g);
	}
	mix_t mix = {.q = q, .n = nq};
	double rate = 0;
	if (!bench_parallel(nq, 4, g.port, fetch_cursor, &mix, &rate)) {
		fprintf(stderr, "bench_store: the first pages of the second-page searches failed\n");
		return setup_failed(&g);
	}
	print_mix(&o, &cat, q, nq);
	if (o.mix_out && !write_mix(o.mix_out, q, nq)) {
		return setup_failed(&g);
	}
	if (o.seed_only) {
		bool stopped = bench_daemon_stop(&g);
		bench_daemon_finish(&g, stopped && !o.keep_logs);
		printf("--seed-only: database %s kept in the cluster %s\n", DB, o.pg_dir);
		return stopped ? 0 : 1;
	}

	/* a. the references */
	int exit_code = 0;
	bench_run_t hello_tpc, hello_pool;
	char ref_label[64];
	snprintf(ref_label, sizeof ref_label, "hello-world, epoll pool %d", o.ref_pool);
	printf("\n[a] reference: libmicrohttpd hello-world, same generator, same %d connections\n",
	       o.conns);
	if (!hello_run(&o, &cl, 0, "hello-world, thread/connection", &hello_tpc) ||
	    !hello_run(&o, &cl, (unsigned)o.ref_pool, ref_label, &hello_pool)) {
		return setup_failed(&g);
	}
	printf("  %-34s first: the flags of libduxcommon/src/http.c (a thread per connection); "
	       "second: %d epoll event loops, the stricter ceiling\n",
	       "", o.ref_pool);
	if (!hello_tpc.valid || !hello_pool.valid)
		exit_code = 1;

	/* b. the default configuration, c. no cache */
	static srun_t runs[3];
	int nruns = o.cache_ms > 0 ? 3 : 2;
	runs[0] = (srun_t){.label = "cache on (the default, 1000 ms)", .name = "cache on",
			   .cache_ms = -1};
	runs[1] = (srun_t){.label = "cache off (store.search_cache_ms 0)", .name = "cache off",
			   .cache_ms = 0};
	runs[2].cache_ms = o.cache_ms;
	snprintf(runs[2].label, sizeof runs[2].label, "store.search_cache_ms %d (not the default)",
		 o.cache_ms);
	snprintf(runs[2].name, sizeof runs[2].name, "cache %d ms", o.cache_ms);
	for (int k = 0; k < nruns; k++) {
		printf("\n[%c] duxos-store, %s, db.pool_size %d\n", 'b' + k, runs[k].label, o.pool_size);
		if (k > 0) {
			bool stopped = bench_daemon_stop(&g);
			if (!stopped)
				exit_code = 1;
			if (!store_start(&g, &o, &cl, runs[k].cache_ms))
				return setup_failed(&g);
		}
		(void)bench_sql(&cl, NULL, "CHECKPOINT", NULL, 0);
		printf("  %-34s %.0f services in the search index (built before the daemon listens);"
		       " the daemon's RSS %.0f MiB\n",
		       "search index", store_metric(g.port, "store_search_index_services"),
		       rss_mib(g.pid));
		double answered0 = store_metric(g.port, "store_search_index_answers_total");
		if (!measure_store(&o, &cl, &g, q, nq, &runs[k])) {
			return setup_failed(&g);
		}
		printf("  %-34s %.0f searches answered from the search index "
		       "(store_search_index_answers_total), the others by PostgreSQL; RSS after %.0f MiB\n",
		       "search index", store_metric(g.port, "store_search_index_answers_total") - answered0,
		       rss_mib(g.pid));
		if (!runs[k].valid)
			exit_code = 1;
		if (k == 1 && o.alone > 0 && !alone_pass(&o, &g, q, nq))
			exit_code = 1;
	}
	if (!bench_daemon_stop(&g))
		exit_code = 1;

	printf("\n== summary (%d connections, %d services, %d searches in the mix; every run is "
	       "listed above) ==\n",
	       o.conns, o.services, nq);
	bench_row("figure", "value", "reference", "ratio", "target", "verdict");
	for (int k = 0; k < nruns; k++)
		summary_run(runs[k].name, &runs[k], &hello_tpc, &hello_pool, o.ref_pool);
	bench_footer(cpu);
	printf("run %s.\n", exit_code == 0 ? "VALID (no transport error, every answer 200 with the "
					     "search's JSON page)"
					   : "INVALID: see the errors and bad answers above");
	free(hello_tpc.r);
	free(hello_pool.r);
	for (int k = 0; k < nruns; k++)
		free(runs[k].run.r);
	free(q);
	cat_free(&cat);
	bench_daemon_finish(&g, !o.keep_logs && exit_code == 0);
	return exit_code;
}
