/* store_subscriber.c - duxos-store's subscription to duxos-escrow (libduxcommon's dux_sub)
 * against a publisher the test controls: a ZeroMQ PUB socket and a libmicrohttpd server
 * answering GET /v1/events from the same log, so that delivery can be made to fail in each of
 * the ways the design allows. In order over ZeroMQ; duplicates; a gap, filled by backfill; one
 * escrow under two seqs; malformed events, skipped without blocking the ones after; other
 * types and other sources; an api_id that is no service; the store down (backfill on
 * restart); the publisher's HTTP down (ZeroMQ alone, then the gap filled once it is back);
 * the service token sent with every backfill; and a paid call learned this way admitting a
 * review. */
#include "store_util.h"
#include <dux/bus.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <microhttpd.h>
#include <pthread.h>
#include <unistd.h>
#include <zmq.h>

#define LOG_MAX 64
#define SOURCE "duxos-escrow"

static su_t S;
static eu_user_t P;
static char SVC[64];
static int64_t calls; /* what SVC's total_calls must be */

/* ---- the publisher */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *log_[LOG_MAX + 1]; /* envelopes by seq */
static int last_seq;
static int unauthorized, authorized;
static char want_auth[WU_HDR_MAX + 16];
static struct MHD_Daemon *http;
static int http_port, bus_port;
static void *zctx, *pub;

static enum MHD_Result events(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **state)
{
	(void)cls, (void)version, (void)data, (void)size, (void)state;
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *after_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
	const char *limit_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	unsigned status = 200;
	int w = 0;
	dux_buf_t b;
	dux_buf_init(&b, 4 << 20);
	pthread_mutex_lock(&mu);
	if (!auth || strcmp(auth, want_auth) != 0) {
		unauthorized++;
		fprintf(stderr, "unauthorized %s %s: %.40s\n", method, url, auth ? auth : "(none)");
		status = 401;
		w |= dux_buf_printf(&b, "{\"type\":\"urn:duxos:problem:unauthenticated\"}");
	} else if (strcmp(method, "GET") != 0 || strcmp(url, "/v1/events") != 0 || !after_s) {
		status = 404;
		w |= dux_buf_printf(&b, "{\"type\":\"urn:duxos:problem:not-found\"}");
	} else {
		authorized++;
		int after = atoi(after_s), limit = limit_s ? atoi(limit_s) : 100, n = 0;
		w |= dux_buf_printf(&b, "{\"source\":\"%s\",\"events\":[", SOURCE);
		for (int seq = after + 1; seq <= last_seq && n < limit; seq++, n++)
			w |= dux_buf_printf(&b, "%s%s", n ? "," : "", log_[seq]);
		w |= dux_buf_printf(&b, "],\"first_seq\":%d,\"last_seq\":%d}", last_seq ? 1 : 0,
				     last_seq);
	}
	pthread_mutex_unlock(&mu);
	if (w < 0)
		status = 500;
	struct MHD_Response *r =
		MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	dux_buf_free(&b);
	return ret;
}

static bool http_start(void)
{
	http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)http_port, NULL, NULL,
				events, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
				MHD_OPTION_END);
	return http != NULL;
}

static void http_stop(void)
{
	if (http)
		MHD_stop_daemon(http);
	http = NULL;
}

/* An envelope of type from source with data (JSON text); seq as given. */
static char *envelope(int seq, const char *type, const char *source, const char *data)
{
	dux_event_t ev = {.seq = seq, .time_us = dux_now_us(), .data = cJSON_Parse(data)};
	assert_non_null(ev.data);
	dux_random_id(ev.id);
	snprintf(ev.source, sizeof ev.source, "%s", source);
	snprintf(ev.type, sizeof ev.type, "%s", type);
	char *s = dux_event_format(&ev);
	dux_event_clear(&ev);
	assert_non_null(s);
	return s;
}

static void send_zmq(const char *type, const char *env)
{
	assert_true(zmq_send(pub, type, strlen(type), ZMQ_SNDMORE) >= 0);
	assert_true(zmq_send(pub, env, strlen(env), 0) >= 0);
}

/* Appends the next event to the log (seq last_seq + 1) and, with zmq, publishes it. */
static int emit(const char *type, const char *data, bool zmq)
{
	pthread_mutex_lock(&mu);
	int seq = ++last_seq;
	assert_true(seq <= LOG_MAX);
	log_[seq] = envelope(seq, type, SOURCE, data);
	pthread_mutex_unlock(&mu);
	if (zmq)
		send_zmq(type, log_[seq]);
	return seq;
}

/* Publishes the logged event seq again on ZeroMQ. */
static void resend(int seq)
{
	pthread_mutex_lock(&mu);
	char *env = strdup(log_[seq]);
	pthread_mutex_unlock(&mu);
	cJSON *j = cJSON_Parse(env);
	send_zmq(eu_str(j, "type"), env);
	cJSON_Delete(j);
	free(env);
}

