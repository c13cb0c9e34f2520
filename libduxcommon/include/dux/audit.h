/* audit.h - a hash-chained, Ed25519-signed audit log in a daemon's own tables (the escrow's
 * financial actions, the airdrop's rounds).
 *
 * An action is queued with dux_audit_queue in the transaction that makes it, so it is logged
 * exactly when the change commits. One writer (dux_audit_chain_run as a dux_daemon_job holding
 * an advisory lock) then links the queued rows in queue order into the log, so no request waits
 * on the chain's head. Entry seq (1, 2, ...) has
 *   hash      = hex SHA-256 of the lines DUX-AUDIT-1, seq, prev_hash, action, subject id,
 *               actor, created_at, data, joined by "\n" (no final newline)
 *   prev_hash = the hash of entry seq-1; 64 "0" for entry 1
 *   signature = base64url (no padding) Ed25519 signature of the 64 hex characters of hash
 * where the subject id is "" when none (the column is then NULL), created_at is the queue
 * row's time as utc_text (RFC 3339 UTC), and data is the JSON text as stored (jsonb's text
 * form). Anyone holding the public key can check the whole log from its pages
 * (dux_audit_verify here; duxctl audit verify for the escrow's).
 *
 * The tables (in the daemon's schema; the subject column is named by the daemon):
 *   <queue_table> (id bigserial PRIMARY KEY, action text NOT NULL, <subject> text,
 *                  actor text NOT NULL, data jsonb NOT NULL,
 *                  created_at timestamptz NOT NULL DEFAULT clock_timestamp())
 *   <log_table>   (seq bigint PRIMARY KEY, action text NOT NULL, <subject> text,
 *                  actor text NOT NULL, data text NOT NULL, created_at text NOT NULL,
 *                  prev_hash text NOT NULL, hash text NOT NULL, signature text NOT NULL)
 *
 * Layers: everything but the two route helpers is dux_db (libpq and crypto); the route helpers
 * (dux_audit_reply_*) need the HTTP server too and live in dux_bus, the first layer that links
 * both. Nothing here logs: errors are returned, the database's message stays on the
 * connection (dux_db_errmsg). */
#ifndef DUX_AUDIT_H
#define DUX_AUDIT_H

#include <cjson/cJSON.h>
#include <dux/crypto.h>
#include <dux/db.h>
#include <dux/err.h>
#include <stddef.h>
#include <stdint.h>

#define DUX_AUDIT_HASH_HEX 64   /* a hash as lowercase hex */
#define DUX_AUDIT_BATCH 500     /* queued rows linked per transaction of the writer */
#define DUX_AUDIT_PAGE_MAX 1000 /* entries per page of the log */

/* Which log: a daemon's compile-time description of its tables, plus its key. Borrowed by
 * every call, for the call only (a job's ctx: for as long as the job runs).
 *
 * The five names are pasted into SQL text and statement names: they must be string literals
 * of the daemon, never input. Each must be a plain lowercase identifier
 * ([a-z_][a-z0-9_]*, at most 63 bytes); every call refuses others with DUX_EINVAL before
 * touching the database. */
typedef struct {
	const char *queue_table; /* "audit_queue" */
	const char *log_table;   /* "audit_log" */
	const char *subject;     /* the subject id's column in both tables: "escrow_id" */
	/* names of the two prepared statements, unique within the daemon. Static strings: each
	 * connection of the pool keeps the pointer as long as it lives. */
	const char *stmt_queue, *stmt_link;
	/* Signs (dux_audit_chain*) and verifies (dux_audit_verify, the key route): a private key
	 * for the writer, a public one is enough for reading. Borrowed; NULL for dux_audit_queue
	 * and dux_audit_page, which do not need it. */
	const dux_key_t *key;
} dux_audit_t;

/* Loads the log's signing key from path, the value of configuration option `option` (used
 * only in messages: "escrow.audit_key_file"). *ret: an Ed25519 private key, caller frees
 * with dux_key_free. On failure returns DUX_EINVAL, writes "option: what is wrong" into err
 * (a start-up or --check-config message: the path, never key material) and leaves *ret
 * untouched. */
DUX_MUST_USE int dux_audit_key_load(const char *option, const char *path, dux_key_t **ret,
				    char *err, size_t len);

