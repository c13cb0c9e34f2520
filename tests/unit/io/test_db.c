/* test_db.c - the PostgreSQL pool (dux_db): a server that is down, migrations, the search path,
 * error mapping, prepared statements, transactions with retry, pool limits and reconnect.
 * Runs against the test cluster (ctest fixture `pg`) in a database of its own; every test
 * works in schemas of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "harness.h"
#include "io_util.h"
#include <dux/db.h>
#include <dux/log.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static th_pg_t pg;
static char password[256];
static dux_db_t *admin; /* schema public, never migrated: catalog queries with full names */

#define BLOB(name, sql) {name, sql, sizeof sql - 1}

static dux_db_t *pool(const char *schema, const dux_blob_t *migrations, int size,
		      int acquire_timeout_ms)
{
	dux_db_opts_t o = {
		.conninfo = pg.conninfo,
		.password = password,
		.schema = schema,
		.size = size,
		.acquire_timeout_ms = acquire_timeout_ms,
		.migrations = migrations,
	};
	dux_db_t *db = NULL;
	assert_int_equal(dux_db_open(&o, &db), 0);
	assert_non_null(db);
	return db;
}

static void migrate_ok(dux_db_t *db)
{
	int r = dux_db_migrate(db);
	if (r != 0)
		fail_msg("dux_db_migrate: %s: %s", dux_strerror(r), dux_db_migrate_error(db));
}

/* Runs sql (parameters p) on a connection of db and returns row 0 column 0 as text in out. */
static void query(dux_db_t *db, const char *sql, int n, const char *const *p, char *out,
		  size_t len)
{
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	PGresult *res = NULL;
	int r = dux_db_exec(c, sql, n, p, &res);
	if (r != 0)
		fail_msg("%s: %s", sql, dux_db_errmsg(c));
	snprintf(out, len, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	dux_db_release(db, c);
}

static long long query_i64(dux_db_t *db, const char *sql, int n, const char *const *p)
{
	char v[64];
	query(db, sql, n, p, v, sizeof v);
	return strtoll(v, NULL, 10);
}

/* Runs one statement on c and asserts that it succeeded. */
static void exec_ok(dux_db_conn_t *c, const char *sql)
{
	int r = dux_db_exec(c, sql, 0, NULL, NULL);
	if (r != 0)
		fail_msg("%s: %s (%s)", sql, dux_strerror(r), dux_db_errmsg(c));
}

static bool table_exists(const char *qualified)
{
	const char *p[] = {qualified};
	return query_i64(admin, "SELECT (to_regclass($1) IS NOT NULL)::int", 1, p) == 1;
}

/* The names in schema.schema_migrations, in name order, joined by spaces. */
static void migration_names(const char *schema, char *out, size_t len)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(string_agg(name, ' ' ORDER BY name), '')"
		 " FROM \"%s\".schema_migrations",
		 schema);
	query(admin, sql, 0, NULL, out, len);
}

static int group_setup(void **state)
{
	(void)state;
	if (!th_pg_newdb(&pg) || !io_read_line(pg.password_file, password, sizeof password))
		return -1;
	dux_db_opts_t o = {.conninfo = pg.conninfo, .password = password, .schema = "public"};
	return dux_db_open(&o, &admin) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	admin = dux_db_close(admin);
	return 0;
}

/* ---- a server that is not there ---- */

static void test_down_server_open_never_fails(void **state)
{
	(void)state;
	char conninfo[200];
	snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d dbname=nothing user=nobody",
		 io_closed_port());
	dux_db_opts_t o = {.conninfo = conninfo, .schema = "down", .size = 2};
	dux_db_t *db = NULL;
	assert_int_equal(dux_db_open(&o, &db), 0);
	assert_false(dux_db_ready(db));
	dux_db_conn_t *c = NULL;
	for (int i = 0; i < 3; i++) {
		int64_t t0 = io_now_ms();
		assert_int_equal(dux_db_acquire(db, &c), DUX_EUNAVAIL);
		assert_true(io_now_ms() - t0 < 2000);
	}
	assert_null(c); /* not written on failure */
	assert_int_equal(dux_db_migrate(db), DUX_EUNAVAIL);
	assert_true(strlen(dux_db_migrate_error(db)) > 0);
	assert_false(dux_db_ready(db));
	assert_false(dux_db_migrated(db));
	int size, busy;
	int64_t errors;
	dux_db_stats(db, &size, &busy, &errors);
	assert_int_equal(size, 2);
	assert_int_equal(busy, 0); /* failed acquires gave their slots back */
	assert_true(errors >= 1);
	db = dux_db_close(db);
}

