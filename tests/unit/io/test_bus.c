/* test_bus.c - events (dux_bus): envelopes, the transactional outbox, the relay to ZeroMQ, the
 * backfill route, and subscribers that apply every event exactly once.
 * Publisher and subscribers share one test database (ctest fixture `pg`), each in schemas of
 * its own: a publisher is a pool on "p_<name>" with an HTTP server for /v1/events and a bound
 * PUB socket; a subscriber is a pool on "s_<name>" with no migrations of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "harness.h"
#include "io_util.h"
#include <dux/bus.h>
#include <dux/client.h>
#include <dux/http.h>
#include <dux/log.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static th_pg_t pg;
static char password[256];
static void *zctx;

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

static dux_db_t *pool(const char *schema, int size)
{
	dux_db_opts_t o = {.conninfo = pg.conninfo,
			   .password = password,
			   .schema = schema,
			   .size = size,
			   .acquire_timeout_ms = 5000};
	dux_db_t *db = NULL;
	assert_int_equal(dux_db_open(&o, &db), 0);
	int r = dux_db_migrate(db);
	if (r != 0)
		fail_msg("migrate %s: %s", schema, dux_db_migrate_error(db));
	return db;
}

static void exec_ok(dux_db_conn_t *c, const char *sql, int n, const char *const *p)
{
	int r = dux_db_exec(c, sql, n, p, NULL);
	if (r != 0)
		fail_msg("%s: %s (%s)", sql, dux_strerror(r), dux_db_errmsg(c));
}

static void exec_db(dux_db_t *db, const char *sql)
{
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	exec_ok(c, sql, 0, NULL);
	dux_db_release(db, c);
}

static long long query_i64(dux_db_t *db, const char *sql)
{
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	PGresult *res = NULL;
	int r = dux_db_exec(c, sql, 0, NULL, &res);
	if (r != 0)
		fail_msg("%s: %s", sql, dux_db_errmsg(c));
	long long v = dux_db_i64(res, 0, 0);
	PQclear(res);
	dux_db_release(db, c);
	return v;
}

/* ---- the publisher ---- */

typedef struct {
	char source[40], schema[40];
	dux_db_t *db;
	dux_http_t *http;
	char url[64];
	void *pub;
	char endpoint[128];
	dux_db_conn_t *relay; /* the relay's own session, as a daemon's relay job has */
} pub_t;

static void h_events(dux_req_t *r, void *app)
{
	pub_t *p = app;
	dux_events_reply(r, p->db, p->source);
}

static const dux_route_t pub_routes[] = {
	{"GET", "/events", h_events, DUX_ROUTE_DB, 0},
};

static void pub_start(pub_t *p, const char *name)
{
	memset(p, 0, sizeof *p);
	snprintf(p->source, sizeof p->source, "duxos-%s", name);
	snprintf(p->schema, sizeof p->schema, "p_%s", name);
	p->db = pool(p->schema, 4);
	dux_http_opts_t o = {.service = "pub",
			     .bind = "127.0.0.1",
			     .max_body = 4096,
			     .routes = pub_routes,
			     .nroutes = 1,
			     .app = p};
	assert_int_equal(dux_http_start(&o, &p->http), 0);
	snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", dux_http_port(p->http));
	p->pub = zmq_socket(zctx, ZMQ_PUB);
	assert_non_null(p->pub);
	int linger = 0;
	zmq_setsockopt(p->pub, ZMQ_LINGER, &linger, sizeof linger);
	assert_int_equal(zmq_bind(p->pub, "tcp://127.0.0.1:*"), 0);
	size_t len = sizeof p->endpoint;
	assert_int_equal(zmq_getsockopt(p->pub, ZMQ_LAST_ENDPOINT, p->endpoint, &len), 0);
	assert_int_equal(dux_db_connect(p->db, &p->relay), 0);
}

static void pub_stop(pub_t *p)
{
	p->relay = dux_db_conn_free(p->relay);
	if (p->pub)
		zmq_close(p->pub);
	p->pub = NULL;
	p->http = dux_http_stop(p->http);
	p->db = dux_db_close(p->db);
}

static int relay(pub_t *p)
{
	int n = dux_outbox_relay_once(p->relay, p->pub, p->source);
	if (n < 0)
		fail_msg("relay: %s (%s)", dux_strerror(n), dux_db_errmsg(p->relay));
	return n;
}

typedef struct {
	const char *type;
	int first, n;
} emit_t;

