/* watch.c - the parent's loop over one running sandbox: its output pipes, its status pipe and
 * a pidfd of its init, until init is reaped. Killing init (SIGKILL) ends the whole PID
 * namespace; the caller's cgroup kill is the second wall. The loop ends on the reap, not on EOF:
 * a process outside the sandbox that inherited a pipe end (another thread's fork) must not be
 * able to keep it alive. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

#define CHUNK 65536

uint64_t sbx_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Init's death takes the namespace down; the cgroup kill reaches every process at once
 * instead of waiting for the kernel to walk the namespace. */
static void kill_init(struct sbx_watch *w)
{
	(void)syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
	if (w->cg)
		sbx_cg_kill(w->cg);
}

/* Room for need bytes and a NUL, doubling up to the cap: most tasks print little, and two
 * caps' worth per run up front would be mostly waste. */
static int grow(struct sbx_stream *s, size_t need)
{
	size_t size = s->size ? s->size : 4096;
	char *p;
	if (need + 1 <= s->size)
		return DUX_OK;
	while (size < need + 1)
		size *= 2;
	if (size > s->cap + 1)
		size = s->cap + 1;
	if (!(p = realloc(s->buf, size)))
		return DUX_ENOMEM;
	s->buf = p;
	s->size = size;
	return DUX_OK;
}

/* Keeps at most cap bytes; one byte past the cap is an overflow. 1 at EOF, 0 otherwise. */
static int read_stream(struct sbx_watch *w, struct sbx_stream *s)
{
	char chunk[CHUNK];
	ssize_t n = read(s->fd, chunk, sizeof(chunk));
	size_t keep;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : DUX_EIO;
	if (n == 0)
		return 1;
	keep = (size_t)n;
	if (keep > s->cap - s->len) {
		keep = s->cap - s->len;
		s->truncated = true;
		if (!w->output_exceeded)
			kill_init(w);
		w->output_exceeded = true;
	}
	if (keep) {
		if (grow(s, s->len + keep) < 0)
			return DUX_ENOMEM;
		memcpy(s->buf + s->len, chunk, keep);
		s->len += keep;
	}
	return 0;
}

static int read_status(struct sbx_watch *w)
{
	struct sbx_msg m;
	ssize_t n = read(w->status_fd, &m, sizeof(m));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : DUX_EIO;
	if (n == 0)
		return 1;
	if (n != (ssize_t)sizeof(m))
		return DUX_EPROTO;
	m.what[sizeof(m.what) - 1] = '\0';
	if (m.kind == SBX_MSG_DONE) {
		w->done = true;
		w->worker_status = m.status;
	} else if (m.kind == SBX_MSG_SETUP_FAILED && !w->setup_failed) {
		w->setup_failed = true;
		w->setup_errno = m.err;
		memcpy(w->setup_what, m.what, sizeof(w->setup_what));
	}
	return 0;
}

static int reap(struct sbx_watch *w)
{
	pid_t p;
	while ((p = waitpid(w->pid, &w->init_status, 0)) < 0 && errno == EINTR)
		;
	w->reaped = true;
	return p == w->pid ? DUX_OK : DUX_EIO;
}

static int poll_timeout_ms(const struct sbx_watch *w)
{
	uint64_t now = sbx_now_ns();
	if (w->timed_out || w->output_exceeded || w->cancelled)
		return 1000; /* killed: only waiting for the reap */
	if (now >= w->deadline_ns)
		return 0;
	int ms = (int)((w->deadline_ns - now + 999999) / 1000000);
	return w->cancel && ms > 100 ? 100 : ms;
}

/* One fd event; a closed fd is taken out of the poll set. */
static int handle(struct sbx_watch *w, struct pollfd *pfd, int which)
{
	int r;
	if (!(pfd->revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	if (which == 3)
		return reap(w);
	r = which == 2 ? read_status(w) : read_stream(w, which == 0 ? &w->out : &w->err);
	if (r == 1)
		pfd->fd = -1;
	return r < 0 ? r : 0;
}

/* After the reap nothing in the sandbox can write; what is in the pipes is read without waiting. */
static int drain(struct sbx_watch *w, struct pollfd *pfds)
{
	for (int i = 0; i < 3; i++) {
		while (pfds[i].fd >= 0) {
			struct pollfd one = { pfds[i].fd, POLLIN, 0 };
			int r;
			if (poll(&one, 1, 0) <= 0)
				break;
			pfds[i].revents = one.revents;
			if ((r = handle(w, &pfds[i], i)) < 0)
				return r;
		}
	}
	return DUX_OK;
}

int sbx_watch_run(struct sbx_watch *w)
{
	struct pollfd pfds[4] = { { w->out.fd, POLLIN, 0 }, { w->err.fd, POLLIN, 0 },
		{ w->status_fd, POLLIN, 0 }, { w->pidfd, POLLIN, 0 } };
	int r = DUX_ENOMEM;
	if (grow(&w->out, 0) < 0 || grow(&w->err, 0) < 0)
		goto fail;
	while (!w->reaped) {
		int n = poll(pfds, 4, poll_timeout_ms(w));
		if (n < 0 && errno != EINTR)
			goto fail_io;
		bool killed = w->timed_out || w->output_exceeded || w->cancelled;
		if (!killed && sbx_now_ns() >= w->deadline_ns) {
			w->timed_out = true;
			kill_init(w);
		} else if (!killed && w->cancel && atomic_load(w->cancel)) {
			w->cancelled = true;
			kill_init(w);
		}
		for (int i = 0; n > 0 && i < 4; i++)
			if ((r = handle(w, &pfds[i], i)) < 0)
				goto fail;
	}
	return drain(w, pfds);
fail_io:
	r = DUX_EIO;
fail:
	kill_init(w);
	if (!w->reaped)
		(void)reap(w);
	return r;
}
