/* airdrop_util.c - see airdrop_util.h. */
#include "airdrop_util.h"
#include <dux/json.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ESCROW_YAML "  community_bps: 10000\n"

/* One "  key: value" line of the airdrop's section, unless air_yaml sets key itself (the
 * loader refuses a key written twice). */
static void line(const au_t *a, char *yaml, size_t cap, const char *key, const char *value)
{
	char probe[80];
	snprintf(probe, sizeof probe, "  %s:", key);
	if (strstr(a->air_yaml, probe))
		return;
	size_t n = strlen(yaml);
	snprintf(yaml + n, cap - n, "  %s: %s\n", key, value);
}

static bool start_airdrop(au_t *a)
{
	static char yaml[8192];
	char v[1200];
	snprintf(yaml, sizeof yaml, "auth:\n  public_key_file: %s\nairdrop:\n", a->e.w.keyfile);
	const char *fixed[][2] = {
		{"threshold", "\"1\""},		  {"min_node_age", "0"},
		{"check_interval_ms", "100"},	  {"peer_timeout_ms", "1000"},
		{"recovery_grace_ms", "4500"},	  {"events_poll_ms", "200"},
		{"approvals_required", "2"},	  {"audit_key_file", a->audit_keyfile},
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		line(a, yaml, sizeof yaml, fixed[i][0], fixed[i][1]);
	const char *urls[][2] = {
		{"escrow_url", a->e.d.url},   {"escrow_events", a->e.d.bus},
		{"registry_url", a->reg.url}, {"registry_events", a->reg.bus},
		{"tasks_url", a->tasks.url},  {"tasks_events", a->tasks.bus},
		{"wallet_url", a->e.w.d.url}, {"service_token", a->token},
	};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		snprintf(v, sizeof v, "\"%s\"", urls[i][1]);
		line(a, yaml, sizeof yaml, urls[i][0], v);
	}
	snprintf(v, sizeof v, "[\"%s\", \"%s\", \"%s\"]", a->approver_b64[0], a->approver_b64[1],
		 a->approver_b64[2]);
	line(a, yaml, sizeof yaml, "approvers", v);
	size_t n = strlen(yaml);
	snprintf(yaml + n, sizeof yaml - n, "%s", a->air_yaml);
	return th_daemon_respawn(&a->air, "duxos-airdrop", &a->e.w.pg, yaml, true);
}

bool au_start(au_t *a, const char *airdrop_yaml)
{
	char id[33];
	memset(a, 0, sizeof *a);
	snprintf(a->air_yaml, sizeof a->air_yaml, "%s", airdrop_yaml ? airdrop_yaml : "");
	if (!eu_start(&a->e, ESCROW_YAML))
		return false;
	char reg_yaml[512];
	snprintf(reg_yaml, sizeof reg_yaml,
		 "auth:\n  public_key_file: %s\nregistry:\n  heartbeat_timeout: 5\n"
		 "  monitor_interval: 1\n",
		 a->e.w.keyfile);
	if (!th_daemon_start(&a->reg, "duxos-registry", &a->e.w.pg, reg_yaml, true) ||
	    !th_daemon_start(&a->tasks, "fake-tasks-events", &a->e.w.pg, NULL, true)) {
		fprintf(stderr, "au_start: the registry or the fake task events did not start\n");
		return false;
	}
	for (int k = 0; k < AU_APPROVERS; k++) {
		uint8_t pub[DUX_ED25519_PUB_LEN];
		if (dux_key_generate(&a->approvers[k]) < 0 ||
		    dux_key_public(a->approvers[k], pub) < 0)
			return false;
		dux_b64url_encode(pub, sizeof pub, a->approver_b64[k]);
	}
	dux_key_t *audit = NULL;
	dux_random_id(id);
	snprintf(a->audit_keyfile, sizeof a->audit_keyfile, "/tmp/duxos-test-aaudit-%.12s.pem", id);
	bool ok = dux_key_generate(&audit) == 0 && dux_key_save_file(audit, a->audit_keyfile) == 0;
	dux_key_free(audit);
	if (!ok ||
	    !wu_token(a->e.w.key, "duxos-airdrop", DUX_SCOPE_SERVICE, 7200, a->token,
		      sizeof a->token) ||
	    !eu_bearer(&a->e, "duxos-tasks", DUX_SCOPE_SERVICE, a->service, sizeof a->service) ||
	    !eu_user(&a->e, &a->payer, "payer", DUX_SCOPE_USER, "10000")) {
		fprintf(stderr, "au_start: keys, tokens or the payer's account failed\n");
		return false;
	}
	return start_airdrop(a);
}

bool au_airdrop_restart(au_t *a, const char *airdrop_yaml)
{
	if (airdrop_yaml)
		snprintf(a->air_yaml, sizeof a->air_yaml, "%s", airdrop_yaml);
	if (a->air.pid > 0 && th_daemon_stop(&a->air) != 0)
		return false; /* not clean under the sanitizers */
	return start_airdrop(a);
}

