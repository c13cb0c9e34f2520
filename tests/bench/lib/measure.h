/* measure.h - one measured run of the load generator against a server, with what explains its
 * figure: the CPU time of the generator, the server and PostgreSQL during the run, and how
 * the load spread over the server's HTTP threads. */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H

#include "loadgen.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How to load: the generator's connections and threads, the warm-up and measured seconds, and
 * the lg_opts_t fields a benchmark may set (0 / false: their defaults). */
typedef struct {
	int conns, threads;
	double warmup, duration;
	int ok_status;
	size_t req_max;
	bool drain;
	lg_answer_fn answer; /* lg_opts_t.answer, called with the maker's ctx; may be NULL */
} bench_load_t;

typedef struct {
	lg_result_t *r;
	double rate, p50, p99, p999; /* requests/s in the window; latency in us */
	char workers[200]; /* CPU of each HTTP thread of the server (connection threads or event
			    * loops, not the listener), busiest first */
	double cpu_gen, cpu_server, cpu_pg, wall; /* CPU seconds during the run; wall seconds */
	uint64_t non_ok; /* answers other than the ok status, warm-up (and drain) included */
	bool valid;      /* no transport error, every answer ok, at least one in the window */
} bench_run_t;

/* Runs the load against 127.0.0.1:port. server: the server's pid (0: it runs in this
 * process, then its CPU is this process's minus the generator's); postmaster: the cluster's
 * (0: none). false when the generator could not start. ret->r is the caller's to free. */
bool bench_measure(const bench_load_t *load, int port, lg_make_fn make, void *ctx, pid_t server,
		   pid_t postmaster, bench_run_t *ret);

/* Prints the run: rate, latency, counts, CPU of each part, first bad answer. */
void bench_print_run(const char *label, const bench_run_t *r);

#endif
