/* audit.c - the hash-chained, signed audit log (dux/audit.h): queueing, the writer, reading
 * and verification. The route helpers are in audit_http.c (they need the HTTP server). */
#include <dux/audit.h>
#include <dux/buf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "DUX-AUDIT-1"
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define IDENT_MAX 63 /* PostgreSQL's NAMEDATALEN - 1 */
#define SQL_MAX 1024 /* room for the longest statement with five names of IDENT_MAX bytes */
#define VERIFY_PAGE 1000

/* The names of dux_audit_t go into SQL text unquoted: only plain lowercase identifiers, so a
 * mistake in a daemon cannot turn into SQL. */
static bool ident_ok(const char *s)
{
	if (!s || !*s || strlen(s) > IDENT_MAX || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static bool spec_ok(const dux_audit_t *a)
{
	return a && ident_ok(a->queue_table) && ident_ok(a->log_table) && ident_ok(a->subject) &&
	       ident_ok(a->stmt_queue) && ident_ok(a->stmt_link);
}

int dux_audit_key_load(const char *option, const char *path, dux_key_t **ret, char *err,
		       size_t len)
{
	dux_key_t *key = NULL;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	int r = DUX_EINVAL;
	if (!path || !*path) {
		snprintf(err, len, "%s: required (an Ed25519 private key, PEM)", option);
		goto out;
	}
	/* a public key loads too, but cannot sign: refused here rather than at the first entry */
	if (dux_key_load_file(path, &key) < 0 || !dux_key_is_private(key) ||
	    dux_key_public(key, pub) < 0) {
		snprintf(err, len, "%s: cannot read an Ed25519 private key from \"%s\"", option,
			 path);
		goto out;
	}
	*ret = key;
	key = NULL;
	r = 0;
out:
	dux_key_free(key);
	return r;
}

int dux_audit_queue(dux_db_conn_t *c, const dux_audit_t *a, const char *action,
		    const char *subject_id, const char *actor, const cJSON *data)
{
	if (!spec_ok(a))
		return DUX_EINVAL;
	char sql[SQL_MAX];
	snprintf(sql, sizeof sql,
		 "INSERT INTO %s (action, %s, actor, data) VALUES ($1, $2, $3, $4::jsonb)",
		 a->queue_table, a->subject);
	char *json = cJSON_PrintUnformatted(data);
	if (!json)
		return DUX_ENOMEM;
	const char *p[] = {action, subject_id, actor, json};
	int r = dux_db_execp(c, a->stmt_queue, sql, 4, p, NULL);
	free(json);
	return r;
}

int dux_audit_hash(int64_t seq, const char *prev_hash, const char *action, const char *subject_id,
		   const char *actor, const char *created_at, const char *data,
		   char ret[DUX_AUDIT_HASH_HEX + 1])
{
	/* the format's name, a 64-bit seq, seven newlines and the NUL fit in the 32 */
	size_t n = 32 + strlen(prev_hash) + strlen(action) + strlen(subject_id) + strlen(actor) +
		   strlen(created_at) + strlen(data);
	char *canon = malloc(n);
	if (!canon)
		return DUX_ENOMEM;
	int len = snprintf(canon, n, FORMAT "\n%lld\n%s\n%s\n%s\n%s\n%s\n%s", (long long)seq,
			   prev_hash, action, subject_id, actor, created_at, data);
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(canon, (size_t)len, h);
	free(canon);
	dux_hex_encode(h, sizeof h, ret);
	return 0;
}

/* Links queued row i of res (id, action, subject or "", actor, data, created_at) as entry seq
 * after prev; on success prev becomes its hash. */
static int link_one(dux_db_conn_t *c, const dux_audit_t *a, const PGresult *res, int i,
		    int64_t seq, char prev[DUX_AUDIT_HASH_HEX + 1])
{
	const char *action = PQgetvalue(res, i, 1), *subject_id = PQgetvalue(res, i, 2);
	const char *actor = PQgetvalue(res, i, 3), *data = PQgetvalue(res, i, 4);
	const char *at = PQgetvalue(res, i, 5);
	char seqs[24], hash[DUX_AUDIT_HASH_HEX + 1], sigb[100], sql[SQL_MAX];
	uint8_t sig[DUX_ED25519_SIG_LEN];
	snprintf(seqs, sizeof seqs, "%lld", (long long)seq);
	int r = dux_audit_hash(seq, prev, action, subject_id, actor, at, data, hash);
	if (r < 0)
		return r;
	/* the signature covers the hex text of the hash, which is what readers compare */
	if (dux_key_sign(a->key, hash, DUX_AUDIT_HASH_HEX, sig) < 0)
		return DUX_EIO;
	dux_b64url_encode(sig, sizeof sig, sigb);
	snprintf(sql, sizeof sql,
		 "INSERT INTO %s (seq, action, %s, actor, data, created_at, prev_hash, hash,"
		 " signature) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9)",
		 a->log_table, a->subject);
	const char *p[] = {seqs, action, *subject_id ? subject_id : NULL, actor, data, at, prev,
			   hash, sigb};
	r = dux_db_execp(c, a->stmt_link, sql, 9, p, NULL);
	if (r == 0)
		memcpy(prev, hash, sizeof hash);
	return r;
}

typedef struct {
	const dux_audit_t *a;
	int linked;
} chain_t;

static int chain_tx(dux_db_conn_t *c, void *arg)
{
	chain_t *x = arg;
	const dux_audit_t *a = x->a;
	PGresult *head = NULL, *q = NULL;
	dux_buf_t ids;
	char sql[SQL_MAX], prev[DUX_AUDIT_HASH_HEX + 1];
	int64_t seq;
	int n = 0;
	/* "{id,...}": at most a batch of bigints of 19 digits and a sign, with their commas */
	dux_buf_init(&ids, (size_t)DUX_AUDIT_BATCH * 21 + 2);
	snprintf(sql, sizeof sql, "SELECT seq, hash FROM %s ORDER BY seq DESC LIMIT 1",
		 a->log_table);
	int r = dux_db_exec(c, sql, 0, NULL, &head);
	if (r < 0)
		goto out;
	seq = PQntuples(head) ? dux_db_i64(head, 0, 0) : 0;
	snprintf(prev, sizeof prev, "%s", PQntuples(head) ? PQgetvalue(head, 0, 1) : ZERO_HASH);
	snprintf(sql, sizeof sql,
		 "SELECT id, action, coalesce(%s, ''), actor, data::text, utc_text(created_at)"
		 " FROM %s ORDER BY id LIMIT %d",
		 a->subject, a->queue_table, DUX_AUDIT_BATCH);
	r = dux_db_exec(c, sql, 0, NULL, &q);
	if (r < 0)
		goto out;
	n = PQntuples(q);
	/* exactly the rows linked leave the queue: a row committed meanwhile waits for the next
	 * round */
	for (int i = 0; i < n && r == 0; i++) {
		r = link_one(c, a, q, i, ++seq, prev);
		if (r == 0)
			r = dux_buf_printf(&ids, "%s%s", i ? "," : "{", PQgetvalue(q, i, 0));
	}
	if (r == 0 && n > 0)
		r = dux_buf_append(&ids, "}", 1);
	if (r == 0 && n > 0) {
		const char *p[] = {ids.data};
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ANY($1::bigint[])",
			 a->queue_table);
		r = dux_db_exec(c, sql, 1, p, NULL);
	}
	if (r == 0)
		x->linked = n;
out:
	PQclear(head);
	PQclear(q);
	dux_buf_free(&ids);
	return r;
}

int dux_audit_chain(dux_db_conn_t *c, const dux_audit_t *a)
{
	if (!spec_ok(a) || !a->key || !dux_key_is_private(a->key))
		return DUX_EINVAL;
	chain_t x = {.a = a};
	int r = dux_db_tx_on(c, NULL, chain_tx, &x);
	return r < 0 ? r : x.linked;
}

int dux_audit_chain_run(struct dux_daemon *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	int r = dux_audit_chain(c, ctx);
	if (r < 0)
		return r;
	return r == DUX_AUDIT_BATCH;
}

int dux_audit_page(dux_db_conn_t *c, const dux_audit_t *a, int64_t after, int64_t limit,
		   char **ret_json)
{
	if (!spec_ok(a) || after < 0 || limit < 1 || limit > DUX_AUDIT_PAGE_MAX)
		return DUX_EINVAL;
	char sql[SQL_MAX], af[24], l[24];
	snprintf(af, sizeof af, "%lld", (long long)after);
	snprintf(l, sizeof l, "%lld", (long long)limit);
	/* the subject's member is named as its column ("escrow_id"): what readers know */
	snprintf(sql, sizeof sql,
		 "SELECT json_build_object('entries', coalesce(json_agg(json_build_object("
		 "'seq', seq, 'action', action, '%s', %s, 'actor', actor,"
		 " 'created_at', created_at, 'data', data, 'prev_hash', prev_hash,"
		 " 'hash', hash, 'signature', signature) ORDER BY seq), '[]'::json),"
		 " 'last_seq', (SELECT coalesce(max(seq), 0) FROM %s))::text"
		 " FROM (SELECT * FROM %s WHERE seq > $1::bigint ORDER BY seq"
		 " LIMIT $2::int) a",
		 a->subject, a->subject, a->log_table, a->log_table);
	const char *p[] = {af, l};
	PGresult *res = NULL;
	int r = dux_db_exec(c, sql, 2, p, &res);
	if (r < 0)
		return r;
	char *json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!json)
		return DUX_ENOMEM;
	*ret_json = json;
	return 0;
}

