/* sign.h - requests signed by a node's Ed25519 identity.
 *
 * The signature covers, joined by '\n':
 *   "DUX-SIG-1", METHOD, PATH (as sent, without query), NODE_ID, COUNTER, hex(SHA-256(body))
 * and travels in three headers: X-Dux-Node (node id), X-Dux-Counter (decimal, strictly
 * increasing per node: the sender uses unix milliseconds) and X-Dux-Signature (base64url).
 * The receiver checks the counter against the last one it accepted (replay) and against its
 * clock (a window), so a captured request can be replayed neither now nor later. */
#ifndef DUX_SIGN_H
#define DUX_SIGN_H

#include <dux/crypto.h>
#include <dux/err.h>
#include <stddef.h>
#include <stdint.h>

#define DUX_NODE_ID_LEN 32  /* hex chars: the first 16 bytes of SHA-256(public key) */
#define DUX_SIG_B64_LEN 86  /* base64url of 64 bytes */

#define DUX_HDR_NODE "X-Dux-Node"
#define DUX_HDR_COUNTER "X-Dux-Counter"
#define DUX_HDR_SIGNATURE "X-Dux-Signature"

/* node id (lowercase hex, NUL-terminated) of a public key */
void dux_node_id(const uint8_t pub[DUX_ED25519_PUB_LEN], char ret[DUX_NODE_ID_LEN + 1]);
DUX_MUST_USE int dux_node_id_valid(const char *s);

DUX_MUST_USE int dux_sign_request(const dux_key_t *key, const char *method, const char *path,
				  const char *node_id, int64_t counter, const void *body,
				  size_t len, char ret[DUX_SIG_B64_LEN + 1]);
/* DUX_EAUTH when the signature does not verify or is malformed. */
DUX_MUST_USE int dux_verify_request(const dux_key_t *key, const char *method, const char *path,
				    const char *node_id, int64_t counter, const void *body,
				    size_t len, const char *sig_b64);

#endif
