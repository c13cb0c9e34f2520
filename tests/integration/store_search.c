/* store_search.c - discovery in duxos-store: GET /services with full-text search (ranking,
 * stemming, web-search syntax), filters (tags, price range, minimum reputation, provider),
 * the five sort orders walked page by page against the order the test computes itself,
 * keyset pages that stay stable while services are published, and every refusal of a bad
 * query. The catalogue is published through the API (a real duxos-wallet says who owns the
 * provider addresses); counters and ratings, which other tests earn through the escrow, are
 * set here in SQL so that each order has distinct and equal keys to sort. */
#include "store_util.h"
#include <dux/crypto.h>
#include <dux/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

static su_t S;
static eu_user_t P, Q;

typedef struct {
	const char *name, *description, *tags, *price;
	int owner;        /* 0: P, 1: Q */
	int calls;        /* total_calls */
	int nrating, sum; /* rating_count, rating_sum */
	char id[64];
	int64_t units;    /* price in base units */
	double reputation;
	int order;        /* publish order */
} svc_t;

static svc_t cat[] = {
	/* name, description, tags, price, owner, calls, ratings, sum of stars; then filled in */
	{"Upscaling Studio", "makes photos larger", "[\"image\",\"ai\"]", "2.5", 0, 10, 1, 5,
	 "", 0, 0.0, 0},
	{"Studio Two", "makes photos", "[\"upscaling\",\"image\"]", "1", 0, 7, 1, 2, "", 0, 0.0, 0},
	{"Studio Three", "does upscaling of pictures", "[\"image\"]", "0.5", 1, 7, 0, 0, "", 0,
	 0.0, 0},
	{"Speech Relay", "speech to text in real time", "[\"ai\",\"speech\",\"vision\"]", "0", 1,
	 0, 5, 25, "", 0, 0.0, 0},
	{"Weather Now", "forecasts for any place", "[\"weather\"]", "10", 0, 3, 2, 6, "", 0, 0.0,
	 0},
	{"Vision Tagger", "labels what photos show", "[\"ai\",\"vision\",\"image\"]", "1", 1, 3,
	 1, 5, "", 0, 0.0, 0},
	{"Plain Ledger", "keeps accounts", "[]", "1", 0, 0, 0, 0, "", 0, 0.0, 0},
	{"Map Tiles", "renders map tiles", "[\"maps\"]", "0.00000001", 1, 12, 3, 15, "", 0, 0.0, 0},
	{"Tiny Thing", "does little", "[\"tiny\"]", "2.5", 0, 1, 1, 2, "", 0, 0.0, 0},
	{"Translator", "translates text between languages", "[\"ai\",\"text\"]", "0.75", 1, 9,
	 0, 0, "", 0, 0.0, 0},
};
#define NCAT (int)(sizeof cat / sizeof cat[0])

static void set_counters(svc_t *c)
{
	char sql[512], out[32];
	snprintf(sql, sizeof sql,
		 "UPDATE store.services SET total_calls = %d, rating_count = %d, rating_sum = %d"
		 " WHERE id = '%s' RETURNING reputation",
		 c->calls, c->nrating, c->sum, c->id);
	assert_true(su_sql(&S, sql, out, sizeof out));
	c->reputation = strtod(out, NULL);
	/* (3 x 5 + sum) / (5 + count), to 4 decimals */
	double want = (double)(15 + c->sum) / (5 + c->nrating);
	assert_true(c->reputation > want - 0.00006 && c->reputation < want + 0.00006);
}

static int setup(void **state)
{
	(void)state;
	su_opts_t o = {.own_publisher = true,
		       .escrow_url = "http://127.0.0.1:1",
		       .escrow_events = "tcp://127.0.0.1:1",
		       .store_yaml = "  search_cache_ms: 1500\n  search_index_refresh_ms: 50\n"};
	if (!su_start(&S, &o) || !su_provider(&S, &P) || !su_provider(&S, &Q))
		return -1;
	for (int i = 0; i < NCAT; i++) {
		char body[SU_BODY_MAX];
		const eu_user_t *who = cat[i].owner ? &Q : &P;
		su_body(body, cat[i].name, cat[i].description, "1.0.0", who->addr, cat[i].price,
			cat[i].tags, NULL);
		if (!su_publish(&S, who, body, cat[i].id))
			return -1;
		cat[i].units = wu_units(cat[i].price);
		cat[i].order = i;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return su_finish(&S) ? 0 : -1;
}

#define CHECK(path, status, problem, field) \
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, status, problem, field, NULL))