/* Emits n events of one type in one transaction; data {"i": first + k}, subject "s<i>". */
static int tx_emit(dux_db_conn_t *c, void *arg)
{
	const emit_t *e = arg;
	for (int k = 0; k < e->n; k++) {
		char subject[32];
		snprintf(subject, sizeof subject, "s%d", e->first + k);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "i", e->first + k);
		int r = dux_outbox_emit(c, e->type, subject, d);
		cJSON_Delete(d);
		if (r < 0)
			return r;
	}
	return 0;
}

static void emit(pub_t *p, const char *type, int first, int n)
{
	emit_t e = {type, first, n};
	assert_int_equal(dux_db_tx(p->db, NULL, tx_emit, &e), 0);
}

/* ---- a subscriber's application ---- */

#define MAXSEQ 1100

typedef struct {
	pthread_mutex_t mu;
	int calls[MAXSEQ + 1];    /* apply calls per seq (a failed one included) */
	int64_t order[4 * MAXSEQ]; /* seqs in call order */
	int norder;
	int64_t fail_seq; /* fail the first call for this seq (after writing: must roll back) */
	bool failed;
	int errors; /* the callback's own statements that failed */
	int bad;    /* events that did not look as emitted */
	int delay_ms; /* time spent inside the transaction, to make two copies overlap */
	const char *tag;
} rec_t;

static void rec_init(rec_t *r, const char *tag)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	r->tag = tag;
}

static int on_event(dux_db_conn_t *c, const dux_event_t *ev, void *ctx)
{
	rec_t *r = ctx;
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(ev->data, "i");
	char want_subject[32];
	snprintf(want_subject, sizeof want_subject, "s%d", cJSON_IsNumber(i) ? i->valueint : -1);
	pthread_mutex_lock(&r->mu);
	bool fail = ev->seq == r->fail_seq && !r->failed;
	r->failed = r->failed || fail;
	if (ev->seq >= 1 && ev->seq <= MAXSEQ)
		r->calls[ev->seq]++;
	if (r->norder < 4 * MAXSEQ)
		r->order[r->norder++] = ev->seq;
	if (!cJSON_IsNumber(i) || strcmp(ev->subject, want_subject) != 0)
		r->bad++;
	pthread_mutex_unlock(&r->mu);
	if (r->delay_ms)
		io_sleep_ms(r->delay_ms);

	char seq[24];
	snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
	const char *p[] = {seq, ev->type, r->tag, ev->id};
	int rc = dux_db_exec(c, "INSERT INTO applied (seq, type, applied_by, event_id)"
			     " VALUES ($1::bigint, $2, $3, $4)",
			     4, p, NULL);
	if (rc < 0) {
		pthread_mutex_lock(&r->mu);
		r->errors++;
		pthread_mutex_unlock(&r->mu);
		return rc;
	}
	return fail ? DUX_EIO : 0;
}

/* A subscriber's pool: library migrations only (bus_cursor), plus the table it writes. */
static dux_db_t *sub_pool(const char *name)
{
	char schema[40];
	snprintf(schema, sizeof schema, "s_%s", name);
	dux_db_t *db = pool(schema, 2);
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	exec_ok(c,
		"CREATE TABLE IF NOT EXISTS applied (seq bigint PRIMARY KEY, type text NOT NULL,"
		" applied_by text NOT NULL, event_id text NOT NULL)",
		0, NULL);
	dux_db_release(db, c);
	return db;
}

static dux_sub_t *sub_start(dux_db_t *db, const pub_t *p, rec_t *r, int poll_ms,
			    const char *const *topics)
{
	dux_sub_opts_t o = {.source = p->source,
			    .endpoint = p->endpoint,
			    .base_url = p->url,
			    .topics = topics,
			    .poll_ms = poll_ms,
			    .apply = on_event,
			    .ctx = r};
	dux_sub_t *s = NULL;
	assert_int_equal(dux_sub_start(db, &o, &s), 0);
	return s;
}

static bool wait_cursor(dux_sub_t *s, int64_t n, int timeout_ms)
{
	int64_t deadline = io_now_ms() + timeout_ms;
	while (dux_sub_cursor(s) != n && io_now_ms() < deadline)
		io_sleep_ms(10);
	return dux_sub_cursor(s) == n;
}

