/* test_sign.c - requests signed by a node's identity: what the signature covers, node ids. */
#include "unit.h"
#include <dux/crypto.h>
#include <dux/sign.h>

static dux_key_t *key;
static char node[DUX_NODE_ID_LEN + 1];
static const char body[] = "{\"load_average\":[0.1,0.2,0.3]}";
static const int64_t counter = INT64_C(1700000000123);

static int setup(void **state)
{
	(void)state;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	if (dux_key_generate(&key) < 0 || dux_key_public(key, pub) < 0)
		return -1;
	dux_node_id(pub, node);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	key = dux_key_free(key);
	return 0;
}

static void sign(char sig[DUX_SIG_B64_LEN + 1])
{
	assert_int_equal(dux_sign_request(key, "POST", "/v1/nodes/x/heartbeat", node, counter,
					  body, sizeof body - 1, sig),
			 0);
}

static int verify(const char *method, const char *path, const char *id, int64_t c,
		  const void *b, size_t len, const char *sig)
{
	return dux_verify_request(key, method, path, id, c, b, len, sig);
}

static void sign_verify_round_trip(void **state)
{
	(void)state;
	char sig[DUX_SIG_B64_LEN + 1];
	sign(sig);
	assert_int_equal(strlen(sig), DUX_SIG_B64_LEN);
	assert_int_equal(verify("POST", "/v1/nodes/x/heartbeat", node, counter, body,
				sizeof body - 1, sig),
			 0);
	/* verification needs only the public key */
	uint8_t pub[DUX_ED25519_PUB_LEN];
	dux_key_t *pk = NULL;
	assert_int_equal(dux_key_public(key, pub), 0);
	assert_int_equal(dux_key_from_public(pub, &pk), 0);
	assert_int_equal(dux_verify_request(pk, "POST", "/v1/nodes/x/heartbeat", node, counter,
					    body, sizeof body - 1, sig),
			 0);
	dux_key_free(pk);
}

static void empty_body_and_null_body_agree(void **state)
{
	(void)state;
	char sig[DUX_SIG_B64_LEN + 1];
	assert_int_equal(dux_sign_request(key, "GET", "/v1/nodes", node, 1, NULL, 0, sig), 0);
	assert_int_equal(verify("GET", "/v1/nodes", node, 1, NULL, 0, sig), 0);
	assert_int_equal(verify("GET", "/v1/nodes", node, 1, "", 0, sig), 0);
	assert_int_equal(verify("GET", "/v1/nodes", node, 1, "x", 1, sig), DUX_EAUTH);
}

static void any_changed_part_fails(void **state)
{
	(void)state;
	char sig[DUX_SIG_B64_LEN + 1];
	sign(sig);
	const char *path = "/v1/nodes/x/heartbeat";
	size_t len = sizeof body - 1;
	assert_int_equal(verify("PUT", path, node, counter, body, len, sig), DUX_EAUTH);
	assert_int_equal(verify("post", path, node, counter, body, len, sig), DUX_EAUTH);
	assert_int_equal(verify("POST", "/v1/nodes/y/heartbeat", node, counter, body, len, sig),
			 DUX_EAUTH);
	assert_int_equal(verify("POST", "/nodes/x/heartbeat", node, counter, body, len, sig),
			 DUX_EAUTH);
	char other[DUX_NODE_ID_LEN + 1];
	memcpy(other, node, sizeof other);
	other[0] = other[0] == 'a' ? 'b' : 'a';
	assert_int_equal(verify("POST", path, other, counter, body, len, sig), DUX_EAUTH);
	assert_int_equal(verify("POST", path, node, counter + 1, body, len, sig), DUX_EAUTH);
	assert_int_equal(verify("POST", path, node, counter - 1, body, len, sig), DUX_EAUTH);
	char b[sizeof body];
	for (size_t i = 0; i < len; i++) {
		memcpy(b, body, sizeof b);
		b[i] ^= 1;
		assert_int_equal(verify("POST", path, node, counter, b, len, sig), DUX_EAUTH);
	}
	assert_int_equal(verify("POST", path, node, counter, body, len - 1, sig), DUX_EAUTH);
	assert_int_equal(verify("POST", path, node, counter, body, len, sig), 0);
}

