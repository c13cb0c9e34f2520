/* bus.h - events: the transactional outbox, the relay that publishes it on ZeroMQ, the backfill
 * route, and subscribers that apply each event exactly once.
 *
 * A daemon writes an event with dux_outbox_emit inside the transaction that makes the change.
 * The relay (one per database, elected by advisory lock) gives committed rows consecutive
 * per-source sequence numbers and publishes CloudEvents 1.0 JSON envelopes on a PUB socket:
 * frame 1 the type (the topic), frame 2 the envelope. ZeroMQ may drop messages; subscribers
 * notice a gap in seq, or simply time passing, and fetch GET /v1/events?after=SEQ. */
#ifndef DUX_BUS_H
#define DUX_BUS_H

#include <cjson/cJSON.h>
#include <dux/db.h>
#include <dux/err.h>
#include <dux/http.h>
#include <stdint.h>

#define DUX_EVENT_TYPE_MAX 64
#define DUX_EVENT_MAX_BYTES (256 * 1024)

typedef struct {
	char id[64];
	char source[64];
	char type[DUX_EVENT_TYPE_MAX];
	char subject[256]; /* "" when absent; at most 255 bytes */
	int64_t seq;       /* >= 1, consecutive per source */
	int64_t time_us;
	cJSON *data; /* owned by the event: dux_event_clear frees it */
} dux_event_t;

/* Records an event in the caller's transaction. data is borrowed (serialised here).
 * type: lowercase dotted ("node.registered"); subject: what it is about (may be NULL). */
DUX_MUST_USE int dux_outbox_emit(dux_db_conn_t *c, const char *type, const char *subject,
				 const cJSON *data);

/* Strictly validates one envelope. On success ret->data is owned by ret. */
DUX_MUST_USE int dux_event_parse(const char *json, size_t len, dux_event_t *ret);
/* Serialises; caller frees with free(). */
char *dux_event_format(const dux_event_t *ev);
void dux_event_clear(dux_event_t *ev);

/* The relay. One call numbers what is pending, moves it from the outbox to bus_events and
 * publishes it; returns the number of events published.
 * c must hold the relay's advisory lock (see dux_daemon_job); pub is a bound ZMQ PUB socket. */
DUX_MUST_USE int dux_outbox_relay_once(dux_db_conn_t *c, void *pub, const char *source);

/* Deletes published events older than retention_s seconds, at most 10000 a call, always
 * keeping the newest one (the relay numbers on from it). Returns the number deleted.
 * A subscriber further behind than the retention can no longer catch up by backfill. */
DUX_MUST_USE int dux_outbox_prune(dux_db_conn_t *c, int64_t retention_s);

/* Handler body for GET /v1/events?after=SEQ&limit=N (limit default 100, max 1000):
 * {"source":..., "events":[envelopes...], "first_seq": oldest kept, "last_seq": highest
 * published}. */
void dux_events_reply(dux_req_t *r, dux_db_t *db, const char *source);

/* A subscriber: applies every event of one source exactly once, in seq order. */
typedef struct dux_sub dux_sub_t;
/* Called inside a transaction on c; return < 0 to roll back and try again later. Events whose
 * type matches no prefix in topics are skipped without a call (the cursor still advances). */
typedef int (*dux_sub_apply_fn)(dux_db_conn_t *c, const dux_event_t *ev, void *ctx);

typedef struct {
	const char *source;    /* the publisher's name, e.g. "duxos-registry" (cursor key) */
	const char *endpoint;  /* its PUB socket, e.g. "tcp://127.0.0.1:7101" */
	const char *base_url;  /* its HTTP base for backfill, e.g. "http://127.0.0.1:8101" */
	const char *bearer;    /* token for a publisher whose events need one (NULL = none) */
	const char *const *topics; /* type prefixes, NULL-terminated; NULL = all */
	int poll_ms;           /* backfill at least this often even without a gap (default 5000) */
	dux_sub_apply_fn apply;
	void *ctx;
	dux_metric_t *stuck; /* a gauge set to 1 while dux_sub_stuck (borrowed; NULL = none) */
} dux_sub_opts_t;

/* Starts a thread. db is borrowed; its schema needs the library's bus_cursor table (created by
 * the library migrations). Strings in opts are copied. */
DUX_MUST_USE int dux_sub_start(dux_db_t *db, const dux_sub_opts_t *opts, dux_sub_t **ret);
/* The last applied seq (for tests and /metrics). */
int64_t dux_sub_cursor(dux_sub_t *s);
/* True while the publisher's log no longer reaches the cursor: the events after it were pruned
 * (bus.retention) or the log ends before it (the publisher's database was reset). Logged as an
 * error when it starts; the subscriber applies nothing until the log reaches it again. */
bool dux_sub_stuck(dux_sub_t *s);
dux_sub_t *dux_sub_stop(dux_sub_t *s);

#endif
