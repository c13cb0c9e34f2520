/* test_address.c - Flopcoin addresses: generation, validation per network, reasons. */
#include "unit.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static const dux_net_t nets[] = {DUX_NET_MAINNET, DUX_NET_TESTNET, DUX_NET_REGTEST};

/* An address of version v over a payload of n bytes (all 0x5a). */
static void make(uint8_t v, size_t n, char out[DUX_ADDRESS_MAX])
{
	uint8_t p[32];
	memset(p, 0x5a, sizeof p);
	assert_int_equal(dux_base58check_encode(v, p, n, out, DUX_ADDRESS_MAX), 0);
}

/* RIPEMD-160(SHA-256(compressed public key)) of the PEM's secp256k1 key. */
static void hash160_of_pem(const char *pem, uint8_t ret[20])
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	assert_non_null(bio);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(k);
	char group[32] = "";
	assert_int_equal(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
							sizeof group, NULL),
			 1);
	assert_string_equal(group, "secp256k1");
	/* compress the point by hand: 02/03 by the parity of y, then x */
	unsigned char *pub = NULL;
	size_t n = EVP_PKEY_get1_encoded_public_key(k, &pub);
	uint8_t comp[33];
	if (n == 33) {
		memcpy(comp, pub, 33);
	} else {
		assert_int_equal(n, 65);
		assert_int_equal(pub[0], 4);
		comp[0] = (uint8_t)(2 + (pub[64] & 1));
		memcpy(comp + 1, pub + 1, 32);
	}
	uint8_t sha[32];
	dux_sha256(comp, sizeof comp, sha);
	unsigned int hn = 20;
	EVP_MD *md = EVP_MD_fetch(NULL, "RIPEMD-160", NULL);
	assert_non_null(md);
	assert_int_equal(EVP_Digest(sha, sizeof sha, ret, &hn, md, NULL), 1);
	EVP_MD_free(md);
	OPENSSL_free(pub);
	EVP_PKEY_free(k);
}

static void new_address_validates_only_on_its_network(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char addr[DUX_ADDRESS_MAX];
		char *pem = NULL;
		assert_int_equal(dux_address_new(nets[i], addr, &pem), 0);
		assert_non_null(pem);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		for (size_t j = 0; j < 3; j++) {
			dux_addr_kind_t kind = DUX_ADDR_SCRIPT_HASH;
			const char *why = NULL;
			int rc = dux_address_validate(addr, nets[j], &kind, &why);
			if (i == j) {
				assert_int_equal(rc, 0);
				assert_int_equal(kind, DUX_ADDR_PUBKEY_HASH);
			} else {
				assert_int_equal(rc, DUX_EINVAL);
				assert_non_null(why);
				assert_non_null(strstr(why, "version"));
			}
		}
		/* the address is the hash of the returned key */
		uint8_t want[20], got[20], version;
		size_t n = 0;
		hash160_of_pem(pem, want);
		assert_int_equal(dux_base58check_decode(addr, &version, got, sizeof got, &n), 0);
		assert_int_equal(n, 20);
		assert_memory_equal(got, want, 20);
		free(pem);
	}
}

static void mainnet_starts_with_F_regtest_with_m_or_n(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++) {
		char addr[DUX_ADDRESS_MAX];
		char *pem = NULL;
		assert_int_equal(dux_address_new(DUX_NET_MAINNET, addr, &pem), 0);
		assert_int_equal(addr[0], 'F');
		assert_in_range(strlen(addr), 26, 35);
		free(pem);
		assert_int_equal(dux_address_new(DUX_NET_REGTEST, addr, &pem), 0);
		assert_true(addr[0] == 'm' || addr[0] == 'n');
		free(pem);
	}
}

static void two_new_addresses_differ(void **state)
{
	(void)state;
	char a[DUX_ADDRESS_MAX], b[DUX_ADDRESS_MAX];
	char *pa = NULL, *pb = NULL;
	assert_int_equal(dux_address_new(DUX_NET_MAINNET, a, &pa), 0);
	assert_int_equal(dux_address_new(DUX_NET_MAINNET, b, &pb), 0);
	assert_string_not_equal(a, b);
	assert_string_not_equal(pa, pb);
	free(pa);
	free(pb);
}

static void script_hash_versions_give_script_kind(void **state)
{
	(void)state;
	static const uint8_t script[] = {22, 76, 196};
	for (size_t i = 0; i < 3; i++) {
		char addr[DUX_ADDRESS_MAX];
		make(script[i], 20, addr);
		dux_addr_kind_t kind = DUX_ADDR_PUBKEY_HASH;
		assert_int_equal(dux_address_validate(addr, nets[i], &kind, NULL), 0);
		assert_int_equal(kind, DUX_ADDR_SCRIPT_HASH);
		assert_int_equal(dux_address_validate(addr, nets[(i + 1) % 3], NULL, NULL), DUX_EINVAL);
	}
}