static void assert_cursor(dux_sub_t *s, int64_t n)
{
	if (!wait_cursor(s, n, 15000))
		fail_msg("subscriber cursor at %lld, expected %lld", (long long)dux_sub_cursor(s),
			 (long long)n);
}

/* ---- fixture: whatever a test started is stopped here, also when it fails ---- */

typedef struct {
	pub_t p;
	dux_db_t *sdb[2];
	dux_sub_t *sub[2];
	rec_t rec[2];
	void *zsub;
	dux_client_t *client;
	dux_db_conn_t *conn;
} fx_t;

static int fx_setup(void **state)
{
	fx_t *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	rec_init(&f->rec[0], "copy1");
	rec_init(&f->rec[1], "copy2");
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *f = *state;
	for (int i = 0; i < 2; i++)
		f->sub[i] = dux_sub_stop(f->sub[i]);
	for (int i = 0; i < 2; i++) {
		f->sdb[i] = dux_db_close(f->sdb[i]);
		pthread_mutex_destroy(&f->rec[i].mu);
	}
	f->conn = dux_db_conn_free(f->conn);
	f->client = dux_client_free(f->client);
	if (f->zsub)
		zmq_close(f->zsub);
	pub_stop(&f->p);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (!th_pg_newdb(&pg) || !io_read_line(pg.password_file, password, sizeof password))
		return -1;
	zctx = zmq_ctx_new();
	return zctx ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (zctx)
		zmq_ctx_term(zctx);
	zctx = NULL;
	return 0;
}

/* ---- envelopes ---- */

static void test_event_roundtrip(void **state)
{
	(void)state;
	for (int with_subject = 0; with_subject < 2; with_subject++) {
		dux_event_t ev = {.seq = 42, .time_us = 1705321800123000LL};
		snprintf(ev.id, sizeof ev.id, "0123456789abcdef0123456789abcdef");
		snprintf(ev.source, sizeof ev.source, "duxos-registry");
		snprintf(ev.type, sizeof ev.type, "node.registered");
		if (with_subject)
			snprintf(ev.subject, sizeof ev.subject, "node/ab12");
		ev.data = cJSON_Parse(
			"{\"node\":\"ab12\",\"n\":[1,2,{\"x\":null}],\"s\":\"\\u00e9\"}");
		assert_non_null(ev.data);
		char *s = dux_event_format(&ev);
		assert_non_null(s);
		cJSON *o = cJSON_Parse(s);
		assert_string_equal(jstr(o, "specversion"), "1.0");
		assert_string_equal(jstr(o, "time"), "2024-01-15T12:30:00.123Z");
		assert_string_equal(jstr(o, "datacontenttype"), "application/json");
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "subject") != NULL, with_subject);
		cJSON_Delete(o);

		dux_event_t back;
		memset(&back, 0x5a, sizeof back);
		assert_int_equal(dux_event_parse(s, strlen(s), &back), 0);
		free(s);
		assert_string_equal(back.id, ev.id);
		assert_string_equal(back.source, ev.source);
		assert_string_equal(back.type, ev.type);
		assert_string_equal(back.subject, ev.subject);
		assert_int_equal(back.seq, 42);
		assert_int_equal(back.time_us, ev.time_us);
		assert_true(cJSON_Compare(back.data, ev.data, true));
		dux_event_clear(&back);
		assert_null(back.data);
		dux_event_clear(&ev);
	}
}

/* Replaces (or with value NULL removes) one member of a valid envelope and parses it. */
static int parse_with(const char *key, const char *value_json)
{
	cJSON *o = cJSON_Parse("{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"duxos-x\","
			       "\"type\":\"node.registered\",\"subject\":\"n1\","
			       "\"time\":\"2024-01-15T12:30:00.123Z\","
			       "\"datacontenttype\":\"application/json\",\"seq\":5,"
			       "\"data\":{\"k\":1}}");
	assert_non_null(o);
	if (key) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
		if (value_json) {
			cJSON *v = cJSON_Parse(value_json);
			assert_non_null(v);
			cJSON_AddItemToObject(o, key, v);
		}
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	dux_event_t ev = {.seq = -99};
	int r = dux_event_parse(s, strlen(s), &ev);
	free(s);
	if (r == 0)
		dux_event_clear(&ev);
	else
		assert_int_equal(ev.seq, -99); /* untouched on failure */
	return r;
}

