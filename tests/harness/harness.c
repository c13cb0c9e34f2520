/* harness.c - see harness.h. */
#include "harness.h"
#include <dux/address.h>
#include <dux/auth.h>
#include <dux/json.h>
#include <dux/sign.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

bool th_env_value(const char *file, const char *key, char *out, size_t len)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	bool found = false;
	size_t kl = strlen(key);
	while (f && !found && fgets(line, sizeof line, f)) {
		if (strncmp(line, key, kl) != 0 || line[kl] != '=')
			continue;
		char *v = line + kl + 1;
		v[strcspn(v, "\n")] = '\0';
		size_t n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v[n - 1] = '\0';
			v++;
		}
		snprintf(out, len, "%s", v);
		found = true;
	}
	if (f)
		fclose(f);
	return found;
}

#define PGCTL DUX_SOURCE_DIR "/deploy/local/pgctl.sh"

/* Runs pgctl.sh with up to three arguments (arg3 may be NULL); returns its exit status. */
static int pgctl(const char *cmd, const char *dir, const char *arg3)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		execl(PGCTL, PGCTL, cmd, dir, arg3, (char *)NULL);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int th_pg_ctl(const th_pg_t *pg, const char *cmd)
{
	return pgctl(cmd, pg->dir, NULL);
}

bool th_pg_newdb(th_pg_t *pg)
{
	const char *dir = getenv("DUX_TEST_PG_DIR");
	char env[300], base[400], name[40], id[33];
	if (!dir) {
		fprintf(stderr, "DUX_TEST_PG_DIR is not set: run under ctest\n");
		return false;
	}
	snprintf(pg->dir, sizeof pg->dir, "%s", dir);
	snprintf(env, sizeof env, "%s/env", dir);
	if (!th_env_value(env, "DUX_PG_CONNINFO", base, sizeof base) ||
	    !th_env_value(env, "DUX_PG_PASSWORD_FILE", pg->password_file, sizeof pg->password_file)) {
		fprintf(stderr, "cannot read %s\n", env);
		return false;
	}
	dux_random_id(id);
	snprintf(name, sizeof name, "t_%.20s", id);
	if (pgctl("createdb", dir, name) != 0) {
		fprintf(stderr, "pgctl.sh createdb %s failed\n", name);
		return false;
	}
	/* the cluster's conninfo names dbname=duxos: point it at the new database */
	char *db = strstr(base, "dbname=");
	if (!db)
		return false;
	*db = '\0';
	const char *rest = strchr(db + 1, ' ');
	snprintf(pg->conninfo, sizeof pg->conninfo, "%sdbname=%s%s", base, name, rest ? rest : "");
	return true;
}

/* A port below the kernel's ephemeral range (32768 and up on Linux): there the connections this
 * machine opens, to PostgreSQL for one, cannot take it between this check and the daemon's
 * bind. Random, so that tests running side by side rarely try the same one. */
int th_free_port(void)
{
	for (int tries = 0; tries < 200; tries++) {
		uint8_t r[2];
		dux_random_bytes(r, sizeof r);
		int port = 20000 + ((r[0] << 8 | r[1]) % 12000);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		bool ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0;
		if (s >= 0)
			close(s);
		if (ok)
			return port;
	}
	return -1;
}

static bool write_config(th_daemon_t *d, const th_pg_t *pg, const char *extra)
{
	FILE *f = fopen(d->config, "w");
	if (!f)
		return false;
	fprintf(f,
		"http:\n  port: %d\ndb:\n  conninfo: \"%s\"\n  password_file: %s\n"
		"  pool_size: 8\nbus:\n  endpoint: \"%s\"\nlog:\n  level: info\n%s",
		d->port, pg->conninfo, pg->password_file, d->bus, extra ? extra : "");
	return fclose(f) == 0;
}

/* Waits for /readyz 200; false at the deadline or as soon as the daemon has exited (it is
 * then reaped: d->pid becomes -1). */
static bool wait_ready_or_exit(th_daemon_t *d, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = -1;
			return false;
		}
		if (th_wait_status(d->url, "/readyz", 200, 50))
			return true;
	}
	return false;
}

