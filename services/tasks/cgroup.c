/* cgroup.c - one sandbox's cgroup on the v1/hybrid hierarchies (memory, cpu, cpuacct, pids
 * mounted separately or together) or on the v2 unified one, detected from mountinfo. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_int.h"

#define CFS_PERIOD_US 100000u

static bool has_opt(const char *opts, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

static void set_path(char *dst, const char *mnt, size_t len)
{
	if (len >= SBX_PATH_MAX)
		len = 0; /* a mount point this long is not one of ours */
	memcpy(dst, mnt, len);
	dst[len] = '\0';
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [tags] - fstype source superopts". */
static void parse_line(const char *line, struct sbx_cg_mounts *m)
{
	char root[8], mnt[SBX_PATH_MAX], fstype[16], superopts[256];
	const char *dash = strstr(line, " - ");
	if (!dash || sscanf(line, "%*s %*s %*s %7s %511s", root, mnt) != 2 || strcmp(root, "/") != 0)
		return;
	if (sscanf(dash, " - %15s %*s %255s", fstype, superopts) != 2)
		return;
	if (strcmp(fstype, "cgroup2") == 0 && !m->v2[0])
		set_path(m->v2, mnt, strlen(mnt));
	if (strcmp(fstype, "cgroup") != 0)
		return;
	if (has_opt(superopts, "memory"))
		set_path(m->mem, mnt, strlen(mnt));
	if (has_opt(superopts, "cpu"))
		set_path(m->cpu, mnt, strlen(mnt));
	if (has_opt(superopts, "cpuacct"))
		set_path(m->acct, mnt, strlen(mnt));
	if (has_opt(superopts, "pids"))
		set_path(m->pids, mnt, strlen(mnt));
}

int sbx_cg_parse_mountinfo(const char *text, struct sbx_cg_mounts *ret)
{
	struct sbx_cg_mounts m;
	memset(&m, 0, sizeof(m));
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		parse_line(p, &m);
	if (m.mem[0]) {
		/* Hybrid: the limits live where the memory controller is. */
		if (!m.cpu[0] || !m.acct[0] || !m.pids[0])
			return DUX_ENOENT;
		m.mode = SBX_CG_V1;
	} else if (m.v2[0]) {
		m.mode = SBX_CG_V2;
	} else {
		return DUX_ENOENT;
	}
	*ret = m;
	return DUX_OK;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 1;
	if (fd < 0)
		return DUX_EIO;
	/* seq_files (mountinfo) hand out a page per read. */
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0)
		return DUX_EIO;
	buf[len] = '\0';
	return DUX_OK;
}

static int write_at(const char *dir, const char *file, const char *value)
{
	char path[SBX_PATH_MAX + 64];
	int fd, r = DUX_OK;
	size_t len = strlen(value);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? DUX_ENOENT : DUX_EIO;
	if (write(fd, value, len) != (ssize_t)len)
		r = DUX_EIO;
	close(fd);
	return r;
}

static int read_u64_at(const char *dir, const char *file, uint64_t *ret)
{
	char path[SBX_PATH_MAX + 64], buf[64], *end;
	unsigned long long v;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return DUX_EIO;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return DUX_EPROTO;
	*ret = v;
	return DUX_OK;
}

/* The value of "key N" in a flat keyed file such as memory.events or cpu.stat. */
static uint64_t read_key_at(const char *dir, const char *file, const char *key)
{
	char path[SBX_PATH_MAX + 64], buf[2048];
	size_t n = strlen(key);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
	return 0;
}

static int mkdir_ok(const char *path)
{
	return mkdir(path, 0755) == 0 || errno == EEXIST ? DUX_OK : DUX_EIO;
}

