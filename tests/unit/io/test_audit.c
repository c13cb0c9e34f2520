/* test_audit.c - the audit log (dux/audit.h): the hash lines as documented (recomputed here, and
 * pinned by vectors computed outside C: Python's hashlib and OpenSSL's Ed25519 with the key of
 * RFC 8032 test 1), queued entries linked in order with consecutive seqs and a valid chain,
 * rolled-back entries never linked, batches, verification catching every kind of tampering,
 * the key file's errors, refused SQL names, and the two routes' exact answers.
 * Each test has a schema of its own in the test database (ctest fixture `pg`) with two logs:
 * the escrow's shape (audit_queue / audit_log about escrow_id) and another one (rq / rl about
 * round_id), so that every name of dux_audit_t is seen to be used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "harness.h"
#include "io_util.h"
#include <dux/audit.h>
#include <dux/http.h>
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOB(name, sql) {name, sql, sizeof sql - 1}
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

/* The tables exactly as services/escrow/sql/001_escrows.sql and
 * services/airdrop/sql/001_airdrop.sql make them (the second under other names). */
static const dux_blob_t migrations[] = {
	BLOB("001_audit.sql",
	     "CREATE TABLE audit_queue (id bigserial PRIMARY KEY, action text NOT NULL,"
	     " escrow_id text, actor text NOT NULL, data jsonb NOT NULL,"
	     " created_at timestamptz NOT NULL DEFAULT clock_timestamp());"
	     "CREATE TABLE audit_log (seq bigint PRIMARY KEY CHECK (seq >= 1),"
	     " action text NOT NULL, escrow_id text, actor text NOT NULL, data text NOT NULL,"
	     " created_at text NOT NULL,"
	     " prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),"
	     " hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'), signature text NOT NULL);"
	     "CREATE TABLE rq (id bigserial PRIMARY KEY, action text NOT NULL, round_id text,"
	     " actor text NOT NULL, data jsonb NOT NULL,"
	     " created_at timestamptz NOT NULL DEFAULT clock_timestamp());"
	     "CREATE TABLE rl (seq bigint PRIMARY KEY CHECK (seq >= 1), action text NOT NULL,"
	     " round_id text, actor text NOT NULL, data text NOT NULL, created_at text NOT NULL,"
	     " prev_hash text NOT NULL, hash text NOT NULL, signature text NOT NULL);"),
	{NULL, NULL, 0},
};

/* RFC 8032 section 7.1, test 1: secret 9d61b1...7f60, public d75a98...511a. */
static const char rfc8032_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				  "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
				  "-----END PRIVATE KEY-----\n";
#define RFC8032_PUB "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

/* Two entries computed outside C (hashlib.sha256 of the lines; openssl pkeyutl -sign -rawin
 * over the 64 hex characters). */
#define G1_SUBJECT "esc_0123456789abcdef0123456789abcdef"
#define G1_AT "2024-05-01T12:00:00.000Z"
#define G1_DATA "{\"owner\": \"usr_1\", \"amount\": \"1.5\"}" /* jsonb's text form */
#define G1_HASH "47ee28e04e2f3512a7ed59e976fcf1adbe17cbc1d56b78dfd5d3c5bbc7217b06"
#define G1_SIG                                                                                     \
	"lr3U5gId7ztQ2mXgb8uVq0Q3A6PGbDX1oFpvnmnVNG_h2_C9CJmvipMa72W2akgVlabIKpG3M171mI1K9xxuAQ"
#define G2_AT "2024-05-01T12:00:01.250Z"
#define G2_DATA "{\"round_id\": \"adr_1\"}"
#define G2_HASH "7b64543b95e60684d9d91b4c94bd2cbb9ffd0b7b7ee00fba8989f4ca347bbf70"
#define G2_SIG                                                                                     \
	"IaenhSSeGdSwtlePrW3QddKUAO0JG0DufFdbQ2ReBKfCKffR91cvri9mNFc-_Tq1OweW9kj6LvzIYac0Q1NwCA"

static th_pg_t pg;
static char password[256];
static int schemas;

typedef struct {
	dux_db_t *db;
	dux_db_conn_t *c; /* the writer's own connection, as a job has */
	dux_key_t *key;   /* private: signs */
	dux_key_t *pub;   /* its public half only: what a reader holds */
	dux_audit_t esc, rnd;
	dux_http_t *http;
	int port;
} fx_t;

