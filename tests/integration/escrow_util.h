/* escrow_util.h - what the duxos-escrow integration tests share: a wallet and an escrow on one
 * fresh database (schemas wallet and escrow) and one token key, the escrow pointed at the
 * wallet with a service token (sub duxos-escrow) and a generated audit key; restarts and
 * kill -9 of either daemon on the same ports; users with funded accounts; calls; and the
 * conservation check across both daemons. */
#ifndef ESCROW_UTIL_H
#define ESCROW_UTIL_H

#include "wallet_util.h"
#include <stdbool.h>
#include <stdint.h>

#define EU_FLOP INT64_C(100000000)
#define EU_ACCOUNTS_MAX 256
#define EU_SHARDS_MAX 256
#define EU_ESCROW_SUB "duxos-escrow"

typedef struct {
	char sub[64];
	char auth[WU_HDR_MAX]; /* "Authorization: Bearer ..." */
	char addr[64];         /* its account */
} eu_user_t;

typedef struct {
	wu_wallet_t w;            /* the wallet: database, token key, admin token */
	th_daemon_t d;            /* the escrow */
	const char *url;          /* d.url */
	char escrow_yaml[1024];   /* more lines of the escrow's "escrow:" section */
	char audit_keyfile[64];   /* escrow.audit_key_file */
	dux_key_t *audit_key;     /* its key (the public half is what GET /v1/audit/key shows) */
	char token[WU_HDR_MAX];   /* the escrow's bare service token for the wallet */
	char admin[WU_HDR_MAX];   /* "Authorization: Bearer ..." of an admin */
	char service[WU_HDR_MAX]; /* of a service (sub duxos-tasks), the one that releases */
	int64_t faucet_total;     /* base units the faucet credited */
	char accounts[EU_ACCOUNTS_MAX][64]; /* every user and provider account made */
	int naccounts;
	char shards[EU_SHARDS_MAX][64]; /* the fund's accounts (GET /v1/community-fund) */
	int nshards;
} eu_t;

/* A wallet (encryption off, sweep every 100 ms) on a fresh database, then the escrow with
 * recovery_interval_ms 100, fund_interval_ms 200 and escrow_yaml (lines of the "escrow:"
 * section, each indented by two spaces; may be NULL). Waits until GET /v1/community-fund
 * answers 200 with the fund's shard accounts. */
bool eu_start(eu_t *e, const char *escrow_yaml);
/* Stops both daemons if they run and frees the keys. */
void eu_free(eu_t *e);

/* The escrow again on the same port and database (after a stop or a kill), escrow_yaml NULL:
 * the one of eu_start. Waits for /readyz, and for the fund when wait_fund. */
bool eu_escrow_restart(eu_t *e, const char *escrow_yaml, bool wait_fund);
int eu_escrow_stop(eu_t *e); /* SIGTERM; the exit status (0 = clean, leak-free) */
void eu_escrow_kill(eu_t *e); /* SIGKILL */
/* The wallet again on the same port (so the escrow finds it), waits for /readyz. */
bool eu_wallet_restart(eu_t *e);
int eu_wallet_stop(eu_t *e);
void eu_wallet_kill(eu_t *e);
/* Waits until GET /v1/community-fund answers 200 with shard accounts; reads them. */
bool eu_wait_fund(eu_t *e, int timeout_ms);
/* Prints both daemons' logs to stderr. */
void eu_dump_logs(const eu_t *e);

/* A user (scope) with one account, credited with fund FLOP by the faucet (NULL: none). */
bool eu_user(eu_t *e, eu_user_t *u, const char *prefix, unsigned scope, const char *fund);
/* "Authorization: Bearer ..." of sub with scopes, ten minutes. */
bool eu_bearer(const eu_t *e, const char *sub, unsigned scopes, char *out, size_t len);

/* One call to the escrow: auth (a header line or NULL), more headers (NULL-terminated or NULL),
 * body (JSON or NULL). resp must be cleared with dux_client_resp_clear. 0 or the transport
 * error. */
int eu_http(const eu_t *e, const char *method, const char *path, const char *auth,
	    const char *const *extra, const char *body, dux_client_resp_t *resp);
/* The same, returning the status (-1: no answer) and the JSON answer (caller frees). */
long eu_call(const eu_t *e, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret);

/* A string member ("" when missing), and an amount member in base units (-1 when missing). */
const char *eu_str(const cJSON *o, const char *key);
int64_t eu_amount(const cJSON *o, const char *key);

/* GET /v1/community-fund: balance and total_inflow in base units (false when not 200). */
bool eu_fund(const eu_t *e, int64_t *balance, int64_t *total_inflow);
/* Polls GET /v1/community-fund (the fund job's last reading of the wallet, every
 * fund_interval_ms) until its balance is want; false (after printing it) at the deadline. */
bool eu_wait_fund_balance(const eu_t *e, int64_t want, int timeout_ms);
/* The fund's balance in the wallet itself: the sum of its shards' balances. */
int64_t eu_fund_in_wallet(const eu_t *e);
/* Sum of balance + held over every account made by eu_user and the fund's shards. */
int64_t eu_inside(const eu_t *e);
/* The wallet's ledger check holds and eu_inside equals the faucet total (prints why not). */
bool eu_conserved(const eu_t *e);

/* One entry of the escrow's audit log. */
typedef struct {
	int64_t seq;
	char action[16], escrow_id[48], actor[128], hash[65];
	char *data; /* the JSON text as hashed */
} eu_entry_t;
/* Reads the whole audit log (GET /v1/audit as admin) and checks the chain: seqs 1, 2, ...;
 * each prev_hash the hash before (64 zeros for the first); each hash the SHA-256 of the
 * canonical lines of audit.c; each signature valid under GET /v1/audit/key, which must be the
 * public half of audit_key. False (after printing why) when anything is wrong. ret: the
 * entries, freed with eu_audit_free. */
bool eu_audit_read(const eu_t *e, eu_entry_t **ret, int *ret_n);
void eu_audit_free(eu_entry_t *all, int n);

#endif
