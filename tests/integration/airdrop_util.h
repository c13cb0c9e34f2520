/* airdrop_util.h - what the duxos-airdrop integration tests share: a wallet and an escrow
 * (escrow_util: community_bps 10000, so a released escrow goes whole into the fund), a real
 * duxos-registry, the fake task-event publisher of tests/fakes (named duxos-tasks), three
 * approver keys, and duxos-airdrop following all three, on one fresh database. */
#ifndef AIRDROP_UTIL_H
#define AIRDROP_UTIL_H

#include "escrow_util.h"
#include <stdbool.h>
#include <stdint.h>

#define AU_APPROVERS 3
#define AU_NODES_MAX 64

typedef struct {
	th_node_t id;
	eu_user_t owner; /* the account its wallet address names (when made by au_node) */
	char wallet[64];
} au_node_t;

typedef struct {
	eu_t e;                 /* wallet + escrow */
	th_daemon_t reg, tasks, air;
	char air_yaml[2048];    /* extra lines of the airdrop's "airdrop:" section */
	dux_key_t *approvers[AU_APPROVERS];
	char approver_b64[AU_APPROVERS][48];
	char audit_keyfile[64];
	char token[WU_HDR_MAX];  /* the airdrop's bare service token */
	char service[WU_HDR_MAX]; /* "Authorization: Bearer ..." of a service (registry outcomes) */
	eu_user_t payer;          /* the user whose escrows feed the fund */
} au_t;

/* Everything, with airdrop_yaml (lines of the "airdrop:" section indented by two spaces, may
 * be NULL) after the defaults of the tests: threshold 1, min_node_age 0, approvals 2 of 3,
 * check every 100 ms. */
bool au_start(au_t *a, const char *airdrop_yaml);
/* Stops every daemon (SIGTERM); true when all exited cleanly. Frees the keys. */
bool au_stop(au_t *a);
/* Stops the airdrop if it runs (false unless cleanly), starts it again on its port
 * (airdrop_yaml NULL: as before). */
bool au_airdrop_restart(au_t *a, const char *airdrop_yaml);
void au_dump_logs(const au_t *a);

/* A node registered with the registry whose wallet is a new ledger account (or wallet when
 * not NULL). Waits until the airdrop knows it. */
bool au_node(au_t *a, au_node_t *n, const char *wallet);
/* A task.succeeded (succeeded) or task.failed with one attempt per node, each with verdict. */
bool au_task(au_t *a, bool succeeded, au_node_t *const *nodes, const char *const *verdicts,
	     int n);
/* Pays flop FLOP into the fund (an escrow of the payer released whole); true on 200. */
bool au_feed(au_t *a, const char *flop);
/* One call to the airdrop. */
long au_call(const au_t *a, const char *method, const char *path, const char *auth,
	     const char *body, cJSON **ret);
/* Polls GET /v1/airdrop/eligibility/{id} until criterion has verdict; false after 20 s. */
bool au_wait_verdict(const au_t *a, const char *node_id, const char *criterion,
		     const char *verdict);
/* Waits for a round in status (any when NULL); its JSON (caller frees) or NULL. */
cJSON *au_wait_round(const au_t *a, const char *status, int timeout_ms);
/* The approval body for round (its full JSON) by approver k: the digest rebuilt from the
 * recipients, signed. key NULL: approver k's own key; else another key claiming k. */
bool au_approval(const au_t *a, const cJSON *round, int k, const dux_key_t *key, char *out,
		 size_t len);
/* The number of rounds in GET /v1/airdrop/rounds. */
int au_round_count(const au_t *a);

#endif
