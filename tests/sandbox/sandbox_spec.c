/* sandbox_spec: the pure parts, no root needed: the seed's textual forms ("512m", "1.0"), the
 * runtime names, spec validation, and cgroup detection from mountinfo texts of a hybrid
 * machine (these), a v1 one with cpu,cpuacct together, a pure v2 one, and none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"
#include "sandbox_int.h"

static void test_parse_memory(void **state)
{
	static const struct { const char *text; uint64_t want; } good[] = {
		{ "512m", 512ULL << 20 }, { "512M", 512ULL << 20 }, { "512mb", 512ULL << 20 },
		{ "1g", 1ULL << 30 }, { "8192k", 8ULL << 20 }, { "8388608", 8ULL << 20 },
		{ "64g", 64ULL << 30 },
	};
	static const char *const bad[] = { "", "m", "-512m", " 512m", "512 m", "512x", "512mm",
		"1.5g", "4m", "65g", "99999999999999999999999", "18446744073709551615t", "0" };
	uint64_t v = 7;
	const char *why;
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dux_sandbox_parse_memory(good[i].text, &v, &why), 0);
		assert_int_equal(v, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		v = 7;
		if (dux_sandbox_parse_memory(bad[i], &v, &why) != DUX_EINVAL)
			fail_msg("accepted memory \"%s\"", bad[i]);
		assert_non_null(why);
		assert_int_equal(v, 7); /* untouched on failure */
	}
	assert_int_equal(dux_sandbox_parse_memory(NULL, &v, &why), DUX_EINVAL);
}

static void test_parse_cpu(void **state)
{
	static const struct { const char *text; uint32_t want; } good[] = {
		{ "1.0", 1000 }, { "1", 1000 }, { "0.25", 250 }, { "2.125", 2125 }, { "0.01", 10 },
		{ "256", 256000 },
	};
	static const char *const bad[] = { "", ".5", "1.", "1.0001", "-1", "abc", "1.0.0", "0",
		"0.009", "257", "1e3", " 1", "1 " };
	uint32_t v = 7;
	const char *why;
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dux_sandbox_parse_cpu(good[i].text, &v, &why), 0);
		assert_int_equal(v, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		v = 7;
		if (dux_sandbox_parse_cpu(bad[i], &v, &why) != DUX_EINVAL)
			fail_msg("accepted cpu \"%s\"", bad[i]);
		assert_non_null(why);
		assert_int_equal(v, 7);
	}
}

static void test_parse_runtime(void **state)
{
	enum dux_sandbox_runtime rt;
	const char *why;
	(void)state;
	assert_int_equal(dux_sandbox_parse_runtime("python", &rt, &why), 0);
	assert_int_equal(rt, DUX_SANDBOX_PYTHON);
	assert_int_equal(dux_sandbox_parse_runtime("node", &rt, &why), 0);
	assert_int_equal(rt, DUX_SANDBOX_NODE);
	assert_int_equal(dux_sandbox_parse_runtime("bash", &rt, &why), 0);
	assert_int_equal(rt, DUX_SANDBOX_BASH);
	assert_int_equal(dux_sandbox_parse_runtime("exec", &rt, &why), DUX_EINVAL);
	assert_int_equal(dux_sandbox_parse_runtime("/bin/sh", &rt, &why), DUX_EINVAL);
	assert_int_equal(dux_sandbox_parse_runtime("Python", &rt, &why), DUX_EINVAL);
}

static void expect_refused(const struct dux_sandbox_spec *s, const char *why_part)
{
	const char *why = NULL;
	struct dux_sandbox_result res;
	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(dux_sandbox_spec_check(s, &why), DUX_EINVAL);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("reason \"%s\" lacks \"%s\"", why, why_part);
	/* dux_sandbox_run refuses it before touching anything (no root needed to see that). */
	assert_int_equal(dux_sandbox_run(s, &res, &why), DUX_EINVAL);
	assert_int_equal(res.reason, 0x5a5a5a5a);
}

static void test_spec_check(void **state)
{
	struct dux_sandbox_spec s;
	const char *args[] = { "a", NULL };
	const char *why;
	(void)state;
	dux_sandbox_spec_init(&s);
	expect_refused(&s, "code is missing");
	s.code = "echo", s.code_len = 4;
	assert_int_equal(dux_sandbox_spec_check(&s, &why), 0);
	s.memory_bytes = 1;
	expect_refused(&s, "memory");
	dux_sandbox_spec_init(&s), s.code = "x", s.code_len = 1;
	s.cpu_millicores = 0;
	expect_refused(&s, "cpu");
	dux_sandbox_spec_init(&s), s.code = "x", s.code_len = 1;
	s.pids_max = 0;
	expect_refused(&s, "pids");
	s.pids_max = 10, s.timeout_ms = 0;
	expect_refused(&s, "timeout");
	s.timeout_ms = 10, s.cgroup_parent = "../escape";
	expect_refused(&s, "cgroup_parent");
	s.cgroup_parent = NULL, s.scratch_base = "relative/dir";
	expect_refused(&s, "scratch_base");
	s.scratch_base = NULL, s.input_len = 5;
	expect_refused(&s, "input");
	dux_sandbox_spec_init(&s);
	s.runtime = DUX_SANDBOX_EXEC;
	expect_refused(&s, "exec_path");
	s.exec_path = "bin/true";
	expect_refused(&s, "absolute");
	s.exec_path = "/bin/true", s.exec_args = args;
	assert_int_equal(dux_sandbox_spec_check(&s, &why), 0);
	s.runtime = (enum dux_sandbox_runtime)42;
	expect_refused(&s, "runtime");
}