static fx_t *F;

static void h_page(dux_req_t *r, void *app)
{
	fx_t *f = app;
	dux_audit_reply_page(r, f->db, &f->esc);
}

static void h_key(dux_req_t *r, void *app)
{
	fx_t *f = app;
	dux_audit_reply_key(r, &f->esc);
}

static void h_bad(dux_req_t *r, void *app)
{
	fx_t *f = app;
	dux_audit_t bad = f->esc;
	bad.log_table = "audit_log; DELETE FROM audit_log";
	dux_audit_reply_page(r, f->db, &bad);
}

static const dux_route_t routes[] = {
	{"GET", "/audit", h_page, DUX_ROUTE_DB, 0},
	{"GET", "/audit/key", h_key, 0, 0},
	{"GET", "/bad/audit", h_bad, DUX_ROUTE_DB, 0},
};

static dux_key_t *load_pem(const char *pem)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/duxos-unit-audit-%d.pem", (int)getpid());
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(pem, fp);
	fclose(fp);
	dux_key_t *k = NULL;
	char err[256];
	int r = dux_audit_key_load("test.audit_key_file", path, &k, err, sizeof err);
	unlink(path);
	if (r != 0)
		fail_msg("%s", err);
	return k;
}

static int fx_setup(void **state)
{
	fx_t *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	char schema[32];
	snprintf(schema, sizeof schema, "audit_%d", ++schemas);
	dux_db_opts_t o = {.conninfo = pg.conninfo,
			   .password = password,
			   .schema = schema,
			   .size = 4,
			   .acquire_timeout_ms = 5000,
			   .migrations = migrations};
	uint8_t raw[DUX_ED25519_PUB_LEN];
	if (dux_db_open(&o, &f->db) < 0 || dux_db_migrate(f->db) < 0 ||
	    dux_db_connect(f->db, &f->c) < 0) {
		fprintf(stderr, "%s: %s\n", schema, dux_db_migrate_error(f->db));
		return -1;
	}
	f->key = load_pem(rfc8032_pem);
	if (dux_key_public(f->key, raw) < 0 || dux_key_from_public(raw, &f->pub) < 0)
		return -1;
	f->esc = (dux_audit_t){.queue_table = "audit_queue", .log_table = "audit_log",
			       .subject = "escrow_id", .stmt_queue = "audit_queue",
			       .stmt_link = "audit_link", .key = f->key};
	f->rnd = (dux_audit_t){.queue_table = "rq", .log_table = "rl", .subject = "round_id",
			       .stmt_queue = "rq_insert", .stmt_link = "rl_insert", .key = f->key};
	dux_http_opts_t h = {.service = "audit",
			     .bind = "127.0.0.1",
			     .max_body = 4096,
			     .routes = routes,
			     .nroutes = sizeof routes / sizeof routes[0],
			     .app = f};
	if (dux_http_start(&h, &f->http) < 0)
		return -1;
	f->port = dux_http_port(f->http);
	*state = F = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *f = *state;
	f->http = dux_http_stop(f->http);
	f->c = dux_db_conn_free(f->c);
	f->db = dux_db_close(f->db);
	dux_key_free(f->key);
	dux_key_free(f->pub);
	free(f);
	F = NULL;
	return 0;
}

static void exec_ok(dux_db_conn_t *c, const char *sql, int n, const char *const *p)
{
	int r = dux_db_exec(c, sql, n, p, NULL);
	if (r != 0)
		fail_msg("%s: %s (%s)", sql, dux_strerror(r), dux_db_errmsg(c));
}

static PGresult *query(dux_db_conn_t *c, const char *sql)
{
	PGresult *res = NULL;
	int r = dux_db_exec(c, sql, 0, NULL, &res);
	if (r != 0)
		fail_msg("%s: %s", sql, dux_db_errmsg(c));
	return res;
}

static long long query_i64(dux_db_conn_t *c, const char *sql)
{
	PGresult *res = query(c, sql);
	long long v = dux_db_i64(res, 0, 0);
	PQclear(res);
	return v;
}