static int index_of(const char *id)
{
	for (int i = 0; i < NCAT; i++)
		if (strcmp(cat[i].id, id) == 0)
			return i;
	return -1;
}

/* Every result of query (a query string without limit and cursor) in order, limit per page;
 * their catalogue indexes into got (-1 for a service not in the catalogue); the count. */
static int walk(const char *query, int limit, int *got, int max)
{
	char cursor[512] = "", path[1024];
	int n = 0;
	for (int pages = 0; pages < 100; pages++) {
		snprintf(path, sizeof path, "/v1/services?%s%slimit=%d%s%s", query, *query ? "&" : "",
			 limit, cursor[0] ? "&cursor=" : "", cursor);
		cJSON *page = NULL, *it;
		assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(page, "services");
		assert_true(cJSON_GetArraySize(arr) <= limit);
		cJSON_ArrayForEach(it, arr)
		{
			assert_true(n < max);
			got[n++] = index_of(eu_str(it, "id"));
		}
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
		snprintf(cursor, sizeof cursor, "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		cJSON_Delete(page);
		if (!cursor[0])
			return n;
	}
	fail_msg("%s: more than 100 pages", query);
	return n;
}

static void assert_order(const char *query, const int *want, int nwant)
{
	int got[64];
	for (int limit = 1; limit <= 4; limit += 3) {
		int n = walk(query, limit, got, 64);
		bool same = n == nwant;
		for (int i = 0; same && i < n; i++)
			same = got[i] == want[i];
		if (!same) {
			fprintf(stderr, "%s (limit %d): got", query, limit);
			for (int i = 0; i < n; i++)
				fprintf(stderr, " %d", got[i]);
			fprintf(stderr, "; want");
			for (int i = 0; i < nwant; i++)
				fprintf(stderr, " %d", want[i]);
			fprintf(stderr, "\n");
		}
		assert_true(same);
	}
}

/* The set of results of query equals want (order not checked). */
static void assert_set(const char *query, const int *want, int nwant)
{
	int got[64];
	int n = walk(query, 100, got, 64);
	bool same = n == nwant;
	for (int i = 0; same && i < nwant; i++) {
		bool found = false;
		for (int k = 0; k < n; k++)
			found = found || got[k] == want[i];
		same = found;
	}
	if (!same)
		fprintf(stderr, "%s: %d results, %d expected\n", query, n, nwant);
	assert_true(same);
}

/* ---- full-text search */

static void search_ranks_name_above_tags_above_description(void **state)
{
	(void)state;
	char path[128];
	cJSON *page = NULL, *it;
	int want[] = {0, 1, 2};
	assert_order("q=upscaling", want, 3);
	/* English stemming: the same services for another form of the word */
	assert_order("q=upscale", want, 3);
	assert_order("q=UPSCALED&sort=relevance", want, 3);
	snprintf(path, sizeof path, "/v1/services?q=upscaling");
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
	assert_string_equal(eu_str(page, "sort"), "relevance");
	double prev = 1e9;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "services"))
	{
		const cJSON *rank = cJSON_GetObjectItemCaseSensitive(it, "rank");
		assert_true(cJSON_IsNumber(rank));
		assert_true(rank->valuedouble < prev && rank->valuedouble > 0);
		prev = rank->valuedouble;
	}
	cJSON_Delete(page);
	/* web-search syntax: a phrase, an exclusion, OR */
	int phrase[] = {0};
	assert_set("q=%22photos%20larger%22", phrase, 1);
	int minus[] = {2};
	assert_set("q=upscaling%20-photos", minus, 1);
	int either[] = {0, 1, 2, 4};
	assert_set("q=upscaling%20or%20forecast", either, 4);
	/* nothing, and an empty box is no search */
	assert_set("q=zebra", NULL, 0);
	assert_set("q=the", NULL, 0); /* only a stop word: no words to search */
	int all[NCAT];
	for (int i = 0; i < NCAT; i++)
		all[i] = i;
	assert_set("q=", all, NCAT);
	assert_set("q=%20%20", all, NCAT);
	/* a search sorted otherwise keeps its matches */
	int by_price[] = {2, 1, 0};
	assert_order("q=upscaling&sort=price", by_price, 3);
}

