/* docker.c - the options of the docker runtime and the engine check (GET /_ping). The run
 * itself is docker_run.c. */
#include <stdio.h>
#include <string.h>

#include "docker_int.h"

void dux_docker_opts_init(struct dux_docker_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->socket_path = DUX_DOCKER_SOCKET;
	o->api_version = DUX_DOCKER_API_VERSION;
	o->image_bash = DUX_DOCKER_IMAGE_BASH;
	o->image_python = DUX_DOCKER_IMAGE_PYTHON;
	o->image_node = DUX_DOCKER_IMAGE_NODE;
	o->tmpfs_bytes = 64u << 20;
	o->request_timeout_ms = 30000;
	o->kill_grace_ms = 10000;
	o->name_prefix = "duxos-task-";
}

static void say(char *why, size_t why_size, const char *text)
{
	if (why && why_size)
		snprintf(why, why_size, "%s", text);
}

int dux_docker_available(const struct dux_docker_opts *o, char *why, size_t why_size)
{
	char msg[DUX_DOCKER_WHY_MAX];
	struct dk_reply rep;
	int r;
	if (!o || !o->socket_path || !o->api_version) {
		say(why, why_size, "docker options incomplete (use dux_docker_opts_init)");
		return DUX_EINVAL;
	}
	r = dk_http_call(o, "ping", "GET", "_ping", NULL, &rep, msg, sizeof(msg));
	if (r == 0 && (rep.status != 200 || rep.body.len != 2 || memcmp(rep.body.data, "OK", 2) != 0)) {
		snprintf(msg, sizeof(msg), "not a Docker engine at %s: GET /_ping answered HTTP %ld", o->socket_path,
			rep.status);
		r = DUX_EPROTO;
	}
	dux_buf_free(&rep.body);
	if (r < 0)
		say(why, why_size, msg);
	else
		say(why, why_size, "");
	return r;
}
