/* fake_dockerd.c - see fake_dockerd.h. Thread per connection, so that a followed logs stream
 * or a wait can block in its own thread; the attach upgrade hands its socket to a thread that
 * reads the container's stdin until end of file. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_dockerd.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_THREADS 16
#define BODY_MAX (1u << 20)

struct bytes {
	char *p;
	size_t len, cap;
};

struct fake_dockerd {
	struct MHD_Daemon *mhd;
	char dir[64], sock[128];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum fake_docker_mode mode;
	/* the one container */
	bool exists, started, exited, stdin_eof;
	int exit_code;
	unsigned stats_sent;
	struct bytes log;   /* framed, as the logs endpoint sends it */
	struct bytes stdin_; /* what came on the attach stream */
	/* records */
	char *create_body, *create_name, *delete_path;
	int n_ping, n_create, n_attach, n_start, n_logs, n_stats, n_kill, n_wait, n_inspect, n_delete;
	pthread_t threads[MAX_THREADS];
	int nthreads;
};

static void die(const char *what)
{
	fprintf(stderr, "fake_dockerd: %s: %s\n", what, strerror(errno));
	abort();
}

static void put(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(b->p = realloc(b->p, cap)))
			die("realloc");
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* One frame of the multiplexed stream: {type, 0, 0, 0, size big-endian}, payload. */
static void frame(struct bytes *b, int type, const char *p, size_t n)
{
	unsigned char h[8] = { (unsigned char)type, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
		(unsigned char)(n >> 8), (unsigned char)n };
	put(b, h, sizeof(h));
	put(b, p, n);
}

static void exit_container(struct fake_dockerd *f, int code)
{
	f->exited = true;
	f->exit_code = code;
	pthread_cond_broadcast(&f->cv);
}

/* The "process": after its stdin ended (and, for usage, a couple of stats samples went out),
 * it writes and exits as the mode says. Called with the lock held. */
static void run_container(struct fake_dockerd *f)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	while (f->stats_sent < 2 && !f->exited && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
		;
	if (f->exited || f->mode == FD_HANG || f->mode == FD_FLOOD)
		return;
	if (f->mode == FD_BAD_FRAME) {
		put(&f->log, "\x07\0\0\0\0\0\0\x02hi", 10);
		exit_container(f, 0);
		return;
	}
	/* In pieces, so that the client sees frames split across reads too. */
	for (size_t off = 0; off < f->stdin_.len; off += 1000)
		frame(&f->log, 1, f->stdin_.p + off, f->stdin_.len - off < 1000 ? f->stdin_.len - off : 1000);
	frame(&f->log, 2, "warn\n", 5);
	exit_container(f, f->mode == FD_EXIT3 ? 3 : f->mode == FD_OOM ? 137 : f->mode == FD_PIDS ? 1 : 0);
}

struct attach_arg {
	struct fake_dockerd *f;
	MHD_socket sock;
	struct MHD_UpgradeResponseHandle *urh;
};

