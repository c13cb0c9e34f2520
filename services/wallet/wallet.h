/* wallet.h - duxos-wallet internals: configuration, shared state, and the pieces the route
 * handlers are made of. */
#ifndef WALLET_H
#define WALLET_H

#include <dux/daemon.h>
#include <dux/http.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define WALLET_MAX_BATCH 1000   /* transfers in one POST /v1/transfers */
#define WALLET_ID_MAX 128       /* transfer id length */
#define WALLET_MEMO_MAX 256
#define WALLET_SYSTEM_PREFIX "wallet:" /* ids the daemon itself makes; refused from callers */
#define WALLET_ANY_SCOPE (DUX_SCOPE_USER | DUX_SCOPE_PROVIDER | DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN)

typedef struct {
	char *chain;       /* "none" | "flopcoind" */
	bool encryption;   /* seal generated keys with a key derived from passphrase */
	char *passphrase;  /* secret */
	int64_t max_timeout;       /* seconds: longest pending timeout a caller may ask */
	int64_t sweep_interval_ms; /* between voids of timed-out pending transfers */
	int64_t fold_interval_ms;  /* between rounds of the credit folder */
	char *faucet_limit;        /* FLOP text: most one faucet call may credit */
	int64_t min_confirmations; /* before a deposit is credited */
	int64_t deposit_interval;  /* seconds between deposit scans */
	int64_t backup_interval;   /* seconds between backupwallet calls; 0 = never */
	char *fee_reserve;         /* FLOP text held on top of a withdrawal for the network fee */
	char *rpc_host;
	int64_t rpc_port;
	char *rpc_user, *rpc_password; /* password: secret */
	int64_t rpc_timeout;           /* seconds per RPC call */
	int64_t unlock_seconds;        /* walletpassphrase timeout around a send */
} wallet_cfg_t;

typedef struct rpc rpc_t;

typedef struct {
	wallet_cfg_t cfg;
	dux_daemon_t *d;
	bool flopcoind;
	int64_t faucet_limit, fee_reserve; /* base units */
	bool sealing;                     /* seal_key is set */
	int seal_error;                   /* DUX_EAUTH once the passphrase proved wrong */
	unsigned char seal_key[32];
	rpc_t *rpc;                       /* chain: flopcoind */
	pthread_mutex_t send_lock;        /* one unlock-send-lock sequence at a time */
} wallet_t;

/* ---- ledger.c: the batch of transfers, applied by the database function apply_transfers */

typedef struct {
	int index;       /* item of the batch that was refused */
	char code[48];   /* problem slug: insufficient-funds, not-owner, ... */
	char detail[320];
} ledger_refusal_t;

/* Who asks: the token's subject and the owners whose accounts it may debit. */
typedef struct {
	const char *actor;
	const char *principals[2];
	int nprincipals;
	bool system; /* the daemon itself: may touch the outside (NULL accounts) */
	bool no_fast; /* keep the batch off the fast path (after it lost its footing once) */
	char delegator[128]; /* the owner named by Dux-On-Behalf-Of, when given */
} ledger_caller_t;

/* Applies batch (a JSON array of items; borrowed) in the caller's transaction on c.
 * ret: a JSON array of transfers, each with "existed" (caller frees).
 * DUX_ECONFLICT with why filled when an item is refused (the transaction must roll back);
 * DUX_ERETRY after a deadlock or when the fast path lost its footing (run it again with
 * no_fast). */
int ledger_apply(dux_db_conn_t *c, const cJSON *batch, const ledger_caller_t *who, cJSON **ret,
		 ledger_refusal_t *why);
/* The HTTP status for a refusal code. */
int ledger_refusal_status(const char *code);
/* Replies with the refusal as problem+json ("index" member when the batch had several). */
void ledger_reply_refusal(dux_req_t *r, const ledger_refusal_t *why, bool batch);
/* One item of a batch (added to batch). amount <= 0: none (a post of the whole amount). */
cJSON *ledger_item(cJSON *batch, const char *id, const char *mode, const char *kind,
		   const char *debit, const char *credit, int64_t amount);
/* Runs the batch in its own transaction (with retries); replies on failure and returns NULL. */
cJSON *ledger_run(wallet_t *w, dux_req_t *r, const cJSON *batch, const ledger_caller_t *who);

/* Replies with JSON the database rendered (printed compact, like every other answer). */
void reply_db_json(dux_req_t *r, int status, const char *text);

/* ---- caller.c: who is calling */

/* Fills who from the request's token and, for service callers, the Dux-On-Behalf-Of header
 * (a user's token naming the owner it acts for). Replies 401/403 and returns false when
 * refused. */
bool caller_of(wallet_t *w, dux_req_t *r, ledger_caller_t *who);
/* True when the caller may read the account of owner (its owner, a service, an admin). */
bool caller_may_read(const dux_req_t *r, const char *owner);

/* ---- transfer_input.c: a transfer object from a request body */

/* Validates one transfer object of POST /v1/transfers and adds its item to batch. */
int transfer_input(wallet_t *w, const cJSON *in, cJSON *batch, dux_verr_t *e);
/* Replies 400 and returns false when the Idempotency-Key header is malformed. */
bool idem_key_check(dux_req_t *r);
/* A transfer id made from the caller and its Idempotency-Key (or random without one), under the
 * wallet's own prefix so that no id a caller chooses can take it first. */
void transfer_id_for(dux_req_t *r, const char *what, char ret[WALLET_ID_MAX + 1]);
bool transfer_id_valid(const char *id);

/* ---- accounts.c */

/* Creates an account for owner; its address from a fresh key (chain none) or from
 * getnewaddress (chain flopcoind). idem_key may be NULL. ret: the account as JSON text (caller
 * frees); ret_existed: made by an earlier request with the same key; ret_chain: the failure
 * came from Flopcoin Core. */
int accounts_create(wallet_t *w, const char *owner, const char *idem_key, char **ret,
		    bool *ret_existed, bool *ret_chain);
/* The account as JSON text (caller frees) and its owner, or DUX_ENOENT. */
int accounts_get(dux_db_conn_t *c, const char *address, char **ret, char owner[128]);

/* ---- seal.c: keys at rest */

/* Derives the sealing key from the passphrase (salt kept in meta) and checks it against the
 * check value of an earlier start. DUX_EAUTH: wrong passphrase. */
int seal_init(wallet_t *w, dux_db_t *db, char *err, size_t errlen);
/* Seals len bytes of plain for address (bound to it). ret: malloc'd, ret_len. */
int seal_box(const wallet_t *w, const char *address, const void *plain, size_t len,
	     unsigned char **ret, size_t *ret_len);
int seal_open(const wallet_t *w, const char *address, const unsigned char *box, size_t len,
	      unsigned char **ret, size_t *ret_len);

/* ---- routes */
void api_transfers_post(dux_req_t *r, void *app);
void api_transfer_get(dux_req_t *r, void *app);
void api_account_get(dux_req_t *r, void *app);
void api_account_transfers(dux_req_t *r, void *app);
void api_address_new(dux_req_t *r, void *app);
void api_balance(dux_req_t *r, void *app);
void api_transactions(dux_req_t *r, void *app);
void api_send(dux_req_t *r, void *app);
void api_withdrawal_get(dux_req_t *r, void *app);
void api_validate(dux_req_t *r, void *app);
void api_faucet(dux_req_t *r, void *app);
void api_ledger_check(dux_req_t *r, void *app);

/* ---- sweeper.c: pending transfers past their timeout are voided */
int sweeper_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);

/* ---- folder.c: credits of the fast path folded into balances (one job round) */
int folder_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);

#endif
