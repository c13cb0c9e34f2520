/* duxos-sandbox-run - runs one task in the native sandbox (or, with --docker, in a container of
 * a Docker Engine) and prints the result as JSON.
 * For operators, tests and the benchmark. Exit: 0 the task succeeded, 1 it failed (see
 * "reason"), 2 bad usage or a sandbox that could not be set up. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "sandbox.h"

static const char usage_text[] =
	"usage: duxos-sandbox-run [options] (--runtime bash|python|node --code FILE | --exec PATH [-- ARG...])\n"
	"  --code FILE          script to run (- for stdin is not accepted)\n"
	"  --code-text TEXT     script given inline\n"
	"  --input FILE         bytes for the task's stdin\n"
	"  --input-text TEXT    stdin given inline\n"
	"  --memory SIZE        memory limit, e.g. 512m (default 512m)\n"
	"  --cpu CORES          cpu limit, e.g. 1.0 (default 1.0)\n"
	"  --pids N             pids limit (default 128)\n"
	"  --timeout-ms N       wall-clock limit (default 300000)\n"
	"  --output-cap BYTES   per stream (default 1048576)\n"
	"  --network            keep the host's network (default: none)\n"
	"  --scratch-base DIR   default " DUX_SANDBOX_SCRATCH_BASE "\n"
	"  --cgroup-parent NAME default " DUX_SANDBOX_CGROUP_PARENT "\n"
	"  --repeat N           run N times, print only the last result (benchmarks)\n"
	"  --docker             run in a container through the Docker Engine API instead\n"
	"                       (bash, python, node only; needs no root, only the socket)\n"
	"  --docker-socket PATH the engine's socket (default " DUX_DOCKER_SOCKET "); implies --docker\n"
	"  --docker-image IMAGE image for the task's runtime (defaults: " DUX_DOCKER_IMAGE_BASH ",\n"
	"                       " DUX_DOCKER_IMAGE_PYTHON ", " DUX_DOCKER_IMAGE_NODE "); implies --docker\n"
	"  --sweep              remove what crashed runs left under --scratch-base and\n"
	"                       --cgroup-parent (only while no sandbox runs there), print the count\n";

struct cli {
	struct dux_sandbox_spec spec;
	char *code, *input; /* owned */
	unsigned long repeat;
	bool sweep;
	bool docker;
	struct dux_docker_opts docker_opts;
	const char *docker_image; /* borrowed from argv */
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "duxos-sandbox-run: %s%s%s\n%s", what, arg ? ": " : "", arg ? arg : "", usage_text);
	return 2;
}

static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	int r = -1;
	if (!f)
		return -1;
	if (!(buf = malloc(max + 1)))
		goto out;
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max)
		goto out;
	buf[n] = '\0';
	*ret = buf, *ret_len = n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	fclose(f);
	return r;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int set_text(char **dst, const char **spec_ptr, size_t *spec_len, const char *text)
{
	free(*dst);
	if (!(*dst = strdup(text)))
		return -1;
	*spec_ptr = *dst, *spec_len = strlen(text);
	return 0;
}

static int set_file(char **dst, const char **spec_ptr, size_t *spec_len, const char *path, size_t max)
{
	free(*dst);
	*dst = NULL;
	if (read_file(path, max, dst, spec_len) < 0)
		return -1;
	*spec_ptr = *dst;
	return 0;
}

enum { O_CODE = 256, O_CODE_TEXT, O_INPUT, O_INPUT_TEXT, O_MEMORY, O_CPU, O_PIDS, O_TIMEOUT,
	O_OUTCAP, O_NETWORK, O_SCRATCH, O_CGROUP, O_RUNTIME, O_EXEC, O_REPEAT, O_SWEEP, O_HELP,
	O_DOCKER, O_DOCKER_SOCKET, O_DOCKER_IMAGE };

static const struct option options[] = {
	{ "runtime", required_argument, NULL, O_RUNTIME }, { "exec", required_argument, NULL, O_EXEC },
	{ "code", required_argument, NULL, O_CODE }, { "code-text", required_argument, NULL, O_CODE_TEXT },
	{ "input", required_argument, NULL, O_INPUT }, { "input-text", required_argument, NULL, O_INPUT_TEXT },
	{ "memory", required_argument, NULL, O_MEMORY }, { "cpu", required_argument, NULL, O_CPU },
	{ "pids", required_argument, NULL, O_PIDS }, { "timeout-ms", required_argument, NULL, O_TIMEOUT },
	{ "output-cap", required_argument, NULL, O_OUTCAP }, { "network", no_argument, NULL, O_NETWORK },
	{ "scratch-base", required_argument, NULL, O_SCRATCH }, { "cgroup-parent", required_argument, NULL, O_CGROUP },
	{ "repeat", required_argument, NULL, O_REPEAT }, { "sweep", no_argument, NULL, O_SWEEP }, { "help", no_argument, NULL, O_HELP },
	{ "docker", no_argument, NULL, O_DOCKER }, { "docker-socket", required_argument, NULL, O_DOCKER_SOCKET },
	{ "docker-image", required_argument, NULL, O_DOCKER_IMAGE },
	{ NULL, 0, NULL, 0 },
};