/* The documented hash, written out here independently of the library. */
static void lines_hash(long long seq, const char *prev, const char *action, const char *subject,
		       const char *actor, const char *at, const char *data, char ret[65])
{
	char canon[4096];
	int n = snprintf(canon, sizeof canon, "DUX-AUDIT-1\n%lld\n%s\n%s\n%s\n%s\n%s\n%s", seq,
			 prev, action, subject, actor, at, data);
	assert_true(n > 0 && (size_t)n < sizeof canon);
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(canon, (size_t)n, h);
	dux_hex_encode(h, sizeof h, ret);
}

/* Checks the whole log as a reader with only the public key would, against the documented
 * format; returns the number of entries. */
static int check_log(dux_db_conn_t *c, const char *log, const char *subject)
{
	char sql[256], prev[65] = ZEROS, h[65];
	snprintf(sql, sizeof sql,
		 "SELECT seq, action, coalesce(%s, ''), actor, data, created_at, prev_hash, hash,"
		 " signature FROM %s ORDER BY seq",
		 subject, log);
	PGresult *res = query(c, sql);
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *v[9];
		for (int k = 0; k < 9; k++)
			v[k] = PQgetvalue(res, i, k);
		assert_int_equal(dux_db_i64(res, i, 0), i + 1);
		assert_string_equal(v[6], prev);
		lines_hash(i + 1, prev, v[1], v[2], v[3], v[5], v[4], h);
		assert_string_equal(v[7], h);
		uint8_t sig[DUX_ED25519_SIG_LEN];
		size_t len = 0;
		assert_int_equal(dux_b64url_decode(v[8], strlen(v[8]), sig, sizeof sig, &len), 0);
		assert_int_equal(len, DUX_ED25519_SIG_LEN);
		assert_int_equal(dux_key_verify(F->pub, v[7], 64, sig), 0);
		memcpy(prev, h, sizeof prev);
	}
	PQclear(res);
	return n;
}

typedef struct {
	const dux_audit_t *a;
	int from, n;
	bool fail; /* queue, then roll back */
} queue_tx_t;

static int queue_fn(dux_db_conn_t *c, void *arg)
{
	queue_tx_t *x = arg;
	for (int i = x->from; i < x->from + x->n; i++) {
		char subject[40], actor[40];
		snprintf(subject, sizeof subject, "id_%d", i);
		snprintf(actor, sizeof actor, "actor \"%d\"\nwith a newline", i);
		cJSON *data = cJSON_CreateObject();
		cJSON_AddNumberToObject(data, "i", i);
		cJSON_AddStringToObject(data, "text", "é \\ \" ünïcode");
		/* every third entry is about nothing */
		int r = dux_audit_queue(c, x->a, "act", i % 3 ? subject : NULL, actor, data);
		cJSON_Delete(data);
		if (r < 0)
			return r;
	}
	return x->fail ? DUX_ECONFLICT : 0;
}

static void queue(const dux_audit_t *a, int from, int n, bool fail)
{
	queue_tx_t x = {.a = a, .from = from, .n = n, .fail = fail};
	assert_int_equal(dux_db_tx(F->db, NULL, queue_fn, &x), fail ? DUX_ECONFLICT : 0);
}

/* Queues the two vectors' rows, with their times, and links them. */
static void chain_vectors(fx_t *f)
{
	exec_ok(f->c,
		"INSERT INTO audit_queue (action, escrow_id, actor, data, created_at) VALUES"
		" ('held', '" G1_SUBJECT "', 'usr_1', '{\"amount\":\"1.5\",\"owner\":\"usr_1\"}',"
		"  '2024-05-01 12:00:00Z'),"
		" ('fund_payout', NULL, 'duxos-airdrop', '{\"round_id\":\"adr_1\"}',"
		"  '2024-05-01 12:00:01.25Z')",
		0, NULL);
	assert_int_equal(dux_audit_chain(f->c, &f->esc), 2);
}

/* ---- the lines ---- */

