/* wallet_util.c - see wallet_util.h. */
#include "wallet_util.h"
#include <dux/money.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool start_daemon(wu_wallet_t *w, const char *passphrase, const char *wallet_yaml,
			 bool wait_ready)
{
	char extra[2048];
	if (passphrase)
		snprintf(extra, sizeof extra,
			 "auth:\n  public_key_file: %s\nwallet:\n  encryption: true\n"
			 "  passphrase: \"%s\"\n%s",
			 w->keyfile, passphrase, wallet_yaml ? wallet_yaml : "");
	else
		snprintf(extra, sizeof extra,
			 "auth:\n  public_key_file: %s\nwallet:\n  encryption: false\n%s", w->keyfile,
			 wallet_yaml ? wallet_yaml : "");
	bool ok = th_daemon_start(&w->d, "duxos-wallet", &w->pg, extra, wait_ready);
	w->url = w->d.url;
	return ok;
}

bool wu_start(wu_wallet_t *w, const char *passphrase, const char *wallet_yaml)
{
	char id[33];
	memset(w, 0, sizeof *w);
	dux_random_id(id);
	snprintf(w->keyfile, sizeof w->keyfile, "/tmp/duxos-test-wauth-%.12s.pem", id);
	if (!th_pg_newdb(&w->pg) || !th_auth_key(w->keyfile, &w->key))
		return false;
	if (!wu_bearer(w, "duxos-admin", DUX_SCOPE_ADMIN, w->admin, sizeof w->admin))
		return false;
	return start_daemon(w, passphrase, wallet_yaml, true);
}

bool wu_restart(wu_wallet_t *w, const char *passphrase, const char *wallet_yaml, bool wait_ready)
{
	return start_daemon(w, passphrase, wallet_yaml, wait_ready);
}

int wu_stop(wu_wallet_t *w)
{
	return th_daemon_stop(&w->d);
}

