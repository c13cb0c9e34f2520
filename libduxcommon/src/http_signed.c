/* http_signed.c - admission of requests signed by a node's Ed25519 identity (dux/sign.h):
 * headers present, the node named is the one expected, the counter in canonical form, the
 * signature over method, path, node, counter and body, and the counter within a window of
 * this host's clock. Replay of a counter already accepted is the caller's check (it keeps the
 * last counter per node where it keeps the node). */
#include "http_internal.h"
#include <dux/json.h>
#include <dux/sign.h>
#include <string.h>

static bool counter_parse(const char *s, int64_t *ret)
{
	size_t n = strlen(s);
	if (n == 0 || n > 18 || (s[0] == '0' && n > 1))
		return false; /* only the canonical decimal form: it is what the signature covers */
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

bool dux_req_signed(dux_req_t *r, const dux_key_t *key, const char *node_id, int64_t window_s,
		    int64_t *ret_counter)
{
	const char *hn = dux_req_header(r, DUX_HDR_NODE);
	const char *hc = dux_req_header(r, DUX_HDR_COUNTER);
	const char *hs = dux_req_header(r, DUX_HDR_SIGNATURE);
	int64_t counter;
	if (!hn || !hc || !hs) {
		dux_reply_problem(r, 401, "signature-required",
				  "this request must be signed by the node key: headers %s, %s and %s",
				  DUX_HDR_NODE, DUX_HDR_COUNTER, DUX_HDR_SIGNATURE);
		return false;
	}
	if (strcmp(hn, node_id) != 0) {
		dux_reply_problem(r, 401, "node-mismatch",
				  "%s names another node than the one this request is about",
				  DUX_HDR_NODE);
		return false;
	}
	if (!counter_parse(hc, &counter)) {
		dux_reply_problem(r, 401, "bad-counter", "%s must be a positive decimal integer",
				  DUX_HDR_COUNTER);
		return false;
	}
	size_t len;
	const char *body = dux_req_body(r, &len);
	if (dux_verify_request(key, dux_req_method(r), dux_req_path(r), node_id, counter, body, len,
			       hs) < 0) {
		dux_reply_problem(r, 401, "bad-signature",
				  "the signature does not verify with the node's public key");
		return false;
	}
	int64_t skew = counter - dux_now_us() / 1000;
	if (skew > window_s * 1000 || -skew > window_s * 1000) {
		dux_reply_problem(r, 401, "counter-out-of-window",
				  "%s must be the sender's clock in unix milliseconds, within %lld s "
				  "of ours (it is %lld ms off)",
				  DUX_HDR_COUNTER, (long long)window_s, (long long)skew);
		return false;
	}
	*ret_counter = counter;
	return true;
}
