/* bench.h - what every benchmark program does the same way: option values, the report's
 * header, summary rows and footer, and calls to the daemon outside the measured load. */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include "loadgen.h"
#include <stdbool.h>
#include <stddef.h>

/* An integer in [min, max] / seconds in [min, 3600]; false when s is not one. */
bool bench_parse_int(const char *s, int min, int max, int *ret);
bool bench_parse_secs(const char *s, double min, double *ret);

/* "== duxos-NAME benchmark, DATE ==", the machine (CPUs, kernel, libmicrohttpd, PostgreSQL)
 * and the load average before the run. cpu gets "2 x <model>" for bench_footer. */
void bench_header(const char *daemon, char *cpu, size_t cpulen);
/* The reminder that the generator shares the CPUs with the server and PostgreSQL. */
void bench_note_shared_cpus(void);
/* The machine again, under the summary. */
void bench_footer(const char *cpu);

/* 12345 -> "12345", 123456 -> "123.5k". */
void bench_fmt_rate(double v, char *out, size_t len);
/* One row of a summary table: figure, value, reference, ratio, target, verdict. */
void bench_row(const char *fig, const char *val, const char *ref, const char *ratio,
	       const char *target, const char *verdict);

/* One blocking HTTP/1.1 call to 127.0.0.1:port (headers: "Name: value\r\n" lines or NULL, body:
 * JSON or NULL). Returns the status (-1: no answer); ret (may be NULL) gets the body,
 * NUL-terminated, for the caller to free. */
int bench_call(int port, const char *method, const char *path, const char *headers,
	       const char *body, char **ret);

/* Mean server-side latency of a route from a daemon's /metrics text, in ms; -1 when absent. */
double bench_metrics_mean_ms(const char *text, const char *method, const char *route);
/* The sum (seconds) and count of that route's latency histogram; false when absent. */
bool bench_metrics_route(const char *text, const char *method, const char *route, double *sum,
			 double *count);

/* Set-up calls in parallel, outside any measured run: fn(ctx, s, i) for i in 0 .. n-1, spread
 * over nthreads threads (at most 16), each with its own keep-alive connection s to
 * 127.0.0.1:port. fn returns false on failure after writing why into err; the first failure
 * is printed. Returns false when any call failed or a connection could not be opened;
 * ret_rate (may be NULL) gets the calls per second. */
typedef bool (*bench_call_fn)(void *ctx, lg_sync_t *s, int i, char *err, size_t errlen);
bool bench_parallel(int n, int nthreads, int port, bench_call_fn fn, void *ctx,
		    double *ret_rate);

#endif
