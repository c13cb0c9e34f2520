/* docker_fake: dux_docker_available and dux_docker_run against fake_dockerd (no Docker Engine
 * on these machines): the limits in the create request, stdin carrying code then input, the
 * demultiplexed output, usage from the stats stream, each outcome (ok, non-zero exit, OOM,
 * pids, timeout with kill, output cap with kill), every malformed answer as setup-failed, an
 * absent engine, and the container removed (by name, with force) on every path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "docker.h"
#include "fake_dockerd.h"

static struct fake_dockerd *fake;
static const char *cli_path; /* duxos-sandbox-run, from the command line */

static int setup_all(void **state)
{
	(void)state;
	fake = fake_dockerd_start();
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	fake_dockerd_stop(fake);
	return 0;
}

static void opts_for(struct dux_docker_opts *o, const char *socket)
{
	dux_docker_opts_init(o);
	o->socket_path = socket;
	o->request_timeout_ms = 5000;
	o->kill_grace_ms = 3000;
}

static void spec_for(struct dux_sandbox_spec *s, enum dux_sandbox_runtime rt, const char *code, const char *input)
{
	dux_sandbox_spec_init(s);
	s->runtime = rt;
	s->code = code, s->code_len = strlen(code);
	s->input = input, s->input_len = input ? strlen(input) : 0;
	s->timeout_ms = 10000;
}

/* Runs spec against the fake in mode; the run must be accepted. */
static void run(enum fake_docker_mode mode, const struct dux_sandbox_spec *spec, struct dux_sandbox_result *res)
{
	struct dux_docker_opts o;
	const char *why = NULL;
	opts_for(&o, fake_dockerd_socket(fake));
	fake_dockerd_reset(fake, mode);
	memset(res, 0xa5, sizeof(*res));
	if (dux_docker_run(&o, spec, res, &why) != 0)
		fail_msg("run refused: %s", why ? why : "?");
}

/* Whatever happened, the container was removed by its name, with force, and is gone. */
static void assert_removed(void)
{
	char *name = fake_dockerd_create_name(fake), *del = fake_dockerd_delete_path(fake), want[160];
	assert_non_null(name);
	assert_non_null(del);
	assert_int_equal(strncmp(name, "duxos-task-", 11), 0);
	assert_int_equal(strlen(name), 11 + 32);
	snprintf(want, sizeof(want), "%s?force=1", name);
	assert_string_equal(del, want);
	assert_int_equal(fake_dockerd_calls(fake, "delete"), 1);
	assert_int_equal(fake_dockerd_container_exists(fake), 0);
	free(name);
	free(del);
}

static void assert_setup_failed(const struct dux_sandbox_result *res, const char *detail)
{
	if (res->reason != DUX_SANDBOX_SETUP_FAILED || strcmp(res->detail, detail) != 0)
		fail_msg("want setup-failed \"%s\", got %s \"%s\"", detail, dux_sandbox_reason_name(res->reason),
			res->detail);
}