/* ---- migrations ---- */

static const dux_blob_t items_migrations[] = {
	BLOB("001_items.sql",
	     "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL CHECK (v >= 0));"),
	/* not repeatable: applying it twice would fail on the primary key */
	BLOB("002_notes.sql", "CREATE TABLE notes (id int PRIMARY KEY REFERENCES items (id));"
			      "INSERT INTO items VALUES (1000, 0);"),
	{NULL, NULL, 0},
};

static void test_migrations_applied_once(void **state)
{
	(void)state;
	dux_db_t *db = pool("mig_once", items_migrations, 2, 0);
	assert_false(dux_db_ready(db));
	migrate_ok(db);
	assert_true(dux_db_ready(db));
	assert_true(dux_db_migrated(db));
	assert_string_equal(dux_db_migrate_error(db), "");
	char names[256], at[64], at2[64];
	migration_names("mig_once", names, sizeof names);
	assert_string_equal(names, "001_items.sql 002_notes.sql dux_000_bus.sql dux_001_text.sql dux_002_events.sql");
	query(admin, "SELECT max(applied_at)::text FROM mig_once.schema_migrations", 0, NULL, at,
	      sizeof at);

	migrate_ok(db); /* again on the same pool */
	dux_db_t *copy = pool("mig_once", items_migrations, 2, 0);
	migrate_ok(copy); /* a second copy of the daemon */
	assert_true(dux_db_ready(copy));
	migration_names("mig_once", names, sizeof names);
	assert_string_equal(names, "001_items.sql 002_notes.sql dux_000_bus.sql dux_001_text.sql dux_002_events.sql");
	query(admin, "SELECT max(applied_at)::text FROM mig_once.schema_migrations", 0, NULL, at2,
	      sizeof at2);
	assert_string_equal(at, at2);
	assert_int_equal(query_i64(admin, "SELECT count(*) FROM mig_once.items", 0, NULL), 1);
	copy = dux_db_close(copy);
	db = dux_db_close(db);
}

/* R_ files run after the numbered ones (whatever their place in the list), and again only when
 * their text changes. */
static void test_repeatable_migrations_rerun_when_changed(void **state)
{
	(void)state;
	dux_blob_t blobs[] = {
		BLOB("R_fns.sql", "CREATE OR REPLACE FUNCTION price() RETURNS int"
				  " LANGUAGE sql AS 'SELECT 1 + count(*)::int FROM mig_rep.base';"
				  "INSERT INTO base VALUES (1);"),
		BLOB("001_base.sql", "CREATE TABLE base (x int);"),
		{NULL, NULL, 0},
	};
	dux_db_t *db = pool("mig_rep", blobs, 1, 0);
	migrate_ok(db);
	assert_int_equal(query_i64(admin, "SELECT mig_rep.price()", 0, NULL), 2);
	db = dux_db_close(db);
	db = pool("mig_rep", blobs, 1, 0); /* a restart with the same text: not run again */
	migrate_ok(db);
	assert_int_equal(query_i64(admin, "SELECT count(*) FROM mig_rep.base", 0, NULL), 1);
	db = dux_db_close(db);

	static const char v2[] = "CREATE OR REPLACE FUNCTION price() RETURNS int"
				 " LANGUAGE sql AS 'SELECT 10 + count(*)::int FROM mig_rep.base';"
				 "INSERT INTO base VALUES (2);";
	blobs[0].data = v2;
	blobs[0].len = sizeof v2 - 1;
	db = pool("mig_rep", blobs, 1, 0); /* an upgrade that changed it: run again, once */
	migrate_ok(db);
	db = dux_db_close(db);
	db = pool("mig_rep", blobs, 1, 0);
	migrate_ok(db);
	assert_int_equal(query_i64(admin, "SELECT mig_rep.price()", 0, NULL), 12);
	char names[256];
	migration_names("mig_rep", names, sizeof names);
	assert_string_equal(names,
			    "001_base.sql R_fns.sql dux_000_bus.sql dux_001_text.sql dux_002_events.sql");
	db = dux_db_close(db);
}

