/* usage.c - what the store learns from duxos-escrow: every escrow.released event is a paid
 * call of the service named by its api_id, paid by its owner (the token subject that created
 * the escrow). Applied by libduxcommon's subscriber (dux_sub_start), which fetches what ZeroMQ
 * dropped from the escrow's GET /v1/events, and calls apply() inside the transaction that
 * advances the cursor: the call is recorded and total_calls raised in that transaction, so a
 * crash, a restart or a duplicate delivery can neither lose nor double-count a release.
 *
 * Besides the cursor, the escrow id is the key of the calls table: even an event delivered
 * twice under two sequence numbers (a publisher whose log was rebuilt) counts once.
 *
 * An event this code cannot use (data without the members it needs, or malformed ones) is
 * logged and skipped, never retried: returning an error would roll the cursor back and stop
 * every later event behind it for good. */
#include "store.h"
#include <dux/text.h>
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <string.h>

#define ESCROW_SOURCE "duxos-escrow"

static const char *member(const cJSON *data, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, key));
}

static bool external_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= 128 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* The release's members, or NULL (and *why) when the event cannot be used. */
static const char *read_release(const dux_event_t *ev, const char **api_id, const char **owner,
				int64_t *amount, const char **why)
{
	const char *id = member(ev->data, "id"), *status = member(ev->data, "status");
	const char *amt = member(ev->data, "amount");
	*api_id = member(ev->data, "api_id");
	*owner = member(ev->data, "owner");
	if (!id || strlen(id) != 36 || strncmp(id, "esc_", 4) != 0 ||
	    strspn(id + 4, "0123456789abcdef") != 32)
		*why = "data.id is not an escrow id";
	else if (!status || strcmp(status, "released") != 0)
		*why = "data.status is not released";
	else if (!external_id_ok(*api_id))
		*why = "data.api_id is not 1-128 of letters, digits and . _ : -";
	else if (!*owner || !**owner || strlen(*owner) > 127 || !dux_text_ok(*owner, false))
		*why = "data.owner is not a token subject";
	else if (!amt || dux_money_parse(amt, strlen(amt), false, amount) < 0 || *amount <= 0)
		*why = "data.amount is not a positive amount";
	else
		return id;
	return NULL;
}

static int apply(dux_db_conn_t *c, const dux_event_t *ev, void *ctx)
{
	store_t *s = ctx;
	const char *api_id, *owner, *why = NULL;
	int64_t amount;
	dux_metric_set(s->m_cursor, ev->seq);
	if (strcmp(ev->type, "escrow.released") != 0)
		return 0;
	const char *id = read_release(ev, &api_id, &owner, &amount, &why);
	if (!id) {
		dux_metric_add(s->m_skipped, 1);
		dux_warn("escrow event %lld (%s) skipped: %s", (long long)ev->seq, ev->id, why);
		return 0;
	}
	char units[24], at[24];
	snprintf(units, sizeof units, "%lld", (long long)amount);
	snprintf(at, sizeof at, "%lld", (long long)ev->time_us);
	const char *p[] = {id, api_id, owner, units, at};
	PGresult *res;
	int r = dux_db_execp(c, "store_call",
			     "WITH new AS (INSERT INTO calls (escrow_id, api_id, owner, amount,"
			     " released_at) VALUES ($1, $2, $3, $4::bigint, 'epoch'::timestamptz +"
			     " $5::bigint * interval '1 microsecond') ON CONFLICT (escrow_id) DO NOTHING"
			     " RETURNING api_id)"
			     " UPDATE services SET total_calls = total_calls + 1"
			     " WHERE id = (SELECT api_id FROM new) RETURNING id",
			     5, p, &res);
	if (r < 0)
		return r; /* the database: the subscriber tries again */
	dux_debug("escrow %s released: a paid call of %s by %s%s", id, api_id, owner,
		  PQntuples(res) ? "" : " (no such service yet, or counted before)");
	/* No cache_changed(): paid calls come all the time, and moving the generation for each
	 * would empty the cache of every search; total_calls in searches may lag by the TTL. */
	PQclear(res);
	return 0;
}

int usage_start(store_t *s)
{
	static const char *const topics[] = {"escrow.released", NULL};
	dux_metrics_t *m = dux_daemon_metrics(s->d);
	s->m_cursor = dux_metrics_gauge(m, "store_escrow_events_seq",
					"seq of the last escrow.released event of duxos-escrow applied", NULL);
	s->m_skipped = dux_metrics_counter(m, "store_escrow_events_skipped_total",
					   "escrow.released events skipped as unusable", NULL);
	s->m_stuck = dux_metrics_gauge(m, "store_escrow_events_stuck",
				       "1 while the escrow's event log no longer reaches the cursor"
				       " (pruned or reset): paid calls are not learned",
				       NULL);
	if (!s->m_cursor || !s->m_skipped || !s->m_stuck)
		return DUX_ENOMEM;
	if (!*s->cfg.escrow_url) {
		dux_warn("store.escrow_url is empty: no paid calls are learned, so total_calls stays"
			 " as it is and nobody new can review");
		return 0;
	}
	dux_sub_opts_t o = {
		.source = ESCROW_SOURCE,
		.endpoint = s->cfg.escrow_events,
		.base_url = s->cfg.escrow_url,
		.bearer = *s->cfg.escrow_token ? s->cfg.escrow_token : NULL,
		.topics = topics,
		.poll_ms = (int)s->cfg.events_poll_ms,
		.apply = apply,
		.ctx = s,
		.stuck = s->m_stuck,
	};
	int r = dux_sub_start(dux_daemon_db(s->d), &o, &s->sub);
	if (r < 0)
		dux_error("cannot subscribe to %s at %s: %s", ESCROW_SOURCE, s->cfg.escrow_events,
			  dux_strerror(r));
	return r;
}

void usage_stop(store_t *s)
{
	s->sub = dux_sub_stop(s->sub);
}
