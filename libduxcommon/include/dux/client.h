/* client.h - HTTP calls to other daemons with libcurl: timeouts, retries with backoff for
 * requests that are safe to repeat, bearer auth, JSON bodies.
 * A client is used by one thread at a time. */
#ifndef DUX_CLIENT_H
#define DUX_CLIENT_H

#include <cjson/cJSON.h>
#include <dux/err.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct dux_client dux_client_t;

typedef struct {
	const char *base_url; /* "http://127.0.0.1:8101"; copied */
	long timeout_ms;      /* whole request; default 10000 */
	int retries;          /* extra attempts for GET and for requests with Idempotency-Key */
	const char *bearer;   /* token sent as Authorization: Bearer; copied; may be NULL */
} dux_client_opts_t;

typedef struct {
	long status;
	char *body;  /* owned, NUL-terminated */
	size_t len;
	cJSON *json; /* owned; NULL unless the body was JSON */
	char content_type[128];
	char retry_after[16]; /* the Retry-After header, "" when absent */
} dux_client_resp_t;

DUX_MUST_USE int dux_client_new(const dux_client_opts_t *opts, dux_client_t **ret);
dux_client_t *dux_client_free(dux_client_t *c);

/* headers: NULL-terminated "Name: value" strings, may be NULL. body may be NULL.
 * Returns DUX_EUNAVAIL when no HTTP answer came back (refused, timed out), DUX_ERANGE when the
 * answer is larger than 8 MiB (not retried), 0 with any status otherwise; ret is then filled and must be cleared with dux_client_resp_clear. */
DUX_MUST_USE int dux_client_do(dux_client_t *c, const char *method, const char *path,
			       const char *const *headers, const char *body, size_t len,
			       dux_client_resp_t *ret);
void dux_client_resp_clear(dux_client_resp_t *r);
/* The text of the last transport failure ("Connection refused"). */
const char *dux_client_errmsg(const dux_client_t *c);

/* A client per thread for one peer: each request handler thread keeps its own connection to
 * the peer. Declare one with static storage, = DUX_CLIENT_LOCAL_INIT. */
typedef struct {
	pthread_mutex_t mu;
	bool made;
	pthread_key_t key;
} dux_client_local_t;
#define DUX_CLIENT_LOCAL_INIT {PTHREAD_MUTEX_INITIALIZER, false, 0}
/* The calling thread's client of l, made from opts at the thread's first call and freed when
 * the thread ends (borrowed). NULL when out of memory. */
dux_client_t *dux_client_local(dux_client_local_t *l, const dux_client_opts_t *opts);

#endif
