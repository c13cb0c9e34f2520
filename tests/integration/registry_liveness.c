/* registry_liveness.c - the health monitor, events on ZeroMQ, two copies of the daemon on one
 * database (one runs the background jobs, the other takes over after kill -9), and the
 * command line. */
#include "registry_util.h"
#include <dux/bus.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>

static th_pg_t pg;
static const char *fast_monitor = "registry:\n  heartbeat_timeout: 5\n  monitor_interval: 1\n";

static int setup(void **state)
{
	(void)state;
	return th_pg_newdb(&pg) ? 0 : -1;
}

static const char *status_of(const char *url, const char *id, char *buf, size_t len)
{
	char path[80];
	cJSON *node = NULL;
	snprintf(path, sizeof path, "/v1/nodes/%s", id);
	buf[0] = '\0';
	if (get_json(url, path, &node) == 200)
		snprintf(buf, len, "%s", cJSON_GetObjectItem(node, "status")->valuestring);
	cJSON_Delete(node);
	return buf;
}

/* Counts events of type about subject in the daemon's event log. */
static int events_about(const char *url, const char *type, const char *subject)
{
	cJSON *page = NULL, *e;
	int n = 0;
	if (get_json(url, "/v1/events?limit=1000", &page) != 200)
		return -1;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(page, "events"))
	{
		const cJSON *s = cJSON_GetObjectItem(e, "subject");
		if (s && strcmp(s->valuestring, subject) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "type")->valuestring, type) == 0)
			n++;
	}
	cJSON_Delete(page);
	return n;
}

static bool wait_events(const char *url, const char *type, const char *subject, int want)
{
	for (int i = 0; i < 200; i++) {
		if (events_about(url, type, subject) == want)
			return true;
		usleep(50000);
	}
	return false;
}

static void silent_node_goes_offline_and_comes_back(void **state)
{
	(void)state;
	th_daemon_t d;
	th_node_t quiet, chatty;
	char st[16];
	assert_true(th_daemon_start(&d, "duxos-registry", &pg, fast_monitor, true));
	assert_true(th_node_new(&quiet) && th_node_new(&chatty));
	assert_int_equal(reg_node(d.url, &quiet, "[\"task_execution\"]"), 201);
	assert_int_equal(reg_node(d.url, &chatty, "[\"task_execution\"]"), 201);
	/* chatty keeps reporting; quiet says nothing for longer than the 5 s timeout */
	for (int i = 0; i < 16 && strcmp(status_of(d.url, quiet.id, st, sizeof st), "offline"); i++) {
		assert_int_equal(heartbeat(d.url, &chatty, 0), 200);
		usleep(500000);
	}
	assert_string_equal(status_of(d.url, quiet.id, st, sizeof st), "offline");
	assert_string_equal(status_of(d.url, chatty.id, st, sizeof st), "online");
	assert_true(wait_events(d.url, "node.offline", quiet.id, 1));
	assert_int_equal(events_about(d.url, "node.offline", chatty.id), 0);

	/* a heartbeat brings it back, with one node.online event */
	assert_int_equal(heartbeat(d.url, &quiet, 0), 200);
	assert_string_equal(status_of(d.url, quiet.id, st, sizeof st), "online");
	assert_true(wait_events(d.url, "node.online", quiet.id, 1));
	assert_int_equal(heartbeat(d.url, &quiet, 0), 200);
	usleep(300000);
	assert_int_equal(events_about(d.url, "node.online", quiet.id), 1);
	assert_int_equal(th_daemon_stop(&d), 0);
	th_node_free(&quiet);
	th_node_free(&chatty);
}

