/* docker.h - the `docker` runtime of duxos-tasks: runs the same struct dux_sandbox_spec as
 * dux_sandbox_run (bash, python or node code, input on stdin, memory, cpu, pids, timeout,
 * output cap, network) in a container of a Docker Engine reached over its unix socket
 * (Engine API v1.41 or later, libcurl), and fills the same struct dux_sandbox_result.
 *
 * How the limits map onto the container and why the code goes in through stdin rather than an
 * archive: README.md, "The docker runtime". Library code: never logs; every failure is returned
 * or described in the result. Safe to call from several threads at once (each call has its own
 * connections and its own container). Does not need root, only access to the socket. */
#ifndef DUX_DOCKER_H
#define DUX_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include <dux/err.h>

#include "sandbox.h"

#define DUX_DOCKER_SOCKET "/var/run/docker.sock"
#define DUX_DOCKER_API_VERSION "v1.41"
#define DUX_DOCKER_IMAGE_BASH "debian:12-slim"
#define DUX_DOCKER_IMAGE_PYTHON "python:3.11-slim"
#define DUX_DOCKER_IMAGE_NODE "node:20-slim"
#define DUX_DOCKER_WHY_MAX 160 /* room for dux_docker_available's message */

/* Every pointer is borrowed for the duration of each call that takes the options. The images
 * must already be on the engine (this module never pulls). */
struct dux_docker_opts {
	const char *socket_path;  /* the engine's unix socket */
	const char *api_version;  /* path prefix of every call, "v1.41" */
	const char *image_bash;   /* image per runtime; each must have /bin/sh, head (coreutils) */
	const char *image_python; /*   and the interpreter on PATH: bash, python3, node */
	const char *image_node;
	uint64_t tmpfs_bytes;        /* size of each of the tmpfs /work and /tmp */
	uint32_t request_timeout_ms; /* each control call (create, start, kill, inspect, remove) */
	uint32_t kill_grace_ms;      /* after a kill, how long to wait for the engine to stop it */
	const char *name_prefix;     /* containers are named <prefix><32 hex> */
};

/* Writes the defaults: the socket, API version and images above, 64 MiB tmpfs, 30 s per
 * control call, 10 s kill grace, prefix "duxos-task-". */
void dux_docker_opts_init(struct dux_docker_opts *opts);

/* Pings the engine (GET /_ping). 0 when it answers "OK"; otherwise DUX_EUNAVAIL (nothing
 * listens, e.g. "no Docker engine at /var/run/docker.sock: connect: No such file or
 * directory"), DUX_EPROTO (something answered, but not an engine), DUX_EINVAL (bad options),
 * with the message in why (NUL-terminated, truncated to why_size; may be NULL). Lets the
 * daemon refuse runtime docker with a precise message where no engine exists. */
DUX_MUST_USE int dux_docker_available(const struct dux_docker_opts *opts, char *why, size_t why_size);

/* Runs spec in a new container to the end, as dux_sandbox_run does natively: 0 with *ret filled
 * (a task that failed, or an engine that is absent or answered something malformed, is still 0:
 * see ret->reason and ret->detail); the caller frees it with dux_sandbox_result_release.
 * DUX_EINVAL: spec or options refused (*ret_why says why; runtime exec is not supported here);
 * DUX_ENOMEM. On error *ret is untouched. The container is removed (with force) before it
 * returns, on every path, as far as the engine lets it; ret->cgroup_mode is "docker".
 * spec->scratch_base, cgroup_parent and file_size_max's host meaning do not apply (the engine
 * owns those); file_size_max becomes the container's fsize ulimit. */
DUX_MUST_USE int dux_docker_run(const struct dux_docker_opts *opts, const struct dux_sandbox_spec *spec,
	struct dux_sandbox_result *ret, const char **ret_why);

#endif
