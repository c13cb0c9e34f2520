/* db.c - the libpq pool: lazy connect, reconnect, error mapping, transactions with retry. */
#include <dux/crypto.h>
#include <dux/db.h>
#include <dux/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PREPARED 64
#define RECONNECT_PAUSE_US 500000 /* after a failed connect, fail fast for this long */

struct dux_db_conn {
	dux_db_t *db;
	PGconn *pg;
	bool busy;
	int gen; /* the pool's generation when opened: older ones predate a lost server */
	char err[512];
	char sqlstate[6];
	int nprepared;
	const char *prepared[MAX_PREPARED]; /* names; borrowed string literals */
};

struct dux_db {
	char *conninfo, *password, *schema;
	const dux_blob_t *migrations;
	int size, acquire_timeout_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	dux_db_conn_t *conns;
	atomic_bool migrated;
	atomic_bool down;
	atomic_int gen; /* bumped when a session is lost: every older connection is suspect */
	atomic_llong last_fail_us;
	atomic_llong errors;
	char migrate_err[512];
};

extern const dux_blob_t dux_lib_migrations[];

int dux_db_open(const dux_db_opts_t *o, dux_db_t **ret)
{
	dux_db_t *db = calloc(1, sizeof *db);
	if (!db)
		return DUX_ENOMEM;
	db->conninfo = strdup(o->conninfo ? o->conninfo : "");
	db->password = o->password ? strdup(o->password) : NULL;
	db->schema = strdup(o->schema ? o->schema : "public");
	db->migrations = o->migrations;
	db->size = o->size > 0 ? o->size : 4;
	db->acquire_timeout_ms = o->acquire_timeout_ms > 0 ? o->acquire_timeout_ms : 5000;
	db->conns = calloc((size_t)db->size, sizeof *db->conns);
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->cv, NULL);
	if (!db->conninfo || !db->schema || !db->conns || (o->password && !db->password)) {
		dux_db_close(db);
		return DUX_ENOMEM;
	}
	for (int i = 0; i < db->size; i++)
		db->conns[i].db = db;
	*ret = db;
	return 0;
}

static void conn_drop(dux_db_conn_t *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->nprepared = 0;
}

dux_db_t *dux_db_close(dux_db_t *db)
{
	if (!db)
		return NULL;
	for (int i = 0; db->conns && i < db->size; i++)
		conn_drop(&db->conns[i]);
	free(db->conns);
	pthread_mutex_destroy(&db->mu);
	pthread_cond_destroy(&db->cv);
	if (db->password)
		memset(db->password, 0, strlen(db->password));
	free(db->password);
	free(db->conninfo);
	free(db->schema);
	free(db);
	return NULL;
}

static void fail_fast_mark(dux_db_t *db)
{
	atomic_store(&db->down, true);
	atomic_store(&db->last_fail_us, dux_now_us());
	atomic_fetch_add(&db->errors, 1);
}

/* Opens c->pg and sets the search path; DUX_EUNAVAIL when the server cannot be reached. */
static int conn_open(dux_db_conn_t *c)
{
	dux_db_t *db = c->db;
	conn_drop(c);
	if (atomic_load(&db->down) &&
	    dux_now_us() - atomic_load(&db->last_fail_us) < RECONNECT_PAUSE_US) {
		snprintf(c->err, sizeof c->err, "database unreachable (retrying shortly)");
		return DUX_EUNAVAIL;
	}
	const char *keys[] = {"dbname", "password", "connect_timeout", "application_name", NULL};
	const char *vals[] = {db->conninfo, db->password, "5", db->schema, NULL};
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		snprintf(c->err, sizeof c->err, "%s", c->pg ? PQerrorMessage(c->pg) : "no memory");
		conn_drop(c);
		fail_fast_mark(db);
		return DUX_EUNAVAIL;
	}
	char *ident = PQescapeIdentifier(c->pg, db->schema, strlen(db->schema));
	char sql[256];
	snprintf(sql, sizeof sql, "SET search_path TO %s, public", ident ? ident : "public");
	PQfreemem(ident);
	PGresult *res = PQexec(c->pg, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		snprintf(c->err, sizeof c->err, "%s", PQerrorMessage(c->pg));
		conn_drop(c);
		fail_fast_mark(db);
		return DUX_EUNAVAIL;
	}
	atomic_store(&db->down, false);
	c->gen = atomic_load(&db->gen);
	return 0;
}