static void test_available(void **state)
{
	struct dux_docker_opts o;
	char why[DUX_DOCKER_WHY_MAX], path[256];
	(void)state;
	opts_for(&o, fake_dockerd_socket(fake));
	fake_dockerd_reset(fake, FD_OK);
	assert_int_equal(dux_docker_available(&o, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(fake_dockerd_calls(fake, "ping"), 1);

	snprintf(path, sizeof(path), "%s.absent", fake_dockerd_socket(fake));
	o.socket_path = path;
	assert_int_equal(dux_docker_available(&o, why, sizeof(why)), DUX_EUNAVAIL);
	{
		char want[320];
		snprintf(want, sizeof(want), "no Docker engine at %s: connect: No such file or directory", path);
		assert_string_equal(why, want);
	}
	assert_int_equal(dux_docker_available(&o, NULL, 0), DUX_EUNAVAIL);
	assert_int_equal(dux_docker_available(NULL, why, sizeof(why)), DUX_EINVAL);
}

static cJSON *item(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v)
		fail_msg("create body has no %s", name);
	return (cJSON *)(uintptr_t)v;
}

static void assert_number(const cJSON *o, const char *name, double want)
{
	const cJSON *v = item(o, name);
	assert_true(cJSON_IsNumber(v));
	if (v->valuedouble != want)
		fail_msg("%s is %.0f, want %.0f", name, v->valuedouble, want);
}

static void assert_only_string(const cJSON *o, const char *name, const char *want)
{
	const cJSON *a = item(o, name);
	assert_true(cJSON_IsArray(a));
	assert_int_equal(cJSON_GetArraySize(a), 1);
	assert_string_equal(cJSON_GetArrayItem(a, 0)->valuestring, want);
}

/* The limits of the spec, and the hardening, as the engine receives them. */
static void check_create_body(const struct dux_sandbox_spec *spec, const char *image, const char *cmd)
{
	char *text = fake_dockerd_create_body(fake);
	cJSON *root = cJSON_Parse(text), *hc, *tmpfs, *c, *ul;
	assert_non_null(root);
	assert_string_equal(item(root, "Image")->valuestring, image);
	c = item(root, "Cmd");
	assert_int_equal(cJSON_GetArraySize(c), 3);
	assert_string_equal(cJSON_GetArrayItem(c, 0)->valuestring, "/bin/sh");
	assert_string_equal(cJSON_GetArrayItem(c, 1)->valuestring, "-c");
	assert_string_equal(cJSON_GetArrayItem(c, 2)->valuestring, cmd);
	assert_string_equal(item(root, "User")->valuestring, "65534:65534");
	assert_string_equal(item(root, "WorkingDir")->valuestring, "/work");
	assert_true(cJSON_IsTrue(item(root, "OpenStdin")) && cJSON_IsTrue(item(root, "StdinOnce")));
	assert_true(cJSON_IsFalse(item(root, "Tty")));
	assert_true(cJSON_IsBool(item(root, "NetworkDisabled")));
	assert_int_equal(cJSON_IsTrue(item(root, "NetworkDisabled")), !spec->network_access);
	assert_null(cJSON_GetObjectItemCaseSensitive(root, "Volumes"));
	hc = item(root, "HostConfig");
	assert_number(hc, "Memory", (double)spec->memory_bytes);
	assert_number(hc, "MemorySwap", (double)spec->memory_bytes);
	assert_number(hc, "NanoCpus", spec->cpu_millicores * 1e6);
	assert_number(hc, "PidsLimit", spec->pids_max);
	assert_string_equal(item(hc, "NetworkMode")->valuestring, spec->network_access ? "bridge" : "none");
	assert_true(cJSON_IsTrue(item(hc, "ReadonlyRootfs")));
	assert_true(cJSON_IsFalse(item(hc, "Privileged")));
	assert_true(cJSON_IsFalse(item(hc, "AutoRemove")));
	assert_only_string(hc, "CapDrop", "ALL");
	assert_only_string(hc, "SecurityOpt", "no-new-privileges");
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "Binds"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "Mounts"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "CapAdd"));
	assert_null(cJSON_GetObjectItemCaseSensitive(hc, "Devices"));
	tmpfs = item(hc, "Tmpfs");
	assert_int_equal(cJSON_GetArraySize(tmpfs), 2);
	assert_string_equal(item(tmpfs, "/work")->valuestring, "rw,nosuid,nodev,size=67108864,mode=1777");
	assert_string_equal(item(tmpfs, "/tmp")->valuestring, "rw,nosuid,nodev,size=67108864,mode=1777");
	assert_string_equal(item(item(hc, "LogConfig"), "Type")->valuestring, "json-file");
	ul = item(hc, "Ulimits");
	assert_int_equal(cJSON_GetArraySize(ul), 3);
	assert_string_equal(item(cJSON_GetArrayItem(ul, 2), "Name")->valuestring, "fsize");
	assert_number(cJSON_GetArrayItem(ul, 2), "Hard", (double)spec->file_size_max);
	cJSON_Delete(root);
	free(text);
}

static void test_python_ok(void **state)
{
	static const char code[] = "import sys\nprint(sys.stdin.read().upper())\n";
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	char *in, *json;
	size_t in_len;
	(void)state;
	spec_for(&spec, DUX_SANDBOX_PYTHON, code, "hello\n");
	spec.memory_bytes = 256ULL << 20, spec.cpu_millicores = 500, spec.pids_max = 64;
	run(FD_OK, &spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.signal, 0);
	/* The fake echoes stdin: the code, then the input, exactly. */
	in = fake_dockerd_stdin(fake, &in_len);
	assert_int_equal(in_len, strlen(code) + 6);
	assert_int_equal(res.out_len, in_len);
	assert_memory_equal(res.out, in, in_len);
	assert_memory_equal(in + strlen(code), "hello\n", 6);
	assert_string_equal(res.err, "warn\n");
	assert_false(res.out_truncated || res.err_truncated);
	/* Usage: the latest sample's CPU split, the cgroup's peak. */
	assert_true(res.cpu_user_us >= 2000 && res.cpu_user_us % 2000 == 0);
	assert_int_equal(res.cpu_sys_us * 2, res.cpu_user_us);
	assert_int_equal(res.peak_memory_bytes, 52428800);
	assert_true(res.wall_us > 0);
	assert_string_equal(res.cgroup_mode, "docker");
	assert_false(res.pids_limit_hit);
	check_create_body(&spec, "python:3.11-slim", "head -c 43 > /work/main.py && exec python3 /work/main.py");
	assert_int_equal(fake_dockerd_calls(fake, "attach"), 1);
	assert_int_equal(fake_dockerd_calls(fake, "start"), 1);
	assert_int_equal(fake_dockerd_calls(fake, "kill"), 0);
	assert_int_equal(fake_dockerd_calls(fake, "inspect"), 1);
	assert_removed();
	json = dux_sandbox_result_json(&res);
	assert_non_null(strstr(json, "\"reason\":\"ok\""));
	assert_non_null(strstr(json, "\"cgroup\":\"docker\""));
	free(json);
	free(in);
	dux_sandbox_result_release(&res);
}

