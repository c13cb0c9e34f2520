/* index_query.c - one search answered from a snapshot of the index: the first limit + 1
 * services after the cursor, in the order of the sort, among the listed services that match
 * every word of q and every filter; then the page as GET /services answers it.
 *
 * The base is searched by the cheapest of three plans, the delta (the few services changed
 * since the base was built) by looking at each of its services:
 *
 *   walk    an order read from the cursor on, each service checked, until limit + 1 match:
 *           by[key] for the key sorts, the word's postings for a one-word relevance search
 *           (they are in that order). Cheap when most services match (a broad word).
 *   driver  the shortest postings or filter list read whole, the best limit + 1 kept in a
 *           bounded heap. Cheap when one word or filter is selective.
 *   TA      relevance with several words: Fagin's threshold algorithm over their postings
 *           (impact ordered), round robin; each service met is scored whole, and the scan
 *           stops once the worst of the best limit + 1 beats anything unseen could score (the
 *           sum of the scores under each list's read position; at equality, ids decide).
 *           AND semantics add one more stop: a list read to its end has shown every match.
 *
 * Relevance: the sum of the words' ranks (rank_one, 1e-9 units); the page shows it divided
 * by the number of words (the mean: ts_rank's formula for several words OR-ed). */
#include "index.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SORT_RELEVANCE 0
#define PAGE_BYTES_MAX (8u << 20)

static int key_index(int sort)
{
	return sort - 1; /* SORT_REPUTATION.. of search.c are KEY_REPUTATION.. + 1 */
}

typedef struct {
	const index_doc_t *d;
	uint64_t rank;
	int64_t key;
} cand_t;

typedef struct {
	const index_query_t *q;
	const index_snap_t *s;
	cand_t v[PAGE_MAX + 1]; /* a heap: v[0] is the one that comes last */
	int n, k;
	uint64_t work; /* entries looked at */
} top_t;

/* Whether a comes before b in the search's order. */
static bool before(const index_query_t *q, const cand_t *a, const cand_t *b)
{
	if (q->sort == SORT_RELEVANCE) {
		if (a->rank != b->rank)
			return a->rank > b->rank;
		return strcmp(a->d->id, b->d->id) > 0;
	}
	if (a->key != b->key)
		return key_index(q->sort) == KEY_PRICE ? a->key < b->key : a->key > b->key;
	return key_index(q->sort) == KEY_PRICE ? strcmp(a->d->id, b->d->id) < 0
					       : strcmp(a->d->id, b->d->id) > 0;
}

/* Whether c comes after the cursor (always, without one). */
static bool after_cursor(const index_query_t *q, const cand_t *c)
{
	if (!q->after)
		return true;
	if (q->sort == SORT_RELEVANCE) {
		if (c->rank != q->rank)
			return c->rank < q->rank;
		return strcmp(c->d->id, q->id) < 0;
	}
	bool asc = key_index(q->sort) == KEY_PRICE;
	if (c->key != q->key)
		return asc ? c->key > q->key : c->key < q->key;
	return asc ? strcmp(c->d->id, q->id) > 0 : strcmp(c->d->id, q->id) < 0;
}

static void sift_down(top_t *t, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && before(t->q, &t->v[m], &t->v[l]))
			m = l;
		if (r < t->n && before(t->q, &t->v[m], &t->v[r]))
			m = r;
		if (m == i)
			return;
		cand_t x = t->v[i];
		t->v[i] = t->v[m];
		t->v[m] = x;
		i = m;
	}
}

/* Keeps c if it is among the best k so far (and not there yet). */
static void top_push(top_t *t, const cand_t *c)
{
	if (t->n == t->k && !before(t->q, c, &t->v[0]))
		return;
	for (int i = 0; i < t->n; i++)
		if (t->v[i].d == c->d)
			return;
	if (t->n < t->k) {
		int i = t->n++;
		t->v[i] = *c;
		while (i > 0 && before(t->q, &t->v[(i - 1) / 2], &t->v[i])) {
			cand_t x = t->v[i];
			t->v[i] = t->v[(i - 1) / 2];
			t->v[(i - 1) / 2] = x;
			i = (i - 1) / 2;
		}
		return;
	}
	t->v[0] = *c;
	sift_down(t, 0);
}

