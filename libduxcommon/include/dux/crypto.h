/* crypto.h - the primitives every daemon needs: Ed25519, SHA-256, secure random, constant-time
 * comparison, from OpenSSL, except Ed25519 verification, from libsodium (twice as fast as
 * OpenSSL 3.0's on the heartbeat path); plus the encodings around them (hex, base64url,
 * Base58Check). */
#ifndef DUX_CRYPTO_H
#define DUX_CRYPTO_H

#include <dux/err.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUX_ED25519_PUB_LEN 32
#define DUX_ED25519_SIG_LEN 64
#define DUX_SHA256_LEN 32

typedef struct dux_key dux_key_t; /* an Ed25519 key: private (can sign) or public only */

DUX_MUST_USE int dux_key_generate(dux_key_t **ret);
/* Reads a PEM private key (PKCS#8), or a public key when the file holds only that. */
DUX_MUST_USE int dux_key_load_file(const char *path, dux_key_t **ret);
/* Writes the private key as PEM, mode 0600, atomically (temp file + rename). */
DUX_MUST_USE int dux_key_save_file(const dux_key_t *key, const char *path);
DUX_MUST_USE int dux_key_from_public(const uint8_t pub[DUX_ED25519_PUB_LEN], dux_key_t **ret);
DUX_MUST_USE int dux_key_public(const dux_key_t *key, uint8_t ret[DUX_ED25519_PUB_LEN]);
bool dux_key_is_private(const dux_key_t *key);
DUX_MUST_USE int dux_key_sign(const dux_key_t *key, const void *msg, size_t len,
			      uint8_t ret[DUX_ED25519_SIG_LEN]);
/* 0 when the signature is valid, DUX_EAUTH when not. */
DUX_MUST_USE int dux_key_verify(const dux_key_t *key, const void *msg, size_t len,
				const uint8_t sig[DUX_ED25519_SIG_LEN]);
/* Another handle on the same key (shared, reference-counted: cheap). Free each handle. */
DUX_MUST_USE int dux_key_ref(const dux_key_t *key, dux_key_t **ret);
/* Accepts NULL; returns NULL. */
dux_key_t *dux_key_free(dux_key_t *key);

void dux_sha256(const void *data, size_t len, uint8_t ret[DUX_SHA256_LEN]);
/* Fills buf from the OS CSPRNG; aborts only if the generator itself is broken. */
void dux_random_bytes(void *buf, size_t n);
/* 128 random bits as 32 lowercase hex characters plus NUL. */
void dux_random_id(char ret[33]);
/* Constant-time equality of n bytes. */
bool dux_ct_equal(const void *a, const void *b, size_t n);

/* hex: out must hold 2n+1 bytes. decode accepts upper and lower case; exact length only. */
void dux_hex_encode(const void *in, size_t n, char *out);
DUX_MUST_USE int dux_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outlen);
/* base64url without padding (RFC 4648 section 5). encode: out holds dux_b64url_len(n)+1. */
size_t dux_b64url_len(size_t n);
void dux_b64url_encode(const void *in, size_t n, char *out);
/* Rejects padding, whitespace and non-canonical trailing bits. ret_len gets the byte count. */
DUX_MUST_USE int dux_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t outmax,
				   size_t *ret_len);

/* Base58Check: version byte + payload, 4-byte double-SHA-256 checksum. */
DUX_MUST_USE int dux_base58check_encode(uint8_t version, const uint8_t *payload, size_t n,
					char *out, size_t outsize);
DUX_MUST_USE int dux_base58check_decode(const char *s, uint8_t *ret_version, uint8_t *payload,
					size_t payload_max, size_t *ret_len);

#endif
