/* search.c - discovery: GET /services, full-text search with filters, five sort orders and
 * keyset pages.
 *
 *   q               websearch_to_tsquery('english', q) against the row's weighted document
 *                   (name A, tags B, description C); "" is the same as no q
 *   tag             repeated or comma-separated: services carrying every one of them
 *   min_price, max_price   FLOP, inclusive
 *   min_reputation  0 to 5, at most 4 decimals, on the reputation shown (Bayesian average)
 *   provider        a wallet address
 *   sort            relevance (ts_rank, highest first; the default with q) | reputation
 *                   (highest first) | total_calls (most first) | price (cheapest first) |
 *                   newest (the default without q)
 *   limit, cursor   page size 1-100 (20); next_cursor of the page before
 *
 * Every order ends with the id, so it is total, and a page starts strictly after the last row
 * of the page before: (key, id) compared as a row, which a (key, id) btree index answers
 * without reading the rows before it (relevance ranks every match and keeps the best). The
 * cursor carries its sort, the key and id of that row and a digest of the query, so a cursor
 * used with another query or sort is refused rather than followed somewhere unrelated.
 *
 * The SQL holds only the filters given, so that each search is planned for what it asks (one
 * statement for all would plan "$1 IS NULL OR ..." generically and lose the indexes). */
#include "index.h"
#include <dux/text.h>
#include <dux/buf.h>
#include <dux/crypto.h>
#include <dux/money.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *name;
	const char *key;    /* the sort key in SQL */
	const char *text;   /* the key (p.k of the inner query) as text, for the cursor */
	const char *cursor; /* a cursor's key read back: SQL around its placeholder ("$" */
	const char *cast;   /* and the cast after it) */
	bool asc;           /* cheapest first; the others highest first */
} sort_t;

enum { SORT_RELEVANCE = 0, SORT_REPUTATION, SORT_CALLS, SORT_PRICE, SORT_NEWEST, NSORTS };

static const sort_t sorts[NSORTS] = {
	{"relevance", "ts_rank(s.document, query)", "p.k::text", "", "::real", false},
	{"reputation", "s.reputation", "p.k::text", "", "::numeric", false},
	{"total_calls", "s.total_calls", "p.k::text", "", "::bigint", false},
	{"price", "s.price", "p.k::text", "", "::bigint", true},
	{"newest", "s.created_at", "(extract(epoch FROM p.k) * 1000000)::bigint::text",
	 "'epoch'::timestamptz + ", "::bigint * interval '1 microsecond'", false},
};

typedef struct {
	const char *q, *min_rep, *provider;
	char min_price[24], max_price[24]; /* base units, "" when not given */
	char tags[TAGS_MAX][TAG_MAX_BYTES + 1];
	int ntags;
	int sort;
	int64_t limit;
	char digest[13];
	/* from the cursor */
	bool after;
	char key[40], id[SERVICE_ID_LEN + 1];
	/* the first bad tag, for the reply */
	const char *bad_tag, *why;
	bool too_many_tags;
} search_t;

/* ---- the query string */

static bool add_tag(const char *name, const char *value, void *ctx)
{
	search_t *x = ctx;
	if (strcmp(name, "tag") != 0)
		return true;
	char piece[128], tag[TAG_MAX_BYTES + 1];
	for (const char *p = value;; p++) {
		size_t n = strcspn(p, ",");
		snprintf(piece, sizeof piece, "%.*s", (int)(n < sizeof piece - 1 ? n : sizeof piece - 1),
			 p);
		if (n >= sizeof piece - 1 || input_tag(piece, tag, &x->why) < 0) {
			x->bad_tag = value;
			x->why = n >= sizeof piece - 1 ? "is longer than 32 bytes" : x->why;
			return false;
		}
		bool seen = false;
		for (int i = 0; i < x->ntags && !seen; i++)
			seen = strcmp(x->tags[i], tag) == 0;
		if (!seen && x->ntags == TAGS_MAX) {
			x->too_many_tags = true;
			return false;
		}
		if (!seen)
			memcpy(x->tags[x->ntags++], tag, sizeof tag);
		p += n;
		if (!*p)
			return true;
	}
}

static void bad_query(dux_req_t *r, const char *field, const char *detail)
{
	cJSON *ext = cJSON_CreateObject();
	cJSON_AddStringToObject(ext, "field", field);
	dux_reply_problem_ext(r, 400, "invalid-query", ext, "%s", detail);
}

