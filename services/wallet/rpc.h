/* rpc.h - a JSON-RPC 1.0 client for Flopcoin Core (Bitcoin Core's wire format) over libcurl.
 *
 * POST / with HTTP basic auth; success is 200 {"result":...,"error":null,"id":...}, an RPC
 * error is an HTTP error status with {"error":{"code":N,"message":...}}; wrong credentials are
 * 401 with an empty body. Amounts are JSON numbers with 8 decimals: before parsing, every
 * number with a fraction or exponent is turned into a string, so no amount passes through a
 * double (rpc_amount reads it exactly). The password is never logged. Thread-safe. */
#ifndef WALLET_RPC_H
#define WALLET_RPC_H

#include <cjson/cJSON.h>
#include <dux/err.h>
#include <stdint.h>

typedef struct rpc rpc_t;

typedef struct {
	int code;          /* Bitcoin-Core-style code (-5 invalid address, -6 insufficient ...) */
	char message[256]; /* the node's message */
} rpc_error_t;

/* Codes worth naming. */
enum {
	RPC_MISC_ERROR = -1,
	RPC_INVALID_AMOUNT = -3,
	RPC_AMOUNT_TOO_SMALL = -4,
	RPC_INVALID_ADDRESS = -5,
	RPC_INSUFFICIENT_FUNDS = -6,
	RPC_INVALID_PARAMETER = -8,
	RPC_WALLET_LOCKED = -13,
	RPC_WRONG_PASSPHRASE = -14,
	RPC_NOT_ENCRYPTED = -15,
	RPC_WARMING_UP = -28,
};

/* Strings are copied. */
DUX_MUST_USE int rpc_new(const char *host, int port, const char *user, const char *password,
			 int timeout_s, rpc_t **ret);
rpc_t *rpc_free(rpc_t *c);

/* Calls method with params_json (the text of a JSON array; NULL = no parameters).
 * ret (may be NULL): the result, caller frees. Errors:
 *   DUX_ECONFLICT  the node answered an RPC error (in err)
 *   DUX_EUNAVAIL   no connection could be made: the request was certainly not delivered
 *   DUX_ETIMEDOUT  the connection broke or timed out after sending: the call may have run
 *   DUX_EAUTH      the node refused the credentials (401)
 *   DUX_EPROTO     the answer was not JSON-RPC */
DUX_MUST_USE int rpc_call(rpc_t *c, const char *method, const char *params_json, cJSON **ret,
			  rpc_error_t *err);

/* Reads an amount (a member turned into a string by the parse, or an integral number) exactly
 * into base units; negative amounts are allowed (sends are negative). */
DUX_MUST_USE int rpc_amount(const cJSON *v, int64_t *ret);
/* Writes units as a JSON number with 8 decimals ("10.50000000") into buf. */
char *rpc_amount_text(int64_t units, char buf[40]);

/* The text of s with every non-integral number quoted (exposed for the fuzz target). Caller
 * frees. */
char *rpc_quote_decimals(const char *s, size_t len);

#endif