static void test_library_migrations_create_bus_tables(void **state)
{
	(void)state;
	dux_db_t *db = pool("mig_lib", NULL, 1, 0);
	migrate_ok(db);
	assert_true(table_exists("mig_lib.outbox"));
	assert_true(table_exists("mig_lib.bus_cursor"));
	assert_true(table_exists("mig_lib.bus_events"));
	assert_true(table_exists("mig_lib.schema_migrations"));
	assert_false(table_exists("public.outbox"));
	assert_false(table_exists("public.bus_cursor"));
	char names[128];
	migration_names("mig_lib", names, sizeof names);
	assert_string_equal(names, "dux_000_bus.sql dux_001_text.sql dux_002_events.sql");
	db = dux_db_close(db);
}

static void test_broken_migration_leaves_nothing(void **state)
{
	(void)state;
	static const char broken[] = "CREATE TABLE half (x int); INSERT INTO half VALUES (1);"
				     "SELECT no_such_function();";
	static const char fixed[] = "CREATE TABLE half (x int); INSERT INTO half VALUES (1);";
	dux_blob_t blobs[] = {
		BLOB("001_good.sql", "CREATE TABLE good (x int);"),
		{"002_broken.sql", broken, sizeof broken - 1},
		BLOB("003_later.sql", "CREATE TABLE later (x int);"),
		{NULL, NULL, 0},
	};
	dux_db_t *db = pool("mig_broken", blobs, 2, 0);
	assert_true(dux_db_migrate(db) < 0);
	const char *err = dux_db_migrate_error(db);
	if (!strstr(err, "002_broken.sql") || !strstr(err, "no_such_function"))
		fail_msg("migrate error: [%s]", err);
	assert_false(dux_db_ready(db));
	assert_false(dux_db_migrated(db));
	assert_true(table_exists("mig_broken.good"));
	assert_false(table_exists("mig_broken.half")); /* nothing of the broken one */
	assert_false(table_exists("mig_broken.later")); /* nothing after it */
	char names[256];
	migration_names("mig_broken", names, sizeof names);
	assert_string_equal(names, "001_good.sql dux_000_bus.sql dux_001_text.sql dux_002_events.sql");

	/* fixed in place (the table is borrowed), the same pool finishes the job */
	blobs[1].data = fixed;
	blobs[1].len = sizeof fixed - 1;
	migrate_ok(db);
	assert_true(dux_db_ready(db));
	assert_true(table_exists("mig_broken.half"));
	assert_true(table_exists("mig_broken.later"));
	migration_names("mig_broken", names, sizeof names);
	assert_string_equal(names, "001_good.sql 002_broken.sql 003_later.sql dux_000_bus.sql dux_001_text.sql dux_002_events.sql");
	assert_int_equal(query_i64(admin, "SELECT count(*) FROM mig_broken.half", 0, NULL), 1);
	db = dux_db_close(db);
}

/* dux_db_migrate_error: why the last call failed, "" when it did not. */
static void test_migrate_error_cleared_by_success(void **state)
{
	(void)state;
	static const char broken[] = "SELECT no_such_function();";
	dux_blob_t blobs[] = {{"001_flaky.sql", broken, sizeof broken - 1}, {NULL, NULL, 0}};
	dux_db_t *db = pool("mig_err", blobs, 1, 0);
	assert_true(dux_db_migrate(db) < 0);
	assert_non_null(strstr(dux_db_migrate_error(db), "001_flaky.sql"));
	blobs[0] = (dux_blob_t)BLOB("001_flaky.sql", "SELECT 1;");
	int r = dux_db_migrate(db);
	char err[600];
	snprintf(err, sizeof err, "%s", dux_db_migrate_error(db));
	db = dux_db_close(db);
	assert_int_equal(r, 0);
	if (err[0])
		fail_msg("after a successful dux_db_migrate, dux_db_migrate_error still says [%s]",
			 err);
}

