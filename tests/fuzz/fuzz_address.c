/* fuzz_address.c - address text from outside: dux_address_validate on every network, and the
 * encodings under it. Decoding is canonical, so whatever decodes must encode back to the very
 * same text (Base58Check and base64url). */
#include "fuzz.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <string.h>

static void addresses(const char *s)
{
	static const dux_net_t nets[] = {DUX_NET_MAINNET, DUX_NET_TESTNET, DUX_NET_REGTEST};
	static const uint8_t pubkey[] = {35, 56, 111}, script[] = {22, 76, 196};
	int valid = 0;
	for (int i = 0; i < 3; i++) {
		dux_addr_kind_t kind = (dux_addr_kind_t)7;
		const char *why = NULL;
		if (dux_address_validate(s, nets[i], &kind, &why) < 0) {
			FUZZ_CHECK(why != NULL && why[0] != '\0');
			FUZZ_CHECK(kind == (dux_addr_kind_t)7);
			continue;
		}
		valid++;
		FUZZ_CHECK(why == NULL);
		uint8_t v, h[32];
		size_t n = 0;
		FUZZ_CHECK(dux_base58check_decode(s, &v, h, sizeof h, &n) == 0 && n == 20);
		FUZZ_CHECK(kind == DUX_ADDR_PUBKEY_HASH ? v == pubkey[i] : v == script[i]);
		FUZZ_CHECK(kind == DUX_ADDR_PUBKEY_HASH || kind == DUX_ADDR_SCRIPT_HASH);
	}
	FUZZ_CHECK(valid <= 1); /* the version bytes of the networks are all different */
}

static void base58(const char *s)
{
	uint8_t version = 0, payload[128];
	size_t n = 0;
	if (dux_base58check_decode(s, &version, payload, sizeof payload, &n) < 0)
		return;
	char back[300];
	FUZZ_CHECK(dux_base58check_encode(version, payload, n, back, sizeof back) == 0);
	FUZZ_CHECK(strcmp(back, s) == 0);
}

static void base64url(const uint8_t *data, size_t size)
{
	uint8_t out[512];
	size_t n = 0;
	if (size > 600 || dux_b64url_decode((const char *)data, size, out, sizeof out, &n) < 0)
		return;
	char back[700];
	FUZZ_CHECK(dux_b64url_len(n) == size);
	dux_b64url_encode(out, n, back);
	FUZZ_CHECK(memcmp(back, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	char *s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	addresses(s);
	base58(s);
	base64url(data, size);
	free(s);
	return 0;
}
