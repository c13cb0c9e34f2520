/* escrow_util.c - see escrow_util.h. */
#include "escrow_util.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define WALLET_YAML "  sweep_interval_ms: 100\n"

static bool start_escrow(eu_t *e, bool wait_fund)
{
	char extra[4096];
	snprintf(extra, sizeof extra,
		 "auth:\n  public_key_file: %s\nescrow:\n  wallet_url: \"http://127.0.0.1:%d\"\n"
		 "  wallet_token: \"%s\"\n  audit_key_file: %s\n  recovery_interval_ms: 100\n"
		 "  fund_interval_ms: 200\n  wallet_timeout_ms: 1000\n  recovery_grace_ms: 5000\n%s",
		 e->w.keyfile, e->w.d.port, e->token, e->audit_keyfile, e->escrow_yaml);
	bool ok = th_daemon_respawn(&e->d, "duxos-escrow", &e->w.pg, extra, true);
	e->url = e->d.url;
	if (ok && wait_fund && !eu_wait_fund(e, 30000)) {
		fprintf(stderr, "the escrow's community fund never became ready\n");
		th_daemon_dump_log(&e->d);
		return false;
	}
	return ok;
}

bool eu_start(eu_t *e, const char *escrow_yaml)
{
	char id[33];
	memset(e, 0, sizeof *e);
	snprintf(e->escrow_yaml, sizeof e->escrow_yaml, "%s", escrow_yaml ? escrow_yaml : "");
	if (!wu_start(&e->w, NULL, WALLET_YAML))
		return false;
	snprintf(e->admin, sizeof e->admin, "%s", e->w.admin);
	dux_random_id(id);
	snprintf(e->audit_keyfile, sizeof e->audit_keyfile, "/tmp/duxos-test-audit-%.12s.pem", id);
	if (dux_key_generate(&e->audit_key) < 0 ||
	    dux_key_save_file(e->audit_key, e->audit_keyfile) < 0)
		return false;
	/* a service token that outlives any test */
	if (!wu_token(e->w.key, EU_ESCROW_SUB, DUX_SCOPE_SERVICE, 7200, e->token, sizeof e->token) ||
	    !eu_bearer(e, "duxos-tasks", DUX_SCOPE_SERVICE, e->service, sizeof e->service))
		return false;
	return start_escrow(e, true);
}

void eu_free(eu_t *e)
{
	if (e->d.pid > 0)
		th_daemon_kill(&e->d);
	wu_free(&e->w);
	if (e->audit_keyfile[0])
		unlink(e->audit_keyfile);
	e->audit_key = dux_key_free(e->audit_key);
}

bool eu_escrow_restart(eu_t *e, const char *escrow_yaml, bool wait_fund)
{
	if (escrow_yaml)
		snprintf(e->escrow_yaml, sizeof e->escrow_yaml, "%s", escrow_yaml);
	return start_escrow(e, wait_fund);
}

int eu_escrow_stop(eu_t *e)
{
	return th_daemon_stop(&e->d);
}

void eu_escrow_kill(eu_t *e)
{
	th_daemon_kill(&e->d);
}

bool eu_wallet_restart(eu_t *e)
{
	char extra[2048];
	snprintf(extra, sizeof extra,
		 "auth:\n  public_key_file: %s\nwallet:\n  encryption: false\n%s", e->w.keyfile,
		 WALLET_YAML);
	bool ok = th_daemon_respawn(&e->w.d, "duxos-wallet", &e->w.pg, extra, true);
	e->w.url = e->w.d.url;
	return ok;
}

int eu_wallet_stop(eu_t *e)
{
	return wu_stop(&e->w);
}

void eu_wallet_kill(eu_t *e)
{
	th_daemon_kill(&e->w.d);
}

bool eu_wait_fund(eu_t *e, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		cJSON *f = NULL;
		long st = eu_call(e, "GET", "/v1/community-fund", NULL, NULL, NULL, &f);
		const cJSON *shards = cJSON_GetObjectItemCaseSensitive(f, "shards"), *s;
		if (st == 200 && cJSON_GetArraySize(shards) > 0) {
			e->nshards = 0;
			cJSON_ArrayForEach(s, shards)
			{
				if (cJSON_IsString(s) && e->nshards < EU_SHARDS_MAX)
					snprintf(e->shards[e->nshards++], 64, "%s", s->valuestring);
			}
			cJSON_Delete(f);
			return true;
		}
		cJSON_Delete(f);
		usleep(50000);
	}
	return false;
}

void eu_dump_logs(const eu_t *e)
{
	th_daemon_dump_log(&e->w.d);
	th_daemon_dump_log(&e->d);
}

