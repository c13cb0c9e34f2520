/* index.h - the search index of duxos-store: the listed catalogue held in memory, derived from
 * PostgreSQL (which stays the one place of truth), so that GET /services is answered without a
 * database round trip. services/store/README.md ("Search") describes it for operators.
 *
 *   words.c        text into the lexemes PostgreSQL's english configuration makes of it
 *   index_doc.c    one service as the index holds it (its words, with their rank, and JSON)
 *   index_base.c   the immutable base: postings ordered by impact, one order per sort key
 *   index_query.c  one search answered from a snapshot (base + the changes since)
 *   index_feed.c   building at start-up, following the changes, snapshots for readers
 *
 * Ownership: a snapshot (index_snap_t) is reference counted; index_acquire hands one to a
 * reader, who gives it back with index_release. Everything reachable from a snapshot is
 * immutable while it is held. Docs are reference counted too (several snapshots share them). */
#ifndef STORE_INDEX_H
#define STORE_INDEX_H

#include "store.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- words.c */

#define WORDS_QUERY_MAX 16 /* words of a q the index answers; more: PostgreSQL */

/* Called for each lexeme made only of ASCII letters (the only ones a search the index answers
 * can name), in the order of the text. lexeme is borrowed for the call. */
typedef void (*words_fn)(const char *lexeme, size_t len, void *ctx);

/* Loads the Snowball english stemmer; DUX_ENOMEM. Once, before any other call. */
int words_init(void);
void words_free(void);
/* The lexemes of text as to_tsvector('english', text) makes them (see words.c for where the
 * two may differ), stop words left out. Thread-safe. */
void words_each(const char *text, words_fn fn, void *ctx);
/* The lexemes of q when the index can answer it exactly as websearch_to_tsquery('english', q)
 * would match: words of ASCII letters separated by spaces, none of them "or". Duplicates are
 * removed; *ret_n may be 0 (only stop words: nothing matches). false: ask PostgreSQL. */
bool words_query(const char *q, uint64_t ret[WORDS_QUERY_MAX], int *ret_n);
/* The 64-bit hash the index names a lexeme, a tag or a provider by. */
uint64_t words_hash(const char *s, size_t len);

/* ---- index_doc.c */

/* ts_rank('{0.1,0.2,0.4,1.0}', document, one word) as PostgreSQL computes it (calc_rank_or),
 * for a word that occurs na times in the name (A), nb in the tags (B) and nc in the
 * description (C), in units of 1e-9. */
uint32_t rank_one(unsigned na, unsigned nb, unsigned nc);

typedef struct index_doc {
	atomic_int refs;
	char id[SERVICE_ID_LEN + 1];
	bool listed;
	int64_t seq; /* change_seq of the row it was made from */
	int64_t price, calls, created_us;
	int32_t rep_e4; /* reputation x 10000 */
	uint64_t provider;
	uint64_t tags[TAGS_MAX];
	int ntags;
	uint32_t nterms;
	uint64_t *term;  /* sorted, distinct */
	uint32_t *score; /* rank_one of term[i] */
	char *json;      /* service_json as the API shows it, without spaces */
	size_t json_len;
} index_doc_t;

/* The fields of a services row, borrowed from a PGresult. */
typedef struct {
	const char *id, *name, *tags, *description, *provider, *json; /* tags: {a,b} */
	bool listed;
	int64_t seq, price, calls, created_us;
	int32_t rep_e4;
} index_row_t;

/* A doc (refs 1) for row; NULL when out of memory or the row is malformed. */
index_doc_t *doc_new(const index_row_t *row);
index_doc_t *doc_ref(index_doc_t *d);
void doc_unref(index_doc_t *d);
/* The score of term in d; 0 when d lacks it. */
uint32_t doc_score(const index_doc_t *d, uint64_t term);
size_t doc_bytes(const index_doc_t *d);

/* ---- index_base.c */

enum { KEY_REPUTATION = 0, KEY_CALLS, KEY_PRICE, KEY_NEWEST, NKEYS };

typedef struct {
	uint32_t cap, used; /* cap a power of two; slots with key 0 are free */
	uint64_t *key;
	uint32_t *off, *len; /* into the list's entries */
} index_map_t;

typedef struct {
	uint32_t doc;   /* index into base docs */
	uint32_t score; /* of the term in that doc */
} index_post_t;

typedef struct {
	atomic_int refs;
	uint32_t n;
	index_doc_t **docs;   /* listed ones, by id ascending: a doc's index orders like its id */
	uint32_t *by[NKEYS];  /* doc indexes in each key order (ties by id, as the sort) */
	index_map_t terms;    /* term -> postings, score descending then id descending */
	index_post_t *post;
	index_map_t tags, providers; /* tag or provider -> doc indexes ascending */
	uint32_t *lists;
	size_t bytes;         /* of the base itself, docs apart */
} index_base_t;

/* A base of the n docs (each listed, ids distinct; the base takes a reference of each). */
index_base_t *base_build(index_doc_t *const *docs, uint32_t n);
void base_unref(index_base_t *b);
/* Where the entries of key start in the map's array, and how many there are (0 when
 * absent). */
uint32_t map_find(const index_map_t *m, uint64_t key, uint32_t *ret_len);
/* The base index of id, -1 when absent. */
int64_t base_find(const index_base_t *b, const char *id);
/* Whether doc a comes before doc b in key order k (ties by id: descending but for price). */
bool key_before(int k, const index_doc_t *a, const index_doc_t *b);
int64_t key_of(int k, const index_doc_t *d);

/* ---- index_feed.c: snapshots */

typedef struct {
	atomic_int refs;
	index_base_t *base;
	uint32_t nd;
	index_doc_t **delta; /* changed since the base, latest version each, by id ascending */
	uint8_t *shadow;     /* bit per base doc: replaced or delisted by a delta doc */
} index_snap_t;

/* The current snapshot (give it back with index_release), or NULL when the index is off or
 * not built yet (then search asks PostgreSQL). */
index_snap_t *index_acquire(void);
void index_release(index_snap_t *s);
static inline bool snap_shadowed(const index_snap_t *s, uint32_t i)
{
	return s->shadow && (s->shadow[i >> 3] >> (i & 7)) & 1;
}

/* Builds the index (store.search_index) before the daemon listens, and starts the job that
 * follows the changes. A failed first build is logged and retried by the job. */
int index_start(store_t *s);
void index_stop(void);
/* A change was committed through this copy: the index takes it in before this returns, so
 * that the change shows in the next search (best effort: on failure the job takes it). */
void index_sync(store_t *s);

/* ---- index_query.c */

typedef struct {
	int sort;    /* SORT_* of search.c: 0 relevance, 1 reputation, 2 calls, 3 price, 4 newest */
	uint64_t terms[WORDS_QUERY_MAX];
	int nterms;
	bool has_q;
	uint64_t tags[TAGS_MAX];
	int ntags;
	int64_t min_price, max_price; /* -1: not given */
	int32_t min_rep_e4;           /* -1: not given */
	bool has_provider;
	uint64_t provider;
	bool after; /* a cursor: the page starts after (key, id) */
	int64_t key;
	uint64_t rank; /* relevance: the sum of the words' scores */
	char id[SERVICE_ID_LEN + 1];
	int64_t limit;
	const char *sort_name, *digest;
} index_query_t;

/* The page as GET /services answers it (caller frees with free()); NULL when out of memory. */
char *index_search(const index_snap_t *s, const index_query_t *q, size_t *ret_len);

#endif