/* Writes the config and starts bin/NAME on d's ports. */
static bool spawn(th_daemon_t *d, const char *name, const th_pg_t *pg, const char *extra_yaml,
		  bool wait_ready)
{
	char id[33];
	dux_random_id(id);
	snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", d->port);
	snprintf(d->bus, sizeof d->bus, "tcp://127.0.0.1:%d", d->bus_port);
	snprintf(d->config, sizeof d->config, "/tmp/duxos-test-%.12s.yaml", id);
	snprintf(d->log, sizeof d->log, "/tmp/duxos-test-%.12s.log", id);
	if (!write_config(d, pg, extra_yaml))
		return false;
	char bin[512];
	snprintf(bin, sizeof bin, "%s/%s", DUX_BIN_DIR, name);
	d->pid = fork();
	if (d->pid == 0) {
		/* a test that dies halfway takes its daemons with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl(bin, name, "--config", d->config, (char *)NULL);
		_exit(127);
	}
	if (d->pid < 0)
		return false;
	if (wait_ready && !wait_ready_or_exit(d, 30000)) {
		th_daemon_dump_log(d);
		return false;
	}
	return true;
}

/* A daemon that could not bind its ports: another process took one between th_free_port's
 * check and the daemon's bind (tests run side by side). */
static bool lost_port_race(const th_daemon_t *d)
{
	FILE *f = fopen(d->log, "r");
	char line[1024];
	bool lost = false;
	while (f && !lost && fgets(line, sizeof line, f))
		lost = strstr(line, "cannot listen") || strstr(line, "cannot bind");
	if (f)
		fclose(f);
	return lost;
}

bool th_daemon_start(th_daemon_t *d, const char *name, const th_pg_t *pg, const char *extra_yaml,
		     bool wait_ready)
{
	for (int tries = 0;; tries++) {
		memset(d, 0, sizeof *d);
		d->port = th_free_port();
		d->bus_port = th_free_port();
		if (spawn(d, name, pg, extra_yaml, wait_ready))
			return true;
		if (tries == 3 || d->pid > 0 || !lost_port_race(d))
			return false;
		fprintf(stderr, "%s lost a port to another process; starting it on others\n", name);
		unlink(d->config);
		unlink(d->log);
	}
}

bool th_daemon_respawn(th_daemon_t *d, const char *name, const th_pg_t *pg,
		       const char *extra_yaml, bool wait_ready)
{
	if (d->port <= 0) {
		d->port = th_free_port();
		d->bus_port = th_free_port();
	}
	return spawn(d, name, pg, extra_yaml, wait_ready);
}

bool th_wait_status(const char *url, const char *path, long status, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		dux_client_resp_t resp;
		if (th_http(url, "GET", path, NULL, NULL, &resp) == 0) {
			bool ok = resp.status == status;
			dux_client_resp_clear(&resp);
			if (ok)
				return true;
		}
		usleep(50000);
	}
	return false;
}

int th_daemon_stop(th_daemon_t *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int st;
	pid_t r;
	while ((r = waitpid(d->pid, &st, 0)) < 0 && errno == EINTR)
		;
	d->pid = 0;
	unlink(d->config);
	if (r < 0 || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) != 0)
		th_daemon_dump_log(d);
	else
		unlink(d->log);
	return WEXITSTATUS(st);
}

void th_daemon_kill(th_daemon_t *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
	}
	d->pid = 0;
	unlink(d->config);
	unlink(d->log);
}

void th_daemon_dump_log(const th_daemon_t *d)
{
	FILE *f = fopen(d->log, "r");
	char line[2048];
	fprintf(stderr, "---- log of %s ----\n", d->url);
	while (f && fgets(line, sizeof line, f))
		fputs(line, stderr);
	if (f)
		fclose(f);
}

