/* bus_sub.c - subscribers: ZeroMQ for speed, the publisher's event log for completeness.
 * The cursor row and the event's effect commit together, so each event applies exactly once. */
#include <dux/bus.h>
#include <dux/client.h>
#include <dux/json.h>
#include <dux/log.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define BACKFILL_PAGE 500

struct dux_sub {
	dux_db_t *db;
	char *source, *endpoint, *base_url;
	char *bearer; /* for the publisher's GET /v1/events; NULL = none */
	char **topics; /* NULL-terminated copy, or NULL for all */
	int poll_ms;
	dux_sub_apply_fn apply;
	void *ctx;
	void *zctx, *zsock;
	dux_client_t *http;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_llong cursor; /* -1 until loaded */
	atomic_bool stuck;   /* the publisher's log no longer reaches the cursor */
	dux_metric_t *stuck_gauge;
};

static bool wanted(const dux_sub_t *s, const char *type)
{
	if (!s->topics)
		return true;
	for (char **t = s->topics; *t; t++)
		if (strncmp(type, *t, strlen(*t)) == 0)
			return true;
	return false;
}

typedef struct {
	dux_sub_t *s;
	const dux_event_t *ev;
} apply_ctx_t;

static int apply_tx(dux_db_conn_t *c, void *arg)
{
	apply_ctx_t *a = arg;
	char seq[24], prev[24];
	snprintf(seq, sizeof seq, "%lld", (long long)a->ev->seq);
	snprintf(prev, sizeof prev, "%lld", (long long)(a->ev->seq - 1));
	const char *p[] = {a->s->source, seq, a->ev->id, prev};
	PGresult *res;
	int r = dux_db_execp(c, "dux_sub_advance",
			     "UPDATE bus_cursor SET seq = $2::bigint, event_id = $3, updated_at = now()"
			     " WHERE source = $1 AND seq = $4::bigint",
			     4, p, &res);
	if (r < 0)
		return r;
	bool advanced = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!advanced)
		return DUX_ECONFLICT; /* another copy applied it, or we are out of step */
	return wanted(a->s, a->ev->type) ? a->s->apply(c, a->ev, a->s->ctx) : 0;
}

/* Applies ev if it is the next one; returns 1 when applied, 0 when old, < 0 on gap/error. */
static int apply_one(dux_sub_t *s, const dux_event_t *ev)
{
	int64_t cur = atomic_load(&s->cursor);
	if (cur < 0)
		return DUX_EUNAVAIL; /* not loaded: the main loop loads it first */
	if (ev->seq <= cur)
		return 0;
	if (ev->seq != cur + 1)
		return DUX_ENOENT;
	apply_ctx_t a = {s, ev};
	int r = dux_db_tx(s->db, NULL, apply_tx, &a);
	if (r == 0)
		atomic_store(&s->cursor, ev->seq);
	else
		atomic_store(&s->cursor, -1); /* reload: someone else may have moved it */
	return r < 0 ? r : 1;
}

