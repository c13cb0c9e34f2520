/* sandbox_run: what a task may do. Hello worlds in bash, python3 and node that read stdin and
 * whose stdout is captured exactly; exit codes; usage figures (CPU time of a busy loop, peak
 * memory of a 50 MB allocation); a set-up failure reported as such. Nothing left after each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sbx_util.h"

static void run_hello(enum dux_sandbox_runtime rt, const char *code, const char *want)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	sbx_spec(&spec, rt, code);
	spec.input = "world", spec.input_len = 5;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "ok");
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.out_len, strlen(want));
	assert_memory_equal(res.out, want, res.out_len);
	assert_int_equal(res.err_len, 0);
	assert_false(res.out_truncated);
	assert_true(res.wall_us > 0);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_hello_bash(void **state)
{
	(void)state;
	run_hello(DUX_SANDBOX_BASH, "read -r x; printf 'hello %s\\n' \"$x\"", "hello world\n");
}

static void test_hello_python(void **state)
{
	(void)state;
	run_hello(DUX_SANDBOX_PYTHON, "import sys\nprint('hello ' + sys.stdin.read())", "hello world\n");
}

static void test_hello_node(void **state)
{
	(void)state;
	run_hello(DUX_SANDBOX_NODE,
		"let d='';process.stdin.on('data',c=>d+=c).on('end',()=>console.log('hello '+d));",
		"hello world\n");
}

/* No capability in any set, no_new_privs, a seccomp filter (mode 2), as the kernel reports them. */
static void test_privileges(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH,
		"grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '");
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	assert_string_equal(res.out, "CapInh: 0000000000000000\nCapPrm: 0000000000000000\n"
				     "CapEff: 0000000000000000\nCapBnd: 0000000000000000\n"
				     "CapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n");
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* The task sees itself as nobody, in its own scratch dir, on host name "sandbox". */
static void test_identity(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "echo $(id -u):$(id -g):$(pwd):$(hostname):$$; exit 3");
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_NONZERO_EXIT);
	assert_int_equal(res.exit_code, 3);
	/* bash is PID 2: PID 1 is the sandbox's init, in a PID namespace of its own. */
	assert_string_equal(res.out, "65534:65534:/work:sandbox:2\n");
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_usage_cpu(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_PYTHON,
		"import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass\n");
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	print_message("cpu user %llu us, sys %llu us, wall %llu us\n", (unsigned long long)res.cpu_user_us,
		(unsigned long long)res.cpu_sys_us, (unsigned long long)res.wall_us);
	assert_true(res.cpu_user_us + res.cpu_sys_us >= 500000);
	assert_true(res.cpu_user_us + res.cpu_sys_us <= res.wall_us + 50000);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* A CFS quota of 0.25 cores: 0.4 s of CPU takes at least 1.6 s of wall time. */
static void test_cpu_limit(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_PYTHON,
		"import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n");
	spec.cpu_millicores = 250;
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	print_message("0.4 s CPU at 0.25 cores: wall %llu us\n", (unsigned long long)res.wall_us);
	assert_true(res.wall_us >= 1400000);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_usage_memory(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	/* bytearray zero-fills: every page is touched, so it is resident and charged. */
	sbx_spec(&spec, DUX_SANDBOX_PYTHON, "b = bytearray(50 * 1024 * 1024)\nprint(len(b))\n");
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	assert_string_equal(res.out, "52428800\n");
	print_message("peak memory %llu bytes\n", (unsigned long long)res.peak_memory_bytes);
	assert_true(res.peak_memory_bytes > 50ULL * 1024 * 1024);
	assert_true(res.peak_memory_bytes < 200ULL * 1024 * 1024);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* A program that does not exist in the sandbox's root: set-up failed, at exec, and said so. */
static void test_setup_failed_exec(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_EXEC, "/root/no-such-program");
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_SETUP_FAILED);
	assert_non_null(strstr(res.detail, "exec"));
	assert_non_null(strstr(res.detail, "No such file"));
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static void test_exec_true_json(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	char *json;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_EXEC, "/bin/true");
	sbx_run(&spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	json = dux_sandbox_result_json(&res);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"reason\":\"ok\""));
	assert_non_null(strstr(json, "\"exit_code\":0"));
	free(json);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

struct canceller {
	atomic_bool *flag;
	unsigned delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	usleep(c->delay_ms * 1000u);
	atomic_store(c->flag, true);
	return NULL;
}

/* Another thread sets spec.cancel: the whole tree dies well before the timeout, the reason is
 * cancelled, and nothing is left behind. */
static void test_cancel(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	atomic_bool flag = false;
	struct canceller c = {&flag, 300};
	pthread_t th;
	(void)state;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "sleep 30 & sleep 30; echo never");
	spec.cancel = &flag;
	assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
	sbx_run(&spec, &res);
	pthread_join(th, NULL);
	assert_int_equal(res.reason, DUX_SANDBOX_CANCELLED);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "cancelled");
	assert_true(res.wall_us < 10u * 1000000u);
	assert_int_equal(res.out_len, 0);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

static atomic_bool churn_stop;

static void *nothing(void *arg)
{
	return arg;
}

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

/* A daemon creates threads all the time (one per HTTP connection). The sandbox's child comes
 * from a raw clone of such a process: had it used glibc's set*id, which waits for every thread
 * glibc knows of, a clone taken while a thread was being created would wait until the task's
 * timeout. Many runs under constant thread churn must each end at once. */
static void test_runs_under_thread_churn(void **state)
{
	pthread_t th;
	(void)state;
	atomic_store(&churn_stop, false);
	assert_int_equal(pthread_create(&th, NULL, churn, NULL), 0);
	for (int i = 0; i < 40; i++) {
		struct dux_sandbox_spec spec;
		struct dux_sandbox_result res;
		sbx_spec(&spec, DUX_SANDBOX_EXEC, "/bin/true");
		spec.timeout_ms = 10000;
		sbx_run(&spec, &res);
		if (res.reason != DUX_SANDBOX_OK || res.wall_us > 5u * 1000000u)
			fail_msg("run %d: %s after %llu us", i, dux_sandbox_reason_name(res.reason),
				 (unsigned long long)res.wall_us);
		dux_sandbox_result_release(&res);
	}
	atomic_store(&churn_stop, true);
	pthread_join(th, NULL);
	sbx_assert_clean();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_bash),
		cmocka_unit_test(test_hello_python),
		cmocka_unit_test(test_hello_node),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_privileges),
		cmocka_unit_test(test_usage_cpu),
		cmocka_unit_test(test_cpu_limit),
		cmocka_unit_test(test_usage_memory),
		cmocka_unit_test(test_setup_failed_exec),
		cmocka_unit_test(test_exec_true_json),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_runs_under_thread_churn),
	};
	sbx_require_root("sandbox_run");
	return cmocka_run_group_tests(tests, NULL, sbx_teardown_all);
}
