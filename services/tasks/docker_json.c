/* docker_json.c - the container we ask the engine for, and the replies we accept from it. The
 * engine is outside this process: every field we use is checked for its type and range, and
 * anything else is DUX_EPROTO (the caller reports setup-failed), never a guess. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_int.h"

/* The interpreter and the file the code is written to, per runtime. */
static int runtime_cmd(const struct dux_docker_opts *o, enum dux_sandbox_runtime rt, const char **image,
	const char **interp, const char **file)
{
	switch (rt) {
	case DUX_SANDBOX_BASH:
		*image = o->image_bash, *interp = "bash", *file = "/work/main.sh";
		return DUX_OK;
	case DUX_SANDBOX_PYTHON:
		*image = o->image_python, *interp = "python3", *file = "/work/main.py";
		return DUX_OK;
	case DUX_SANDBOX_NODE:
		*image = o->image_node, *interp = "node", *file = "/work/main.js";
		return DUX_OK;
	case DUX_SANDBOX_EXEC:
		break;
	}
	return DUX_EINVAL;
}

/* The container's stdin carries the code, then the input. GNU head -c never reads past its
 * count (it asks read(2) for at most what is left), so the interpreter, exec'd in the shell's
 * place, reads exactly the input from the same stdin. */
static cJSON *make_cmd(const char *interp, const char *file, size_t code_len)
{
	char script[256];
	const char *argv[3] = { "/bin/sh", "-c", script };
	snprintf(script, sizeof(script), "head -c %zu > %s && exec %s %s", code_len, file, interp, file);
	return cJSON_CreateStringArray(argv, 3);
}

static bool add_ulimit(cJSON *arr, const char *name, double value)
{
	cJSON *u = cJSON_CreateObject();
	if (!u || !cJSON_AddItemToArray(arr, u))
		return cJSON_Delete(u), false;
	return cJSON_AddStringToObject(u, "Name", name) && cJSON_AddNumberToObject(u, "Soft", value) &&
		cJSON_AddNumberToObject(u, "Hard", value);
}

/* The same rlimits as the native sandbox's (README.md, "rlimits"), but NPROC: pids are the
 * cgroup's job, and NPROC counts per uid on the whole host. */
static bool add_ulimits(cJSON *hc, const struct dux_sandbox_spec *s)
{
	cJSON *arr = cJSON_AddArrayToObject(hc, "Ulimits");
	return arr && add_ulimit(arr, "nofile", 256) && add_ulimit(arr, "core", 0) &&
		add_ulimit(arr, "fsize", (double)s->file_size_max);
}

static bool add_tmpfs(cJSON *hc, uint64_t bytes)
{
	char opt[96];
	cJSON *t = cJSON_AddObjectToObject(hc, "Tmpfs");
	snprintf(opt, sizeof(opt), "rw,nosuid,nodev,size=%" PRIu64 ",mode=1777", bytes);
	return t && cJSON_AddStringToObject(t, "/work", opt) && cJSON_AddStringToObject(t, "/tmp", opt);
}

/* json-file, so that the logs can be read back whatever the engine's default driver is. Its
 * size bound is only a backstop for the disk: the run kills the task once a stream passes the
 * cap, and json-file stores each line with some 80 bytes of framing. */
static bool add_log_config(cJSON *hc, size_t cap)
{
	char size[32];
	cJSON *lc = cJSON_AddObjectToObject(hc, "LogConfig"), *cfg;
	snprintf(size, sizeof(size), "%" PRIu64, (uint64_t)cap * 2 * 100 + (16u << 20));
	return lc && cJSON_AddStringToObject(lc, "Type", "json-file") &&
		(cfg = cJSON_AddObjectToObject(lc, "Config")) && cJSON_AddStringToObject(cfg, "max-size", size) &&
		cJSON_AddStringToObject(cfg, "max-file", "1");
}

static bool add_string_array(cJSON *o, const char *name, const char *one)
{
	cJSON *a = cJSON_CreateStringArray(&one, 1);
	return a && cJSON_AddItemToObject(o, name, a) ? true : (cJSON_Delete(a), false);
}

static bool add_host_config(cJSON *root, const struct dux_docker_opts *o, const struct dux_sandbox_spec *s)
{
	cJSON *hc = cJSON_AddObjectToObject(root, "HostConfig"), *rp;
	double mem = (double)s->memory_bytes;
	return hc && cJSON_AddNumberToObject(hc, "Memory", mem) && cJSON_AddNumberToObject(hc, "MemorySwap", mem) &&
		cJSON_AddNumberToObject(hc, "NanoCpus", (double)s->cpu_millicores * 1e6) &&
		cJSON_AddNumberToObject(hc, "PidsLimit", s->pids_max) &&
		cJSON_AddStringToObject(hc, "NetworkMode", s->network_access ? "bridge" : "none") &&
		cJSON_AddBoolToObject(hc, "ReadonlyRootfs", 1) && add_tmpfs(hc, o->tmpfs_bytes) &&
		add_string_array(hc, "CapDrop", "ALL") && add_string_array(hc, "SecurityOpt", "no-new-privileges") &&
		cJSON_AddBoolToObject(hc, "Privileged", 0) && cJSON_AddBoolToObject(hc, "AutoRemove", 0) &&
		cJSON_AddStringToObject(hc, "IpcMode", "private") && add_ulimits(hc, s) &&
		add_log_config(hc, s->output_cap) && (rp = cJSON_AddObjectToObject(hc, "RestartPolicy")) &&
		cJSON_AddStringToObject(rp, "Name", "no");
}

