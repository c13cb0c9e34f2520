/* sign.c - node-signed requests (see sign.h for the canonical form). */
#include <dux/buf.h>
#include <dux/sign.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void dux_node_id(const uint8_t pub[DUX_ED25519_PUB_LEN], char ret[DUX_NODE_ID_LEN + 1])
{
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(pub, DUX_ED25519_PUB_LEN, h);
	dux_hex_encode(h, DUX_NODE_ID_LEN / 2, ret);
}

int dux_node_id_valid(const char *s)
{
	if (!s || strlen(s) != DUX_NODE_ID_LEN)
		return DUX_EINVAL;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return DUX_EINVAL;
	return 0;
}

static int canonical(const char *method, const char *path, const char *node_id,
		     int64_t counter, const void *body, size_t len, dux_buf_t *out)
{
	uint8_t h[DUX_SHA256_LEN];
	char hex[2 * DUX_SHA256_LEN + 1];
	dux_sha256(body ? body : "", body ? len : 0, h);
	dux_hex_encode(h, sizeof h, hex);
	return dux_buf_printf(out, "DUX-SIG-1\n%s\n%s\n%s\n%" PRId64 "\n%s", method, path, node_id,
			      counter, hex);
}

int dux_sign_request(const dux_key_t *key, const char *method, const char *path,
		     const char *node_id, int64_t counter, const void *body, size_t len,
		     char ret[DUX_SIG_B64_LEN + 1])
{
	dux_buf_t b;
	dux_buf_init(&b, 16384);
	int r = canonical(method, path, node_id, counter, body, len, &b);
	uint8_t sig[DUX_ED25519_SIG_LEN];
	if (r == 0)
		r = dux_key_sign(key, b.data, b.len, sig);
	if (r == 0)
		dux_b64url_encode(sig, sizeof sig, ret);
	dux_buf_free(&b);
	return r;
}

int dux_verify_request(const dux_key_t *key, const char *method, const char *path,
		       const char *node_id, int64_t counter, const void *body, size_t len,
		       const char *sig_b64)
{
	uint8_t sig[DUX_ED25519_SIG_LEN];
	size_t n;
	if (!sig_b64 || dux_b64url_decode(sig_b64, strlen(sig_b64), sig, sizeof sig, &n) < 0 ||
	    n != sizeof sig)
		return DUX_EAUTH;
	dux_buf_t b;
	dux_buf_init(&b, 16384);
	int r = canonical(method, path, node_id, counter, body, len, &b);
	if (r == 0)
		r = dux_key_verify(key, b.data, b.len, sig) < 0 ? DUX_EAUTH : 0;
	dux_buf_free(&b);
	return r;
}