/* ---- filters */

static void filters_narrow_the_results(void **state)
{
	(void)state;
	int ai[] = {0, 3, 5, 9};
	assert_set("tag=ai", ai, 4);
	assert_set("tag=AI", ai, 4);
	int ai_vision[] = {3, 5};
	assert_set("tag=ai&tag=vision", ai_vision, 2);
	assert_set("tag=ai,vision", ai_vision, 2);
	assert_set("tag=vision,%20AI%20", ai_vision, 2);
	assert_set("tag=ai&tag=ai,vision", ai_vision, 2);
	int ai_image[] = {0, 5};
	assert_set("tag=ai&tag=image", ai_image, 2);
	assert_set("tag=nosuchtag", NULL, 0);
	/* prices, bounds included */
	int from1[] = {0, 1, 4, 5, 6, 8};
	assert_set("min_price=1", from1, 6);
	int upto1[] = {1, 2, 3, 5, 6, 7, 9};
	assert_set("max_price=1", upto1, 7);
	int between[] = {0, 1, 5, 6, 8, 9};
	assert_set("min_price=0.75&max_price=2.5", between, 6);
	int free_only[] = {3};
	assert_set("max_price=0", free_only, 1);
	int one_unit[] = {3, 7};
	assert_set("max_price=0.00000001", one_unit, 2);
	/* reputation: the shown value, bounds included (set behind the store's back: its search
	 * index takes it in within store.search_index_refresh_ms) */
	for (int i = 0; i < NCAT; i++)
		set_counters(&cat[i]);
	assert_true(su_index_wait(&S, S.url, 5000));
	int from_33[] = {0, 3, 5, 7};
	assert_set("min_reputation=3.3333", from_33, 4);
	int from_4[] = {3};
	assert_set("min_reputation=4", from_4, 1);
	assert_set("min_reputation=4.0001", NULL, 0);
	int all[NCAT];
	for (int i = 0; i < NCAT; i++)
		all[i] = i;
	assert_set("min_reputation=0", all, NCAT);
	/* provider */
	char query[128];
	snprintf(query, sizeof query, "provider=%s", Q.addr);
	int of_q[] = {2, 3, 5, 7, 9};
	assert_set(query, of_q, 5);
	/* all together */
	snprintf(query, sizeof query, "q=photos&tag=image&max_price=1&provider=%s", Q.addr);
	int combined[] = {5};
	assert_set(query, combined, 1);
}

/* ---- sorts */

static int sort_kind;

static int cmp_id_desc(const svc_t *a, const svc_t *b)
{
	return -strcmp(a->id, b->id);
}

static int by_sort(const void *x, const void *y)
{
	const svc_t *a = &cat[*(const int *)x], *b = &cat[*(const int *)y];
	switch (sort_kind) {
	case 0: /* price: cheapest first, then id ascending */
		if (a->units != b->units)
			return a->units < b->units ? -1 : 1;
		return strcmp(a->id, b->id);
	case 1: /* reputation: highest first, then id descending */
		if (a->reputation != b->reputation)
			return a->reputation > b->reputation ? -1 : 1;
		return cmp_id_desc(a, b);
	case 2: /* total_calls */
		if (a->calls != b->calls)
			return a->calls > b->calls ? -1 : 1;
		return cmp_id_desc(a, b);
	default: /* newest */
		return b->order - a->order;
	}
}

static void sorts_walk_every_page_in_order(void **state)
{
	(void)state;
	const char *queries[] = {"sort=price", "sort=reputation", "sort=total_calls", "sort=newest"};
	for (int i = 0; i < NCAT; i++)
		set_counters(&cat[i]);
	assert_true(su_index_wait(&S, S.url, 5000));
	for (sort_kind = 0; sort_kind < 4; sort_kind++) {
		int want[NCAT];
		for (int i = 0; i < NCAT; i++)
			want[i] = i;
		qsort(want, NCAT, sizeof want[0], by_sort);
		assert_order(queries[sort_kind], want, NCAT);
	}
	/* newest is the default without q */
	int want[NCAT];
	for (int i = 0; i < NCAT; i++)
		want[i] = NCAT - 1 - i;
	assert_order("", want, NCAT);
	/* sorts with filters */
	int ai_by_calls[] = {0, 9, 5, 3};
	assert_order("tag=ai&sort=total_calls", ai_by_calls, 4);
}