/* Trimmed from this machine's /proc/self/mountinfo. */
static const char hybrid[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
/* Debian 11 style v1: cpu and cpuacct in one hierarchy; a bind of a sub-cgroup is ignored. */
static const char v1_joined[] =
	"25 24 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
	"26 24 0:24 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n"
	"27 24 0:25 / /sys/fs/cgroup/pids rw,nosuid shared:11 - cgroup cgroup rw,pids\n"
	"90 24 0:24 /docker/abc /mnt/memory rw - cgroup cgroup rw,memory\n";
/* Stock Debian 12 and the ISO. */
static const char v2[] =
	"22 26 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"24 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

static void test_mountinfo(void **state)
{
	struct sbx_cg_mounts m;
	(void)state;
	assert_int_equal(sbx_cg_parse_mountinfo(hybrid, &m), 0);
	assert_int_equal(m.mode, SBX_CG_V1);
	assert_string_equal(m.mem, "/sys/fs/cgroup/memory");
	assert_string_equal(m.cpu, "/sys/fs/cgroup/cpu");
	assert_string_equal(m.acct, "/sys/fs/cgroup/cpuacct");
	assert_string_equal(m.pids, "/sys/fs/cgroup/pids");
	assert_int_equal(sbx_cg_parse_mountinfo(v1_joined, &m), 0);
	assert_int_equal(m.mode, SBX_CG_V1);
	assert_string_equal(m.cpu, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(m.acct, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(m.mem, "/sys/fs/cgroup/memory");
	assert_int_equal(sbx_cg_parse_mountinfo(v2, &m), 0);
	assert_int_equal(m.mode, SBX_CG_V2);
	assert_string_equal(m.v2, "/sys/fs/cgroup");
	assert_int_equal(sbx_cg_parse_mountinfo("22 26 0:21 / /sys rw - sysfs sysfs rw\n", &m), DUX_ENOENT);
	/* memory as v1 but no pids hierarchy: refused rather than run without a pids limit */
	assert_int_equal(sbx_cg_parse_mountinfo(
		"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", &m), DUX_ENOENT);
}

/* A directory with the files a cgroup dir has; the content written is read back. */
static char fake[64];

static void fake_file(const char *name, const char *content)
{
	char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", fake, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
}

static void expect_file(const char *name, const char *want)
{
	char path[128], got[256] = "";
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", fake, name);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, want);
}

static void make_fake(void)
{
	snprintf(fake, sizeof(fake), "/tmp/sbx-fakecg-XXXXXX");
	assert_non_null(mkdtemp(fake));
}

static void remove_fake(void)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fake);
	assert_int_equal(system(cmd), 0);
}

/* The v2 files as sbx_cg_create writes and sbx_cg_usage reads them, on a directory of plain
 * files: these machines are hybrid, so the real v2 path only runs on stock Debian 12. */
static void test_v2_files(void **state)
{
	static const char *const empty[] = { "memory.max", "memory.swap.max", "memory.oom.group", "cpu.max", "pids.max" };
	struct dux_sandbox_spec spec;
	struct sbx_cgroup cg;
	struct sbx_usage u;
	const char *what = NULL;
	char path[128];
	(void)state;
	make_fake();
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
		fake_file(empty[i], "");
	memset(&cg, 0, sizeof(cg));
	cg.mode = SBX_CG_V2, cg.ndirs = 1;
	snprintf(cg.dirs[0], sizeof(cg.dirs[0]), "%s", fake);
	dux_sandbox_spec_init(&spec);
	spec.cpu_millicores = 1500, spec.pids_max = 77;
	assert_int_equal(sbx_cg_set_limits(&cg, &spec, &what), 0);
	expect_file("memory.max", "536870912");
	expect_file("memory.swap.max", "0");
	expect_file("memory.oom.group", "1");
	expect_file("cpu.max", "150000 100000");
	expect_file("pids.max", "77");
	fake_file("cpu.stat", "usage_usec 3500\nuser_usec 2500\nsystem_usec 1000\nnr_periods 0\n");
	fake_file("memory.peak", "52428800\n");
	fake_file("memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 1\n");
	fake_file("pids.events", "max 3\n");
	sbx_cg_usage(&cg, &u);
	assert_int_equal(u.cpu_user_us, 2500);
	assert_int_equal(u.cpu_sys_us, 1000);
	assert_int_equal(u.peak_memory, 52428800);
	assert_true(u.oom_killed);
	assert_true(u.pids_hit);
	fake_file("memory.events", "low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n");
	fake_file("pids.events", "max 0\n");
	sbx_cg_usage(&cg, &u);
	assert_false(u.oom_killed);
	assert_false(u.pids_hit);
	/* A missing file is a set-up failure that names it. */
	fake_file("pids.max", "");
	snprintf(path, sizeof(path), "%s/cpu.max", fake);
	assert_int_equal(unlink(path), 0);
	assert_true(sbx_cg_set_limits(&cg, &spec, &what) < 0);
	assert_string_equal(what, "cgroup cpu.max");
	remove_fake();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_memory),
		cmocka_unit_test(test_parse_cpu),
		cmocka_unit_test(test_parse_runtime),
		cmocka_unit_test(test_spec_check),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_v2_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
