/* fake_rpc.h - the wire format of Flopcoin Core's JSON-RPC 1.0 server (Bitcoin Core 0.14
 * family): request parsing that keeps every number's exact text, reply objects, error codes,
 * the HTTP status an error maps to, and 8-decimal amounts. */
#ifndef FAKE_RPC_H
#define FAKE_RPC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The node's error codes (Bitcoin's rpc/protocol.h). */
enum {
	RPC_MISC_ERROR = -1,
	RPC_TYPE_ERROR = -3,
	RPC_WALLET_ERROR = -4,
	RPC_INVALID_ADDRESS_OR_KEY = -5,
	RPC_WALLET_INSUFFICIENT_FUNDS = -6,
	RPC_INVALID_PARAMETER = -8,
	RPC_WALLET_INVALID_ACCOUNT_NAME = -11,
	RPC_WALLET_KEYPOOL_RAN_OUT = -12,
	RPC_WALLET_UNLOCK_NEEDED = -13,
	RPC_WALLET_PASSPHRASE_INCORRECT = -14,
	RPC_WALLET_WRONG_ENC_STATE = -15,
	RPC_IN_WARMUP = -28,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_PARSE_ERROR = -32700,
};

/* The node's MAX_MONEY, its range check on amounts: 10 billion FLOP. */
#define RPC_MAX_MONEY (INT64_C(10000000000) * INT64_C(100000000))

typedef struct {
	int code;
	char message[256];
} rpc_err_t;

/* Sets e and returns -1, so that a method can `return rpc_fail(e, ...)`. */
int rpc_fail(rpc_err_t *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses a request body. Every JSON number becomes a cJSON_Raw node holding the number's text
 * exactly as sent, because the node reads amounts from that text (8 decimals, no rounding) and
 * echoes ids verbatim. ret: caller frees with cJSON_Delete. -1 when the body is not JSON. */
int rpc_parse(const char *body, size_t len, cJSON **ret);

/* A number node of a parsed request (see rpc_parse). */
bool rpc_is_number(const cJSON *v);
/* An integral number within [min, max]; -1 with the node's message otherwise
 * ("JSON value is not an integer as expected"). */
int rpc_int(const cJSON *v, int64_t min, int64_t max, int64_t *ret, rpc_err_t *e);
/* A string; its text borrowed from v. */
int rpc_str(const cJSON *v, const char **ret, rpc_err_t *e);
int rpc_bool(const cJSON *v, bool *ret, rpc_err_t *e);
/* An amount as the node reads it: a number or a string, at most 8 decimals, exact. Errors
 * are -3 ("Amount is not a number or string", "Invalid amount", "Amount out of range").
 * Negative amounts are returned (the caller decides; sends refuse <= 0 with -3). */
int rpc_amount_param(const cJSON *v, int64_t *ret, rpc_err_t *e);

/* An amount as a raw JSON number with exactly 8 decimals ("-0.01000000"). NULL when out of
 * memory. */
cJSON *rpc_amount(int64_t units);
cJSON *rpc_add_amount(cJSON *obj, const char *key, int64_t units);

/* {"result":result,"error":err or null,"id":copy of id or null}. Takes ownership of result
 * (NULL means null). NULL when out of memory. */
cJSON *rpc_reply(cJSON *result, const rpc_err_t *err, const cJSON *id);
/* The HTTP status of a single request's reply: 200 on success, 400 for -32600, 404 for
 * -32601, 500 for any other error. */
unsigned rpc_http_status(const rpc_err_t *err);

#endif