/* The filters (not the words). */
static bool filters_ok(const index_query_t *q, const index_doc_t *d)
{
	if (!d->listed || (q->min_price >= 0 && d->price < q->min_price) ||
	    (q->max_price >= 0 && d->price > q->max_price) ||
	    (q->min_rep_e4 >= 0 && d->rep_e4 < q->min_rep_e4) ||
	    (q->has_provider && d->provider != q->provider))
		return false;
	for (int i = 0; i < q->ntags; i++) {
		bool has = false;
		for (int k = 0; k < d->ntags && !has; k++)
			has = d->tags[k] == q->tags[i];
		if (!has)
			return false;
	}
	return true;
}

/* d as a candidate: false when it does not match (a word missing, a filter). */
static bool evaluate(const index_query_t *q, const index_doc_t *d, cand_t *ret)
{
	if (!filters_ok(q, d))
		return false;
	uint64_t rank = 0;
	for (int i = 0; i < q->nterms; i++) {
		uint32_t s = doc_score(d, q->terms[i]);
		if (!s)
			return false;
		rank += s;
	}
	*ret = (cand_t){.d = d, .rank = rank, .key = q->sort ? key_of(key_index(q->sort), d) : 0};
	return true;
}

/* Looks at base doc i: kept if it matches, comes after the cursor and is not replaced. */
static void consider(top_t *t, uint32_t i)
{
	cand_t c;
	t->work++;
	if (!snap_shadowed(t->s, i) && evaluate(t->q, t->s->base->docs[i], &c) &&
	    after_cursor(t->q, &c))
		top_push(t, &c);
}

/* ---- plans */