int dux_db_acquire(dux_db_t *db, dux_db_conn_t **ret)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += db->acquire_timeout_ms / 1000;
	until.tv_nsec += (long)(db->acquire_timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	dux_db_conn_t *c = NULL;
	pthread_mutex_lock(&db->mu);
	for (;;) {
		/* Prefer a connection that is already open. */
		for (int i = 0; i < db->size && !c; i++)
			if (!db->conns[i].busy && db->conns[i].pg)
				c = &db->conns[i];
		for (int i = 0; i < db->size && !c; i++)
			if (!db->conns[i].busy)
				c = &db->conns[i];
		if (c || pthread_cond_timedwait(&db->cv, &db->mu, &until) != 0)
			break;
	}
	if (c)
		c->busy = true;
	pthread_mutex_unlock(&db->mu);
	if (!c)
		return DUX_EUNAVAIL; /* pool exhausted for the whole timeout */
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || c->gen != atomic_load(&db->gen)) {
		int r = conn_open(c);
		if (r < 0) {
			dux_db_release(db, c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

void dux_db_release(dux_db_t *db, dux_db_conn_t *c)
{
	if (!c)
		return;
	/* A connection left inside a transaction (a bug or a lost server) is not reused as is. */
	if (c->pg && (PQstatus(c->pg) != CONNECTION_OK ||
		      PQtransactionStatus(c->pg) != PQTRANS_IDLE))
		conn_drop(c);
	pthread_mutex_lock(&db->mu);
	c->busy = false;
	pthread_cond_signal(&db->cv);
	pthread_mutex_unlock(&db->mu);
}

int dux_db_connect(dux_db_t *db, dux_db_conn_t **ret)
{
	dux_db_conn_t *c = calloc(1, sizeof *c);
	if (!c)
		return DUX_ENOMEM;
	c->db = db;
	int r = conn_open(c);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

dux_db_conn_t *dux_db_conn_free(dux_db_conn_t *c)
{
	if (c) {
		conn_drop(c);
		free(c);
	}
	return NULL;
}

PGconn *dux_db_pg(dux_db_conn_t *c)
{
	return c->pg;
}

const char *dux_db_errmsg(const dux_db_conn_t *c)
{
	return c->err;
}

const char *dux_db_sqlstate(const dux_db_conn_t *c)
{
	return c->sqlstate;
}

static int map_result(dux_db_conn_t *c, PGresult *res, PGresult **ret)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		c->sqlstate[0] = '\0';
		if (atomic_load_explicit(&c->db->down, memory_order_relaxed))
			atomic_store(&c->db->down, false);
		if (ret)
			*ret = res;
		else
			PQclear(res);
		return 0;
	}
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
	snprintf(c->err, sizeof c->err, "%s", PQerrorMessage(c->pg));
	PQclear(res);
	state = state ? c->sqlstate : NULL; /* state pointed into res: only the copy is left */
	if (!state || PQstatus(c->pg) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		fail_fast_mark(c->db);
		atomic_store(&c->db->last_fail_us, 0); /* a lost session: reconnecting may work */
		atomic_fetch_add(&c->db->gen, 1);
		return DUX_EUNAVAIL;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return DUX_ERETRY;
	if (strcmp(state, "23505") == 0)
		return DUX_EEXIST;
	if (strncmp(state, "23", 2) == 0)
		return DUX_ECONFLICT;
	if (strncmp(state, "22", 2) == 0)
		return DUX_EINVAL;
	return DUX_EIO;
}

int dux_db_exec(dux_db_conn_t *c, const char *sql, int nparams, const char *const *params,
		PGresult **ret)
{
	if (!c->pg)
		return DUX_EUNAVAIL;
	PGresult *res = nparams ? PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)
				: PQexec(c->pg, sql);
	return map_result(c, res, ret);
}

int dux_db_execp(dux_db_conn_t *c, const char *name, const char *sql, int nparams,
		 const char *const *params, PGresult **ret)
{
	if (!c->pg)
		return DUX_EUNAVAIL;
	bool known = false;
	for (int i = 0; i < c->nprepared && !known; i++)
		known = strcmp(c->prepared[i], name) == 0;
	if (!known) {
		if (c->nprepared == MAX_PREPARED)
			return dux_db_exec(c, sql, nparams, params, ret);
		int r = map_result(c, PQprepare(c->pg, name, sql, nparams, NULL), NULL);
		if (r < 0)
			return r;
		c->prepared[c->nprepared++] = name;
	}
	return map_result(c, PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0), ret);
}

static void rollback(dux_db_conn_t *c)
{
	if (dux_db_exec(c, "ROLLBACK", 0, NULL, NULL) < 0)
		conn_drop(c); /* the session is in an unknown state: start a new one */
}

static void backoff(int attempt)
{
	unsigned r;
	dux_random_bytes(&r, sizeof r);
	usleep((useconds_t)(1000u << (attempt < 6 ? attempt : 6)) + r % 1000u);
}

int dux_db_tx_on(dux_db_conn_t *c, const char *isolation, dux_db_tx_fn fn, void *ctx)
{
	char begin[96];
	snprintf(begin, sizeof begin, "BEGIN ISOLATION LEVEL %s",
		 isolation ? isolation : "READ COMMITTED");
	int r = 0;
	for (int attempt = 0; attempt < 8; attempt++) {
		r = dux_db_exec(c, begin, 0, NULL, NULL);
		if (r < 0)
			break;
		r = fn(c, ctx);
		if (r >= 0) {
			int cr = dux_db_exec(c, "COMMIT", 0, NULL, NULL);
			if (cr < 0)
				r = cr;
		}
		if (r < 0 && c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
			rollback(c);
		if (r != DUX_ERETRY)
			break;
		backoff(attempt);
	}
	return r;
}

int dux_db_tx(dux_db_t *db, const char *isolation, dux_db_tx_fn fn, void *ctx)
{
	dux_db_conn_t *c;
	int r = dux_db_acquire(db, &c);
	if (r < 0)
		return r;
	r = dux_db_tx_on(c, isolation, fn, ctx);
	dux_db_release(db, c);
	return r;
}

bool dux_db_ready(dux_db_t *db)
{
	return atomic_load(&db->migrated) && !atomic_load(&db->down);
}

bool dux_db_migrated(dux_db_t *db)
{
	return atomic_load(&db->migrated);
}

void dux_db_stats(dux_db_t *db, int *ret_size, int *ret_busy, int64_t *ret_errors)
{
	int busy = 0;
	pthread_mutex_lock(&db->mu);
	for (int i = 0; i < db->size; i++)
		busy += db->conns[i].busy;
	pthread_mutex_unlock(&db->mu);
	*ret_size = db->size;
	*ret_busy = busy;
	*ret_errors = atomic_load(&db->errors);
}

int64_t dux_db_i64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool dux_db_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* ---- migrations ---- */

/* A repeatable migration (R_name.sql) runs again whenever its text changes: it holds what
 * CREATE OR REPLACE can redefine in place (functions), so that they are edited where they live
 * instead of being copied into a new numbered file. */
static bool repeatable(const dux_blob_t *b)
{
	return strncmp(b->name, "R_", 2) == 0;
}

static int run_blob(dux_db_conn_t *c, const dux_blob_t *b)
{
	const char *p[] = {b->name, b->data};
	PGresult *res;
	int r = dux_db_exec(c,
			    "SELECT 1 FROM schema_migrations WHERE name = $1 AND checksum IS NOT DISTINCT"
			    " FROM CASE WHEN $1 LIKE 'R\\_%' THEN md5($2) END",
			    2, p, &res);
	if (r < 0)
		return r;
	bool done = PQntuples(res) > 0;
	PQclear(res);
	if (done)
		return 0;
	r = dux_db_exec(c, "BEGIN", 0, NULL, NULL);
	if (r == 0)
		r = dux_db_exec(c, b->data, 0, NULL, NULL);
	if (r == 0)
		r = dux_db_exec(c,
				"INSERT INTO schema_migrations (name, checksum)"
				" VALUES ($1, CASE WHEN $1 LIKE 'R\\_%' THEN md5($2) END)"
				" ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum,"
				" applied_at = now()",
				2, p, NULL);
	if (r == 0)
		r = dux_db_exec(c, "COMMIT", 0, NULL, NULL);
	if (r < 0) {
		rollback(c);
		snprintf(c->db->migrate_err, sizeof c->db->migrate_err, "migration %s: %.400s",
			 b->name, c->err);
	}
	return r;
}

/* Numbered migrations in order, then the repeatable ones, which may use what they made. */
static int run_blobs(dux_db_conn_t *c, const dux_blob_t *blobs)
{
	for (int pass = 0; pass < 2; pass++)
		for (const dux_blob_t *b = blobs; b && b->name; b++)
			if (repeatable(b) == (pass == 1)) {
				int r = run_blob(c, b);
				if (r < 0)
					return r;
			}
	return 0;
}

/* A round trip on a pool connection: clears the down flag once the server is back. */
static int probe(dux_db_t *db)
{
	dux_db_conn_t *c;
	int r = dux_db_acquire(db, &c);
	if (r < 0)
		return r;
	r = dux_db_exec(c, "SELECT 1", 0, NULL, NULL);
	dux_db_release(db, c);
	return r;
}

int dux_db_migrate(dux_db_t *db)
{
	db->migrate_err[0] = '\0'; /* "" unless this call fails */
	if (atomic_load(&db->migrated))
		return atomic_load(&db->down) ? probe(db) : 0;
	dux_db_conn_t *c;
	int r = dux_db_connect(db, &c);
	if (r < 0) {
		snprintf(db->migrate_err, sizeof db->migrate_err, "connect: %s", "database unreachable");
		return r;
	}
	char *ident = PQescapeIdentifier(c->pg, db->schema, strlen(db->schema));
	char sql[768];
	snprintf(sql, sizeof sql,
		 "SELECT pg_advisory_lock(hashtext('dux.migrate'));"
		 "CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s, public;"
		 "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY,"
		 " applied_at timestamptz NOT NULL DEFAULT now());"
		 "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
		 ident ? ident : "public", ident ? ident : "public");
	PQfreemem(ident);
	r = dux_db_exec(c, sql, 0, NULL, NULL);
	if (r < 0)
		snprintf(db->migrate_err, sizeof db->migrate_err, "%s", c->err);
	if (r == 0)
		r = run_blobs(c, dux_lib_migrations);
	if (r == 0)
		r = run_blobs(c, db->migrations);
	if (r == 0)
		atomic_store(&db->migrated, true);
	dux_db_conn_free(c); /* ends the session, and with it the advisory lock */
	return r;
}

const char *dux_db_migrate_error(const dux_db_t *db)
{
	return db->migrate_err;
}