int th_http(const char *url, const char *method, const char *path, const char *body,
	    const char *const *extra, dux_client_resp_t *resp)
{
	dux_client_t *c;
	dux_client_opts_t o = {.base_url = url, .timeout_ms = 10000};
	int r = dux_client_new(&o, &c);
	if (r < 0)
		return r;
	r = dux_client_do(c, method, path, extra, body, body ? strlen(body) : 0, resp);
	dux_client_free(c);
	return r;
}

const char *th_problem(const dux_client_resp_t *resp)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(resp->json, "type");
	const char *prefix = "urn:duxos:problem:";
	if (!cJSON_IsString(t) || strncmp(t->valuestring, prefix, strlen(prefix)) != 0)
		return "";
	return t->valuestring + strlen(prefix);
}

bool th_node_new(th_node_t *n)
{
	memset(n, 0, sizeof *n);
	uint8_t pub[DUX_ED25519_PUB_LEN];
	if (dux_key_generate(&n->key) < 0 || dux_key_public(n->key, pub) < 0)
		return false;
	dux_node_id(pub, n->id);
	dux_b64url_encode(pub, sizeof pub, n->pub_b64);
	return true;
}

void th_node_free(th_node_t *n)
{
	n->key = dux_key_free(n->key);
}

int64_t th_node_counter(th_node_t *n)
{
	int64_t c = dux_now_us() / 1000;
	if (c <= n->last_counter)
		c = n->last_counter + 1;
	n->last_counter = c;
	return c;
}

int th_signed(const char *url, th_node_t *n, const char *method, const char *path,
	      const char *body, int64_t counter, dux_client_resp_t *resp)
{
	if (counter == 0)
		counter = th_node_counter(n);
	char sig[DUX_SIG_B64_LEN + 1];
	int r = dux_sign_request(n->key, method, path, n->id, counter, body, body ? strlen(body) : 0,
				 sig);
	if (r < 0)
		return r;
	char h1[80], h2[64], h3[128];
	snprintf(h1, sizeof h1, "%s: %s", DUX_HDR_NODE, n->id);
	snprintf(h2, sizeof h2, "%s: %lld", DUX_HDR_COUNTER, (long long)counter);
	snprintf(h3, sizeof h3, "%s: %s", DUX_HDR_SIGNATURE, sig);
	const char *extra[] = {h1, h2, h3, NULL};
	return th_http(url, method, path, body, extra, resp);
}

void th_address(char out[64])
{
	char *pem = NULL;
	if (dux_address_new(DUX_NET_MAINNET, out, &pem) < 0)
		out[0] = '\0';
	free(pem);
}

bool th_auth_key(const char *pub_path, dux_key_t **ret)
{
	dux_key_t *k = NULL;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	if (dux_key_generate(&k) < 0 || dux_key_public(k, pub) < 0)
		return false;
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, sizeof pub);
	FILE *f = fopen(pub_path, "w");
	bool ok = p && f && PEM_write_PUBKEY(f, p) == 1;
	if (f)
		ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(p);
	if (!ok) {
		dux_key_free(k);
		return false;
	}
	*ret = k;
	return true;
}

bool th_bearer(const dux_key_t *key, const char *sub, unsigned scopes, char *out, size_t len)
{
	char *tok = NULL;
	if (dux_token_mint(key, "duxos", sub, scopes, 600, &tok) < 0)
		return false;
	snprintf(out, len, "Authorization: Bearer %s", tok);
	free(tok);
	return true;
}

int th_http_as(const char *url, const char *method, const char *path, const char *auth,
	       const char *const *extra, const char *body, dux_client_resp_t *resp)
{
	const char *h[16];
	int n = 0;
	if (auth)
		h[n++] = auth;
	for (int i = 0; extra && extra[i] && n < 15; i++)
		h[n++] = extra[i];
	h[n] = NULL;
	return th_http(url, method, path, body, n ? h : NULL, resp);
}

long th_call(const char *url, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret)
{
	dux_client_resp_t resp;
	if (ret)
		*ret = NULL;
	if (th_http_as(url, method, path, auth, extra, body, &resp) < 0)
		return -1;
	long st = resp.status;
	if (ret) {
		*ret = resp.json;
		resp.json = NULL;
	}
	dux_client_resp_clear(&resp);
	return st;
}
