/* child.c - the sandbox's side of the clone: PID 1 of the new PID namespace ("init") builds
 * the root, forks the worker, reaps every orphan, and reports the worker's wait status. When
 * init exits the kernel kills whatever is left in the namespace, so the whole tree ends with it.
 * The worker drops to uid/gid 65534 with no capabilities, sets rlimits, no_new_privs and the
 * seccomp filter, and execs the program. Both only make system calls: the parent may have had
 * other threads at clone time, so nothing here allocates or takes a lock. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox_int.h"

#define NOFILE_MAX 256

static void send_msg(int fd, int kind, int status, int err, const char *what)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.status = status;
	m.err = err;
	if (what)
		strncpy(m.what, what, sizeof(m.what) - 1);
	(void)!write(fd, &m, sizeof(m));
}

static _Noreturn void die(const struct sbx_plan *plan, const char *what)
{
	send_msg(plan->status_fd, SBX_MSG_SETUP_FAILED, 0, errno, what);
	_exit(127);
}

static int set_limit(int resource, uint64_t value)
{
	struct rlimit rl = { value, value };
	return setrlimit(resource, &rl);
}

/* NPROC counts every process of the uid on the host, so it is a generous backstop; the cgroup
 * pids limit is the real one. */
static int set_rlimits(const struct sbx_plan *plan)
{
	if (set_limit(RLIMIT_NOFILE, NOFILE_MAX) < 0 || set_limit(RLIMIT_CORE, 0) < 0 ||
		set_limit(RLIMIT_FSIZE, plan->file_size_max) < 0 || set_limit(RLIMIT_NPROC, plan->nproc_max) < 0)
		return -1;
	return 0;
}

/* Bounding set first (needs CAP_SETPCAP), then the ids: leaving uid 0 clears the permitted and
 * effective sets; capset makes that explicit rather than a side effect.
 *
 * The ids are set with raw system calls. glibc's setgroups/setresgid/setresuid change the ids
 * of every thread of the process: they signal the threads glibc believes exist and wait for
 * each. This process was made by a raw clone of a multi-threaded daemon, so glibc still lists
 * the parent's threads, which are not here: the wait could last until the task's timeout. */
static int drop_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
		syscall(SYS_setgroups, 0, NULL) < 0 ||
		syscall(SYS_setresgid, DUX_SANDBOX_UID, DUX_SANDBOX_UID, DUX_SANDBOX_UID) < 0 ||
		syscall(SYS_setresuid, DUX_SANDBOX_UID, DUX_SANDBOX_UID, DUX_SANDBOX_UID) < 0)
		return -1;
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

static _Noreturn void worker(const struct sbx_plan *plan)
{
	if (dup2(plan->stdin_fd, 0) < 0 || dup2(plan->stdout_fd, 1) < 0 || dup2(plan->stderr_fd, 2) < 0)
		die(plan, "dup2");
	/* Whatever the parent (a daemon) had open without O_CLOEXEC stays out of the task. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die(plan, "close_range");
	if (setsid() < 0)
		die(plan, "setsid");
	if (set_rlimits(plan) < 0)
		die(plan, "rlimit");
	if (drop_privileges() < 0)
		die(plan, "drop privileges");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(plan, "no_new_privs");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, plan->filter, 0, 0) < 0)
		die(plan, "seccomp");
	/* execve takes char *const[] for history's sake; it does not write them. */
	execve(plan->argv[0], (char *const *)(uintptr_t)plan->argv, (char *const *)(uintptr_t)plan->envp);
	die(plan, "exec");
}

/* Closes every fd but the plan's. The parent's other threads may have had anything open at
 * clone time (a client socket, a database connection, another task's pipe); held here, a socket
 * would stay open for the peer and a pipe would not reach EOF until this task ends. */
static int close_others(const struct sbx_plan *plan)
{
	int keep[4] = { plan->stdin_fd, plan->stdout_fd, plan->stderr_fd, plan->status_fd };
	unsigned from = 0;
	for (int i = 1; i < 4; i++) /* insertion sort of four */
		for (int j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1], keep[j - 1] = t;
		}
	for (int i = 0; i < 4; i++) {
		if ((unsigned)keep[i] > from && syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0) < 0)
			return -1;
		from = (unsigned)keep[i] + 1;
	}
	return (int)syscall(SYS_close_range, from, ~0U, 0);
}

/* "0" is the writer itself, in v1 and v2 alike. */
static int join_cgroups(const struct sbx_plan *plan)
{
	for (int i = 0; i < plan->ncg; i++) {
		int fd = open(plan->cg_procs[i], O_WRONLY | O_CLOEXEC);
		ssize_t n;
		if (fd < 0)
			return -1;
		n = write(fd, "0", 1);
		close(fd);
		if (n != 1)
			return -1;
	}
	return 0;
}

/* Reaps until the worker is among the dead; orphans of the task land here too. */
static int reap_worker(pid_t worker_pid)
{
	for (;;) {
		int status;
		pid_t p = waitpid(-1, &status, 0);
		if (p == worker_pid)
			return status;
		if (p < 0 && errno != EINTR)
			return -1;
	}
}

_Noreturn void sbx_child_main(const struct sbx_plan *plan)
{
	const char *what = "setup";
	pid_t pid;
	int status;
	/* If the parent dies (a crashed daemon), init dies, and with it the whole namespace. The
	 * parent's thread waits for us, so it cannot exit first and fire this early. (Should the
	 * parent die before this line, the cgroup joined below is what dux_sandbox_sweep kills.) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(plan, "pdeathsig");
	if (close_others(plan) < 0)
		die(plan, "close fds");
	/* Joining before anything else: every fork from here on is counted and limited. */
	if (join_cgroups(plan) < 0)
		die(plan, "cgroup attach");
	if (sethostname("sandbox", 7) < 0)
		die(plan, "sethostname");
	if (sbx_mount_root(plan, &what) < 0)
		die(plan, what);
	/* The raw system call, not fork(3): glibc's fork (and ASan's wrapper of it) takes locks
	 * that another thread of the parent may have held at clone time, which would hang here. */
	pid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		die(plan, "fork");
	if (pid == 0)
		worker(plan);
	/* Init keeps no copy of the task's stdio: only the task's own processes hold its pipes. */
	close(plan->stdin_fd);
	close(plan->stdout_fd);
	close(plan->stderr_fd);
	status = reap_worker(pid);
	if (status < 0)
		die(plan, "waitpid");
	send_msg(plan->status_fd, SBX_MSG_DONE, status, 0, NULL);
	_exit(0);
}