static bool money_param(dux_req_t *r, const char *name, char out[24])
{
	const char *v = dux_req_query(r, name);
	int64_t units;
	out[0] = '\0';
	if (!v)
		return true;
	if (dux_money_parse(v, strlen(v), false, &units) < 0) {
		char d[160];
		snprintf(d, sizeof d,
			 "query parameter %s must be an amount of FLOP like 10.5 (at most 8 decimals)",
			 name);
		bad_query(r, name, d);
		return false;
	}
	snprintf(out, 24, "%lld", (long long)units);
	return true;
}

/* 0 to 5 with at most 4 decimals: exact, as the numeric column it is compared with. */
static bool reputation_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");
	if (n != 1)
		return false;
	const char *p = s + 1;
	if (*p == '.') {
		size_t d = strspn(p + 1, "0123456789");
		if (d < 1 || d > 4 || p[1 + d])
			return false;
		if (s[0] == '5' && strspn(p + 1, "0") != d)
			return false;
	} else if (*p) {
		return false;
	}
	return s[0] <= '5';
}

static bool filters(search_t *x, store_t *s, dux_req_t *r)
{
	const char *why = NULL;
	x->q = dux_req_query(r, "q");
	if (x->q && strspn(x->q, " ") == strlen(x->q))
		x->q = NULL; /* an empty search box */
	if (x->q && (strlen(x->q) > QUERY_MAX_BYTES || !dux_text_ok(x->q, false))) {
		bad_query(r, "q", "query parameter q must be 1 to 200 bytes of UTF-8 text without"
				  " control characters");
		return false;
	}
	dux_req_query_each(r, add_tag, x);
	if (x->too_many_tags) {
		bad_query(r, "tag", "at most 10 different tags may be asked for");
		return false;
	}
	if (x->bad_tag) {
		char d[200];
		if (dux_text_ok(x->bad_tag, false) && strlen(x->bad_tag) <= 40)
			snprintf(d, sizeof d, "tag \"%s\" %s", x->bad_tag, x->why);
		else
			snprintf(d, sizeof d, "a tag %s", x->why);
		bad_query(r, "tag", d);
		return false;
	}
	if (!money_param(r, "min_price", x->min_price) || !money_param(r, "max_price", x->max_price))
		return false;
	if (x->min_price[0] && x->max_price[0] &&
	    strtoll(x->min_price, NULL, 10) > strtoll(x->max_price, NULL, 10)) {
		bad_query(r, "max_price", "max_price is below min_price");
		return false;
	}
	x->min_rep = dux_req_query(r, "min_reputation");
	if (x->min_rep && !reputation_ok(x->min_rep)) {
		bad_query(r, "min_reputation",
			  "query parameter min_reputation must be a number from 0 to 5 with at most 4"
			  " decimals (the reputation scale)");
		return false;
	}
	x->provider = dux_req_query(r, "provider");
	if (x->provider && (strlen(x->provider) >= DUX_ADDRESS_MAX ||
			    dux_address_validate(x->provider, dux_daemon_net(s->d), NULL, &why) < 0)) {
		char d[200];
		snprintf(d, sizeof d, "query parameter provider is not a %s Flopcoin address%s%s",
			 dux_net_name(dux_daemon_net(s->d)), why ? ": " : "", why ? why : "");
		bad_query(r, "provider", d);
		return false;
	}
	return true;
}

static int tag_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* What a cursor is bound to: the query, its filters and the sort. */
static void digest(search_t *x)
{
	char tags[TAGS_MAX][TAG_MAX_BYTES + 1], all[TAGS_MAX * 36 + 3], hex[65];
	memcpy(tags, x->tags, sizeof tags);
	qsort(tags, (size_t)x->ntags, sizeof tags[0], tag_cmp); /* a set: order does not matter */
	input_tags_array((const char(*)[TAG_MAX_BYTES + 1])tags, x->ntags, all, sizeof all);
	const char *parts[] = {sorts[x->sort].name, x->q ? x->q : "", all, x->min_price,
			       x->max_price, x->min_rep ? x->min_rep : "",
			       x->provider ? x->provider : ""};
	dux_buf_t b;
	uint8_t h[DUX_SHA256_LEN];
	bool ok = true;
	dux_buf_init(&b, 8192);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		ok = ok && dux_buf_append(&b, parts[i], strlen(parts[i]) + 1) == 0;
	dux_sha256(ok ? b.data : "", ok ? b.len : 0, h);
	dux_buf_free(&b);
	dux_hex_encode(h, sizeof h, hex);
	snprintf(x->digest, sizeof x->digest, "%.12s", hex);
}