static void test_event_rejections(void **state)
{
	(void)state;
	assert_int_equal(parse_with(NULL, NULL), 0); /* the base is valid */
	assert_int_equal(parse_with("subject", NULL), 0);
	assert_int_equal(parse_with("datacontenttype", NULL), 0);
	static const struct {
		const char *key, *value;
	} bad[] = {
		{"specversion", "\"0.3\""},
		{"specversion", "1.0"},
		{"seq", "0"},
		{"seq", "-3"},
		{"seq", "1.5"},
		{"seq", "\"5\""},
		{"seq", "null"},
		{"time", "\"yesterday\""},
		{"time", "\"2024-01-15T12:30:00\""},
		{"time", "\"2024-01-15 12:30:00Z\""},
		{"time", "\"2024-13-15T12:30:00Z\""},
		{"time", "\"2024-01-15T12:30:00.Z\""},
		{"time", "\"2024-01-15T12:30:00+01:00\""},
		{"time", "1705321800"},
		{"type", "\"Node.Registered\""},
		{"type", "\"node registered\""},
		{"type", "\"\""},
		{"id", "\"has space\""},
		{"source", "\"Duxos-X\""},
		{"datacontenttype", "\"text/plain\""},
		{"data", "[1,2]"},
		{"data", "\"text\""},
		{"data", "null"},
		{"specversion", NULL},
		{"id", NULL},
		{"source", NULL},
		{"type", NULL},
		{"time", NULL},
		{"seq", NULL},
		{"data", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = parse_with(bad[i].key, bad[i].value);
		if (r != DUX_EINVAL)
			fail_msg("%s = %s: %s, expected a refusal", bad[i].key,
				 bad[i].value ? bad[i].value : "(missing)", dux_strerror(r));
	}
	dux_event_t ev;
	assert_int_equal(dux_event_parse("[1]", 3, &ev), DUX_EINVAL);
	assert_int_equal(dux_event_parse("{\"a\":", 5, &ev), DUX_EINVAL);
}

/* ---- the outbox and the relay ---- */

static int tx_emit_then_fail(dux_db_conn_t *c, void *arg)
{
	int r = tx_emit(c, arg);
	return r < 0 ? r : DUX_ECONFLICT;
}

static void test_outbox_rollback_leaves_nothing(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "rollback");
	emit_t e = {"node.registered", 1, 3};
	assert_int_equal(dux_db_tx(p->db, NULL, tx_emit_then_fail, &e), DUX_ECONFLICT);
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM outbox"), 0);
	assert_int_equal(relay(p), 0);
	emit(p, "node.registered", 4, 2);
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM outbox"), 2);
}

/* One [type, envelope] message off a SUB socket; false when none came in time. */
static bool recv_event(void *sub, char *type, size_t tlen, dux_event_t *ev)
{
	zmq_msg_t m;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, sub, 0) < 0) {
		zmq_msg_close(&m);
		return false;
	}
	snprintf(type, tlen, "%.*s", (int)zmq_msg_size(&m), (const char *)zmq_msg_data(&m));
	bool more = zmq_msg_more(&m);
	zmq_msg_close(&m);
	if (!more)
		return false;
	zmq_msg_init(&m);
	bool ok = zmq_msg_recv(&m, sub, 0) >= 0 && !zmq_msg_more(&m) &&
		  dux_event_parse(zmq_msg_data(&m), zmq_msg_size(&m), ev) == 0;
	zmq_msg_close(&m);
	return ok;
}

