/* crypto.c - Ed25519, SHA-256, randomness and constant-time comparison, all from OpenSSL. */
#include <dux/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dux_key {
	EVP_PKEY *pkey;
	bool priv;
};

static int key_wrap(EVP_PKEY *pkey, bool priv, dux_key_t **ret)
{
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return DUX_EINVAL;
	}
	dux_key_t *k = calloc(1, sizeof *k);
	if (!k) {
		EVP_PKEY_free(pkey);
		return DUX_ENOMEM;
	}
	k->pkey = pkey;
	k->priv = priv;
	*ret = k;
	return 0;
}

int dux_key_generate(dux_key_t **ret)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx)
		return DUX_ENOMEM;
	int ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return DUX_EIO;
	return key_wrap(pkey, true, ret);
}

/* Refuses encrypted keys instead of letting OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int dux_key_load_file(const char *path, dux_key_t **ret)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? DUX_ENOENT : DUX_EIO;
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	bool priv = pkey != NULL;
	if (!pkey) {
		ERR_clear_error();
		rewind(f);
		pkey = PEM_read_PUBKEY(f, NULL, no_passphrase, NULL);
	}
	ERR_clear_error();
	fclose(f);
	if (!pkey)
		return DUX_EINVAL;
	return key_wrap(pkey, priv, ret);
}

int dux_key_save_file(const dux_key_t *key, const char *path)
{
	if (!key->priv)
		return DUX_EINVAL;
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
		return DUX_ERANGE;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return DUX_EIO;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return DUX_EIO;
	}
	int ok = PEM_write_PrivateKey(f, key->pkey, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(f) == 0 && ok && fsync(fd) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return DUX_EIO;
	}
	return 0;
}

int dux_key_from_public(const uint8_t pub[DUX_ED25519_PUB_LEN], dux_key_t **ret)
{
	EVP_PKEY *pkey =
		EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, DUX_ED25519_PUB_LEN);
	if (!pkey)
		return DUX_EINVAL;
	return key_wrap(pkey, false, ret);
}

int dux_key_public(const dux_key_t *key, uint8_t ret[DUX_ED25519_PUB_LEN])
{
	size_t n = DUX_ED25519_PUB_LEN;
	if (EVP_PKEY_get_raw_public_key(key->pkey, ret, &n) != 1 || n != DUX_ED25519_PUB_LEN)
		return DUX_EIO;
	return 0;
}

bool dux_key_is_private(const dux_key_t *key)
{
	return key->priv;
}

int dux_key_sign(const dux_key_t *key, const void *msg, size_t len,
		 uint8_t ret[DUX_ED25519_SIG_LEN])
{
	if (!key->priv)
		return DUX_EINVAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return DUX_ENOMEM;
	size_t n = DUX_ED25519_SIG_LEN;
	int ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
		 EVP_DigestSign(ctx, ret, &n, msg, len) == 1 && n == DUX_ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : DUX_EIO;
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

/* libsodium verifies in about half the time of OpenSSL 3.0 (50 against 105 us here). */
int dux_key_verify(const dux_key_t *key, const void *msg, size_t len,
		   const uint8_t sig[DUX_ED25519_SIG_LEN])
{
	uint8_t pub[DUX_ED25519_PUB_LEN];
	size_t n = sizeof pub;
	pthread_once(&sodium_once, sodium_start);
	if (!sodium_ok || EVP_PKEY_get_raw_public_key(key->pkey, pub, &n) != 1 || n != sizeof pub)
		return DUX_EAUTH;
	return crypto_sign_verify_detached(sig, msg, len, pub) == 0 ? 0 : DUX_EAUTH;
}

int dux_key_ref(const dux_key_t *key, dux_key_t **ret)
{
	if (EVP_PKEY_up_ref(key->pkey) != 1)
		return DUX_EIO;
	return key_wrap(key->pkey, key->priv, ret);
}

dux_key_t *dux_key_free(dux_key_t *key)
{
	if (key) {
		EVP_PKEY_free(key->pkey);
		free(key);
	}
	return NULL;
}

void dux_sha256(const void *data, size_t len, uint8_t ret[DUX_SHA256_LEN])
{
	unsigned int n = DUX_SHA256_LEN;
	if (EVP_Digest(data, len, ret, &n, EVP_sha256(), NULL) != 1)
		abort(); /* a broken libcrypto cannot be worked around safely */
}

void dux_random_bytes(void *buf, size_t n)
{
	if (RAND_bytes(buf, (int)n) != 1)
		abort(); /* never hand out predictable ids or keys */
}

void dux_random_id(char ret[33])
{
	uint8_t b[16];
	dux_random_bytes(b, sizeof b);
	dux_hex_encode(b, sizeof b, ret);
}

bool dux_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