/* ---- keyset pages while services are published */

static const char *first_page(const char *query, int limit, int *ids, int *n, char cursor[512])
{
	char path[512];
	cJSON *page = NULL, *it;
	snprintf(path, sizeof path, "/v1/services?%s&limit=%d", query, limit);
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
	*n = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "services"))
		ids[(*n)++] = index_of(eu_str(it, "id"));
	snprintf(cursor, 512, "%s", eu_str(page, "next_cursor"));
	cJSON_Delete(page);
	return cursor;
}

/* The ids (catalogue indexes, -1 for others) after cursor, to the end. */
static int rest(const char *query, const char *cursor, char ids[][64], int max)
{
	char cur[512], path[1024];
	int n = 0;
	snprintf(cur, sizeof cur, "%s", cursor);
	while (cur[0]) {
		cJSON *page = NULL, *it;
		snprintf(path, sizeof path, "/v1/services?%s&limit=3&cursor=%s", query, cur);
		assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "services"))
		{
			assert_true(n < max);
			snprintf(ids[n++], 64, "%s", eu_str(it, "id"));
		}
		const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
		snprintf(cur, sizeof cur, "%s", cJSON_IsString(nc) ? nc->valuestring : "");
		cJSON_Delete(page);
	}
	return n;
}

static bool has(char ids[][64], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

static void pages_stay_stable_under_inserts(void **state)
{
	(void)state;
	int first[8], n;
	char cursor[512], later[64][64], body[SU_BODY_MAX], newer[64], cheap[64], dear[64];
	/* newest: what is published after page 1 comes before it, never into the next pages */
	first_page("sort=newest", 4, first, &n, cursor);
	assert_int_equal(n, 4);
	assert_true(su_publish(&S, &P, su_body(body, "Newcomer", "new", "1.0.0", P.addr, "1", NULL,
					       NULL),
			       newer));
	int m = rest("sort=newest", cursor, later, 64);
	assert_int_equal(m, NCAT - 4);
	assert_false(has(later, m, newer));
	for (int i = 0; i < m; i++)
		assert_string_equal(later[i], cat[NCAT - 1 - 4 - i].id);
	/* price: a cheaper service lands before the cursor, a dearer one after it */
	first_page("sort=price&tag=image", 2, first, &n, cursor);
	assert_int_equal(n, 2);
	assert_true(su_publish(&S, &Q, su_body(body, "Cheap", "c", "1.0.0", Q.addr, "0.1",
					       "[\"image\"]", NULL),
			       cheap));
	assert_true(su_publish(&S, &Q, su_body(body, "Dear", "d", "1.0.0", Q.addr, "99",
					       "[\"image\"]", NULL),
			       dear));
	m = rest("sort=price&tag=image", cursor, later, 64);
	assert_false(has(later, m, cheap));
	assert_true(has(later, m, dear));
	assert_string_equal(later[m - 1], dear);
	assert_int_equal(m, 4 - 2 + 1); /* the image services after the first two, and Dear */
}

/* ---- refusals */

static void cursor_is_bound_to_its_search(void **state)
{
	(void)state;
	int ids[8], n;
	char cursor[512], path[1024];
	first_page("sort=price", 2, ids, &n, cursor);
	snprintf(path, sizeof path, "/v1/services?sort=price&limit=2&cursor=%s", cursor);
	CHECK(path, 200, "", NULL);
	snprintf(path, sizeof path, "/v1/services?sort=newest&limit=2&cursor=%s", cursor);
	CHECK(path, 400, "invalid-query", "cursor");
	snprintf(path, sizeof path, "/v1/services?sort=price&tag=ai&limit=2&cursor=%s", cursor);
	CHECK(path, 400, "invalid-query", "cursor");
	snprintf(path, sizeof path, "/v1/services?sort=price&limit=3&cursor=%s", cursor);
	CHECK(path, 200, "", NULL); /* the page size may change */
	/* the digest of this search, from the genuine cursor */
	uint8_t raw[512];
	size_t len = 0;
	assert_int_equal(dux_b64url_decode(cursor, strlen(cursor), raw, sizeof raw - 1, &len), 0);
	raw[len] = '\0';
	char *parts[5], *p = (char *)raw;
	for (int i = 0; i < 5; i++) {
		parts[i] = p;
		p += strcspn(p, "\n");
		if (*p)
			*p++ = '\0';
	}
	assert_string_equal(parts[0], "s");
	assert_string_equal(parts[1], "price");
	/* forged: each differs from a genuine cursor in one part */
	const char *id = "svc_0123456789abcdef0123456789abcdef";
	const char *forged[][5] = {
		{"s", "price", "000000000000", "5", id}, /* the digest of another search */
		{"s", "price", parts[2], "-5", id},      /* a key the sort never writes */
		{"s", "price", parts[2], "5.5", id},
		{"s", "price", parts[2], "5", "svc_XYZ"},
		{"x", "price", parts[2], "5", id},
		{"s", "price", parts[2], "5", ""},
	};
	for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
		char text[256], enc[400];
		snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n%s", forged[i][0], forged[i][1],
			 forged[i][2], forged[i][3], forged[i][4]);
		dux_b64url_encode(text, strlen(text), enc);
		snprintf(path, sizeof path, "/v1/services?sort=price&cursor=%s", enc);
		CHECK(path, 400, "invalid-query", "cursor");
	}
	/* too few parts */
	char enc[400];
	dux_b64url_encode("s\nprice\nx\n5", strlen("s\nprice\nx\n5"), enc);
	snprintf(path, sizeof path, "/v1/services?sort=price&cursor=%s", enc);
	CHECK(path, 400, "invalid-query", "cursor");
	CHECK("/v1/services?cursor=%21%21%21", 400, "invalid-query", "cursor");
	CHECK("/v1/services?cursor=", 400, "invalid-query", "cursor");
}

