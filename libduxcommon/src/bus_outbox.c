/* bus_outbox.c - the transactional outbox, its relay to ZeroMQ, and the backfill route. */
#include <dux/bus.h>
#include <dux/crypto.h>
#include <dux/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int dux_outbox_emit(dux_db_conn_t *c, const char *type, const char *subject, const cJSON *data)
{
	char id[33];
	dux_random_id(id);
	char *json = cJSON_PrintUnformatted(data);
	if (!json)
		return DUX_ENOMEM;
	const char *p[] = {id, type, subject ? subject : "", json};
	int r = dux_db_execp(c, "dux_outbox_emit",
			     "INSERT INTO outbox (event_id, type, subject, data)"
			     " VALUES ($1, $2, $3, $4::jsonb)",
			     4, p, NULL);
	free(json);
	return r;
}

#define EVENT_COLUMNS \
	"seq, event_id, type, subject, (extract(epoch FROM time) * 1000000)::bigint, data::text"

/* Builds an event from a row of EVENT_COLUMNS; data parsed from its text. */
static int event_of_row(const PGresult *res, int i, const char *source, dux_event_t *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = dux_db_i64(res, i, 0);
	snprintf(ev->id, sizeof ev->id, "%s", PQgetvalue(res, i, 1));
	snprintf(ev->source, sizeof ev->source, "%s", source);
	snprintf(ev->type, sizeof ev->type, "%s", PQgetvalue(res, i, 2));
	snprintf(ev->subject, sizeof ev->subject, "%s", PQgetvalue(res, i, 3));
	ev->time_us = dux_db_i64(res, i, 4);
	ev->data = cJSON_Parse(PQgetvalue(res, i, 5));
	return ev->data ? 0 : DUX_ENOMEM;
}

int dux_outbox_relay_once(dux_db_conn_t *c, void *pub, const char *source)
{
	PGresult *res;
	int r = dux_db_exec(
		c,
		"WITH base AS (SELECT coalesce(max(seq), 0) AS m FROM bus_events),"
		" moved AS (DELETE FROM outbox WHERE id IN"
		"          (SELECT id FROM outbox ORDER BY id LIMIT 500) RETURNING *),"
		" ins AS (INSERT INTO bus_events (seq, event_id, type, subject, time, data)"
		"         SELECT base.m + row_number() OVER (ORDER BY moved.id), event_id, type,"
		"                subject, time, data FROM moved, base RETURNING *)"
		" SELECT " EVENT_COLUMNS " FROM ins ORDER BY seq",
		0, NULL, &res);
	if (r < 0)
		return r;
	/* Committed: what ZeroMQ drops from here on, subscribers fetch by seq. */
	int n = PQntuples(res);
	for (int i = 0; i < n && pub; i++) {
		dux_event_t ev;
		if (event_of_row(res, i, source, &ev) < 0)
			continue;
		char *s = dux_event_format(&ev);
		if (s) {
			zmq_send(pub, ev.type, strlen(ev.type), ZMQ_SNDMORE | ZMQ_DONTWAIT);
			zmq_send(pub, s, strlen(s), ZMQ_DONTWAIT);
		}
		free(s);
		dux_event_clear(&ev);
	}
	PQclear(res);
	return n;
}

int dux_outbox_prune(dux_db_conn_t *c, int64_t retention_s)
{
	char ret[24];
	snprintf(ret, sizeof ret, "%lld", (long long)retention_s);
	const char *p[] = {ret};
	PGresult *res;
	int r = dux_db_exec(c,
			    "DELETE FROM bus_events WHERE seq IN (SELECT seq FROM bus_events"
			    " WHERE time < now() - $1::bigint * interval '1 second'"
			    " AND seq < (SELECT max(seq) FROM bus_events) ORDER BY seq LIMIT 10000)",
			    1, p, &res);
	if (r < 0)
		return r;
	r = (int)strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return r;
}

static int events_query(dux_db_conn_t *c, int64_t after, int64_t limit, const char *source,
			cJSON *events, int64_t ret_bounds[2])
{
	char a[24], l[24];
	snprintf(a, sizeof a, "%lld", (long long)after);
	snprintf(l, sizeof l, "%lld", (long long)limit);
	const char *p[] = {a, l};
	PGresult *res;
	int r = dux_db_execp(c, "dux_events_after",
			     "SELECT " EVENT_COLUMNS " FROM bus_events WHERE seq > $1::bigint"
			     " ORDER BY seq LIMIT $2::bigint",
			     2, p, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		dux_event_t ev;
		if (event_of_row(res, i, source, &ev) < 0) {
			r = DUX_ENOMEM;
			break;
		}
		/* as raw text: the envelope keeps every digit dux_event_format wrote */
		char *s = dux_event_format(&ev);
		cJSON *raw = s ? cJSON_CreateRaw(s) : NULL;
		free(s);
		dux_event_clear(&ev);
		if (!raw) {
			r = DUX_ENOMEM;
			break;
		}
		cJSON_AddItemToArray(events, raw);
	}
	PQclear(res);
	if (r < 0)
		return r;
	r = dux_db_execp(c, "dux_events_bounds",
			 "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM bus_events", 0, NULL,
			 &res);
	if (r < 0)
		return r;
	ret_bounds[0] = dux_db_i64(res, 0, 0);
	ret_bounds[1] = dux_db_i64(res, 0, 1);
	PQclear(res);
	return 0;
}

void dux_events_reply(dux_req_t *r, dux_db_t *db, const char *source)
{
	int64_t after, limit;
	if (!dux_req_query_i64(r, "after", 0, 0, INT64_MAX / 2, &after) ||
	    !dux_req_query_i64(r, "limit", 100, 1, 1000, &limit))
		return;
	dux_db_conn_t *c;
	int rc = dux_db_acquire(db, &c);
	if (rc < 0) {
		dux_reply_err(r, rc, "the database");
		return;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON *events = cJSON_AddArrayToObject(out, "events");
	int64_t bounds[2] = {0, 0};
	rc = events ? events_query(c, after, limit, source, events, bounds) : DUX_ENOMEM;
	dux_db_release(db, c);
	if (rc < 0) {
		cJSON_Delete(out);
		dux_reply_err(r, rc, "the event log");
		return;
	}
	cJSON_AddStringToObject(out, "source", source);
	cJSON_AddNumberToObject(out, "first_seq", (double)bounds[0]);
	cJSON_AddNumberToObject(out, "last_seq", (double)bounds[1]);
	dux_reply_json(r, 200, out);
}