static void another_key_fails(void **state)
{
	(void)state;
	char sig[DUX_SIG_B64_LEN + 1];
	sign(sig);
	dux_key_t *other = NULL;
	assert_int_equal(dux_key_generate(&other), 0);
	assert_int_equal(dux_verify_request(other, "POST", "/v1/nodes/x/heartbeat", node, counter,
					    body, sizeof body - 1, sig),
			 DUX_EAUTH);
	dux_key_free(other);
}

static void malformed_signature_text_fails(void **state)
{
	(void)state;
	char sig[DUX_SIG_B64_LEN + 1], bad[DUX_SIG_B64_LEN + 8];
	sign(sig);
	const char *path = "/v1/nodes/x/heartbeat";
	size_t len = sizeof body - 1;
	assert_int_equal(verify("POST", path, node, counter, body, len, NULL), DUX_EAUTH);
	assert_int_equal(verify("POST", path, node, counter, body, len, ""), DUX_EAUTH);
	assert_int_equal(verify("POST", path, node, counter, body, len, "not base64!"), DUX_EAUTH);
	snprintf(bad, sizeof bad, "%.85s", sig); /* one char short */
	assert_int_equal(verify("POST", path, node, counter, body, len, bad), DUX_EAUTH);
	snprintf(bad, sizeof bad, "%sAAAA", sig); /* 67 bytes */
	assert_int_equal(verify("POST", path, node, counter, body, len, bad), DUX_EAUTH);
	snprintf(bad, sizeof bad, "%s==", sig); /* padded */
	assert_int_equal(verify("POST", path, node, counter, body, len, bad), DUX_EAUTH);
	memcpy(bad, sig, sizeof sig);
	bad[10] = '+'; /* the standard, not the URL alphabet */
	assert_int_equal(verify("POST", path, node, counter, body, len, bad), DUX_EAUTH);
	memcpy(bad, sig, sizeof sig);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	assert_int_equal(verify("POST", path, node, counter, body, len, bad), DUX_EAUTH);
}

static void node_id_is_32_lowercase_hex_of_the_key(void **state)
{
	(void)state;
	assert_int_equal(strlen(node), DUX_NODE_ID_LEN);
	assert_int_equal(strspn(node, "0123456789abcdef"), DUX_NODE_ID_LEN);
	assert_int_equal(dux_node_id_valid(node), 0);
	/* the first 16 bytes of SHA-256 of the public key */
	uint8_t pub[DUX_ED25519_PUB_LEN], h[DUX_SHA256_LEN];
	char hex[2 * DUX_SHA256_LEN + 1];
	assert_int_equal(dux_key_public(key, pub), 0);
	dux_sha256(pub, sizeof pub, h);
	dux_hex_encode(h, sizeof h, hex);
	assert_memory_equal(node, hex, DUX_NODE_ID_LEN);
	/* deterministic, and different for another key */
	char again[DUX_NODE_ID_LEN + 1], other[DUX_NODE_ID_LEN + 1];
	dux_node_id(pub, again);
	assert_string_equal(again, node);
	pub[31] ^= 1;
	dux_node_id(pub, other);
	assert_string_not_equal(other, node);
}

static void node_id_valid_checks_form(void **state)
{
	(void)state;
	assert_int_equal(dux_node_id_valid("0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(dux_node_id_valid("0123456789ABCDEF0123456789abcdef"), DUX_EINVAL);
	assert_int_equal(dux_node_id_valid("0123456789abcdef0123456789abcde"), DUX_EINVAL);
	assert_int_equal(dux_node_id_valid("0123456789abcdef0123456789abcdef0"), DUX_EINVAL);
	assert_int_equal(dux_node_id_valid("0123456789abcdeg0123456789abcdef"), DUX_EINVAL);
	assert_int_equal(dux_node_id_valid("0123456789abcdef 123456789abcdef"), DUX_EINVAL);
	assert_int_equal(dux_node_id_valid(""), DUX_EINVAL);
	assert_int_equal(dux_node_id_valid(NULL), DUX_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_verify_round_trip),
		cmocka_unit_test(empty_body_and_null_body_agree),
		cmocka_unit_test(any_changed_part_fails),
		cmocka_unit_test(another_key_fails),
		cmocka_unit_test(malformed_signature_text_fails),
		cmocka_unit_test(node_id_is_32_lowercase_hex_of_the_key),
		cmocka_unit_test(node_id_valid_checks_form),
	};
	return cmocka_run_group_tests_name("sign", tests, setup, teardown);
}
