/* test_crypto.c - Ed25519 keys (RFC 8032 vectors), SHA-256 (FIPS 180-2 vectors), random ids,
 * constant-time comparison. */
#include "unit.h"
#include <dux/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static void unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(dux_hex_decode(s, strlen(s), out, n), 0);
}

/* RFC 8032 section 7.1, TEST 1 (the empty message). */
static const char rfc_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pub[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
			      "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

/* Writes the raw 32-byte seed as a PKCS#8 PEM file, the way an operator's key would look. */
static void write_seed_pem(const char *path, const uint8_t seed[32])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(pkey);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(pkey);
}

static void sha256_fips_vectors(void **state)
{
	(void)state;
	uint8_t h[DUX_SHA256_LEN];
	char hex[2 * DUX_SHA256_LEN + 1];
	dux_sha256("", 0, h);
	dux_hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	dux_sha256("abc", 3, h);
	dux_hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	dux_sha256(two, strlen(two), h);
	dux_hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void ed25519_rfc8032_test1(void **state)
{
	(void)state;
	char dir[256], path[512];
	unit_tmpdir(dir);
	unit_path(path, dir, "node.pem");
	uint8_t seed[32], want_pub[32], want_sig[64], pub[32], sig[64];
	unhex(rfc_seed, seed, sizeof seed);
	unhex(rfc_pub, want_pub, sizeof want_pub);
	unhex(rfc_sig, want_sig, sizeof want_sig);
	write_seed_pem(path, seed);

	dux_key_t *key = NULL;
	assert_int_equal(dux_key_load_file(path, &key), 0);
	assert_true(dux_key_is_private(key));
	assert_int_equal(dux_key_public(key, pub), 0);
	assert_memory_equal(pub, want_pub, 32);
	assert_int_equal(dux_key_sign(key, "", 0, sig), 0);
	assert_memory_equal(sig, want_sig, 64);

	/* the public key alone verifies the RFC's signature */
	dux_key_t *pk = NULL;
	assert_int_equal(dux_key_from_public(want_pub, &pk), 0);
	assert_false(dux_key_is_private(pk));
	assert_int_equal(dux_key_verify(pk, "", 0, want_sig), 0);
	assert_int_equal(dux_key_sign(pk, "", 0, sig), DUX_EINVAL);
	dux_key_free(pk);
	dux_key_free(key);
	unit_rmtree(dir);
}

static void sign_verify_round_trip(void **state)
{
	(void)state;
	dux_key_t *key = NULL;
	assert_int_equal(dux_key_generate(&key), 0);
	assert_true(dux_key_is_private(key));
	const char msg[] = "escrow 42 released";
	uint8_t sig[DUX_ED25519_SIG_LEN];
	assert_int_equal(dux_key_sign(key, msg, sizeof msg - 1, sig), 0);
	assert_int_equal(dux_key_verify(key, msg, sizeof msg - 1, sig), 0);
	/* and with the public half only */
	uint8_t pub[DUX_ED25519_PUB_LEN];
	dux_key_t *pk = NULL;
	assert_int_equal(dux_key_public(key, pub), 0);
	assert_int_equal(dux_key_from_public(pub, &pk), 0);
	assert_int_equal(dux_key_verify(pk, msg, sizeof msg - 1, sig), 0);
	dux_key_free(pk);
	dux_key_free(key);
}

static void verify_fails_on_any_flipped_bit(void **state)
{
	(void)state;
	dux_key_t *key = NULL, *other = NULL;
	assert_int_equal(dux_key_generate(&key), 0);
	uint8_t msg[40], sig[DUX_ED25519_SIG_LEN], pub[DUX_ED25519_PUB_LEN];
	dux_random_bytes(msg, sizeof msg);
	assert_int_equal(dux_key_sign(key, msg, sizeof msg, sig), 0);
	assert_int_equal(dux_key_public(key, pub), 0);

	for (size_t bit = 0; bit < 8 * sizeof msg; bit += 7) {
		msg[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(dux_key_verify(key, msg, sizeof msg, sig), DUX_EAUTH);
		msg[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	for (size_t bit = 0; bit < 8 * sizeof sig; bit += 5) {
		sig[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(dux_key_verify(key, msg, sizeof msg, sig), DUX_EAUTH);
		sig[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	for (size_t bit = 0; bit < 8 * sizeof pub; bit += 3) {
		pub[bit / 8] ^= (uint8_t)(1u << bit % 8);
		/* a flipped key is either not a curve point at all or a different key */
		if (dux_key_from_public(pub, &other) == 0) {
			assert_int_equal(dux_key_verify(other, msg, sizeof msg, sig), DUX_EAUTH);
			other = dux_key_free(other);
		}
		pub[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	assert_int_equal(dux_key_verify(key, msg, sizeof msg, sig), 0);
	dux_key_free(key);
}

static void save_load_keeps_key_with_mode_0600(void **state)
{
	(void)state;
	char dir[256], path[512];
	unit_tmpdir(dir);
	unit_path(path, dir, "identity.pem");
	unit_write_file(path, "an older, world-readable file\n");
	assert_int_equal(chmod(path, 0644), 0);
	mode_t old = umask(0); /* the mode must not depend on the caller's umask */
	dux_key_t *key = NULL, *back = NULL;
	assert_int_equal(dux_key_generate(&key), 0);
	assert_int_equal(dux_key_save_file(key, path), 0);
	umask(old);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dux_key_load_file(path, &back), 0);
	assert_true(dux_key_is_private(back));
	uint8_t a[32], b[32], sig[64];
	assert_int_equal(dux_key_public(key, a), 0);
	assert_int_equal(dux_key_public(back, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(dux_key_sign(back, "x", 1, sig), 0);
	assert_int_equal(dux_key_verify(key, "x", 1, sig), 0);

	/* saving again replaces the file atomically and leaves no temporary behind */
	assert_int_equal(dux_key_save_file(back, path), 0);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int files = 0;
	for (struct dirent *de; (de = readdir(d));)
		files += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
	dux_key_free(back);
	dux_key_free(key);
	unit_rmtree(dir);
}

static void save_refuses_public_only_key(void **state)
{
	(void)state;
	char dir[256], path[512];
	unit_tmpdir(dir);
	unit_path(path, dir, "pub.pem");
	uint8_t pub[32];
	unhex(rfc_pub, pub, sizeof pub);
	dux_key_t *pk = NULL;
	assert_int_equal(dux_key_from_public(pub, &pk), 0);
	assert_int_equal(dux_key_save_file(pk, path), DUX_EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	dux_key_free(pk);
	unit_rmtree(dir);
}

static void load_reads_public_pem_and_refuses_junk(void **state)
{
	(void)state;
	char dir[256], path[512];
	unit_tmpdir(dir);
	unit_path(path, dir, "k.pem");
	dux_key_t *k = NULL;
	assert_int_equal(dux_key_load_file(path, &k), DUX_ENOENT);
	unit_write_file(path, "not a key\n");
	assert_int_equal(dux_key_load_file(path, &k), DUX_EINVAL);
	assert_null(k);

	uint8_t pub[32];
	unhex(rfc_pub, pub, sizeof pub);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	assert_non_null(p);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, p), 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(p);
	assert_int_equal(dux_key_load_file(path, &k), 0);
	assert_false(dux_key_is_private(k));
	uint8_t got[32];
	assert_int_equal(dux_key_public(k, got), 0);
	assert_memory_equal(got, pub, 32);
	dux_key_free(k);

	/* a key of another algorithm is refused */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(ec);
	assert_int_equal(dux_key_load_file(path, &k), DUX_EINVAL);
	unit_rmtree(dir);
}

static void load_refuses_encrypted_key_without_prompting(void **state)
{
	(void)state;
	char dir[256], path[512];
	unit_tmpdir(dir);
	unit_path(path, dir, "enc.pem");
	EVP_PKEY *p = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &p), 1);
	EVP_PKEY_CTX_free(ctx);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	unsigned char pass[] = "correct horse";
	assert_int_equal(PEM_write_PrivateKey(f, p, EVP_aes_256_cbc(), pass, sizeof pass - 1, NULL,
					      NULL),
			 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(p);
	dux_key_t *k = NULL;
	assert_int_equal(dux_key_load_file(path, &k), DUX_EINVAL);
	assert_null(k);
	unit_rmtree(dir);
}

static void free_accepts_null(void **state)
{
	(void)state;
	assert_null(dux_key_free(NULL));
}

static void random_ids_are_hex_and_differ(void **state)
{
	(void)state;
	char ids[64][33];
	for (int i = 0; i < 64; i++) {
		dux_random_id(ids[i]);
		assert_int_equal(strlen(ids[i]), 32);
		assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	uint8_t a[32] = {0}, b[32] = {0};
	dux_random_bytes(a, sizeof a);
	dux_random_bytes(b, sizeof b);
	assert_memory_not_equal(a, b, sizeof a);
}

static void ct_equal_compares_all_bytes(void **state)
{
	(void)state;
	uint8_t a[33], b[33];
	dux_random_bytes(a, sizeof a);
	memcpy(b, a, sizeof a);
	assert_true(dux_ct_equal(a, b, sizeof a));
	assert_true(dux_ct_equal(a, b, 0));
	for (size_t i = 0; i < sizeof a; i++) {
		b[i] ^= 0x80;
		assert_false(dux_ct_equal(a, b, sizeof a));
		b[i] ^= 0x80;
	}
	b[32] ^= 1;
	assert_true(dux_ct_equal(a, b, 32)); /* only n bytes are compared */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_fips_vectors),
		cmocka_unit_test(ed25519_rfc8032_test1),
		cmocka_unit_test(sign_verify_round_trip),
		cmocka_unit_test(verify_fails_on_any_flipped_bit),
		cmocka_unit_test(save_load_keeps_key_with_mode_0600),
		cmocka_unit_test(save_refuses_public_only_key),
		cmocka_unit_test(load_reads_public_pem_and_refuses_junk),
		cmocka_unit_test(load_refuses_encrypted_key_without_prompting),
		cmocka_unit_test(free_accepts_null),
		cmocka_unit_test(random_ids_are_hex_and_differ),
		cmocka_unit_test(ct_equal_compares_all_bytes),
	};
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
