/* sandbox.h - the native sandbox of duxos-tasks: runs one program or script of someone else's
 * in fresh PID, mount, network, IPC and UTS namespaces, under its own cgroup (memory, CPU,
 * pids; v1/hybrid or v2 unified, detected at run time), rlimits, no capabilities, uid/gid
 * 65534, a seccomp filter, on a read-only root built from a tmpfs with only what interpreters
 * need, with a private writable scratch dir as /work and /tmp.
 *
 * Must run as root on the host (it creates cgroups and mounts). Library code: never logs;
 * every failure is returned or described in the result. dux_sandbox_run is safe to call from
 * several threads at once (each call has its own cgroup, scratch dir and namespaces). */
#ifndef DUX_SANDBOX_H
#define DUX_SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dux/err.h>

enum dux_sandbox_runtime {
	DUX_SANDBOX_BASH,   /* /bin/bash  FILE */
	DUX_SANDBOX_PYTHON, /* /usr/bin/python3 FILE */
	DUX_SANDBOX_NODE,   /* /usr/bin/node FILE */
	DUX_SANDBOX_EXEC,   /* tests and benchmarks only: spec.exec_path with spec.exec_args */
};

/* Limits of the validation (dux_sandbox_spec_check). */
#define DUX_SANDBOX_MEMORY_MIN (8ULL << 20)
#define DUX_SANDBOX_MEMORY_MAX (64ULL << 30)
#define DUX_SANDBOX_CPU_MIN_MILLI 10u /* the kernel's smallest CFS quota is 1 ms per 100 ms */
#define DUX_SANDBOX_CPU_MAX_MILLI 256000u
#define DUX_SANDBOX_PIDS_MAX 65536u
#define DUX_SANDBOX_TIMEOUT_MAX_MS (24u * 3600u * 1000u)
#define DUX_SANDBOX_OUTPUT_MAX (256u << 20)
#define DUX_SANDBOX_CODE_MAX (16u << 20)
#define DUX_SANDBOX_INPUT_MAX (64u << 20)
#define DUX_SANDBOX_ARGS_MAX 32

/* Every pointer is borrowed for the duration of dux_sandbox_run. */
struct dux_sandbox_spec {
	enum dux_sandbox_runtime runtime;
	const char *exec_path;        /* DUX_SANDBOX_EXEC: absolute path of the program */
	const char *const *exec_args; /* DUX_SANDBOX_EXEC: NULL-terminated argv[1..], or NULL */
	const char *code;             /* script text, written to the scratch dir; NULL = none */
	size_t code_len;
	const char *input; /* bytes on the program's stdin; NULL = empty */
	size_t input_len;
	uint64_t memory_bytes;   /* cgroup memory limit (no swap) */
	uint32_t cpu_millicores; /* CFS quota: 1000 = one core */
	uint32_t pids_max;       /* cgroup pids limit (threads count) */
	uint32_t timeout_ms;     /* wall clock, from start to the whole tree gone */
	size_t output_cap;       /* per stream (stdout, stderr); more kills the task */
	uint64_t file_size_max;  /* RLIMIT_FSIZE */
	bool network_access;     /* false: a new network namespace with no interface up */
	const char *scratch_base; /* host dir holding scratch dirs; NULL = default below */
	/* Set to true by another thread to end the run now (reason cancelled); NULL = never.
	 * Looked at every 100 ms. */
	const atomic_bool *cancel;
	const char *cgroup_parent; /* cgroup under each hierarchy's root; NULL = default below */
};

#define DUX_SANDBOX_SCRATCH_BASE "/var/tmp/duxos-sandbox"
#define DUX_SANDBOX_CGROUP_PARENT "duxos-sandbox"
#define DUX_SANDBOX_UID 65534 /* nobody: the task never runs as root, even in its namespaces */

/* Writes the defaults of the seed's sandbox section: memory 512m, cpu 1.0, timeout 300 s,
 * no network; pids 128, output 1 MiB per stream, files up to 64 MiB. */
void dux_sandbox_spec_init(struct dux_sandbox_spec *spec);

/* The seed's textual forms. On failure *ret_why is a static English reason and the
 * out-parameter is untouched. "512m" (k, m, g, t: binary units; optional trailing b; a bare
 * number is bytes), "1.0" (cores, up to 3 decimals). */
