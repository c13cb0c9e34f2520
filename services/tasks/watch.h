/* watch.h - the parent's side of a running sandbox (watch.c). */
#ifndef DUX_SANDBOX_WATCH_H
#define DUX_SANDBOX_WATCH_H

#include "sandbox_int.h"

struct sbx_stream {
	int fd;      /* parent's read end; -1 once closed */
	char *buf;   /* owned; freed by the caller with free() */
	size_t len;  /* bytes kept, at most cap */
	size_t size; /* allocated, at most cap + 1 (room for a NUL) */
	size_t cap;
	bool truncated;
};

struct sbx_watch {
	pid_t pid;   /* init of the sandbox, the parent's child */
	const struct sbx_cgroup *cg; /* borrowed: killed along with init */
	int pidfd;   /* readable when init has exited */
	int status_fd;
	struct sbx_stream out, err;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	const atomic_bool *cancel; /* borrowed; may be NULL */
	/* What happened: */
	bool timed_out, output_exceeded, cancelled, done, setup_failed, reaped;
	int worker_status; /* valid when done */
	int init_status;   /* valid when reaped */
	int setup_errno;
	char setup_what[52];
};

uint64_t sbx_now_ns(void);
/* Reads output and messages until init has been reaped, killing it at the deadline or when an
 * output stream goes past its cap. 0, or DUX_ENOMEM/DUX_EIO (init is then killed and reaped). */
int sbx_watch_run(struct sbx_watch *w);

#endif