static void test_relay_numbers_committed_rows(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "relay");
	void *sub = f->zsub = zmq_socket(zctx, ZMQ_SUB);
	int linger = 0, timeout = 3000;
	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
	assert_int_equal(zmq_connect(sub, p->endpoint), 0);
	io_sleep_ms(300); /* PUB drops what it sends before the subscription reaches it */

	/* a row inserted first (lowest id) but committed last */
	dux_db_conn_t *late;
	assert_int_equal(dux_db_connect(p->db, &f->conn), 0);
	late = f->conn;
	exec_ok(late, "BEGIN", 0, NULL);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "i", 99);
	assert_int_equal(dux_outbox_emit(late, "task.late", "s99", d), 0);
	cJSON_Delete(d);

	emit(p, "node.registered", 1, 3);
	assert_int_equal(relay(p), 3);
	PGresult *res = NULL; /* its own transaction sees the row, still in the outbox */
	assert_int_equal(dux_db_exec(late, "SELECT count(*) FROM outbox", 0, NULL, &res), 0);
	assert_int_equal(dux_db_i64(res, 0, 0), 1);
	PQclear(res);
	/* the committed rows moved to bus_events, numbered in the order they were written */
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM bus_events"
					  " WHERE subject <> 's' || seq"),
			 0);
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM bus_events"), 3);
	exec_ok(late, "COMMIT", 0, NULL);
	late = f->conn = dux_db_conn_free(f->conn);
	assert_int_equal(relay(p), 1);
	assert_int_equal(relay(p), 0);
	/* written first, committed last: numbered last */
	assert_int_equal(query_i64(p->db, "SELECT seq FROM bus_events WHERE type = 'task.late'"),
			 4);
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM outbox"), 0);
	assert_int_equal(query_i64(p->db, "SELECT count(DISTINCT seq) FROM bus_events"), 4);

	static const char *const types[] = {"node.registered", "node.registered", "node.registered",
					    "task.late"};
	static const char *const subjects[] = {"s1", "s2", "s3", "s99"};
	for (int i = 0; i < 4; i++) {
		char type[DUX_EVENT_TYPE_MAX + 1];
		dux_event_t ev;
		if (!recv_event(sub, type, sizeof type, &ev))
			fail_msg("message %d of 4 did not arrive as [type, envelope]", i + 1);
		assert_string_equal(type, types[i]);
		assert_string_equal(ev.type, types[i]);
		assert_int_equal(ev.seq, i + 1);
		assert_string_equal(ev.source, p->source);
		assert_string_equal(ev.subject, subjects[i]);
		dux_event_clear(&ev);
	}
	zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
	assert_int_equal(zmq_poll(&it, 1, 100), 0); /* nothing more */
}

/* ---- the backfill route ---- */

static void get_events(dux_client_t *c, const char *path, dux_client_resp_t *resp)
{
	int r = dux_client_do(c, "GET", path, NULL, NULL, 0, resp);
	if (r != 0)
		fail_msg("GET %s: %s", path, dux_client_errmsg(c));
}

/* Asserts a page: seqs first..first+n-1 and last_seq. */
static void assert_page(const dux_client_resp_t *resp, const char *source, int first, int n,
			int last)
{
	if (resp->status != 200)
		fail_msg("status %ld: %s", resp->status, resp->body);
	assert_string_equal(jstr(resp->json, "source"), source);
	assert_int_equal((int)jnum(resp->json, "last_seq"), last);
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(resp->json, "events");
	assert_true(cJSON_IsArray(events));
	assert_int_equal(cJSON_GetArraySize(events), n);
	int want = first;
	for (const cJSON *e = events->child; e; e = e->next, want++) {
		char *s = cJSON_PrintUnformatted(e);
		dux_event_t ev;
		assert_int_equal(dux_event_parse(s, strlen(s), &ev), 0);
		free(s);
		assert_int_equal(ev.seq, want);
		assert_string_equal(ev.source, source);
		dux_event_clear(&ev);
	}
}

static void test_prune_keeps_recent_and_the_newest(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "prune");
	emit(p, "node.registered", 1, 5);
	assert_int_equal(relay(p), 5);
	emit(p, "node.registered", 6, 1); /* not yet published: never pruned */
	assert_int_equal(dux_db_connect(p->db, &f->conn), 0);
	/* nothing is old enough yet */
	assert_int_equal(dux_outbox_prune(f->conn, 3600), 0);
	exec_ok(f->conn, "UPDATE bus_events SET time = now() - interval '8 days'", 0, NULL);
	exec_ok(f->conn, "UPDATE outbox SET time = now() - interval '8 days'", 0, NULL);
	/* seq 1..4 go; seq 5 stays (the newest published), the unpublished row stays */
	assert_int_equal(dux_outbox_prune(f->conn, 7 * 86400), 4);
	assert_int_equal(query_i64(p->db, "SELECT min(seq) FROM bus_events"), 5);
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM bus_events"), 1);
	assert_int_equal(query_i64(p->db, "SELECT count(*) FROM outbox"), 1);
	/* numbering goes on from the newest kept */
	assert_int_equal(relay(p), 1);
	assert_int_equal(query_i64(p->db, "SELECT max(seq) FROM bus_events"), 6);
	dux_client_resp_t resp;
	dux_client_opts_t o = {.base_url = p->url};
	assert_int_equal(dux_client_new(&o, &f->client), 0);
	get_events(f->client, "/v1/events?after=0", &resp);
	assert_int_equal((int64_t)jnum(resp.json, "first_seq"), 5);
	assert_int_equal((int64_t)jnum(resp.json, "last_seq"), 6);
	dux_client_resp_clear(&resp);
}

