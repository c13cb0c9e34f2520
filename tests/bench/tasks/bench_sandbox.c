/* bench_sandbox: start-to-exit of /bin/true in the native sandbox of duxos-tasks (namespaces,
 * cgroup with limits, new root, seccomp, scratch dir, and all of it removed again) beside bare
 * `unshare -n -p -f --mount-proc /bin/true` (the target's reference), the same with the mount, IPC
 * and UTS namespaces the sandbox also makes, and a bare fork+exec of /bin/true, interleaved in
 * the same run so that both see the same machine. Target: the sandbox within 2x of unshare.
 * Exit: 0 valid run (whatever the verdict), 1 a sandbox run did not end "ok", 2 bad usage. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "sandbox.h"

extern char **environ;

#define BLOCK 25

struct series {
	double *ms;
	int n;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int spawn_wait(char *const argv[])
{
	pid_t pid;
	int st;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int run_sandbox(const struct dux_sandbox_spec *spec, double *ret_ms)
{
	struct dux_sandbox_result res;
	const char *why = NULL;
	double t0 = now_ms();
	int ok;
	if (dux_sandbox_run(spec, &res, &why) != 0) {
		fprintf(stderr, "bench_sandbox: spec refused: %s\n", why ? why : "out of memory");
		return -1;
	}
	*ret_ms = now_ms() - t0;
	ok = res.reason == DUX_SANDBOX_OK;
	if (!ok)
		fprintf(stderr, "bench_sandbox: sandbox run ended %s %s\n", dux_sandbox_reason_name(res.reason), res.detail);
	dux_sandbox_result_release(&res);
	return ok ? 0 : -1;
}

static int run_cmd(char *const argv[], double *ret_ms)
{
	double t0 = now_ms();
	if (spawn_wait(argv) < 0) {
		fprintf(stderr, "bench_sandbox: %s failed\n", argv[0]);
		return -1;
	}
	*ret_ms = now_ms() - t0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void stats(struct series *s, double *p50, double *p99, double *mean)
{
	double sum = 0;
	qsort(s->ms, (size_t)s->n, sizeof(double), cmp_double);
	for (int i = 0; i < s->n; i++)
		sum += s->ms[i];
	*p50 = s->ms[s->n / 2];
	*p99 = s->ms[(s->n * 99) / 100 < s->n ? (s->n * 99) / 100 : s->n - 1];
	*mean = sum / s->n;
}

static void row(const char *name, struct series *s, double *ret_p50, double *ret_mean)
{
	double p50, p99, mean;
	stats(s, &p50, &p99, &mean);
	printf("  %-44s p50 %7.2f ms   p99 %7.2f ms   mean %7.2f ms\n", name, p50, p99, mean);
	*ret_p50 = p50, *ret_mean = mean;
}

static int measure(int runs, int warmup, struct series *sbx, struct series *uns, struct series *all,
	struct series *bare)
{
	static char *const unshare_argv[] = { "/usr/bin/unshare", "-n", "-p", "-f", "--mount-proc", "/bin/true", NULL };
	static char *const all_argv[] = { "/usr/bin/unshare", "-n", "-p", "-f", "-m", "-i", "-u", "--mount-proc",
		"/bin/true", NULL };
	static char *const true_argv[] = { "/bin/true", NULL };
	struct dux_sandbox_spec spec;
	double ms;
	dux_sandbox_spec_init(&spec);
	spec.runtime = DUX_SANDBOX_EXEC;
	spec.exec_path = "/bin/true";
	spec.timeout_ms = 10000;
	spec.cgroup_parent = "duxos-sandbox-bench";
	/* Interleaved in blocks of BLOCK runs of one kind: a drift in the machine's load hits all
	 * alike, and each kind pays for its own namespaces' teardown, which the kernel finishes in
	 * the background (a network namespace is freed by a kworker after its last process exits)
	 * and which would otherwise be charged to whichever kind runs next. */
	for (int b = -warmup; b < runs; b += BLOCK) {
		for (int i = b; i < b + BLOCK && i < runs; i++) {
			if (run_sandbox(&spec, &ms) < 0)
				return -1;
			if (i >= 0)
				sbx->ms[sbx->n++] = ms;
		}
		for (int i = b; i < b + BLOCK && i < runs; i++) {
			if (run_cmd(unshare_argv, &ms) < 0)
				return -1;
			if (i >= 0)
				uns->ms[uns->n++] = ms;
		}
		for (int i = b; i < b + BLOCK && i < runs; i++) {
			if (run_cmd(all_argv, &ms) < 0)
				return -1;
			if (i >= 0)
				all->ms[all->n++] = ms;
		}
		for (int i = b; i < b + BLOCK && i < runs; i++) {
			if (run_cmd(true_argv, &ms) < 0)
				return -1;
			if (i >= 0)
				bare->ms[bare->n++] = ms;
		}
	}
	return 0;
}