static void one_changed_char_fails_with_checksum_reason(void **state)
{
	(void)state;
	char addr[DUX_ADDRESS_MAX];
	char *pem = NULL;
	assert_int_equal(dux_address_new(DUX_NET_MAINNET, addr, &pem), 0);
	free(pem);
	size_t len = strlen(addr);
	for (size_t i = 1; i < len; i++) {
		char s[DUX_ADDRESS_MAX];
		memcpy(s, addr, sizeof s);
		s[i] = s[i] == '2' ? '3' : '2';
		const char *why = NULL;
		dux_addr_kind_t kind = (dux_addr_kind_t)77;
		assert_int_equal(dux_address_validate(s, DUX_NET_MAINNET, &kind, &why), DUX_EINVAL);
		assert_non_null(why);
		assert_non_null(strstr(why, "checksum"));
		assert_int_equal(kind, 77); /* untouched on failure */
	}
}

static void wrong_payload_length_or_version_fails_with_reason(void **state)
{
	(void)state;
	char addr[DUX_ADDRESS_MAX];
	const char *why = NULL;
	make(35, 19, addr);
	assert_int_equal(dux_address_validate(addr, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "20-byte"));
	why = NULL;
	make(35, 21, addr);
	assert_int_equal(dux_address_validate(addr, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(why);
	why = NULL;
	make(0, 20, addr); /* a Bitcoin address */
	assert_int_equal(dux_address_validate(addr, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "version"));
	why = NULL;
	make(36, 20, addr);
	assert_int_equal(dux_address_validate(addr, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "version"));
}

static void too_short_or_long_or_not_base58_fails(void **state)
{
	(void)state;
	char addr[DUX_ADDRESS_MAX];
	char *pem = NULL;
	assert_int_equal(dux_address_new(DUX_NET_MAINNET, addr, &pem), 0);
	free(pem);
	const char *why = NULL;
	assert_int_equal(dux_address_validate("", DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "26 to 35"));
	why = NULL;
	assert_int_equal(dux_address_validate(NULL, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(why);
	char s[80];
	snprintf(s, sizeof s, "%.25s", addr);
	why = NULL;
	assert_int_equal(dux_address_validate(s, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "26 to 35"));
	snprintf(s, sizeof s, "%s%s", addr, "zzzzzzzzzzzz");
	why = NULL;
	assert_int_equal(dux_address_validate(s, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "26 to 35"));
	snprintf(s, sizeof s, "%s", addr);
	s[5] = '0'; /* not in the Base58 alphabet */
	why = NULL;
	assert_int_equal(dux_address_validate(s, DUX_NET_MAINNET, NULL, &why), DUX_EINVAL);
	assert_non_null(strstr(why, "Base58"));
}

static void net_parse_and_name(void **state)
{
	(void)state;
	dux_net_t n = (dux_net_t)9;
	assert_int_equal(dux_net_parse("mainnet", &n), 0);
	assert_int_equal(n, DUX_NET_MAINNET);
	assert_int_equal(dux_net_parse("TestNet", &n), 0);
	assert_int_equal(n, DUX_NET_TESTNET);
	assert_int_equal(dux_net_parse("regtest", &n), 0);
	assert_int_equal(n, DUX_NET_REGTEST);
	n = (dux_net_t)9;
	assert_int_equal(dux_net_parse("main", &n), DUX_EINVAL);
	assert_int_equal(dux_net_parse("", &n), DUX_EINVAL);
	assert_int_equal(dux_net_parse("regtest ", &n), DUX_EINVAL);
	assert_int_equal(n, 9);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(dux_net_parse(dux_net_name(nets[i]), &n), 0);
		assert_int_equal(n, nets[i]);
	}
	assert_string_equal(dux_net_name(DUX_NET_MAINNET), "mainnet");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_address_validates_only_on_its_network),
		cmocka_unit_test(mainnet_starts_with_F_regtest_with_m_or_n),
		cmocka_unit_test(two_new_addresses_differ),
		cmocka_unit_test(script_hash_versions_give_script_kind),
		cmocka_unit_test(one_changed_char_fails_with_checksum_reason),
		cmocka_unit_test(wrong_payload_length_or_version_fails_with_reason),
		cmocka_unit_test(too_short_or_long_or_not_base58_fails),
		cmocka_unit_test(net_parse_and_name),
	};
	return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