static void test_search_path_is_schema(void **state)
{
	(void)state;
	static const char *const schemas[] = {"sp_plain", "Sp Mixed\"Case"};
	static const dux_blob_t mig[] = {BLOB("001_t.sql", "CREATE TABLE t_sp (x int);"),
					 {NULL, NULL, 0}};
	for (int i = 0; i < 2; i++) {
		dux_db_t *db = pool(schemas[i], mig, 2, 0);
		migrate_ok(db);
		char cur[128];
		query(db, "SELECT current_schema()", 0, NULL, cur, sizeof cur);
		assert_string_equal(cur, schemas[i]);
		const char *p[] = {schemas[i]};
		assert_int_equal(query_i64(admin,
					   "SELECT count(*) FROM pg_tables WHERE schemaname = $1"
					   " AND tablename IN ('t_sp', 'outbox', 'bus_cursor')",
					   1, p),
				 3);
		/* every connection of the pool, not just the first */
		dux_db_conn_t *a, *b;
		assert_int_equal(dux_db_acquire(db, &a), 0);
		assert_int_equal(dux_db_acquire(db, &b), 0);
		exec_ok(a, "INSERT INTO t_sp VALUES (1)");
		exec_ok(b, "INSERT INTO t_sp VALUES (2)");
		dux_db_release(db, a);
		dux_db_release(db, b);
		assert_int_equal(query_i64(db, "SELECT count(*) FROM t_sp", 0, NULL), 2);
		db = dux_db_close(db);
	}
	assert_false(table_exists("public.t_sp"));
}

/* ---- statements ---- */