static bool add_env(cJSON *root)
{
	static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/work", "TMPDIR=/tmp", "LANG=C.UTF-8" };
	cJSON *a = cJSON_CreateStringArray(env, 4);
	return a && cJSON_AddItemToObject(root, "Env", a) ? true : (cJSON_Delete(a), false);
}

char *dk_json_create_body(const struct dux_docker_opts *o, const struct dux_sandbox_spec *s)
{
	const char *image, *interp, *file;
	char *text = NULL;
	cJSON *root = NULL, *cmd;
	if (runtime_cmd(o, s->runtime, &image, &interp, &file) < 0)
		return NULL;
	if (!(root = cJSON_CreateObject()) || !cJSON_AddStringToObject(root, "Image", image))
		goto out;
	if (!(cmd = make_cmd(interp, file, s->code_len)) || !cJSON_AddItemToObject(root, "Cmd", cmd)) {
		cJSON_Delete(cmd);
		goto out;
	}
	if (!add_env(root) || !cJSON_AddStringToObject(root, "WorkingDir", "/work") ||
		!cJSON_AddStringToObject(root, "User", "65534:65534") || !cJSON_AddBoolToObject(root, "AttachStdin", 1) ||
		!cJSON_AddBoolToObject(root, "AttachStdout", 0) || !cJSON_AddBoolToObject(root, "AttachStderr", 0) ||
		!cJSON_AddBoolToObject(root, "OpenStdin", 1) || !cJSON_AddBoolToObject(root, "StdinOnce", 1) ||
		!cJSON_AddBoolToObject(root, "Tty", 0) || !cJSON_AddBoolToObject(root, "NetworkDisabled", !s->network_access) ||
		!add_host_config(root, o, s))
		goto out;
	text = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return text;
}

/* cJSON_ParseWithLength, and the top level must be an object. */
static cJSON *parse_object(const char *text, size_t len)
{
	cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
	if (root && !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

int dk_json_create_reply(const char *text, size_t len, char ret_id[DK_ID_LEN + 1])
{
	cJSON *root = parse_object(text, len), *id, *warn;
	int r = DUX_EPROTO;
	if (!root)
		return DUX_EPROTO;
	id = cJSON_GetObjectItemCaseSensitive(root, "Id");
	warn = cJSON_GetObjectItemCaseSensitive(root, "Warnings");
	if (!cJSON_IsString(id) || strlen(id->valuestring) != DK_ID_LEN ||
		strspn(id->valuestring, "0123456789abcdef") != DK_ID_LEN)
		goto out;
	if (warn && !cJSON_IsArray(warn) && !cJSON_IsNull(warn))
		goto out;
	memcpy(ret_id, id->valuestring, DK_ID_LEN + 1);
	r = DUX_OK;
out:
	cJSON_Delete(root);
	return r;
}

int dk_json_state(const char *text, size_t len, struct dk_state *ret)
{
	cJSON *root = parse_object(text, len), *st, *running, *oom, *code;
	int r = DUX_EPROTO;
	if (!root)
		return DUX_EPROTO;
	st = cJSON_GetObjectItemCaseSensitive(root, "State");
	if (!cJSON_IsObject(st))
		goto out;
	running = cJSON_GetObjectItemCaseSensitive(st, "Running");
	oom = cJSON_GetObjectItemCaseSensitive(st, "OOMKilled");
	code = cJSON_GetObjectItemCaseSensitive(st, "ExitCode");
	if (!cJSON_IsBool(running) || !cJSON_IsBool(oom) || !cJSON_IsNumber(code) ||
		code->valuedouble != floor(code->valuedouble) || code->valuedouble < 0 || code->valuedouble > 255)
		goto out;
	ret->running = cJSON_IsTrue(running);
	ret->oom_killed = cJSON_IsTrue(oom);
	ret->exit_code = (int)code->valuedouble;
	r = DUX_OK;
out:
	cJSON_Delete(root);
	return r;
}

void dk_json_message(const char *text, size_t len, char *out, size_t out_size)
{
	cJSON *root = parse_object(text, len), *msg;
	size_t n = 0;
	if (out_size == 0)
		return;
	msg = root ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
	if (cJSON_IsString(msg)) {
		/* The engine's words go into our results and logs: printable ASCII only. */
		for (const char *p = msg->valuestring; *p && n + 1 < out_size; p++)
			out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	}
	out[n] = '\0';
	cJSON_Delete(root);
}
