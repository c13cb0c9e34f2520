/* bundles.c - the signature of a service's code bundle. The provider signs, with an Ed25519
 * key of its own, the lines
 *   DUX-BUNDLE-1, service id, version, runtime, hex SHA-256 of the code
 * joined by '\n'. The scheduler checks it when the bundle is published; every executor checks
 * it again, against the keys its own operator trusts, before it runs anything. */
#include "tasks.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *bundle_message(const char *service_id, const char *version, const char *runtime,
		     const char *code_sha256)
{
	size_t n = strlen(service_id) + strlen(version) + strlen(runtime) + strlen(code_sha256) + 20;
	char *m = malloc(n);
	if (m)
		snprintf(m, n, "DUX-BUNDLE-1\n%s\n%s\n%s\n%s", service_id, version, runtime,
			 code_sha256);
	return m;
}

int bundle_verify(const char *public_key, const char *signature, const char *message)
{
	uint8_t pub[DUX_ED25519_PUB_LEN], sig[DUX_ED25519_SIG_LEN];
	size_t np = 0, ns = 0;
	if (dux_b64url_decode(public_key, strlen(public_key), pub, sizeof pub, &np) < 0 ||
	    np != sizeof pub ||
	    dux_b64url_decode(signature, strlen(signature), sig, sizeof sig, &ns) < 0 ||
	    ns != sizeof sig)
		return DUX_EAUTH;
	dux_key_t *key = NULL;
	int r = dux_key_from_public(pub, &key);
	if (r == 0)
		r = dux_key_verify(key, message, strlen(message), sig);
	dux_key_free(key);
	return r < 0 ? DUX_EAUTH : 0;
}