static void bad_queries_are_refused(void **state)
{
	(void)state;
	char q201[300], path[400], tags11[200];
	memset(q201, 'a', 201);
	q201[201] = '\0';
	snprintf(path, sizeof path, "/v1/services?q=%s", q201);
	CHECK(path, 400, "invalid-query", "q");
	snprintf(tags11, sizeof tags11, "/v1/services?tag=a,b,c,d,e,f,g,h,i,j,k");
	CHECK(tags11, 400, "invalid-query", "tag");
	const char *bad[][2] = {
		{"/v1/services?q=%07bell", "q"},
		{"/v1/services?q=%ff", "q"},
		{"/v1/services?tag=", "tag"},
		{"/v1/services?tag=ai,,vision", "tag"},
		{"/v1/services?tag=two%20words", "tag"},
		{"/v1/services?tag=under_score", "tag"},
		{"/v1/services?min_price=-1", "min_price"},
		{"/v1/services?min_price=1.123456789", "min_price"},
		{"/v1/services?max_price=abc", "max_price"},
		{"/v1/services?max_price=", "max_price"},
		{"/v1/services?min_price=2&max_price=1", "max_price"},
		{"/v1/services?min_reputation=5.1", "min_reputation"},
		{"/v1/services?min_reputation=4.12345", "min_reputation"},
		{"/v1/services?min_reputation=-1", "min_reputation"},
		{"/v1/services?min_reputation=x", "min_reputation"},
		{"/v1/services?min_reputation=10", "min_reputation"},
		{"/v1/services?provider=nobody", "provider"},
		{"/v1/services?sort=cheapest", "sort"},
		{"/v1/services?sort=relevance", "sort"},
		{"/v1/services?limit=0", "limit"},
		{"/v1/services?limit=101", "limit"},
		{"/v1/services?limit=ten", "limit"},
		{"/v1/services?q=a&q=b", "q"},
		{"/v1/services?sort=price&sort=newest", "sort"},
		{"/v1/services?tags=ai", "tags"},
		{"/v1/services?page=2", "page"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(bad[i][0], 400, "invalid-query", bad[i][1]);
	/* bytes that are no text are refused without being repeated in detail or field (the
	 * library's instance member repeats the path as sent) */
	dux_client_resp_t resp;
	const char *raw[] = {"/v1/services?%ff=1", "/v1/services?tag=%ff", "/v1/services/%ff%fe"};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
		assert_int_equal(su_http(&S, "GET", raw[i], NULL, NULL, NULL, &resp), 0);
		const char *detail = eu_str(resp.json, "detail"), *field = eu_str(resp.json, "field");
		bool ok = (resp.status == 400 || resp.status == 404) && detail[0] &&
			  !strchr(detail, '\xff') && !strchr(field, '\xff');
		if (!ok)
			fprintf(stderr, "%s: %ld %s\n", raw[i], resp.status, resp.body);
		dux_client_resp_clear(&resp);
		assert_true(ok);
	}
	/* the boundaries themselves are fine */
	CHECK("/v1/services?min_reputation=5&limit=100&min_price=0&max_price=1000000", 200, "",
	      NULL);
	CHECK("/services?min_reputation=5.0000&limit=1", 200, "", NULL);
}

/* ---- the cache of answers */

static int64_t calls_of_first(const char *query)
{
	char path[256];
	cJSON *page = NULL;
	snprintf(path, sizeof path, "/v1/services?%s", query);
	assert_true(su_check(&S, "GET", path, NULL, NULL, NULL, 200, "", NULL, &page));
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(page, "services"), 0);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(first, "total_calls");
	int64_t v = cJSON_IsNumber(n) ? (int64_t)n->valuedouble : -1;
	cJSON_Delete(page);
	return v;
}

