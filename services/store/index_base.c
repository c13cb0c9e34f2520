/* index_base.c - the immutable base of the search index, built from the listed services in
 * one pass and then only read (by any number of threads at once):
 *
 *   docs          by id ascending, so that comparing two indexes compares two ids
 *   by[key]       the doc indexes in each sort order of the API but relevance (reputation,
 *                 total_calls and newest descending, price ascending; ties by id the same way)
 *   terms         word -> postings ordered by impact: the word's rank in the doc, highest
 *                 first, ties by id descending (the relevance order of a one-word search), so
 *                 that the best matches of a broad word are the first entries, whatever the
 *                 number of matches
 *   tags, providers   tag or provider -> doc indexes ascending (for selective filters)
 *
 * Maps are open-addressed tables of 64-bit hashes (words_hash): two words whose hashes
 * collide would share a postings list; with 64 bits that takes billions of distinct words. */
#include "index.h"
#include <stdlib.h>
#include <string.h>

int64_t key_of(int k, const index_doc_t *d)
{
	switch (k) {
	case KEY_REPUTATION: return d->rep_e4;
	case KEY_CALLS: return d->calls;
	case KEY_PRICE: return d->price;
	default: return d->created_us;
	}
}

bool key_before(int k, const index_doc_t *a, const index_doc_t *b)
{
	int64_t x = key_of(k, a), y = key_of(k, b);
	if (k == KEY_PRICE)
		return x < y || (x == y && strcmp(a->id, b->id) < 0);
	return x > y || (x == y && strcmp(a->id, b->id) > 0);
}

/* ---- maps */

static int map_init(index_map_t *m, size_t count)
{
	uint32_t cap = 16;
	m->used = 0;
	while (cap < count * 2)
		cap *= 2;
	m->cap = cap;
	m->key = calloc(cap, sizeof *m->key);
	m->off = calloc(cap, sizeof *m->off);
	m->len = calloc(cap, sizeof *m->len);
	return m->key && m->off && m->len ? 0 : DUX_ENOMEM;
}

static void map_free(index_map_t *m)
{
	free(m->key);
	free(m->off);
	free(m->len);
}