static void report(struct series *sbx, struct series *uns, struct series *all, struct series *bare)
{
	double sp50, smean, up50, umean, ap50, amean, bp50, bmean;
	char val[32], ref[64], ratio[16];
	printf("\n[a] start-to-exit of /bin/true, %d runs each, in alternating blocks of 25 (the sandbox also makes and\n"
	       "    removes a cgroup and a scratch dir, builds a root, forks a worker, loads seccomp):\n", sbx->n);
	row("sandbox (duxos-tasks native)", sbx, &sp50, &smean);
	row("unshare -n -p -f --mount-proc /bin/true", uns, &up50, &umean);
	row("unshare -n -p -f -m -i -u --mount-proc (same ns)", all, &ap50, &amean);
	row("fork+exec /bin/true (floor)", bare, &bp50, &bmean);
	printf("\n");
	bench_row("figure", "value", "reference (same run)", "ratio", "target", "verdict");
	snprintf(val, sizeof(val), "p50 %.2f ms", sp50);
	snprintf(ref, sizeof(ref), "unshare p50 %.2f ms", up50);
	snprintf(ratio, sizeof(ratio), "%.2f", sp50 / up50);
	bench_row("sandbox /bin/true p50", val, ref, ratio, "<= 2.00", sp50 / up50 <= 2.0 ? "PASS" : "MISS");
	snprintf(val, sizeof(val), "mean %.2f ms", smean);
	snprintf(ref, sizeof(ref), "unshare mean %.2f ms", umean);
	snprintf(ratio, sizeof(ratio), "%.2f", smean / umean);
	bench_row("sandbox /bin/true mean", val, ref, ratio, "<= 2.00", smean / umean <= 2.0 ? "PASS" : "MISS");
	snprintf(val, sizeof(val), "p50 %.2f ms", sp50);
	snprintf(ref, sizeof(ref), "unshare -m -i -u too: p50 %.2f ms", ap50);
	snprintf(ratio, sizeof(ratio), "%.2f", sp50 / ap50);
	bench_row("(same namespaces)", val, ref, ratio, "", "");
}

int main(int argc, char **argv)
{
	struct series sbx = { 0 }, uns = { 0 }, all = { 0 }, bare = { 0 };
	char cpu[256];
	int runs = 200, warmup = 25, rc = 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc && bench_parse_int(argv[++i], 10, 100000, &runs))
			continue;
		if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc && bench_parse_int(argv[++i], 0, 1000, &warmup))
			continue;
		fprintf(stderr, "usage: bench_sandbox [--runs N (200)] [--warmup N (25)]\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_sandbox: needs root (cgroups, mounts, namespaces)\n");
		return 2;
	}
	sbx.ms = calloc((size_t)runs, sizeof(double));
	uns.ms = calloc((size_t)runs, sizeof(double));
	all.ms = calloc((size_t)runs, sizeof(double));
	bare.ms = calloc((size_t)runs, sizeof(double));
	if (!sbx.ms || !uns.ms || !all.ms || !bare.ms)
		goto out;
	bench_header("tasks sandbox", cpu, sizeof(cpu));
	rc = 1;
	if (measure(runs, warmup, &sbx, &uns, &all, &bare) < 0)
		goto out;
	report(&sbx, &uns, &all, &bare);
	printf("\nmachine: %s (nproc %ld); one run at a time, the benchmark alone on the machine "
	       "is what the ratio assumes.\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	rc = 0;
out:
	free(sbx.ms);
	free(uns.ms);
	free(all.ms);
	free(bare.ms);
	return rc;
}