static void test_events_reply_paging(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "paging");
	dux_client_opts_t co = {.base_url = p->url, .timeout_ms = 5000};
	assert_int_equal(dux_client_new(&co, &f->client), 0);
	dux_client_t *c = f->client;
	dux_client_resp_t resp;

	get_events(c, "/v1/events", &resp); /* nothing yet */
	assert_page(&resp, p->source, 1, 0, 0);
	dux_client_resp_clear(&resp);

	emit(p, "node.registered", 1, 5);
	assert_int_equal(relay(p), 5);
	emit(p, "node.registered", 6, 1); /* not relayed yet: not served */

	static const struct {
		const char *path;
		int first, n;
	} pages[] = {
		{"/v1/events", 1, 5},
		{"/events", 1, 5},
		{"/v1/events?after=0&limit=2", 1, 2},
		{"/v1/events?after=2&limit=2", 3, 2},
		{"/v1/events?after=4&limit=2", 5, 1},
		{"/v1/events?after=5", 6, 0},
		{"/v1/events?after=1000", 1001, 0},
		{"/v1/events?limit=1000", 1, 5},
		{"/v1/events?limit=1", 1, 1},
	};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		get_events(c, pages[i].path, &resp);
		assert_page(&resp, p->source, pages[i].first, pages[i].n, 5);
		dux_client_resp_clear(&resp);
	}

	static const char *const bad[] = {
		"/v1/events?after=-1", "/v1/events?after=abc", "/v1/events?after=1.5",
		"/v1/events?limit=0",  "/v1/events?limit=1001", "/v1/events?limit=x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		get_events(c, bad[i], &resp);
		if (resp.status != 400)
			fail_msg("%s: status %ld", bad[i], resp.status);
		assert_string_equal(jstr(resp.json, "type"), "urn:duxos:problem:invalid-query");
		dux_client_resp_clear(&resp);
	}
}

/* ---- subscribers ---- */

/* Asserts that the callback ran exactly once for each seq in [from, to]. Subscribers are
 * stopped when this is called. */
static void assert_applied_once(const rec_t *r, int from, int to)
{
	for (int seq = from; seq <= to; seq++)
		if (r->calls[seq] != 1)
			fail_msg("seq %d applied %d times", seq, r->calls[seq]);
}

static void assert_in_order(const rec_t *r, int n)
{
	if (r->norder != n)
		fail_msg("%d apply calls, expected %d", r->norder, n);
	for (int i = 0; i < n; i++)
		if (r->order[i] != i + 1)
			fail_msg("call %d applied seq %lld", i + 1, (long long)r->order[i]);
}

static void test_sub_applies_each_event_once_in_order(void **state)
{
	fx_t *f = *state;
	enum { N = 20 };
	pub_start(&f->p, "inorder");
	dux_db_t *db = f->sdb[0] = sub_pool("inorder");
	f->sub[0] = sub_start(db, &f->p, &f->rec[0], 200, NULL);
	for (int i = 0; i < N; i += 5) { /* in a few batches, as a daemon would */
		emit(&f->p, i % 2 ? "task.done" : "node.registered", i + 1, 5);
		assert_int_equal(relay(&f->p), 5);
	}
	assert_cursor(f->sub[0], N);
	f->sub[0] = dux_sub_stop(f->sub[0]);
	assert_in_order(&f->rec[0], N);
	assert_applied_once(&f->rec[0], 1, N);
	assert_int_equal(f->rec[0].errors, 0);
	assert_int_equal(f->rec[0].bad, 0);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM applied"), N);
	assert_int_equal(query_i64(db, "SELECT max(seq) FROM applied"), N);
	assert_int_equal(query_i64(db, "SELECT seq FROM bus_cursor"), N);
	/* the cursor row remembers the last event's id, the one that was applied last */
	assert_int_equal(query_i64(db, "SELECT count(*) FROM bus_cursor c JOIN applied a"
				       " ON a.seq = c.seq AND a.event_id = c.event_id"),
			 1);
}

/* A subscriber whose cursor the publisher's log no longer reaches says so (dux_sub_stuck)
 * rather than waiting in silence: events after it pruned, or a log reset behind it. */
