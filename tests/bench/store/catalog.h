/* catalog.h - the catalogue bench_store searches and the searches it sends, both generated from
 * a seed, so that every run on every machine measures the same data and the same mix.
 *
 * The vocabulary: about 400 real words of an API catalogue (api, data, weather, payment...)
 * at the most frequent ranks, then made-up brand-like words (zorvu, kamelo...) down to
 * --vocab words. Names, descriptions and tags draw their words from it with a Zipf law, so a
 * few words are in most services and most words in a few. Every word is its own English
 * lexeme (checked against PostgreSQL at set-up), so the number of services a search matches
 * is known here exactly, from postings lists, without asking PostgreSQL.
 *
 * A service is generated from (seed, its number) alone: the seeding writes it, and the check
 * of a sample through GET /v1/services/{id} generates it again to compare. */
#ifndef BENCH_STORE_CATALOG_H
#define BENCH_STORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a seeded PRNG (splitmix64) and Zipf draws ---- */

typedef struct {
	uint64_t s;
} rng_t;

void rng_seed(rng_t *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng_t *r);
double rng_unit(rng_t *r);          /* [0, 1) */
int rng_below(rng_t *r, int n);     /* [0, n) */

/* P(rank k) proportional to 1 / (k + 1)^s, k in [0, n). */
typedef struct {
	double *cdf;
	int n;
} zipf_t;

bool zipf_init(zipf_t *z, int n, double s);
int zipf_draw(const zipf_t *z, rng_t *r);
void zipf_free(zipf_t *z);

/* ---- the catalogue ---- */

#define CAT_WORD_MAX 16
#define CAT_TAGS_MAX 6     /* tags a generated service carries (the store admits 10) */
#define CAT_DOC_WORDS 128  /* distinct words of one service, at most */
#define CAT_NAME_MAX 128
#define CAT_DESC_MAX 1200
#define CAT_ENDPOINT_MAX 160
#define CAT_SUFFIXES 6     /* "API", "Service"... that end half of the names */

typedef struct {
	uint64_t seed;
	int nservices, nproviders;
	double doc_zipf; /* exponent of the words of names and descriptions */
	int nwords, nreal;
	char (*word)[CAT_WORD_MAX]; /* rank 0 is the most frequent */
	int ntags;
	int *tag_word; /* the words that serve as tags, most used first */
	zipf_t z_doc, z_real, z_tag, z_provider;
	/* what searches need of each service, kept compact */
	int64_t *price;      /* base units */
	int32_t *rep_e4;     /* reputation x 10000, as PostgreSQL rounds it */
	int32_t *provider;   /* provider number */
	uint64_t (*tagmask)[2]; /* bit t: carries tag t (ntags <= 128) */
	/* postings: services (ascending) carrying word w are post[post_off[w] .. post_off[w+1]) */
	int64_t *post_off;
	int32_t *post;
	/* the words of each service, until cat_index */
	int32_t *tmp_words;
	int64_t *tmp_off;
	size_t tmp_len, tmp_cap;
} catalog_t;

/* One service in full, as the seeding writes it and GET /v1/services/{id} must show it. */
typedef struct {
	char id[40];
	char owner[40];     /* the token subject of its provider: bench-provider-N */
	char provider[64];  /* a mainnet address */
	char name[CAT_NAME_MAX];
	char description[CAT_DESC_MAX];
	char version[32];
	char endpoint[CAT_ENDPOINT_MAX];
	int64_t price;
	int rate_limit;
	int ntags;
	int tag[CAT_TAGS_MAX]; /* indices into tag_word */
	int64_t total_calls, rating_count, rating_sum;
	int32_t rep_e4;
	int64_t created_s; /* unix seconds; created_at = version_at = updated_at */
	int created_us;    /* and microseconds */
	int nwords;
	int words[CAT_DOC_WORDS]; /* distinct words of name, tags and description */
	int provider_no;
} cat_service_t;

/* Builds the vocabulary (nwords in all, at least the real ones) and the Zipf tables. */
bool cat_init(catalog_t *c, uint64_t seed, int nservices, int nproviders, int nwords,
	      double doc_zipf);
void cat_free(catalog_t *c);

/* Service i (0 .. nservices-1), generated from (seed, i). */
void cat_service(const catalog_t *c, int i, cat_service_t *s);
/* The mainnet address and the token subject of provider p. */
void cat_provider(const catalog_t *c, int p, char addr[64], char owner[40]);
/* Records what searches need of service s (number i); once every service is recorded,
 * cat_index builds the postings. */
bool cat_record(catalog_t *c, int i, const cat_service_t *s);
bool cat_index(catalog_t *c);

/* How many services carry every one of the n words (n >= 1). */
int cat_count_words(const catalog_t *c, const int *w, int n);

/* ---- the searches ---- */

enum { SORT_RELEVANCE, SORT_REPUTATION, SORT_CALLS, SORT_PRICE, SORT_NEWEST, NSORTS };
enum { BR_NONE, BR_NARROW, BR_MEDIUM, BR_BROAD, NBREADTH }; /* how many services q matches */
extern const char *const cat_sort_name[NSORTS];
extern const char *const cat_breadth_name[NBREADTH];

#define CAT_PATH_MAX 1024

typedef struct {
	char path[CAT_PATH_MAX]; /* GET path and query string (the cursor is added for page 2) */
	int nq, w[2];            /* words of q (0: no q) */
	int ntag, tag[2];        /* tag filters, indices into tag_word */
	int64_t min_price, max_price; /* base units, -1 when not given */
	int32_t min_rep_e4;      /* -1 when not given */
	int provider;            /* -1 when not given */
	int sort;                /* SORT_*: the one asked for, or the default */
	bool sort_given;
	bool want_page2;         /* meant to be a second page (if the first has a next_cursor) */
	int page;                /* 1 or 2 */
	int breadth;             /* BR_* of q alone */
	int qmatches;            /* services q matches */
	int matches;             /* services the whole search matches */
} cat_query_t;

/* n searches drawn from seed: what users type (q words drawn with exponent q_zipf over the
 * same vocabulary), filters, sorts; page2_share of them are meant as second pages. */
bool cat_queries(const catalog_t *c, uint64_t seed, int n, double q_zipf, double page2_share,
		 cat_query_t *ret);

#endif
