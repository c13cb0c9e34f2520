/* auth.h - bearer tokens: JWT (RFC 7519) signed with Ed25519 ("alg":"EdDSA", RFC 8037).
 *
 * Claims: iss, sub (the caller: a wallet address, a service name or an operator), scope
 * (space-separated: user provider service admin), iat, exp, jti. Every daemon verifies tokens
 * locally with the deployment's public key; duxctl mints them with the private key. */
#ifndef DUX_AUTH_H
#define DUX_AUTH_H

#include <dux/crypto.h>
#include <dux/err.h>
#include <stdbool.h>
#include <stdint.h>

enum {
	DUX_SCOPE_USER = 1u << 0,
	DUX_SCOPE_PROVIDER = 1u << 1,
	DUX_SCOPE_SERVICE = 1u << 2,
	DUX_SCOPE_ADMIN = 1u << 3,
};

#define DUX_TOKEN_MAX 2048 /* longest token accepted */

typedef struct {
	char sub[128];
	unsigned scopes;
	int64_t exp; /* unix seconds */
} dux_token_t;

/* Parses "user provider" into scope bits; DUX_EINVAL on an unknown scope. */
DUX_MUST_USE int dux_scope_parse(const char *s, unsigned *ret);
/* Returns the canonical space-separated names in buf. */
const char *dux_scope_format(unsigned scopes, char *buf, size_t len);

/* ret: the compact token, caller frees with free(). key must be private. */
DUX_MUST_USE int dux_token_mint(const dux_key_t *key, const char *issuer, const char *sub,
				unsigned scopes, int64_t ttl_seconds, char **ret);
/* Verifies signature, alg, issuer, expiry (60 s leeway) and claim types.
 * DUX_EAUTH for any refusal; ret is written only on success. */
DUX_MUST_USE int dux_token_verify(const dux_key_t *key, const char *issuer, const char *token,
				  int64_t now, dux_token_t *ret);
/* True when a token expiring at exp is refused at now (dux_token_verify's 60 s leeway). */
bool dux_token_expired(int64_t exp, int64_t now);

/* Verified tokens remembered by the SHA-256 of their text, for one (key, issuer): a client
 * that sends the same token again is not verified again, expiry is checked at every use, and
 * only successes are kept. Bounded (nslots, direct-mapped: a token replaces the one in its
 * slot) and thread-safe. */
typedef struct dux_token_cache dux_token_cache_t;
DUX_MUST_USE int dux_token_cache_new(size_t nslots, dux_token_cache_t **ret);
dux_token_cache_t *dux_token_cache_free(dux_token_cache_t *c);
/* dux_token_verify through c (NULL: no cache), with the same answers. */
DUX_MUST_USE int dux_token_verify_cached(dux_token_cache_t *c, const dux_key_t *key,
					 const char *issuer, const char *token, int64_t now,
					 dux_token_t *ret);
/* Verifications answered from the cache so far (tests, /metrics). */
uint64_t dux_token_cache_hits(dux_token_cache_t *c);

#endif