int dux_audit_public_b64(const dux_audit_t *a, char ret[64])
{
	uint8_t pub[DUX_ED25519_PUB_LEN];
	if (!a || !a->key)
		return DUX_EINVAL;
	int r = dux_key_public(a->key, pub);
	if (r < 0)
		return r;
	dux_b64url_encode(pub, sizeof pub, ret);
	return 0;
}

/* Checks row i of res (seq, action, subject or "", actor, data, created_at, prev_hash, hash,
 * signature) as entry v->verified + 1 after prev. false with v's bad_seq and problem set when
 * it fails; DUX_ENOMEM in *r when it could not be checked. */
static bool entry_ok(const dux_audit_t *a, const PGresult *res, int i, char prev[65],
		     dux_audit_verdict_t *v, int *r)
{
	int64_t seq = dux_db_i64(res, i, 0), next = v->verified + 1;
	const char *f[9];
	for (int k = 0; k < 9; k++)
		f[k] = PQgetvalue(res, i, k);
	const char *prev_hash = f[6], *hash = f[7], *sigb = f[8];
	char computed[DUX_AUDIT_HASH_HEX + 1];
	uint8_t sig[DUX_ED25519_SIG_LEN + 1];
	size_t siglen = 0;
	if (seq != next) {
		v->bad_seq = next;
		v->problem = "seq gap";
		return false;
	}
	v->bad_seq = seq;
	if (strcmp(prev_hash, prev) != 0) {
		v->problem = "broken link";
		return false;
	}
	*r = dux_audit_hash(seq, prev_hash, f[1], f[2], f[3], f[5], f[4], computed);
	if (*r < 0)
		return false;
	if (strcmp(computed, hash) != 0) {
		v->problem = "hash mismatch";
		return false;
	}
	if (dux_b64url_decode(sigb, strlen(sigb), sig, sizeof sig, &siglen) < 0 ||
	    siglen != DUX_ED25519_SIG_LEN ||
	    dux_key_verify(a->key, hash, DUX_AUDIT_HASH_HEX, sig) < 0) {
		v->problem = "bad signature";
		return false;
	}
	memcpy(prev, hash, DUX_AUDIT_HASH_HEX + 1);
	v->bad_seq = 0;
	v->verified++;
	return true;
}

int dux_audit_verify(dux_db_conn_t *c, const dux_audit_t *a, dux_audit_verdict_t *ret)
{
	if (!spec_ok(a) || !a->key)
		return DUX_EINVAL;
	dux_audit_verdict_t v = {0};
	char sql[SQL_MAX], prev[DUX_AUDIT_HASH_HEX + 1] = ZERO_HASH, from[24];
	snprintf(sql, sizeof sql,
		 "SELECT seq, action, coalesce(%s, ''), actor, data, created_at, prev_hash, hash,"
		 " signature FROM %s WHERE seq >= $1::bigint ORDER BY seq LIMIT %d",
		 a->subject, a->log_table, VERIFY_PAGE);
	int r = 0, n = VERIFY_PAGE;
	bool good = true;
	while (r == 0 && good && n == VERIFY_PAGE) {
		PGresult *res = NULL;
		snprintf(from, sizeof from, "%lld", (long long)v.verified + 1);
		r = dux_db_exec(c, sql, 1, (const char *const[]){from}, &res);
		n = r == 0 ? PQntuples(res) : 0;
		for (int i = 0; i < n && good; i++)
			good = entry_ok(a, res, i, prev, &v, &r);
		PQclear(res);
	}
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}