static void test_error_mapping(void **state)
{
	(void)state;
	dux_db_t *db = pool("errmap", items_migrations, 1, 0);
	migrate_ok(db);
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	exec_ok(c, "INSERT INTO items VALUES (1, 1)");
	static const struct {
		const char *sql;
		int err;
		const char *state;
	} cases[] = {
		{"INSERT INTO items VALUES (1, 2)", DUX_EEXIST, "23505"},
		{"INSERT INTO items VALUES (2, -1)", DUX_ECONFLICT, "23514"},
		{"INSERT INTO notes VALUES (77)", DUX_ECONFLICT, "23503"},
		{"INSERT INTO items VALUES (3, NULL)", DUX_ECONFLICT, "23502"},
		{"SELECT 'abc'::int", DUX_EINVAL, "22P02"},
		{"SELECT 1 / 0", DUX_EINVAL, "22012"},
		{"SELEC 1", DUX_EIO, "42601"},
		{"SELECT * FROM no_such_table", DUX_EIO, "42P01"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int r = dux_db_exec(c, cases[i].sql, 0, NULL, NULL);
		if (r != cases[i].err)
			fail_msg("%s: %s, expected %s", cases[i].sql, dux_strerror(r),
				 dux_strerror(cases[i].err));
		assert_string_equal(dux_db_sqlstate(c), cases[i].state);
		assert_true(strlen(dux_db_errmsg(c)) > 0);
	}
	/* with parameters too, and the connection is still good afterwards */
	const char *p[] = {"not a number"};
	assert_int_equal(dux_db_exec(c, "SELECT $1::bigint", 1, p, NULL), DUX_EINVAL);
	PGresult *res = NULL;
	assert_int_equal(dux_db_exec(c, "SELECT 41 + 1", 0, NULL, &res), 0);
	assert_string_equal(dux_db_sqlstate(c), "");
	assert_int_equal(dux_db_i64(res, 0, 0), 42);
	PQclear(res);
	dux_db_release(db, c);
	db = dux_db_close(db);
}

static void test_execp_reuses_prepared_statements(void **state)
{
	(void)state;
	dux_db_t *db = pool("prep", NULL, 1, 0);
	migrate_ok(db);
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	static const char *const in[] = {"41", "1", "-7"};
	static const long long out[] = {42, 2, -6};
	for (int i = 0; i < 3; i++) {
		const char *p[] = {in[i]};
		PGresult *res = NULL;
		assert_int_equal(dux_db_execp(c, "unit_add_one", "SELECT $1::int + 1", 1, p, &res), 0);
		assert_int_equal(dux_db_i64(res, 0, 0), out[i]);
		PQclear(res);
	}
	PGresult *res = NULL;
	assert_int_equal(dux_db_exec(c,
				     "SELECT count(*) FROM pg_prepared_statements"
				     " WHERE name = 'unit_add_one'",
				     0, NULL, &res),
			 0);
	assert_int_equal(dux_db_i64(res, 0, 0), 1);
	PQclear(res);

	/* prepared inside a transaction that rolls back: still usable afterwards */
	exec_ok(c, "BEGIN");
	assert_int_equal(dux_db_execp(c, "unit_in_tx", "SELECT 7", 0, NULL, NULL), 0);
	exec_ok(c, "ROLLBACK");
	assert_int_equal(dux_db_execp(c, "unit_in_tx", "SELECT 7", 0, NULL, NULL), 0);

	/* a statement whose preparation fails is not remembered */
	assert_true(dux_db_execp(c, "unit_bad", "SELECT * FROM nowhere", 0, NULL, NULL) < 0);
	exec_ok(c, "CREATE TABLE nowhere (x int)");
	assert_int_equal(dux_db_execp(c, "unit_bad", "SELECT * FROM nowhere", 0, NULL, NULL), 0);
	dux_db_release(db, c);
	db = dux_db_close(db);
}

/* ---- transactions ---- */

typedef struct {
	int id;
	int ret; /* what fn returns after its inserts */
	int calls;
} ins_t;

static int tx_insert(dux_db_conn_t *c, void *arg)
{
	ins_t *a = arg;
	a->calls++;
	char id[16];
	snprintf(id, sizeof id, "%d", a->id);
	const char *p[] = {id};
	int r = dux_db_exec(c, "INSERT INTO items VALUES ($1::int, 5)", 1, p, NULL);
	if (r == 0)
		r = dux_db_exec(c, "INSERT INTO notes VALUES ($1::int)", 1, p, NULL);
	return r < 0 ? r : a->ret;
}

static long long count_items(dux_db_t *db, int id)
{
	char s[16];
	snprintf(s, sizeof s, "%d", id);
	const char *p[] = {s};
	return query_i64(db, "SELECT count(*) FROM items WHERE id = $1::int", 1, p);
}

static void test_tx_commits_and_rolls_back(void **state)
{
	(void)state;
	dux_db_t *db = pool("txbasic", items_migrations, 2, 0);
	migrate_ok(db);

	ins_t commit = {.id = 1, .ret = 0};
	assert_int_equal(dux_db_tx(db, NULL, tx_insert, &commit), 0);
	assert_int_equal(count_items(db, 1), 1);

	ins_t positive = {.id = 2, .ret = 7}; /* fn's result comes back; still a commit */
	assert_int_equal(dux_db_tx(db, "REPEATABLE READ", tx_insert, &positive), 7);
	assert_int_equal(count_items(db, 2), 1);

	ins_t refused = {.id = 3, .ret = DUX_ECONFLICT};
	assert_int_equal(dux_db_tx(db, NULL, tx_insert, &refused), DUX_ECONFLICT);
	assert_int_equal(count_items(db, 3), 0);
	assert_int_equal(refused.calls, 1); /* not retried */

	ins_t failing = {.id = 1, .ret = 0}; /* the first insert hits the primary key */
	assert_int_equal(dux_db_tx(db, NULL, tx_insert, &failing), DUX_EEXIST);
	assert_int_equal(failing.calls, 1);

	/* the pool is healthy afterwards: no connection left in a transaction */
	for (int i = 0; i < 4; i++) {
		dux_db_conn_t *c;
		assert_int_equal(dux_db_acquire(db, &c), 0);
		assert_int_equal(PQtransactionStatus(dux_db_pg(c)), PQTRANS_IDLE);
		dux_db_release(db, c);
	}
	assert_int_equal(query_i64(db, "SELECT count(*) FROM notes", 0, NULL), 2);
	db = dux_db_close(db);
}

typedef struct {
	dux_db_t *db;
	pthread_barrier_t *barrier;
	atomic_int *attempts;
	int id, mine, result;
} skew_t;

/* Reads the sum, waits for the other thread to have read it too (first attempt only), then
 * writes sum + 1: two of these at SERIALIZABLE conflict, and one must run again. */
static int tx_skew(dux_db_conn_t *c, void *arg)
{
	skew_t *s = arg;
	atomic_fetch_add(s->attempts, 1);
	PGresult *res = NULL;
	int r = dux_db_exec(c, "SELECT coalesce(sum(v), 0) FROM ser", 0, NULL, &res);
	long long sum = r == 0 ? dux_db_i64(res, 0, 0) : 0;
	PQclear(res);
	if (s->mine++ == 0)
		pthread_barrier_wait(s->barrier);
	if (r < 0)
		return r;
	char id[16], v[32];
	snprintf(id, sizeof id, "%d", s->id);
	snprintf(v, sizeof v, "%lld", sum + 1);
	const char *p[] = {id, v};
	return dux_db_exec(c, "INSERT INTO ser VALUES ($1::int, $2::int)", 2, p, NULL);
}

static void *skew_thread(void *arg)
{
	skew_t *s = arg;
	s->result = dux_db_tx(s->db, "SERIALIZABLE", tx_skew, s);
	return NULL;
}

static void test_tx_retries_serialization_failure(void **state)
{
	(void)state;
	static const dux_blob_t mig[] = {
		BLOB("001_ser.sql", "CREATE TABLE ser (id int PRIMARY KEY, v int NOT NULL);"),
		{NULL, NULL, 0}};
	dux_db_t *db = pool("txser", mig, 2, 0);
	migrate_ok(db);
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, 2);
	atomic_int attempts = 0;
	skew_t s[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		s[i] = (skew_t){.db = db, .barrier = &barrier, .attempts = &attempts, .id = i + 1};
		assert_int_equal(pthread_create(&th[i], NULL, skew_thread, &s[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	assert_int_equal(s[0].result, 0);
	assert_int_equal(s[1].result, 0);
	assert_true(atomic_load(&attempts) >= 3); /* one of them ran again */
	/* serially: one wrote 1, the other saw it and wrote 2 */
	assert_int_equal(query_i64(db, "SELECT count(*) FROM ser", 0, NULL), 2);
	assert_int_equal(query_i64(db, "SELECT sum(v) FROM ser", 0, NULL), 3);
	db = dux_db_close(db);
}

/* ---- the pool ---- */

typedef struct {
	dux_db_t *db;
	dux_db_conn_t *c;
	int after_ms;
} release_t;

static void *release_later(void *arg)
{
	release_t *r = arg;
	io_sleep_ms(r->after_ms);
	dux_db_release(r->db, r->c);
	return NULL;
}

static void test_pool_exhaustion(void **state)
{
	(void)state;
	dux_db_t *db = pool("pool", NULL, 2, 300);
	dux_db_conn_t *a, *b, *c = NULL;
	assert_int_equal(dux_db_acquire(db, &a), 0);
	assert_int_equal(dux_db_acquire(db, &b), 0);
	assert_true(a != b);
	int size, busy;
	int64_t errors;
	dux_db_stats(db, &size, &busy, &errors);
	assert_int_equal(busy, 2);

	int64_t t0 = io_now_ms();
	assert_int_equal(dux_db_acquire(db, &c), DUX_EUNAVAIL);
	int64_t waited = io_now_ms() - t0;
	if (waited < 280 || waited > 2000)
		fail_msg("gave up after %lld ms; acquire_timeout_ms is 300", (long long)waited);
	assert_null(c);

	dux_db_release(db, b);
	dux_db_release(db, a);
	dux_db_stats(db, &size, &busy, &errors);
	assert_int_equal(busy, 0);
	db = dux_db_close(db);

	/* a connection released while someone waits goes to the waiter */
	db = pool("pool", NULL, 1, 5000);
	assert_int_equal(dux_db_acquire(db, &a), 0);
	release_t rel = {db, a, 100};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, release_later, &rel), 0);
	t0 = io_now_ms();
	c = NULL;
	int r = dux_db_acquire(db, &c);
	waited = io_now_ms() - t0;
	pthread_join(th, NULL);
	assert_int_equal(r, 0);
	assert_ptr_equal(c, a);
	if (waited < 80 || waited > 4000)
		fail_msg("handed over after %lld ms; released after 100", (long long)waited);
	dux_db_release(db, c);
	db = dux_db_close(db);
}

static long long backend_pid(dux_db_conn_t *c)
{
	PGresult *res = NULL;
	assert_int_equal(dux_db_exec(c, "SELECT pg_backend_pid()", 0, NULL, &res), 0);
	long long pid = dux_db_i64(res, 0, 0);
	PQclear(res);
	return pid;
}

static void test_killed_connection_reconnects(void **state)
{
	(void)state;
	dux_db_t *db = pool("killed", NULL, 1, 0);
	migrate_ok(db);
	dux_db_conn_t *c;
	assert_int_equal(dux_db_acquire(db, &c), 0);
	long long pid = backend_pid(c);
	assert_int_equal(dux_db_execp(c, "unit_one", "SELECT 1", 0, NULL, NULL), 0);
	dux_db_release(db, c);

	dux_db_conn_t *killer;
	assert_int_equal(dux_db_connect(db, &killer), 0);
	char spid[32];
	snprintf(spid, sizeof spid, "%lld", pid);
	const char *p[] = {spid};
	PGresult *res = NULL;
	assert_int_equal(dux_db_exec(killer, "SELECT pg_terminate_backend($1::int, 5000)", 1, p,
				     &res),
			 0);
	assert_true(dux_db_bool(res, 0, 0));
	PQclear(res);
	killer = dux_db_conn_free(killer);

	assert_int_equal(dux_db_acquire(db, &c), 0);
	int r = dux_db_exec(c, "SELECT 1", 0, NULL, NULL);
	dux_db_release(db, c);
	assert_int_equal(r, DUX_EUNAVAIL);
	assert_false(dux_db_ready(db));

	assert_int_equal(dux_db_acquire(db, &c), 0);
	assert_int_equal(dux_db_exec(c, "SELECT 1", 0, NULL, NULL), 0);
	assert_true(backend_pid(c) != pid); /* a fresh session */
	/* its prepared statements went with the old session: prepared again on demand */
	assert_int_equal(dux_db_execp(c, "unit_one", "SELECT 1", 0, NULL, NULL), 0);
	dux_db_release(db, c);
	assert_true(dux_db_ready(db));
	db = dux_db_close(db);
}

int main(void)
{
	dux_log_init("unit_db", DUX_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_server_open_never_fails),
		cmocka_unit_test(test_migrations_applied_once),
		cmocka_unit_test(test_library_migrations_create_bus_tables),
		cmocka_unit_test(test_broken_migration_leaves_nothing),
		cmocka_unit_test(test_repeatable_migrations_rerun_when_changed),
		cmocka_unit_test(test_migrate_error_cleared_by_success),
		cmocka_unit_test(test_search_path_is_schema),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_execp_reuses_prepared_statements),
		cmocka_unit_test(test_tx_commits_and_rolls_back),
		cmocka_unit_test(test_tx_retries_serialization_failure),
		cmocka_unit_test(test_pool_exhaustion),
		cmocka_unit_test(test_killed_connection_reconnects),
	};
	if (getenv("UNIT_FILTER")) /* UNIT_FILTER='test_x*': only those tests */
		cmocka_set_test_filter(getenv("UNIT_FILTER"));
	return cmocka_run_group_tests_name("unit_db", tests, group_setup, group_teardown);
}