/* The data of a release of escrow number n to api_id by owner. */
static const char *release(char buf[512], int n, const char *api_id, const char *owner)
{
	snprintf(buf, 512,
		 "{\"id\":\"esc_%032d\",\"api_id\":\"%s\",\"owner\":\"%s\",\"status\":\"released\","
		 "\"amount\":\"1.5\",\"reason\":\"released\"}",
		 n, api_id, owner);
	return buf;
}

/* ---- set-up */

static int setup(void **state)
{
	(void)state;
	char url[64], ep[64], body[SU_BODY_MAX];
	http_port = th_free_port();
	bus_port = th_free_port();
	zctx = zmq_ctx_new();
	pub = zctx ? zmq_socket(zctx, ZMQ_PUB) : NULL;
	snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bus_port);
	if (!pub || zmq_bind(pub, ep) != 0)
		return -1;
	snprintf(url, sizeof url, "http://127.0.0.1:%d", http_port);
	/* no periodic backfill: only the start and the gaps seen on ZeroMQ make the store ask */
	su_opts_t o = {.own_publisher = true, .escrow_url = url, .escrow_events = ep,
		       .events_poll_ms = 600000};
	if (!su_start(&S, &o) || !su_provider(&S, &P))
		return -1;
	/* the log answers once the token it must see is known (the store's first backfill, at
	 * its start, finds nobody and changes nothing) */
	snprintf(want_auth, sizeof want_auth, "Bearer %s", S.escrow_token);
	if (!http_start())
		return -1;
	return su_publish(&S, &P, su_body(body, "Fed", "by events", "1.0.0", P.addr, "1", NULL, NULL),
			  SVC)
		       ? 0
		       : -1;
}

static int teardown(void **state)
{
	(void)state;
	bool ok = su_finish(&S);
	http_stop();
	if (pub)
		zmq_close(pub);
	if (zctx)
		zmq_ctx_term(zctx);
	for (int i = 0; i <= LOG_MAX; i++)
		free(log_[i]);
	return ok ? 0 : -1;
}

/* ---- checks */

static int64_t cursor(void)
{
	char v[32];
	assert_true(su_sql(&S, "SELECT coalesce(max(seq), -1) FROM store.bus_cursor"
			       " WHERE source = 'duxos-escrow'",
			   v, sizeof v));
	return strtoll(v, NULL, 10);
}

static void wait_cursor(int64_t want)
{
	int64_t got = -2;
	for (int waited = 0; waited < 15000; waited += 50) {
		if ((got = cursor()) == want)
			return;
		usleep(50000);
	}
	fail_msg("the store's cursor is %lld, expected %lld", (long long)got, (long long)want);
}

/* total_calls is calls now, and stays so a while after. */
static void calls_exact(void)
{
	assert_true(su_wait_calls(&S, SVC, calls, 15000));
	usleep(300000);
	assert_true(su_total_calls(&S, SVC) == calls);
}

/* ---- the cases, in order: each continues the log of the one before */

static void in_order_over_zmq(void **state)
{
	(void)state;
	char d[512];
	for (int n = 1; n <= 3; n++, calls++)
		emit("escrow.released", release(d, n, SVC, "payer-1"), true);
	wait_cursor(3);
	calls_exact();
}

static void duplicates_count_once(void **state)
{
	(void)state;
	resend(2);
	resend(3);
	resend(1);
	calls_exact();
	assert_true(cursor() == 3);
}

static void a_gap_is_filled_by_backfill(void **state)
{
	(void)state;
	char d[512];
	emit("escrow.released", release(d, 4, SVC, "payer-2"), false);
	emit("escrow.released", release(d, 5, SVC, "payer-2"), false);
	emit("escrow.released", release(d, 6, SVC, "payer-2"), true); /* 4 and 5 never sent */
	calls += 3;
	wait_cursor(6);
	calls_exact();
}

static void one_escrow_under_two_seqs_counts_once(void **state)
{
	(void)state;
	char d[512];
	int seq = emit("escrow.released", release(d, 1, SVC, "payer-1"), true);
	wait_cursor(seq);
	calls_exact();
}

static void malformed_events_are_skipped(void **state)
{
	(void)state;
	char d[512];
	emit("escrow.released",
	     "{\"id\":\"esc_00000000000000000000000000000008\",\"api_id\":\"x\",\"status\":"
	     "\"released\",\"amount\":\"1\"}",
	     true); /* no owner */
	emit("escrow.released",
	     "{\"id\":\"esc_00000000000000000000000000000009\",\"api_id\":\"x\",\"owner\":\"o\","
	     "\"status\":\"held\",\"amount\":\"1\"}",
	     true);
	emit("escrow.released",
	     "{\"id\":\"esc_00000000000000000000000000000010\",\"api_id\":\"x\",\"owner\":\"o\","
	     "\"status\":\"released\",\"amount\":\"-1\"}",
	     true);
	emit("escrow.released",
	     "{\"id\":\"not-an-escrow\",\"api_id\":\"x\",\"owner\":\"o\","
	     "\"status\":\"released\",\"amount\":\"1\"}",
	     true);
	emit("escrow.released",
	     "{\"id\":\"esc_00000000000000000000000000000012\",\"api_id\":\"bad id!\","
	     "\"owner\":\"o\",\"status\":\"released\",\"amount\":\"1\"}",
	     true);
	/* the event after them still applies */
	int seq = emit("escrow.released", release(d, 13, SVC, "payer-3"), true);
	calls++;
	wait_cursor(seq);
	calls_exact();
	dux_client_resp_t resp;
	assert_int_equal(su_http(&S, "GET", "/metrics", NULL, NULL, NULL, &resp), 0);
	bool counted = strstr(resp.body, "store_escrow_events_skipped_total 5\n") != NULL;
	if (!counted)
		fprintf(stderr, "%s\n", resp.body);
	dux_client_resp_clear(&resp);
	assert_true(counted);
}