static void test_bash_node_network(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	spec_for(&spec, DUX_SANDBOX_BASH, "echo hi", NULL);
	spec.network_access = true;
	run(FD_OK, &spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	assert_string_equal(res.out, "echo hi");
	check_create_body(&spec, "debian:12-slim", "head -c 7 > /work/main.sh && exec bash /work/main.sh");
	assert_removed();
	dux_sandbox_result_release(&res);

	spec_for(&spec, DUX_SANDBOX_NODE, "console.log(1)", "");
	run(FD_OK, &spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	check_create_body(&spec, "node:20-slim", "head -c 14 > /work/main.js && exec node /work/main.js");
	assert_removed();
	dux_sandbox_result_release(&res);
}

/* Megabytes of stdin go through the non-blocking pump whole and in order. */
static void test_big_input(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	size_t n = 3u << 20, got_len;
	char *input = malloc(n + 1), *got;
	(void)state;
	assert_non_null(input);
	for (size_t i = 0; i < n; i++)
		input[i] = (char)('a' + i % 23);
	input[n] = '\0';
	spec_for(&spec, DUX_SANDBOX_BASH, "cat", input);
	spec.output_cap = 4u << 20;
	run(FD_OK, &spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OK);
	got = fake_dockerd_stdin(fake, &got_len);
	assert_int_equal(got_len, n + 3);
	assert_memory_equal(got, "cat", 3);
	assert_memory_equal(got + 3, input, n);
	assert_int_equal(res.out_len, n + 3);
	assert_memory_equal(res.out + 3, input, n);
	assert_removed();
	free(got);
	free(input);
	dux_sandbox_result_release(&res);
}

static void test_outcomes(void **state)
{
	static const struct {
		enum fake_docker_mode mode;
		enum dux_sandbox_reason reason;
		bool exited;
		int code, sig;
	} cases[] = {
		{ FD_EXIT3, DUX_SANDBOX_NONZERO_EXIT, true, 3, 0 },
		{ FD_OOM, DUX_SANDBOX_MEMORY_LIMIT, false, 0, 9 },
		{ FD_PIDS, DUX_SANDBOX_PIDS_LIMIT, true, 1, 0 },
	};
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spec_for(&spec, DUX_SANDBOX_PYTHON, "x", "y");
		spec.pids_max = 64;
		run(cases[i].mode, &spec, &res);
		if (res.reason != cases[i].reason)
			fail_msg("case %zu: got %s %s", i, dux_sandbox_reason_name(res.reason), res.detail);
		assert_int_equal(res.exited, cases[i].exited);
		if (cases[i].exited)
			assert_int_equal(res.exit_code, cases[i].code);
		assert_int_equal(res.signal, cases[i].sig);
		assert_int_equal(res.pids_limit_hit, cases[i].mode == FD_PIDS);
		assert_string_equal(res.out, "xy");
		assert_int_equal(fake_dockerd_calls(fake, "kill"), 0);
		assert_removed();
		dux_sandbox_result_release(&res);
	}
}

static void test_timeout(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	spec_for(&spec, DUX_SANDBOX_BASH, "sleep 1000", NULL);
	spec.timeout_ms = 300;
	run(FD_HANG, &spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_TIMEOUT);
	assert_int_equal(res.signal, 9);
	assert_true(res.wall_us >= 300000 && res.wall_us < 3000000);
	assert_int_equal(fake_dockerd_calls(fake, "kill"), 1);
	assert_removed();
	dux_sandbox_result_release(&res);
}

static void test_output_limit(void **state)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	spec_for(&spec, DUX_SANDBOX_BASH, "yes", NULL);
	spec.output_cap = 65536;
	run(FD_FLOOD, &spec, &res);
	assert_int_equal(res.reason, DUX_SANDBOX_OUTPUT_LIMIT);
	assert_int_equal(res.out_len, 65536);
	assert_true(res.out_truncated);
	assert_false(res.err_truncated);
	assert_int_equal(res.out[0], 'x');
	assert_int_equal(res.out[65535], 'x');
	assert_int_equal(res.out[65536], '\0');
	assert_int_equal(fake_dockerd_calls(fake, "kill"), 1);
	assert_removed();
	dux_sandbox_result_release(&res);
}

