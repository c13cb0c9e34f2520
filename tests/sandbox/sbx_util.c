/* sbx_util.c - see sbx_util.h. The leftover checks look at the host directly (cgroupfs,
 * mountinfo, /proc), not through the library under test. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sbx_util.h"

static char base[128], parent[64];

static const char *const hierarchies[] = { "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu",
	"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/pids",
	"/sys/fs/cgroup/unified", "/sys/fs/cgroup" };

void sbx_require_root(const char *test_name)
{
	if (geteuid() == 0)
		return;
	fprintf(stderr, "\n*** %s SKIPPED: the sandbox needs root (cgroups, mounts, namespaces). ***\n"
			"*** CI runs as root; run it as root to test the sandbox. ***\n\n", test_name);
	exit(77);
}

static void names(void)
{
	if (base[0])
		return;
	snprintf(base, sizeof(base), "/var/tmp/duxos-sbxtest-%d", (int)getpid());
	snprintf(parent, sizeof(parent), "duxos-sbxtest-%d", (int)getpid());
}

const char *sbx_scratch_base(void)
{
	names();
	return base;
}

const char *sbx_cgroup_parent(void)
{
	names();
	return parent;
}

void sbx_spec(struct dux_sandbox_spec *spec, enum dux_sandbox_runtime rt, const char *code)
{
	dux_sandbox_spec_init(spec);
	spec->runtime = rt;
	if (rt == DUX_SANDBOX_EXEC)
		spec->exec_path = code;
	else if (code)
		spec->code = code, spec->code_len = strlen(code);
	spec->timeout_ms = 20000;
	spec->scratch_base = sbx_scratch_base();
	spec->cgroup_parent = sbx_cgroup_parent();
}

void sbx_run(const struct dux_sandbox_spec *spec, struct dux_sandbox_result *res)
{
	const char *why = NULL;
	int r = dux_sandbox_run(spec, res, &why);
	if (r != 0)
		fail_msg("dux_sandbox_run refused: %s (%s)", why ? why : "?", dux_strerror(r));
	if (res->reason == DUX_SANDBOX_SETUP_FAILED)
		print_message("setup-failed:%s\n", res->detail);
}

static int count_entries(const char *dir, bool dirs_only)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (!dirs_only || e->d_type == DT_DIR))
			n++;
	closedir(d);
	return n;
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Processes in one of our cgroups, seen from /proc/PID/cgroup. */
static int count_cgroup_procs(void)
{
	char path[300], needle[80];
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	snprintf(needle, sizeof(needle), "/%s/", parent);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cgroup", e->d_name);
		n += file_contains(path, needle);
	}
	if (d)
		closedir(d);
	return n;
}

void sbx_assert_clean(void)
{
	char dir[160];
	names();
	if (count_entries(base, false) != 0)
		fail_msg("scratch dirs left in %s", base);
	for (size_t i = 0; i < sizeof(hierarchies) / sizeof(hierarchies[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", hierarchies[i], parent);
		if (count_entries(dir, true) != 0)
			fail_msg("cgroup dirs left in %s", dir);
	}
	if (file_contains("/proc/self/mountinfo", base) || file_contains("/proc/1/mountinfo", base))
		fail_msg("a mount under %s is visible on the host", base);
	if (count_cgroup_procs() != 0)
		fail_msg("processes left in a cgroup under %s", parent);
}

int sbx_count_procs(const char *needle)
{
	char path[300], cmd[512];
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		FILE *f;
		size_t len;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		len = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[len] = '\0';
		n += strstr(cmd, needle) != NULL;
	}
	if (d)
		closedir(d);
	return n;
}

void sbx_remove_parents(void)
{
	struct dux_sandbox_spec spec;
	char dir[160];
	names();
	/* After a failed case a sandbox of a thread may have died with the test: sweep first. */
	sbx_spec(&spec, DUX_SANDBOX_BASH, "true");
	(void)!dux_sandbox_sweep(&spec, NULL);
	for (size_t i = 0; i < sizeof(hierarchies) / sizeof(hierarchies[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", hierarchies[i], parent);
		(void)rmdir(dir);
	}
	(void)rmdir(base);
}

int sbx_teardown_all(void **state)
{
	(void)state;
	sbx_remove_parents();
	return 0;
}