/* A cursor's key, as the sort writes it. */
static bool key_ok(int sort, const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n >= 40)
		return false;
	if (sort == SORT_REPUTATION)
		return reputation_ok(k);
	if (sort != SORT_RELEVANCE)
		return n <= 19 && strspn(k, "0123456789") == n;
	/* a real as PostgreSQL prints it: 0.1, 1e-05, 0 */
	char *end = NULL;
	errno = 0;
	double v = strspn(k, "0123456789.e-+") == n ? strtod(k, &end) : -1;
	return end && !*end && !errno && v >= 0;
}

static bool sort_and_cursor(search_t *x, dux_req_t *r)
{
	const char *sort = dux_req_query(r, "sort");
	x->sort = x->q ? SORT_RELEVANCE : SORT_NEWEST;
	if (sort) {
		x->sort = -1;
		for (int i = 0; i < NSORTS; i++)
			if (strcmp(sort, sorts[i].name) == 0)
				x->sort = i;
		if (x->sort < 0) {
			bad_query(r, "sort", "sort must be relevance, reputation, total_calls, price or"
					     " newest");
			return false;
		}
	}
	if (x->sort == SORT_RELEVANCE && !x->q) {
		bad_query(r, "sort", "sort=relevance needs a search (q)");
		return false;
	}
	if (!dux_req_query_i64(r, "limit", PAGE_DEFAULT, 1, PAGE_MAX, &x->limit))
		return false;
	digest(x);
	const char *cur = dux_req_query(r, "cursor");
	if (!cur)
		return true;
	char buf[CURSOR_MAX], *parts[5];
	if (cursor_decode(cur, 5, buf, sizeof buf, parts) < 0 || strcmp(parts[0], "s") != 0 ||
	    !service_id_ok(parts[4])) {
		bad_query(r, "cursor", "cursor must be a next_cursor of an earlier page");
		return false;
	}
	if (strcmp(parts[1], sorts[x->sort].name) != 0 || strcmp(parts[2], x->digest) != 0) {
		bad_query(r, "cursor", "cursor belongs to a search with another q, filters or sort");
		return false;
	}
	if (!key_ok(x->sort, parts[3])) {
		bad_query(r, "cursor", "cursor must be a next_cursor of an earlier page");
		return false;
	}
	x->after = true;
	snprintf(x->key, sizeof x->key, "%s", parts[3]);
	snprintf(x->id, sizeof x->id, "%s", parts[4]);
	return true;
}

/* ---- the SQL */

#define PARAMS_MAX 12

typedef struct {
	dux_buf_t sql;
	const char *p[PARAMS_MAX];
	int n;
	bool oom;
} sql_t;

static void sql_add(sql_t *q, const char *text)
{
	q->oom = q->oom || dux_buf_append(&q->sql, text, strlen(text)) < 0;
}

/* Appends before, the placeholder of the next parameter (whose value is v), and after. */
static void sql_param(sql_t *q, const char *before, const char *v, const char *after)
{
	char n[16];
	q->p[q->n++] = v;
	snprintf(n, sizeof n, "$%d", q->n);
	sql_add(q, before);
	sql_add(q, n);
	sql_add(q, after);
}

/* The page's ids and keys come from an inner query that reads only what the order and the
 * filters need (each relevance rank is computed once, for every match); the outer one renders
 * just the rows of the page. */
