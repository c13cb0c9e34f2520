/* child.c - see child.h. */
#include "child.h"
#include "harness.h"
#include "loadgen.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG program_invocation_short_name

#define CHILDREN_MAX 8 /* daemons a benchmark runs at once (the tasks': five) */

static volatile sig_atomic_t child_pids[CHILDREN_MAX]; /* killed if we are interrupted */

static void on_signal(int sig)
{
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (child_pids[i] > 0)
			kill(child_pids[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Every early exit leaves no daemon behind. */
static void kill_child(void)
{
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (child_pids[i] > 0) {
			kill(child_pids[i], SIGKILL);
			waitpid(child_pids[i], NULL, 0);
			child_pids[i] = 0;
		}
}

/* Records pid (> 0) as a running child, or forgets it (add false). */
static void child_track(pid_t pid, bool add)
{
	for (int i = 0; pid > 0 && i < CHILDREN_MAX; i++)
		if (add ? child_pids[i] <= 0 : child_pids[i] == pid) {
			child_pids[i] = add ? pid : 0;
			return;
		}
}

void bench_guard_install(void)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_child);
}

static void dump_log(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;
	fprintf(stderr, "---- %s (first lines) ----\n", path);
	while (f && n++ < 40 && fgets(line, sizeof line, f))
		fputs(line, stderr);
	if (f)
		fclose(f);
}

static bool wait_ready(bench_daemon_t *g)
{
	char req[256];
	int len = lg_format(req, sizeof req, "GET", "/readyz", NULL, NULL);
	for (double until = sys_now_s() + 30; sys_now_s() < until; usleep(20000)) {
		if (!sys_alive(g->pid))
			return false;
		lg_sync_t *s = lg_sync_open("127.0.0.1", g->port);
		int st = s ? lg_sync_do(s, req, (size_t)len, NULL, NULL) : -1;
		lg_sync_close(s);
		if (st == 200)
			return true;
	}
	return false;
}

bool bench_daemon_init(bench_daemon_t *g, const char *name, const char *label)
{
	memset(g, 0, sizeof *g);
	g->label = label;
	snprintf(g->name, sizeof g->name, "%s", name);
	snprintf(g->workdir, sizeof g->workdir, "/tmp/bench-%s.XXXXXX", name);
	if (!mkdtemp(g->workdir)) {
		perror("mkdtemp");
		return false;
	}
	snprintf(g->config, sizeof g->config, "%s/%s.yaml", g->workdir, name);
	snprintf(g->log, sizeof g->log, "%s/%s.log", g->workdir, name);
	g->port = th_free_port();
	return true;
}

bool bench_daemon_start(bench_daemon_t *g, const char *binary, const char *yaml)
{
	/* 0600: a configuration may hold a secret (the wallet's passphrase) */
	int fd = open(g->config, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	fputs(yaml, f);
	if (fclose(f) != 0)
		return false;
	char *argv[] = {(char *)(uintptr_t)binary, (char *)(uintptr_t) "--config", g->config, NULL};
	g->pid = sys_spawn(argv, g->log);
	child_track(g->pid, true);
	if (g->pid < 0 || !wait_ready(g)) {
		fprintf(stderr, "%s: %s did not become ready\n", PROG, g->label);
		dump_log(g->log);
		return false;
	}
	return true;
}

bool bench_daemon_stop(bench_daemon_t *g)
{
	int st = sys_stop(g->pid, 30);
	child_track(g->pid, false);
	g->pid = 0;
	if (st != 0) {
		fprintf(stderr, "%s: %s exited with status %d\n", PROG, g->label, st);
		dump_log(g->log);
	}
	return st == 0;
}

void bench_daemon_finish(bench_daemon_t *g, bool remove)
{
	if (remove) {
		unlink(g->config);
		unlink(g->log);
		rmdir(g->workdir);
	} else {
		printf("%s config and log kept in %s\n", g->name, g->workdir);
	}
}
