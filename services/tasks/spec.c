/* spec.c - defaults, the seed's textual forms ("512m", "1.0") and validation of a spec. */
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "sandbox.h"
#include "sandbox_int.h"

void dux_sandbox_spec_init(struct dux_sandbox_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->runtime = DUX_SANDBOX_BASH;
	spec->memory_bytes = 512ULL << 20;
	spec->cpu_millicores = 1000;
	spec->pids_max = 128; /* node alone starts about 11 threads */
	spec->timeout_ms = 300u * 1000u;
	spec->output_cap = 1u << 20;
	spec->file_size_max = 64ULL << 20;
	spec->network_access = false;
}

static int fail(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return DUX_EINVAL;
}

/* Digits only, no sign, no spaces: strtoull would accept " -1" and wrap it. */
static int parse_digits(const char **p, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;
	if (!isdigit((unsigned char)*s))
		return DUX_EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return DUX_ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return DUX_OK;
}

static int suffix_shift(const char *s, unsigned *ret)
{
	static const char units[] = "kmgt";
	const char *u;
	if (*s == '\0') {
		*ret = 0;
		return DUX_OK;
	}
	u = strchr(units, tolower((unsigned char)*s));
	if (!u || *u == '\0')
		return DUX_EINVAL;
	s++;
	if (*s == 'b' || *s == 'B')
		s++;
	if (*s != '\0')
		return DUX_EINVAL;
	*ret = 10u * (unsigned)(u - units + 1);
	return DUX_OK;
}

int dux_sandbox_parse_memory(const char *text, uint64_t *ret_bytes, const char **ret_why)
{
	uint64_t v;
	unsigned shift;
	int r;
	if (!text || !*text)
		return fail(ret_why, "memory limit is empty");
	r = parse_digits(&text, &v);
	if (r == DUX_ERANGE)
		return fail(ret_why, "memory limit is too large");
	if (r < 0)
		return fail(ret_why, "memory limit must start with digits, e.g. \"512m\"");
	if (suffix_shift(text, &shift) < 0)
		return fail(ret_why, "memory limit has an unknown unit (use k, m, g or t)");
	if (v > (UINT64_MAX >> shift))
		return fail(ret_why, "memory limit is too large");
	v <<= shift;
	if (v < DUX_SANDBOX_MEMORY_MIN)
		return fail(ret_why, "memory limit is below 8m");
	if (v > DUX_SANDBOX_MEMORY_MAX)
		return fail(ret_why, "memory limit is above 64g");
	*ret_bytes = v;
	return DUX_OK;
}