static void test_hash_lines(void **state)
{
	(void)state;
	char h[65], mine[65];
	assert_int_equal(
		dux_audit_hash(1, ZEROS, "held", G1_SUBJECT, "usr_1", G1_AT, G1_DATA, h), 0);
	assert_string_equal(h, G1_HASH);
	assert_int_equal(
		dux_audit_hash(2, G1_HASH, "fund_payout", "", "duxos-airdrop", G2_AT, G2_DATA, h), 0);
	assert_string_equal(h, G2_HASH);
	/* any field changes it; the seq too */
	assert_int_equal(
		dux_audit_hash(3, G1_HASH, "fund_payout", "", "duxos-airdrop", G2_AT, G2_DATA, h), 0);
	lines_hash(3, G1_HASH, "fund_payout", "", "duxos-airdrop", G2_AT, G2_DATA, mine);
	assert_string_equal(h, mine);
	assert_string_not_equal(h, G2_HASH);
	/* Ed25519 is deterministic: the signature of the vector is the one OpenSSL made */
	uint8_t sig[DUX_ED25519_SIG_LEN];
	char b64[100];
	assert_int_equal(dux_key_sign(F->key, G1_HASH, 64, sig), 0);
	dux_b64url_encode(sig, sizeof sig, b64);
	assert_string_equal(b64, G1_SIG);
}

/* ---- the writer ---- */

/* Rows queued with fixed times give exactly the vectors' table contents. */
static void test_chain_vectors(void **state)
{
	fx_t *f = *state;
	chain_vectors(f);
	PGresult *res = query(f->c, "SELECT seq, action, escrow_id IS NULL, coalesce(escrow_id, ''),"
				    " actor, data, created_at, prev_hash, hash, signature"
				    " FROM audit_log ORDER BY seq");
	assert_int_equal(PQntuples(res), 2);
	const char *want[2][10] = {
		{"1", "held", "f", G1_SUBJECT, "usr_1", G1_DATA, G1_AT, ZEROS, G1_HASH, G1_SIG},
		{"2", "fund_payout", "t", "", "duxos-airdrop", G2_DATA, G2_AT, G1_HASH, G2_HASH, G2_SIG},
	};
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 10; k++)
			assert_string_equal(PQgetvalue(res, i, k), want[i][k]);
	PQclear(res);
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM audit_queue"), 0);
	assert_int_equal(check_log(f->c, "audit_log", "escrow_id"), 2);
}

static void test_queued_in_order_get_consecutive_seqs(void **state)
{
	fx_t *f = *state;
	queue(&f->esc, 1, 4, false);
	queue(&f->esc, 100, 3, true); /* rolled back: never linked */
	queue(&f->esc, 5, 3, false);
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM audit_queue"), 7);
	assert_int_equal(dux_audit_chain(f->c, &f->esc), 7);
	assert_int_equal(dux_audit_chain(f->c, &f->esc), 0);
	assert_int_equal(check_log(f->c, "audit_log", "escrow_id"), 7);
	/* in queue order, entry i about id_i (NULL every third) */
	PGresult *res = query(f->c, "SELECT seq, escrow_id, data::jsonb->>'i' FROM audit_log"
				    " ORDER BY seq");
	for (int i = 0; i < 7; i++) {
		char id[16];
		snprintf(id, sizeof id, "%d", i + 1);
		assert_string_equal(PQgetvalue(res, i, 2), id);
		assert_int_equal(PQgetisnull(res, i, 1), (i + 1) % 3 == 0);
	}
	PQclear(res);
	/* the next round links after the last entry */
	queue(&f->esc, 8, 3, false);
	assert_int_equal(dux_audit_chain_run(NULL, f->c, &f->esc), 0);
	assert_int_equal(check_log(f->c, "audit_log", "escrow_id"), 10);
	dux_audit_verdict_t v = {.problem = "unset"};
	assert_int_equal(dux_audit_verify(f->c, &f->esc, &v), 0);
	assert_null(v.problem);
	assert_int_equal(v.verified, 10);
	assert_int_equal(v.bad_seq, 0);
	/* a reader needs only the public key */
	dux_audit_t reader = f->esc;
	reader.key = f->pub;
	assert_int_equal(dux_audit_verify(f->c, &reader, &v), 0);
	assert_null(v.problem);
	/* ... which cannot sign */
	assert_int_equal(dux_audit_chain(f->c, &reader), DUX_EINVAL);
}

