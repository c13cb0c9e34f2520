/* sweep.c - dux_sandbox_sweep: what a crashed parent left (see sandbox.h). Its sandboxes are
 * already dead (init has PR_SET_PDEATHSIG SIGKILL); their cgroups and scratch dirs are not. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sandbox.h"
#include "sandbox_int.h"
#include "scratch.h"

/* Every subdir of <mnt>/<parent>, each a sandbox's cgroup. */
static int sweep_hierarchy(const char *mnt, const char *parent, bool v2, unsigned *count)
{
	char dir[SBX_PATH_MAX], sub[SBX_PATH_MAX + 256];
	struct dirent *e;
	DIR *d;
	int r = DUX_OK;
	if (!mnt[0] || snprintf(dir, sizeof(dir), "%s/%s", mnt, parent) >= (int)sizeof(dir))
		return DUX_OK;
	if (!(d = opendir(dir)))
		return errno == ENOENT ? DUX_OK : DUX_EIO;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (sbx_cg_remove_dir(sub, v2) < 0)
			r = DUX_EIO;
		else
			(*count)++;
	}
	closedir(d);
	return r;
}

static int sweep_cgroups(const char *parent, unsigned *count)
{
	struct sbx_cg_mounts m;
	const char *v1[4];
	int r = DUX_OK;
	if (sbx_cg_mounts(&m) < 0)
		return DUX_OK; /* no controllers, so no cgroups of ours either */
	if (m.mode == SBX_CG_V2)
		return sweep_hierarchy(m.v2, parent, true, count);
	v1[0] = m.mem, v1[1] = m.cpu, v1[2] = m.acct, v1[3] = m.pids;
	for (int i = 0; i < 4; i++) {
		/* cpu and cpuacct may be one hierarchy: the second pass finds it empty. */
		if (sweep_hierarchy(v1[i], parent, false, count) < 0)
			r = DUX_EIO;
	}
	return r;
}

static int sweep_scratch(const char *base, unsigned *count)
{
	struct sbx_scratch s;
	struct dirent *e;
	DIR *d = opendir(base);
	int r = DUX_OK;
	if (!d)
		return errno == ENOENT ? DUX_OK : DUX_EIO;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		memset(&s, 0, sizeof(s));
		if (snprintf(s.dir, sizeof(s.dir), "%s/%s", base, e->d_name) >= (int)sizeof(s.dir) ||
			sbx_scratch_remove(&s) < 0)
			r = DUX_EIO;
		else
			(*count)++;
	}
	closedir(d);
	return r;
}

int dux_sandbox_sweep(const struct dux_sandbox_spec *spec, unsigned *ret_count)
{
	struct dux_sandbox_spec check;
	unsigned count = 0;
	int r1, r2;
	/* Reuse the validation of the names: a spec that runs nothing but has these two. */
	dux_sandbox_spec_init(&check);
	check.runtime = DUX_SANDBOX_EXEC, check.exec_path = "/bin/true";
	check.scratch_base = spec ? spec->scratch_base : NULL;
	check.cgroup_parent = spec ? spec->cgroup_parent : NULL;
	if (dux_sandbox_spec_check(&check, NULL) < 0)
		return DUX_EINVAL;
	r1 = sweep_cgroups(check.cgroup_parent ? check.cgroup_parent : DUX_SANDBOX_CGROUP_PARENT, &count);
	r2 = sweep_scratch(check.scratch_base ? check.scratch_base : DUX_SANDBOX_SCRATCH_BASE, &count);
	if (ret_count)
		*ret_count = count;
	return r1 < 0 || r2 < 0 ? DUX_EIO : DUX_OK;
}