bool au_stop(au_t *a)
{
	bool ok = true;
	th_daemon_t *ds[] = {&a->air, &a->tasks, &a->reg};
	for (int i = 0; i < 3; i++)
		if (ds[i]->pid > 0 && th_daemon_stop(ds[i]) != 0)
			ok = false;
	if (a->e.d.pid > 0 && eu_escrow_stop(&a->e) != 0)
		ok = false;
	if (a->e.w.d.pid > 0 && eu_wallet_stop(&a->e) != 0)
		ok = false;
	eu_free(&a->e);
	for (int k = 0; k < AU_APPROVERS; k++)
		a->approvers[k] = dux_key_free(a->approvers[k]);
	if (a->audit_keyfile[0])
		unlink(a->audit_keyfile);
	return ok;
}

void au_dump_logs(const au_t *a)
{
	eu_dump_logs(&a->e);
	th_daemon_dump_log(&a->reg);
	th_daemon_dump_log(&a->air);
}

long au_call(const au_t *a, const char *method, const char *path, const char *auth,
	     const char *body, cJSON **ret)
{
	return th_call(a->air.url, method, path, auth, NULL, body, ret);
}

bool au_node(au_t *a, au_node_t *n, const char *wallet)
{
	memset(n, 0, sizeof *n);
	if (!th_node_new(&n->id))
		return false;
	if (wallet)
		snprintf(n->wallet, sizeof n->wallet, "%s", wallet);
	else if (eu_user(&a->e, &n->owner, "node", DUX_SCOPE_PROVIDER, NULL))
		snprintf(n->wallet, sizeof n->wallet, "%s", n->owner.addr);
	else
		return false;
	char body[1024];
	snprintf(body, sizeof body,
		 "{\"public_key\":\"%s\",\"wallet_address\":\"%s\",\"ip_address\":\"10.0.0.7\","
		 "\"port\":8080,\"capabilities\":[\"task_execution\"],\"resources\":{\"cpu_cores\":4,"
		 "\"memory_mb\":4096,\"disk_mb\":100000}}",
		 n->id.pub_b64, n->wallet);
	dux_client_resp_t resp;
	if (th_signed(a->reg.url, &n->id, "POST", "/v1/nodes/register", body, 0, &resp) < 0)
		return false;
	long st = resp.status;
	dux_client_resp_clear(&resp);
	if (st != 201)
		return false;
	char path[96];
	snprintf(path, sizeof path, "/v1/airdrop/eligibility/%s", n->id.id);
	for (int waited = 0; waited < 20000; waited += 50) {
		if (au_call(a, "GET", path, NULL, NULL, NULL) == 200)
			return true;
		usleep(50000);
	}
	return false;
}

static void hexid(const char *prefix, char out[40])
{
	char r[33];
	dux_random_id(r);
	snprintf(out, 40, "%s%s", prefix, r);
}

bool au_task(au_t *a, bool succeeded, au_node_t *const *nodes, const char *const *verdicts,
	     int n)
{
	char task[40], now[40];
	hexid("tsk_", task);
	dux_time_format(dux_now_us(), now);
	cJSON *ev = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(ev, "data");
	cJSON_AddStringToObject(ev, "type", succeeded ? "task.succeeded" : "task.failed");
	cJSON_AddStringToObject(ev, "subject", task);
	cJSON_AddStringToObject(data, "id", task);
	cJSON_AddStringToObject(data, "state", succeeded ? "succeeded" : "failed");
	cJSON_AddStringToObject(data, "finished_at", now);
	cJSON *atts = cJSON_AddArrayToObject(data, "attempts");
	for (int i = 0; i < n; i++) {
		char att[40];
		hexid("att_", att);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", att);
		cJSON_AddStringToObject(o, "node_id", nodes[i]->id.id);
		cJSON_AddStringToObject(o, "wallet_address", nodes[i]->wallet);
		cJSON_AddStringToObject(o, "state", "reported");
		cJSON_AddStringToObject(o, "verdict", verdicts[i]);
		cJSON *u = cJSON_AddObjectToObject(o, "usage");
		cJSON_AddNumberToObject(u, "cpu_user_us", 1000);
		cJSON_AddNumberToObject(u, "cpu_sys_us", 10);
		cJSON_AddStringToObject(o, "started_at", now);
		cJSON_AddStringToObject(o, "finished_at", now);
		cJSON_AddItemToArray(atts, o);
	}
	char *body = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	long st = body ? th_call(a->tasks.url, "POST", "/v1/fake/events", NULL, NULL, body, NULL)
		       : -1;
	free(body);
	return st == 201;
}