static void *attach_thread(void *p)
{
	struct attach_arg *a = p;
	struct fake_dockerd *f = a->f;
	char buf[65536];
	ssize_t n;
	/* MHD hands the socket over non-blocking; this thread may block on it. */
	if (fcntl(a->sock, F_SETFL, fcntl(a->sock, F_GETFL) & ~O_NONBLOCK) < 0)
		die("fcntl");
	while ((n = recv(a->sock, buf, sizeof(buf), 0)) > 0) {
		pthread_mutex_lock(&f->mu);
		put(&f->stdin_, buf, (size_t)n);
		pthread_mutex_unlock(&f->mu);
	}
	pthread_mutex_lock(&f->mu);
	f->stdin_eof = true;
	if (f->started)
		run_container(f);
	pthread_mutex_unlock(&f->mu);
	MHD_upgrade_action(a->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(a);
	return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra, size_t extra_len,
	MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct fake_dockerd *f = cls;
	struct attach_arg *a = malloc(sizeof(*a));
	(void)c, (void)req_cls;
	if (!a)
		die("malloc");
	a->f = f, a->sock = sock, a->urh = urh;
	pthread_mutex_lock(&f->mu);
	if (extra_len)
		put(&f->stdin_, extra, extra_len);
	if (f->nthreads >= MAX_THREADS || pthread_create(&f->threads[f->nthreads], NULL, attach_thread, a) != 0)
		die("attach thread");
	f->nthreads++;
	pthread_mutex_unlock(&f->mu);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
		MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result json(struct MHD_Connection *c, unsigned status, const char *body)
{
	return reply(c, status, "application/json", body);
}

/* ---- the streams ---- */

struct stream_pos {
	struct fake_dockerd *f;
	size_t pos;
};

static ssize_t logs_reader(void *cls, uint64_t at, char *buf, size_t max)
{
	struct stream_pos *s = cls;
	struct fake_dockerd *f = s->f;
	ssize_t n = 0;
	(void)at;
	pthread_mutex_lock(&f->mu);
	if (f->mode == FD_FLOOD && !f->exited && f->log.len - s->pos < 65536) {
		static char xs[16384];
		memset(xs, 'x', sizeof(xs));
		frame(&f->log, 1, xs, sizeof(xs));
	}
	if (s->pos < f->log.len) {
		n = (ssize_t)(f->log.len - s->pos < max ? f->log.len - s->pos : max);
		memcpy(buf, f->log.p + s->pos, (size_t)n);
		s->pos += (size_t)n;
	} else if (f->exited || !f->started) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	}
	pthread_mutex_unlock(&f->mu);
	if (n == 0)
		usleep(2000); /* nothing yet: thread per connection, so a short sleep, not a spin */
	return n;
}

static ssize_t stats_reader(void *cls, uint64_t at, char *buf, size_t max)
{
	struct stream_pos *s = cls;
	struct fake_dockerd *f = s->f;
	ssize_t n;
	(void)at;
	usleep(10000);
	pthread_mutex_lock(&f->mu);
	if (f->exited) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else if (f->mode == FD_BAD_STATS) {
		n = snprintf(buf, max, "{\"cpu_stats\": 5}\n");
	} else {
		unsigned k = ++f->stats_sent;
		n = snprintf(buf, max,
			"{\"read\":\"2024-01-01T00:00:00Z\",\"pids_stats\":{\"current\":%u,\"limit\":64},"
			"\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":%u000000,\"usage_in_usermode\":%u000000,"
			"\"usage_in_kernelmode\":%u000000},\"system_cpu_usage\":1,\"online_cpus\":2},"
			"\"memory_stats\":{\"usage\":%u,\"max_usage\":52428800,\"limit\":536870912}}\n",
			f->mode == FD_PIDS ? 64 : 3, 3 * k, 2 * k, k, 1048576 * k);
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return n;
}

static enum MHD_Result stream(struct fake_dockerd *f, struct MHD_Connection *c, MHD_ContentReaderCallback cb,
	const char *type)
{
	struct stream_pos *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;
	enum MHD_Result ret;
	if (!s)
		die("calloc");
	s->f = f;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, cb, s, free);
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- the routes ---- */

static enum MHD_Result no_such(struct MHD_Connection *c)
{
	return json(c, MHD_HTTP_NOT_FOUND, "{\"message\":\"No such container\"}");
}

static enum MHD_Result create(struct fake_dockerd *f, struct MHD_Connection *c, const char *body)
{
	const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
	f->n_create++;
	free(f->create_body), free(f->create_name);
	f->create_body = strdup(body);
	f->create_name = name ? strdup(name) : NULL;
	if (f->mode == FD_NO_IMAGE)
		return json(c, MHD_HTTP_NOT_FOUND, "{\"message\":\"No such image: python:3.11-slim\"}");
	f->exists = true;
	if (f->mode == FD_BAD_CREATE)
		return json(c, MHD_HTTP_CREATED, "{\"Id\": 12, \"Warnings\": []}");
	if (f->mode == FD_NOT_JSON)
		return reply(c, MHD_HTTP_CREATED, "text/html", "<html>");
	return json(c, MHD_HTTP_CREATED, "{\"Id\":\"" ID "\",\"Warnings\":[]}");
}

static enum MHD_Result attach(struct fake_dockerd *f, struct MHD_Connection *c)
{
	struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, f);
	enum MHD_Result ret;
	f->n_attach++;
	MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "tcp");
	MHD_add_response_header(r, "Content-Type", "application/vnd.docker.raw-stream");
	ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result start(struct fake_dockerd *f, struct MHD_Connection *c)
{
	f->n_start++;
	f->started = true;
	return reply(c, MHD_HTTP_NO_CONTENT, "text/plain", "");
}

static enum MHD_Result kill_(struct fake_dockerd *f, struct MHD_Connection *c)
{
	f->n_kill++;
	if (f->exited)
		return json(c, MHD_HTTP_CONFLICT, "{\"message\":\"Container is not running\"}");
	exit_container(f, 137);
	return reply(c, MHD_HTTP_NO_CONTENT, "text/plain", "");
}

static enum MHD_Result wait_(struct fake_dockerd *f, struct MHD_Connection *c)
{
	char body[96];
	f->n_wait++;
	while (!f->exited)
		pthread_cond_wait(&f->cv, &f->mu);
	snprintf(body, sizeof(body), "{\"StatusCode\":%d,\"Error\":null}", f->exit_code);
	return json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result inspect(struct fake_dockerd *f, struct MHD_Connection *c)
{
	char body[512];
	f->n_inspect++;
	if (f->mode == FD_BAD_INSPECT)
		return json(c, MHD_HTTP_OK, "{\"State\": {\"Running\": \"no\"}}");
	snprintf(body, sizeof(body),
		"{\"Id\":\"" ID "\",\"Name\":\"/%s\",\"State\":{\"Status\":\"%s\",\"Running\":%s,\"Paused\":false,"
		"\"OOMKilled\":%s,\"Dead\":false,\"Pid\":0,\"ExitCode\":%d,\"Error\":\"\"}}",
		f->create_name ? f->create_name : "", f->exited ? "exited" : "running", f->exited ? "false" : "true",
		f->mode == FD_OOM ? "true" : "false", f->exit_code);
	return json(c, MHD_HTTP_OK, body);
}

/* "<id or name>/<verb>" of /containers/...: the name or the id of the one container. */
static bool ours(struct fake_dockerd *f, const char *ref, size_t len)
{
	return f->exists && ((len == strlen(ID) && strncmp(ref, ID, len) == 0) ||
		(f->create_name && len == strlen(f->create_name) && strncmp(ref, f->create_name, len) == 0));
}

static enum MHD_Result delete_(struct fake_dockerd *f, struct MHD_Connection *c, const char *path)
{
	const char *force = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "force");
	char full[256];
	f->n_delete++;
	snprintf(full, sizeof(full), "%s?force=%s", path, force ? force : "");
	free(f->delete_path);
	f->delete_path = strdup(full);
	if (!ours(f, path, strlen(path)))
		return no_such(c);
	if (!f->exited && !(force && strcmp(force, "1") == 0))
		return json(c, MHD_HTTP_CONFLICT, "{\"message\":\"You cannot remove a running container\"}");
	f->exists = false;
	if (!f->exited)
		exit_container(f, 137);
	return reply(c, MHD_HTTP_NO_CONTENT, "text/plain", "");
}

static enum MHD_Result route(struct fake_dockerd *f, struct MHD_Connection *c, const char *method, const char *url,
	const char *body)
{
	const char *rest, *slash;
	if (strncmp(url, "/v1.", 4) == 0 && (slash = strchr(url + 1, '/')))
		url = slash; /* the version prefix */
	if (strcmp(url, "/_ping") == 0)
		return f->n_ping++, reply(c, MHD_HTTP_OK, "text/plain", "OK");
	if (strcmp(url, "/containers/create") == 0 && strcmp(method, "POST") == 0)
		return create(f, c, body);
	if (strncmp(url, "/containers/", 12) != 0)
		return json(c, MHD_HTTP_NOT_FOUND, "{\"message\":\"page not found\"}");
	rest = url + 12;
	slash = strchr(rest, '/');
	if (strcmp(method, "DELETE") == 0)
		return delete_(f, c, rest);
	if (!slash || !ours(f, rest, (size_t)(slash - rest)))
		return no_such(c);
	if (strcmp(slash, "/attach") == 0)
		return attach(f, c);
	if (strcmp(slash, "/start") == 0)
		return start(f, c);
	if (strcmp(slash, "/logs") == 0)
		return f->n_logs++, stream(f, c, logs_reader, "application/vnd.docker.multiplexed-stream");
	if (strcmp(slash, "/stats") == 0)
		return f->n_stats++, stream(f, c, stats_reader, "application/json");
	if (strcmp(slash, "/kill") == 0)
		return kill_(f, c);
	if (strcmp(slash, "/wait") == 0)
		return wait_(f, c);
	if (strcmp(slash, "/json") == 0)
		return inspect(f, c);
	return json(c, MHD_HTTP_NOT_FOUND, "{\"message\":\"page not found\"}");
}

/* MHD's request cycle: the first call sets up the body buffer, the calls with data fill it,
 * the last answers. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **req)
{
	struct fake_dockerd *f = cls;
	struct bytes *b = *req;
	enum MHD_Result ret;
	(void)version;
	if (!b) {
		if (!(b = calloc(1, sizeof(*b))))
			return MHD_NO;
		put(b, "", 0);
		*req = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (b->len + *upload_size > BODY_MAX)
			return MHD_NO;
		put(b, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&f->mu);
	ret = route(f, c, method, url, b->p);
	pthread_mutex_unlock(&f->mu);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req, enum MHD_RequestTerminationCode toe)
{
	struct bytes *b = *req;
	(void)cls, (void)c, (void)toe;
	if (b)
		free(b->p);
	free(b);
	*req = NULL;
}

struct fake_dockerd *fake_dockerd_start(void)
{
	struct fake_dockerd *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	if (!f)
		die("calloc");
	snprintf(f->dir, sizeof(f->dir), "/tmp/fdk-XXXXXX");
	if (!mkdtemp(f->dir))
		die("mkdtemp");
	snprintf(f->sock, sizeof(f->sock), "%s/d.sock", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s", (int)sizeof(sa.sun_path) - 1, f->sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		listen(fd, 64) < 0)
		die("listen on the unix socket");
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE,
		0, NULL, NULL, on_request, f, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_done, f,
		MHD_OPTION_END);
	if (!f->mhd)
		die("MHD_start_daemon");
	return f;
}

static void join_threads(struct fake_dockerd *f)
{
	for (int i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	f->nthreads = 0;
}

static void forget(struct fake_dockerd *f)
{
	free(f->create_body), free(f->create_name), free(f->delete_path), free(f->log.p), free(f->stdin_.p);
	f->create_body = f->create_name = f->delete_path = NULL;
	memset(&f->log, 0, sizeof(f->log));
	memset(&f->stdin_, 0, sizeof(f->stdin_));
	f->exists = f->started = f->exited = f->stdin_eof = false;
	f->exit_code = 0;
	f->stats_sent = 0;
	f->n_ping = f->n_create = f->n_attach = f->n_start = f->n_logs = f->n_stats = 0;
	f->n_kill = f->n_wait = f->n_inspect = f->n_delete = 0;
}

void fake_dockerd_reset(struct fake_dockerd *f, enum fake_docker_mode mode)
{
	join_threads(f); /* the client closed its attach socket when its run ended */
	pthread_mutex_lock(&f->mu);
	forget(f);
	f->mode = mode;
	pthread_mutex_unlock(&f->mu);
}

