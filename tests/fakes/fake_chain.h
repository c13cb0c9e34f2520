/* fake_chain.h - the in-memory chain and node wallet of fake-flopcoind: blocks (only their
 * heights and hashes), the wallet's addresses and transactions, its balance, its encryption.
 *
 * Not thread-safe: the caller holds one lock around every call (fake_methods.c does). */
#ifndef FAKE_CHAIN_H
#define FAKE_CHAIN_H

#include "fake_rpc.h"
#include <cjson/cJSON.h>
#include <dux/address.h>
#include <stdbool.h>
#include <stdint.h>

#define CHAIN_START_HEIGHT 100
#define CHAIN_MAX_HEIGHT 100000 /* a bound on what a test can grow, as are these two */
#define CHAIN_MAX_TXS 100000
#define CHAIN_MAX_ADDRESSES 100000
#define CHAIN_HASH_LEN 65 /* 64 hex digits and NUL */

typedef struct fake_chain fake_chain_t;

typedef struct {
	dux_net_t net;
	int64_t fee;            /* paid by every send, in base units */
	int64_t balance;        /* confirmed and spendable at start */
	const char *passphrase; /* NULL: the wallet is not encrypted; copied */
	const char *datadir;    /* NULL: backups are refused; copied */
} chain_opts_t;

/* ret: caller frees with chain_free. */
int chain_new(const chain_opts_t *o, fake_chain_t **ret);
/* Accepts NULL; returns NULL. */
fake_chain_t *chain_free(fake_chain_t *c);

dux_net_t chain_net(const fake_chain_t *c);
int chain_height(const fake_chain_t *c);
/* The hash of the block at height (any height; negative gives 64 zeros, as the node prints
 * a null hash). */
void chain_block_hash(int height, char ret[CHAIN_HASH_LEN]);
/* The height of the block with hash (hex, either case) at or below the tip; -1 when none. */
int chain_find_block(const fake_chain_t *c, const char *hash);
/* Mines n blocks (at most CHAIN_MAX_HEIGHT - height); every unconfirmed transaction goes
 * into the first. Returns the array of their hashes, NULL when out of memory or past the
 * bound (nothing changed then). */
cJSON *chain_generate(fake_chain_t *c, int n);

/* A new address of the network, remembered as the wallet's, in account. -1 when out of
 * memory or past CHAIN_MAX_ADDRESSES. */
int chain_new_address(fake_chain_t *c, const char *account, char ret[DUX_ADDRESS_MAX]);
/* Whether addr is one of the wallet's; its account (borrowed) to ret_account when so. */
bool chain_is_mine(const fake_chain_t *c, const char *addr, const char **ret_account);

/* Starting balance + receives with at least minconf confirmations - sends - fees. */
int64_t chain_balance(const fake_chain_t *c, int minconf);

bool chain_encrypted(const fake_chain_t *c);
/* Locked: encrypted and not unlocked, or the unlock expired. */
bool chain_locked(const fake_chain_t *c);
/* The node's walletpassphrase and walletlock, with their errors (-14, -15). */
int chain_unlock(fake_chain_t *c, const char *passphrase, int64_t seconds, rpc_err_t *e);
int chain_lock(fake_chain_t *c, rpc_err_t *e);

typedef struct {
	const char *address;
	int64_t amount;
	bool subtract_fee;   /* the recipient pays the fee out of amount */
	const char *comment; /* NULL or "" when unset */
	const char *to;      /* comment_to; NULL or "" when unset */
} chain_send_t;

/* Checks funds and records a send (the address and amount are already checked). Errors:
 * -4 amount too small, -6 insufficient funds; nothing changed then. */
int chain_send(fake_chain_t *c, const chain_send_t *s, char ret_txid[CHAIN_HASH_LEN],
	       rpc_err_t *e);
/* Records an unconfirmed incoming payment of amount (> 0) to addr. -1 when the wallet is full
 * or has received more than 4 * RPC_MAX_MONEY in all (nothing changed then). */
int chain_receive(fake_chain_t *c, const char *addr, int64_t amount,
		  char ret_txid[CHAIN_HASH_LEN]);

/* gettransaction's answer for txid; -5 when the wallet has no such transaction. */
int chain_gettransaction(const fake_chain_t *c, const char *txid, cJSON **ret, rpc_err_t *e);
/* listtransactions: entries of account ("*" = all), newest first skipping skip, at most
 * count, returned oldest first. NULL when out of memory. */
cJSON *chain_listtransactions(const fake_chain_t *c, const char *account, int count, int skip);
/* listsinceblock: every transaction not in a block at or below since_height (-1 = all). */
cJSON *chain_listsinceblock(const fake_chain_t *c, int since_height, int target_confirmations);
/* fake_stats' "sends": [{"txid","address","amount","comment","fee"}...] oldest first. */
cJSON *chain_sends(const fake_chain_t *c);

/* Writes a JSON dump of the wallet to DATADIR/backups/<basename of name>; -8 when there is no
 * datadir, the name has no usable basename, or the file exists. */
int chain_backup(const fake_chain_t *c, const char *name, rpc_err_t *e);

#endif
