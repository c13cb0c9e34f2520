/* test_config.c - the table-driven YAML loader: precedence (default < file < env), secrets
 * from files, errors that name file, line and key, and dumps that never show a secret. */
#include "unit.h"
#include <dux/config.h>

typedef struct {
	char *name;
	int64_t port;
	bool tls;
	double ratio;
	dux_strlist_t peers;
	char *password;
} conf_t;

static conf_t conf;

#define O(f) offsetof(conf_t, f)
static const dux_cfg_opt_t opts[] = {
	{"svc.name", DUX_CFG_STR, O(name), "dux", 0, 0, 0, "service name"},
	{"svc.port", DUX_CFG_INT, O(port), "8101", 1, 65535, 0, "TCP port"},
	{"svc.tls", DUX_CFG_BOOL, O(tls), "false", 0, 0, 0, "serve TLS"},
	{"svc.ratio", DUX_CFG_DOUBLE, O(ratio), "0.05", 0, 1, 0, "community share"},
	{"svc.peers", DUX_CFG_STRLIST, O(peers), "a, b", 0, 0, 0, "peer URLs"},
	{"db.password", DUX_CFG_STR, O(password), NULL, 0, 0, DUX_CFG_SECRET, "database password"},
	{NULL, DUX_CFG_STR, 0, NULL, 0, 0, 0, NULL},
};
static const dux_cfg_section_t secs[] = {{opts, &conf}};

static const char *const env_names[] = {"DUXOS_SVC_NAME", "DUXOS_SVC_PORT", "DUXOS_SVC_TLS",
					"DUXOS_SVC_RATIO", "DUXOS_SVC_PEERS", "DUXOS_DB_PASSWORD",
					"DUXOS_DB_PASSWORD_FILE", "DUXOS_REQ_URL", "DUXOS_REQ_WORKERS",
					NULL};

static char dir[256];

