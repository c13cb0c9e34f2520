/* index_doc.c - one service as the search index holds it: the keys its sorts and filters
 * read, each word of its search document with that word's rank, and its JSON as the API
 * shows it, rendered once by PostgreSQL (service_json) so that a page is a concatenation.
 *
 * The rank of a word is ts_rank's (PostgreSQL 15, tsrank.c, calc_rank_or) with the default
 * weights, computed in the same float arithmetic: the occurrences of the word in document
 * order (name A = 1.0, tags B = 0.4, description C = 0.2; at most 256, as a tsvector keeps),
 * resj = sum of w_j / (j + 1)^2, then (wjm + resj - wjm / (jm + 1)^2) / 1.64493406685 where
 * wjm is the first highest weight and jm its place. Kept as an integer of 1e-9 units, so that
 * sums of several words are exact and the order of a search is total. */
#include "index.h"
#include <stdlib.h>
#include <string.h>

#define POS_MAX 256 /* positions a tsvector keeps per lexeme (MAXNUMPOS) */

uint32_t rank_one(unsigned na, unsigned nb, unsigned nc)
{
	static const float w[3] = {1.0f, 0.4f, 0.2f};
	const unsigned n[3] = {na, nb, nc};
	float resj = 0.0f, wjm = -1.0f, res = 0.0f;
	int jm = 0, j = 0;
	for (int f = 0; f < 3; f++) {
		for (unsigned k = 0; k < n[f] && j < POS_MAX; k++, j++) {
			resj = resj + w[f] / ((j + 1) * (j + 1));
			if (w[f] > wjm) {
				wjm = w[f];
				jm = j;
			}
		}
	}
	if (j == 0)
		return 0;
	res = res + (wjm + resj - wjm / ((jm + 1) * (jm + 1))) / 1.64493406685;
	return (uint32_t)(res * 1e9 + 0.5);
}

typedef struct {
	uint64_t h;
	uint32_t seq; /* order of occurrence */
	uint8_t field;
} occ_t;

typedef struct {
	occ_t *v;
	size_t n, cap;
	uint8_t field;
	bool oom;
} occs_t;

static void add_occ(const char *lexeme, size_t len, void *ctx)
{
	occs_t *o = ctx;
	if (o->oom)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		occ_t *v = realloc(o->v, cap * sizeof *v);
		if (!v) {
			o->oom = true;
			return;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n] = (occ_t){words_hash(lexeme, len), (uint32_t)o->n, o->field};
	o->n++;
}

static int occ_cmp(const void *a, const void *b)
{
	const occ_t *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The words of name, tags and description, each with its rank, into d. */
static int doc_words(index_doc_t *d, const char *name, const char *tags, const char *desc)
{
	occs_t o = {0};
	const char *text[3] = {name, tags, desc};
	for (int f = 0; f < 3; f++) {
		o.field = (uint8_t)f;
		words_each(text[f], add_occ, &o);
	}
	int r = o.oom ? DUX_ENOMEM : 0;
	if (r == 0 && o.n)
		qsort(o.v, o.n, sizeof o.v[0], occ_cmp);
	size_t distinct = 0;
	for (size_t i = 0; r == 0 && i < o.n; i++)
		distinct += i == 0 || o.v[i].h != o.v[i - 1].h;
	d->term = r == 0 ? malloc((distinct ? distinct : 1) * sizeof *d->term) : NULL;
	d->score = r == 0 ? malloc((distinct ? distinct : 1) * sizeof *d->score) : NULL;
	if (!d->term || !d->score)
		r = DUX_ENOMEM;
	for (size_t i = 0; r == 0 && i < o.n;) {
		unsigned n[3] = {0, 0, 0};
		size_t k = i;
		for (; k < o.n && o.v[k].h == o.v[i].h; k++)
			n[o.v[k].field]++;
		d->term[d->nterms] = o.v[i].h;
		d->score[d->nterms++] = rank_one(n[0], n[1], n[2]);
		i = k;
	}
	free(o.v);
	return r;
}

/* "{a,b}" (tags are [a-z0-9-], never quoted) into d->tags and "a b" into text. */
static void doc_tags(index_doc_t *d, const char *arr, char *text, size_t len)
{
	size_t o = 0;
	const char *p = arr + (*arr == '{');
	while (*p && *p != '}' && d->ntags < TAGS_MAX) {
		size_t n = strcspn(p, ",}");
		d->tags[d->ntags++] = words_hash(p, n);
		if (o + n + 2 < len) {
			if (o)
				text[o++] = ' ';
			memcpy(text + o, p, n);
			o += n;
		}
		p += n + (p[n] == ',');
	}
	text[o] = '\0';
}

/* The JSON without its spaces, as cJSON prints what search.c renders from PostgreSQL. */
static int doc_json(index_doc_t *d, const char *json)
{
	cJSON *j = cJSON_Parse(json);
	d->json = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!d->json)
		return DUX_ENOMEM;
	d->json_len = strlen(d->json);
	return d->json_len >= 2 && d->json[d->json_len - 1] == '}' ? 0 : DUX_EINVAL;
}

index_doc_t *doc_new(const index_row_t *row)
{
	index_doc_t *d = calloc(1, sizeof *d);
	char tags[TAGS_MAX * (TAG_MAX_BYTES + 1) + 1];
	if (!d)
		return NULL;
	atomic_init(&d->refs, 1);
	snprintf(d->id, sizeof d->id, "%s", row->id);
	d->listed = row->listed;
	d->seq = row->seq;
	d->price = row->price;
	d->calls = row->calls;
	d->created_us = row->created_us;
	d->rep_e4 = row->rep_e4;
	d->provider = words_hash(row->provider, strlen(row->provider));
	doc_tags(d, row->tags, tags, sizeof tags);
	int r = 0;
	if (d->listed) /* a delisted service only hides the one before it */
		r = doc_words(d, row->name, tags, row->description);
	if (r == 0 && d->listed)
		r = doc_json(d, row->json);
	if (r < 0) {
		doc_unref(d);
		return NULL;
	}
	return d;
}

index_doc_t *doc_ref(index_doc_t *d)
{
	atomic_fetch_add(&d->refs, 1);
	return d;
}

void doc_unref(index_doc_t *d)
{
	if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	free(d->term);
	free(d->score);
	free(d->json);
	free(d);
}

uint32_t doc_score(const index_doc_t *d, uint64_t term)
{
	uint32_t lo = 0, hi = d->nterms;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (d->term[mid] < term)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->nterms && d->term[lo] == term ? d->score[lo] : 0;
}

size_t doc_bytes(const index_doc_t *d)
{
	return sizeof *d + d->nterms * (sizeof *d->term + sizeof *d->score) + d->json_len + 1;
}
