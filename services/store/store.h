/* store.h - duxos-store internals: configuration, shared state, the limits of what may be
 * published, and the pieces the route handlers are made of.
 *
 * Ownership: strings a function returns through ret_* are the caller's (free with free())
 * unless the declaration says borrowed; cJSON values likewise (cJSON_Delete). Request data
 * (dux_req_*) is borrowed until the handler returns. */
#ifndef STORE_H
#define STORE_H

#include <cjson/cJSON.h>
#include <dux/bus.h>
#include <dux/daemon.h>
#include <dux/http.h>
#include <dux/json.h>
#include <stdbool.h>
#include <stdint.h>

#define SERVICE_ID_LEN 36 /* "svc_" + 32 lowercase hex */

/* What a service may hold (the OpenAPI document states the same bounds). */
#define NAME_MAX_BYTES 120
#define DESCRIPTION_MAX_BYTES 2000
#define VERSION_MAX_BYTES 64
#define ENDPOINT_MAX_BYTES 2048
#define TAGS_MAX 10        /* tags kept, after normalising and removing duplicates */
#define TAGS_SENT_MAX 32   /* items a request's tags array may have */
#define TAG_MAX_BYTES 32
#define RATE_LIMIT_MAX 1000000 /* calls per minute */
#define REVIEW_MAX_BYTES 2000
#define QUERY_MAX_BYTES 200 /* q of a search */
#define PAGE_DEFAULT 20
#define PAGE_MAX 100

typedef struct {
	char *wallet_url;
	char *wallet_token; /* secret: a service token for the wallet */
	int64_t wallet_timeout_ms;
	char *escrow_url;    /* "" = no subscription to the escrow's events */
	char *escrow_events; /* the escrow's PUB endpoint */
	char *escrow_token;  /* secret: a service token for the escrow's GET /v1/events */
	int64_t events_poll_ms;
	char *max_price; /* FLOP text */
	int64_t search_cache_ms; /* 0 = no cache */
	bool search_index;       /* answer searches from memory (index.h) */
	int64_t search_index_refresh_ms, search_index_max_services, search_index_delta_max;
} store_cfg_t;

typedef struct {
	store_cfg_t cfg;
	dux_daemon_t *d;
	int64_t max_price; /* base units */
	dux_sub_t *sub;    /* the escrow's events (NULL when escrow_url is "") */
	dux_metric_t *m_cursor, *m_skipped, *m_stuck, *m_cache_hits, *m_index_answers;
} store_t;

/* ---- text.c: checks of text from outside */

/* A string member of at most max bytes passing dux_text_ok; minlen 0 admits "". ret borrowed. */
int text_member(const cJSON *body, const char *key, bool required, size_t minlen, size_t max,
		bool multiline, const char **ret, dux_verr_t *e);
/* svc_ + 32 lowercase hex. */
bool service_id_ok(const char *s);

/* ---- semver.c: Semantic Versioning 2.0.0 */

/* 0 when s is a version by the grammar of semver.org (at most VERSION_MAX_BYTES); otherwise
 * DUX_EINVAL with a static reason in *why. */
int semver_check(const char *s, const char **why);
/* Precedence of two valid versions (build metadata ignored): < 0, 0 or > 0. */
int semver_cmp(const char *a, const char *b);

/* ---- url.c: endpoints */

/* 0 when s is an absolute http or https URL (RFC 3986: host name, IPv4 or [IPv6] literal,
 * optional port 1-65535, path and query of URI characters with valid %HH escapes; no user
 * information, no fragment, at most ENDPOINT_MAX_BYTES); otherwise DUX_EINVAL with a static
 * reason in *why. */
int url_check(const char *s, const char **why);

/* ---- input.c: the fields of POST and PUT /services */

typedef struct {
	const char *name, *description, *version, *provider, *endpoint; /* borrowed from the body */
	int64_t price, rate_limit;
	char tags[TAGS_MAX][TAG_MAX_BYTES + 1]; /* normalised, first occurrence kept */
	int ntags;
} service_input_t;

/* Reads and checks every field; provider_required false (PUT) leaves provider NULL when it is
 * absent. On failure e names the field. */
int input_service(store_t *s, const cJSON *body, bool provider_required, service_input_t *ret,
		  dux_verr_t *e);
/* A tag as given, trimmed and lowercased into out; DUX_EINVAL with a reason otherwise. */
int input_tag(const char *given, char out[TAG_MAX_BYTES + 1], const char **why);
/* The tags as a PostgreSQL array literal ({"a","b"}) into buf (at least TAGS_MAX * 36 + 3). */
void input_tags_array(const char tags[][TAG_MAX_BYTES + 1], int n, char *buf, size_t len);
/* SHA-256 hex of the normalised fields: what an Idempotency-Key stands for. */
void input_hash(const service_input_t *in, char ret[65]);
/* 0 when the Idempotency-Key header is absent (*ret NULL) or 1 to 128 visible ASCII bytes;
 * otherwise replies 400 invalid-header and returns DUX_EINVAL. */