static void other_types_and_sources_count_nothing(void **state)
{
	(void)state;
	char d[512];
	int created = emit("escrow.created", release(d, 20, SVC, "payer-4"), true);
	wait_cursor(created);
	/* another source on the escrow's socket, with the next seq: not the escrow's event */
	char *foreign = envelope(created + 1, "escrow.released", "duxos-wallet",
				 release(d, 21, SVC, "payer-4"));
	send_zmq("escrow.released", foreign);
	free(foreign);
	calls_exact();
	assert_true(cursor() == created);
	/* payer-4's escrow was only created: no review */
	char auth[WU_HDR_MAX], path[96];
	assert_true(wu_bearer(&S.e.w, "payer-4", DUX_SCOPE_USER, auth, sizeof auth));
	snprintf(path, sizeof path, "/v1/services/%s/reviews", SVC);
	assert_true(su_check(&S, "POST", path, auth, NULL, "{\"stars\":5}", 403, "no-paid-call", NULL,
			     NULL));
}

static void an_api_id_that_is_no_service_is_recorded(void **state)
{
	(void)state;
	char d[512], v[32];
	int seq = emit("escrow.released", release(d, 30, "api.weather-v2", "payer-5"), true);
	wait_cursor(seq);
	assert_true(su_sql(&S, "SELECT api_id || ' ' || owner FROM store.calls"
			       " WHERE escrow_id = 'esc_00000000000000000000000000000030'",
			   v, sizeof v));
	assert_string_equal(v, "api.weather-v2 payer-5");
	calls_exact();
}

static void the_store_down_is_backfilled_on_restart(void **state)
{
	(void)state;
	char d[512];
	assert_int_equal(su_store_stop(&S), 0);
	int seq = 0;
	for (int n = 40; n < 43; n++, calls++)
		seq = emit("escrow.released", release(d, n, SVC, "payer-6"), true);
	assert_true(su_store_restart(&S));
	wait_cursor(seq);
	calls_exact();
}

static void the_publishers_http_down(void **state)
{
	(void)state;
	char d[512];
	http_stop();
	/* the next seq over ZeroMQ needs no backfill */
	int seq = emit("escrow.released", release(d, 50, SVC, "payer-7"), true);
	calls++;
	wait_cursor(seq);
	calls_exact();
	/* a gap cannot be filled while the log is unreachable ... */
	emit("escrow.released", release(d, 51, SVC, "payer-7"), false);
	seq = emit("escrow.released", release(d, 52, SVC, "payer-7"), true);
	usleep(1000000);
	assert_true(cursor() == seq - 2);
	assert_true(su_total_calls(&S, SVC) == calls);
	/* ... and is once it is back, at the next gap seen */
	assert_true(http_start());
	seq = emit("escrow.released", release(d, 53, SVC, "payer-7"), true);
	calls += 3;
	wait_cursor(seq);
	calls_exact();
}

static void every_backfill_carried_the_token(void **state)
{
	(void)state;
	pthread_mutex_lock(&mu);
	int bad = unauthorized, good = authorized;
	pthread_mutex_unlock(&mu);
	assert_int_equal(bad, 0);
	assert_true(good > 0);
}

static void a_call_learned_from_events_admits_a_review(void **state)
{
	(void)state;
	char auth[WU_HDR_MAX], path[96];
	assert_true(wu_bearer(&S.e.w, "payer-2", DUX_SCOPE_USER, auth, sizeof auth));
	snprintf(path, sizeof path, "/v1/services/%s/reviews", SVC);
	assert_true(su_check(&S, "POST", path, auth, NULL, "{\"stars\":4}", 201, "", NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order_over_zmq),
		cmocka_unit_test(duplicates_count_once),
		cmocka_unit_test(a_gap_is_filled_by_backfill),
		cmocka_unit_test(one_escrow_under_two_seqs_counts_once),
		cmocka_unit_test(malformed_events_are_skipped),
		cmocka_unit_test(other_types_and_sources_count_nothing),
		cmocka_unit_test(an_api_id_that_is_no_service_is_recorded),
		cmocka_unit_test(the_store_down_is_backfilled_on_restart),
		cmocka_unit_test(the_publishers_http_down),
		cmocka_unit_test(every_backfill_carried_the_token),
		cmocka_unit_test(a_call_learned_from_events_admits_a_review),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
