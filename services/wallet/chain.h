/* chain.h - the edge of the ledger towards Flopcoin Core (wallet.chain: flopcoind).
 *
 * Addresses come from the node's wallet (getnewaddress); deposits to them are credited after
 * wallet.min_confirmations; withdrawals hold the amount plus a fee reserve, call sendtoaddress
 * with the withdrawal's id as the comment, and post what was really spent. */
#ifndef WALLET_CHAIN_H
#define WALLET_CHAIN_H

#include "wallet.h"
#include <dux/address.h>

/* chain.c: connects the RPC client and starts the deposit, recovery and backup jobs. */
int chain_start(wallet_t *w);
void chain_stop(wallet_t *w);
/* A new address of the node's wallet. DUX_EUNAVAIL: the node cannot be reached; DUX_ERETRY: it
 * is warming up; DUX_EAUTH: it refused our credentials; DUX_ETIMEDOUT: no answer in time;
 * DUX_EPROTO: it refused otherwise or answered something else. */
int chain_new_address(wallet_t *w, char ret[DUX_ADDRESS_MAX]);

/* chain_withdraw.c: sends amount from the ledger account from to an outside address and
 * replies to r. id names the withdrawal (and its hold); memo (may be NULL) goes on the hold. */
void chain_withdraw(wallet_t *w, dux_req_t *r, const ledger_caller_t *who, const char *id,
		    const char *from, const char *address, int64_t amount, const char *memo);
/* Job: settles withdrawals left in "sending" by a crash or a lost answer. */
int withdrawals_recover(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);

/* chain_deposits.c: job crediting confirmed deposits to ledger accounts. */
int deposits_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx);

#endif