/* Up to three decimals: "1", "1.0", "0.25", "2.125". */
static int parse_fraction_milli(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;
	if (*s != '.') {
		*ret = 0;
		return DUX_OK;
	}
	s++;
	if (!isdigit((unsigned char)*s))
		return DUX_EINVAL;
	for (; isdigit((unsigned char)*s); s++, n++) {
		if (n >= 3)
			return DUX_ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	for (; n < 3; n++)
		v *= 10;
	*p = s;
	*ret = v;
	return DUX_OK;
}

int dux_sandbox_parse_cpu(const char *text, uint32_t *ret_millicores, const char **ret_why)
{
	uint64_t whole, frac, milli;
	int r;
	if (!text || !*text)
		return fail(ret_why, "cpu limit is empty");
	if (parse_digits(&text, &whole) < 0)
		return fail(ret_why, "cpu limit must be a number of cores, e.g. \"1.0\"");
	r = parse_fraction_milli(&text, &frac);
	if (r == DUX_ERANGE)
		return fail(ret_why, "cpu limit has more than 3 decimals");
	if (r < 0 || *text != '\0')
		return fail(ret_why, "cpu limit must be a number of cores, e.g. \"1.0\"");
	if (whole > DUX_SANDBOX_CPU_MAX_MILLI / 1000)
		return fail(ret_why, "cpu limit is above 256 cores");
	milli = whole * 1000 + frac;
	if (milli < DUX_SANDBOX_CPU_MIN_MILLI)
		return fail(ret_why, "cpu limit is below 0.01 cores");
	if (milli > DUX_SANDBOX_CPU_MAX_MILLI)
		return fail(ret_why, "cpu limit is above 256 cores");
	*ret_millicores = (uint32_t)milli;
	return DUX_OK;
}

int dux_sandbox_parse_runtime(const char *text, enum dux_sandbox_runtime *ret, const char **ret_why)
{
	if (!text)
		return fail(ret_why, "runtime is missing");
	if (strcmp(text, "bash") == 0)
		*ret = DUX_SANDBOX_BASH;
	else if (strcmp(text, "python") == 0)
		*ret = DUX_SANDBOX_PYTHON;
	else if (strcmp(text, "node") == 0)
		*ret = DUX_SANDBOX_NODE;
	else
		return fail(ret_why, "runtime must be one of bash, python, node");
	return DUX_OK;
}

static int check_path(const char *path, const char *missing, const char *bad, const char **ret_why)
{
	if (!path)
		return fail(ret_why, missing);
	if (path[0] != '/' || strlen(path) >= SBX_PATH_MAX / 2 || strstr(path, "/../") ||
		strchr(path, '\n'))
		return fail(ret_why, bad);
	return DUX_OK;
}

static int check_exec(const struct dux_sandbox_spec *spec, const char **ret_why)
{
	size_t n = 0;
	int r = check_path(spec->exec_path, "exec runtime needs exec_path",
		"exec_path must be a short absolute path", ret_why);
	if (r < 0)
		return r;
	for (; spec->exec_args && spec->exec_args[n]; n++)
		if (n >= DUX_SANDBOX_ARGS_MAX - 2)
			return fail(ret_why, "too many exec arguments");
	return DUX_OK;
}

static int check_limits(const struct dux_sandbox_spec *s, const char **ret_why)
{
	if (s->memory_bytes < DUX_SANDBOX_MEMORY_MIN || s->memory_bytes > DUX_SANDBOX_MEMORY_MAX)
		return fail(ret_why, "memory limit must be between 8m and 64g");
	if (s->cpu_millicores < DUX_SANDBOX_CPU_MIN_MILLI || s->cpu_millicores > DUX_SANDBOX_CPU_MAX_MILLI)
		return fail(ret_why, "cpu limit must be between 0.01 and 256 cores");
	if (s->pids_max < 1 || s->pids_max > DUX_SANDBOX_PIDS_MAX)
		return fail(ret_why, "pids limit must be between 1 and 65536");
	if (s->timeout_ms < 1 || s->timeout_ms > DUX_SANDBOX_TIMEOUT_MAX_MS)
		return fail(ret_why, "timeout must be between 1 ms and 24 h");
	if (s->output_cap > DUX_SANDBOX_OUTPUT_MAX)
		return fail(ret_why, "output cap is above 256 MiB");
	if (s->file_size_max < 1)
		return fail(ret_why, "file size limit must be at least 1 byte");
	return DUX_OK;
}

int dux_sandbox_spec_check(const struct dux_sandbox_spec *s, const char **ret_why)
{
	int r;
	if (!s)
		return fail(ret_why, "spec is missing");
	if (s->runtime == DUX_SANDBOX_EXEC)
		r = check_exec(s, ret_why);
	else if (s->runtime <= DUX_SANDBOX_NODE)
		r = s->code ? DUX_OK : fail(ret_why, "code is missing");
	else
		r = fail(ret_why, "unknown runtime");
	if (r < 0)
		return r;
	if (s->code && s->code_len > DUX_SANDBOX_CODE_MAX)
		return fail(ret_why, "code is above 16 MiB");
	if (s->input_len > DUX_SANDBOX_INPUT_MAX || (s->input_len && !s->input))
		return fail(ret_why, "input is above 64 MiB or missing");
	if (s->scratch_base && (r = check_path(s->scratch_base, "", "scratch_base must be a short absolute path", ret_why)) < 0)
		return r;
	if (s->cgroup_parent && (!*s->cgroup_parent || strlen(s->cgroup_parent) > 64 ||
		strspn(s->cgroup_parent, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(s->cgroup_parent) ||
		s->cgroup_parent[0] == '.'))
		return fail(ret_why, "cgroup_parent must be 1-64 of [a-z0-9-_.], not starting with a dot");
	return check_limits(s, ret_why);
}

/* The interpreters are resolved here, never through PATH: the host's PATH (pyenv shims in
 * /root) is not the sandbox's. */
const char *sbx_runtime_path(const struct dux_sandbox_spec *spec)
{
	switch (spec->runtime) {
	case DUX_SANDBOX_BASH:
		return "/bin/bash";
	case DUX_SANDBOX_PYTHON:
		return "/usr/bin/python3";
	case DUX_SANDBOX_NODE:
		return "/usr/bin/node";
	case DUX_SANDBOX_EXEC:
		return spec->exec_path;
	}
	return NULL;
}
