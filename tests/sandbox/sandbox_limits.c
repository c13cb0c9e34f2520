/* sandbox_limits: the limits end a task with the right reason and nothing left behind: a fork
 * bomb (pids-limit), a memory bomb (memory-limit), a flood of output (output-limit), and a tree
 * of processes that ignore SIGTERM and outlive their parent (timeout, all of them gone within
 * timeout + slack). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sbx_util.h"

#define SLACK_US 5000000ULL /* generous: a loaded CI machine tears namespaces down slowly */

static void test_fork_bomb(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_PYTHON,
		"import os, time\n"
		"while True:\n"
		"    try:\n"
		"        os.fork()\n"
		"    except OSError:\n"
		"        time.sleep(0.01)\n");
	spec.pids_max = 32;
	spec.timeout_ms = 3000;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "pids-limit");
	assert_true(res.pids_limit_hit);
	assert_true(res.wall_us < 3000000ULL + SLACK_US);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* The classic bash one, with the parent staying around: same outcome. */
static void test_fork_bomb_bash(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "b() { b | b & }; b; sleep 30");
	spec.pids_max = 32;
	spec.timeout_ms = 2000;
	sbx_run(&spec, &res);
	print_message("bash fork bomb, timeout 2000 ms: wall %llu us\n", (unsigned long long)res.wall_us);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "pids-limit");
	assert_true(res.wall_us < 2000000ULL + SLACK_US);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_memory_bomb(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_PYTHON,
		"a = []\nwhile True:\n    a.append(bytearray(8 << 20))\n");
	spec.memory_bytes = 64ULL << 20;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "memory-limit");
	assert_true(res.peak_memory_bytes <= 64ULL << 20);
	assert_true(res.peak_memory_bytes >= 48ULL << 20);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_output_cap(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "echo -n abc >&2; yes");
	spec.output_cap = 100000;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "output-limit");
	assert_int_equal(res.out_len, 100000);
	assert_true(res.out_truncated);
	assert_memory_equal(res.out, "y\ny\ny\n", 6);
	assert_string_equal(res.err, "abc");
	assert_false(res.err_truncated);
	assert_true(res.wall_us < 5000000);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* Exactly at the cap is fine; the cap applies to each stream. */
static void test_output_at_cap(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "printf '%.0s-' $(seq 1000); printf '%.0s+' $(seq 1000) >&2");
	spec.output_cap = 1000;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "ok");
	assert_int_equal(res.out_len, 1000);
	assert_int_equal(res.err_len, 1000);
	assert_false(res.out_truncated);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_timeout_tree(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	/* Children that ignore SIGTERM, one re-parented (double fork), one in its own session. */
	sbx_spec(&spec, DUX_SANDBOX_BASH,
		"trap '' TERM\n"
		"(trap '' TERM; exec -a sbx-timeout-probe sleep 4242) &\n"
		"( (trap '' TERM; exec -a sbx-timeout-probe sleep 4242) & ) \n"
		"setsid bash -c \"trap '' TERM; exec -a sbx-timeout-probe sleep 4242\" &\n"
		"while :; do :; done\n");
	spec.timeout_ms = 1000;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "timeout");
	assert_false(res.exited);
	print_message("timeout 1000 ms: wall %llu us\n", (unsigned long long)res.wall_us);
	assert_true(res.wall_us >= 1000000);
	assert_true(res.wall_us < 1000000ULL + SLACK_US);
	assert_int_equal(sbx_count_procs("sbx-timeout-probe"), 0);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* A task that exits at once but leaves a daemon behind: the daemon dies with the task. */
static void test_orphan_dies_with_task(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH,
		"setsid bash -c \"trap '' TERM HUP; exec -a sbx-orphan-probe sleep 4242\" </dev/null >/dev/null 2>&1 &\n"
		"echo started\n");
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "ok");
	assert_true(res.wall_us < 5000000);
	assert_int_equal(sbx_count_procs("sbx-orphan-probe"), 0);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* The parent (a daemon) is killed mid-run: the task dies with it (its init has PDEATHSIG),
 * and dux_sandbox_sweep at the next start removes the cgroup and scratch dir it left. */
static void test_parent_crash(void **state)
{
	struct dux_sandbox_spec spec;
	unsigned swept = 0;
	pid_t pid;
	int i;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "exec -a sbx-crash-probe sleep 4242");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dux_sandbox_result res;
		const char *why;
		_exit(dux_sandbox_run(&spec, &res, &why) == 0 ? 0 : 1);
	}
	for (i = 0; i < 200 && sbx_count_procs("sbx-crash-probe") == 0; i++)
		usleep(20000);
	assert_int_equal(sbx_count_procs("sbx-crash-probe"), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	for (i = 0; i < 100 && sbx_count_procs("sbx-crash-probe") > 0; i++)
		usleep(20000);
	assert_int_equal(sbx_count_procs("sbx-crash-probe"), 0);
	assert_int_equal(dux_sandbox_sweep(&spec, &swept), 0);
	print_message("swept %u dirs\n", swept);
	assert_true(swept >= 2); /* the scratch dir and at least one cgroup dir */
	sbx_assert_clean();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_bomb),
		cmocka_unit_test(test_fork_bomb_bash),
		cmocka_unit_test(test_memory_bomb),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_output_at_cap),
		cmocka_unit_test(test_timeout_tree),
		cmocka_unit_test(test_orphan_dies_with_task),
		cmocka_unit_test(test_parent_crash),
	};
	sbx_require_root("sandbox_limits");
	return cmocka_run_group_tests(tests, NULL, sbx_teardown_all);
}
