/* fake_tasks_events.c - a stand-in for duxos-tasks' event log in the airdrop's tests, until
 * the task engine exists: a daemon on libduxcommon's own skeleton and bus, named duxos-tasks,
 * whose one route records the event the test gives it in its outbox (scratch schema
 * fake_tasks). The skeleton's relay publishes it on ZeroMQ and serves it at GET /v1/events, so
 * a subscriber of it runs the real subscription path (live, gaps, backfill).
 *
 *   POST /fake/events {"type": "task.succeeded", "subject": "tsk_...", "data": {...}}  -> 201
 *
 * The data is taken as given (the tests also send malformed events on purpose). */
#include <dux/bus.h>
#include <dux/daemon.h>
#include <string.h>

typedef struct {
	const char *type, *subject;
	const cJSON *data;
} emit_ctx_t;

static dux_daemon_t *daemon_of;

static int emit_tx(dux_db_conn_t *c, void *arg)
{
	emit_ctx_t *x = arg;
	return dux_outbox_emit(c, x->type, x->subject, x->data);
}

static void post_event(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"type", "subject", "data", NULL};
	(void)app;
	dux_verr_t e;
	emit_ctx_t x = {0};
	cJSON *body = dux_req_json(r, allowed);
	if (!body)
		return;
	int rc = dux_json_str(body, "type", true, 3, 63, &x.type, &e);
	if (rc == 0)
		rc = dux_json_str(body, "subject", false, 1, 255, &x.subject, &e);
	x.data = cJSON_GetObjectItemCaseSensitive(body, "data");
	if (rc == 0 && !cJSON_IsObject(x.data))
		rc = dux_verr_set(&e, "data", "must be an object");
	if (rc < 0)
		dux_reply_verr(r, &e);
	else if ((rc = dux_db_tx(dux_daemon_db(daemon_of), NULL, emit_tx, &x)) < 0)
		dux_reply_err(r, rc, "the outbox");
	else
		dux_reply_json(r, 201, cJSON_CreateObject());
	cJSON_Delete(body);
}

static int start(dux_daemon_t *d, void *app)
{
	(void)app;
	daemon_of = d;
	return 0;
}

int main(int argc, char **argv)
{
	static const dux_blob_t no_migrations[] = {{NULL, NULL, 0}};
	static const dux_route_t routes[] = {
		{"POST", "/fake/events", post_event, DUX_ROUTE_BODY | DUX_ROUTE_DB, 0},
	};
	const dux_daemon_spec_t spec = {
		.name = "duxos-tasks",
		.summary = "Test double: publishes the task events a test gives it.",
		.schema = "fake_tasks",
		.default_port = 0,
		.default_bus = "tcp://127.0.0.1:7105",
		.migrations = no_migrations,
		.routes = routes,
		.nroutes = 1,
		.start = start,
	};
	return dux_daemon_main(argc, argv, &spec);
}