static int load_cursor_tx(dux_db_conn_t *c, void *arg)
{
	dux_sub_t *s = arg;
	const char *p[] = {s->source};
	PGresult *res;
	int r = dux_db_exec(c,
			    "INSERT INTO bus_cursor (source, seq) VALUES ($1, 0)"
			    " ON CONFLICT (source) DO NOTHING",
			    1, p, NULL);
	if (r == 0)
		r = dux_db_exec(c, "SELECT seq FROM bus_cursor WHERE source = $1", 1, p, &res);
	if (r < 0)
		return r;
	atomic_store(&s->cursor, dux_db_i64(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Whether the publisher's log still reaches the cursor: not when the events after it were
 * pruned (the subscriber was down longer than the publisher's bus.retention), nor when the log
 * ends before it (the publisher's database was reset). Said once per change, loudly: such a
 * subscriber applies nothing more until an operator decides. */
static void check_reach(dux_sub_t *s, const cJSON *page)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(page, "first_seq");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(page, "last_seq");
	int64_t cur = atomic_load(&s->cursor);
	if (!cJSON_IsNumber(f) || !cJSON_IsNumber(l) || cur < 0)
		return;
	int64_t first = (int64_t)f->valuedouble, last = (int64_t)l->valuedouble;
	const char *why = last < cur ? "its event log ends before this subscriber's cursor: was"
				       " its database reset?"
			  : first > cur + 1 ? "the events after this subscriber's cursor were pruned"
					      " (it was behind by more than the publisher's"
					      " bus.retention)"
					    : NULL;
	bool was = atomic_exchange(&s->stuck, why != NULL);
	dux_metric_set(s->stuck_gauge, why != NULL);
	if (why && !was)
		dux_error("events of %s cannot be followed: cursor %lld, the publisher keeps %lld to"
			  " %lld: %s",
			  s->source, (long long)cur, (long long)first, (long long)last, why);
	else if (!why && was)
		dux_info("events of %s can be followed again from %lld", s->source, (long long)cur);
}

/* Fetches and applies everything after the cursor; returns < 0 when the publisher or the
 * database could not be reached. */
static int backfill(dux_sub_t *s)
{
	for (;;) {
		if (atomic_load(&s->cursor) < 0)
			return DUX_EUNAVAIL;
		char path[96];
		snprintf(path, sizeof path, "/v1/events?after=%lld&limit=%d",
			 (long long)atomic_load(&s->cursor), BACKFILL_PAGE);
		dux_client_resp_t resp;
		int r = dux_client_do(s->http, "GET", path, NULL, NULL, 0, &resp);
		if (r < 0)
			return r;
		const cJSON *events = cJSON_GetObjectItemCaseSensitive(resp.json, "events");
		int n = cJSON_IsArray(events) ? cJSON_GetArraySize(events) : -1;
		if (resp.status != 200 || n < 0) {
			dux_client_resp_clear(&resp);
			return DUX_EPROTO;
		}
		check_reach(s, resp.json);
		for (const cJSON *e = events->child; e && r >= 0; e = e->next) {
			char *txt = cJSON_PrintUnformatted(e);
			dux_event_t ev;
			r = txt ? dux_event_parse(txt, strlen(txt), &ev) : DUX_ENOMEM;
			free(txt);
			if (r < 0)
				break;
			r = strcmp(ev.source, s->source) == 0 ? apply_one(s, &ev) : DUX_EPROTO;
			dux_event_clear(&ev);
		}
		dux_client_resp_clear(&resp);
		if (r < 0)
			return r;
		if (n < BACKFILL_PAGE)
			return 0;
	}
}

static void on_message(dux_sub_t *s)
{
	char topic[DUX_EVENT_TYPE_MAX + 1];
	int tn = zmq_recv(s->zsock, topic, sizeof topic - 1, ZMQ_DONTWAIT);
	int more = 0;
	size_t ml = sizeof more;
	zmq_getsockopt(s->zsock, ZMQ_RCVMORE, &more, &ml);
	if (tn < 0 || !more)
		return;
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, s->zsock, ZMQ_DONTWAIT) >= 0) {
		dux_event_t ev;
		if (dux_event_parse(zmq_msg_data(&msg), zmq_msg_size(&msg), &ev) == 0) {
			if (strcmp(ev.source, s->source) == 0 && apply_one(s, &ev) == DUX_ENOENT)
				(void)backfill(s); /* a gap: ZeroMQ dropped something */
			dux_event_clear(&ev);
		}
	}
	zmq_msg_close(&msg);
}

static void *sub_main(void *arg)
{
	dux_sub_t *s = arg;
	int64_t next_backfill = 0;
	while (!atomic_load(&s->stop)) {
		if (!dux_db_ready(s->db) ||
		    (atomic_load(&s->cursor) < 0 && dux_db_tx(s->db, NULL, load_cursor_tx, s) < 0)) {
			zmq_pollitem_t none = {s->zsock, 0, 0, 0};
			zmq_poll(&none, 0, 500); /* nothing to do until the database is back */
			continue;
		}
		int64_t now = dux_now_us();
		if (now >= next_backfill) {
			(void)backfill(s);
			next_backfill = now + (int64_t)s->poll_ms * 1000;
		}
		zmq_pollitem_t it = {s->zsock, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&it, 1, 250) > 0 && (it.revents & ZMQ_POLLIN))
			on_message(s);
	}
	return NULL;
}

static int sub_sockets(dux_sub_t *s)
{
	s->zctx = zmq_ctx_new();
	s->zsock = s->zctx ? zmq_socket(s->zctx, ZMQ_SUB) : NULL;
	if (!s->zsock)
		return DUX_EIO;
	int64_t maxsize = DUX_EVENT_MAX_BYTES;
	int linger = 0;
	zmq_setsockopt(s->zsock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
	zmq_setsockopt(s->zsock, ZMQ_LINGER, &linger, sizeof linger);
	/* Every type: a filtered stream would look like gaps in seq. */
	if (zmq_setsockopt(s->zsock, ZMQ_SUBSCRIBE, "", 0) != 0 ||
	    zmq_connect(s->zsock, s->endpoint) != 0)
		return DUX_EINVAL;
	dux_client_opts_t co = {
		.base_url = s->base_url, .timeout_ms = 5000, .retries = 1, .bearer = s->bearer};
	return dux_client_new(&co, &s->http);
}

static int copy_topics(dux_sub_t *s, const char *const *topics)
{
	if (!topics)
		return 0;
	size_t n = 0;
	while (topics[n])
		n++;
	s->topics = calloc(n + 1, sizeof *s->topics);
	if (!s->topics)
		return DUX_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(s->topics[i] = strdup(topics[i])))
			return DUX_ENOMEM;
	return 0;
}

int dux_sub_start(dux_db_t *db, const dux_sub_opts_t *o, dux_sub_t **ret)
{
	dux_sub_t *s = calloc(1, sizeof *s);
	if (!s)
		return DUX_ENOMEM;
	s->db = db;
	s->apply = o->apply;
	s->ctx = o->ctx;
	s->stuck_gauge = o->stuck;
	s->poll_ms = o->poll_ms > 0 ? o->poll_ms : 5000;
	atomic_store(&s->cursor, -1);
	s->source = strdup(o->source);
	s->endpoint = strdup(o->endpoint);
	s->base_url = strdup(o->base_url);
	s->bearer = o->bearer ? strdup(o->bearer) : NULL;
	bool copied = s->source && s->endpoint && s->base_url && (s->bearer || !o->bearer);
	int r = copied ? copy_topics(s, o->topics) : DUX_ENOMEM;
	if (r == 0)
		r = sub_sockets(s);
	if (r == 0 && pthread_create(&s->thread, NULL, sub_main, s) != 0)
		r = DUX_EIO;
	s->started = r == 0;
	if (r < 0) {
		dux_sub_stop(s);
		return r;
	}
	*ret = s;
	return 0;
}

int64_t dux_sub_cursor(dux_sub_t *s)
{
	return atomic_load(&s->cursor);
}

bool dux_sub_stuck(dux_sub_t *s)
{
	return atomic_load(&s->stuck);
}

dux_sub_t *dux_sub_stop(dux_sub_t *s)
{
	if (!s)
		return NULL;
	atomic_store(&s->stop, true);
	if (s->started)
		pthread_join(s->thread, NULL);
	if (s->zsock)
		zmq_close(s->zsock);
	if (s->zctx)
		zmq_ctx_term(s->zctx);
	dux_client_free(s->http);
	for (char **t = s->topics; t && *t; t++)
		free(*t);
	free(s->topics);
	free(s->source);
	free(s->endpoint);
	free(s->base_url);
	free(s->bearer);
	free(s);
	return NULL;
}
