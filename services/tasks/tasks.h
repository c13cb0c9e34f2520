/* tasks.h - duxos-tasks internals: configuration, shared state, and the pieces the routes,
 * jobs and the executor are made of. See PLAN.md for how they fit. */
#ifndef TASKS_H
#define TASKS_H

#include "sandbox.h"
#include <dux/bus.h>
#include <dux/client.h>
#include <dux/crypto.h>
#include <dux/daemon.h>
#include <dux/http.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TASK_ID_LEN 36 /* "tsk_" + 32 hex; attempts "att_" + 32 hex */
#define TASK_INPUT_MAX (1u << 20)
#define TASK_CODE_MAX (1u << 20)
#define TASK_OUTPUT_MAX (1u << 20) /* stdout kept per attempt, the validated output */
#define TASK_STDERR_MAX (64u << 10)
#define TASK_REPLICAS_MAX 5

typedef struct {
	char *role; /* scheduler | executor | both */
	/* scheduler */
	char *registry_url, *registry_events, *registry_token;
	char *escrow_url, *escrow_token;
	char *store_url;
	int64_t max_retries;
	int64_t queue_timeout;   /* s a task may wait for an eligible node */
	int64_t offer_timeout;   /* s an offered attempt may wait for its node's claim */
	int64_t lease_grace;     /* s past the task's timeout before a running attempt is lost */
	int64_t unknown_after;   /* s without a claim before a node gets no new work */
	double trusted_reputation;
	int64_t claim_wait_ms;   /* long-poll of a claim */
	int64_t schedule_interval_ms;
	int64_t events_poll_ms;
	dux_strlist_t wake_endpoints; /* schedulers' buses whose task.* events wake claims */
	/* executor */
	char *scheduler_url;
	char *node_key_file;
	int64_t executor_slots;
	dux_strlist_t bundle_keys; /* base64url Ed25519 keys whose bundles this node runs */
	int64_t heartbeat_interval; /* s; 0 = none */
	/* sandbox (the seed's section) */
	char *sb_runtime, *sb_docker_socket, *sb_memory, *sb_cpu;
	bool sb_network;
	int64_t sb_timeout;
	dux_strlist_t sb_allowed;
	int64_t sb_output_cap;
	int64_t sb_pids;
	char *sb_scratch, *sb_cgroup;
} tasks_cfg_t;

typedef struct executor executor_t;
struct tasks_wake;

typedef struct {
	tasks_cfg_t cfg;
	dux_daemon_t *d;
	bool scheduler, executor;
	/* the sandbox section's limits: the most a task may ask, and its defaults */
	uint64_t max_memory;
	uint32_t max_cpu_milli;
	bool allow_network;
	unsigned allowed; /* bit per enum dux_sandbox_runtime the config allows */
	dux_sub_t *nodes_sub;
	dux_metric_t *m_stuck, *m_runs;
	/* claims waiting in this process are woken when it offers work */
	pthread_mutex_t wake_mu;
	pthread_cond_t wake_cv;
	uint64_t wake_gen;
	executor_t *exec;
	struct tasks_wake *wake;
} tasks_t;

/* ---- config.c: checks the options and derives the limits above; "key: what is wrong". */
int tasks_check(tasks_t *t, char *err, size_t len);

/* ---- input.c: the task a caller asks for */

typedef struct {
	enum dux_sandbox_runtime runtime;
	const char *runtime_name;
	const char *code; /* borrowed from the request */
	const char *input;
	char memory_text[24], cpu_text[24];
	uint64_t memory_bytes;
	uint32_t cpu_milli;
	int64_t timeout_s;
	bool network;
	int64_t replicas;
	cJSON *output_format; /* owned: {"content_type": ...} or {"schema": {...}} */
} task_spec_t;

/* Reads runtime, code, input, resources, replicas, output_format from body, within the
 * sandbox section's limits. Replies 400 invalid-field and returns false on bad input. */
bool spec_read(tasks_t *t, dux_req_t *r, const cJSON *body, bool with_code, task_spec_t *ret);
void spec_clear(task_spec_t *s);
/* What an Idempotency-Key stands for: SHA-256 hex of everything the task asks. */
void spec_digest(const task_spec_t *s, char ret[65]);
/* Checks an output_format member (NULL: text/plain). A copy, or NULL with why written. */
cJSON *format_read(const cJSON *v, char *why, size_t len);

/* ---- api_tasks.c: Idempotency-Key */

/* 1..128 of letters, digits and . _ : - (or absent); replies 400 and returns false when not. */
bool idem_ok(dux_req_t *r, const char *idem);
/* 1 and the task's id when owner used idem before (*ret_differs: for another request than
 * digest; *ret_unfunded (may be NULL): a call still waiting for its escrow), 0 when not. */
int idem_lookup(dux_db_conn_t *c, const char *owner, const char *idem, const char *digest,
		char id[TASK_ID_LEN + 1], bool *ret_differs, bool *ret_unfunded);

/* ---- tasks_db.c: rows and transitions */

/* Renders a task as JSON text (full: with input, output, format); DUX_ENOENT when unknown. */
int task_json_text(dux_db_conn_t *c, const char *id, bool full, char **ret);
/* Emit task.queued, task.started, task.succeeded with the task as it is now in c's
 * transaction (task_end emits task.failed and task.cancelled). */
