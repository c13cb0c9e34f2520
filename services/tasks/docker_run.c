/* docker_run.c - dux_docker_run: one container's life through the Engine API. Create (limits
 * in HostConfig), attach its stdin, start, then watch three things at once on one libcurl
 * multi handle: the followed logs (they end when the container stops), the stats stream
 * (usage), and the stdin still to send; kill at the deadline or when a stream passes the cap;
 * then read the final state and remove the container, on every path once create was sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "docker_int.h"

struct run {
	const struct dux_docker_opts *o;
	const struct dux_sandbox_spec *spec;
	char name[96];               /* chosen by us: removal works even if create's reply was bad */
	char id[DK_ID_LEN + 1];
	bool create_sent;
	struct dk_attach at;
	struct dk_demux dm;
	struct dk_stats st;
	CURLM *multi;
	CURL *logs, *stats;
	bool logs_done;
	bool killed, timed_out, output_exceeded, cancelled;
	uint64_t t0_ns, wall_ns;
	struct dk_state state;
	int rc;                      /* first failure: DUX_ENOMEM is returned, others reported */
	char why[DUX_DOCKER_WHY_MAX]; /* its detail */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Keeps the first failure: later ones are usually its consequences. */
static int failed(struct run *r, int rc, const char *why)
{
	if (r->rc == 0) {
		r->rc = rc;
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	return rc;
}

static int make_name(struct run *r)
{
	unsigned char raw[16];
	size_t n;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return failed(r, DUX_EIO, "random name: getrandom failed");
	n = (size_t)snprintf(r->name, sizeof(r->name), "%s", r->o->name_prefix);
	for (size_t i = 0; i < sizeof(raw) && n + 3 <= sizeof(r->name); i++, n += 2)
		snprintf(r->name + n, 3, "%02x", raw[i]);
	return DUX_OK;
}

/* One control call whose success is one of the listed statuses (0-terminated). */
static int call(struct run *r, const char *what, const char *method, const char *path, const char *json,
	const long *ok, struct dk_reply *ret)
{
	char why[DUX_DOCKER_WHY_MAX];
	int rc = dk_http_call(r->o, what, method, path, json, ret, why, sizeof(why));
	if (rc < 0)
		return failed(r, rc, why);
	for (; *ok; ok++)
		if (ret->status == *ok)
			return DUX_OK;
	dk_http_status_why(what, ret, why, sizeof(why));
	return failed(r, DUX_EPROTO, why);
}

static int create(struct run *r)
{
	static const long ok[] = { 201, 0 };
	struct dk_reply rep;
	char path[160];
	char *body = dk_json_create_body(r->o, r->spec);
	int rc;
	if (!body)
		return failed(r, DUX_ENOMEM, "create: out of memory");
	snprintf(path, sizeof(path), "containers/create?name=%s", r->name);
	r->create_sent = true;
	rc = call(r, "create", "POST", path, body, ok, &rep);
	if (rc == 0 && (rc = dk_json_create_reply(rep.body.data, rep.body.len, r->id)) < 0)
		failed(r, rc, "create: malformed reply");
	dux_buf_free(&rep.body);
	free(body);
	return rc;
}

static int attach(struct run *r)
{
	char why[DUX_DOCKER_WHY_MAX];
	int rc = dk_attach_open(&r->at, r->o, r->id, r->o->request_timeout_ms, why, sizeof(why));
	if (rc < 0)
		return failed(r, rc, why);
	r->at.part[0] = r->spec->code, r->at.part_len[0] = r->spec->code_len;
	r->at.part[1] = r->spec->input, r->at.part_len[1] = r->spec->input ? r->spec->input_len : 0;
	return DUX_OK;
}

/* A simple call on this container: METHOD containers/<id>/<rest>. */
static int verb(struct run *r, const char *what, const char *method, const char *rest, const long *ok,
	struct dk_reply *rep)
{
	char path[256];
	snprintf(path, sizeof(path), "containers/%s/%s", r->id, rest);
	return call(r, what, method, path, NULL, ok, rep);
}

static int start(struct run *r)
{
	static const long ok[] = { 204, 304, 0 };
	struct dk_reply rep;
	int rc = verb(r, "start", "POST", "start", ok, &rep);
	dux_buf_free(&rep.body);
	r->t0_ns = now_ns();
	return rc;
}

/* 409: it is not running any more, which is what we wanted. */
static void kill_it(struct run *r)
{
	static const long ok[] = { 204, 404, 409, 0 };
	struct dk_reply rep;
	(void)verb(r, "kill", "POST", "kill?signal=SIGKILL", ok, &rep);
	dux_buf_free(&rep.body);
	r->killed = true;
}

static size_t on_logs(char *p, size_t size, size_t n, void *arg)
{
	struct run *r = arg;
	long status = 0;
	(void)curl_easy_getinfo(r->logs, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return 0; /* an error reply is no stream: the transfer fails, and says the status */
	return dk_demux_feed(&r->dm, p, size * n) < 0 ? 0 : size * n;
}

static size_t on_stats(char *p, size_t size, size_t n, void *arg)
{
	struct run *r = arg;
	long status = 0;
	(void)curl_easy_getinfo(r->stats, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return 0;
	return dk_stats_feed(&r->st, p, size * n) < 0 ? 0 : size * n;
}

static CURL *stream(struct run *r, const char *rest, curl_write_callback cb)
{
	char path[256];
	CURL *c;
	snprintf(path, sizeof(path), "containers/%s/%s", r->id, rest);
	if (!(c = dk_http_handle(r->o, "GET", path)))
		return NULL;
	if (curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cb) != CURLE_OK ||
		curl_easy_setopt(c, CURLOPT_WRITEDATA, r) != CURLE_OK || curl_multi_add_handle(r->multi, c) != CURLM_OK) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

static int open_streams(struct run *r)
{
	if (!(r->multi = curl_multi_init()) ||
		!(r->logs = stream(r, "logs?follow=1&stdout=1&stderr=1", on_logs)) ||
		!(r->stats = stream(r, "stats?stream=1", on_stats)))
		return failed(r, DUX_ENOMEM, "streams: out of memory");
	return DUX_OK;
}

static void close_stream(struct run *r, CURL **c)
{
	if (*c) {
		(void)curl_multi_remove_handle(r->multi, *c);
		curl_easy_cleanup(*c);
	}
	*c = NULL;
}

/* What a finished transfer means: the logs' end is the container's; a failed stream makes the
 * whole run unreliable. */
static void transfer_done(struct run *r, CURL *c, CURLcode cc)
{
	bool logs = c == r->logs;
	const char *what = logs ? "logs" : "stats";
	char why[DUX_DOCKER_WHY_MAX];
	long status = 0;
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR && status == 200)
		snprintf(why, sizeof(why), "%s: malformed stream", what), failed(r, DUX_EPROTO, why);
	else if (cc == CURLE_WRITE_ERROR || (cc == CURLE_OK && status != 200))
		snprintf(why, sizeof(why), "%s: HTTP %ld", what, status), failed(r, DUX_EPROTO, why);
	else if (cc != CURLE_OK)
		failed(r, dk_http_curl_why(r->o, what, c, cc, why, sizeof(why)), why);
	else if (logs && dk_demux_partial(&r->dm))
		failed(r, DUX_EPROTO, "logs: stream ended inside a frame");
	if (logs)
		r->logs_done = true;
	else
		close_stream(r, &r->stats);
}

static void drain(struct run *r)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(r->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			transfer_done(r, m->easy_handle, m->data.result);
}

/* Sleeps in curl_multi_poll until a transfer or the stdin socket can move, or until the next
 * moment we must act (the deadline, the end of the kill grace), at most 100 ms. */
static void wait_io(struct run *r, uint64_t until)
{
	struct curl_waitfd w = { .fd = r->at.fd, .events = CURL_WAIT_POLLOUT };
	uint64_t now = now_ns();
	int ms = until > now ? (int)((until - now) / 1000000ULL) + 1 : 0;
	bool out = dk_attach_pending(&r->at);
	(void)curl_multi_poll(r->multi, out ? &w : NULL, out ? 1 : 0, ms < 100 ? ms : 100, NULL);
}

/* The stats stream ends shortly after the container; its last sample is the most complete
 * usage there is, so it gets this long after the logs ended. */
#define STATS_TAIL_NS (2000ULL * 1000000ULL)

/* Until the logs end: the container stopped (or, after a kill, the grace ran out). Then until
 * the stats stream ends too, briefly. */
static void watch(struct run *r)
{
	uint64_t deadline = r->t0_ns + (uint64_t)r->spec->timeout_ms * 1000000ULL, grace_end = 0, tail_end = 0;
	int running;
	while (r->rc == 0 && (!r->logs_done || (r->stats && now_ns() < tail_end))) {
		uint64_t now = now_ns();
		bool cancel = r->spec->cancel && atomic_load(r->spec->cancel);
		if (!r->logs_done && !r->killed &&
		    (now >= deadline || cancel || dk_demux_exceeded(&r->dm))) {
			r->output_exceeded = dk_demux_exceeded(&r->dm);
			r->cancelled = !r->output_exceeded && cancel && now < deadline;
			r->timed_out = !r->output_exceeded && !r->cancelled;
			kill_it(r);
			grace_end = now + (uint64_t)r->o->kill_grace_ms * 1000000ULL;
		}
		if (!r->logs_done && r->killed && now >= grace_end)
			break; /* the engine did not stop it: removal with force is the last word */
		dk_attach_pump(&r->at);
		if (curl_multi_perform(r->multi, &running) != CURLM_OK) {
			failed(r, DUX_ENOMEM, "streams: libcurl failed");
			break;
		}
		drain(r);
		if (r->logs_done && !tail_end) {
			r->wall_ns = now_ns() - r->t0_ns;
			tail_end = now_ns() + STATS_TAIL_NS;
		}
		if (r->rc == 0)
			wait_io(r, r->logs_done ? tail_end : r->killed ? grace_end : deadline);
	}
	if (!r->logs_done)
		r->wall_ns = now_ns() - r->t0_ns;
}

/* The final state: wait makes sure the engine recorded the exit before we inspect it. */
static int finish(struct run *r)
{
	static const long ok[] = { 200, 0 };
	struct dk_reply rep;
	int rc = verb(r, "wait", "POST", "wait", ok, &rep);
	dux_buf_free(&rep.body);
	if (rc < 0)
		return rc;
	rc = verb(r, "inspect", "GET", "json", ok, &rep);
	if (rc == 0 && (rc = dk_json_state(rep.body.data, rep.body.len, &r->state)) < 0)
		failed(r, rc, "inspect: malformed reply");
	dux_buf_free(&rep.body);
	return rc;
}

/* By name: it works whatever create answered. v=1 takes anonymous volumes (the image's). */
static int remove_it(struct run *r)
{
	static const long ok[] = { 204, 404, 0 };
	struct dk_reply rep;
	char path[160];
	int rc;
	snprintf(path, sizeof(path), "containers/%s?force=1&v=1", r->name);
	rc = call(r, "remove", "DELETE", path, NULL, ok, &rep);
	dux_buf_free(&rep.body);
	return rc;
}

static void run_steps(struct run *r)
{
	if (make_name(r) < 0 || create(r) < 0 || attach(r) < 0 || start(r) < 0 || open_streams(r) < 0)
		return;
	watch(r);
	if (r->rc == 0 && r->killed && !r->logs_done)
		return; /* still running after the grace: no state worth waiting for */
	if (r->rc == 0)
		(void)finish(r);
}

/* The reasons in the native sandbox's order (run.c, outcome). The engine reports a death by
 * signal as 128 + the signal, as a shell does, so an exit status above 128 reads as a signal. */
static void outcome(const struct run *r, struct dux_sandbox_result *res)
{
	int code = r->state.exit_code;
	bool known = r->logs_done && !r->state.running;
	if (known && code > 128 && code <= 128 + 64)
		res->signal = code - 128;
	else if (known)
		res->exited = true, res->exit_code = code;
	if (r->state.oom_killed)
		res->reason = DUX_SANDBOX_MEMORY_LIMIT;
	else if (r->output_exceeded)
		res->reason = DUX_SANDBOX_OUTPUT_LIMIT;
	else if (r->cancelled)
		res->reason = DUX_SANDBOX_CANCELLED;
	else if (r->st.pids_hit && !(res->exited && code == 0))
		res->reason = DUX_SANDBOX_PIDS_LIMIT;
	else if (r->timed_out)
		res->reason = DUX_SANDBOX_TIMEOUT;
	else if (!known || res->signal)
		res->reason = DUX_SANDBOX_SIGNALED;
	else
		res->reason = code == 0 ? DUX_SANDBOX_OK : DUX_SANDBOX_NONZERO_EXIT;
}

static void fill(struct run *r, struct dux_sandbox_result *res)
{
	const struct dk_stats *st = &r->st;
	outcome(r, res);
	if (r->rc < 0) {
		res->reason = DUX_SANDBOX_SETUP_FAILED;
		snprintf(res->detail, sizeof(res->detail), "%.*s", (int)sizeof(res->detail) - 1, r->why);
	}
	res->pids_limit_hit = st->pids_hit;
	res->cpu_user_us = (st->have_split ? st->cpu_user_ns : st->cpu_total_ns) / 1000;
	res->cpu_sys_us = (st->have_split ? st->cpu_sys_ns : 0) / 1000;
	res->peak_memory_bytes = st->peak_memory;
	res->wall_us = r->wall_ns / 1000;
	res->out = r->dm.out.buf, res->out_len = r->dm.out.len, res->out_truncated = r->dm.out.truncated;
	res->err = r->dm.err.buf, res->err_len = r->dm.err.len, res->err_truncated = r->dm.err.truncated;
	r->dm.out.buf = r->dm.err.buf = NULL;
	res->cgroup_mode = "docker";
}

/* Everything but the container, then the container. A failed removal is reported (when
 * nothing failed before it) over any outcome: never a success over something left behind. */
static void teardown(struct run *r)
{
	close_stream(r, &r->logs);
	close_stream(r, &r->stats);
	curl_multi_cleanup(r->multi);
	r->multi = NULL;
	dk_attach_close(&r->at);
	if (r->create_sent)
		(void)remove_it(r);
}

int dux_docker_run(const struct dux_docker_opts *o, const struct dux_sandbox_spec *spec,
	struct dux_sandbox_result *ret, const char **ret_why)
{
	struct dux_sandbox_result res;
	struct run *r;
	int rc = dux_sandbox_spec_check(spec, ret_why);
	if (rc < 0)
		return rc;
	if (spec->runtime == DUX_SANDBOX_EXEC) {
		if (ret_why)
			*ret_why = "runtime exec is not supported by the docker runtime";
		return DUX_EINVAL;
	}
	if (!o || !o->socket_path || !o->api_version || !o->name_prefix || !o->image_bash || !o->image_python ||
		!o->image_node || strlen(o->name_prefix) > 48 || o->tmpfs_bytes < (1u << 20)) {
		if (ret_why)
			*ret_why = "docker options incomplete (use dux_docker_opts_init)";
		return DUX_EINVAL;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return DUX_ENOMEM;
	r->o = o, r->spec = spec;
	dk_attach_init(&r->at);
	dk_stats_init(&r->st, spec->pids_max);
	memset(&res, 0, sizeof(res));
	if (dk_demux_init(&r->dm, spec->output_cap) < 0)
		failed(r, DUX_ENOMEM, "out of memory");
	else
		run_steps(r);
	teardown(r);
	rc = r->rc == DUX_ENOMEM ? DUX_ENOMEM : DUX_OK;
	if (rc == DUX_OK)
		fill(r, &res);
	dk_demux_free(&r->dm);
	dk_stats_free(&r->st);
	free(r);
	if (rc == DUX_OK)
		*ret = res;
	return rc;
}
