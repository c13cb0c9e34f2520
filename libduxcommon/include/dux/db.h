/* db.h - a libpq connection pool with embedded migrations and reconnect.
 *
 * The pool never fails because PostgreSQL is down: it connects lazily, marks a connection broken
 * when the server goes away, and reconnects on the next use. Callers see DUX_EUNAVAIL and answer
 * 503 with Retry-After. Every connection's search_path is the daemon's own schema.
 * Queries are parameterised only (text parameters). */
#ifndef DUX_DB_H
#define DUX_DB_H

#include <dux/blob.h>
#include <dux/err.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct dux_db dux_db_t;
typedef struct dux_db_conn dux_db_conn_t;

typedef struct {
	const char *conninfo;       /* libpq keyword/value string; copied */
	const char *password;       /* NULL = none; copied, never logged */
	const char *schema;         /* the daemon's schema; created by the first migration run */
	int size;                   /* connections */
	int acquire_timeout_ms;     /* wait for a free connection before DUX_EUNAVAIL */
	/* NNN_name.sql, applied once each, in order; then R_name.sql (repeatable: applied again
	 * whenever its text changes; CREATE OR REPLACE only). Borrowed. */
	const dux_blob_t *migrations;
} dux_db_opts_t;

DUX_MUST_USE int dux_db_open(const dux_db_opts_t *opts, dux_db_t **ret);
dux_db_t *dux_db_close(dux_db_t *db);

/* Applies pending migrations (library ones, then the daemon's) under an advisory lock.
 * DUX_EUNAVAIL while the database is unreachable. Safe to call again and from several copies;
 * once migrated, a call while the database is marked down probes it with one round trip. */
DUX_MUST_USE int dux_db_migrate(dux_db_t *db);
/* Why the last dux_db_migrate failed (borrowed; "" when it did not). */
const char *dux_db_migrate_error(const dux_db_t *db);
/* True once migrations have been applied and the last round trip succeeded (/readyz). */
bool dux_db_ready(dux_db_t *db);
/* True once migrations have been applied: requests may try the database (and get
 * DUX_EUNAVAIL quickly while it is down). */
bool dux_db_migrated(dux_db_t *db);

DUX_MUST_USE int dux_db_acquire(dux_db_t *db, dux_db_conn_t **ret);
void dux_db_release(dux_db_t *db, dux_db_conn_t *c);
/* A connection outside the pool (for advisory-lock holders and LISTEN). Free with
 * dux_db_conn_free. */
DUX_MUST_USE int dux_db_connect(dux_db_t *db, dux_db_conn_t **ret);
dux_db_conn_t *dux_db_conn_free(dux_db_conn_t *c);
PGconn *dux_db_pg(dux_db_conn_t *c);

/* Runs one statement. ret (may be NULL): the result, caller frees with PQclear.
 * Errors: DUX_EUNAVAIL (connection lost; the connection is reset on release), DUX_ERETRY
 * (serialization failure or deadlock), DUX_EEXIST (unique violation), DUX_ECONFLICT
 * (check/foreign-key violation), DUX_EINVAL (bad data), DUX_EIO (anything else).
 * The server's message stays on the connection: dux_db_errmsg. */
DUX_MUST_USE int dux_db_exec(dux_db_conn_t *c, const char *sql, int nparams,
			     const char *const *params, PGresult **ret);
/* As dux_db_exec, but the statement is prepared once per connection under name. */
DUX_MUST_USE int dux_db_execp(dux_db_conn_t *c, const char *name, const char *sql, int nparams,
			      const char *const *params, PGresult **ret);
const char *dux_db_errmsg(const dux_db_conn_t *c);
const char *dux_db_sqlstate(const dux_db_conn_t *c);

typedef int (*dux_db_tx_fn)(dux_db_conn_t *c, void *ctx);
/* Acquires a connection, runs fn inside BEGIN ... COMMIT at the given isolation
 * ("READ COMMITTED" when NULL), rolls back when fn returns < 0, and runs the whole thing again
 * (up to 8 times, with jittered backoff) on DUX_ERETRY. Returns fn's result or the error. */
DUX_MUST_USE int dux_db_tx(dux_db_t *db, const char *isolation, dux_db_tx_fn fn, void *ctx);

/* As dux_db_tx on a connection the caller holds (a job's dedicated one). */
DUX_MUST_USE int dux_db_tx_on(dux_db_conn_t *c, const char *isolation, dux_db_tx_fn fn,
			      void *ctx);

/* Helpers for result rows. */
int64_t dux_db_i64(const PGresult *res, int row, int col);
bool dux_db_bool(const PGresult *res, int row, int col);
/* Postgres "timestamptz" selected as epoch microseconds (bigint): same as dux_db_i64. */

/* Pool statistics for /metrics. */
void dux_db_stats(dux_db_t *db, int *ret_size, int *ret_busy, int64_t *ret_errors);

#endif
