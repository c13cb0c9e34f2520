/* encode.c - hex, base64url (RFC 4648 section 5, unpadded) and Base58Check. */
#include <dux/crypto.h>
#include <string.h>

static const char hexd[] = "0123456789abcdef";

void dux_hex_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dux_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outlen)
{
	if (slen != 2 * outlen)
		return DUX_EINVAL;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return DUX_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t dux_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void dux_b64url_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
		out[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64u, c) : NULL;
	return p ? (int)(p - b64u) : -1;
}

int dux_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t outmax, size_t *ret_len)
{
	if (slen % 4 == 1)
		return DUX_EINVAL;
	size_t n = slen / 4 * 3 + (slen % 4 ? slen % 4 - 1 : 0);
	if (n > outmax)
		return DUX_ERANGE;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < slen; i++) {
		int v = b64val(s[i]);
		if (v < 0)
			return DUX_EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* non-canonical: leftover bits must be zero */
		return DUX_EINVAL;
	*ret_len = o;
	return 0;
}

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
#define B58_MAX_BYTES 128

int dux_base58check_encode(uint8_t version, const uint8_t *payload, size_t n, char *out,
			   size_t outsize)
{
	uint8_t raw[B58_MAX_BYTES];
	if (n + 5 > sizeof raw)
		return DUX_ERANGE;
	raw[0] = version;
	memcpy(raw + 1, payload, n);
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(raw, n + 1, h);
	dux_sha256(h, sizeof h, h);
	memcpy(raw + n + 1, h, 4);
	size_t len = n + 5;

	/* repeated division of the big-endian number by 58 */
	uint8_t digits[B58_MAX_BYTES * 2];
	size_t nd = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned carry = raw[i];
		for (size_t j = 0; j < nd; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	size_t zeros = 0;
	while (zeros < len && raw[zeros] == 0)
		zeros++;
	if (zeros + nd + 1 > outsize)
		return DUX_ERANGE;
	size_t o = 0;
	for (size_t i = 0; i < zeros; i++)
		out[o++] = '1';
	for (size_t i = 0; i < nd; i++)
		out[o++] = b58[digits[nd - 1 - i]];
	out[o] = '\0';
	return 0;
}

int dux_base58check_decode(const char *s, uint8_t *ret_version, uint8_t *payload,
			   size_t payload_max, size_t *ret_len)
{
	size_t slen = strlen(s);
	if (slen == 0 || slen > B58_MAX_BYTES)
		return DUX_EINVAL;
	uint8_t bytes[B58_MAX_BYTES];
	size_t nb = 0;
	for (size_t i = 0; i < slen; i++) {
		const char *p = strchr(b58, s[i]);
		if (!p || !s[i])
			return DUX_EINVAL;
		unsigned carry = (unsigned)(p - b58);
		for (size_t j = 0; j < nb; j++) {
			carry += (unsigned)bytes[j] * 58;
			bytes[j] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		while (carry) {
			if (nb == sizeof bytes)
				return DUX_EINVAL;
			bytes[nb++] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
	}
	size_t zeros = 0;
	while (zeros < slen && s[zeros] == '1')
		zeros++;
	size_t len = zeros + nb;
	if (len < 5 || len > B58_MAX_BYTES)
		return DUX_EINVAL;
	uint8_t raw[B58_MAX_BYTES];
	memset(raw, 0, zeros);
	for (size_t i = 0; i < nb; i++)
		raw[zeros + i] = bytes[nb - 1 - i];
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(raw, len - 4, h);
	dux_sha256(h, sizeof h, h);
	if (!dux_ct_equal(h, raw + len - 4, 4))
		return DUX_EAUTH;
	if (len - 5 > payload_max)
		return DUX_ERANGE;
	*ret_version = raw[0];
	memcpy(payload, raw + 1, len - 5);
	*ret_len = len - 5;
	return 0;
}