static int setup(void **state)
{
	(void)state;
	for (const char *const *e = env_names; *e; e++)
		unsetenv(*e);
	memset(&conf, 0, sizeof conf);
	unit_tmpdir(dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dux_cfg_free(secs, 1);
	for (const char *const *e = env_names; *e; e++)
		unsetenv(*e);
	unit_rmtree(dir);
	return 0;
}

/* Writes text as dir/name and returns the path (static storage, one at a time). */
static const char *file(const char *name, const char *text)
{
	static char path[512];
	unit_path(path, dir, name);
	unit_write_file(path, text);
	return path;
}

static void load_ok(const char *path)
{
	dux_cfg_err_t err;
	int rc = dux_cfg_load(secs, 1, path, &err);
	if (rc != 0) {
		char msg[700];
		dux_cfg_err_format(&err, msg, sizeof msg);
		fail_msg("load failed: %s", msg);
	}
}

/* Expects a failure; checks where ends with where_suffix and that key and detail match. */
static void load_fails(const char *path, const char *where_suffix, const char *key,
		       const char *detail_part)
{
	dux_cfg_err_t err;
	memset(&err, 0, sizeof err);
	assert_int_equal(dux_cfg_load(secs, 1, path, &err), DUX_EINVAL);
	size_t wl = strlen(err.where), sl = strlen(where_suffix);
	if (wl < sl || strcmp(err.where + wl - sl, where_suffix) != 0)
		fail_msg("where is \"%s\", expected it to end with \"%s\"", err.where, where_suffix);
	assert_string_equal(err.key, key);
	if (!strstr(err.detail, detail_part))
		fail_msg("detail \"%s\" lacks \"%s\"", err.detail, detail_part);
	/* whatever was stored is freed again */
	assert_null(conf.name);
	assert_null(conf.password);
	assert_null(conf.peers.v);
	assert_int_equal(conf.peers.n, 0);
}

static void defaults_apply(void **state)
{
	(void)state;
	load_ok(NULL);
	assert_string_equal(conf.name, "dux");
	assert_true(conf.port == 8101);
	assert_false(conf.tls);
	assert_true(conf.ratio == 0.05);
	assert_int_equal(conf.peers.n, 2);
	assert_string_equal(conf.peers.v[0], "a");
	assert_string_equal(conf.peers.v[1], "b");
	assert_null(conf.password);
}

static void file_overrides_defaults(void **state)
{
	(void)state;
	load_ok(file("a.yaml", "# registry\n"
			       "svc:\n"
			       "  name: registry\n"
			       "  port: 9001\n"
			       "  tls: yes\n"
			       "  ratio: 0.25\n"
			       "  peers:\n"
			       "    - http://x:1\n"
			       "    - http://y:2\n"
			       "    - http://z:3\n"
			       "db:\n"
			       "  password: pw\n"));
	assert_string_equal(conf.name, "registry");
	assert_true(conf.port == 9001);
	assert_true(conf.tls);
	assert_true(conf.ratio == 0.25);
	assert_int_equal(conf.peers.n, 3);
	assert_string_equal(conf.peers.v[2], "http://z:3");
	assert_string_equal(conf.password, "pw");
}

static void file_may_use_dotted_keys_and_flow_style(void **state)
{
	(void)state;
	load_ok(file("a.yaml", "svc.port: 1\nsvc: {tls: off, peers: []}\n"));
	assert_true(conf.port == 1);
	assert_false(conf.tls);
	assert_int_equal(conf.peers.n, 0);
	assert_string_equal(conf.name, "dux");
}

static void empty_file_keeps_defaults(void **state)
{
	(void)state;
	load_ok(file("a.yaml", ""));
	assert_true(conf.port == 8101);
	dux_cfg_free(secs, 1);
	load_ok(file("b.yaml", "# only a comment\n"));
	assert_string_equal(conf.name, "dux");
}

static void env_overrides_file(void **state)
{
	(void)state;
	const char *path = file("a.yaml", "svc:\n  name: fromfile\n  port: 9001\n  tls: false\n"
					  "  ratio: 0.5\n  peers: [p]\n");
	assert_int_equal(setenv("DUXOS_SVC_PORT", "9100", 1), 0);
	assert_int_equal(setenv("DUXOS_SVC_NAME", "fromenv", 1), 0);
	assert_int_equal(setenv("DUXOS_SVC_TLS", "on", 1), 0);
	assert_int_equal(setenv("DUXOS_SVC_RATIO", "0.125", 1), 0);
	assert_int_equal(setenv("DUXOS_SVC_PEERS", " u1 ,u2,, u3 ", 1), 0);
	load_ok(path);
	assert_string_equal(conf.name, "fromenv");
	assert_true(conf.port == 9100);
	assert_true(conf.tls);
	assert_true(conf.ratio == 0.125);
	assert_int_equal(conf.peers.n, 3);
	assert_string_equal(conf.peers.v[0], "u1");
	assert_string_equal(conf.peers.v[1], "u2");
	assert_string_equal(conf.peers.v[2], "u3");
}

static void env_error_names_the_variable(void **state)
{
	(void)state;
	assert_int_equal(setenv("DUXOS_SVC_PORT", "80x", 1), 0);
	load_fails(NULL, "env DUXOS_SVC_PORT", "svc.port", "integer");
}

static void secret_from_key_file_in_yaml(void **state)
{
	(void)state;
	char secret[512];
	snprintf(secret, sizeof secret, "%s", file("pw.txt", "s3cret value\n"));
	char yaml[700];
	snprintf(yaml, sizeof yaml, "db:\n  password_file: %s\n", secret);
	load_ok(file("a.yaml", yaml));
	assert_string_equal(conf.password, "s3cret value");
}

static void secret_from_env_file_strips_newlines(void **state)
{
	(void)state;
	assert_int_equal(setenv("DUXOS_DB_PASSWORD_FILE", file("pw.txt", "tok\r\n"), 1), 0);
	load_ok(NULL);
	assert_string_equal(conf.password, "tok");
	dux_cfg_free(secs, 1);
	/* the env file also wins over a value in YAML */
	assert_int_equal(setenv("DUXOS_DB_PASSWORD_FILE", file("pw2.txt", "second\n"), 1), 0);
	load_ok(file("a.yaml", "db:\n  password: inline\n"));
	assert_string_equal(conf.password, "second");
}

static void secret_file_keeps_inner_newlines(void **state)
{
	(void)state;
	assert_int_equal(setenv("DUXOS_DB_PASSWORD_FILE", file("pw.txt", "a\nb\n\n"), 1), 0);
	load_ok(NULL);
	assert_string_equal(conf.password, "a\nb");
}

static void unknown_key_names_its_line(void **state)
{
	(void)state;
	const char *path = file("a.yaml", "svc:\n  port: 1\n\n  colour: blue\n");
	load_fails(path, "a.yaml:4", "svc.colour", "unknown key");
	dux_cfg_err_t err;
	assert_int_equal(dux_cfg_load(secs, 1, path, &err), DUX_EINVAL);
	char msg[700];
	dux_cfg_err_format(&err, msg, sizeof msg);
	char want[700];
	snprintf(want, sizeof want, "%s:4: svc.colour: unknown key", path);
	assert_string_equal(msg, want);
}

static void bad_values_name_file_line_and_key(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "svc:\n  port: 12abc\n"), "a.yaml:2", "svc.port", "integer");
	load_fails(file("a.yaml", "svc:\n  port: 0x10\n"), "a.yaml:2", "svc.port", "integer");
	load_fails(file("a.yaml", "svc:\n  name: x\n  port: 70000\n"), "a.yaml:3", "svc.port",
		   "between 1 and 65535");
	load_fails(file("a.yaml", "svc:\n  port: 0\n"), "a.yaml:2", "svc.port", "between");
	load_fails(file("a.yaml", "svc:\n  tls: maybe\n"), "a.yaml:2", "svc.tls", "true or false");
	load_fails(file("a.yaml", "svc:\n  ratio: 1.5\n"), "a.yaml:2", "svc.ratio", "between");
	load_fails(file("a.yaml", "svc:\n  ratio: nan\n"), "a.yaml:2", "svc.ratio", "number");
	load_fails(file("a.yaml", "svc:\n  ratio: \n"), "a.yaml:2", "svc.ratio", "number");
}

