/* store_util.h - what the duxos-store integration tests share: the store on one fresh database
 * and token key with a real duxos-wallet (which says who owns a provider address) and a real
 * duxos-escrow (whose escrow.released events are the paid calls), both from escrow_util; the
 * store pointed at the wallet with a service token (sub duxos-store) and subscribed to the
 * escrow's events (or to a publisher of the test's own); restarts; providers and users with
 * accounts; publishing; paid calls through the escrow's real create and release; and SQL on
 * the test database behind the daemons' backs. */
#ifndef STORE_UTIL_H
#define STORE_UTIL_H

#include "escrow_util.h"
#include <stdbool.h>
#include <stdint.h>

#define SU_BODY_MAX 4096

typedef struct {
	const char *store_yaml; /* more lines of the "store:" section, indented by two (or NULL) */
	/* false: wallet and escrow; true: the wallet only, and the store takes the escrow's events
	 * from escrow_url and escrow_events (a publisher the test runs) */
	bool own_publisher;
	const char *escrow_url, *escrow_events;
	int events_poll_ms; /* store.events_poll_ms; 0: 300 */
} su_opts_t;

typedef struct {
	eu_t e;         /* the wallet (e.w) and, unless own_publisher, the escrow (e.d) */
	th_daemon_t d;  /* the store */
	const char *url; /* d.url */
	su_opts_t opts;
	char store_yaml[2048];
	char escrow_url[128], escrow_events[128];
	char wallet_token[WU_HDR_MAX], escrow_token[WU_HDR_MAX]; /* bare service tokens */
	char admin[WU_HDR_MAX]; /* "Authorization: Bearer ..." of an admin */
} su_t;

bool su_start(su_t *s, const su_opts_t *o);
/* The store again on the same ports and database (after su_store_stop or su_store_kill). */
bool su_store_restart(su_t *s);
int su_store_stop(su_t *s); /* SIGTERM; the exit status (0 = clean, leak-free) */
void su_store_kill(su_t *s);
/* Stops everything (the store first, each must exit 0 when stop_clean) and frees. Returns
 * false when a daemon did not exit cleanly. */
bool su_finish(su_t *s);
void su_dump_logs(const su_t *s);

int su_http(const su_t *s, const char *method, const char *path, const char *auth,
	    const char *const *extra, const char *body, dux_client_resp_t *resp);
long su_call(const su_t *s, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret);

/* One call checked: the status, the problem code ("" for none) and, when field is not NULL,
 * the problem's field. Prints the call and the answer when they differ. ret (may be NULL):
 * the JSON answer (caller frees). */
bool su_check(const su_t *s, const char *method, const char *path, const char *auth,
	      const char *const *extra, const char *body, long status, const char *problem,
	      const char *field, cJSON **ret);

/* A provider (scope provider) with one wallet account; a user (scope user) with one credited
 * with fund FLOP (NULL: none). */
bool su_provider(su_t *s, eu_user_t *p);
bool su_user(su_t *s, eu_user_t *u, const char *fund);

/* The body of a publish or a new version. tags: a JSON array ("[\"ai\"]") or NULL; more:
 * extra members (",\"rate_limit\":5") or NULL (rate_limit 100 is then added). */
const char *su_body(char buf[SU_BODY_MAX], const char *name, const char *description,
		    const char *version, const char *provider, const char *price,
		    const char *tags, const char *more);
/* POST /v1/services as p; 201 expected; the new id into id. */
bool su_publish(su_t *s, const eu_user_t *p, const char *body, char id[64]);
/* One paid call of api_id: an escrow of amount from u to provider_addr, created by u and
 * released by a service token through the escrow's real flow. */
bool su_paid_call(su_t *s, const eu_user_t *u, const char *provider_addr, const char *api_id,
		  const char *amount, char escrow_id[64]);

/* GET /v1/services/{id}: the answer (caller frees) or NULL when not 200. */
cJSON *su_service(const su_t *s, const char *id);
/* Its total_calls, -1 when unreadable. */
int64_t su_total_calls(const su_t *s, const char *id);
/* Polls until total_calls of id is want; false (after printing it) at the deadline. */
bool su_wait_calls(const su_t *s, const char *id, int64_t want, int timeout_ms);

/* The first column of the first row of sql on the test database into out ("" when no row);
 * false on any error. */
bool su_sql(const su_t *s, const char *sql, char *out, size_t len);

/* Another copy of the store on the same database and wallet (as behind one address), with
 * store_yaml as more lines of its "store:" section (or NULL). Stop it with th_daemon_stop. */
bool su_store_copy(su_t *s, th_daemon_t *copy, const char *store_yaml);
/* Polls until the search index of the store at url has taken in every change committed to
 * store.services so far (its store_search_index_seq reaches the table's highest change_seq);
 * false (after printing both) at the deadline. */
bool su_index_wait(const su_t *s, const char *url, int timeout_ms);
/* A counter or gauge of url's /metrics; -1 when absent. */
long su_metric(const char *url, const char *name);

#endif