void fake_dockerd_stop(struct fake_dockerd *f)
{
	if (!f)
		return;
	join_threads(f);
	MHD_stop_daemon(f->mhd);
	forget(f);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	unlink(f->sock);
	rmdir(f->dir);
	free(f);
}

const char *fake_dockerd_socket(const struct fake_dockerd *f)
{
	return f->sock;
}

int fake_dockerd_calls(struct fake_dockerd *f, const char *kind)
{
	static const char *const names[] = { "ping", "create", "attach", "start", "logs", "stats", "kill", "wait",
		"inspect", "delete" };
	int *counts[] = { &f->n_ping, &f->n_create, &f->n_attach, &f->n_start, &f->n_logs, &f->n_stats, &f->n_kill,
		&f->n_wait, &f->n_inspect, &f->n_delete };
	int n = -1;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(kind, names[i]) == 0)
			n = *counts[i];
	pthread_mutex_unlock(&f->mu);
	return n;
}

static char *copy(struct fake_dockerd *f, char *const *field)
{
	char *s;
	pthread_mutex_lock(&f->mu);
	s = *field ? strdup(*field) : NULL;
	pthread_mutex_unlock(&f->mu);
	return s;
}

char *fake_dockerd_create_body(struct fake_dockerd *f)
{
	return copy(f, &f->create_body);
}

char *fake_dockerd_create_name(struct fake_dockerd *f)
{
	return copy(f, &f->create_name);
}

char *fake_dockerd_delete_path(struct fake_dockerd *f)
{
	return copy(f, &f->delete_path);
}

char *fake_dockerd_stdin(struct fake_dockerd *f, size_t *ret_len)
{
	char *s;
	pthread_mutex_lock(&f->mu);
	s = malloc(f->stdin_.len + 1);
	if (s) {
		if (f->stdin_.len)
			memcpy(s, f->stdin_.p, f->stdin_.len);
		s[f->stdin_.len] = '\0';
		*ret_len = f->stdin_.len;
	}
	pthread_mutex_unlock(&f->mu);
	return s;
}

int fake_dockerd_container_exists(struct fake_dockerd *f)
{
	int e;
	pthread_mutex_lock(&f->mu);
	e = f->exists;
	pthread_mutex_unlock(&f->mu);
	return e;
}
