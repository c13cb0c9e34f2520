/* escrow.h - duxos-escrow internals: configuration, shared state, and the pieces the route
 * handlers are made of. */
#ifndef ESCROW_H
#define ESCROW_H

#include <dux/audit.h>
#include <dux/crypto.h>
#include <dux/daemon.h>
#include <dux/http.h>
#include <stdbool.h>
#include <stdint.h>

#define ESCROW_ID_LEN 36 /* "esc_" + 32 hex */
#define FUND_SHARDS_MAX 256

typedef struct {
	char *wallet_url;
	char *wallet_token;      /* secret: a service token for the wallet */
	int64_t community_bps;   /* share of every release for the community fund */
	int64_t fund_shards;     /* fund accounts summed on read */
	char *fund_threshold;    /* FLOP text: shown with the fund (the airdrop's trigger) */
	int64_t default_timeout; /* seconds before an unreleased escrow is refunded */
	int64_t dispute_timeout; /* seconds an unresolved dispute freezes an escrow */
	int64_t min_timeout, max_timeout;
	char *max_amount;        /* FLOP text: largest escrow */
	char *tasks_url;         /* task engine, for escrows bound to a task ("" = none) */
	char *tasks_token;       /* secret: token for the task engine */
	char *audit_key_file;    /* Ed25519 private key signing the audit log */
	int64_t recovery_interval_ms;
	int64_t recovery_grace_ms; /* an intent older than this is the recovery job's */
	int64_t wallet_timeout_ms; /* one attempt of a wallet call (3 attempts at most) */
	int64_t fund_interval_ms;
	dux_strlist_t fund_payers; /* token subjects (scope service) that may pay out the fund */
} escrow_cfg_t;

typedef struct {
	escrow_cfg_t cfg;
	dux_daemon_t *d;
	int64_t max_amount, fund_threshold; /* base units */
	dux_key_t *audit_key; /* signs the audit log (audit.c) */
	/* the fund's shard accounts, once made (fund.c) */
	char shards[FUND_SHARDS_MAX][64];
	int nshards; /* 0 until they exist in the wallet */
} escrow_t;

/* ---- wallet.c: calls to duxos-wallet with this daemon's service token */

typedef struct {
	long status;      /* HTTP status; 0: no answer */
	char problem[48]; /* the problem's code on 4xx/5xx */
	char detail[320];
	cJSON *json;      /* the answer (owned) */
} wl_resp_t;

void wl_resp_clear(wl_resp_t *r);
/* One call. obo: a user's token to send as Dux-On-Behalf-Of (may be NULL); idem: an
 * Idempotency-Key (may be NULL). body may be NULL. DUX_EUNAVAIL when the wallet gave no answer. */
int wl_call(escrow_t *e, const char *method, const char *path, const char *body,
	    const char *obo, const char *idem, wl_resp_t *ret);
/* Whether sub owns the wallet account address (GET /v1/accounts/{address}): 1 yes, 0 no (or no
 * such account), DUX_EUNAVAIL when the wallet did not answer. address must be a checked
 * Flopcoin address (it goes into the path as it is). */
int wl_owns(escrow_t *e, const char *address, const char *sub);
/* POST /v1/transfers with items (a JSON array; borrowed). */
int wl_transfers(escrow_t *e, const cJSON *items, const char *obo, wl_resp_t *ret);
/* A transfer item. amount < 0: none (a void, or a post of everything). */
cJSON *wl_item(cJSON *items, const char *id, const char *mode, const char *debit,
	       const char *credit, const char *pending_id, int64_t amount);

/* ---- escrows.c: rows and transitions */

/* The escrow as JSON text (caller frees), DUX_ENOENT when unknown. */
int escrows_get(dux_db_conn_t *c, const char *id, char **ret_json);
/* Replies status with JSON text the database rendered (printed compact). */
void reply_db_json(dux_req_t *r, int status, const char *text);
/* The derived transfer id escrow:<id>:<what>. */
void escrow_tid(const char *escrow_id, const char *what, char ret[96]);

typedef struct {
	char id[ESCROW_ID_LEN + 1];
	char status[16];
	char user_wallet[64], provider_wallet[64], fund_account[64];
	char owner[128];
	char task_id[129];
	int64_t amount, provider_share, community_share;
	int32_t community_bps;
	int64_t timeout_s; /* asked at create */
	int64_t split_amount;
	char reason[32]; /* set with the intent, kept by the final state */
	char result_hash[65]; /* of a release; "" before */
} escrow_row_t;

