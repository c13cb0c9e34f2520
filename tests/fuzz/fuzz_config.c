/* fuzz_config.c - configuration files: the input is written to a file and loaded with a table
 * holding every option type, a required string and a secret. Loaded values must respect their
 * bounds; a failure must leave an error naming where, and free what it stored. */
#include "fuzz.h"
#include <dux/config.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	char *name, *url, *password;
	int64_t port, workers;
	bool tls;
	double ratio;
	dux_strlist_t peers;
} conf_t;

static conf_t conf;

#define O(f) offsetof(conf_t, f)
static const dux_cfg_opt_t opts[] = {
	{"svc.name", DUX_CFG_STR, O(name), "dux", 0, 0, 0, "service name"},
	{"svc.port", DUX_CFG_INT, O(port), "8101", 1, 65535, 0, "TCP port"},
	{"svc.workers", DUX_CFG_INT, O(workers), "4", -8, 1e12, 0, "threads"},
	{"svc.tls", DUX_CFG_BOOL, O(tls), "false", 0, 0, 0, "TLS"},
	{"svc.ratio", DUX_CFG_DOUBLE, O(ratio), "0.05", 0, 1, 0, "a ratio"},
	{"svc.peers", DUX_CFG_STRLIST, O(peers), "a,b", 0, 0, 0, "peers"},
	{"db.url", DUX_CFG_STR, O(url), "postgres://", 0, 0, DUX_CFG_REQUIRED, "database"},
	{"db.password", DUX_CFG_STR, O(password), NULL, 0, 0, DUX_CFG_SECRET, "password"},
	{NULL, DUX_CFG_STR, 0, NULL, 0, 0, 0, NULL},
};
static const dux_cfg_section_t secs[] = {{opts, &conf}};

static char path[64];
static FILE *devnull;

static void cleanup(void)
{
	if (path[0])
		unlink(path);
}

static void init(void)
{
	if (path[0])
		return;
	static const char *const env[] = {"DUXOS_SVC_NAME", "DUXOS_SVC_PORT", "DUXOS_SVC_WORKERS",
					  "DUXOS_SVC_TLS", "DUXOS_SVC_RATIO", "DUXOS_SVC_PEERS",
					  "DUXOS_DB_URL", "DUXOS_DB_PASSWORD",
					  "DUXOS_DB_PASSWORD_FILE", NULL};
	for (const char *const *e = env; *e; e++)
		unsetenv(*e);
	snprintf(path, sizeof path, "/tmp/dux-fuzz-config.XXXXXX");
	int fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0);
	close(fd);
	atexit(cleanup);
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull != NULL);
}

static bool cstr(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init();
	FILE *f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);

	dux_cfg_err_t err;
	memset(&conf, 0, sizeof conf);
	memset(&err, 0, sizeof err);
	if (dux_cfg_load(secs, 1, path, &err) < 0) {
		FUZZ_CHECK(cstr(err.where, sizeof err.where) && cstr(err.key, sizeof err.key) &&
			   cstr(err.detail, sizeof err.detail));
		FUZZ_CHECK(err.where[0] && err.detail[0]);
		char msg[700];
		dux_cfg_err_format(&err, msg, sizeof msg);
		FUZZ_CHECK(!conf.name && !conf.url && !conf.password && !conf.peers.v);
		dux_cfg_free(secs, 1);
		return 0;
	}
	FUZZ_CHECK(conf.name && conf.url && conf.url[0]);
	FUZZ_CHECK(conf.port >= 1 && conf.port <= 65535);
	FUZZ_CHECK(conf.workers >= -8 && conf.workers <= 1000000000000);
	FUZZ_CHECK(isfinite(conf.ratio) && conf.ratio >= 0 && conf.ratio <= 1);
	FUZZ_CHECK(conf.peers.n <= 256);
	for (size_t i = 0; i < conf.peers.n; i++)
		FUZZ_CHECK(conf.peers.v[i] != NULL);
	dux_cfg_dump(secs, 1, devnull);
	dux_cfg_free(secs, 1);
	FUZZ_CHECK(!conf.name && !conf.peers.v);
	return 0;
}
