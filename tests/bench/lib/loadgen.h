/* loadgen.h - a closed-loop HTTP/1.1 load generator for benchmarks: C threads, each driving its
 * share of keep-alive connections with epoll, one request in flight per connection, a fixed
 * duration after a warm-up, and a latency histogram. The same generator measures the reference
 * server and the daemon, so that the two figures compare.
 *
 * Also a blocking single-connection client (lg_sync_*) for set-up calls (readiness, node
 * registration, /metrics) that reuses the same request writer and response parser. */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_REQ_MAX 4096 /* largest request a maker may write, unless lg_opts_t.req_max says */

/* Writes the next request of connection conn (0 .. conns-1) into buf, at most cap bytes
 * (LG_REQ_MAX, or lg_opts_t.req_max), and
 * returns its length, or -1 to abort the run (counted as an error). Called from the thread
 * that owns conn; calls for one connection never overlap, calls for different connections
 * may run concurrently. */
typedef int (*lg_make_fn)(void *ctx, int conn, char *buf, size_t cap);

/* When an answer completed: during the warm-up, inside the measured window, or after it (drain). */
enum { LG_WARM, LG_WINDOW, LG_LATE };

/* Optional (lg_opts_t.answer): sees every complete answer of connection conn, with the same
 * ctx as the maker, in the thread that owns conn and before the maker writes that connection's
 * next request (so a maker can send a request built from the previous answer): its status, its
 * body (len bytes, not NUL-terminated), its latency in ns and when it completed (LG_*).
 * Returns whether the answer is ok; when set it replaces the comparison with ok_status. */
typedef bool (*lg_answer_fn)(void *ctx, int conn, int status, const char *body, size_t len,
			     int64_t latency_ns, int when);

typedef struct {
	const char *host; /* IPv4 literal, e.g. "127.0.0.1" */
	int port;
	int conns;          /* keep-alive connections in all */
	int threads;        /* generator threads; connections are spread over them */
	double warmup_s;    /* requests completing before this are not counted */
	double duration_s;  /* measured window after the warm-up */
	lg_make_fn make;
	void *ctx;
	/* Called once the load has stopped, while the connections are still open (to read the
	 * server's per-connection state); may be NULL. */
	void (*before_close)(void *arg);
	void *before_close_arg;
	int ok_status;  /* the status every answer must have; 0 = 200 */
	size_t req_max; /* largest request the maker writes; 0 = LG_REQ_MAX */
	/* After the window, wait (at most 30 s) for the answers of the requests still in flight,
	 * so that every request sent has been answered and counted in all_ok (a server that
	 * commits each request can then be checked against the count); false: leave them. */
	bool drain;
	lg_answer_fn answer; /* may be NULL */
} lg_opts_t;

#define LG_HIST_BUCKETS (64 * 64)

typedef struct {
	uint64_t requests;    /* responses completed inside the measured window */
	uint64_t ok;          /* of those, status ok_status */
	uint64_t status[6];   /* of those, by class: [1] = 1xx ... [5] = 5xx; also the answers
			       * other than ok_status of the warm-up and the drain */
	uint64_t errors;      /* transport failures and malformed answers (whole run) */
	uint64_t reconnects;  /* connections the server closed (Connection: close or EOF) */
	uint64_t warm;        /* responses completed during the warm-up */
	uint64_t late;        /* responses completed after the window (drain) */
	uint64_t all_ok;      /* responses with ok_status in the whole run: warm-up, window, drain */
	int ok_status;        /* the status expected (200 unless lg_opts_t said) */
	int first_bad_status; /* first status other than ok_status seen (whole run), 0 when none */
	char first_bad_body[256];
	double elapsed_s;     /* measured window, as it actually ran */
	double cpu_s;         /* CPU time of the generator threads (whole run) */
	uint64_t hist[LG_HIST_BUCKETS]; /* latency in ns, log-linear buckets */
} lg_result_t;

/* Runs the load; 0 when the run went through (its figures may still contain non-200s or
 * errors, which the caller judges), -1 when it could not start (printed on stderr).
 * Allocates the result on success: caller frees with free(). */
int lg_run(const lg_opts_t *o, lg_result_t **ret);

/* Latency quantile (0..1) of a result, in microseconds. */
double lg_quantile_us(const lg_result_t *r, double q);
/* The same histogram for a benchmark's own latencies (e.g. per kind of request, from an
 * answer callback): add one latency in ns; a quantile (0..1) in microseconds (0 when empty). */
void lg_hist_add(uint64_t hist[LG_HIST_BUCKETS], int64_t ns);
double lg_hist_quantile_us(const uint64_t hist[LG_HIST_BUCKETS], double q);
double lg_rate(const lg_result_t *r);

/* ---- blocking client ---- */
typedef struct lg_sync lg_sync_t;

/* Connects; NULL (after printing why) on failure. */
lg_sync_t *lg_sync_open(const char *host, int port);
void lg_sync_close(lg_sync_t *s);
/* Sends one request (whole bytes: request line, headers, body) and waits for the answer.
 * Returns the status, or -1 on a transport failure. body/ret_len (may be NULL) get the
 * response body, valid until the next call. Reconnects once when the server had closed. */
int lg_sync_do(lg_sync_t *s, const char *req, size_t len, const char **body, size_t *ret_len);

/* Writes a request into buf: method, path, extra header lines (each "Name: value\r\n",
 * may be NULL), and a JSON body (may be NULL). Returns the length, -1 when it does not fit. */
int lg_format(char *buf, size_t cap, const char *method, const char *path, const char *headers,
	      const char *json_body);

#endif