static long cache_hits(void)
{
	dux_client_resp_t resp;
	assert_int_equal(su_http(&S, "GET", "/metrics", NULL, NULL, NULL, &resp), 0);
	const char *at = strstr(resp.body, "\nstore_search_cache_hits_total ");
	long v = at ? strtol(at + strlen("\nstore_search_cache_hits_total "), NULL, 10) : -1;
	dux_client_resp_clear(&resp);
	return v;
}

/* Searches the index cannot answer (a phrase here) go to PostgreSQL, and the cache keeps those
 * answers for store.search_cache_ms; searches of plain words come from the index, which takes
 * in a change made behind the store's back within its refresh interval. */
static void answers_are_reused_until_a_change(void **state)
{
	(void)state;
	char id[64], other[64], body[SU_BODY_MAX], sql[256], out[8];
	assert_true(su_publish(&S, &P, su_body(body, "Zanzibar", "cached", "1.0.0", P.addr, "1",
					       NULL, NULL),
			       id));
	long hits = cache_hits(), answers = su_metric(S.url, "store_search_index_answers_total");
	int64_t start_us = dux_now_us();
	assert_true(calls_of_first("q=%22zanzibar%22") == 0);
	assert_true(calls_of_first("q=zanzibar") == 0);
	assert_int_equal(su_metric(S.url, "store_search_index_answers_total"), answers + 1);
	/* behind the store's back: the phrase's answer kept is served until it is 1.5 s old */
	snprintf(sql, sizeof sql, "UPDATE store.services SET total_calls = 77 WHERE id = '%s'", id);
	assert_true(su_sql(&S, sql, out, sizeof out));
	int64_t again = calls_of_first("q=%22zanzibar%22");
	if (dux_now_us() - start_us < 1400000) {
		assert_true(again == 0);
		assert_int_equal(cache_hits(), hits + 1);
	}
	/* the index has it as soon as it has read the change */
	assert_true(su_index_wait(&S, S.url, 5000));
	assert_true(calls_of_first("q=zanzibar") == 77);
	assert_true(calls_of_first("q=%22zanzibar%22&limit=5") == 77); /* another search */
	usleep(1600000);
	assert_true(calls_of_first("q=%22zanzibar%22") == 77);
	/* a change through this store shows at once, in both */
	assert_true(calls_of_first("q=%22zanzibar%22&sort=newest") == 77);
	assert_true(su_publish(&S, &P, su_body(body, "Zanzibar Two", "cached", "1.0.0", P.addr,
					       "1", NULL, NULL),
			       other));
	assert_true(calls_of_first("q=%22zanzibar%22&sort=newest") == 0); /* the newer one first */
	assert_true(calls_of_first("q=zanzibar&sort=newest") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(search_ranks_name_above_tags_above_description),
		cmocka_unit_test(filters_narrow_the_results),
		cmocka_unit_test(sorts_walk_every_page_in_order),
		cmocka_unit_test(cursor_is_bound_to_its_search),
		cmocka_unit_test(bad_queries_are_refused),
		cmocka_unit_test(pages_stay_stable_under_inserts),
		cmocka_unit_test(answers_are_reused_until_a_change),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
