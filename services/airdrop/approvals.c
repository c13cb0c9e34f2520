/* approvals.c - the multi-signature rule: a round pays only after airdrop.approvals_required
 * (M) of the airdrop.approvers (N Ed25519 public keys) signed its digest. An approval is
 * verified against the configured key it names, counted once per key (the primary key of
 * approvals), recorded with its signature (so anyone can check it again), and audited. */
#include "airdrop.h"
#include <dux/log.h>
#include <stdio.h>
#include <string.h>

int approvals_find(const airdrop_t *a, const char *b64)
{
	for (size_t i = 0; i < a->cfg.approvers.n && i < a->napprovers; i++)
		if (strcmp(a->cfg.approvers.v[i], b64) == 0)
			return (int)i;
	return -1;
}

int approvals_init(airdrop_t *a, char *err, size_t len)
{
	const dux_strlist_t *l = &a->cfg.approvers;
	if (l->n > APPROVERS_MAX) {
		snprintf(err, len, "airdrop.approvers: at most %d keys", APPROVERS_MAX);
		return DUX_EINVAL;
	}
	for (size_t i = 0; i < l->n; i++) {
		uint8_t pub[DUX_ED25519_PUB_LEN];
		size_t n = 0;
		const char *s = l->v[i];
		if (dux_b64url_decode(s, strlen(s), pub, sizeof pub, &n) < 0 || n != sizeof pub ||
		    dux_key_from_public(pub, &a->approver_keys[i]) < 0) {
			snprintf(err, len,
				 "airdrop.approvers: item %zu is not a base64url Ed25519 public key"
				 " (43 characters)",
				 i + 1);
			return DUX_EINVAL;
		}
		a->napprovers = i + 1;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(l->v[j], s) == 0) {
				snprintf(err, len, "airdrop.approvers: item %zu repeats item %zu", i + 1,
					 j + 1);
				return DUX_EINVAL;
			}
		}
	}
	/* not fatal: a deployment may set its approvers later (the local cluster's come from
	 * the environment); until then rounds are proposed but none can pay */
	if ((int64_t)l->n < a->cfg.approvals_required)
		dux_warn("airdrop.approvers: %zu keys cannot give the %lld approvals of"
			 " airdrop.approvals_required: no round can pay until more are configured",
			 l->n, (long long)a->cfg.approvals_required);
	return 0;
}
