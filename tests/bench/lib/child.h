/* child.h - the daemon a benchmark measures, run as a child process with a generated
 * configuration in a work directory of its own (/tmp/bench-NAME.XXXXXX), and never left behind:
 * an interrupted or failed benchmark kills it. */
#ifndef BENCH_CHILD_H
#define BENCH_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
	pid_t pid;
	int port;          /* its HTTP port: a free one, chosen by bench_daemon_init */
	const char *label; /* for messages: "the registry" */
	char name[32];     /* for files: "registry" */
	char workdir[128], config[200], log[200];
} bench_daemon_t;

/* SIGINT and SIGTERM kill the children and end the benchmark, SIGPIPE is ignored, and any
 * exit kills a child still running (up to 8 daemons at once). Call once, first. */
void bench_guard_install(void);

/* Makes the work directory and chooses the port; false (after printing why) on failure. */
bool bench_daemon_init(bench_daemon_t *g, const char *name, const char *label);
/* Writes yaml to workdir/NAME.yaml, starts binary --config it with its output in
 * workdir/NAME.log, and waits (30 s at most) until GET /readyz answers 200. On failure prints
 * the log's first lines and returns false. */
bool bench_daemon_start(bench_daemon_t *g, const char *binary, const char *yaml);
/* SIGTERM, then SIGKILL after 30 s; true when it exited with status 0 (else prints its log). */
bool bench_daemon_stop(bench_daemon_t *g);
/* Removes the work directory when remove, else says where its config and log are kept. Any
 * other file the benchmark put there must be gone first. */
void bench_daemon_finish(bench_daemon_t *g, bool remove);

#endif