/* Adds <mount>/<parent>/<name> to cg unless that hierarchy is already there; returns its index. */
static int add_dir(struct sbx_cgroup *cg, const char *mnt, const char *parent, const char *name)
{
	char path[SBX_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", mnt, parent);
	if (n < 0 || (size_t)n + strlen(name) + 2 >= sizeof(path))
		return DUX_ERANGE;
	for (int i = 0; i < cg->ndirs; i++)
		if (strncmp(cg->dirs[i], path, (size_t)n) == 0 && cg->dirs[i][n] == '/')
			return i;
	if (mkdir_ok(path) < 0)
		return DUX_EIO;
	if (snprintf(cg->dirs[cg->ndirs], SBX_PATH_MAX, "%s/%s", path, name) >= SBX_PATH_MAX)
		return DUX_ERANGE;
	if (mkdir(cg->dirs[cg->ndirs], 0755) < 0)
		return DUX_EIO;
	return cg->ndirs++;
}

static int limits_v1(const struct sbx_cgroup *cg, const struct dux_sandbox_spec *spec, const char **ret_what)
{
	char v[32];
	int r;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)spec->memory_bytes);
	*ret_what = "cgroup memory.limit_in_bytes";
	if (write_at(cg->dirs[cg->mem], "memory.limit_in_bytes", v) < 0)
		return DUX_EIO;
	/* Memory+swap at the same value: no swapping past the limit. Absent without swap accounting. */
	*ret_what = "cgroup memory.memsw.limit_in_bytes";
	r = write_at(cg->dirs[cg->mem], "memory.memsw.limit_in_bytes", v);
	if (r < 0 && r != DUX_ENOENT)
		return r;
	*ret_what = "cgroup cpu.cfs_quota_us";
	snprintf(v, sizeof(v), "%u", CFS_PERIOD_US);
	if (write_at(cg->dirs[cg->cpu], "cpu.cfs_period_us", v) < 0)
		return DUX_EIO;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)spec->cpu_millicores * CFS_PERIOD_US / 1000);
	if (write_at(cg->dirs[cg->cpu], "cpu.cfs_quota_us", v) < 0)
		return DUX_EIO;
	*ret_what = "cgroup pids.max";
	snprintf(v, sizeof(v), "%u", spec->pids_max);
	return write_at(cg->dirs[cg->pids], "pids.max", v);
}

static int limits_v2(const struct sbx_cgroup *cg, const struct dux_sandbox_spec *spec, const char **ret_what)
{
	const char *d = cg->dirs[0];
	char v[48];
	int r;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)spec->memory_bytes);
	*ret_what = "cgroup memory.max";
	if (write_at(d, "memory.max", v) < 0)
		return DUX_EIO;
	*ret_what = "cgroup memory.swap.max";
	r = write_at(d, "memory.swap.max", "0");
	if (r < 0 && r != DUX_ENOENT)
		return r;
	/* An OOM kill takes the whole task, not one process of it. */
	*ret_what = "cgroup memory.oom.group";
	if (write_at(d, "memory.oom.group", "1") < 0)
		return DUX_EIO;
	*ret_what = "cgroup cpu.max";
	snprintf(v, sizeof(v), "%llu %u", (unsigned long long)spec->cpu_millicores * CFS_PERIOD_US / 1000,
		CFS_PERIOD_US);
	if (write_at(d, "cpu.max", v) < 0)
		return DUX_EIO;
	*ret_what = "cgroup pids.max";
	snprintf(v, sizeof(v), "%u", spec->pids_max);
	return write_at(d, "pids.max", v);
}

/* v2 only hands controllers down to children that every ancestor enabled for its subtree. The
 * hierarchy root is exempt from the no-internal-processes rule, and our parent holds none. */
static int enable_v2(const char *mnt, const char *parent)
{
	char path[SBX_PATH_MAX];
	if (write_at(mnt, "cgroup.subtree_control", "+memory +cpu +pids") < 0)
		return DUX_EIO;
	if (snprintf(path, sizeof(path), "%s/%s", mnt, parent) >= (int)sizeof(path) || mkdir_ok(path) < 0)
		return DUX_EIO;
	return write_at(path, "cgroup.subtree_control", "+memory +cpu +pids");
}

static int make_dirs(struct sbx_cgroup *cg, const struct sbx_cg_mounts *m, const char *parent,
	const char *name, const char **ret_what)
{
	*ret_what = "cgroup mkdir";
	if (m->mode == SBX_CG_V2) {
		*ret_what = "cgroup v2 subtree_control";
		if (enable_v2(m->v2, parent) < 0)
			return DUX_EIO;
		*ret_what = "cgroup mkdir";
		cg->mem = cg->cpu = cg->acct = cg->pids = add_dir(cg, m->v2, parent, name);
		return cg->mem < 0 ? DUX_EIO : DUX_OK;
	}
	if ((cg->mem = add_dir(cg, m->mem, parent, name)) < 0 ||
		(cg->cpu = add_dir(cg, m->cpu, parent, name)) < 0 ||
		(cg->acct = add_dir(cg, m->acct, parent, name)) < 0 ||
		(cg->pids = add_dir(cg, m->pids, parent, name)) < 0)
		return DUX_EIO;
	return DUX_OK;
}

int sbx_cg_set_limits(const struct sbx_cgroup *cg, const struct dux_sandbox_spec *spec, const char **ret_what)
{
	return cg->mode == SBX_CG_V2 ? limits_v2(cg, spec, ret_what) : limits_v1(cg, spec, ret_what);
}

int sbx_cg_mounts(struct sbx_cg_mounts *ret)
{
	static __thread char buf[65536];
	if (read_small("/proc/self/mountinfo", buf, sizeof(buf)) < 0)
		return DUX_EIO;
	return sbx_cg_parse_mountinfo(buf, ret);
}