/* Queues one entry in the caller's transaction on c: it is chained if and only if that
 * transaction commits. subject_id may be NULL (none); action and actor may not (the queue's
 * NOT NULL refuses them: DUX_ECONFLICT); data is borrowed (serialised here; NULL:
 * DUX_ENOMEM). a->key is not used. */
DUX_MUST_USE int dux_audit_queue(dux_db_conn_t *c, const dux_audit_t *a, const char *action,
				 const char *subject_id, const char *actor, const cJSON *data);

/* The writer: in one transaction of its own on c, links up to DUX_AUDIT_BATCH queued rows (in
 * queue order) after the log's last entry, signs them with a->key and deletes exactly those
 * rows from the queue. Returns the number linked (>= 0) or an error (nothing changed).
 * Run it from one writer at a time (a job under an advisory lock): a second one would collide
 * on the next seq and roll back. */
DUX_MUST_USE int dux_audit_chain(dux_db_conn_t *c, const dux_audit_t *a);

/* dux_audit_chain as a dux_job_fn: ctx is the const dux_audit_t * (borrowed while the job
 * runs). Returns 1 when a full batch was linked (more may be waiting: run again at once),
 * 0 when the queue is drained, < 0 on error. d is not used. */
struct dux_daemon;
DUX_MUST_USE int dux_audit_chain_run(struct dux_daemon *d, dux_db_conn_t *c, void *ctx);

/* The entry hash of the format above, as 64 lowercase hex characters plus NUL. None of the
 * strings may be NULL (subject_id "" for none). DUX_ENOMEM is its only error. */
DUX_MUST_USE int dux_audit_hash(int64_t seq, const char *prev_hash, const char *action,
				const char *subject_id, const char *actor,
				const char *created_at, const char *data,
				char ret[DUX_AUDIT_HASH_HEX + 1]);

/* A page of the log as JSON text, the body of GET .../audit?after=A&limit=L:
 *   {"entries": [{"seq", "action", "<subject>", "actor", "created_at", "data", "prev_hash",
 *                 "hash", "signature"}, ... in seq order], "last_seq": the log's highest seq}
 * (the subject member named as the column; null when none; data the hashed JSON as a string).
 * after >= 0; limit 1..DUX_AUDIT_PAGE_MAX. *ret_json: caller frees with free().
 * a->key is not used. */
DUX_MUST_USE int dux_audit_page(dux_db_conn_t *c, const dux_audit_t *a, int64_t after,
				int64_t limit, char **ret_json);

/* The public half of a->key, base64url (43 characters plus NUL). */
DUX_MUST_USE int dux_audit_public_b64(const dux_audit_t *a, char ret[64]);

/* What dux_audit_verify found. problem: a static string, NULL when the log verifies:
 * "seq gap", "broken link", "hash mismatch" or "bad signature" (duxctl's words). */
typedef struct {
	int64_t verified; /* entries checked and found good, from seq 1 */
	int64_t bad_seq;  /* the first entry that fails (0 when none) */
	const char *problem;
} dux_audit_verdict_t;

/* Checks the whole log as a reader would: seqs 1, 2, ... without a gap, each prev_hash the
 * hash before, each hash recomputed from the entry's columns, each signature valid for the
 * public half of a->key. Returns 0 with *ret filled whether or not the log verifies (look at
 * ret->problem); < 0 (and *ret untouched) when the log could not be read. Entries the writer
 * appends meanwhile may or may not be included. */
DUX_MUST_USE int dux_audit_verify(dux_db_conn_t *c, const dux_audit_t *a,
				  dux_audit_verdict_t *ret);

/* ---- route helpers (dux_bus layer: they need the HTTP server and the pool) */
struct dux_req;

/* Handler body for GET .../audit?after=A&limit=L (after default 0; limit default 100, at
 * most DUX_AUDIT_PAGE_MAX): 200 with the page of dux_audit_page; 400 invalid-query for bad
 * parameters; the database's errors as dux_reply_err ("the audit log"). db is borrowed. */
void dux_audit_reply_page(struct dux_req *r, dux_db_t *db, const dux_audit_t *a);

/* Handler body for GET .../audit/key:
 * {"algorithm": "Ed25519", "public_key": base64url, "encoding": "base64url"}. */
void dux_audit_reply_key(struct dux_req *r, const dux_audit_t *a);

#endif