static void build(const search_t *x, char tags[], char lim[], sql_t *q)
{
	const sort_t *st = &sorts[x->sort];
	const char *dir = st->asc ? "ASC" : "DESC";
	char piece[512];
	dux_buf_init(&q->sql, 8192);
	snprintf(piece, sizeof piece, "SELECT service_json(s)::text, %s, s.id FROM (SELECT s.id, %s AS k"
		 " FROM services s", st->text, st->key);
	sql_add(q, piece);
	if (x->q)
		sql_param(q, ", websearch_to_tsquery('english', ", x->q, ") query");
	sql_add(q, " WHERE s.listed");
	if (x->q)
		sql_add(q, " AND s.document @@ query");
	if (x->ntags)
		sql_param(q, " AND s.tags @> ", tags, "::text[]");
	if (x->min_price[0])
		sql_param(q, " AND s.price >= ", x->min_price, "::bigint");
	if (x->max_price[0])
		sql_param(q, " AND s.price <= ", x->max_price, "::bigint");
	if (x->min_rep)
		sql_param(q, " AND s.reputation >= ", x->min_rep, "::numeric");
	if (x->provider)
		sql_param(q, " AND s.provider = ", x->provider, "");
	if (x->after) {
		snprintf(piece, sizeof piece, " AND (%s, s.id) %c (", st->key, st->asc ? '>' : '<');
		sql_add(q, piece);
		sql_param(q, st->cursor, x->key, st->cast);
		sql_param(q, ", ", x->id, ")");
	}
	snprintf(piece, sizeof piece, " ORDER BY %s %s, s.id %s", st->key, dir, dir);
	sql_add(q, piece);
	sql_param(q, " LIMIT ", lim, "::int");
	snprintf(piece, sizeof piece, ") p JOIN services s ON s.id = p.id ORDER BY p.k %s, p.id %s",
		 dir, dir);
	sql_add(q, piece);
}

/* ---- the answer */

/* The answer's JSON text (caller frees), NULL when out of memory. */
static char *results(const search_t *x, const PGresult *res)
{
	int n = PQntuples(res), shown = n > x->limit ? (int)x->limit : n;
	cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "services");
	bool ok = out && arr;
	for (int i = 0; ok && i < shown; i++) {
		cJSON *item = cJSON_Parse(PQgetvalue(res, i, 0));
		ok = item != NULL;
		if (ok && x->sort == SORT_RELEVANCE)
			ok = cJSON_AddNumberToObject(item, "rank",
						     strtod(PQgetvalue(res, i, 1), NULL)) != NULL;
		if (ok)
			ok = cJSON_AddItemToArray(arr, item);
		if (!ok)
			cJSON_Delete(item);
	}
	char next[CURSOR_MAX + 1];
	if (ok && n > x->limit) {
		const char *parts[] = {"s", sorts[x->sort].name, x->digest,
				       PQgetvalue(res, shown - 1, 1), PQgetvalue(res, shown - 1, 2)};
		ok = cursor_encode(parts, 5, next) == 0 &&
		     cJSON_AddStringToObject(out, "next_cursor", next) != NULL;
	} else if (ok) {
		ok = cJSON_AddNullToObject(out, "next_cursor") != NULL;
	}
	if (ok)
		ok = cJSON_AddStringToObject(out, "sort", sorts[x->sort].name) != NULL;
	char *text = ok ? cJSON_PrintUnformatted(out) : NULL;
	cJSON_Delete(out);
	return text;
}

/* ---- the index (index.h): every search of plain words and filters */

/* min_reputation or a reputation cursor key ("3", "3.3", "3.3333") x 10000. */
static int32_t rep_e4(const char *v)
{
	int32_t e4 = (v[0] - '0') * 10000, scale = 1000;
	for (const char *p = v[1] == '.' ? v + 2 : v + 1; *p && scale; p++, scale /= 10)
		e4 += (*p - '0') * scale;
	return e4;
}

/* The search as the index takes it; false when only PostgreSQL can answer it (q has a phrase,
 * an exclusion, OR, or a word that is not ASCII letters). */
static bool index_query(const search_t *x, index_query_t *q)
{
	memset(q, 0, sizeof *q);
	q->has_q = x->q != NULL;
	if (x->q && !words_query(x->q, q->terms, &q->nterms))
		return false;
	q->sort = x->sort;
	q->sort_name = sorts[x->sort].name;
	q->digest = x->digest;
	q->limit = x->limit;
	for (int i = 0; i < x->ntags; i++)
		q->tags[q->ntags++] = words_hash(x->tags[i], strlen(x->tags[i]));
	q->min_price = x->min_price[0] ? strtoll(x->min_price, NULL, 10) : -1;
	q->max_price = x->max_price[0] ? strtoll(x->max_price, NULL, 10) : -1;
	q->min_rep_e4 = x->min_rep ? rep_e4(x->min_rep) : -1;
	q->has_provider = x->provider != NULL;
	if (x->provider)
		q->provider = words_hash(x->provider, strlen(x->provider));
	q->after = x->after;
	if (x->after) {
		memcpy(q->id, x->id, sizeof q->id);
		if (x->sort == SORT_RELEVANCE) /* the mean rank shown: back to the sum of 1e-9 units */
			q->rank = (uint64_t)llround(strtod(x->key, NULL) * q->nterms * 1e9);
		else if (x->sort == SORT_REPUTATION)
			q->key = rep_e4(x->key);
		else
			q->key = strtoll(x->key, NULL, 10);
	}
	return true;
}

