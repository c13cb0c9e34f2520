/* run.c - dux_sandbox_run: prepares everything the child needs (scratch dir, code file, stdin,
 * pipes, seccomp filter, cgroup), clones the child into its new namespaces, watches it, and
 * tears everything down in reverse order on every path. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sandbox_int.h"
#include "scratch.h"
#include "watch.h"

/* Everything one run holds; run_free releases whatever part of it exists. */
struct run {
	const struct dux_sandbox_spec *spec;
	char id[33];
	struct sbx_scratch scratch;
	struct sbx_cgroup cg;
	struct sbx_plan plan;
	struct sbx_watch w;
	char code_path[SBX_PATH_MAX];
	const char *what; /* set-up step that failed */
	int err;          /* its errno */
};

static const char *code_name(enum dux_sandbox_runtime rt)
{
	switch (rt) {
	case DUX_SANDBOX_BASH:
		return "main.sh";
	case DUX_SANDBOX_PYTHON:
		return "main.py";
	case DUX_SANDBOX_NODE:
		return "main.js";
	case DUX_SANDBOX_EXEC:
		break;
	}
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void init_run(struct run *r, const struct dux_sandbox_spec *spec)
{
	memset(r, 0, sizeof(*r));
	r->spec = spec;
	r->plan.stdin_fd = r->plan.stdout_fd = r->plan.stderr_fd = -1;
	r->plan.status_fd = -1;
	r->w.pidfd = r->w.status_fd = r->w.out.fd = r->w.err.fd = -1;
	r->w.pid = -1;
}

static int make_id(struct run *r)
{
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return DUX_EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(r->id + 2 * i, 3, "%02x", raw[i]);
	return DUX_OK;
}

/* stdin is a sealed memfd, not a pipe: the parent never blocks writing it, and the task
 * cannot change what it reads. */
static int make_stdin(struct run *r)
{
	const struct dux_sandbox_spec *s = r->spec;
	int fd = memfd_create("sbx-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t done = 0;
	if (fd < 0)
		return DUX_EIO;
	r->plan.stdin_fd = fd;
	while (done < s->input_len) {
		ssize_t n = write(fd, s->input + done, s->input_len - done);
		if (n <= 0)
			return DUX_EIO;
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0 ||
		fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return DUX_EIO;
	return DUX_OK;
}

static int make_pipes(struct run *r)
{
	int out[2], err[2], st[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return DUX_EIO;
	r->w.out.fd = out[0], r->plan.stdout_fd = out[1];
	if (pipe2(err, O_CLOEXEC) < 0)
		return DUX_EIO;
	r->w.err.fd = err[0], r->plan.stderr_fd = err[1];
	if (pipe2(st, O_CLOEXEC) < 0)
		return DUX_EIO;
	r->w.status_fd = st[0], r->plan.status_fd = st[1];
	return DUX_OK;
}

static void make_argv(struct run *r)
{
	const struct dux_sandbox_spec *s = r->spec;
	int n = 0;
	r->plan.argv[n++] = sbx_runtime_path(s);
	if (s->runtime == DUX_SANDBOX_EXEC) {
		for (int i = 0; s->exec_args && s->exec_args[i]; i++)
			r->plan.argv[n++] = s->exec_args[i];
	} else {
		snprintf(r->code_path, sizeof(r->code_path), "/work/%s", code_name(s->runtime));
		r->plan.argv[n++] = r->code_path;
	}
	r->plan.argv[n] = NULL;
	r->plan.envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	r->plan.envp[1] = "HOME=/work";
	r->plan.envp[2] = "TMPDIR=/tmp";
	r->plan.envp[3] = "LANG=C.UTF-8";
	r->plan.envp[4] = NULL;
}

/* Host-side preparation; on failure r->what names the step. */
static int prepare(struct run *r)
{
	const struct dux_sandbox_spec *s = r->spec;
	const char *name = s->runtime == DUX_SANDBOX_EXEC ? (s->code ? "code" : NULL) : code_name(s->runtime);
	int rc;
	r->what = "random id";
	if ((rc = make_id(r)) < 0)
		return rc;
	if ((rc = sbx_scratch_make(&r->scratch, s, r->id, name, &r->what)) < 0)
		return rc;
	memcpy(r->plan.root, r->scratch.root, sizeof(r->plan.root));
	memcpy(r->plan.scratch, r->scratch.work, sizeof(r->plan.scratch));
	r->what = "stdin";
	if ((rc = make_stdin(r)) < 0)
		return rc;
	r->what = "pipes";
	if ((rc = make_pipes(r)) < 0)
		return rc;
	r->what = "seccomp";
	if ((rc = sbx_seccomp_get(s->network_access, &r->plan.filter)) < 0)
		return rc;
	make_argv(r);
	r->plan.network_access = s->network_access;
	r->plan.file_size_max = s->file_size_max;
	r->plan.nproc_max = s->pids_max + 4096;
	if ((rc = sbx_cg_create(&r->cg, s, r->id, &r->what)) < 0)
		return rc;
	return sbx_cg_procs_paths(&r->cg, r->plan.cg_procs, &r->plan.ncg);
}

static void close_child_ends(struct run *r)
{
	close_fd(&r->plan.stdin_fd);
	close_fd(&r->plan.stdout_fd);
	close_fd(&r->plan.stderr_fd);
	close_fd(&r->plan.status_fd);
}

/* Clones init; it joins its cgroup itself, which saves a round trip through the parent. */
static int start(struct run *r)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	pid_t pid;
	if (!r->spec->network_access)
		flags |= CLONE_NEWNET;
	r->what = "clone";
	/* fork-like clone (no new stack): the child runs on a copy of this one. */
	pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid == 0)
		sbx_child_main(&r->plan);
	close_child_ends(r);
	if (pid < 0)
		return DUX_EIO;
	r->w.pid = pid;
	r->w.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (r->w.pidfd < 0) {
		r->what = "pidfd_open";
		r->err = errno;
		return DUX_EIO; /* teardown kills and reaps it */
	}
	return DUX_OK;
}

/* The reasons, most specific first: a kill by the kernel for memory explains a timeout or a
 * signal that follows it; an output overflow is our own kill; a fork refused at the pids limit
 * explains a task that then failed. */
static enum dux_sandbox_reason outcome(const struct run *r, const struct sbx_usage *u,
	struct dux_sandbox_result *res)
{
	const struct sbx_watch *w = &r->w;
	int st = w->worker_status;
	if (w->done && WIFEXITED(st)) {
		res->exited = true;
		res->exit_code = WEXITSTATUS(st);
	} else if (w->done && WIFSIGNALED(st)) {
		res->signal = WTERMSIG(st);
	}
	if (u->oom_killed)
		return DUX_SANDBOX_MEMORY_LIMIT;
	if (w->output_exceeded)
		return DUX_SANDBOX_OUTPUT_LIMIT;
	if (w->cancelled)
		return DUX_SANDBOX_CANCELLED;
	if (u->pids_hit && !(res->exited && res->exit_code == 0))
		return DUX_SANDBOX_PIDS_LIMIT;
	if (w->timed_out)
		return DUX_SANDBOX_TIMEOUT;
	if (!w->done)
		return DUX_SANDBOX_SIGNALED; /* init itself died: only a kill from outside does that */
	if (res->signal)
		return DUX_SANDBOX_SIGNALED;
	return res->exit_code == 0 ? DUX_SANDBOX_OK : DUX_SANDBOX_NONZERO_EXIT;
}

static void set_setup_failed(struct dux_sandbox_result *res, const char *what, int err)
{
	res->reason = DUX_SANDBOX_SETUP_FAILED;
	if (err)
		snprintf(res->detail, sizeof(res->detail), "%s: %s", what, strerror(err));
	else
		snprintf(res->detail, sizeof(res->detail), "%s", what);
}

static void fill(struct run *r, const struct sbx_usage *u, uint64_t wall_ns, struct dux_sandbox_result *res)
{
	res->reason = outcome(r, u, res);
	if (r->w.setup_failed && !r->w.timed_out)
		set_setup_failed(res, r->w.setup_what, r->w.setup_errno);
	res->pids_limit_hit = u->pids_hit;
	res->cpu_user_us = u->cpu_user_us;
	res->cpu_sys_us = u->cpu_sys_us;
	res->peak_memory_bytes = u->peak_memory;
	res->wall_us = wall_ns / 1000;
	res->out = r->w.out.buf, res->out_len = r->w.out.len, res->out_truncated = r->w.out.truncated;
	res->err = r->w.err.buf, res->err_len = r->w.err.len, res->err_truncated = r->w.err.truncated;
	res->out[res->out_len] = '\0';
	res->err[res->err_len] = '\0';
	r->w.out.buf = r->w.err.buf = NULL;
}

/* Reverse order of prepare(); each part tolerates never having been made. Returns the step
 * that could not be undone, or NULL. */
static const char *teardown(struct run *r)
{
	const char *left = NULL;
	if (r->w.pid > 0 && !r->w.reaped) {
		(void)kill(r->w.pid, SIGKILL);
		while (waitpid(r->w.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (sbx_cg_destroy(&r->cg) < 0)
		left = "cgroup remove";
	if (sbx_scratch_remove(&r->scratch) < 0)
		left = "scratch remove";
	close_child_ends(r);
	close_fd(&r->w.pidfd);
	close_fd(&r->w.status_fd);
	close_fd(&r->w.out.fd);
	close_fd(&r->w.err.fd);
	free(r->w.out.buf);
	free(r->w.err.buf);
	return left;
}

static int execute(struct run *r, struct dux_sandbox_result *res)
{
	struct sbx_usage u;
	uint64_t t0 = sbx_now_ns();
	int rc;
	r->w.out.cap = r->w.err.cap = r->spec->output_cap;
	r->w.cg = &r->cg;
	r->w.cancel = r->spec->cancel;
	r->w.deadline_ns = t0 + (uint64_t)r->spec->timeout_ms * 1000000ULL;
	if ((rc = start(r)) < 0)
		return rc;
	if ((rc = sbx_watch_run(&r->w)) < 0) {
		r->what = "watch";
		return rc;
	}
	sbx_cg_usage(&r->cg, &u);
	fill(r, &u, sbx_now_ns() - t0, res);
	return DUX_OK;
}

int dux_sandbox_run(const struct dux_sandbox_spec *spec, struct dux_sandbox_result *ret, const char **ret_why)
{
	struct dux_sandbox_result res;
	struct run *r;
	const char *left;
	int rc = dux_sandbox_spec_check(spec, ret_why), err;
	if (rc < 0)
		return rc;
	if (!(r = malloc(sizeof(*r))))
		return DUX_ENOMEM;
	init_run(r, spec);
	memset(&res, 0, sizeof(res));
	rc = prepare(r);
	if (rc == DUX_OK)
		rc = execute(r, &res);
	err = r->err ? r->err : errno; /* the failed step's, before teardown's calls change it */
	res.cgroup_mode = r->cg.mode == SBX_CG_V2 ? "v2" : "v1";
	if (rc < 0 && rc != DUX_ENOMEM)
		set_setup_failed(&res, r->what, err);
	left = teardown(r);
	/* Something stayed behind: never report success over it. */
	if (left && rc != DUX_ENOMEM)
		set_setup_failed(&res, left, errno);
	free(r);
	if (rc == DUX_ENOMEM) {
		dux_sandbox_result_release(&res);
		return DUX_ENOMEM;
	}
	*ret = res;
	return DUX_OK;
}