static void test_sub_stuck_when_log_does_not_reach(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "stuck");
	emit(p, "node.registered", 1, 5);
	assert_int_equal(relay(p), 5);
	dux_db_conn_t *c;
	assert_int_equal(dux_db_connect(p->db, &c), 0);
	exec_ok(c, "UPDATE bus_events SET time = now() - interval '8 days'", 0, NULL);
	assert_int_equal(dux_outbox_prune(c, 7 * 86400), 4); /* 1..4 gone, 5 kept */
	c = dux_db_conn_free(c);

	dux_db_t *db = f->sdb[0] = sub_pool("stuck");
	f->sub[0] = sub_start(db, p, &f->rec[0], 100, NULL);
	int64_t deadline = io_now_ms() + 10000;
	while (!dux_sub_stuck(f->sub[0]) && io_now_ms() < deadline)
		io_sleep_ms(20);
	assert_true(dux_sub_stuck(f->sub[0]));
	assert_int_equal(dux_sub_cursor(f->sub[0]), 0); /* nothing applied past the hole */
	f->sub[0] = dux_sub_stop(f->sub[0]);

	/* an operator moves the cursor past the hole: it follows again */
	exec_db(db, "UPDATE bus_cursor SET seq = 4");
	f->sub[0] = sub_start(db, p, &f->rec[0], 100, NULL);
	assert_cursor(f->sub[0], 5);
	assert_false(dux_sub_stuck(f->sub[0]));
	f->sub[0] = dux_sub_stop(f->sub[0]);

	/* a cursor beyond the publisher's log (its database reset) */
	exec_db(db, "UPDATE bus_cursor SET seq = 100");
	f->sub[0] = sub_start(db, p, &f->rec[0], 100, NULL);
	deadline = io_now_ms() + 10000;
	while (!dux_sub_stuck(f->sub[0]) && io_now_ms() < deadline)
		io_sleep_ms(20);
	assert_true(dux_sub_stuck(f->sub[0]));
	f->sub[0] = dux_sub_stop(f->sub[0]);
}

static void test_sub_catches_up_by_backfill(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "catchup");
	dux_db_t *db = f->sdb[0] = sub_pool("catchup");
	f->sub[0] = sub_start(db, p, &f->rec[0], 200, NULL);
	emit(p, "node.registered", 1, 5);
	assert_int_equal(relay(p), 5);
	assert_cursor(f->sub[0], 5);
	f->sub[0] = dux_sub_stop(f->sub[0]);

	/* while it is down: published on ZeroMQ to nobody */
	emit(p, "node.registered", 6, 4);
	assert_int_equal(relay(p), 4);
	emit(p, "node.updated", 10, 3);
	assert_int_equal(relay(p), 3);

	/* back up with a poll interval far beyond the test: only its start-up backfill can help */
	f->sub[0] = sub_start(db, p, &f->rec[0], 600000, NULL);
	assert_cursor(f->sub[0], 12);
	f->sub[0] = dux_sub_stop(f->sub[0]);
	assert_in_order(&f->rec[0], 12);
	assert_applied_once(&f->rec[0], 1, 12);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM applied"), 12);
}

/* More missed events than one relay pass (500) and one backfill page (500) hold. */
static void test_sub_backfills_several_pages(void **state)
{
	fx_t *f = *state;
	enum { N = 1001 };
	pub_t *p = &f->p;
	pub_start(p, "pages");
	emit(p, "node.registered", 1, N);
	assert_int_equal(relay(p), 500);
	assert_int_equal(relay(p), 500);
	assert_int_equal(relay(p), 1);
	dux_db_t *db = f->sdb[0] = sub_pool("pages");
	f->sub[0] = sub_start(db, p, &f->rec[0], 600000, NULL);
	assert_cursor(f->sub[0], N);
	f->sub[0] = dux_sub_stop(f->sub[0]);
	assert_in_order(&f->rec[0], N);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM applied"), N);
}

