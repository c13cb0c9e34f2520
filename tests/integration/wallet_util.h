/* wallet_util.h - what the duxos-wallet integration tests share: a wallet on a fresh database
 * with a token key and a passphrase, tokens for users, admins and services, accounts, faucet
 * money, balances in base units, and the ledger's conservation check. */
#ifndef WALLET_UTIL_H
#define WALLET_UTIL_H

#include "harness.h"
#include <dux/auth.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define WU_HDR_MAX 1200 /* an "Authorization: Bearer ..." line or a bare token */
#define WU_PASSPHRASE "correct horse battery staple"

typedef struct {
	th_pg_t pg;
	th_daemon_t d;
	dux_key_t *key;        /* signs the tokens this wallet accepts */
	char keyfile[64];      /* its public half: auth.public_key_file */
	char admin[WU_HDR_MAX]; /* "Authorization: Bearer ..." of an admin */
	const char *url;       /* d.url while running */
} wu_wallet_t;

/* A new database and token key, and duxos-wallet on them with wallet.encryption: true and
 * passphrase (NULL: encryption false). wallet_yaml: more lines of the "wallet:" section, each
 * indented by two spaces (may be NULL). Waits until /readyz answers 200. */
bool wu_start(wu_wallet_t *w, const char *passphrase, const char *wallet_yaml);
/* Starts the wallet again on the same database and key (after wu_stop). With wait_ready
 * false it returns once the process exists (see wu_wait_exit). */
bool wu_restart(wu_wallet_t *w, const char *passphrase, const char *wallet_yaml, bool wait_ready);
/* SIGTERM; the exit status (0 = clean and leak-free under ASan). */
int wu_stop(wu_wallet_t *w);
/* Waits for a wallet that stops by itself; its exit status, -1 on a signal or after
 * timeout_ms (then it is killed). The log stays readable until wu_forget_log. */
int wu_wait_exit(wu_wallet_t *w, int timeout_ms);
bool wu_log_contains(const wu_wallet_t *w, const char *needle);
void wu_forget_log(wu_wallet_t *w);
/* Stops the wallet if it runs and frees the key. */
void wu_free(wu_wallet_t *w);

/* A subject no other test uses: prefix and 12 random hex digits. */
void wu_subject(const char *prefix, char out[64]);
/* A bare token of key for sub with scopes, expiring exp_in seconds from now (negative: it
 * expired that long ago, beyond the verifier's leeway when < -60). */
bool wu_token(const dux_key_t *key, const char *sub, unsigned scopes, int64_t exp_in, char *out,
	      size_t len);
/* "Authorization: Bearer ..." for sub with scopes, valid for ten minutes. */
bool wu_bearer(const wu_wallet_t *w, const char *sub, unsigned scopes, char *out, size_t len);

/* One call: auth (a header line or NULL), more headers (NULL-terminated or NULL), body (JSON or
 * NULL). resp must be cleared with dux_client_resp_clear. Returns 0 or the transport error. */
int wu_http(const wu_wallet_t *w, const char *method, const char *path, const char *auth,
	    const char *const *extra, const char *body, dux_client_resp_t *resp);
/* The same, returning the status (-1: no answer) and the JSON answer in ret (caller frees). */
long wu_call(const wu_wallet_t *w, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret);

/* POST /wallet/address as auth; the new account's address. */
bool wu_account(const wu_wallet_t *w, const char *auth, char addr[64]);
/* POST /v1/faucet as admin crediting addr with flop ("10.5"); the status. */
long wu_faucet(const wu_wallet_t *w, const char *addr, const char *flop);
/* An account's balance and held amount in base units (read as admin); -1 when unreadable. */
int64_t wu_balance(const wu_wallet_t *w, const char *addr);
int64_t wu_held(const wu_wallet_t *w, const char *addr);
/* balance + held of one account, from one answer (a timeout moving held back to balance
 * between two reads would otherwise be counted twice or not at all). */
int64_t wu_total(const wu_wallet_t *w, const char *addr);
/* FLOP text ("10.5") as base units; -1 when it is not an amount. */
int64_t wu_units(const char *flop);
/* GET /v1/ledger/check as admin: true when "holds" is true (prints the answer otherwise). */
bool wu_ledger_holds(const wu_wallet_t *w);
/* A session on the wallet's database, as the daemon logs in (NULL, said on stderr, when it
 * fails). The caller PQfinishes it. */
PGconn *wu_pg_session(const wu_wallet_t *w);
/* Row 0 column 0 of sql (one text parameter or none) as an integer; -1 when it fails. */
int64_t wu_sql_i64(PGconn *c, const char *sql, const char *param);

#endif
