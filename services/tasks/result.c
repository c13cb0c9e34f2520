/* result.c - names of the reasons, the result as JSON, and freeing a result. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

const char *dux_sandbox_reason_name(enum dux_sandbox_reason reason)
{
	switch (reason) {
	case DUX_SANDBOX_OK:
		return "ok";
	case DUX_SANDBOX_NONZERO_EXIT:
		return "nonzero-exit";
	case DUX_SANDBOX_SIGNALED:
		return "killed-by-signal";
	case DUX_SANDBOX_TIMEOUT:
		return "timeout";
	case DUX_SANDBOX_MEMORY_LIMIT:
		return "memory-limit";
	case DUX_SANDBOX_PIDS_LIMIT:
		return "pids-limit";
	case DUX_SANDBOX_OUTPUT_LIMIT:
		return "output-limit";
	case DUX_SANDBOX_SETUP_FAILED:
		return "setup-failed";
	case DUX_SANDBOX_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

void dux_sandbox_result_release(struct dux_sandbox_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->out_len = res->err_len = 0;
}

/* Output may hold any bytes; cJSON wants a C string, so it stops at the first NUL. */
static bool add_stream(cJSON *o, const char *name, const char *text, bool truncated, const char *flag)
{
	return cJSON_AddStringToObject(o, name, text ? text : "") && cJSON_AddBoolToObject(o, flag, truncated);
}

static bool add_usage(cJSON *o, const struct dux_sandbox_result *r)
{
	cJSON *u = cJSON_AddObjectToObject(o, "usage");
	return u && cJSON_AddNumberToObject(u, "cpu_user_us", (double)r->cpu_user_us) &&
		cJSON_AddNumberToObject(u, "cpu_sys_us", (double)r->cpu_sys_us) &&
		cJSON_AddNumberToObject(u, "peak_memory_bytes", (double)r->peak_memory_bytes) &&
		cJSON_AddNumberToObject(u, "wall_us", (double)r->wall_us);
}

char *dux_sandbox_result_json(const struct dux_sandbox_result *r)
{
	char reason[128];
	char *text = NULL;
	cJSON *o = cJSON_CreateObject();
	if (r->reason == DUX_SANDBOX_SETUP_FAILED)
		snprintf(reason, sizeof(reason), "setup-failed:%s", r->detail);
	else
		snprintf(reason, sizeof(reason), "%s", dux_sandbox_reason_name(r->reason));
	if (!o || !cJSON_AddStringToObject(o, "reason", reason) ||
		!(r->exited ? cJSON_AddNumberToObject(o, "exit_code", r->exit_code) : cJSON_AddNullToObject(o, "exit_code")) ||
		!cJSON_AddNumberToObject(o, "signal", r->signal) ||
		!add_stream(o, "stdout", r->out, r->out_truncated, "stdout_truncated") ||
		!add_stream(o, "stderr", r->err, r->err_truncated, "stderr_truncated") ||
		!cJSON_AddBoolToObject(o, "pids_limit_hit", r->pids_limit_hit) || !add_usage(o, r) ||
		!cJSON_AddStringToObject(o, "cgroup", r->cgroup_mode ? r->cgroup_mode : ""))
		goto out;
	text = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return text;
}