bool eu_bearer(const eu_t *e, const char *sub, unsigned scopes, char *out, size_t len)
{
	return th_bearer(e->w.key, sub, scopes, out, len);
}

bool eu_user(eu_t *e, eu_user_t *u, const char *prefix, unsigned scope, const char *fund)
{
	memset(u, 0, sizeof *u);
	wu_subject(prefix, u->sub);
	if (!eu_bearer(e, u->sub, scope, u->auth, sizeof u->auth) || !wu_account(&e->w, u->auth, u->addr))
		return false;
	if (e->naccounts < EU_ACCOUNTS_MAX)
		snprintf(e->accounts[e->naccounts++], 64, "%s", u->addr);
	if (!fund)
		return true;
	if (wu_faucet(&e->w, u->addr, fund) != 201)
		return false;
	e->faucet_total += wu_units(fund);
	return true;
}

int eu_http(const eu_t *e, const char *method, const char *path, const char *auth,
	    const char *const *extra, const char *body, dux_client_resp_t *resp)
{
	return th_http_as(e->url, method, path, auth, extra, body, resp);
}

long eu_call(const eu_t *e, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret)
{
	return th_call(e->url, method, path, auth, extra, body, ret);
}

const char *eu_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

int64_t eu_amount(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? wu_units(v->valuestring) : -1;
}

bool eu_fund(const eu_t *e, int64_t *balance, int64_t *total_inflow)
{
	cJSON *f = NULL;
	long st = eu_call(e, "GET", "/v1/community-fund", NULL, NULL, NULL, &f);
	if (st == 200) {
		*balance = eu_amount(f, "balance");
		*total_inflow = eu_amount(f, "total_inflow");
	}
	cJSON_Delete(f);
	return st == 200;
}

bool eu_wait_fund_balance(const eu_t *e, int64_t want, int timeout_ms)
{
	int64_t b = -1, in = -1;
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		if (eu_fund(e, &b, &in) && b == want)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "GET /v1/community-fund: balance %lld units, expected %lld\n", (long long)b,
		(long long)want);
	return false;
}

int64_t eu_fund_in_wallet(const eu_t *e)
{
	int64_t sum = 0;
	for (int i = 0; i < e->nshards; i++) {
		int64_t b = wu_balance(&e->w, e->shards[i]);
		if (b < 0)
			return -1;
		sum += b;
	}
	return sum;
}

static int64_t inside_of(const eu_t *e, const char *addr)
{
	int64_t b = wu_balance(&e->w, addr), h = wu_held(&e->w, addr);
	if (b < 0 || h < 0) {
		fprintf(stderr, "account %s: unreadable\n", addr);
		return INT64_MIN / 4;
	}
	return b + h;
}

int64_t eu_inside(const eu_t *e)
{
	int64_t sum = 0;
	for (int i = 0; i < e->naccounts; i++)
		sum += inside_of(e, e->accounts[i]);
	for (int i = 0; i < e->nshards; i++)
		sum += inside_of(e, e->shards[i]);
	return sum;
}

bool eu_conserved(const eu_t *e)
{
	bool holds = wu_ledger_holds(&e->w);
	int64_t inside = eu_inside(e);
	if (inside != e->faucet_total)
		fprintf(stderr, "users, providers and the fund hold %lld units; the faucet gave %lld\n",
			(long long)inside, (long long)e->faucet_total);
	return holds && inside == e->faucet_total;
}

void eu_audit_free(eu_entry_t *all, int n)
{
	for (int i = 0; i < n; i++)
		free(all[i].data);
	free(all);
}

/* The published audit key, checked against the one the escrow was given. */
static dux_key_t *audit_pub(const eu_t *e)
{
	cJSON *k = NULL;
	long st = eu_call(e, "GET", "/v1/audit/key", NULL, NULL, NULL, &k);
	const char *pk = eu_str(k, "public_key");
	uint8_t pub[64], mine[DUX_ED25519_PUB_LEN];
	size_t len = 0;
	dux_key_t *key = NULL;
	bool ok = st == 200 && strcmp(eu_str(k, "algorithm"), "Ed25519") == 0 &&
		  dux_b64url_decode(pk, strlen(pk), pub, sizeof pub, &len) == 0 &&
		  len == DUX_ED25519_PUB_LEN && dux_key_public(e->audit_key, mine) == 0 &&
		  memcmp(pub, mine, sizeof mine) == 0 && dux_key_from_public(pub, &key) == 0;
	if (!ok)
		fprintf(stderr, "GET /v1/audit/key: %ld, public_key \"%s\": not the audit key\n", st, pk);
	cJSON_Delete(k);
	return ok ? key : NULL;
}

