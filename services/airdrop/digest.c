/* digest.c - what an approver signs: SHA-256 of the round's canonical text, the lines
 *
 *   DUX-AIRDROP-ROUND-1
 *   round <round id>
 *   fund_balance <base units>
 *   recipients <n>
 *   <address> <base units>        one line per recipient, in the round's order
 *   total <base units>
 *
 * each ended by "\n", amounts as decimal integers of base units. The approver's Ed25519
 * signature covers the digest's 64 lowercase hex characters. duxctl airdrop approve rebuilds
 * this text from the recipients it is shown, so an approver signs what it saw. */
#include "airdrop.h"
#include <dux/buf.h>
#include <stdio.h>
#include <string.h>

int digest_round(const char *round_id, int64_t fund_balance, const elig_node_t *v, int n,
		 int64_t total, char ret[65])
{
	uint8_t h[DUX_SHA256_LEN];
	dux_buf_t b;
	dux_buf_init(&b, (size_t)n * 128 + 512);
	int r = dux_buf_printf(&b, "DUX-AIRDROP-ROUND-1\nround %s\nfund_balance %lld\nrecipients %d\n",
			       round_id, (long long)fund_balance, n);
	for (int i = 0; i < n && r == 0; i++)
		r = dux_buf_printf(&b, "%s %lld\n", v[i].address, (long long)v[i].amount);
	if (r == 0)
		r = dux_buf_printf(&b, "total %lld\n", (long long)total);
	if (r == 0) {
		dux_sha256(b.data, b.len, h);
		dux_hex_encode(h, sizeof h, ret);
	}
	dux_buf_free(&b);
	return r;
}
