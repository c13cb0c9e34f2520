/* loadgen.c - see loadgen.h. */
#include "loadgen.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_MAX (8u << 20) /* largest response accepted */
#define DRAIN_NS INT64_C(30000000000) /* longest wait for the answers in flight (drain) */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- histogram: 64 linear buckets, then 64 sub-buckets per power of two (about 1.6 %) ---- */

static int hist_index(int64_t v)
{
	if (v < 64)
		return v < 0 ? 0 : (int)v;
	int msb = 63 - __builtin_clzll((unsigned long long)v);
	int sub = (int)((v >> (msb - 6)) & 63);
	int idx = 64 + (msb - 6) * 64 + sub;
	return idx < LG_HIST_BUCKETS ? idx : LG_HIST_BUCKETS - 1;
}

static double hist_value(int idx)
{
	if (idx < 64)
		return idx;
	int msb = (idx - 64) / 64 + 6, sub = (idx - 64) % 64;
	double lo = (double)((int64_t)(64 + sub) << (msb - 6));
	double width = (double)((int64_t)1 << (msb - 6));
	return lo + width / 2;
}

double lg_hist_quantile_us(const uint64_t hist[LG_HIST_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;
	for (int i = 0; i < LG_HIST_BUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (int i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return hist_value(i) / 1000.0;
	}
	return 0;
}

double lg_quantile_us(const lg_result_t *r, double q)
{
	return lg_hist_quantile_us(r->hist, q);
}

void lg_hist_add(uint64_t hist[LG_HIST_BUCKETS], int64_t ns)
{
	hist[hist_index(ns)]++;
}

double lg_rate(const lg_result_t *r)
{
	return r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0;
}

/* ---- HTTP/1.1 response parsing ---- */

typedef struct {
	int status;
	size_t total;    /* header + body bytes */
	size_t body_off; /* where the body starts */
	bool close;      /* the server will close the connection */
} resp_t;

static const char *find_header(const char *h, size_t hlen, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = h; p && p < h + hlen;) {
		const char *eol = memmem(p, (size_t)(h + hlen - p), "\r\n", 2);
		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

/* 1 when a whole response is in buf, 0 when more is needed, -1 when it is malformed. */
static int parse_response(const char *buf, size_t n, resp_t *r)
{
	const char *end = memmem(buf, n, "\r\n\r\n", 4);
	if (!end)
		return n > 65536 ? -1 : 0;
	size_t hlen = (size_t)(end - buf) + 4;
	if (hlen < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	r->status = (int)strtol(buf + 9, NULL, 10); /* "HTTP/1.1 200" */
	if (r->status < 100 || r->status > 599)
		return -1;
	const char *first_eol = memmem(buf, hlen, "\r\n", 2);
	const char *hdrs = first_eol + 2;
	size_t hsz = (size_t)(buf + hlen - hdrs);
	const char *te = find_header(hdrs, hsz, "Transfer-Encoding");
	if (te && strncasecmp(te, "chunked", 7) == 0)
		return -1; /* never sent by libmicrohttpd for buffer responses */
	const char *cl = find_header(hdrs, hsz, "Content-Length");
	size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
	const char *conn = find_header(hdrs, hsz, "Connection");
	r->close = conn && strncasecmp(conn, "close", 5) == 0;
	if (buf[7] == '0') /* HTTP/1.0 closes unless told otherwise */
		r->close = !(conn && strncasecmp(conn, "keep-alive", 10) == 0);
	if (blen > RBUF_MAX)
		return -1;
	r->body_off = hlen;
	r->total = hlen + blen;
	return n >= r->total ? 1 : 0;
}

int lg_format(char *buf, size_t cap, const char *method, const char *path, const char *headers,
	      const char *json_body)
{
	int n;
	if (json_body)
		n = snprintf(buf, cap,
			     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     method, path, headers ? headers : "", strlen(json_body), json_body);
	else
		n = snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
			     headers ? headers : "");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int tcp_connect(const char *host, int port, bool nonblock)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the load: one epoll loop per thread ---- */

typedef struct {
	int fd, idx;
	char *req; /* req_max bytes */
	size_t req_len, req_off;
	char *rbuf;
	size_t rlen, rcap;
	int64_t sent_ns;
	bool want_out;
	bool in_flight; /* a request was sent and its answer is not complete yet */
} conn_t;

typedef struct worker worker_t;
typedef struct {
	const lg_opts_t *o;
	int ok_status;
	size_t req_max;
	pthread_barrier_t ready;
	_Atomic int64_t t_warm, t_end; /* set by lg_run once every thread has connected */
	atomic_bool failed;
} run_t;

struct worker {
	run_t *run;
	pthread_t thread;
	int ep;
	conn_t *conns;
	int nconns;
	lg_result_t res;
};

static void note_bad(lg_result_t *res, int status, const char *body, size_t len)
{
	if (res->first_bad_status)
		return;
	res->first_bad_status = status;
	snprintf(res->first_bad_body, sizeof res->first_bad_body, "%.*s",
		 (int)(len < 200 ? len : 200), body);
}

static int conn_flush(worker_t *w, conn_t *c)
{
	while (c->req_off < c->req_len) {
		ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->req_off += (size_t)n;
	}
	bool want = c->req_off < c->req_len;
	if (want != c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = c};
		if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -1;
		c->want_out = want;
	}
	return 0;
}

static int conn_send_next(worker_t *w, conn_t *c)
{
	const lg_opts_t *o = w->run->o;
	int n = o->make(o->ctx, c->idx, c->req, w->run->req_max);
	if (n <= 0)
		return -1;
	c->req_len = (size_t)n;
	c->req_off = 0;
	c->sent_ns = now_ns();
	c->in_flight = true;
	return conn_flush(w, c);
}

static int conn_open(worker_t *w, conn_t *c)
{
	const lg_opts_t *o = w->run->o;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = tcp_connect(o->host, o->port, true);
	c->rlen = 0;
	c->want_out = false;
	c->in_flight = false;
	if (c->fd < 0)
		return -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void record(worker_t *w, conn_t *c, const resp_t *r, int64_t t)
{
	run_t *run = w->run;
	lg_result_t *res = &w->res;
	int when = t < atomic_load(&run->t_warm) ? LG_WARM
		   : t < atomic_load(&run->t_end) ? LG_WINDOW
						  : LG_LATE;
	bool ok = run->o->answer ? run->o->answer(run->o->ctx, c->idx, r->status,
						   c->rbuf + r->body_off, r->total - r->body_off,
						   t - c->sent_ns, when)
				 : r->status == run->ok_status;
	if (!ok)
		note_bad(res, r->status, c->rbuf + r->body_off, r->total - r->body_off);
	if (when == LG_WARM) {
		res->warm++;
		res->all_ok += ok;
		if (!ok)
			res->status[r->status / 100]++; /* a bad status anywhere spoils the run */
		return;
	}
	if (when == LG_LATE) {
		if (!run->o->drain)
			return;
		res->late++;
		res->all_ok += ok;
		if (!ok)
			res->status[r->status / 100]++;
		return;
	}
	res->requests++;
	res->all_ok += ok;
	res->status[r->status / 100]++;
	if (ok)
		res->ok++;
	res->hist[hist_index(t - c->sent_ns)]++;
}

/* Reads what is there; answers complete responses with the next request. */
static int conn_read(worker_t *w, conn_t *c)
{
	for (;;) {
		if (c->rcap - c->rlen < 4096) {
			size_t cap = c->rcap ? c->rcap * 2 : 16384;
			char *nb = cap <= RBUF_MAX ? realloc(c->rbuf, cap) : NULL;
			if (!nb)
				return -1;
			c->rbuf = nb;
			c->rcap = cap;
		}
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) { /* closed by the server with a request in flight */
			w->res.reconnects++;
			return -1;
		}
		c->rlen += (size_t)n;
		resp_t r;
		int p = parse_response(c->rbuf, c->rlen, &r);
		if (p < 0)
			return -1;
		if (p == 0)
			continue;
		int64_t t = now_ns();
		c->in_flight = false;
		record(w, c, &r, t);
		if (c->rlen != r.total)
			return -1; /* bytes nobody asked for */
		c->rlen = 0;
		if (t >= atomic_load(&w->run->t_end))
			return 0;
		if (r.close) {
			w->res.reconnects++;
			if (conn_open(w, c) < 0)
				return -1;
		}
		return conn_send_next(w, c);
	}
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the loop goes on: inside the window, or draining answers still in flight. */
static bool worker_busy(worker_t *w)
{
	run_t *run = w->run;
	int64_t now = now_ns(), end = atomic_load(&run->t_end);
	if (now < end)
		return true;
	if (!run->o->drain)
		return false;
	bool waiting = false;
	for (int i = 0; i < w->nconns && !waiting; i++)
		waiting = w->conns[i].in_flight;
	if (waiting && now >= end + DRAIN_NS) {
		/* never answered: counted, so that the run is not taken as valid */
		for (int i = 0; i < w->nconns; i++)
			w->res.errors += w->conns[i].in_flight;
		return false;
	}
	return waiting;
}

/* A connection that failed after the window while draining: closed; a request it had in
 * flight will not be answered, which counts as an error. */
static void conn_drop(worker_t *w, conn_t *c)
{
	w->res.errors += c->in_flight;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_flight = false;
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	run_t *run = w->run;
	double cpu0 = thread_cpu_s();
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < w->nconns; i++)
		if (w->ep < 0 || conn_open(w, &w->conns[i]) < 0) {
			fprintf(stderr, "loadgen: cannot connect to %s:%d: %s\n", run->o->host,
				run->o->port, strerror(errno));
			atomic_store(&run->failed, true);
			break;
		}
	pthread_barrier_wait(&run->ready); /* all connected */
	pthread_barrier_wait(&run->ready); /* times set */
	if (atomic_load(&run->failed))
		return NULL;
	for (int i = 0; i < w->nconns; i++)
		if (conn_send_next(w, &w->conns[i]) < 0)
			w->res.errors++;
	struct epoll_event evs[64];
	double busy0 = thread_cpu_s();
	w->res.cpu_s -= busy0 - cpu0; /* connecting is not load */
	while (!atomic_load(&run->failed) && worker_busy(w)) {
		int n = epoll_wait(w->ep, evs, 64, 50);
		for (int i = 0; i < n; i++) {
			conn_t *c = evs[i].data.ptr;
			int r = 0;
			if (evs[i].events & EPOLLOUT)
				r = conn_flush(w, c);
			if (r == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				r = conn_read(w, c);
			if (r < 0 && now_ns() < atomic_load(&run->t_end)) {
				/* count it, then carry on with a fresh connection */
				w->res.errors++;
				if (conn_open(w, c) < 0 || conn_send_next(w, c) < 0) {
					atomic_store(&run->failed, true);
					break;
				}
			} else if (r < 0 && run->o->drain) {
				conn_drop(w, c);
			}
		}
	}
	w->res.cpu_s += thread_cpu_s() - cpu0;
	return NULL;
}

int lg_run(const lg_opts_t *o, lg_result_t **ret)
{
	int nt = o->threads < 1 ? 1 : o->threads > o->conns ? o->conns : o->threads;
	run_t run = {.o = o, .ok_status = o->ok_status ? o->ok_status : 200,
		     .req_max = o->req_max ? o->req_max : LG_REQ_MAX};
	worker_t *ws = calloc((size_t)nt, sizeof *ws);
	conn_t *cs = calloc((size_t)o->conns, sizeof *cs);
	lg_result_t *res = calloc(1, sizeof *res);
	int rc = -1;
	if (!ws || !cs || !res)
		goto out;
	for (int i = 0; i < o->conns; i++) {
		cs[i].fd = -1;
		cs[i].idx = i;
	}
	for (int i = 0; i < o->conns; i++)
		if (!(cs[i].req = malloc(run.req_max)))
			goto out;
	res->ok_status = run.ok_status;
	atomic_store(&run.t_warm, INT64_MAX);
	atomic_store(&run.t_end, INT64_MAX);
	pthread_barrier_init(&run.ready, NULL, (unsigned)nt + 1);
	for (int t = 0, first = 0; t < nt; t++) {
		int n = o->conns / nt + (t < o->conns % nt);
		ws[t] = (worker_t){.run = &run, .conns = cs + first, .nconns = n, .ep = -1};
		first += n;
		if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]) != 0)
			abort(); /* a benchmark that cannot start its threads has nothing to say */
	}
	pthread_barrier_wait(&run.ready);
	int64_t t0 = now_ns();
	int64_t warm = t0 + (int64_t)(o->warmup_s * 1e9);
	atomic_store(&run.t_warm, warm);
	atomic_store(&run.t_end, warm + (int64_t)(o->duration_s * 1e9));
	pthread_barrier_wait(&run.ready);
	for (int t = 0; t < nt; t++)
		pthread_join(ws[t].thread, NULL);
	int64_t t_end = now_ns();
	pthread_barrier_destroy(&run.ready);
	if (o->before_close)
		o->before_close(o->before_close_arg);
	for (int t = 0; t < nt; t++) {
		const lg_result_t *w = &ws[t].res;
		res->requests += w->requests;
		res->ok += w->ok;
		for (int k = 0; k < 6; k++)
			res->status[k] += w->status[k];
		res->errors += w->errors;
		res->reconnects += w->reconnects;
		res->warm += w->warm;
		res->late += w->late;
		res->all_ok += w->all_ok;
		res->cpu_s += w->cpu_s;
		if (!res->first_bad_status && w->first_bad_status) {
			res->first_bad_status = w->first_bad_status;
			memcpy(res->first_bad_body, w->first_bad_body, sizeof res->first_bad_body);
		}
		for (int k = 0; k < LG_HIST_BUCKETS; k++)
			res->hist[k] += w->hist[k];
		if (ws[t].ep >= 0)
			close(ws[t].ep);
	}
	int64_t end = atomic_load(&run.t_end);
	res->elapsed_s = (double)((t_end < end ? t_end : end) - warm) / 1e9;
	if (!atomic_load(&run.failed)) {
		*ret = res;
		res = NULL;
		rc = 0;
	}
out:
	for (int i = 0; cs && i < o->conns; i++) {
		if (cs[i].fd >= 0)
			close(cs[i].fd);
		free(cs[i].rbuf);
		free(cs[i].req);
	}
	free(cs);
	free(ws);
	free(res);
	return rc;
}

/* ---- blocking client ---- */

struct lg_sync {
	char host[64];
	int port, fd;
	char *rbuf;
	size_t rcap;
};

static int sync_connect(lg_sync_t *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = tcp_connect(s->host, s->port, false);
	if (s->fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 30};
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return 0;
}

lg_sync_t *lg_sync_open(const char *host, int port)
{
	lg_sync_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->host, sizeof s->host, "%s", host);
	s->port = port;
	s->fd = -1;
	if (sync_connect(s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void lg_sync_close(lg_sync_t *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->rbuf);
	free(s);
}

/* One attempt: -2 when the connection turned out closed before any answer byte. */
static int sync_once(lg_sync_t *s, const char *req, size_t len, resp_t *r)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = send(s->fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -2;
		off += (size_t)n;
	}
	size_t have = 0;
	for (;;) {
		if (s->rcap - have < 4096) {
			size_t cap = s->rcap ? s->rcap * 2 : 16384;
			char *nb = cap <= RBUF_MAX ? realloc(s->rbuf, cap) : NULL;
			if (!nb)
				return -1;
			s->rbuf = nb;
			s->rcap = cap;
		}
		ssize_t n = recv(s->fd, s->rbuf + have, s->rcap - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return have == 0 && n == 0 ? -2 : -1;
		have += (size_t)n;
		int p = parse_response(s->rbuf, have, r);
		if (p < 0)
			return -1;
		if (p > 0)
			return 0;
	}
}

int lg_sync_do(lg_sync_t *s, const char *req, size_t len, const char **body, size_t *ret_len)
{
	resp_t r;
	int rc = s->fd >= 0 ? sync_once(s, req, len, &r) : -2;
	if (rc == -2 && sync_connect(s) == 0)
		rc = sync_once(s, req, len, &r);
	if (rc < 0) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return -1;
	}
	if (r.close) {
		close(s->fd);
		s->fd = -1;
	}
	if (body) {
		/* NUL-terminate for callers that read it as text */
		if (r.total >= s->rcap) {
			char *nb = realloc(s->rbuf, r.total + 1);
			if (!nb)
				return -1;
			s->rbuf = nb;
			s->rcap = r.total + 1;
		}
		s->rbuf[r.total] = '\0';
		*body = s->rbuf + r.body_off;
	}
	if (ret_len)
		*ret_len = r.total - r.body_off;
	return r.status;
}