static void list_where_scalar_expected(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "svc:\n  port:\n    - 1\n    - 2\n"), "a.yaml:2", "svc.port",
		   "not a list");
	load_fails(file("a.yaml", "svc:\n  name: [a, b]\n"), "a.yaml:2", "svc.name", "not a list");
}

static void yaml_syntax_error(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "svc:\n  port: 1\n  name: [unclosed\n"), "", "",
		   "YAML syntax error");
	dux_cfg_err_t err;
	assert_int_equal(dux_cfg_load(secs, 1, file("b.yaml", "svc:\n  port: 1\n   bad: x\n"),
				      &err),
			 DUX_EINVAL);
	assert_non_null(strstr(err.where, "b.yaml:"));
	assert_non_null(strstr(err.detail, "YAML"));
}

static void set_twice_is_an_error(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "svc:\n  port: 1\n  port: 2\n"), "a.yaml:3", "svc.port", "twice");
	load_fails(file("a.yaml", "svc.port: 1\nsvc:\n  port: 2\n"), "a.yaml:3", "svc.port",
		   "twice");
}

static void top_level_must_be_a_mapping(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "- a\n- b\n"), "a.yaml", "", "mapping");
	load_fails(file("a.yaml", "just text\n"), "a.yaml", "", "mapping");
}

static void key_and_key_file_together(void **state)
{
	(void)state;
	char yaml[700];
	snprintf(yaml, sizeof yaml, "db:\n  password: x\n  password_file: %s\n",
		 file("pw.txt", "y\n"));
	load_fails(file("a.yaml", yaml), "a.yaml:3", "db.password_file", "both");
	snprintf(yaml, sizeof yaml, "db:\n  password_file: %s\n  password: x\n",
		 file("pw.txt", "y\n"));
	load_fails(file("a.yaml", yaml), "a.yaml:2", "db.password_file", "both");
}

static void key_file_only_for_secrets(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "svc:\n  name_file: /etc/hostname\n"), "a.yaml:2",
		   "svc.name_file", "unknown key");
}

static void missing_secret_file(void **state)
{
	(void)state;
	load_fails(file("a.yaml", "db:\n  password_file: /nonexistent/dux/pw\n"), "a.yaml:2",
		   "db.password_file", "cannot read secret file");
	assert_int_equal(setenv("DUXOS_DB_PASSWORD_FILE", "/nonexistent/dux/pw", 1), 0);
	load_fails(NULL, "env DUXOS_DB_PASSWORD_FILE", "db.password", "cannot read secret file");
}

static void missing_file_is_an_error(void **state)
{
	(void)state;
	char path[512];
	unit_path(path, dir, "absent.yaml");
	load_fails(path, "absent.yaml", "", "cannot open");
}

typedef struct {
	char *url;
	int64_t workers;
} req_t;