/* The other log's names are the ones used: its tables, its subject column. */
static void test_names_are_used(void **state)
{
	fx_t *f = *state;
	queue(&f->rnd, 1, 5, false);
	assert_int_equal(dux_audit_chain(f->c, &f->esc), 0);
	assert_int_equal(dux_audit_chain(f->c, &f->rnd), 5);
	assert_int_equal(check_log(f->c, "rl", "round_id"), 5);
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM audit_log"), 0);
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM rq"), 0);
	char *json = NULL;
	assert_int_equal(dux_audit_page(f->c, &f->rnd, 3, 1, &json), 0);
	cJSON *o = cJSON_Parse(json);
	free(json);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "entries"), 0);
	assert_int_equal(cJSON_GetObjectItem(e, "seq")->valueint, 4);
	assert_string_equal(cJSON_GetObjectItem(e, "round_id")->valuestring, "id_4");
	assert_null(cJSON_GetObjectItem(e, "escrow_id"));
	assert_int_equal(cJSON_GetObjectItem(o, "last_seq")->valueint, 5);
	cJSON_Delete(o);
}

static void test_batches(void **state)
{
	fx_t *f = *state;
	queue(&f->esc, 1, DUX_AUDIT_BATCH + 3, false);
	/* a full batch: the job asks to run again at once */
	assert_int_equal(dux_audit_chain_run(NULL, f->c, &f->esc), 1);
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM audit_queue"), 3);
	assert_int_equal(dux_audit_chain_run(NULL, f->c, &f->esc), 0);
	assert_int_equal(check_log(f->c, "audit_log", "escrow_id"), DUX_AUDIT_BATCH + 3);
	dux_audit_verdict_t v;
	assert_int_equal(dux_audit_verify(f->c, &f->esc, &v), 0);
	assert_null(v.problem);
	assert_int_equal(v.verified, DUX_AUDIT_BATCH + 3);
}

/* ---- verification ---- */

/* Runs change in a transaction on the writer's connection, verifies there, rolls back. */
static void tampered(const char *change, const dux_key_t *key, int64_t bad_seq,
		     const char *problem)
{
	dux_audit_t a = F->esc;
	a.key = key;
	dux_audit_verdict_t v;
	exec_ok(F->c, "BEGIN", 0, NULL);
	if (change)
		exec_ok(F->c, change, 0, NULL);
	assert_int_equal(dux_audit_verify(F->c, &a, &v), 0);
	exec_ok(F->c, "ROLLBACK", 0, NULL);
	if (!v.problem || strcmp(v.problem, problem) != 0 || v.bad_seq != bad_seq)
		fail_msg("%s: %s at %lld, %s at %lld was due", change ? change : "other key",
			 v.problem ? v.problem : "(verifies)", (long long)v.bad_seq, problem,
			 (long long)bad_seq);
	assert_int_equal(v.verified, bad_seq - 1);
}

static void test_tampering_is_detected(void **state)
{
	fx_t *f = *state;
	queue(&f->esc, 1, 6, false);
	assert_int_equal(dux_audit_chain(f->c, &f->esc), 6);
	tampered("UPDATE audit_log SET data = '{\"i\": 33}' WHERE seq = 3", f->pub, 3,
		 "hash mismatch");
	tampered("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1", f->pub, 1,
		 "hash mismatch");
	tampered("UPDATE audit_log SET escrow_id = NULL WHERE seq = 2", f->pub, 2,
		 "hash mismatch");
	tampered("UPDATE audit_log SET created_at = '2020-01-01T00:00:00.000Z' WHERE seq = 6",
		 f->pub, 6, "hash mismatch");
	tampered("UPDATE audit_log SET signature = (SELECT signature FROM audit_log WHERE seq = 5)"
		 " WHERE seq = 4",
		 f->pub, 4, "bad signature");
	tampered("UPDATE audit_log SET signature = 'not base64!' WHERE seq = 2", f->pub, 2,
		 "bad signature");
	tampered("UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE seq = 2)"
		 " WHERE seq = 2",
		 f->pub, 2, "broken link");
	tampered("DELETE FROM audit_log WHERE seq = 3", f->pub, 3, "seq gap");
	tampered("UPDATE audit_log SET seq = seq + 1 WHERE seq = 6", f->pub, 6, "seq gap");
	/* a rewritten entry with its hash recomputed still lacks the key's signature */
	char h[65], sql[512];
	PGresult *res = query(f->c, "SELECT prev_hash, coalesce(escrow_id, ''), actor, created_at"
				    " FROM audit_log WHERE seq = 5");
	assert_int_equal(dux_audit_hash(5, PQgetvalue(res, 0, 0), "act", PQgetvalue(res, 0, 1),
					PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), "{}", h),
			 0);
	PQclear(res);
	snprintf(sql, sizeof sql, "UPDATE audit_log SET data = '{}', hash = '%s' WHERE seq = 5", h);
	tampered(sql, f->pub, 5, "bad signature");
	/* another key's log */
	dux_key_t *other = NULL;
	assert_int_equal(dux_key_generate(&other), 0);
	tampered(NULL, other, 1, "bad signature");
	dux_key_free(other);
	/* and untouched, it verifies */
	dux_audit_verdict_t v;
	assert_int_equal(dux_audit_verify(f->c, &f->esc, &v), 0);
	assert_null(v.problem);
	assert_int_equal(v.verified, 6);
}