/* Checks one entry after prev (updated to its hash). */
static bool entry_ok(const cJSON *en, int64_t want_seq, const dux_key_t *key, char prev[65])
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(en, "seq");
	const cJSON *eid = cJSON_GetObjectItemCaseSensitive(en, "escrow_id");
	const char *data = eu_str(en, "data"), *escrow_id = cJSON_IsString(eid) ? eid->valuestring : "";
	int64_t seq = cJSON_IsNumber(s) ? (int64_t)s->valuedouble : -1;
	if (seq != want_seq) {
		fprintf(stderr, "audit: entry %lld where %lld was due\n", (long long)seq,
			(long long)want_seq);
		return false;
	}
	if (strcmp(eu_str(en, "prev_hash"), prev) != 0) {
		fprintf(stderr, "audit %lld: prev_hash %s, the entry before has %s\n", (long long)seq,
			eu_str(en, "prev_hash"), prev);
		return false;
	}
	size_t len = strlen(data) + strlen(eu_str(en, "actor")) + 512;
	char *canon = malloc(len), hex[65];
	if (!canon)
		return false;
	int cl = snprintf(canon, len, "DUX-AUDIT-1\n%lld\n%s\n%s\n%s\n%s\n%s\n%s", (long long)seq,
			  prev, eu_str(en, "action"), escrow_id, eu_str(en, "actor"),
			  eu_str(en, "created_at"), data);
	uint8_t h[DUX_SHA256_LEN], sig[96];
	dux_sha256(canon, (size_t)cl, h);
	free(canon);
	dux_hex_encode(h, sizeof h, hex);
	if (strcmp(hex, eu_str(en, "hash")) != 0) {
		fprintf(stderr, "audit %lld: hash %s, recomputed %s\n", (long long)seq,
			eu_str(en, "hash"), hex);
		return false;
	}
	const char *sg = eu_str(en, "signature");
	size_t sl = 0;
	if (dux_b64url_decode(sg, strlen(sg), sig, sizeof sig, &sl) < 0 || sl != DUX_ED25519_SIG_LEN ||
	    dux_key_verify(key, hex, 64, sig) != 0) {
		fprintf(stderr, "audit %lld: the signature does not verify\n", (long long)seq);
		return false;
	}
	memcpy(prev, hex, 65);
	return true;
}

bool eu_audit_read(const eu_t *e, eu_entry_t **ret, int *ret_n)
{
	dux_key_t *key = audit_pub(e);
	eu_entry_t *all = NULL;
	int n = 0, cap = 0;
	bool ok = key != NULL;
	char prev[65];
	memset(prev, '0', 64);
	prev[64] = '\0';
	for (bool more = ok; more;) {
		char path[96];
		cJSON *page = NULL;
		snprintf(path, sizeof path, "/v1/audit?after=%d&limit=1000", n);
		long st = eu_call(e, "GET", path, e->admin, NULL, NULL, &page);
		const cJSON *en, *arr = cJSON_GetObjectItemCaseSensitive(page, "entries");
		if (st != 200 || !cJSON_IsArray(arr)) {
			fprintf(stderr, "GET %s: %ld\n", path, st);
			ok = more = false;
		}
		more = more && cJSON_GetArraySize(arr) == 1000;
		cJSON_ArrayForEach(en, arr)
		{
			if (!ok || !entry_ok(en, n + 1, key, prev)) {
				ok = more = false;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				eu_entry_t *grown = realloc(all, (size_t)cap * sizeof *all);
				if (!grown) {
					ok = more = false;
					break;
				}
				all = grown;
			}
			eu_entry_t *x = &all[n++];
			const cJSON *eid = cJSON_GetObjectItemCaseSensitive(en, "escrow_id");
			x->seq = n;
			snprintf(x->action, sizeof x->action, "%s", eu_str(en, "action"));
			snprintf(x->escrow_id, sizeof x->escrow_id, "%s",
				 cJSON_IsString(eid) ? eid->valuestring : "");
			snprintf(x->actor, sizeof x->actor, "%s", eu_str(en, "actor"));
			memcpy(x->hash, prev, sizeof x->hash);
			x->data = strdup(eu_str(en, "data"));
		}
		cJSON_Delete(page);
	}
	dux_key_free(key);
	if (!ok) {
		eu_audit_free(all, n);
		all = NULL;
		n = 0;
	}
	*ret = all;
	*ret_n = n;
	return ok;
}
