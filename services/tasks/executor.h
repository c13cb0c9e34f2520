/* executor.h - the executor role's internals (executor.c, exec_run.c, exec_claim.c). */
#ifndef TASKS_EXECUTOR_H
#define TASKS_EXECUTOR_H

#include "docker.h"
#include "tasks.h"
#include <dux/sign.h>
#include <stdatomic.h>

#define EXEC_SLOTS_MAX 256

/* One sandbox slot: the attempt it runs ("" when idle) and the flag that ends it early. */
typedef struct {
	executor_t *x;
	pthread_t thread;
	pthread_mutex_t mu; /* guards attempt */
	char attempt[TASK_ID_LEN + 1];
	atomic_bool cancel;
} exec_slot_t;

struct executor {
	tasks_t *t;
	dux_key_t *key; /* the node's private key (owned) */
	char node_id[DUX_NODE_ID_LEN + 1];
	int slots;
	int64_t claim_wait_ms;
	atomic_bool stop;
	atomic_int_least64_t counter;
	bool docker; /* sandbox.runtime docker: dux_docker_run instead of dux_sandbox_run */
	struct dux_docker_opts docker_opts;
	exec_slot_t slot[EXEC_SLOTS_MAX];
	int nthreads;
	pthread_t watch; /* heartbeats, and whether running attempts are still wanted */
	bool has_watch;
};

int64_t exec_counter(executor_t *x);
/* A POST signed with the node key (never retried as it is). */
int exec_signed(executor_t *x, dux_client_t *cl, const char *path, const cJSON *body,
		dux_client_resp_t *ret);
void exec_nap(executor_t *x, int64_t ms);

/* exec_claim.c: one claim; *ret gets the array of attempts offered (may be empty; owned). */
int exec_claim(executor_t *x, dux_client_t *cl, cJSON **ret);
/* The watch thread: the node's heartbeats to the registry every tasks.heartbeat_interval, and
 * every second, for each attempt running here, whether the scheduler still wants it (a task
 * cancelled, or decided by other replicas, ends its sandbox at once). */
void *exec_watch_main(void *arg);

/* exec_run.c: verifies, runs and reports one attempt of the claim's answer on slot s. */
void exec_run(exec_slot_t *s, dux_client_t *cl, const cJSON *attempt);

#endif
