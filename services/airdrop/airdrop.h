/* airdrop.h - duxos-airdrop internals: configuration, shared state, and the pieces the route
 * handlers and jobs are made of.
 *
 * Ownership: strings in airdrop_cfg_t belong to the configuration (freed by the skeleton);
 * airdrop_t lives for the whole process (a static in main.c); everything a function returns
 * through a ret_ parameter belongs to the caller, who frees it as its declaration says. */
#ifndef AIRDROP_H
#define AIRDROP_H

#include <dux/audit.h>
#include <dux/bus.h>
#include <dux/crypto.h>
#include <dux/daemon.h>
#include <dux/http.h>
#include <stdbool.h>
#include <stdint.h>

#define ROUND_ID_LEN 36 /* "adr_" + 32 hex */
#define APPROVERS_MAX 32
#define SHARDS_MAX 256
#define ADDR_MAX 64

typedef struct {
	char *threshold;            /* FLOP text (seed: 100.0) */
	double min_reputation;      /* seed: 0.5 */
	int64_t max_nodes;          /* airdrop.max_nodes_per_airdrop (seed: 1000) */
	int64_t eligibility_window; /* seconds (seed: 86400) */
	int64_t heartbeat_window;   /* seconds */
	char *dust_min;             /* FLOP text: smallest share paid */
	int64_t min_node_age;       /* seconds since first registration */
	int64_t flag_window;        /* seconds a disagreed verdict excludes a node */
	char *weighting;            /* "equal" or "work" */
	dux_strlist_t approvers;    /* base64url Ed25519 public keys */
	int64_t approvals_required; /* M */
	int64_t round_ttl;          /* seconds a proposed round waits for its approvals */
	int64_t check_interval_ms;  /* the monitor job */
	int64_t recovery_grace_ms;  /* an executing round older than this is the job's */
	int64_t peer_timeout_ms;    /* one attempt of a call to the escrow or the wallet */
	char *escrow_url, *escrow_events;
	char *registry_url, *registry_events;
	char *tasks_url, *tasks_events;
	char *wallet_url;
	char *service_token; /* secret: a service token (sub duxos-airdrop) for every peer */
	int64_t events_poll_ms;
	char *audit_key_file;
} airdrop_cfg_t;

typedef struct {
	airdrop_cfg_t cfg;
	dux_daemon_t *d;
	int64_t threshold, dust_min; /* base units */
	bool weighted;               /* cfg.weighting == "work" */
	dux_key_t *audit_key; /* signs the audit log (audit.c) */
	dux_key_t *approver_keys[APPROVERS_MAX]; /* the public keys of cfg.approvers */
	size_t napprovers;
	dux_sub_t *sub_registry, *sub_escrow, *sub_tasks;
	dux_metric_t *m_stuck, *m_skipped, *m_rounds;
} airdrop_t;

/* ---- views.c: what the other daemons' events tell (dux_sub_start subscribers) */

/* Starts the three subscribers (a peer whose URL is "" is not followed). */
int views_start(airdrop_t *a);
void views_stop(airdrop_t *a);
/* Whether s is an RFC 3339 UTC time as the daemons write it ("2024-01-15T12:30:00.004Z", the
 * milliseconds optional). */
bool views_time_ok(const char *s);
/* Records a fund reading (balance in base units, read_at an RFC 3339 time checked with
 * views_time_ok) unless a newer one is known. source: "event" or "check". */
int views_fund_record(dux_db_conn_t *c, int64_t balance, const char *read_at, const char *source);

/* ---- peers.c: calls to the escrow and the wallet with airdrop.service_token */

typedef struct {
	long status;      /* HTTP status; 0: no answer */
	char problem[48]; /* the problem's code on 4xx/5xx */
	char detail[320];
	cJSON *json; /* the answer (owned) */
} peer_resp_t;

void peer_resp_clear(peer_resp_t *r);
/* One call to the escrow (base cfg.escrow_url) or the wallet (cfg.wallet_url); idem: an
 * Idempotency-Key or NULL; body may be NULL. DUX_EUNAVAIL when no answer came. */
int peer_escrow(airdrop_t *a, const char *method, const char *path, const char *body,
		const char *idem, peer_resp_t *ret);
int peer_wallet(airdrop_t *a, const char *method, const char *path, peer_resp_t *ret);
/* Whether address is a ledger account: 1 yes, 0 no, < 0 the wallet did not say. Remembers a
 * yes in ledger_accounts (c may be NULL: no memory). */
int peer_is_account(airdrop_t *a, dux_db_conn_t *c, const char *address);
/* The fund's balance now, read from the wallet: the sum of the balances of the shard accounts
 * the escrow lists at GET /v1/community-fund. */
int peer_fund_live(airdrop_t *a, int64_t *ret);

