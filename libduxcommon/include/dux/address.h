/* address.h - Flopcoin addresses: Base58Check with a network's version bytes.
 *
 *   network   pay-to-pubkey-hash   pay-to-script-hash
 *   mainnet   35 ("F...")          22
 *   testnet   56                   76
 *   regtest   111 ("m"/"n")        196 */
#ifndef DUX_ADDRESS_H
#define DUX_ADDRESS_H

#include <dux/err.h>
#include <stddef.h>

typedef enum { DUX_NET_MAINNET = 0, DUX_NET_TESTNET = 1, DUX_NET_REGTEST = 2 } dux_net_t;
typedef enum { DUX_ADDR_PUBKEY_HASH = 0, DUX_ADDR_SCRIPT_HASH = 1 } dux_addr_kind_t;

#define DUX_ADDRESS_MAX 64 /* buffer size for any address text plus NUL */

DUX_MUST_USE int dux_net_parse(const char *s, dux_net_t *ret);
const char *dux_net_name(dux_net_t net);

/* 0 when s is a well-formed address of net (20-byte hash, known version, good checksum);
 * DUX_EINVAL otherwise, with the reason in why (a static clause like "its checksum does not
 * match") when why is not NULL. */
DUX_MUST_USE int dux_address_validate(const char *s, dux_net_t net, dux_addr_kind_t *ret_kind,
				      const char **why);
/* Creates a fresh secp256k1 key and its pay-to-pubkey-hash address
 * (RIPEMD-160 of SHA-256 of the compressed public key).
 * ret_pem: the private key as PEM (caller frees with free()). */
DUX_MUST_USE int dux_address_new(dux_net_t net, char ret_addr[DUX_ADDRESS_MAX], char **ret_pem);

#endif
