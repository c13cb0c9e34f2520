/* fake_dockerd.h - a fake Docker Engine for the tests of the docker runtime: a libmicrohttpd
 * server on a unix socket in a temp dir of its own, answering the calls docker_run.c makes as
 * the Engine API documents them (v1.41 shapes). It runs nothing: its one "container" echoes
 * its stdin to stdout, writes "warn\n" to stderr and exits as the mode says. It records what it
 * was asked so that the tests can check the limits sent and that every container was removed.
 * It runs in the test's own process (threads), one run at a time. */
#ifndef DUX_TEST_FAKE_DOCKERD_H
#define DUX_TEST_FAKE_DOCKERD_H

#include <stddef.h>

enum fake_docker_mode {
	FD_OK,          /* echo, warn, exit 0, with stats samples (cpu, 50 MiB peak) */
	FD_EXIT3,       /* the same, exit 3 */
	FD_OOM,         /* the same, exit 137 with State.OOMKilled */
	FD_PIDS,        /* exit 1, the stats show pids at the limit */
	FD_HANG,        /* never exits until killed (then 137) */
	FD_FLOOD,       /* stdout without end until killed */
	FD_NO_IMAGE,    /* create: 404 {"message": "No such image: ..."} */
	FD_BAD_CREATE,  /* create: 201 with {"Id": 12} */
	FD_BAD_INSPECT, /* inspect: {"State": {"Running": "no"}} */
	FD_BAD_STATS,   /* stats: {"cpu_stats": 5} */
	FD_BAD_FRAME,   /* logs: a frame header of stream type 7 */
	FD_NOT_JSON,    /* create: 201 with "<html>" */
};

struct fake_dockerd;

/* Starts a server; aborts the test process if it cannot (a broken test machine). Caller stops
 * it with fake_dockerd_stop. */
struct fake_dockerd *fake_dockerd_start(void);
/* Joins its threads, stops the server, removes the socket and its dir. Accepts NULL. */
void fake_dockerd_stop(struct fake_dockerd *f);
/* Borrowed until fake_dockerd_stop. */
const char *fake_dockerd_socket(const struct fake_dockerd *f);
/* Forgets every record and the container; the next run behaves as mode says. */
void fake_dockerd_reset(struct fake_dockerd *f, enum fake_docker_mode mode);
/* How many requests of one kind it answered: "ping", "create", "attach", "start", "logs",
 * "stats", "kill", "wait", "inspect", "delete". */
int fake_dockerd_calls(struct fake_dockerd *f, const char *kind);
/* Copies, caller frees with free(); NULL if none: the body of the last create, its ?name=, the
 * path of the last DELETE, the bytes received on stdin (*ret_len set). */
char *fake_dockerd_create_body(struct fake_dockerd *f);
char *fake_dockerd_create_name(struct fake_dockerd *f);
char *fake_dockerd_delete_path(struct fake_dockerd *f);
char *fake_dockerd_stdin(struct fake_dockerd *f, size_t *ret_len);
/* 1 if the container still exists (was never removed), else 0. */
int fake_dockerd_container_exists(struct fake_dockerd *f);

#endif
