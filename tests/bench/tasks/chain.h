/* chain.h - the whole chain a paid call goes through, for bench_tasks: duxos-registry,
 * duxos-wallet, duxos-escrow, duxos-store and duxos-tasks in role both (its executor is the one
 * node, registered in the registry on the provider's wallet, trusting the provider's bundle
 * key), as child processes on one fresh database of the benchmark's cluster, with one token key;
 * a provider with an account, a service in the store and its signed bundle; a user with a
 * funded account. The same wiring as tests/integration/tasks_util.c, but with the daemons'
 * defaults (log.level warn) except for the knobs the benchmark names. */
#ifndef BENCH_TASKS_CHAIN_H
#define BENCH_TASKS_CHAIN_H

#include "child.h"
#include "cluster.h"
#include "harness.h"
#include "wallet_calls.h"
#include <dux/address.h>
#include <stdbool.h>

#define CHAIN_DB "bench_tasks"

/* The task engine's knobs a run sets (0: the daemon's default, left out of its config). */
typedef struct {
	int slots;                /* tasks.executor_slots */
	int claim_wait_ms;        /* tasks.claim_wait_ms */
	int schedule_interval_ms; /* tasks.schedule_interval_ms */
	int pool_size;            /* db.pool_size of duxos-tasks */
} chain_knobs_t;

typedef struct {
	const char *bindir; /* where the duxos-* binaries are */
	const bench_cluster_t *cl;
	bench_daemon_t registry, wallet, escrow, store, tasks;
	int registry_bus;
	dux_key_t *key;                     /* the token key (its public half: pubfile) */
	char pubfile[300], auditfile[300], nodefile[300];
	char admin[BENCH_AUTH_MAX], user[BENCH_AUTH_MAX], provider[BENCH_AUTH_MAX];
	char svc_token[BENCH_AUTH_MAX];    /* bare, sub duxos-tasks (escrow, registry) */
	char escrow_token[BENCH_AUTH_MAX]; /* bare, sub duxos-escrow (the wallet) */
	char store_token[BENCH_AUTH_MAX];  /* bare, sub duxos-store (the wallet) */
	char user_addr[DUX_ADDRESS_MAX], prov_addr[DUX_ADDRESS_MAX];
	th_node_t node; /* the executor's identity */
	dux_key_t *bundle_key;
	char bundle_pub[64];
	char svc[64];        /* the provider's service */
	char scratch[128];   /* sandbox.scratch_dir of this run */
	char cgroup[64];     /* sandbox.cgroup_parent of this run */
	chain_knobs_t knobs; /* of the task engine running now */
	bool tasks_up;
} chain_t;

/* Starts everything but the task engine's bundle: a fresh database, the registry, the wallet,
 * the escrow (escrow.tasks_url pointing at the task engine's port), the store; the accounts
 * (the user's funded with fund FLOP); the node registered; the service published at price
 * (FLOP text). False (after printing why) on failure: stop with chain_stop. */
bool chain_start(chain_t *c, const char *bindir, const bench_cluster_t *cl, int fund,
		 const char *price);
/* Starts (or restarts) duxos-tasks with knobs; waits until its executor is online in
 * GET /v1/executors. */
bool chain_tasks_start(chain_t *c, const chain_knobs_t *knobs);
/* Stops duxos-tasks; false when it did not exit with status 0. */
bool chain_tasks_stop(chain_t *c);
/* PUT /v1/bundles/{svc} version, runtime bash, code, signed with the bundle key (201). */
bool chain_put_bundle(chain_t *c, const char *version, const char *code);
/* The tasks daemon's config lines that the report names. */
void chain_describe(const chain_t *c, char *out, size_t len);
/* Stops every daemon (the task engine first); false when one did not exit cleanly. Removes
 * the work directories unless keep (or a daemon failed), and the sandbox dirs of the run. */
bool chain_stop(chain_t *c, bool keep);

/* GET /v1/wallet/balance as auth: the total balance and held amounts in base units. */
bool chain_balance(const chain_t *c, const char *auth, int64_t *balance, int64_t *held);

/* The pids of the daemons other than the task engine (for CPU accounting). */
int chain_other_pids(const chain_t *c, pid_t out[4]);

#endif