/* Replies from the index and returns true, unless the search is one for PostgreSQL or the
 * index is not built (off, or its first build failed). */
static bool index_reply(store_t *s, dux_req_t *r, const search_t *x)
{
	index_query_t q;
	if (!s->cfg.search_index || !index_query(x, &q))
		return false;
	index_snap_t *snap = index_acquire();
	if (!snap)
		return false;
	size_t len = 0;
	char *text = index_search(snap, &q, &len);
	index_release(snap);
	if (!text) {
		dux_reply_err(r, DUX_ENOMEM, "the search");
		return true;
	}
	dux_metric_add(s->m_index_answers, 1);
	dux_reply_text(r, 200, "application/json", text, len);
	free(text);
	return true;
}

void search_changed(store_t *s)
{
	cache_changed();
	if (s->cfg.search_index)
		index_sync(s);
}

/* What names an answer in the cache: every parameter as the checks normalised it (tags in
 * order, as a set), separated by a control character that none of them may hold. */
static void cache_key(const search_t *x, const char *cursor, char ret[1024])
{
	char tags[TAGS_MAX][TAG_MAX_BYTES + 1], all[TAGS_MAX * 36 + 3];
	memcpy(tags, x->tags, sizeof tags);
	qsort(tags, (size_t)x->ntags, sizeof tags[0], tag_cmp);
	input_tags_array((const char(*)[TAG_MAX_BYTES + 1])tags, x->ntags, all, sizeof all);
	snprintf(ret, 1024, "%s\x1f%lld\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
		 sorts[x->sort].name, (long long)x->limit, x->q ? x->q : "", all, x->min_price,
		 x->max_price, x->min_rep ? x->min_rep : "", x->provider ? x->provider : "",
		 cursor ? cursor : "");
}

void api_services_search(dux_req_t *r, void *app)
{
	static const char *const params[] = {"q",	 "tag",	 "min_price", "max_price",
					     "min_reputation", "provider", "sort",	 "limit",
					     "cursor",	 NULL};
	static const char *const single[] = {"q",	 "min_price", "max_price", "min_reputation",
					     "provider", "sort",      "limit",	   "cursor",
					     NULL};
	store_t *s = app;
	search_t x = {0};
	sql_t q = {0};
	char tags[TAGS_MAX * 36 + 3], lim[24];
	if (!query_known_or_reply(r, params, single) || !filters(&x, s, r) ||
	    !sort_and_cursor(&x, r) || index_reply(s, r, &x))
		return;
	/* asked again within store.search_cache_ms, nothing changed here since: the same answer */
	char key[1024], *text = NULL;
	size_t len = 0;
	cache_key(&x, dux_req_query(r, "cursor"), key);
	if (cache_get(key, &text, &len)) {
		dux_metric_add(s->m_cache_hits, 1);
		dux_reply_text(r, 200, "application/json", text, len);
		free(text);
		return;
	}
	uint64_t gen = cache_generation();
	input_tags_array((const char(*)[TAG_MAX_BYTES + 1])x.tags, x.ntags, tags, sizeof tags);
	snprintf(lim, sizeof lim, "%lld", (long long)x.limit + 1);
	build(&x, tags, lim, &q);
	if (q.oom) {
		dux_buf_free(&q.sql);
		dux_reply_err(r, DUX_ENOMEM, "the search");
		return;
	}
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(s->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(c, q.sql.data, q.n, q.p, &res);
		dux_db_release(dux_daemon_db(s->d), c);
	}
	dux_buf_free(&q.sql);
	if (rc == 0 && !(text = results(&x, res)))
		rc = DUX_ENOMEM;
	PQclear(res);
	if (rc < 0) {
		dux_reply_err(r, rc, "the search");
		return;
	}
	len = strlen(text);
	cache_put(key, gen, text, len);
	dux_reply_text(r, 200, "application/json", text, len);
	free(text);
}