/* Reads an escrow (FOR UPDATE when lock). */
int escrows_load(dux_db_conn_t *c, const char *id, bool lock, escrow_row_t *ret);
/* The same on a connection of the pool, without a lock. */
int escrows_read(escrow_t *e, const char *id, escrow_row_t *ret);

/* ---- moves.c: the wallet steps of each transition, idempotent */

/* Posts, voids or splits the holds of row for a final outcome: "release", "refund", or
 * "split" (row->split_amount released). ret_provider/ret_community: what was paid. */
int moves_settle(escrow_t *e, const escrow_row_t *row, const char *outcome,
		 int64_t *ret_provider, int64_t *ret_community, wl_resp_t *resp);
/* Marks an escrow final after its wallet step (status from its intent, reason as recorded
 * with the intent), with the audit entry and the event. ret_json (may be NULL): the escrow. */
int moves_finish(escrow_t *e, const escrow_row_t *row, int64_t paid_provider,
		 int64_t paid_community, const char *actor, char **ret_json);
/* True for the statuses a wallet step is under way in: releasing, refunding, resolving. */
bool moves_is_intent(const char *status);
/* The whole step: settle in the wallet, then finish. DUX_EUNAVAIL: the wallet gave no answer
 * (the intent stays for the recovery job); DUX_ECONFLICT: it refused (resp says why), or the
 * escrow is no intent any more (finished meanwhile; resp empty). */
int moves_complete(escrow_t *e, const escrow_row_t *row, const char *actor, char **ret_json,
		   wl_resp_t *resp);
/* The shares of amount for a community rate in basis points. */
void split_amount(int64_t amount, int32_t bps, int64_t *ret_provider, int64_t *ret_community);

/* ---- audit.c: the escrow's log in libduxcommon's audit module (dux/audit.h) */

/* The log's tables and names, with e's key (borrowed from e; NULL key when e is NULL). */
dux_audit_t audit_log(const escrow_t *e);
/* Queues an audit entry in the caller's transaction (data borrowed; escrow_id may be NULL). */
DUX_MUST_USE int audit_queue(dux_db_conn_t *c, const char *action, const char *escrow_id,
			     const char *actor, const cJSON *data);
/* Job (ctx: the escrow_t): links queued entries into the signed hash chain. */
int audit_chain_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);
/* Loads escrow.audit_key_file into e->audit_key; "key: why" into err on failure. */
int audit_init(escrow_t *e, char *err, size_t len);

/* ---- fund.c */

/* Job: makes the fund's shard accounts in the wallet, then announces its balance whenever it
 * changes (fund.balance). */
int fund_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);
/* Job in every copy: loads (or makes) the shard accounts until they exist. */
int fund_shards_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);
/* The number of shard accounts ready (0 until they all exist); e->shards[0..n) are then set
 * for good. */
int fund_shard_count(void);
/* The shard of an escrow id ("" while the fund is not ready). */
const char *fund_shard_for(escrow_t *e, const char *escrow_id);

/* ---- recovery.c: job finishing intents left by a crash, and refunding escrows past their
 * timeout */
int recovery_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);

/* ---- validate.c */

/* Checks result_hash for row: SHA-256 hex, and for an escrow bound to a task, equal to the
 * validated result hash the task engine recorded. Replies and returns false when refused;
 * ret_check describes what was checked (caller frees). */
bool validate_result(escrow_t *e, dux_req_t *r, const escrow_row_t *row, const char *hash,
		     cJSON **ret_check);
bool hex64_valid(const char *s);

/* ---- routes */
void api_create(dux_req_t *r, void *app);
void api_release(dux_req_t *r, void *app);
void api_refund(dux_req_t *r, void *app);
void api_dispute(dux_req_t *r, void *app);
void api_resolve(dux_req_t *r, void *app);
void api_get(dux_req_t *r, void *app);
void api_list(dux_req_t *r, void *app);
void api_fund(dux_req_t *r, void *app);
void api_audit(dux_req_t *r, void *app);
void api_audit_key(dux_req_t *r, void *app);
/* fund_payout.c: POST /community-fund/payouts (the airdrop's rounds) */
void api_fund_payout(dux_req_t *r, void *app);

#endif