bool au_feed(au_t *a, const char *flop)
{
	char body[512];
	cJSON *esc = NULL;
	/* the provider side gets nothing (community_bps 10000) but must be an account */
	static eu_user_t prov;
	static bool made;
	if (!made) {
		if (!eu_user(&a->e, &prov, "prov", DUX_SCOPE_PROVIDER, NULL))
			return false;
		made = true;
	}
	snprintf(body, sizeof body,
		 "{\"api_id\":\"api.airdrop\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\","
		 "\"amount\":\"%s\"}",
		 a->payer.addr, prov.addr, flop);
	if (eu_call(&a->e, "POST", "/v1/escrow/create", a->payer.auth, NULL, body, &esc) != 201) {
		cJSON_Delete(esc);
		return false;
	}
	char rel[256], h[65];
	uint8_t d[DUX_SHA256_LEN];
	const char *id = eu_str(esc, "id");
	dux_sha256(id, strlen(id), d);
	dux_hex_encode(d, sizeof d, h);
	snprintf(rel, sizeof rel, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", id, h);
	long st = eu_call(&a->e, "POST", "/v1/escrow/release", a->e.service, NULL, rel, NULL);
	cJSON_Delete(esc);
	return st == 200;
}

bool au_wait_verdict(const au_t *a, const char *node_id, const char *criterion,
		     const char *verdict)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/airdrop/eligibility/%s", node_id);
	for (int waited = 0; waited < 20000; waited += 50) {
		cJSON *o = NULL, *c;
		bool ok = false;
		if (au_call(a, "GET", path, NULL, NULL, &o) == 200) {
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(o, "criteria"))
			{
				if (strcmp(eu_str(c, "name"), criterion) == 0)
					ok = strcmp(eu_str(c, "verdict"), verdict) == 0;
			}
		}
		cJSON_Delete(o);
		if (ok)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "node %s: criterion %s never became %s\n", node_id, criterion, verdict);
	return false;
}

cJSON *au_wait_round(const au_t *a, const char *status, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		cJSON *o = NULL;
		if (au_call(a, "GET", "/v1/airdrop/rounds?limit=1", NULL, NULL, &o) == 200) {
			const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "rounds"), 0);
			if (r && (!status || strcmp(eu_str(r, "status"), status) == 0)) {
				char path[96];
				snprintf(path, sizeof path, "/v1/airdrop/rounds/%s", eu_str(r, "id"));
				cJSON *full = NULL;
				long st = au_call(a, "GET", path, NULL, NULL, &full);
				cJSON_Delete(o);
				if (st == 200)
					return full;
				cJSON_Delete(full);
				o = NULL;
			}
		}
		cJSON_Delete(o);
		usleep(50000);
	}
	return NULL;
}

int au_round_count(const au_t *a)
{
	cJSON *o = NULL;
	int n = -1;
	if (au_call(a, "GET", "/v1/airdrop/rounds?limit=100", NULL, NULL, &o) == 200)
		n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "rounds"));
	cJSON_Delete(o);
	return n;
}

/* The canonical text of services/airdrop/digest.c, rebuilt from what GET shows. */
static bool digest_of(const cJSON *round, char out[65])
{
	int64_t fund = eu_amount(round, "fund_balance"), total = eu_amount(round, "total");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(round, "recipients"), *r;
	size_t cap = (size_t)cJSON_GetArraySize(rs) * 128 + 256, len = 0;
	char *buf = malloc(cap);
	if (!buf || fund < 0 || total < 0)
		return free(buf), false;
	len += (size_t)snprintf(buf + len, cap - len,
				"DUX-AIRDROP-ROUND-1\nround %s\nfund_balance %lld\nrecipients %d\n",
				eu_str(round, "id"), (long long)fund, cJSON_GetArraySize(rs));
	cJSON_ArrayForEach(r, rs)
	{
		len += (size_t)snprintf(buf + len, cap - len, "%s %lld\n", eu_str(r, "address"),
					(long long)eu_amount(r, "amount"));
	}
	len += (size_t)snprintf(buf + len, cap - len, "total %lld\n", (long long)total);
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(buf, len, h);
	free(buf);
	dux_hex_encode(h, sizeof h, out);
	return true;
}

bool au_approval(const au_t *a, const cJSON *round, int k, const dux_key_t *key, char *out,
		 size_t len)
{
	char digest[65], sig64[100];
	uint8_t sig[DUX_ED25519_SIG_LEN];
	if (!digest_of(round, digest) || strcmp(digest, eu_str(round, "digest")) != 0) {
		fprintf(stderr, "the round's digest %s is not the one rebuilt (%s)\n",
			eu_str(round, "digest"), digest);
		return false;
	}
	if (dux_key_sign(key ? key : a->approvers[k], digest, 64, sig) < 0)
		return false;
	dux_b64url_encode(sig, sizeof sig, sig64);
	snprintf(out, len, "{\"approver\":\"%s\",\"signature\":\"%s\"}", a->approver_b64[k], sig64);
	return true;
}