/* ---- eligibility.c: who may receive a share, and why (not) */

typedef struct {
	char node_id[33];
	char address[ADDR_MAX];
	int64_t weight; /* agreed attempts within the eligibility window (>= 1) */
	int64_t amount; /* the share, once distributed */
} elig_node_t;

typedef struct {
	elig_node_t *v; /* owned: free with elig_list_free */
	int n;
	int eligible;     /* nodes passing every criterion but the wallet's (before dedup) */
	int shared_wallet; /* eligible nodes left out: their wallet address went to a node before */
	int no_account;   /* left out: the address is not a ledger account */
} elig_list_t;

void elig_list_free(elig_list_t *l);
/* The recipients of a round now: every eligible node in the documented order, one per wallet
 * address, whose address is a ledger account, at most cfg.max_nodes. c: a connection the
 * caller holds. DUX_EUNAVAIL when the wallet could not say. */
int elig_select(airdrop_t *a, dux_db_conn_t *c, elig_list_t *ret);
/* Every criterion for one node as JSON (caller frees); DUX_ENOENT when the node is unknown. */
int elig_explain(airdrop_t *a, dux_db_conn_t *c, const char *node_id, cJSON **ret);

/* ---- distribute.c: shares in exact integer arithmetic */

typedef struct {
	int64_t total;     /* paid */
	int64_t remainder; /* pool - total: stays in the fund */
	int dropped;       /* recipients dropped below the dust minimum */
} dist_result_t;

/* Gives each of l->v[0..n) its share of pool (equal, or by weight when weighted), drops the
 * shares below dust (renormalising the rest; equal shares drop the last ones in order) and
 * compacts l. */
void distribute(elig_list_t *l, int64_t pool, int64_t dust, bool weighted, dist_result_t *ret);

/* ---- digest.c */

/* SHA-256 hex of the round's canonical text (see digest.c); DUX_ENOMEM. */
int digest_round(const char *round_id, int64_t fund_balance, const elig_node_t *v, int n,
		 int64_t total, char ret[65]);

/* ---- rounds.c */

/* Proposes a round when the fund has crossed the threshold and none is open: 1 proposed,
 * 0 nothing to do. c: the monitor's connection. */
int rounds_propose(airdrop_t *a, dux_db_conn_t *c);
/* The round as JSON text (with recipients and approvals when full; caller frees);
 * DUX_ENOENT when unknown. */
int rounds_get(dux_db_conn_t *c, const char *id, bool full, char **ret_json);
/* The dry run: what a round would be now (pool < 0: the live balance). Caller frees ret. */
int rounds_dry_run(airdrop_t *a, dux_db_conn_t *c, int64_t pool, int weighted, cJSON **ret);
bool rounds_id_valid(const char *id);

/* ---- payout.c: the escrow's payout of an executing round, idempotent by round id */

/* 0: executed (or already); DUX_ECONFLICT: refused for good (the round is failed now);
 * DUX_EUNAVAIL: no answer (the round stays executing for the recovery job). */
int payout_execute(airdrop_t *a, const char *round_id);

/* ---- approvals.c */

/* Index of the configured approver with public key b64, or -1. */
int approvals_find(const airdrop_t *a, const char *b64);
/* Loads cfg.approvers; writes "key: why" into err on failure. */
int approvals_init(airdrop_t *a, char *err, size_t len);

/* ---- monitor.c: the job (one copy) */
int monitor_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);

/* ---- audit.c: the signed hash chain, in libduxcommon's audit module (dux/audit.h) */
/* The log's tables and names, with a's key (borrowed from a; NULL key when a is NULL). */
dux_audit_t audit_log(const airdrop_t *a);
/* Queues an entry in the caller's transaction (data borrowed; round_id may be NULL). */
DUX_MUST_USE int audit_queue(dux_db_conn_t *c, const char *action, const char *round_id,
			     const char *actor, const cJSON *data);
/* Job (ctx: the airdrop_t): links queued entries into the chain and signs them. */
int audit_chain_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);
/* Loads airdrop.audit_key_file into a->audit_key; "key: why" into err on failure. */
int audit_init(airdrop_t *a, char *err, size_t len);

/* ---- api helpers (api_rounds.c) */
void reply_db_json(dux_req_t *r, int status, const char *text);

/* ---- routes */
void api_status(dux_req_t *r, void *app);
void api_eligibility(dux_req_t *r, void *app);
void api_dry_run(dux_req_t *r, void *app);
void api_rounds(dux_req_t *r, void *app);
void api_round(dux_req_t *r, void *app);
void api_approve(dux_req_t *r, void *app);
void api_audit(dux_req_t *r, void *app);
void api_audit_key(dux_req_t *r, void *app);

#endif