static void missing_required_string(void **state)
{
	(void)state;
	static req_t rq;
	static const dux_cfg_opt_t ro[] = {
		{"req.url", DUX_CFG_STR, offsetof(req_t, url), NULL, 0, 0, DUX_CFG_REQUIRED, "url"},
		{NULL, DUX_CFG_STR, 0, NULL, 0, 0, 0, NULL},
	};
	const dux_cfg_section_t rs[] = {{ro, &rq}, {opts, &conf}};
	dux_cfg_err_t err;
	assert_int_equal(dux_cfg_load(rs, 2, NULL, &err), DUX_EINVAL);
	assert_string_equal(err.key, "req.url");
	assert_string_equal(err.detail, "is required");
	assert_null(conf.name); /* the other section's strings are freed too */
	assert_int_equal(setenv("DUXOS_REQ_URL", "postgres://x", 1), 0);
	assert_int_equal(dux_cfg_load(rs, 2, NULL, &err), 0);
	assert_string_equal(rq.url, "postgres://x");
	dux_cfg_free(rs, 2);
	assert_null(rq.url);
}

/* DUX_CFG_REQUIRED means "no default: must be set" for every type, not only strings. */
static void missing_required_integer(void **state)
{
	(void)state;
	static req_t rq;
	static const dux_cfg_opt_t ro[] = {
		{"req.workers", DUX_CFG_INT, offsetof(req_t, workers), NULL, 1, 64,
		 DUX_CFG_REQUIRED, "worker threads"},
		{NULL, DUX_CFG_STR, 0, NULL, 0, 0, 0, NULL},
	};
	const dux_cfg_section_t rs[] = {{ro, &rq}};
	dux_cfg_err_t err;
	memset(&err, 0, sizeof err);
	int rc = dux_cfg_load(rs, 1, NULL, &err);
	if (rc == 0)
		fail_msg("required req.workers unset, yet loaded as %lld", (long long)rq.workers);
	assert_string_equal(err.key, "req.workers");
	assert_int_equal(setenv("DUXOS_REQ_WORKERS", "4", 1), 0);
	assert_int_equal(dux_cfg_load(rs, 1, NULL, &err), 0);
	assert_true(rq.workers == 4);
}

static void dump_never_prints_secret(void **state)
{
	(void)state;
	char yaml[700];
	snprintf(yaml, sizeof yaml, "svc:\n  name: visible-name\ndb:\n  password_file: %s\n",
		 file("pw.txt", "hunter2-XYZZY\n"));
	load_ok(file("a.yaml", yaml));
	assert_string_equal(conf.password, "hunter2-XYZZY");
	FILE *f = tmpfile();
	assert_non_null(f);
	dux_cfg_dump(secs, 1, f);
	dux_cfg_print_defaults(secs, 1, f);
	rewind(f);
	char *out = unit_read_fd(fileno(f));
	fclose(f);
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "password: \"(set)\""));
	assert_non_null(strstr(out, "name: \"visible-name\""));
	assert_non_null(strstr(out, "port: 8101"));
	assert_non_null(strstr(out, "peers: [\"a\", \"b\"]"));
	assert_non_null(strstr(out, "# database password"));
	free(out);

	dux_cfg_free(secs, 1);
	load_ok(NULL);
	f = tmpfile();
	assert_non_null(f);
	dux_cfg_dump(secs, 1, f);
	rewind(f);
	out = unit_read_fd(fileno(f));
	fclose(f);
	assert_non_null(strstr(out, "password: \"(unset)\""));
	free(out);
}

static void free_after_failure_is_safe(void **state)
{
	(void)state;
	dux_cfg_err_t err;
	assert_int_equal(dux_cfg_load(secs, 1, file("a.yaml", "svc:\n  nope: 1\n"), &err),
			 DUX_EINVAL);
	dux_cfg_free(secs, 1);
	dux_cfg_free(secs, 1);
	assert_null(conf.name);
	load_ok(NULL); /* and the table can be loaded again */
	assert_string_equal(conf.name, "dux");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(defaults_apply),
		T(file_overrides_defaults),
		T(file_may_use_dotted_keys_and_flow_style),
		T(empty_file_keeps_defaults),
		T(env_overrides_file),
		T(env_error_names_the_variable),
		T(secret_from_key_file_in_yaml),
		T(secret_from_env_file_strips_newlines),
		T(secret_file_keeps_inner_newlines),
		T(unknown_key_names_its_line),
		T(bad_values_name_file_line_and_key),
		T(list_where_scalar_expected),
		T(yaml_syntax_error),
		T(set_twice_is_an_error),
		T(top_level_must_be_a_mapping),
		T(key_and_key_file_together),
		T(key_file_only_for_secrets),
		T(missing_secret_file),
		T(missing_file_is_an_error),
		T(missing_required_string),
		T(missing_required_integer),
		T(dump_never_prints_secret),
		T(free_after_failure_is_safe),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
