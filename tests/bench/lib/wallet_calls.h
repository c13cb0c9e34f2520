/* wallet_calls.h - the calls to duxos-wallet the benchmarks set up and check with: bearer
 * header lines, a new account, a faucet credit, and the ledger check. */
#ifndef BENCH_WALLET_CALLS_H
#define BENCH_WALLET_CALLS_H

#include "loadgen.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_AUTH_MAX 1200 /* "Authorization: Bearer <token>\r\n" */

/* "Authorization: Bearer <token>\r\n" for sub with scopes, minted with key, into out. */
bool bench_bearer(const dux_key_t *key, const char *sub, unsigned scopes, int64_t ttl, char *out,
		  size_t len);
/* POST /v1/wallet/address as auth; the new address into dst, or why not into err. */
bool bench_new_account(lg_sync_t *s, const char *auth, char dst[DUX_ADDRESS_MAX], char *err,
		       size_t errlen);
/* POST /v1/faucet as admin: addr gets flop FLOP; why not into err. */
bool bench_faucet(lg_sync_t *s, const char *admin, const char *addr, int flop, char *err,
		  size_t errlen);

typedef struct {
	bool holds;
	long long transfers, pending;
} bench_ledger_t;

/* GET /v1/ledger/check on the wallet at port as admin; prints the answer when it is not one
 * or does not hold. False when there was no readable answer. */
bool bench_ledger_check(int port, const char *admin, bench_ledger_t *ret);

#endif
