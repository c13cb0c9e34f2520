/* harness.h - what integration tests and benchmarks share: the test PostgreSQL cluster (made by
 * deploy/local/pgctl.sh, named by env DUX_TEST_PG_DIR), a fresh database per test, real daemon
 * binaries started on free ports, HTTP calls, and node-signed requests. */
#ifndef DUX_TEST_HARNESS_H
#define DUX_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <dux/client.h>
#include <dux/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	char dir[256];
	char conninfo[512]; /* of the database made by th_pg_newdb */
	char password_file[300];
} th_pg_t;

typedef struct {
	pid_t pid;
	int port, bus_port;
	char url[64], bus[64];
	char config[300], log[300];
} th_daemon_t;

/* Reads KEY from a pgctl.sh env file (KEY="value" lines) into out. */
bool th_env_value(const char *file, const char *key, char *out, size_t len);

/* Loads the cluster named by DUX_TEST_PG_DIR and creates a new empty database in it.
 * Returns false (after printing why) when there is no cluster. */
bool th_pg_newdb(th_pg_t *pg);
/* Runs deploy/local/pgctl.sh CMD on the cluster (kill, start, stop); returns its exit status. */
int th_pg_ctl(const th_pg_t *pg, const char *cmd);

int th_free_port(void);

/* Starts bin/NAME with a generated config: the database of pg, free HTTP and bus ports, and
 * extra_yaml appended (may be NULL). Waits until /readyz answers 200 (when wait_ready). */
bool th_daemon_start(th_daemon_t *d, const char *name, const th_pg_t *pg, const char *extra_yaml,
		     bool wait_ready);
/* As th_daemon_start, but on d's ports when it has them (a restart that others still find at
 * the same address); a fresh config and log. */
bool th_daemon_respawn(th_daemon_t *d, const char *name, const th_pg_t *pg,
		       const char *extra_yaml, bool wait_ready);
/* SIGTERM, wait; returns the exit status (0 = clean, leak-free under ASan), -1 on a signal. */
int th_daemon_stop(th_daemon_t *d);
/* SIGKILL, wait. */
void th_daemon_kill(th_daemon_t *d);
bool th_wait_status(const char *url, const char *path, long status, int timeout_ms);
/* Prints the daemon's log to stderr (for failures). */
void th_daemon_dump_log(const th_daemon_t *d);

/* One HTTP call; resp must be cleared with dux_client_resp_clear. extra: NULL-terminated headers. */
int th_http(const char *url, const char *method, const char *path, const char *body,
	    const char *const *extra, dux_client_resp_t *resp);
/* th_http with auth (an "Authorization: ..." line, may be NULL) before the extra headers. */
int th_http_as(const char *url, const char *method, const char *path, const char *auth,
	       const char *const *extra, const char *body, dux_client_resp_t *resp);
/* The same, returning the status (-1: no answer) and the JSON answer in ret (caller frees;
 * may be NULL). */
long th_call(const char *url, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret);
/* The "type" of a problem+json answer without its "urn:duxos:problem:" prefix, or "". */
const char *th_problem(const dux_client_resp_t *resp);

/* A node identity and a signed request from it. counter 0 = use the current unix ms. */
typedef struct {
	dux_key_t *key;
	char id[33];
	char pub_b64[64];
	int64_t last_counter;
} th_node_t;
bool th_node_new(th_node_t *n);
void th_node_free(th_node_t *n);
int64_t th_node_counter(th_node_t *n);
int th_signed(const char *url, th_node_t *n, const char *method, const char *path,
	      const char *body, int64_t counter, dux_client_resp_t *resp);
/* A fresh Ed25519 token key: its public half written as PEM to pub_path (for the daemon's
 * auth.public_key_file), the private key returned for dux_token_mint. */
bool th_auth_key(const char *pub_path, dux_key_t **ret);
/* A bearer token for sub with scopes, as an "Authorization: Bearer ..." header line. */
bool th_bearer(const dux_key_t *key, const char *sub, unsigned scopes, char *out, size_t len);

/* A valid mainnet Flopcoin address. */
void th_address(char out[64]);

#endif