static void test_sub_retries_failed_apply(void **state)
{
	fx_t *f = *state;
	enum { N = 8 };
	pub_start(&f->p, "retry");
	dux_db_t *db = f->sdb[0] = sub_pool("retry");
	rec_t *r = &f->rec[0];
	r->fail_seq = 3;
	f->sub[0] = sub_start(db, &f->p, r, 200, NULL);
	emit(&f->p, "node.registered", 1, N);
	assert_int_equal(relay(&f->p), N);
	assert_cursor(f->sub[0], N);
	f->sub[0] = dux_sub_stop(f->sub[0]);
	assert_true(r->failed);
	assert_int_equal(r->calls[3], 2); /* the failed call and its retry */
	r->calls[3] = 1;
	assert_applied_once(r, 1, N);
	assert_int_equal(r->errors, 0);
	/* the failed call's write was rolled back with its cursor move: one row per event */
	assert_int_equal(query_i64(db, "SELECT count(*) FROM applied"), N);
	assert_int_equal(query_i64(db, "SELECT count(DISTINCT seq) FROM applied"), N);
}

static void test_sub_topics_skip_without_call(void **state)
{
	fx_t *f = *state;
	pub_t *p = &f->p;
	pub_start(p, "topics");
	dux_db_t *db = f->sdb[0] = sub_pool("topics");
	static const char *const topics[] = {"node.", NULL};
	f->sub[0] = sub_start(db, p, &f->rec[0], 200, topics);
	emit(p, "node.registered", 1, 2); /* seq 1, 2 */
	emit(p, "task.done", 3, 2);       /* seq 3, 4: skipped */
	emit(p, "node.updated", 5, 1);    /* seq 5 */
	assert_int_equal(relay(p), 5);
	assert_cursor(f->sub[0], 5); /* the cursor passes skipped events too */
	f->sub[0] = dux_sub_stop(f->sub[0]);
	const rec_t *r = &f->rec[0];
	assert_int_equal(r->norder, 3);
	assert_int_equal(r->order[0], 1);
	assert_int_equal(r->order[1], 2);
	assert_int_equal(r->order[2], 5);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM applied WHERE type LIKE 'node.%'"), 3);
	assert_int_equal(query_i64(db, "SELECT count(*) FROM applied"), 3);
}

static void test_two_subs_one_cursor_no_double_apply(void **state)
{
	fx_t *f = *state;
	enum { N = 40 };
	pub_t *p = &f->p;
	pub_start(p, "twocopies");
	for (int i = 0; i < 2; i++) { /* two copies of one daemon: same schema, same cursor row */
		f->sdb[i] = sub_pool("twocopies");
		f->rec[i].delay_ms = 2;
		f->sub[i] = sub_start(f->sdb[i], p, &f->rec[i], 200, NULL);
	}
	io_sleep_ms(300); /* both on ZeroMQ, so that they race for the same events */
	for (int i = 0; i < N; i += 10) {
		emit(p, "node.registered", i + 1, 10);
		assert_int_equal(relay(p), 10);
	}
	assert_cursor(f->sub[0], N);
	assert_cursor(f->sub[1], N);
	for (int i = 0; i < 2; i++)
		f->sub[i] = dux_sub_stop(f->sub[i]);
	const rec_t *r1 = &f->rec[0], *r2 = &f->rec[1];
	assert_int_equal(r1->errors + r2->errors, 0); /* no duplicate key: nothing applied twice */
	for (int seq = 1; seq <= N; seq++)
		if (r1->calls[seq] + r2->calls[seq] != 1)
			fail_msg("seq %d applied %d + %d times", seq, r1->calls[seq], r2->calls[seq]);
	assert_int_equal(query_i64(f->sdb[0], "SELECT count(*) FROM applied"), N);
	assert_int_equal(query_i64(f->sdb[0], "SELECT count(*) FROM bus_cursor"), 1);
	assert_int_equal(query_i64(f->sdb[0], "SELECT seq FROM bus_cursor"), N);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	dux_log_init("unit_bus", DUX_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_roundtrip),
		T(test_prune_keeps_recent_and_the_newest),
		cmocka_unit_test(test_event_rejections),
		T(test_outbox_rollback_leaves_nothing),
		T(test_relay_numbers_committed_rows),
		T(test_events_reply_paging),
		T(test_sub_applies_each_event_once_in_order),
		T(test_sub_catches_up_by_backfill),
		T(test_sub_stuck_when_log_does_not_reach),
		T(test_sub_backfills_several_pages),
		T(test_sub_retries_failed_apply),
		T(test_sub_topics_skip_without_call),
		T(test_two_subs_one_cursor_no_double_apply),
	};
	if (getenv("UNIT_FILTER")) /* UNIT_FILTER='test_x*': only those tests */
		cmocka_set_test_filter(getenv("UNIT_FILTER"));
	return cmocka_run_group_tests_name("unit_bus", tests, group_setup, group_teardown);
}
