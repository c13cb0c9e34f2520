/* measure.c - see measure.h. */
#include "measure.h"
#include "sys.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 256

typedef struct {
	pid_t pid;
	int n;
	sys_thread_t th[MAX_THREADS];
} thread_snap_t;

static void snap_threads(void *arg)
{
	thread_snap_t *s = arg;
	s->n = sys_threads(s->pid, s->th, MAX_THREADS);
}

/* The CPU share of each HTTP thread (MHD-connection or MHD-worker, not MHD-listen) between two
 * snapshots, busiest first. */
static void worker_shares(const thread_snap_t *a, const thread_snap_t *b, double wall, char *out,
			  size_t len)
{
	double busy[MAX_THREADS];
	int nb = 0;
	for (int i = 0; i < b->n; i++) {
		if (strncmp(b->th[i].comm, "MHD-", 4) != 0 || strcmp(b->th[i].comm, "MHD-listen") == 0)
			continue;
		double before = 0;
		for (int k = 0; k < a->n; k++)
			if (a->th[k].tid == b->th[i].tid)
				before = a->th[k].cpu_s;
		busy[nb++] = (b->th[i].cpu_s - before) / wall;
	}
	for (int i = 1; i < nb; i++)
		for (int k = i; k > 0 && busy[k] > busy[k - 1]; k--) {
			double t = busy[k];
			busy[k] = busy[k - 1];
			busy[k - 1] = t;
		}
	size_t off = 0;
	out[0] = '\0';
	for (int i = 0; i < nb && i < 12 && off + 8 < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%.2f", i ? " " : "", busy[i]);
	if (nb > 12 && off + 24 < len)
		snprintf(out + off, len - off, " ... (%d threads)", nb);
}

bool bench_measure(const bench_load_t *load, int port, lg_make_fn make, void *ctx, pid_t server,
		   pid_t postmaster, bench_run_t *ret)
{
	static thread_snap_t snap0, snap1;
	snap0.pid = snap1.pid = server > 0 ? server : getpid();
	lg_opts_t lo = {.host = "127.0.0.1", .port = port, .conns = load->conns,
			.threads = load->threads, .warmup_s = load->warmup,
			.duration_s = load->duration, .make = make, .ctx = ctx,
			.before_close = snap_threads, .before_close_arg = &snap1,
			.ok_status = load->ok_status, .req_max = load->req_max, .drain = load->drain,
			.answer = load->answer};
	memset(ret, 0, sizeof *ret);
	snap_threads(&snap0);
	double s0 = server > 0 ? sys_cpu_s(server) : sys_self_cpu_s();
	double p0 = postmaster > 0 ? sys_tree_cpu_s(postmaster) : 0, t0 = sys_now_s();
	if (lg_run(&lo, &ret->r) < 0)
		return false;
	ret->wall = sys_now_s() - t0;
	worker_shares(&snap0, &snap1, ret->wall, ret->workers, sizeof ret->workers);
	ret->cpu_pg = postmaster > 0 ? sys_tree_cpu_s(postmaster) - p0 : 0;
	ret->cpu_gen = ret->r->cpu_s;
	/* in-process reference: the process minus the generator threads */
	ret->cpu_server = (server > 0 ? sys_cpu_s(server) : sys_self_cpu_s() - ret->r->cpu_s) - s0;
	ret->rate = lg_rate(ret->r);
	ret->p50 = lg_quantile_us(ret->r, 0.50);
	ret->p99 = lg_quantile_us(ret->r, 0.99);
	ret->p999 = lg_quantile_us(ret->r, 0.999);
	uint64_t all = 0;
	for (int k = 0; k < 6; k++)
		all += ret->r->status[k];
	ret->non_ok = all - ret->r->ok;
	ret->valid = ret->r->errors == 0 && ret->non_ok == 0 && ret->r->requests > 0;
	return true;
}

void bench_print_run(const char *label, const bench_run_t *r)
{
	int ok = r->r->ok_status;
	printf("  %-34s %9.0f /s  p50 %6.3f ms  p99 %6.3f ms  p99.9 %6.3f ms  (n=%llu, non-%d "
	       "%llu, errors %llu, reconnects %llu)\n",
	       label, r->rate, r->p50 / 1000, r->p99 / 1000, r->p999 / 1000,
	       (unsigned long long)r->r->requests, ok, (unsigned long long)r->non_ok,
	       (unsigned long long)r->r->errors, (unsigned long long)r->r->reconnects);
	printf("  %-34s CPU cores busy: generator %.2f, server %.2f, PostgreSQL %.2f (of %ld)\n", "",
	       r->cpu_gen / r->wall, r->cpu_server / r->wall,
	       r->cpu_pg > 0 ? r->cpu_pg / r->wall : 0.0, sysconf(_SC_NPROCESSORS_ONLN));
	if (r->workers[0])
		printf("  %-34s CPU of each HTTP thread: %s\n", "", r->workers);
	if (r->r->first_bad_status)
		printf("  %-34s first non-%d: %d %s\n", "", ok, r->r->first_bad_status,
		       r->r->first_bad_body);
	fflush(stdout);
}
