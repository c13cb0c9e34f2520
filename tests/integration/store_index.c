/* store_index.c - the store's search index (services/store/index*.c) against PostgreSQL's own
 * answers: a copy of the store with store.search_index false runs on the same database, and
 * every search of a grid (words, stems, stop words, each filter, each sort, page by page) must
 * give the same services in the same order from both; relevance with one word the same ranks,
 * with several words the same services. Then freshness: what another copy of the store
 * publishes, delists or what is committed behind every copy's back shows in this copy's
 * searches once its index has read the change feed; and a restart builds the index again
 * before the daemon listens. The catalogue is INSERTed straight into store.services after the
 * store started, so the index takes it in through the change feed too. */
#include "store_util.h"
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#define NSVC 160
#define PAGE_IDS 400

static su_t S;           /* index on (store.search_index_refresh_ms 50) */
static th_daemon_t PG;   /* the same database, store.search_index false */
static th_daemon_t COPY; /* another copy with its index, for writes */
static eu_user_t P, Q;

static const char *const vocab[] = {
	"data",	     "fast",	  "weather",  "forecasts", "forecast", "running", "runs",
	"run",	     "runner",	  "images",   "imaging",   "real-time", "api",    "APIs",
	"Translate", "speech",	  "maps",     "ledger",	   "GPT-4",    "node.js", "example.com",
	"don't",     "the",	  "of",	      "and",	   "quick",    "quickly", "storage",
	"vision",    "upscaling", "upscale",  "music",	   "audio",    "e-mail",  "café",
};
#define NV (int)(sizeof vocab / sizeof vocab[0])
static const char *const tagset[] = {"ai", "image", "text", "maps", "audio", "real-time"};
static const char *const prices[] = {"0", "50000000", "100000000", "250000000", "500000000",
				     "1000000000", "1"};

static const char *word(unsigned i)
{
	return vocab[i % NV];
}

/* Service i of the catalogue as one row of a VALUES list. */
static void row(int i, char *out, size_t len)
{
	unsigned h = (unsigned)i * 2654435761u;
	char name[128], desc[512], tags[128];
	snprintf(name, sizeof name, "%s %s", word(h >> 3), word(h >> 11));
	snprintf(desc, sizeof desc, "%s %s %s, %s %s %s %s.", word(h >> 5), word(h >> 7),
		 word(h >> 13), word((unsigned)i), word(h >> 17), word(h >> 19), word(h >> 5));
	const char *t1 = tagset[h % 6], *t2 = tagset[(h >> 4) % 6];
	if (i % 5 == 0)
		snprintf(tags, sizeof tags, "{}");
	else if (i % 3 == 0 || t1 == t2)
		snprintf(tags, sizeof tags, "{%s}", t1);
	else
		snprintf(tags, sizeof tags, "{%s,%s}", t1, t2);
	int count = i % 4, sum = count + (int)(h % (unsigned)(4 * count + 1));
	snprintf(out, len,
		 "('svc_%032x', '%s', '%s', $q$%s$q$, $q$%s$q$, '1.0.0', %s, '%s',"
		 " 'https://node.example/api', 100, %d, %d, %d, now() - interval '%d minutes')",
		 (unsigned)(i + 1) * 2654435761u, i % 2 ? "own-q" : "own-p", i % 2 ? Q.addr : P.addr,
		 name, desc, prices[i % 7], tags, (i * 37) % 13, count, sum, NSVC - i);
}

static int setup(void **state)
{
	(void)state;
	su_opts_t o = {.own_publisher = true,
		       .escrow_url = "http://127.0.0.1:1",
		       .escrow_events = "tcp://127.0.0.1:1",
		       .store_yaml = "  search_index_refresh_ms: 50\n  search_index_delta_max: 40\n"};
	if (!su_start(&S, &o) || !su_provider(&S, &P) || !su_provider(&S, &Q) ||
	    !su_store_copy(&S, &PG, "  search_index: false\n  search_cache_ms: 0\n") ||
	    !su_store_copy(&S, &COPY, "  search_index_refresh_ms: 50\n"))
		return -1;
	static char sql[NSVC * 1400];
	size_t off = (size_t)snprintf(sql, sizeof sql,
				      "SET search_path TO store, public; INSERT INTO store.services (id, owner, provider, name,"
				      " description, version, price, tags, endpoint, rate_limit,"
				      " total_calls, rating_count, rating_sum, created_at) VALUES ");
	for (int i = 0; i < NSVC; i++) {
		char r[1400];
		row(i, r, sizeof r);
		off += (size_t)snprintf(sql + off, sizeof sql - off, "%s%s", i ? "," : "", r);
	}
	char out[8];
	return su_sql(&S, sql, out, sizeof out) && su_index_wait(&S, S.url, 10000) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	int a = th_daemon_stop(&PG), b = th_daemon_stop(&COPY);
	if (a != 0 || b != 0)
		fprintf(stderr, "exit status: PostgreSQL-only copy %d, other copy %d\n", a, b);
	return su_finish(&S) && a == 0 && b == 0 ? 0 : -1;
}

