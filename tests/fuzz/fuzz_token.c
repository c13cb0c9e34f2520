/* fuzz_token.c - bearer tokens with a fixed key. The first byte chooses the mode:
 *   even: the rest is a token, verified as it comes (what an outsider can send);
 *   odd:  the rest is header JSON, a newline, claims JSON; the target signs them with the
 *         fixed key and verifies, which reaches the header and claims checks behind the
 *         signature (what a token holder or a leaked minting key can present).
 * On acceptance the result must satisfy what dux_token_verify promises. */
#include "fuzz.h"
#include <dux/auth.h>
#include <dux/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_NOW INT64_C(1700000000)
static const char issuer[] = "duxos-fuzz";

/* The private key with the RFC 8032 TEST 1 seed, so that inputs reproduce anywhere. */
static dux_key_t *fixed_key(void)
{
	static dux_key_t *key;
	if (key)
		return key;
	static const uint8_t seed[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
		0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
		0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
	char path[] = "/tmp/dux-fuzz-key.XXXXXX";
	int fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
	FUZZ_CHECK(f && pkey);
	FUZZ_CHECK(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1);
	FUZZ_CHECK(fclose(f) == 0);
	EVP_PKEY_free(pkey);
	FUZZ_CHECK(dux_key_load_file(path, &key) == 0);
	unlink(path);
	return key;
}

static void check_accepted(const dux_token_t *t)
{
	FUZZ_CHECK(memchr(t->sub, '\0', sizeof t->sub) != NULL);
	FUZZ_CHECK(t->sub[0] != '\0');
	FUZZ_CHECK((t->scopes & ~15u) == 0);
	FUZZ_CHECK(t->exp >= FUZZ_NOW - 60);
}

static void verify(const char *token)
{
	dux_token_t t;
	memset(&t, 0x5a, sizeof t);
	if (dux_token_verify(fixed_key(), issuer, token, FUZZ_NOW, &t) == 0)
		check_accepted(&t);
	else
		FUZZ_CHECK(t.exp == (int64_t)0x5a5a5a5a5a5a5a5aLL); /* untouched */
}

/* header.claims signed with the fixed key. */
static char *sign_parts(const uint8_t *h, size_t hn, const uint8_t *c, size_t cn)
{
	size_t cap = dux_b64url_len(hn) + dux_b64url_len(cn) + dux_b64url_len(64) + 3;
	char *t = malloc(cap);
	FUZZ_CHECK(t != NULL);
	dux_b64url_encode(h, hn, t);
	size_t n = strlen(t);
	t[n++] = '.';
	dux_b64url_encode(c, cn, t + n);
	n += strlen(t + n);
	uint8_t sig[DUX_ED25519_SIG_LEN];
	FUZZ_CHECK(dux_key_sign(fixed_key(), t, n, sig) == 0);
	t[n++] = '.';
	dux_b64url_encode(sig, sizeof sig, t + n);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 3 * DUX_TOKEN_MAX)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if ((data[0] & 1) == 0) {
		char *token = malloc(n + 1);
		FUZZ_CHECK(token != NULL);
		memcpy(token, p, n);
		token[n] = '\0';
		verify(token);
		free(token);
		return 0;
	}
	const uint8_t *nl = memchr(p, '\n', n);
	size_t hn = nl ? (size_t)(nl - p) : n;
	const uint8_t *c = nl ? nl + 1 : p + n;
	size_t cn = nl ? n - hn - 1 : 0;
	char *token = sign_parts(p, hn, c, cn);
	verify(token);
	free(token);
	return 0;
}
