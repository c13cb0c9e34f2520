/* tasks_util.h - what the duxos-tasks integration tests share: the whole chain on one fresh
 * database and token key (wallet, escrow and store from store_util, the registry, and the
 * task engine in role both, whose executor is node 0), more nodes registered with the
 * registry, more executors (role executor) pulling from the scheduler, waiting for tasks to
 * end, and the provider's bundle signature. The escrow validates releases against the task
 * engine (escrow.tasks_url). */
#ifndef TASKS_UTIL_H
#define TASKS_UTIL_H

#include "store_util.h"
#include <stdbool.h>

#define TU_NODES_MAX 8
#define TU_YAML_MAX 2048

typedef struct {
	su_t s;                  /* wallet, escrow, store (s.e.w.pg is the database) */
	th_daemon_t registry;
	th_daemon_t sched;       /* duxos-tasks, role both: its executor is nodes[0] */
	const char *url;         /* sched.url */
	th_node_t nodes[TU_NODES_MAX];
	char keyfiles[TU_NODES_MAX][64];
	char wallets[TU_NODES_MAX][64];
	th_daemon_t execs[TU_NODES_MAX]; /* execs[i]: role executor for nodes[i] (i >= 1) */
	int nnodes;
	char tasks_yaml[TU_YAML_MAX];   /* more lines of the scheduler's "tasks:" section */
	char bundle_keys[256];          /* tasks.bundle_keys of every executor: "[...]" */
	char scratch[64], cgroup[64];   /* this test's sandbox.scratch_dir and cgroup_parent */
	char service_token[WU_HDR_MAX]; /* bare service token (sub duxos-tasks) */
	char escrow_token[WU_HDR_MAX];  /* bare service token (sub duxos-escrow) */
	char user[WU_HDR_MAX];          /* "Authorization: Bearer ..." of a user */
	char admin[WU_HDR_MAX];
} tu_t;

/* Everything above, with node 0 registered on wallet0 (NULL: a fresh address) and tasks_yaml
 * as more lines of the "tasks:" section (indented by two; NULL: none; the defaults of the
 * tests are trusted_reputation 0, i.e. one replica). bundle_keys: the executors' trusted keys
 * as a YAML flow list ("[]" when NULL). */
bool tu_start(tu_t *t, const char *wallet0, const char *tasks_yaml, const char *bundle_keys);
/* Stops every daemon; false when one of the task engines did not exit cleanly. */
bool tu_finish(tu_t *t);
void tu_dump_logs(const tu_t *t);

/* Registers one more node (capability task_execution) on wallet (NULL: a fresh address) and
 * starts its executor; returns its index, -1 on failure. */
int tu_add_executor(tu_t *t, const char *wallet);
/* Polls GET /v1/executors until node i is online there (it claims work). */
bool tu_wait_online(const tu_t *t, int i, int timeout_ms);
/* Polls GET /v1/tasks/{id} as auth until the task ended; the task (caller frees) or NULL. */
cJSON *tu_wait_task(const tu_t *t, const char *auth, const char *id, int timeout_ms);
/* POST /v1/tasks as auth with body; the task's id into id when 201. Returns the status. */
long tu_submit(const tu_t *t, const char *auth, const char *body, char id[64]);
/* A bash task's body: code, input "" */
const char *tu_bash(char *buf, size_t len, const char *code, const char *more);
/* Which node index ran attempt a (by node_id), -1 when none. */
int tu_node_of(const tu_t *t, const cJSON *attempt);

#endif