DUX_MUST_USE int dux_sandbox_parse_memory(const char *text, uint64_t *ret_bytes, const char **ret_why);
DUX_MUST_USE int dux_sandbox_parse_cpu(const char *text, uint32_t *ret_millicores, const char **ret_why);
/* "bash" | "python" | "node" (the seed's allowed_commands); "exec" is not accepted here. */
DUX_MUST_USE int dux_sandbox_parse_runtime(const char *text, enum dux_sandbox_runtime *ret, const char **ret_why);

/* 0 or DUX_EINVAL with *ret_why a static English reason. */
DUX_MUST_USE int dux_sandbox_spec_check(const struct dux_sandbox_spec *spec, const char **ret_why);

enum dux_sandbox_reason {
	DUX_SANDBOX_OK,           /* exited with status 0 */
	DUX_SANDBOX_NONZERO_EXIT, /* exited with another status */
	DUX_SANDBOX_SIGNALED,     /* killed by a signal that is none of the below */
	DUX_SANDBOX_TIMEOUT,
	DUX_SANDBOX_MEMORY_LIMIT, /* the cgroup OOM-killed a process */
	DUX_SANDBOX_PIDS_LIMIT,   /* a fork failed on the pids limit and the task did not succeed */
	DUX_SANDBOX_OUTPUT_LIMIT, /* stdout or stderr went past output_cap */
	DUX_SANDBOX_SETUP_FAILED, /* detail names the step, e.g. "cgroup", "mount", "exec" */
	DUX_SANDBOX_CANCELLED,    /* spec.cancel was set: the whole tree was killed */
};

/* The result owns out and err (NUL-terminated for convenience; may contain NULs). */
struct dux_sandbox_result {
	enum dux_sandbox_reason reason;
	char detail[96]; /* setup step and errno text for SETUP_FAILED; otherwise empty */
	bool exited;     /* exit_code valid */
	int exit_code;
	int signal; /* the program's terminating signal, 0 if none */
	char *out;
	size_t out_len;
	bool out_truncated;
	char *err;
	size_t err_len;
	bool err_truncated;
	bool pids_limit_hit;
	uint64_t cpu_user_us;
	uint64_t cpu_sys_us;
	uint64_t peak_memory_bytes;
	uint64_t wall_us;
	const char *cgroup_mode; /* static: "v1" or "v2" */
};

/* Runs spec to the end. 0: *ret filled (a task that failed or a sandbox that could not be set
 * up is still 0; see ret->reason); the caller frees it with dux_sandbox_result_release.
 * DUX_EINVAL: spec refused (*ret_why says why); DUX_ENOMEM. On error *ret is untouched and
 * nothing is left behind. Every cgroup, scratch dir, mount and process it made is gone when
 * it returns, whatever the outcome. */
DUX_MUST_USE int dux_sandbox_run(const struct dux_sandbox_spec *spec, struct dux_sandbox_result *ret,
	const char **ret_why);

/* Removes what sandboxes of an earlier process left behind when it died mid-run (their init
 * died with it): every cgroup under spec->cgroup_parent, killing what is still in them, and
 * every scratch dir under spec->scratch_base (NULL: the defaults). Call at start-up, before
 * this process runs any sandbox with the same base and parent: it takes whatever it finds.
 * ret_count (may be NULL) gets the number of scratch dirs and cgroup dirs removed.
 * 0, DUX_EIO when something could not be removed (the rest still is), DUX_EINVAL bad names. */
DUX_MUST_USE int dux_sandbox_sweep(const struct dux_sandbox_spec *spec, unsigned *ret_count);

/* Frees what the result owns; the struct itself is the caller's. Accepts a zeroed result. */
void dux_sandbox_result_release(struct dux_sandbox_result *res);

/* "ok", "nonzero-exit", "killed-by-signal", "timeout", "memory-limit", "pids-limit",
 * "output-limit", "setup-failed", "cancelled". */
const char *dux_sandbox_reason_name(enum dux_sandbox_reason reason);

/* The result as a JSON object text (reason as "setup-failed:<detail>" when set-up failed).
 * Caller frees with free(). NULL on allocation failure. */
char *dux_sandbox_result_json(const struct dux_sandbox_result *res);

#endif