typedef struct {
	char id[PAGE_IDS][40];
	double rank[PAGE_IDS];
	int n;
} ids_t;

/* Every result of query from url, limit per page, in order. */
static void walk(const char *url, const char *query, int limit, ids_t *ret)
{
	char cursor[512] = "", path[1200];
	ret->n = 0;
	for (int pages = 0; pages < 200; pages++) {
		cJSON *page = NULL, *it;
		snprintf(path, sizeof path, "/v1/services?%s%slimit=%d%s%s", query, *query ? "&" : "",
			 limit, cursor[0] ? "&cursor=" : "", cursor);
		long st = th_call(url, "GET", path, NULL, NULL, NULL, &page);
		if (st != 200)
			fail_msg("%s%s: %ld", url, path, st);
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "services"))
		{
			assert_true(ret->n < PAGE_IDS);
			snprintf(ret->id[ret->n], 40, "%s", eu_str(it, "id"));
			const cJSON *rank = cJSON_GetObjectItemCaseSensitive(it, "rank");
			ret->rank[ret->n++] = cJSON_IsNumber(rank) ? rank->valuedouble : -1;
		}
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
		snprintf(cursor, sizeof cursor, "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		cJSON_Delete(page);
		if (!cursor[0])
			return;
	}
	fail_msg("%s: more than 200 pages", query);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int page_size = 7;

/* The index's answer against PostgreSQL's: the same order, or (several words by relevance,
 * whose formulas differ) the same set. */
static void agree(const char *query, bool as_set)
{
	static ids_t a, b;
	walk(S.url, query, page_size, &a);
	walk(PG.url, query, page_size, &b);
	bool same = a.n == b.n;
	if (same && as_set) {
		qsort(a.id, (size_t)a.n, sizeof a.id[0], id_cmp);
		qsort(b.id, (size_t)b.n, sizeof b.id[0], id_cmp);
	}
	for (int i = 0; same && i < a.n; i++) {
		same = strcmp(a.id[i], b.id[i]) == 0;
		if (!as_set && b.rank[i] >= 0) /* ts_rank's float4 against the index's */
			same = same && fabs(a.rank[i] - b.rank[i]) <= 1e-6 * (1 + b.rank[i]);
	}
	if (!same) {
		fprintf(stderr, "%s: the index answers %d services, PostgreSQL %d\n", query, a.n, b.n);
		for (int i = 0; i < a.n || i < b.n; i++)
			fprintf(stderr, "  %-38s %-10.7g %-38s %.7g\n", i < a.n ? a.id[i] : "",
				i < a.n ? a.rank[i] : 0, i < b.n ? b.id[i] : "",
				i < b.n ? b.rank[i] : 0);
	}
	assert_true(same);
}

static void index_agrees_with_postgresql(void **state)
{
	(void)state;
	const char *qs[] = {"",		 "data",    "fast",	  "Weather", "running", "RUN",
			    "runs",	 "image",   "translation", "maps",   "api",	"apis",
			    "real",	 "time",    "mail",	  "gpt",     "node",	"example",
			    "don",	 "the",     "quick",	  "zzzz",    "data fast", "run  fast",
			    "upscaling vision", "the weather"};
	const char *filters[] = {"",
				 "tag=ai",
				 "tag=image,text",
				 "tag=real-time",
				 "min_price=1",
				 "max_price=2.5",
				 "min_price=0.5&max_price=5",
				 "min_price=0.00000001&max_price=0.00000001",
				 "min_reputation=3.2",
				 "min_reputation=3",
				 NULL, /* provider=Q */
				 "tag=ai&min_reputation=3&max_price=5"};
	const char *sorts[] = {"", "sort=relevance", "sort=reputation", "sort=total_calls",
			       "sort=price", "sort=newest"};
	long answers = su_metric(S.url, "store_search_index_answers_total");
	int n = 0;
	for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++)
		for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++)
			for (size_t so = 0; so < sizeof sorts / sizeof sorts[0]; so++) {
				char filter[128], query[512], q[64];
				if (!*qs[qi] && so == 1)
					continue; /* relevance needs q */
				if ((f % 3 != 0 || so % 2 != 0) && strchr(qs[qi], ' ') && qi % 2)
					continue; /* fewer of the two-word searches */
				if (filters[f])
					snprintf(filter, sizeof filter, "%s", filters[f]);
				else
					snprintf(filter, sizeof filter, "provider=%s", Q.addr);
				snprintf(q, sizeof q, "%s", qs[qi]);
				for (char *p = q; *p; p++)
					*p = *p == ' ' ? '+' : *p;
				snprintf(query, sizeof query, "%s%s%s%s%s%s%s", *q ? "q=" : "", q,
					 *q && *filter ? "&" : "", filter,
					 (*q || *filter) && *sorts[so] ? "&" : "", sorts[so], "");
				bool several = strchr(qs[qi], ' ') && strcmp(qs[qi], "the weather") != 0;
				page_size = n % 4 ? 25 : 7;
				agree(query, several && (so <= 1));
				n++;
			}
	/* every one of them came from the index, none from PostgreSQL */
	page_size = 7;
	long pages = su_metric(S.url, "store_search_index_answers_total") - answers;
	assert_true(pages >= n);
	assert_int_equal(su_metric(PG.url, "store_search_index_answers_total"), 0);
}