/* The first position of by[k] past the cursor, and past min_price for price. */
static uint32_t walk_start(const top_t *t, int k)
{
	const index_base_t *b = t->s->base;
	const index_query_t *q = t->q;
	uint32_t lo = 0, hi = b->n;
	while (lo < hi) { /* the first that comes after the cursor and the price floor */
		uint32_t mid = (lo + hi) / 2;
		const index_doc_t *d = b->docs[b->by[k][mid]];
		cand_t c = {.d = d, .key = key_of(k, d)};
		bool past = after_cursor(q, &c) &&
			    !(k == KEY_PRICE && q->min_price >= 0 && d->price < q->min_price);
		if (past)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void walk_keys(top_t *t)
{
	const index_base_t *b = t->s->base;
	const index_query_t *q = t->q;
	int k = key_index(q->sort);
	for (uint32_t p = walk_start(t, k); p < b->n && t->n < t->k; p++) {
		const index_doc_t *d = b->docs[b->by[k][p]];
		if ((k == KEY_PRICE && q->max_price >= 0 && d->price > q->max_price) ||
		    (k == KEY_REPUTATION && q->min_rep_e4 >= 0 && d->rep_e4 < q->min_rep_e4))
			break; /* sorted: nothing further can pass */
		consider(t, b->by[k][p]);
	}
}

/* One word by relevance: its postings are the order; start past the cursor. */
static void walk_postings(top_t *t, const index_post_t *post, uint32_t len)
{
	const index_base_t *b = t->s->base;
	uint32_t lo = 0, hi = len;
	while (t->q->after && lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		cand_t c = {.d = b->docs[post[mid].doc], .rank = post[mid].score};
		if (after_cursor(t->q, &c))
			hi = mid;
		else
			lo = mid + 1;
	}
	for (uint32_t p = lo; p < len && t->n < t->k; p++)
		consider(t, post[p].doc);
}

static void drive(top_t *t, const uint32_t *list, const index_post_t *post, uint32_t len)
{
	for (uint32_t p = 0; p < len; p++)
		consider(t, list ? list[p] : post[p].doc);
}

/* Fagin's threshold algorithm over the words' postings (see the top of the file). */
static void threshold(top_t *t, const index_post_t *const *post, const uint32_t *len)
{
	const index_base_t *b = t->s->base;
	int n = t->q->nterms;
	uint32_t pos[WORDS_QUERY_MAX] = {0};
	for (;;) {
		for (int i = 0; i < n; i++) {
			if (pos[i] == len[i])
				return; /* every service having all the words has been met */
			consider(t, post[i][pos[i]++].doc);
		}
		if (t->n < t->k)
			continue;
		uint64_t bound = 0;
		const index_doc_t *low = NULL; /* the least id under a read position */
		for (int i = 0; i < n; i++) {
			if (pos[i] == len[i])
				return;
			const index_doc_t *d = b->docs[post[i][pos[i]].doc];
			bound += post[i][pos[i]].score;
			if (!low || strcmp(d->id, low->id) < 0)
				low = d;
		}
		const cand_t *worst = &t->v[0];
		if (worst->rank > bound || (worst->rank == bound && strcmp(low->id, worst->d->id) <= 0))
			return;
	}
}

/* How many docs of by[k] a key bound lets through: for the estimate of the walk's cost. */
static uint32_t count_range(const index_base_t *b, int k, int64_t lo, int64_t hi)
{
	uint32_t first = 0, end = b->n, l, h;
	for (l = 0, h = b->n; l < h;) { /* price ascending: first >= lo; else: first <= hi */
		uint32_t m = (l + h) / 2;
		int64_t v = key_of(k, b->docs[b->by[k][m]]);
		bool past = k == KEY_PRICE ? v >= lo : v <= hi;
		if (past)
			h = m;
		else
			l = m + 1;
	}
	first = l;
	for (l = first, h = b->n; l < h;) {
		uint32_t m = (l + h) / 2;
		int64_t v = key_of(k, b->docs[b->by[k][m]]);
		bool past = k == KEY_PRICE ? v > hi : v < lo;
		if (past)
			h = m;
		else
			l = m + 1;
	}
	end = l;
	return end - first;
}

static void search_base(top_t *t)
{
	const index_base_t *b = t->s->base;
	const index_query_t *q = t->q;
	const index_post_t *post[WORDS_QUERY_MAX];
	uint32_t len[WORDS_QUERY_MAX];
	const uint32_t *shortest = NULL;
	const index_post_t *shortest_post = NULL;
	uint32_t slen = b->n;
	double share = 1.0, n = b->n ? b->n : 1;
	if (b->n == 0)
		return;
	for (int i = 0; i < q->nterms; i++) {
		uint32_t l, at = map_find(&b->terms, q->terms[i], &l);
		post[i] = b->post + at;
		len[i] = l;
		if (!l)
			return; /* a word no listed service of the base has */
		share *= l / n;
		if (l < slen) {
			slen = l;
			shortest_post = post[i];
			shortest = NULL;
		}
	}
	for (int i = 0; i < q->ntags + q->has_provider; i++) {
		uint32_t l, at = i < q->ntags ? map_find(&b->tags, q->tags[i], &l)
					      : map_find(&b->providers, q->provider, &l);
		const uint32_t *e = b->lists + at;
		if (!l)
			return;
		share *= l / n;
		if (l < slen) {
			slen = l;
			shortest = e;
			shortest_post = NULL;
		}
	}
	if (q->min_price >= 0 || q->max_price >= 0)
		share *= count_range(b, KEY_PRICE, q->min_price < 0 ? 0 : q->min_price,
				     q->max_price < 0 ? INT64_MAX : q->max_price) / n;
	if (q->min_rep_e4 >= 0)
		share *= count_range(b, KEY_REPUTATION, q->min_rep_e4, INT64_MAX) / n;
	/* a walk reads about k / share entries of its order; a driver its whole list */
	double floor = 1 / n;
	if (q->sort == SORT_RELEVANCE && q->nterms > 1) {
		threshold(t, post, len);
	} else if (q->sort == SORT_RELEVANCE) {
		double other = share / (len[0] / n), walk = t->k / (other > floor ? other : floor);
		if (shortest && 2.0 * slen < walk)
			drive(t, shortest, NULL, slen);
		else
			walk_postings(t, post[0], len[0]);
	} else {
		double walk = t->k / (share > floor ? share : floor);
		if ((shortest || shortest_post) && 2.0 * slen < walk)
			drive(t, shortest, shortest_post, slen);
		else
			walk_keys(t);
	}
}

/* ---- the page */

/* A double as cJSON prints it (the PostgreSQL path renders its rank with cJSON). */
static void number_text(double v, char out[40])
{
	double back = 0;
	snprintf(out, 40, "%1.15g", v);
	if (sscanf(out, "%lg", &back) != 1 || back != v)
		snprintf(out, 40, "%1.17g", v);
}

static int page(const top_t *t, cand_t *v, int n, dux_buf_t *b)
{
	const index_query_t *q = t->q;
	int shown = n > q->limit ? (int)q->limit : n;
	int r = dux_buf_append(b, "{\"services\":[", 13);
	for (int i = 0; r == 0 && i < shown; i++) {
		const index_doc_t *d = v[i].d;
		if (i)
			r = dux_buf_append(b, ",", 1);
		if (r == 0 && q->sort == SORT_RELEVANCE) {
			char num[40];
			number_text((double)v[i].rank / (q->nterms * 1e9), num);
			r = dux_buf_append(b, d->json, d->json_len - 1);
			if (r == 0)
				r = dux_buf_printf(b, ",\"rank\":%s}", num);
		} else if (r == 0) {
			r = dux_buf_append(b, d->json, d->json_len);
		}
	}
	char key[48], next[CURSOR_MAX + 1];
	if (r == 0 && n > q->limit) {
		const cand_t *last = &v[shown - 1];
		if (q->sort == SORT_RELEVANCE)
			number_text((double)last->rank / (q->nterms * 1e9), key);
		else if (key_index(q->sort) == KEY_REPUTATION)
			snprintf(key, sizeof key, "%d.%04d", (int)(last->key / 10000),
				 (int)(last->key % 10000));
		else
			snprintf(key, sizeof key, "%lld", (long long)last->key);
		const char *parts[] = {"s", q->sort_name, q->digest, key, last->d->id};
		r = cursor_encode(parts, 5, next);
		if (r == 0)
			r = dux_buf_printf(b, "],\"next_cursor\":\"%s\"", next);
	} else if (r == 0) {
		r = dux_buf_append(b, "],\"next_cursor\":null", 20);
	}
	if (r == 0)
		r = dux_buf_printf(b, ",\"sort\":\"%s\"}", q->sort_name);
	return r;
}

static void sort_cands(cand_t *v, int n, int sort)
{
	/* insertion sort: at most PAGE_MAX + 1 of them */
	index_query_t q = {.sort = sort};
	for (int i = 1; i < n; i++) {
		cand_t x = v[i];
		int j = i;
		while (j > 0 && before(&q, &x, &v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

char *index_search(const index_snap_t *s, const index_query_t *q, size_t *ret_len)
{
	top_t *t = malloc(sizeof *t);
	dux_buf_t b;
	if (!t)
		return NULL;
	t->q = q;
	t->s = s;
	t->n = 0;
	t->k = (int)q->limit + 1;
	t->work = 0;
	if (!q->has_q || q->nterms > 0) {
		search_base(t);
		for (uint32_t i = 0; i < s->nd; i++) {
			cand_t c;
			if (evaluate(q, s->delta[i], &c) && after_cursor(q, &c))
				top_push(t, &c);
		}
	}
	sort_cands(t->v, t->n, q->sort);
	dux_buf_init(&b, PAGE_BYTES_MAX);
	int r = page(t, t->v, t->n, &b);
	free(t);
	if (r < 0) {
		dux_buf_free(&b);
		return NULL;
	}
	*ret_len = b.len;
	return dux_buf_steal(&b);
}