int input_idem_key(dux_req_t *r, const char **ret);

/* ---- query.c: query strings of the GET routes */

/* Replies 400 invalid-query and returns false when the query has a parameter not in allowed
 * (NULL-terminated), or one of single (NULL-terminated, may be NULL) more than once. */
bool query_known_or_reply(dux_req_t *r, const char *const *allowed, const char *const *single);

/* ---- cursor.c: opaque page cursors (base64url of the parts joined by '\n') */

#define CURSOR_MAX 400 /* bytes of an encoded cursor */
#define CURSOR_PARTS_MAX 6

/* Encodes n parts; the last may hold any byte but NUL, the others no '\n'. */
int cursor_encode(const char *const *parts, int n, char ret[CURSOR_MAX + 1]);
/* Decodes s into exactly n parts pointing into buf (len bytes); DUX_EINVAL when malformed. */
int cursor_decode(const char *s, int n, char *buf, size_t len, char **parts);

/* ---- wallet.c: who owns a provider address, asked of duxos-wallet */

/* Replies (403 provider-unknown, 403 provider-not-owned, 502 wallet-auth or wallet-error,
 * 503 wallet-unavailable) and returns false unless the wallet says owner owns address. */
bool wallet_owns_or_reply(store_t *s, dux_req_t *r, const char *address, const char *owner);

/* ---- services.c: rows and their JSON */

typedef struct {
	char id[SERVICE_ID_LEN + 1];
	char owner[128];
	char provider[64];
	char version[VERSION_MAX_BYTES + 1];
	int version_seq;
	bool listed;
} service_row_t;

/* Reads the row (FOR UPDATE when lock); DUX_ENOENT when there is none. */
int services_load(dux_db_conn_t *c, const char *id, bool lock, service_row_t *ret);
/* The service as service_json renders it; DUX_ENOENT when unknown. */
int services_json(dux_db_conn_t *c, const char *id, char **ret_json);
/* 404 not-found for id (named only when it has the form of an id: a path may hold any
 * bytes). */
void reply_no_service(dux_req_t *r, const char *id);
/* Replies status with JSON text the database rendered. */
void reply_db_json(dux_req_t *r, int status, const char *text);
/* Replies a page {"<member>": [items...], "next_cursor": ... or null}: items are rows of
 * JSON text in column 0 of res, at most limit of them; when res holds limit + 1, the cursor
 * encodes tag and columns 1..nkeys (at most 3) of the last row shown. */
void reply_page(dux_req_t *r, const char *member, const PGresult *res, int64_t limit,
		const char *tag, int nkeys);

/* ---- cache.c: recent answers of GET /services, for store.search_cache_ms */

void cache_init(int64_t ttl_ms); /* 0: nothing is kept */
void cache_free(void);
/* The generation to give cache_put: read before the database is asked. */
uint64_t cache_generation(void);
/* This process changed the catalogue: no answer kept so far is served again. */
void cache_changed(void);
/* A copy of a fresh answer kept for key (caller frees with free()); false when none. */
bool cache_get(const char *key, char **ret_body, size_t *ret_len);
/* Keeps a copy of body for key, unless the catalogue changed since gen or it is too large. */
void cache_put(const char *key, uint64_t gen, const char *body, size_t len);

/* ---- search.c: GET /services (the query, from the index or as SQL, and its cursor) */
void api_services_search(dux_req_t *r, void *app);
/* A change of the catalogue committed through this copy: the cache forgets its answers and
 * the search index takes the change in (index_feed.c), so that the next search shows it. */
void search_changed(store_t *s);

/* ---- usage.c: escrow.released events into paid calls and total_calls */

/* Starts the subscriber to the escrow's events when store.escrow_url is set. */
int usage_start(store_t *s);
void usage_stop(store_t *s);

/* ---- routes */
void api_service_publish(dux_req_t *r, void *app);  /* POST /services */
void api_service_update(dux_req_t *r, void *app);   /* PUT /services/{id} */
void api_service_delist(dux_req_t *r, void *app);   /* DELETE /services/{id} */
void api_service_get(dux_req_t *r, void *app);      /* GET /services/{id} */
void api_service_versions(dux_req_t *r, void *app); /* GET /services/{id}/versions */
void api_reviews_list(dux_req_t *r, void *app);     /* GET /services/{id}/reviews */
void api_review_post(dux_req_t *r, void *app);      /* POST /services/{id}/reviews */

/* ---- web.c: the web pages (web/), compiled in */
void api_web_index(dux_req_t *r, void *app); /* GET / */
void api_web_asset(dux_req_t *r, void *app); /* GET /ui/{file} */

#endif