static void events_arrive_on_zeromq(void **state)
{
	(void)state;
	th_daemon_t d;
	th_node_t n;
	assert_true(th_daemon_start(&d, "duxos-registry", &pg, NULL, true));
	void *ctx = zmq_ctx_new(), *sub = zmq_socket(ctx, ZMQ_SUB);
	int timeout = 5000;
	assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "node.", 5), 0);
	assert_int_equal(zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout), 0);
	assert_int_equal(zmq_connect(sub, d.bus), 0);
	usleep(300000); /* the slow joiner: let the subscription reach the publisher */
	assert_true(th_node_new(&n));
	assert_int_equal(reg_node(d.url, &n, "[\"api_hosting\"]"), 201);
	bool seen = false;
	for (int i = 0; i < 20 && !seen; i++) {
		char topic[64], env[65536];
		int tn = zmq_recv(sub, topic, sizeof topic - 1, 0);
		assert_true(tn > 0);
		topic[tn] = '\0';
		int en = zmq_recv(sub, env, sizeof env - 1, 0);
		assert_true(en > 0 && en < (int)sizeof env - 1);
		dux_event_t ev;
		assert_int_equal(dux_event_parse(env, (size_t)en, &ev), 0);
		assert_string_equal(ev.type, topic);
		assert_string_equal(ev.source, "duxos-registry");
		seen = strcmp(ev.subject, n.id) == 0 && strcmp(ev.type, "node.registered") == 0;
		if (seen)
			assert_string_equal(cJSON_GetObjectItem(ev.data, "node_id")->valuestring, n.id);
		dux_event_clear(&ev);
	}
	assert_true(seen);
	zmq_close(sub);
	zmq_ctx_term(ctx);
	assert_int_equal(th_daemon_stop(&d), 0);
	th_node_free(&n);
}

static void two_copies_share_the_work(void **state)
{
	(void)state;
	th_daemon_t a, b;
	th_node_t n1, n2, n3;
	assert_true(th_daemon_start(&a, "duxos-registry", &pg, fast_monitor, true));
	assert_true(th_daemon_start(&b, "duxos-registry", &pg, fast_monitor, true));
	assert_true(th_node_new(&n1) && th_node_new(&n2) && th_node_new(&n3));
	assert_int_equal(reg_node(a.url, &n1, "[\"api_hosting\"]"), 201);
	assert_int_equal(reg_node(b.url, &n2, "[\"api_hosting\"]"), 201);
	/* either copy answers for any node, and each event is published once */
	char st[16];
	assert_string_equal(status_of(b.url, n1.id, st, sizeof st), "online");
	/* b may answer from its read cache for up to registry.read_cache_ms (1 s): a change made
	 * through a shows there within that, and at once through a itself */
	assert_int_equal(heartbeat(a.url, &n1, 0), 200);
	cJSON *node = NULL;
	char path[80];
	snprintf(path, sizeof path, "/v1/nodes/%s", n1.id);
	assert_int_equal(get_json(a.url, path, &node), 200);
	assert_int_equal(cJSON_GetObjectItem(node, "uptime")->valueint, 1234);
	cJSON_Delete(node);
	bool seen = false;
	for (int i = 0; i < 40 && !seen; i++) {
		assert_int_equal(get_json(b.url, path, &node), 200);
		seen = cJSON_GetObjectItem(node, "uptime")->valueint == 1234;
		cJSON_Delete(node);
		if (!seen)
			usleep(100000);
	}
	assert_true(seen);
	assert_true(wait_events(a.url, "node.registered", n1.id, 1));
	assert_true(wait_events(b.url, "node.registered", n2.id, 1));
	/* kill -9 one copy: the other keeps serving and relaying (whichever held the lock) */
	th_daemon_kill(&a);
	assert_int_equal(reg_node(b.url, &n3, "[\"api_hosting\"]"), 201);
	assert_true(wait_events(b.url, "node.registered", n3.id, 1));
	cJSON *page = NULL, *e;
	assert_int_equal(get_json(b.url, "/v1/events?limit=1000", &page), 200);
	int64_t expect = 1;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(page, "events"))
		assert_int_equal((int64_t)cJSON_GetObjectItem(e, "seq")->valuedouble, expect++);
	cJSON_Delete(page);
	assert_int_equal(th_daemon_stop(&b), 0);
	th_node_free(&n1);
	th_node_free(&n2);
	th_node_free(&n3);
}

