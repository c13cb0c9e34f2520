/* address.c - Flopcoin addresses: validation, and new pay-to-pubkey-hash keys. */
#include <dux/address.h>
#include <dux/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	uint8_t pubkey, script;
} nets[] = {
	[DUX_NET_MAINNET] = {"mainnet", 35, 22},
	[DUX_NET_TESTNET] = {"testnet", 56, 76},
	[DUX_NET_REGTEST] = {"regtest", 111, 196},
};

int dux_net_parse(const char *s, dux_net_t *ret)
{
	for (int i = 0; i < 3; i++) {
		if (strcasecmp(s, nets[i].name) == 0) {
			*ret = (dux_net_t)i;
			return 0;
		}
	}
	return DUX_EINVAL;
}

const char *dux_net_name(dux_net_t net)
{
	return nets[net].name;
}

int dux_address_validate(const char *s, dux_net_t net, dux_addr_kind_t *ret_kind,
			 const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	size_t len = s ? strlen(s) : 0;
	if (len < 26 || len > 35) {
		*why = "it must be 26 to 35 Base58 characters";
		return DUX_EINVAL;
	}
	uint8_t version, hash[32];
	size_t n;
	int r = dux_base58check_decode(s, &version, hash, sizeof hash, &n);
	if (r == DUX_EAUTH) {
		*why = "its checksum does not match (mistyped?)";
		return DUX_EINVAL;
	}
	if (r < 0) {
		*why = "it is not valid Base58Check";
		return DUX_EINVAL;
	}
	if (n != 20) {
		*why = "it does not hold a 20-byte hash";
		return DUX_EINVAL;
	}
	if (version != nets[net].pubkey && version != nets[net].script) {
		*why = "its version byte belongs to another network";
		return DUX_EINVAL;
	}
	if (ret_kind)
		*ret_kind = version == nets[net].pubkey ? DUX_ADDR_PUBKEY_HASH : DUX_ADDR_SCRIPT_HASH;
	return 0;
}

static int hash160(const uint8_t *data, size_t len, uint8_t ret[20])
{
	uint8_t sha[DUX_SHA256_LEN];
	dux_sha256(data, len, sha);
	EVP_MD *md = EVP_MD_fetch(NULL, "RIPEMD-160", NULL);
	if (!md)
		return DUX_EIO;
	unsigned int n = 20;
	int ok = EVP_Digest(sha, sizeof sha, ret, &n, md, NULL) == 1 && n == 20;
	EVP_MD_free(md);
	return ok ? 0 : DUX_EIO;
}

static char *pem_of(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		char *p;
		long n = BIO_get_mem_data(bio, &p);
		out = n > 0 ? strndup(p, (size_t)n) : NULL;
	}
	BIO_free(bio);
	return out;
}

int dux_address_new(dux_net_t net, char ret_addr[DUX_ADDRESS_MAX], char **ret_pem)
{
	int r = DUX_EIO;
	unsigned char *pub = NULL;
	char *pem = NULL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	if (!pkey)
		goto out;
	/* The uncompressed point is 04 || X || Y; the compressed one is (02 | parity of Y) || X. */
	if (EVP_PKEY_get1_encoded_public_key(pkey, &pub) != 65 || pub[0] != 4)
		goto out;
	uint8_t point[33];
	point[0] = (uint8_t)(2 | (pub[64] & 1));
	memcpy(point + 1, pub + 1, 32);
	uint8_t h[20];
	r = hash160(point, sizeof point, h);
	if (r < 0)
		goto out;
	char addr[DUX_ADDRESS_MAX];
	r = dux_base58check_encode(nets[net].pubkey, h, sizeof h, addr, sizeof addr);
	if (r < 0)
		goto out;
	pem = pem_of(pkey);
	if (!pem) {
		r = DUX_ENOMEM;
		goto out;
	}
	memcpy(ret_addr, addr, sizeof addr);
	*ret_pem = pem;
	pem = NULL;
	r = 0;
out:
	free(pem);
	OPENSSL_free(pub);
	EVP_PKEY_free(pkey);
	return r;
}