int sbx_cg_create(struct sbx_cgroup *cg, const struct dux_sandbox_spec *spec, const char *name,
	const char **ret_what)
{
	struct sbx_cg_mounts m;
	const char *parent = spec->cgroup_parent ? spec->cgroup_parent : DUX_SANDBOX_CGROUP_PARENT;
	int r;
	memset(cg, 0, sizeof(*cg));
	*ret_what = "cgroup controllers not mounted";
	if ((r = sbx_cg_mounts(&m)) < 0)
		return r;
	cg->mode = m.mode;
	r = make_dirs(cg, &m, parent, name, ret_what);
	if (r == DUX_OK)
		r = sbx_cg_set_limits(cg, spec, ret_what);
	if (r < 0)
		(void)sbx_cg_destroy(cg);
	return r;
}

int sbx_cg_procs_paths(const struct sbx_cgroup *cg, char (*ret)[SBX_PATH_MAX + 16], int *ret_n)
{
	for (int i = 0; i < cg->ndirs; i++)
		if (snprintf(ret[i], SBX_PATH_MAX + 16, "%s/cgroup.procs", cg->dirs[i]) >= SBX_PATH_MAX + 16)
			return DUX_ERANGE;
	*ret_n = cg->ndirs;
	return DUX_OK;
}

/* cpuacct.usage is exact (ns); usage_user/usage_sys come from sampled ticks and fall short of
 * it, so they only split the exact total. */
static void v1_cpu(const char *dir, struct sbx_usage *ret)
{
	uint64_t total = 0, user = 0, sys = 0;
	if (read_u64_at(dir, "cpuacct.usage", &total) < 0)
		return;
	(void)read_u64_at(dir, "cpuacct.usage_user", &user);
	(void)read_u64_at(dir, "cpuacct.usage_sys", &sys);
	if (user + sys == 0)
		user = 1;
	ret->cpu_user_us = (uint64_t)((double)total * (double)user / (double)(user + sys)) / 1000;
	ret->cpu_sys_us = total / 1000 - ret->cpu_user_us;
}

void sbx_cg_usage(const struct sbx_cgroup *cg, struct sbx_usage *ret)
{
	uint64_t v = 0;
	memset(ret, 0, sizeof(*ret));
	if (cg->ndirs == 0)
		return;
	if (cg->mode == SBX_CG_V2) {
		const char *d = cg->dirs[0];
		ret->cpu_user_us = read_key_at(d, "cpu.stat", "user_usec");
		ret->cpu_sys_us = read_key_at(d, "cpu.stat", "system_usec");
		if (read_u64_at(d, "memory.peak", &v) == 0)
			ret->peak_memory = v;
		ret->oom_killed = read_key_at(d, "memory.events", "oom_kill") > 0;
		ret->pids_hit = read_key_at(d, "pids.events", "max") > 0;
		return;
	}
	v1_cpu(cg->dirs[cg->acct], ret);
	if (read_u64_at(cg->dirs[cg->mem], "memory.max_usage_in_bytes", &v) == 0)
		ret->peak_memory = v;
	ret->oom_killed = read_key_at(cg->dirs[cg->mem], "memory.oom_control", "oom_kill") > 0;
	ret->pids_hit = read_key_at(cg->dirs[cg->pids], "pids.events", "max") > 0;
}

/* SIGKILL every pid listed; true when the list was empty. */
static bool kill_listed(const char *dir)
{
	char path[SBX_PATH_MAX + 16], buf[8192];
	bool empty = true;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return true;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0) {
			empty = false;
			(void)kill((pid_t)pid, SIGKILL);
		}
	}
	return empty;
}

void sbx_cg_kill(const struct sbx_cgroup *cg)
{
	if (cg->ndirs == 0)
		return;
	if (cg->mode == SBX_CG_V2 && write_at(cg->dirs[0], "cgroup.kill", "1") == 0)
		return;
	(void)kill_listed(cg->dirs[cg->pids]);
}

/* Until the dir is gone: kill what is in it, then rmdir (EBUSY while the killed exit). */
int sbx_cg_remove_dir(const char *dir, bool v2)
{
	const struct timespec pause = { 0, 2 * 1000 * 1000 };
	if (v2)
		(void)write_at(dir, "cgroup.kill", "1");
	for (int i = 0; i < 1500; i++) {
		(void)kill_listed(dir);
		if (rmdir(dir) == 0 || errno == ENOENT)
			return DUX_OK;
		if (errno != EBUSY)
			return DUX_EIO;
		nanosleep(&pause, NULL);
	}
	return DUX_EIO;
}

int sbx_cg_destroy(struct sbx_cgroup *cg)
{
	int r = DUX_OK;
	for (int i = cg->ndirs - 1; i >= 0; i--)
		if (sbx_cg_remove_dir(cg->dirs[i], cg->mode == SBX_CG_V2) < 0)
			r = DUX_EIO;
	cg->ndirs = 0;
	return r;
}