int task_queued(dux_db_conn_t *c, const char *id);
int task_started(dux_db_conn_t *c, const char *id);
int task_succeeded(dux_db_conn_t *c, const char *id);
/* Ends a task (state failed|cancelled) with reason and detail, cancels its open attempts,
 * queues the refund of a paid task, emits the event. 0 also when it had already ended. */
int task_end(dux_db_conn_t *c, const char *id, const char *state, const char *reason,
	     const char *detail);
void reply_db_json(dux_req_t *r, int status, const char *text);

/* ---- assign.c: node selection */

/* Offers attempts of task id to the best eligible nodes until it has as many open or
 * reported attempts as replicas; raises replicas by the trust rule. Returns the number of
 * attempts offered (0: none eligible now). Must run inside a transaction holding the task's
 * row lock. */
int assign_task(tasks_t *t, dux_db_conn_t *c, const char *id);
/* Offers nodes to the oldest tasks (at most max) still short of attempts, skipping tasks other
 * transactions hold: a slot that just became free goes to the task that waited longest, not to
 * the next one submitted. Inside a transaction. Returns the number of attempts offered. */
int assign_backlog(tasks_t *t, dux_db_conn_t *c, int max);
/* Wakes claims waiting in this process. */
void assign_wake(tasks_t *t);

/* ---- wake.c: claims woken by any scheduler copy's task.* events (ZeroMQ) */
int wake_start(tasks_t *t);
void wake_stop(tasks_t *t);

/* ---- judge.c: validation of reports and the task's verdict */

/* Whether output out satisfies format; why says how not. */
bool judge_output(const cJSON *format, const char *out, size_t n, char *why, size_t len);
/* Decides task id after one of its attempts changed (reported, lost): succeeded by strict
 * majority of valid equal outputs, failed when no majority can come, or more attempts.
 * Inside a transaction holding the task's row lock. */
int judge_task(tasks_t *t, dux_db_conn_t *c, const char *id);

/* ---- nodeview.c: the registry's nodes, from its events */
int nodeview_start(tasks_t *t);
void nodeview_stop(tasks_t *t);

/* ---- signed.c: requests signed by a node key */

#define SIGNED_WINDOW_S 300 /* the sender's counter is its clock: this far off at most */

/* Admits a request signed by node node_id of the view (its key; a counter within the window
 * and not seen before from it). Replies and returns false when refused. */
bool signed_admit(tasks_t *t, dux_req_t *r, dux_db_conn_t *c, const char *node_id);

/* ---- jobs.c */
int sched_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);  /* leases, retries, queue */
int settle_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx); /* escrow release / refund */
/* The escrow step of task id if it is due (it ended, paid), at once, on c outside a
 * transaction; the settle job is the retry when the escrow does not answer. */
int settle_task(tasks_t *t, dux_db_conn_t *c, const char *id);
int outcome_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx); /* registry outcomes */

/* ---- peers.c: calls to the other daemons */
typedef struct {
	long status;      /* 0: no answer */
	char problem[48]; /* the problem's code on 4xx/5xx */
	char detail[320];
	cJSON *json; /* owned */
} peer_resp_t;
void peer_resp_clear(peer_resp_t *r);
/* base: "store" | "escrow" | "registry". bearer: the token to send (NULL: this daemon's own
 * for that peer). DUX_EUNAVAIL when no answer came. */
int peer_call(tasks_t *t, const char *peer, const char *method, const char *path,
	      const char *bearer, const char *idem, const cJSON *body, peer_resp_t *ret);

/* ---- bundles.c */
/* The signed text of a bundle: DUX-BUNDLE-1, service id, version, runtime, code SHA-256. */
char *bundle_message(const char *service_id, const char *version, const char *runtime,
		     const char *code_sha256);
/* Verifies signature (base64url) of the bundle with public_key (base64url): 0 or DUX_EAUTH. */
int bundle_verify(const char *public_key, const char *signature, const char *message);

/* ---- executor.c: runs work for the scheduler */
int executor_start(tasks_t *t);
void executor_stop(tasks_t *t);

/* ---- routes */
void api_task_create(dux_req_t *r, void *app);
void api_task_get(dux_req_t *r, void *app);
void api_task_list(dux_req_t *r, void *app);
void api_task_cancel(dux_req_t *r, void *app);
void api_task_logs(dux_req_t *r, void *app);
void api_claim(dux_req_t *r, void *app);
void api_result(dux_req_t *r, void *app);
void api_attempt_heartbeat(dux_req_t *r, void *app);
void api_call(dux_req_t *r, void *app);
void api_bundle_put(dux_req_t *r, void *app);
void api_bundle_get(dux_req_t *r, void *app);
void api_nodes(dux_req_t *r, void *app);

/* Small helpers (util.c). */
void new_id(const char *prefix, char ret[TASK_ID_LEN + 1]);
bool hex64_ok(const char *s);
void sha256_hex(const void *data, size_t len, char ret[65]);
bool is_admin_or_service(const dux_req_t *r);

#endif