/* Every malformed or refused answer: setup-failed with a detail, and still removed. */
static void test_bad_answers(void **state)
{
	static const struct {
		enum fake_docker_mode mode;
		const char *detail;
	} cases[] = {
		{ FD_NO_IMAGE, "create: HTTP 404: No such image: python:3.11-slim" },
		{ FD_BAD_CREATE, "create: malformed reply" },
		{ FD_NOT_JSON, "create: malformed reply" },
		{ FD_BAD_INSPECT, "inspect: malformed reply" },
		{ FD_BAD_STATS, "stats: malformed stream" },
		{ FD_BAD_FRAME, "logs: malformed stream" },
	};
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spec_for(&spec, DUX_SANDBOX_PYTHON, "print(1)", NULL);
		run(cases[i].mode, &spec, &res);
		assert_setup_failed(&res, cases[i].detail);
		assert_non_null(res.out);
		assert_removed();
		dux_sandbox_result_release(&res);
	}
}

static void test_engine_absent(void **state)
{
	struct dux_docker_opts o;
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	const char *why = NULL;
	char path[256], want[320];
	(void)state;
	snprintf(path, sizeof(path), "%s.absent", fake_dockerd_socket(fake));
	opts_for(&o, path);
	spec_for(&spec, DUX_SANDBOX_PYTHON, "print(1)", NULL);
	assert_int_equal(dux_docker_run(&o, &spec, &res, &why), 0);
	/* The fake's socket path is short enough for the whole message to fit the result's detail. */
	snprintf(want, sizeof(want), "no Docker engine at %s: connect: No such file or directory", path);
	assert_true(strlen(want) < sizeof(res.detail));
	assert_setup_failed(&res, want);
	assert_int_equal(res.out_len, 0);
	dux_sandbox_result_release(&res);
}

static void test_refused(void **state)
{
	struct dux_docker_opts o;
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	const char *why = NULL;
	(void)state;
	opts_for(&o, fake_dockerd_socket(fake));
	fake_dockerd_reset(fake, FD_OK);
	dux_sandbox_spec_init(&spec);
	spec.runtime = DUX_SANDBOX_EXEC, spec.exec_path = "/bin/true";
	assert_int_equal(dux_docker_run(&o, &spec, &res, &why), DUX_EINVAL);
	assert_string_equal(why, "runtime exec is not supported by the docker runtime");
	spec_for(&spec, DUX_SANDBOX_PYTHON, "print(1)", NULL);
	spec.memory_bytes = 1;
	assert_int_equal(dux_docker_run(&o, &spec, &res, &why), DUX_EINVAL);
	spec_for(&spec, DUX_SANDBOX_PYTHON, "print(1)", NULL);
	o.image_python = NULL;
	assert_int_equal(dux_docker_run(&o, &spec, &res, &why), DUX_EINVAL);
	assert_int_equal(fake_dockerd_calls(fake, "create"), 0);
}

/* duxos-sandbox-run --docker-socket: the JSON result and the exit status, as for the native
 * sandbox, and an absent engine said plainly. */
static void cli(const char *socket, char *out, size_t size, int *ret_status)
{
	char cmd[1024];
	FILE *p;
	size_t n;
	snprintf(cmd, sizeof(cmd), "%s --docker-socket %s --runtime python --code-text 'print(1)' --input-text hi 2>/dev/null",
		cli_path, socket);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	*ret_status = pclose(p);
}

static void test_cli(void **state)
{
	char out[4096], absent[256];
	int status;
	(void)state;
	if (!cli_path)
		skip();
	fake_dockerd_reset(fake, FD_OK);
	cli(fake_dockerd_socket(fake), out, sizeof(out), &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "\"reason\":\"ok\""));
	assert_non_null(strstr(out, "\"stdout\":\"print(1)hi\""));
	assert_non_null(strstr(out, "\"cgroup\":\"docker\""));
	assert_removed();
	fake_dockerd_reset(fake, FD_EXIT3);
	cli(fake_dockerd_socket(fake), out, sizeof(out), &status);
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "\"reason\":\"nonzero-exit\""));
	snprintf(absent, sizeof(absent), "%s.absent", fake_dockerd_socket(fake));
	cli(absent, out, sizeof(out), &status);
	assert_int_equal(WEXITSTATUS(status), 2);
	assert_non_null(strstr(out, "\"reason\":\"setup-failed:no Docker engine at "));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_available),
		cmocka_unit_test(test_python_ok),
		cmocka_unit_test(test_bash_node_network),
		cmocka_unit_test(test_big_input),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_engine_absent),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cli),
	};
	cli_path = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
