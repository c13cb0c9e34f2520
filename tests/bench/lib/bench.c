/* bench.c - see bench.h. */
#include "bench.h"
#include "loadgen.h"
#include "sys.h"
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool bench_parse_int(const char *s, int min, int max, int *ret)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < min || v > max)
		return false;
	*ret = (int)v;
	return true;
}

bool bench_parse_secs(const char *s, double min, double *ret)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !(v >= min) || v > 3600)
		return false;
	*ret = v;
	return true;
}

void bench_header(const char *daemon, char *cpu, size_t cpulen)
{
	char kernel[200], date[64];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	sys_machine(cpu, cpulen, kernel, sizeof kernel);
	printf("== %s benchmark, %s ==\n", daemon, date);
	printf("machine: %s; %s; libmicrohttpd %s; %s\n", cpu, kernel, MHD_get_version(),
	       "PostgreSQL 15 (pgctl.sh cluster: fsync on, synchronous_commit on)");
	printf("load average before the run: %.2f (other work on the machine skews the figures)\n",
	       sys_loadavg());
}

void bench_note_shared_cpus(void)
{
	printf("NOTE: the generator shares the %ld CPUs with the server it measures (and with "
	       "PostgreSQL): the figures are lower bounds of what a remote client would see.\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
}

void bench_footer(const char *cpu)
{
	printf("\nmachine: %s (nproc %ld); generator, server and PostgreSQL share these CPUs.\n",
	       cpu, sysconf(_SC_NPROCESSORS_ONLN));
}

void bench_fmt_rate(double v, char *out, size_t len)
{
	if (v >= 10000)
		snprintf(out, len, "%.1fk", v / 1000);
	else
		snprintf(out, len, "%.0f", v);
}

void bench_row(const char *fig, const char *val, const char *ref, const char *ratio,
	       const char *target, const char *verdict)
{
	printf("%-30s %-14s %-40s %-6s %-11s %s\n", fig, val, ref, ratio, target, verdict);
}

int bench_call(int port, const char *method, const char *path, const char *headers,
	       const char *body, char **ret)
{
	if (ret)
		*ret = NULL;
	size_t cap = (body ? strlen(body) : 0) + (headers ? strlen(headers) : 0) + 1024;
	char *req = malloc(cap);
	int len = req ? lg_format(req, cap, method, path, headers, body) : -1;
	lg_sync_t *s = len > 0 ? lg_sync_open("127.0.0.1", port) : NULL;
	const char *text = NULL;
	size_t tlen = 0;
	int st = s ? lg_sync_do(s, req, (size_t)len, &text, &tlen) : -1;
	if (st > 0 && ret) {
		*ret = malloc(tlen + 1);
		if (*ret) {
			memcpy(*ret, text, tlen);
			(*ret)[tlen] = '\0';
		}
	}
	lg_sync_close(s);
	free(req);
	return st;
}

bool bench_metrics_route(const char *text, const char *method, const char *route, double *sum,
			 double *count)
{
	char key_sum[200], key_cnt[200];
	snprintf(key_sum, sizeof key_sum,
		 "dux_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} ", method, route);
	snprintf(key_cnt, sizeof key_cnt,
		 "dux_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} ", method,
		 route);
	const char *s = strstr(text, key_sum), *c = strstr(text, key_cnt);
	if (!s || !c)
		return false;
	*sum = strtod(s + strlen(key_sum), NULL);
	*count = strtod(c + strlen(key_cnt), NULL);
	return true;
}

double bench_metrics_mean_ms(const char *text, const char *method, const char *route)
{
	double sum, cnt;
	if (!bench_metrics_route(text, method, route, &sum, &cnt))
		return -1;
	return cnt > 0 ? sum / cnt * 1000 : -1;
}

#define PAR_MAX 16

typedef struct {
	int n, nthreads, port;
	bench_call_fn fn;
	void *ctx;
	atomic_int failures;
} par_job_t;

typedef struct {
	par_job_t *job;
	int t;
	pthread_t th;
} par_arg_t;

static void *par_thread(void *arg)
{
	par_arg_t *a = arg;
	par_job_t *j = a->job;
	lg_sync_t *s = lg_sync_open("127.0.0.1", j->port);
	for (int i = a->t; s && i < j->n; i += j->nthreads) {
		char err[512] = "";
		if (!j->fn(j->ctx, s, i, err, sizeof err) && atomic_fetch_add(&j->failures, 1) == 0)
			fprintf(stderr, "%s: %s\n", program_invocation_short_name, err);
	}
	if (!s)
		atomic_fetch_add(&j->failures, 1);
	lg_sync_close(s);
	return NULL;
}

bool bench_parallel(int n, int nthreads, int port, bench_call_fn fn, void *ctx,
		    double *ret_rate)
{
	par_job_t j = {.n = n, .nthreads = nthreads < 1 ? 1 : nthreads > PAR_MAX ? PAR_MAX : nthreads,
		       .port = port, .fn = fn, .ctx = ctx};
	par_arg_t args[PAR_MAX];
	double t0 = sys_now_s();
	for (int t = 0; t < j.nthreads; t++) {
		args[t] = (par_arg_t){.job = &j, .t = t};
		if (pthread_create(&args[t].th, NULL, par_thread, &args[t]) != 0)
			abort(); /* a benchmark that cannot start its threads has nothing to say */
	}
	for (int t = 0; t < j.nthreads; t++)
		pthread_join(args[t].th, NULL);
	if (ret_rate)
		*ret_rate = n / (sys_now_s() - t0);
	return atomic_load(&j.failures) == 0;
}
