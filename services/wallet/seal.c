/* seal.c - private keys at rest, sealed with a key derived from wallet.passphrase.
 *
 * Argon2id (libsodium crypto_pwhash, interactive limits) turns the passphrase and a random
 * salt kept in meta into a 32-byte key; each private key is sealed with XChaCha20-Poly1305 under
 * a fresh nonce, bound to its address as associated data so boxes cannot be swapped between
 * accounts. A check box in meta tells a wrong passphrase apart at start-up. */
#include "wallet.h"
#include <dux/crypto.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define CHECK_TEXT "duxos-wallet seal check"

static pthread_mutex_t seal_mu = PTHREAD_MUTEX_INITIALIZER;

/* The meta value of k, set to def when absent (the first writer wins). */
static int meta_get_or_set(dux_db_conn_t *c, const char *k, const char *def, char *ret,
			   size_t len)
{
	const char *p[] = {k, def};
	PGresult *res;
	int r = dux_db_exec(c,
			    "WITH ins AS (INSERT INTO meta (k, v) VALUES ($1, $2)"
			    " ON CONFLICT (k) DO NOTHING RETURNING v)"
			    " SELECT v FROM ins UNION ALL SELECT v FROM meta WHERE k = $1 LIMIT 1",
			    2, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1 || strlen(PQgetvalue(res, 0, 0)) >= len) {
		PQclear(res);
		return DUX_EPROTO;
	}
	strcpy(ret, PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int derive(wallet_t *w, dux_db_conn_t *c, char *err, size_t errlen)
{
	uint8_t salt[crypto_pwhash_SALTBYTES];
	char salt_hex[2 * sizeof salt + 1], got[2 * sizeof salt + 1];
	dux_random_bytes(salt, sizeof salt);
	dux_hex_encode(salt, sizeof salt, salt_hex);
	int r = meta_get_or_set(c, "seal.salt", salt_hex, got, sizeof got);
	if (r == 0 && dux_hex_decode(got, strlen(got), salt, sizeof salt) < 0)
		r = DUX_EPROTO;
	if (r < 0)
		return r;
	const char *pass = w->cfg.passphrase;
	if (crypto_pwhash(w->seal_key, sizeof w->seal_key, pass, strlen(pass), salt,
			  crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		snprintf(err, errlen, "deriving the sealing key ran out of memory");
		return DUX_ENOMEM;
	}
	return 0;
}

/* Compares the stored check box with this passphrase (storing one on the first start). */
static int verify(wallet_t *w, dux_db_conn_t *c, char *err, size_t errlen)
{
	unsigned char *box = NULL, *plain = NULL;
	size_t blen = 0, plen = 0;
	int r = seal_box(w, "seal.check", CHECK_TEXT, strlen(CHECK_TEXT), &box, &blen);
	if (r < 0)
		return r;
	char *hex = malloc(2 * blen + 1), stored[512];
	if (!hex) {
		free(box);
		return DUX_ENOMEM;
	}
	dux_hex_encode(box, blen, hex);
	r = meta_get_or_set(c, "seal.check", hex, stored, sizeof stored);
	free(box);
	free(hex);
	uint8_t sb[256];
	size_t sn = strlen(stored) / 2;
	if (r == 0 && (sn > sizeof sb || dux_hex_decode(stored, 2 * sn, sb, sn) < 0))
		r = DUX_EPROTO;
	if (r == 0 && seal_open(w, "seal.check", sb, sn, &plain, &plen) < 0) {
		snprintf(err, errlen,
			 "wallet.passphrase does not open the keys sealed by an earlier start");
		r = DUX_EAUTH;
	}
	free(plain);
	return r;
}

int seal_init(wallet_t *w, dux_db_t *db, char *err, size_t errlen)
{
	if (!w->cfg.encryption)
		return 0;
	if (!w->cfg.passphrase || !*w->cfg.passphrase) {
		snprintf(err, errlen,
			 "wallet.encryption is on but wallet.passphrase (or passphrase_file) is unset");
		return DUX_EINVAL;
	}
	if (sodium_init() < 0)
		return DUX_EIO;
	pthread_mutex_lock(&seal_mu);
	dux_db_conn_t *c = NULL;
	/* a wrong passphrase stays wrong: no Argon2 run per request to find out again */
	int r = w->seal_error ? w->seal_error : w->sealing ? 0 : dux_db_acquire(db, &c);
	if (w->seal_error)
		snprintf(err, errlen, "wallet.passphrase does not open the keys sealed by an earlier start");
	if (r == 0 && !w->sealing)
		r = derive(w, c, err, errlen);
	if (r == 0 && !w->sealing) {
		w->sealing = true; /* seal_box below needs the key */
		r = verify(w, c, err, errlen);
		if (r < 0) {
			w->sealing = false;
			sodium_memzero(w->seal_key, sizeof w->seal_key);
		}
		if (r == DUX_EAUTH)
			w->seal_error = r;
	}
	if (c)
		dux_db_release(db, c);
	pthread_mutex_unlock(&seal_mu);
	return r;
}

int seal_box(const wallet_t *w, const char *address, const void *plain, size_t len,
	     unsigned char **ret, size_t *ret_len)
{
	if (!w->sealing)
		return DUX_EINVAL;
	unsigned char *box = malloc(NONCE + len + TAG);
	if (!box)
		return DUX_ENOMEM;
	randombytes_buf(box, NONCE);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE, &clen, plain, len,
						   (const unsigned char *)address, strlen(address),
						   NULL, box, w->seal_key);
	*ret = box;
	*ret_len = NONCE + (size_t)clen;
	return 0;
}

int seal_open(const wallet_t *w, const char *address, const unsigned char *box, size_t len,
	      unsigned char **ret, size_t *ret_len)
{
	if (!w->sealing || len < NONCE + TAG)
		return DUX_EINVAL;
	unsigned char *plain = malloc(len - NONCE - TAG + 1);
	if (!plain)
		return DUX_ENOMEM;
	unsigned long long plen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, box + NONCE, len - NONCE,
						       (const unsigned char *)address,
						       strlen(address), box, w->seal_key) != 0) {
		free(plain);
		return DUX_EAUTH;
	}
	plain[plen] = '\0';
	*ret = plain;
	*ret_len = (size_t)plen;
	return 0;
}