/* One option; 0, or the exit status of a usage error. */
static int apply(struct cli *c, int opt, const char *arg)
{
	struct dux_sandbox_spec *s = &c->spec;
	const char *why = NULL;
	unsigned long v;
	uint64_t bytes;
	uint32_t milli;
	switch (opt) {
	case O_RUNTIME:
		return dux_sandbox_parse_runtime(arg, &s->runtime, &why) < 0 ? usage_error(why, arg) : 0;
	case O_EXEC:
		s->runtime = DUX_SANDBOX_EXEC, s->exec_path = arg;
		return 0;
	case O_CODE:
		return set_file(&c->code, &s->code, &s->code_len, arg, DUX_SANDBOX_CODE_MAX) < 0 ? usage_error("cannot read code file (or above 16 MiB)", arg) : 0;
	case O_CODE_TEXT:
		return set_text(&c->code, &s->code, &s->code_len, arg) < 0 ? usage_error("out of memory", NULL) : 0;
	case O_INPUT:
		return set_file(&c->input, &s->input, &s->input_len, arg, DUX_SANDBOX_INPUT_MAX) < 0 ? usage_error("cannot read input file (or above 64 MiB)", arg) : 0;
	case O_INPUT_TEXT:
		return set_text(&c->input, &s->input, &s->input_len, arg) < 0 ? usage_error("out of memory", NULL) : 0;
	case O_MEMORY:
		if (dux_sandbox_parse_memory(arg, &bytes, &why) < 0)
			return usage_error(why, arg);
		s->memory_bytes = bytes;
		return 0;
	case O_CPU:
		if (dux_sandbox_parse_cpu(arg, &milli, &why) < 0)
			return usage_error(why, arg);
		s->cpu_millicores = milli;
		return 0;
	case O_PIDS:
		if (parse_ulong(arg, DUX_SANDBOX_PIDS_MAX, &v) < 0)
			return usage_error("--pids needs a number up to 65536", arg);
		s->pids_max = (uint32_t)v;
		return 0;
	case O_TIMEOUT:
		if (parse_ulong(arg, DUX_SANDBOX_TIMEOUT_MAX_MS, &v) < 0)
			return usage_error("--timeout-ms needs a number of ms up to 24 h", arg);
		s->timeout_ms = (uint32_t)v;
		return 0;
	case O_OUTCAP:
		if (parse_ulong(arg, DUX_SANDBOX_OUTPUT_MAX, &v) < 0)
			return usage_error("--output-cap needs a number of bytes up to 256 MiB", arg);
		s->output_cap = v;
		return 0;
	case O_NETWORK:
		s->network_access = true;
		return 0;
	case O_SCRATCH:
		s->scratch_base = arg;
		return 0;
	case O_CGROUP:
		s->cgroup_parent = arg;
		return 0;
	case O_REPEAT:
		return parse_ulong(arg, 1000000, &c->repeat) < 0 || c->repeat == 0 ? usage_error("--repeat needs 1 to 1000000", arg) : 0;
	case O_SWEEP:
		c->sweep = true;
		return 0;
	case O_HELP:
		fputs(usage_text, stdout);
		return -1;
	case O_DOCKER:
		c->docker = true;
		return 0;
	case O_DOCKER_SOCKET:
		c->docker = true, c->docker_opts.socket_path = arg;
		return 0;
	case O_DOCKER_IMAGE:
		c->docker = true, c->docker_image = arg;
		return 0;
	}
	return usage_error("unknown option", NULL);
}

static int sweep(const struct cli *c)
{
	unsigned n = 0;
	int r = dux_sandbox_sweep(&c->spec, &n);
	printf("{\"swept\":%u%s}\n", n, r < 0 ? ",\"error\":\"something could not be removed\"" : "");
	return r < 0 ? 1 : 0;
}

/* One run, native or in a container. */
static int run_once(struct cli *c, struct dux_sandbox_result *res, const char **why)
{
	if (!c->docker)
		return dux_sandbox_run(&c->spec, res, why);
	if (c->docker_image)
		c->docker_opts.image_bash = c->docker_opts.image_python = c->docker_opts.image_node = c->docker_image;
	return dux_docker_run(&c->docker_opts, &c->spec, res, why);
}

static int run(struct cli *c)
{
	struct dux_sandbox_result res;
	const char *why = NULL;
	char *json;
	int rc = 2;
	for (unsigned long i = 0; i < c->repeat; i++) {
		if (i > 0)
			dux_sandbox_result_release(&res);
		if (run_once(c, &res, &why) < 0)
			return usage_error(why ? why : "out of memory", NULL);
	}
	if (!(json = dux_sandbox_result_json(&res))) {
		fputs("duxos-sandbox-run: out of memory\n", stderr);
		goto out;
	}
	puts(json);
	free(json);
	rc = res.reason == DUX_SANDBOX_OK ? 0 : res.reason == DUX_SANDBOX_SETUP_FAILED ? 2 : 1;
out:
	dux_sandbox_result_release(&res);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
	int opt, rc = 0;
	memset(&c, 0, sizeof(c));
	dux_sandbox_spec_init(&c.spec);
	dux_docker_opts_init(&c.docker_opts);
	c.repeat = 1;
	while (rc == 0 && (opt = getopt_long(argc, argv, "", options, NULL)) != -1)
		rc = opt == '?' ? usage_error("bad option", NULL) : apply(&c, opt, optarg);
	if (rc == 0) {
		/* Whatever follows "--" is the exec'd program's arguments. */
		c.spec.exec_args = (const char *const *)(argv + optind);
		if (c.sweep && c.docker)
			rc = usage_error("--sweep is for the native sandbox (the engine removes containers itself)", NULL);
		else
			rc = c.sweep ? sweep(&c) : run(&c);
	}
	free(c.code);
	free(c.input);
	return rc < 0 ? 0 : rc;
}