/* ---- what a daemon gets wrong ---- */

static void test_key_file_errors(void **state)
{
	(void)state;
	char err[256] = "";
	dux_key_t *k = (dux_key_t *)&err; /* must stay untouched */
	assert_int_equal(dux_audit_key_load("escrow.audit_key_file", "", &k, err, sizeof err),
			 DUX_EINVAL);
	assert_string_equal(err, "escrow.audit_key_file: required (an Ed25519 private key, PEM)");
	assert_ptr_equal(k, (dux_key_t *)&err);
	assert_int_equal(dux_audit_key_load("airdrop.audit_key_file", "/nonexistent/k.pem", &k,
					    err, sizeof err),
			 DUX_EINVAL);
	assert_string_equal(err, "airdrop.audit_key_file: cannot read an Ed25519 private key from"
				 " \"/nonexistent/k.pem\"");
	/* a public key cannot sign */
	char path[64];
	snprintf(path, sizeof path, "/tmp/duxos-unit-audit-pub-%d.pem", (int)getpid());
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PUBLIC KEY-----\n"
	      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	      "-----END PUBLIC KEY-----\n",
	      fp);
	fclose(fp);
	int r = dux_audit_key_load("escrow.audit_key_file", path, &k, err, sizeof err);
	unlink(path);
	assert_int_equal(r, DUX_EINVAL);
	assert_non_null(strstr(err, "cannot read an Ed25519 private key"));
	assert_ptr_equal(k, (dux_key_t *)&err);
}

static void test_sql_names_refused(void **state)
{
	fx_t *f = *state;
	const char *bad[] = {"audit_log; DROP TABLE audit_queue", "\"audit_log\"", "Audit_log",
			     "audit log", "1audit", "", NULL};
	cJSON *data = cJSON_CreateObject();
	char *json = NULL;
	dux_audit_verdict_t v;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (int field = 0; field < 5; field++) {
			dux_audit_t a = f->esc;
			const char **names[] = {&a.queue_table, &a.log_table, &a.subject,
						&a.stmt_queue, &a.stmt_link};
			*names[field] = bad[i];
			assert_int_equal(dux_audit_queue(f->c, &a, "x", NULL, "y", data), DUX_EINVAL);
			assert_int_equal(dux_audit_chain(f->c, &a), DUX_EINVAL);
			assert_int_equal(dux_audit_page(f->c, &a, 0, 10, &json), DUX_EINVAL);
			assert_int_equal(dux_audit_verify(f->c, &a, &v), DUX_EINVAL);
		}
	}
	cJSON_Delete(data);
	/* a 63-byte name is PostgreSQL's longest */
	dux_audit_t a = f->esc;
	a.subject = "a23456789012345678901234567890123456789012345678901234567890123";
	assert_int_equal(dux_audit_page(f->c, &a, 0, 10, &json), DUX_EIO); /* no such column */
	a.subject = "a234567890123456789012345678901234567890123456789012345678901234";
	assert_int_equal(dux_audit_page(f->c, &a, 0, 10, &json), DUX_EINVAL);
	a = f->esc;
	a.key = NULL;
	assert_int_equal(dux_audit_chain(f->c, &a), DUX_EINVAL);
	assert_int_equal(dux_audit_page(f->c, &f->esc, -1, 10, &json), DUX_EINVAL);
	assert_int_equal(dux_audit_page(f->c, &f->esc, 0, DUX_AUDIT_PAGE_MAX + 1, &json),
			 DUX_EINVAL);
	assert_null(json);
	/* nothing was queued or made */
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM audit_queue"), 0);
}

