/* docker_int.h - what the files of the docker runtime share; not for users of the library.
 * Exposed to tests/sandbox so that the framing, the JSON and the stats parsing are tested on
 * their own, byte by byte, without an engine. */
#ifndef DUX_DOCKER_INT_H
#define DUX_DOCKER_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dux/buf.h>

#include "docker.h"

#define DK_ID_LEN 64                 /* a container id: 64 lower-case hex digits */
#define DK_REPLY_MAX (1u << 20)      /* any control reply (create, inspect, errors) */
#define DK_STATS_LINE_MAX (256u << 10) /* one object of the stats stream */

/* docker_http.c: one control call over the unix socket. */
struct dk_reply {
	long status; /* HTTP status */
	dux_buf_t body; /* owned; at most DK_REPLY_MAX, then the call fails */
};

/* A libcurl handle for METHOD <api_version>/<path> on the engine's socket, nothing sent yet.
 * Caller frees with curl_easy_cleanup. NULL on allocation failure. */
CURL *dk_http_handle(const struct dux_docker_opts *o, const char *method, const char *path);
/* Sends one request with an optional JSON body and reads the whole reply. 0 whatever the HTTP
 * status (ret->status says; caller frees ret->body with dux_buf_free, also on failure);
 * DUX_EUNAVAIL nothing listens, DUX_ETIMEDOUT, DUX_EPROTO reply too large or not HTTP,
 * DUX_ENOMEM; why gets "<what>: <reason>". */
int dk_http_call(const struct dux_docker_opts *o, const char *what, const char *method, const char *path,
	const char *json, struct dk_reply *ret, char *why, size_t why_size);
/* "<what>: HTTP <status>: <engine's message>" from an error reply, into why. */
void dk_http_status_why(const char *what, const struct dk_reply *r, char *why, size_t why_size);
/* why for a transfer that failed in libcurl: "no Docker engine at <socket>: connect: <errno
 * text>" when nothing listens (DUX_EUNAVAIL), else "<what>: <curl's text>". Returns the code. */
int dk_http_curl_why(const struct dux_docker_opts *o, const char *what, CURL *c, CURLcode cc,
	char *why, size_t why_size);
/* curl_global_init, once per process. */
void dk_http_global(void);

/* docker_json.c: the bodies we send and the replies we accept (strictly: types, sizes). */
/* The POST /containers/create body for spec. Caller frees with free(); NULL on ENOMEM. */
char *dk_json_create_body(const struct dux_docker_opts *o, const struct dux_sandbox_spec *spec);
/* {"Id": "<64 hex>", "Warnings": [...]|null}. 0 or DUX_EPROTO. */
int dk_json_create_reply(const char *text, size_t len, char ret_id[DK_ID_LEN + 1]);

struct dk_state {
	bool running;
	bool oom_killed;
	int exit_code; /* 0..255 */
};
/* The "State" of GET /containers/{id}/json. 0 or DUX_EPROTO. */
int dk_json_state(const char *text, size_t len, struct dk_state *ret);
/* The engine's {"message": "..."} of an error reply, printable ASCII only, into out; "" when
 * the reply has none. */
void dk_json_message(const char *text, size_t len, char *out, size_t out_size);

/* docker_stats.c: the stats stream (one JSON object per line), folded into usage figures. */
struct dk_stats {
	dux_buf_t line; /* the object being received, at most DK_STATS_LINE_MAX */
	unsigned samples;
	uint64_t cpu_total_ns, cpu_user_ns, cpu_sys_ns; /* the latest sample's */
	bool have_split;                                /* user/sys came with the samples */
	uint64_t peak_memory;                           /* the highest max_usage or usage seen */
	bool pids_hit;                                  /* current reached the limit in a sample */
	uint32_t pids_max;                              /* the spec's limit, for the same test */
};
void dk_stats_init(struct dk_stats *s, uint32_t pids_max);
/* Feeds received bytes; 0 or DUX_EPROTO (a malformed object or one above the maximum). */
int dk_stats_feed(struct dk_stats *s, const char *p, size_t n);
/* One object; exposed for tests. */
int dk_stats_object(struct dk_stats *s, const char *text, size_t len);
void dk_stats_free(struct dk_stats *s);

/* docker_frames.c: the multiplexed stream of GET /containers/{id}/logs (Tty false): frames of
 * an 8-byte header {type, 0, 0, 0, size as big-endian uint32} and size bytes of payload; type
 * 1 stdout, 2 stderr (0, stdin, is shown as stdout). Each stream is kept up to cap bytes. */
struct dk_capped {
	char *buf; /* owned, cap + 1 bytes, NUL-terminated */
	size_t len;
	bool truncated;
};
struct dk_demux {
	unsigned char hdr[8];
	size_t hdr_len;  /* header bytes received of the current frame */
	uint32_t left;   /* payload bytes still to come of the current frame */
	int type;        /* of the current frame */
	size_t cap;
	struct dk_capped out, err;
};
/* 0 or DUX_ENOMEM. */
int dk_demux_init(struct dk_demux *d, size_t cap);
/* Feeds received bytes (any split). 0, or DUX_EPROTO on a header that is not a frame's. */
int dk_demux_feed(struct dk_demux *d, const char *p, size_t n);
/* True once a stream went past cap. */
bool dk_demux_exceeded(const struct dk_demux *d);
/* True when a frame was cut short (the stream ended inside a header or a payload). */
bool dk_demux_partial(const struct dk_demux *d);
void dk_demux_free(struct dk_demux *d);

/* docker_attach.c: the hijacked connection of POST /containers/{id}/attach?stream=1&stdin=1,
 * which feeds the container's stdin: the code, then the input, then end-of-file. */
struct dk_attach {
	CURL *curl;
	curl_socket_t fd;
	const char *part[2]; /* borrowed from the spec: code, input */
	size_t part_len[2];
	int cur;             /* part being sent */
	size_t off;          /* bytes of it sent */
	bool eof_sent;       /* all sent and the write side shut down, or the reader went away */
};
void dk_attach_init(struct dk_attach *a);
/* Connects, sends the request and reads the answer's head (101 or 200) before deadline_ms
 * from now. 0, DUX_EUNAVAIL, DUX_ETIMEDOUT, DUX_EPROTO, DUX_ENOMEM; why says what. */
int dk_attach_open(struct dk_attach *a, const struct dux_docker_opts *o, const char *id, uint32_t timeout_ms,
	char *why, size_t why_size);
/* Sends what the socket takes now without blocking; shuts the write side down after the
 * last byte. A container that stopped reading its stdin is not an error: sending stops. */
void dk_attach_pump(struct dk_attach *a);
/* True while bytes remain to send (poll the fd for POLLOUT). */
bool dk_attach_pending(const struct dk_attach *a);
void dk_attach_close(struct dk_attach *a);

#endif