int wu_wait_exit(wu_wallet_t *w, int timeout_ms)
{
	int st = 0;
	for (int waited = 0; w->d.pid > 0; waited += 20) {
		pid_t r = waitpid(w->d.pid, &st, WNOHANG);
		if (r == w->d.pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			kill(w->d.pid, SIGKILL);
			waitpid(w->d.pid, NULL, 0);
			w->d.pid = 0;
			return -1;
		}
		usleep(20000);
	}
	w->d.pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool wu_log_contains(const wu_wallet_t *w, const char *needle)
{
	FILE *f = fopen(w->d.log, "r");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

void wu_forget_log(wu_wallet_t *w)
{
	th_daemon_kill(&w->d); /* not running any more: only removes its config and log */
}

void wu_free(wu_wallet_t *w)
{
	if (w->d.pid > 0)
		th_daemon_kill(&w->d);
	if (w->keyfile[0])
		unlink(w->keyfile);
	w->key = dux_key_free(w->key);
}

void wu_subject(const char *prefix, char out[64])
{
	char id[33];
	dux_random_id(id);
	snprintf(out, 64, "%s-%.12s", prefix, id);
}

/* A token signed by key with any exp, also one in the past (dux_token_mint refuses those). */
static bool craft_token(const dux_key_t *key, const char *sub, unsigned scopes, int64_t exp_in,
			char *out, size_t len)
{
	static const char header[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
	char scope[64], jti[33], claims[512];
	int64_t now = (int64_t)time(NULL);
	dux_random_id(jti);
	int n = snprintf(claims, sizeof claims,
			 "{\"iss\":\"duxos\",\"sub\":\"%s\",\"scope\":\"%s\",\"iat\":%lld,"
			 "\"exp\":%lld,\"jti\":\"%s\"}",
			 sub, dux_scope_format(scopes, scope, sizeof scope),
			 (long long)(now + exp_in - 600), (long long)(now + exp_in), jti);
	if (n < 0 || (size_t)n >= sizeof claims)
		return false;
	char h64[128], c64[1024];
	if (dux_b64url_len(sizeof header - 1) >= sizeof h64 ||
	    dux_b64url_len((size_t)n) >= sizeof c64)
		return false;
	dux_b64url_encode(header, sizeof header - 1, h64);
	dux_b64url_encode(claims, (size_t)n, c64);
	int m = snprintf(out, len, "%s.%s", h64, c64);
	if (m < 0 || (size_t)m + 1 + dux_b64url_len(DUX_ED25519_SIG_LEN) >= len)
		return false;
	uint8_t sig[DUX_ED25519_SIG_LEN];
	if (dux_key_sign(key, out, (size_t)m, sig) < 0)
		return false;
	out[m] = '.';
	dux_b64url_encode(sig, sizeof sig, out + m + 1);
	return true;
}

bool wu_token(const dux_key_t *key, const char *sub, unsigned scopes, int64_t exp_in, char *out,
	      size_t len)
{
	if (exp_in <= 0)
		return craft_token(key, sub, scopes, exp_in, out, len);
	char *tok = NULL;
	if (dux_token_mint(key, "duxos", sub, scopes, exp_in, &tok) < 0)
		return false;
	bool ok = strlen(tok) < len;
	if (ok)
		snprintf(out, len, "%s", tok);
	free(tok);
	return ok;
}

bool wu_bearer(const wu_wallet_t *w, const char *sub, unsigned scopes, char *out, size_t len)
{
	return th_bearer(w->key, sub, scopes, out, len);
}

int wu_http(const wu_wallet_t *w, const char *method, const char *path, const char *auth,
	    const char *const *extra, const char *body, dux_client_resp_t *resp)
{
	return th_http_as(w->url, method, path, auth, extra, body, resp);
}

long wu_call(const wu_wallet_t *w, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret)
{
	return th_call(w->url, method, path, auth, extra, body, ret);
}

bool wu_account(const wu_wallet_t *w, const char *auth, char addr[64])
{
	cJSON *a = NULL;
	long st = wu_call(w, "POST", "/wallet/address", auth, NULL, NULL, &a);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(a, "address");
	bool ok = st == 201 && cJSON_IsString(s) && strlen(s->valuestring) < 64;
	if (ok)
		snprintf(addr, 64, "%s", s->valuestring);
	else
		fprintf(stderr, "POST /wallet/address: %ld\n", st);
	cJSON_Delete(a);
	return ok;
}

long wu_faucet(const wu_wallet_t *w, const char *addr, const char *flop)
{
	char body[256];
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"%s\"}", addr, flop);
	return wu_call(w, "POST", "/v1/faucet", w->admin, NULL, body, NULL);
}

int64_t wu_units(const char *flop)
{
	int64_t u;
	if (!flop || dux_money_parse(flop, strlen(flop), false, &u) < 0)
		return -1;
	return u;
}

static int64_t account_amount(const wu_wallet_t *w, const char *addr, const char *member)
{
	char path[128];
	cJSON *a = NULL;
	snprintf(path, sizeof path, "/v1/accounts/%s", addr);
	long st = wu_call(w, "GET", path, w->admin, NULL, NULL, &a);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, member);
	int64_t u = st == 200 && cJSON_IsString(v) ? wu_units(v->valuestring) : -1;
	cJSON_Delete(a);
	return u;
}

int64_t wu_balance(const wu_wallet_t *w, const char *addr)
{
	return account_amount(w, addr, "balance");
}

int64_t wu_held(const wu_wallet_t *w, const char *addr)
{
	return account_amount(w, addr, "held");
}

int64_t wu_total(const wu_wallet_t *w, const char *addr)
{
	char path[128];
	cJSON *a = NULL;
	snprintf(path, sizeof path, "/v1/accounts/%s", addr);
	long st = wu_call(w, "GET", path, w->admin, NULL, NULL, &a);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(a, "balance");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(a, "held");
	int64_t u = st == 200 && cJSON_IsString(b) && cJSON_IsString(h)
			    ? wu_units(b->valuestring) + wu_units(h->valuestring)
			    : -1;
	cJSON_Delete(a);
	return u;
}

bool wu_ledger_holds(const wu_wallet_t *w)
{
	dux_client_resp_t resp;
	if (wu_http(w, "GET", "/v1/ledger/check", w->admin, NULL, NULL, &resp) < 0)
		return false;
	bool holds = resp.status == 200 &&
		     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp.json, "holds"));
	if (!holds)
		fprintf(stderr, "GET /v1/ledger/check: %ld %s\n", resp.status, resp.body);
	dux_client_resp_clear(&resp);
	return holds;
}

PGconn *wu_pg_session(const wu_wallet_t *w)
{
	char password[256] = "";
	FILE *f = fopen(w->pg.password_file, "r");
	if (f) {
		if (!fgets(password, sizeof password, f))
			password[0] = '\0';
		fclose(f);
	}
	password[strcspn(password, "\r\n")] = '\0';
	const char *const keys[] = {"dbname", "password", NULL};
	const char *const values[] = {w->pg.conninfo, password, NULL};
	PGconn *c = PQconnectdbParams(keys, values, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "PostgreSQL: %s\n", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

int64_t wu_sql_i64(PGconn *c, const char *sql, const char *param)
{
	const char *p[] = {param};
	PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, param ? p : NULL, NULL, NULL, 0);
	int64_t v = -1;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
	PQclear(res);
	return v;
}
