/* audit.c - the airdrop's audit log: every round proposed, approval, execution and failure,
 * hash-chained and signed, in the format of duxos-escrow's log.
 *
 * An entry's hash is SHA-256 of the lines
 *   DUX-AUDIT-1, seq, prev_hash, action, round_id, actor, created_at, data
 * joined by "\n" (round_id "" when none; data the JSON text as stored), prev_hash the hash of
 * the entry before (64 zeros for the first); its signature is Ed25519 over the 64 hex
 * characters of the hash, with the key of airdrop.audit_key_file (public half at
 * GET /v1/airdrop/audit/key). Actions are queued in the transaction that makes them and chained
 * in order by one writer (one copy, advisory lock). */
#include "airdrop.h"
#include <dux/crypto.h>
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_BATCH 500

int audit_queue(dux_db_conn_t *c, const char *action, const char *round_id, const char *actor,
		const cJSON *data)
{
	char *json = cJSON_PrintUnformatted(data);
	if (!json)
		return DUX_ENOMEM;
	const char *p[] = {action, round_id, actor, json};
	int r = dux_db_execp(c, "airdrop_audit_queue",
			     "INSERT INTO audit_queue (action, round_id, actor, data)"
			     " VALUES ($1, $2, $3, $4::jsonb)",
			     4, p, NULL);
	free(json);
	return r;
}

int audit_init(airdrop_t *e, char *err, size_t len)
{
	const char *f = e->cfg.audit_key_file;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	if (!*f) {
		snprintf(err, len, "airdrop.audit_key_file: required (an Ed25519 private key, PEM)");
		return DUX_EINVAL;
	}
	if (dux_key_load_file(f, &e->audit_key) < 0 || !dux_key_is_private(e->audit_key) ||
	    dux_key_public(e->audit_key, pub) < 0) {
		snprintf(err, len, "airdrop.audit_key_file: cannot read an Ed25519 private key from \"%s\"",
			 f);
		return DUX_EINVAL;
	}
	dux_b64url_encode(pub, sizeof pub, e->audit_pub_b64);
	return 0;
}

typedef struct {
	airdrop_t *e;
	int chained;
} chain_ctx_t;

/* Links one queued row (of res) after prev; writes its hash into prev. */
static int link_one(dux_db_conn_t *c, airdrop_t *e, const PGresult *res, int i, int64_t seq,
		    char prev[65])
{
	const char *action = PQgetvalue(res, i, 1), *round_id = PQgetvalue(res, i, 2);
	const char *actor = PQgetvalue(res, i, 3), *data = PQgetvalue(res, i, 4);
	const char *at = PQgetvalue(res, i, 5);
	char seqs[24];
	snprintf(seqs, sizeof seqs, "%lld", (long long)seq);
	size_t n = strlen(data) + strlen(actor) + strlen(action) + strlen(round_id) + 256;
	char *canon = malloc(n);
	if (!canon)
		return DUX_ENOMEM;
	int len = snprintf(canon, n, "DUX-AUDIT-1\n%s\n%s\n%s\n%s\n%s\n%s\n%s", seqs, prev, action,
			   round_id, actor, at, data);
	uint8_t h[DUX_SHA256_LEN], sig[DUX_ED25519_SIG_LEN];
	dux_sha256(canon, (size_t)len, h);
	free(canon);
	char hash[65], sigb[100];
	dux_hex_encode(h, sizeof h, hash);
	if (dux_key_sign(e->audit_key, hash, 64, sig) < 0)
		return DUX_EIO;
	dux_b64url_encode(sig, sizeof sig, sigb);
	const char *p[] = {seqs, action, *round_id ? round_id : NULL, actor, data, at, prev, hash,
			   sigb};
	int r = dux_db_execp(c, "airdrop_audit_link",
			     "INSERT INTO audit_log (seq, action, round_id, actor, data, created_at,"
			     " prev_hash, hash, signature) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7,"
			     " $8, $9)",
			     9, p, NULL);
	if (r == 0)
		memcpy(prev, hash, 65);
	return r;
}

static int chain_tx(dux_db_conn_t *c, void *arg)
{
	chain_ctx_t *x = arg;
	PGresult *head, *q;
	int r = dux_db_exec(c, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", 0, NULL,
			    &head);
	if (r < 0)
		return r;
	int64_t seq = PQntuples(head) ? dux_db_i64(head, 0, 0) : 0;
	char prev[65];
	snprintf(prev, sizeof prev, "%s",
		 PQntuples(head) ? PQgetvalue(head, 0, 1)
				 : "0000000000000000000000000000000000000000000000000000000000000000");
	PQclear(head);
	r = dux_db_exec(c,
			"SELECT id, action, coalesce(round_id, ''), actor, data::text,"
			" utc_text(created_at) FROM audit_queue ORDER BY id LIMIT 500",
			0, NULL, &q);
	if (r < 0)
		return r;
	int n = PQntuples(q);
	/* exactly the rows chained: a row committed meanwhile waits for the next round */
	char *ids = malloc((size_t)n * 21 + 3);
	size_t o = 0;
	if (!ids)
		r = DUX_ENOMEM;
	for (int i = 0; i < n && r == 0; i++) {
		r = link_one(c, x->e, q, i, ++seq, prev);
		o += (size_t)sprintf(ids + o, "%s%s", i ? "," : "{", PQgetvalue(q, i, 0));
	}
	PQclear(q);
	if (ids)
		sprintf(ids + o, "}");
	const char *p[] = {ids};
	if (r == 0 && n)
		r = dux_db_exec(c, "DELETE FROM audit_queue WHERE id = ANY($1::bigint[])", 1, p, NULL);
	free(ids);
	x->chained = n;
	return r;
}

int audit_chain_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	chain_ctx_t x = {.e = ctx};
	int r = dux_db_tx_on(c, NULL, chain_tx, &x);
	if (r < 0)
		return r;
	return x.chained == CHAIN_BATCH;
}