/* Phrases, exclusions, OR and words with digits or punctuation are PostgreSQL's to answer. */
static void other_searches_go_to_postgresql(void **state)
{
	(void)state;
	const char *qs[] = {"q=%22fast+data%22", "q=data+-fast", "q=data+or+fast", "q=gpt-4",
			    "q=node.js", "q=caf%C3%A9", "q=e-mail"};
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		long before = su_metric(S.url, "store_search_index_answers_total");
		agree(qs[i], false);
		assert_int_equal(su_metric(S.url, "store_search_index_answers_total"), before);
	}
}

static int count(const char *url, const char *query)
{
	static ids_t a;
	walk(url, query, 100, &a);
	return a.n;
}

static void changes_of_another_copy_show_within_the_bound(void **state)
{
	(void)state;
	char body[SU_BODY_MAX], path[128], id[64];
	cJSON *j = NULL;
	su_body(body, "Quixotic Relay", "tilts at windmills", "1.0.0", P.addr, "3", "[\"ai\"]",
		NULL);
	assert_int_equal(th_call(COPY.url, "POST", "/v1/services", P.auth, NULL, body, &j), 201);
	snprintf(id, sizeof id, "%s", eu_str(j, "id"));
	cJSON_Delete(j);
	/* the other copy shows it at once; this one once its index has read the feed */
	assert_int_equal(count(COPY.url, "q=quixotic"), 1);
	assert_true(su_index_wait(&S, S.url, 5000));
	assert_int_equal(count(S.url, "q=quixotic"), 1);
	assert_int_equal(count(S.url, "q=windmill&tag=ai"), 1);
	agree("q=windmills", false);
	/* committed behind every copy's back: a review's reputation, the escrow's total_calls */
	char sql[320], out[8];
	snprintf(sql, sizeof sql,
		 "SET search_path TO store, public; UPDATE store.services SET total_calls = 1000000, rating_count = 10,"
		 " rating_sum = 50 WHERE id = '%s'",
		 id);
	assert_true(su_sql(&S, sql, out, sizeof out));
	assert_true(su_index_wait(&S, S.url, 5000));
	static ids_t a;
	walk(S.url, "sort=total_calls", 1, &a);
	assert_string_equal(a.id[0], id);
	walk(S.url, "sort=reputation&min_reputation=4.3", 100, &a);
	assert_int_equal(a.n, 1);
	agree("sort=reputation", false);
	/* delisted through the other copy: gone from this one's searches */
	snprintf(path, sizeof path, "/v1/services/%s", id);
	assert_int_equal(th_call(COPY.url, "DELETE", path, P.auth, NULL, NULL, NULL), 200);
	assert_int_equal(count(COPY.url, "q=quixotic"), 0);
	assert_true(su_index_wait(&S, S.url, 5000));
	assert_int_equal(count(S.url, "q=quixotic"), 0);
	walk(S.url, "sort=total_calls", 1, &a);
	assert_string_not_equal(a.id[0], id);
	agree("sort=total_calls", false);
}

/* More changes than store.search_index_delta_max (40): the base is built again. */
static void many_changes_rebuild_the_base(void **state)
{
	(void)state;
	long builds = su_metric(S.url, "store_search_index_builds_total");
	char out[8];
	assert_true(su_sql(&S,
			   "SET search_path TO store, public;"
			   " UPDATE store.services SET total_calls = total_calls + 1, price = price + 1"
			   " WHERE listed",
			   out, sizeof out));
	assert_true(su_index_wait(&S, S.url, 5000));
	assert_true(su_metric(S.url, "store_search_index_builds_total") > builds);
	assert_true(su_metric(S.url, "store_search_index_delta") <= 40);
	agree("sort=price", false);
	agree("q=data&sort=total_calls", false);
	agree("q=fast&min_price=1", false);
}

static void a_restart_builds_the_index_again(void **state)
{
	(void)state;
	char out[8];
	assert_int_equal(su_store_stop(&S), 0);
	assert_true(su_sql(&S,
			   "SET search_path TO store, public;"
			   " UPDATE store.services SET name = 'Phoenix ' || name WHERE id ="
			   " (SELECT min(id) FROM store.services WHERE listed)",
			   out, sizeof out));
	assert_true(su_store_restart(&S));
	/* no wait: the index is built before the daemon listens */
	assert_int_equal(count(S.url, "q=phoenix"), 1);
	assert_true(su_sql(&S, "SELECT count(*) FROM store.services WHERE listed", out, sizeof out));
	assert_int_equal(su_metric(S.url, "store_search_index_services"), strtol(out, NULL, 10));
	agree("q=data", false);
	agree("", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(index_agrees_with_postgresql),
		cmocka_unit_test(other_searches_go_to_postgresql),
		cmocka_unit_test(changes_of_another_copy_show_within_the_bound),
		cmocka_unit_test(many_changes_rebuild_the_base),
		cmocka_unit_test(a_restart_builds_the_index_again),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