/* Runs the registry binary with args; returns the exit status and its output in out. */
static int run_cli(const char *args, char *out, size_t len)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s/duxos-registry %s 2>&1", DUX_BIN_DIR, args);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, len - 1, p) : 0;
	out[n] = '\0';
	int st = p ? pclose(p) : -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void command_line(void **state)
{
	(void)state;
	char out[8192], path[64];
	assert_int_equal(run_cli("--version", out, sizeof out), 0);
	assert_non_null(strstr(out, "duxos-registry"));
	assert_int_equal(run_cli("--help", out, sizeof out), 0);
	assert_non_null(strstr(out, "--check-config"));
	assert_int_equal(run_cli("--bogus", out, sizeof out), 2);
	assert_int_equal(run_cli("--print-defaults", out, sizeof out), 0);
	assert_non_null(strstr(out, "heartbeat_timeout: 90"));

	snprintf(path, sizeof path, "/tmp/duxos-test-cfg-%d.yaml", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs("http:\n  port: 8101\nregistry:\n  heartbeat_timeout: 90\n  colour: red\n", f);
	fclose(f);
	char args[128];
	snprintf(args, sizeof args, "--check-config --config %s", path);
	assert_int_equal(run_cli(args, out, sizeof out), 78);
	char want[128];
	snprintf(want, sizeof want, "%s:5: registry.colour: unknown key", path);
	assert_non_null(strstr(out, want));

	f = fopen(path, "w");
	fputs("http:\n  port: http\n", f);
	fclose(f);
	assert_int_equal(run_cli(args, out, sizeof out), 78);
	snprintf(want, sizeof want, "%s:2: http.port: expected an integer", path);
	assert_non_null(strstr(out, want));

	/* env overrides the file, and secrets never print */
	f = fopen(path, "w");
	fputs("db:\n  password: hunter2\n", f);
	fclose(f);
	snprintf(args, sizeof args, "--check-config --config %s", path);
	setenv("DUXOS_HTTP_PORT", "9999", 1);
	assert_int_equal(run_cli(args, out, sizeof out), 0);
	unsetenv("DUXOS_HTTP_PORT");
	assert_non_null(strstr(out, "port: 9999"));
	assert_null(strstr(out, "hunter2"));
	unlink(path);
}

/* Reads one datagram from fd within 10 s into buf; false on timeout. */
static bool notify_recv(int fd, char *buf, size_t len)
{
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t n = recv(fd, buf, len - 1, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void tells_systemd_ready_and_stopping(void **state)
{
	(void)state;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "/tmp/duxos-notify-%d", (int)getpid());
	unlink(a.sun_path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	th_daemon_t d;
	bool started = th_daemon_start(&d, "duxos-registry", &pg, NULL, false);
	unsetenv("NOTIFY_SOCKET");
	assert_true(started);
	char msg[256];
	assert_true(notify_recv(fd, msg, sizeof msg));
	assert_non_null(strstr(msg, "READY=1"));
	/* READY comes once the server listens */
	assert_true(th_wait_status(d.url, "/healthz", 200, 5000));
	kill(d.pid, SIGTERM);
	assert_true(notify_recv(fd, msg, sizeof msg));
	assert_non_null(strstr(msg, "STOPPING=1"));
	assert_int_equal(th_daemon_stop(&d), 0);
	close(fd);
	unlink(a.sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(command_line),
		cmocka_unit_test(tells_systemd_ready_and_stopping),
		cmocka_unit_test(events_arrive_on_zeromq),
		cmocka_unit_test(silent_node_goes_offline_and_comes_back),
		cmocka_unit_test(two_copies_share_the_work),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
