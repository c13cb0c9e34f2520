/* test_encode.c - hex, base64url (RFC 4648 section 5, unpadded) and Base58Check. */
#include "unit.h"
#include <dux/crypto.h>

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131u + i * 29u + (i >> 3));
}

static void hex_round_trip_lengths_0_to_70(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 70; n++) {
		uint8_t in[70], out[70];
		char hex[141];
		fill(in, n, (unsigned)n);
		memset(hex, 'Z', sizeof hex);
		dux_hex_encode(in, n, hex);
		assert_int_equal(strlen(hex), 2 * n);
		assert_int_equal(strspn(hex, "0123456789abcdef"), 2 * n);
		assert_int_equal(dux_hex_decode(hex, 2 * n, out, n), 0);
		assert_memory_equal(in, out, n);
	}
}

static void hex_decode_accepts_upper_case(void **state)
{
	(void)state;
	uint8_t out[4];
	assert_int_equal(dux_hex_decode("DeadBEEF", 8, out, 4), 0);
	assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
}

static void hex_decode_refuses_bad_input(void **state)
{
	(void)state;
	uint8_t out[4];
	assert_int_equal(dux_hex_decode("deadbee", 7, out, 4), DUX_EINVAL);  /* odd */
	assert_int_equal(dux_hex_decode("deadbeef00", 10, out, 4), DUX_EINVAL); /* too long */
	assert_int_equal(dux_hex_decode("deadbeeg", 8, out, 4), DUX_EINVAL);
	assert_int_equal(dux_hex_decode("dead bef", 8, out, 4), DUX_EINVAL);
	assert_int_equal(dux_hex_decode("0x00beef", 8, out, 4), DUX_EINVAL);
	assert_int_equal(dux_hex_decode("dead\0eef", 8, out, 4), DUX_EINVAL);
}

static void b64url_known_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10 vectors, unpadded and in the URL alphabet */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		char out[16];
		size_t n = strlen(plain[i]);
		assert_int_equal(dux_b64url_len(n), strlen(enc[i]));
		dux_b64url_encode(plain[i], n, out);
		assert_string_equal(out, enc[i]);
	}
	char out[8];
	dux_b64url_encode("\xfb\xff\xfe", 3, out);
	assert_string_equal(out, "-__-");
}

static void b64url_round_trip_lengths_0_to_70(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 70; n++) {
		uint8_t in[70], out[70];
		char enc[100];
		fill(in, n, (unsigned)n + 7);
		dux_b64url_encode(in, n, enc);
		assert_int_equal(strlen(enc), dux_b64url_len(n));
		assert_null(strpbrk(enc, "+/="));
		size_t got = 999;
		assert_int_equal(dux_b64url_decode(enc, strlen(enc), out, n, &got), 0);
		assert_int_equal(got, n);
		assert_memory_equal(in, out, n);
		/* one byte too little room is refused, not overrun */
		if (n > 0) {
			got = 999;
			assert_int_equal(dux_b64url_decode(enc, strlen(enc), out, n - 1, &got),
					 DUX_ERANGE);
			assert_int_equal(got, 999);
		}
	}
}

static void b64url_refuses_bad_characters(void **state)
{
	(void)state;
	static const char *const bad[] = {"Zm9v+g", "Zm9v/g", "Zm 9v", "Zm9v\n", "Zm9v.A",
					  "Zm9v\xc3\xa9", NULL};
	for (const char *const *p = bad; *p; p++) {
		uint8_t out[16];
		size_t got = 999;
		assert_int_equal(dux_b64url_decode(*p, strlen(*p), out, sizeof out, &got), DUX_EINVAL);
		assert_int_equal(got, 999);
	}
	uint8_t out[16];
	size_t got;
	assert_int_equal(dux_b64url_decode("Zm\0v", 4, out, sizeof out, &got), DUX_EINVAL);
}

static void b64url_refuses_padding(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t got = 999;
	assert_int_equal(dux_b64url_decode("Zg==", 4, out, sizeof out, &got), DUX_EINVAL);
	assert_int_equal(dux_b64url_decode("Zm8=", 4, out, sizeof out, &got), DUX_EINVAL);
	assert_int_equal(dux_b64url_decode("Z", 1, out, sizeof out, &got), DUX_EINVAL);
	assert_int_equal(dux_b64url_decode("Zm9vY", 5, out, sizeof out, &got), DUX_EINVAL);
	assert_int_equal(got, 999);
}

static void b64url_refuses_non_canonical_trailing_bits(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t got = 999;
	/* "Zg" is 'f'; "Zh".."Zv" carry the same byte with non-zero leftover bits */
	assert_int_equal(dux_b64url_decode("Zg", 2, out, sizeof out, &got), 0);
	assert_int_equal(got, 1);
	got = 999;
	assert_int_equal(dux_b64url_decode("Zh", 2, out, sizeof out, &got), DUX_EINVAL);
	assert_int_equal(dux_b64url_decode("Zv", 2, out, sizeof out, &got), DUX_EINVAL);
	/* "Zm8" is "fo"; "Zm9" leaves two bits set */
	assert_int_equal(dux_b64url_decode("Zm9", 3, out, sizeof out, &got), DUX_EINVAL);
	assert_int_equal(got, 999);
}