/* ---- the routes ---- */

static void get(const char *path, int status, const char *body)
{
	io_resp_t resp;
	assert_true(io_call(F->port, "GET", path, NULL, NULL, &resp));
	if (resp.status != status || (body && strcmp(resp.body, body) != 0))
		fail_msg("GET %s: %d %s", path, resp.status, resp.body);
	io_resp_clear(&resp);
}

/* An entry of a page up to its signature's value: exactly the bytes the daemons answered. */
#define ENTRY(seq, action, subject, actor, at, data, prev, hash)                                   \
	"{\"seq\":" seq ",\"action\":\"" action "\",\"escrow_id\":" subject ",\"actor\":\"" actor  \
	"\",\"created_at\":\"" at "\",\"data\":\"" data "\",\"prev_hash\":\"" prev                 \
	"\",\"hash\":\"" hash "\",\"signature\":\""

static void test_routes(void **state)
{
	fx_t *f = *state;
	get("/v1/audit", 200, "{\"entries\":[],\"last_seq\":0}");
	get("/v1/audit/key", 200,
	    "{\"algorithm\":\"Ed25519\",\"public_key\":\"" RFC8032_PUB "\",\"encoding\":\"base64url\"}");
	chain_vectors(f);
	const char full[] =
		"{\"entries\":["
		ENTRY("1", "held", "\"" G1_SUBJECT "\"", "usr_1", G1_AT,
		      "{\\\"owner\\\": \\\"usr_1\\\", \\\"amount\\\": \\\"1.5\\\"}", ZEROS,
		      G1_HASH) G1_SIG "\"},"
		ENTRY("2", "fund_payout", "null", "duxos-airdrop", G2_AT,
		      "{\\\"round_id\\\": \\\"adr_1\\\"}", G1_HASH, G2_HASH) G2_SIG "\"}],"
		"\"last_seq\":2}";
	get("/v1/audit", 200, full);
	get("/audit?after=0&limit=1000", 200, full);
	get("/v1/audit?after=2", 200, "{\"entries\":[],\"last_seq\":2}");
	/* one entry a page */
	io_resp_t resp;
	assert_true(io_call(f->port, "GET", "/v1/audit?after=1&limit=1", NULL, NULL, &resp));
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, "{\"entries\":[{\"seq\":2,"));
	assert_non_null(strstr(resp.body, "],\"last_seq\":2}"));
	io_resp_clear(&resp);
	/* the parameters, as every daemon's (400 invalid-query) */
	const char *bad[] = {"/v1/audit?limit=5000", "/v1/audit?limit=0", "/v1/audit?after=-1",
			     "/v1/audit?after=x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_true(io_call(f->port, "GET", bad[i], NULL, NULL, &resp));
		assert_int_equal(resp.status, 400);
		assert_non_null(strstr(resp.body, "urn:duxos:problem:invalid-query"));
		io_resp_clear(&resp);
	}
	/* a daemon's mistake is the server's error, never the caller's */
	assert_true(io_call(f->port, "GET", "/v1/bad/audit", NULL, NULL, &resp));
	assert_int_equal(resp.status, 500);
	assert_non_null(strstr(resp.body, "urn:duxos:problem:internal"));
	io_resp_clear(&resp);
	assert_int_equal(query_i64(f->c, "SELECT count(*) FROM audit_log"), 2);
}

static int group_setup(void **state)
{
	(void)state;
	if (!th_pg_newdb(&pg) || !io_read_line(pg.password_file, password, sizeof password))
		return -1;
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	dux_log_init("unit_audit", DUX_LOG_WARN);
	const struct CMUnitTest tests[] = {
		T(test_hash_lines),
		T(test_chain_vectors),
		T(test_queued_in_order_get_consecutive_seqs),
		T(test_names_are_used),
		T(test_batches),
		T(test_tampering_is_detected),
		cmocka_unit_test(test_key_file_errors),
		T(test_sql_names_refused),
		T(test_routes),
	};
	if (getenv("UNIT_FILTER")) /* UNIT_FILTER='test_x*': only those tests */
		cmocka_set_test_filter(getenv("UNIT_FILTER"));
	return cmocka_run_group_tests_name("unit_audit", tests, group_setup, NULL);
}
