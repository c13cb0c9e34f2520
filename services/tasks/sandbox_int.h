/* sandbox_int.h - what the files of the sandbox share; not for users of the library. */
#ifndef DUX_SANDBOX_INT_H
#define DUX_SANDBOX_INT_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

#define SBX_PATH_MAX 512
#define SBX_CG_MAX 4 /* distinct hierarchies: v1 memory, cpu, cpuacct, pids; v2 uses one */

const char *sbx_runtime_path(const struct dux_sandbox_spec *spec);

/* cgroup.c: one sandbox's cgroup, in one v2 dir or in up to four v1 hierarchies. */
enum sbx_cg_mode { SBX_CG_V1, SBX_CG_V2 };

struct sbx_cgroup {
	enum sbx_cg_mode mode;
	int ndirs;
	char dirs[SBX_CG_MAX][SBX_PATH_MAX]; /* each created dir of this sandbox */
	int mem, cpu, acct, pids;            /* index into dirs of each controller */
};

struct sbx_usage {
	uint64_t cpu_user_us, cpu_sys_us, peak_memory;
	bool oom_killed, pids_hit;
};

/* Parses mountinfo text (the contents of /proc/self/mountinfo) into the mount point of each
 * controller. v1 wins when the memory controller is mounted as v1 (hybrid). Exposed for tests. */
struct sbx_cg_mounts {
	enum sbx_cg_mode mode;
	char mem[SBX_PATH_MAX], cpu[SBX_PATH_MAX], acct[SBX_PATH_MAX], pids[SBX_PATH_MAX];
	char v2[SBX_PATH_MAX];
};
int sbx_cg_parse_mountinfo(const char *text, struct sbx_cg_mounts *ret);
/* The same from this process's /proc/self/mountinfo. */
int sbx_cg_mounts(struct sbx_cg_mounts *ret);
/* Kills what is in one cgroup dir and removes it; 0 when it is gone (or never was). */
int sbx_cg_remove_dir(const char *dir, bool v2);

/* Creates <mount>/<parent>/<name> with the limits of spec; on failure nothing is left. */
int sbx_cg_create(struct sbx_cgroup *cg, const struct dux_sandbox_spec *spec, const char *name,
	const char **ret_what);
/* Writes the limits of spec into cg's existing dirs (part of sbx_cg_create; exposed so that the
 * tests can check the v2 files on a machine that only has v1). */
int sbx_cg_set_limits(const struct sbx_cgroup *cg, const struct dux_sandbox_spec *spec, const char **ret_what);
/* The cgroup.procs file of each dir, into the plan (the child writes "0": itself). */
int sbx_cg_procs_paths(const struct sbx_cgroup *cg, char (*ret)[SBX_PATH_MAX + 16], int *ret_n);
/* SIGKILL to every process in it (cgroup.kill on v2 when there is one). */
void sbx_cg_kill(const struct sbx_cgroup *cg);
void sbx_cg_usage(const struct sbx_cgroup *cg, struct sbx_usage *ret);
/* Kills every process left in it and removes its dirs; 0, or DUX_EIO if a dir stays. */
int sbx_cg_destroy(struct sbx_cgroup *cg);

/* seccomp.c: the filter as classic BPF, built in the parent so the child does not allocate.
 * *ret is borrowed for the life of the process (built once, shared by all runs). */
int sbx_seccomp_get(bool network_access, const struct sock_fprog **ret);

/* Everything the child needs, prepared before clone: the child calls no allocator. */
struct sbx_plan {
	char root[SBX_PATH_MAX];    /* empty dir the tmpfs root is mounted on */
	char scratch[SBX_PATH_MAX]; /* host path of the scratch dir */
	const char *argv[DUX_SANDBOX_ARGS_MAX + 1];
	const char *envp[8];
	const struct sock_fprog *filter;
	int stdin_fd, stdout_fd, stderr_fd; /* child ends */
	int status_fd;                      /* child -> parent messages */
	int ncg;                            /* the child joins these cgroups itself, first thing */
	char cg_procs[SBX_CG_MAX][SBX_PATH_MAX + 16]; /* .../cgroup.procs */
	bool network_access;
	uint64_t file_size_max;
	uint32_t nproc_max;
};

/* Messages on the status pipe: fixed size, below PIPE_BUF, so each write is atomic. */
enum sbx_msg_kind { SBX_MSG_SETUP_FAILED = 1, SBX_MSG_DONE = 2 };
struct sbx_msg {
	int32_t kind;
	int32_t status; /* DONE: the worker's wait status */
	int32_t err;    /* SETUP_FAILED: errno */
	char what[52];  /* SETUP_FAILED: the step */
};

/* child.c: runs in the clone()d child (PID 1 of the new namespace); never returns. */
_Noreturn void sbx_child_main(const struct sbx_plan *plan);
/* mounts.c: builds the new root and pivots into it; errno kept on failure. */
int sbx_mount_root(const struct sbx_plan *plan, const char **ret_what);

#endif