/* Well-known Bitcoin addresses (version 0) and their hash160. */
static const struct {
	const char *addr, *h160;
} btc[] = {
	{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "77bff20c60e522dfaa3350c39b030a5d004e839a"},
	{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "7680adec8eabcabac676be9e83854ade0bd22cdb"},
};
static const char btc_addr[] = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";

static void base58check_decodes_known_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof btc / sizeof btc[0]; i++) {
		uint8_t version = 99, payload[32], want[20];
		size_t n = 0;
		assert_int_equal(dux_base58check_decode(btc[i].addr, &version, payload,
							sizeof payload, &n),
				 0);
		assert_int_equal(version, 0);
		assert_int_equal(n, 20);
		assert_int_equal(dux_hex_decode(btc[i].h160, 40, want, 20), 0);
		assert_memory_equal(payload, want, 20);

		char out[64];
		assert_int_equal(dux_base58check_encode(0, want, 20, out, sizeof out), 0);
		assert_string_equal(out, btc[i].addr);
	}
}

static void base58check_leading_zero_bytes_are_ones(void **state)
{
	(void)state;
	uint8_t zero[20] = {0}, payload[32], version = 99;
	char out[64];
	size_t n = 0;
	assert_int_equal(dux_base58check_encode(0, zero, 20, out, sizeof out), 0);
	assert_string_equal(out, "1111111111111111111114oLvT2"); /* the all-zero hash160 */
	assert_int_equal(dux_base58check_decode(out, &version, payload, sizeof payload, &n), 0);
	assert_int_equal(version, 0);
	assert_int_equal(n, 20);
	assert_memory_equal(payload, zero, 20);

	/* zero bytes after a non-zero version are not leading: no extra '1' */
	uint8_t p2[3] = {0, 0, 5};
	assert_int_equal(dux_base58check_encode(0, p2, 3, out, sizeof out), 0);
	assert_int_equal(strspn(out, "1"), 3);
	assert_int_equal(dux_base58check_decode(out, &version, payload, sizeof payload, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(payload, p2, 3);
}

static void base58check_round_trips_lengths(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 70; n++) {
		uint8_t in[70], out[70], version = 0;
		char text[128];
		size_t got = 999;
		fill(in, n, (unsigned)n);
		assert_int_equal(dux_base58check_encode((uint8_t)n, in, n, text, sizeof text), 0);
		assert_int_equal(dux_base58check_decode(text, &version, out, n, &got), 0);
		assert_int_equal(version, n);
		assert_int_equal(got, n);
		assert_memory_equal(in, out, n);
	}
}

static void base58check_changed_char_is_eauth(void **state)
{
	(void)state;
	char s[sizeof btc_addr];
	uint8_t v, p[32];
	size_t n;
	for (size_t i = 1; i < sizeof btc_addr - 1; i++) {
		memcpy(s, btc_addr, sizeof s);
		s[i] = s[i] == 'z' ? 'y' : 'z';
		assert_int_equal(dux_base58check_decode(s, &v, p, sizeof p, &n), DUX_EAUTH);
	}
}

static void base58check_refuses_bad_text(void **state)
{
	(void)state;
	uint8_t v, p[32];
	size_t n;
	static const char *const bad[] = {"", "0BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
					  "OBvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
					  "IBvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
					  "lBvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
					  "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 ", "1111", "z", NULL};
	for (const char *const *s = bad; *s; s++)
		assert_int_equal(dux_base58check_decode(*s, &v, p, sizeof p, &n), DUX_EINVAL);
	/* a payload longer than the room given */
	assert_int_equal(dux_base58check_decode(btc_addr, &v, p, 19, &n), DUX_ERANGE);
	/* the encoder respects its output size */
	char small[10];
	uint8_t h[20] = {1};
	assert_int_equal(dux_base58check_encode(0, h, 20, small, sizeof small), DUX_ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex_round_trip_lengths_0_to_70),
		cmocka_unit_test(hex_decode_accepts_upper_case),
		cmocka_unit_test(hex_decode_refuses_bad_input),
		cmocka_unit_test(b64url_known_vectors),
		cmocka_unit_test(b64url_round_trip_lengths_0_to_70),
		cmocka_unit_test(b64url_refuses_bad_characters),
		cmocka_unit_test(b64url_refuses_padding),
		cmocka_unit_test(b64url_refuses_non_canonical_trailing_bits),
		cmocka_unit_test(base58check_decodes_known_addresses),
		cmocka_unit_test(base58check_leading_zero_bytes_are_ones),
		cmocka_unit_test(base58check_round_trips_lengths),
		cmocka_unit_test(base58check_changed_char_is_eauth),
		cmocka_unit_test(base58check_refuses_bad_text),
	};
	return cmocka_run_group_tests_name("encode", tests, NULL, NULL);
}