static uint32_t map_slot(const index_map_t *m, uint64_t key)
{
	uint32_t i = (uint32_t)key & (m->cap - 1);
	while (m->key[i] && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

uint32_t map_find(const index_map_t *m, uint64_t key, uint32_t *ret_len)
{
	uint32_t i = map_slot(m, key);
	*ret_len = m->key[i] ? m->len[i] : 0;
	return m->key[i] ? m->off[i] : 0;
}

static int map_grow(index_map_t *m)
{
	index_map_t g = {0};
	if (map_init(&g, m->cap) < 0) { /* twice the slots */
		map_free(&g);
		return DUX_ENOMEM;
	}
	for (uint32_t i = 0; i < m->cap; i++) {
		if (!m->key[i])
			continue;
		uint32_t s = map_slot(&g, m->key[i]);
		g.key[s] = m->key[i];
		g.len[s] = m->len[i];
	}
	g.used = m->used;
	map_free(m);
	*m = g;
	return 0;
}

/* Counts one entry under key; the table doubles before it is half full. */
static int map_count(index_map_t *m, uint64_t key)
{
	uint32_t i = map_slot(m, key);
	if (!m->key[i]) {
		if ((m->used + 1) * 2 > m->cap) {
			if (map_grow(m) < 0)
				return DUX_ENOMEM;
			i = map_slot(m, key);
		}
		m->key[i] = key;
		m->used++;
	}
	m->len[i]++;
	return 0;
}

/* Offsets from the counts; the counts start again from 0, to be filled. Returns the total. */
static size_t map_layout(index_map_t *m)
{
	size_t total = 0;
	for (uint32_t i = 0; i < m->cap; i++) {
		m->off[i] = (uint32_t)total;
		total += m->len[i];
		m->len[i] = 0;
	}
	return total;
}

/* ---- building */

static int doc_id_cmp(const void *a, const void *b)
{
	return strcmp((*(index_doc_t *const *)a)->id, (*(index_doc_t *const *)b)->id);
}

typedef struct {
	int64_t key;
	uint32_t doc;
} keyed_t;

static int keyed_desc(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->doc > y->doc ? -1 : x->doc < y->doc;
}

static int keyed_asc(const void *a, const void *b)
{
	return keyed_desc(b, a);
}

static int post_cmp(const void *a, const void *b)
{
	const index_post_t *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->doc > y->doc ? -1 : x->doc < y->doc;
}

static int build_orders(index_base_t *b)
{
	keyed_t *tmp = malloc((b->n ? b->n : 1) * sizeof *tmp);
	int r = tmp ? 0 : DUX_ENOMEM;
	for (int k = 0; r == 0 && k < NKEYS; k++) {
		b->by[k] = malloc((b->n ? b->n : 1) * sizeof *b->by[k]);
		if (!b->by[k]) {
			r = DUX_ENOMEM;
			break;
		}
		for (uint32_t i = 0; i < b->n; i++)
			tmp[i] = (keyed_t){key_of(k, b->docs[i]), i};
		qsort(tmp, b->n, sizeof *tmp, k == KEY_PRICE ? keyed_asc : keyed_desc);
		for (uint32_t i = 0; i < b->n; i++)
			b->by[k][i] = tmp[i].doc;
		b->bytes += b->n * sizeof *b->by[k];
	}
	free(tmp);
	return r;
}

static int build_terms(index_base_t *b)
{
	size_t total = 0;
	for (uint32_t i = 0; i < b->n; i++)
		total += b->docs[i]->nterms;
	int r = map_init(&b->terms, 1024);
	for (uint32_t i = 0; r == 0 && i < b->n; i++)
		for (uint32_t t = 0; r == 0 && t < b->docs[i]->nterms; t++)
			r = map_count(&b->terms, b->docs[i]->term[t]);
	if (r < 0)
		return r;
	map_layout(&b->terms);
	b->post = malloc((total ? total : 1) * sizeof *b->post);
	if (!b->post)
		return DUX_ENOMEM;
	for (uint32_t i = 0; i < b->n; i++) {
		const index_doc_t *d = b->docs[i];
		for (uint32_t t = 0; t < d->nterms; t++) {
			uint32_t s = map_slot(&b->terms, d->term[t]);
			b->post[b->terms.off[s] + b->terms.len[s]++] =
				(index_post_t){i, d->score[t]};
		}
	}
	for (uint32_t s = 0; s < b->terms.cap; s++)
		if (b->terms.len[s] > 1)
			qsort(b->post + b->terms.off[s], b->terms.len[s], sizeof *b->post, post_cmp);
	b->bytes += total * sizeof *b->post + (size_t)b->terms.cap * 16;
	return 0;
}

/* Tags and providers: doc indexes ascending (filled in doc order). */
static int build_filters(index_base_t *b)
{
	int r = map_init(&b->tags, 256);
	if (r == 0)
		r = map_init(&b->providers, 256);
	if (r < 0)
		return r;
	for (uint32_t i = 0; r == 0 && i < b->n; i++) {
		for (int t = 0; r == 0 && t < b->docs[i]->ntags; t++)
			r = map_count(&b->tags, b->docs[i]->tags[t]);
		if (r == 0)
			r = map_count(&b->providers, b->docs[i]->provider);
	}
	if (r < 0)
		return r;
	size_t nt = map_layout(&b->tags), np = map_layout(&b->providers);
	b->lists = malloc((nt + np + 1) * sizeof *b->lists);
	if (!b->lists)
		return DUX_ENOMEM;
	for (uint32_t s = 0; s < b->providers.cap; s++)
		b->providers.off[s] += (uint32_t)nt;
	for (uint32_t i = 0; i < b->n; i++) {
		for (int t = 0; t < b->docs[i]->ntags; t++) {
			uint32_t s = map_slot(&b->tags, b->docs[i]->tags[t]);
			b->lists[b->tags.off[s] + b->tags.len[s]++] = i;
		}
		uint32_t s = map_slot(&b->providers, b->docs[i]->provider);
		b->lists[b->providers.off[s] + b->providers.len[s]++] = i;
	}
	b->bytes += (nt + np) * sizeof *b->lists + ((size_t)b->tags.cap + b->providers.cap) * 16;
	return 0;
}

index_base_t *base_build(index_doc_t *const *docs, uint32_t n)
{
	index_base_t *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->docs = malloc((n ? n : 1) * sizeof *b->docs);
	if (!b->docs) {
		free(b);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		b->docs[b->n++] = doc_ref(docs[i]);
	qsort(b->docs, n, sizeof *b->docs, doc_id_cmp);
	b->bytes = sizeof *b + n * sizeof *b->docs;
	int r = build_orders(b);
	if (r == 0)
		r = build_terms(b);
	if (r == 0)
		r = build_filters(b);
	if (r < 0) {
		base_unref(b);
		return NULL;
	}
	return b;
}

void base_unref(index_base_t *b)
{
	if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	for (uint32_t i = 0; i < b->n; i++)
		doc_unref(b->docs[i]);
	for (int k = 0; k < NKEYS; k++)
		free(b->by[k]);
	map_free(&b->terms);
	map_free(&b->tags);
	map_free(&b->providers);
	free(b->post);
	free(b->lists);
	free(b->docs);
	free(b);
}

int64_t base_find(const index_base_t *b, const char *id)
{
	uint32_t lo = 0, hi = b->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = strcmp(b->docs[mid]->id, id);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
