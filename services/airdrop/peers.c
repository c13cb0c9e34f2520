/* peers.c - calls to duxos-escrow and duxos-wallet with airdrop.service_token. Each thread
 * keeps its own keep-alive client per peer. The payout carries an Idempotency-Key (the round
 * id), so the client may retry it after a lost answer: the escrow pays a round once. */
#include "airdrop.h"
#include <dux/address.h>
#include <dux/client.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dux_client_local_t escrow_clients = DUX_CLIENT_LOCAL_INIT;
static dux_client_local_t wallet_clients = DUX_CLIENT_LOCAL_INIT;

void peer_resp_clear(peer_resp_t *r)
{
	cJSON_Delete(r->json);
	memset(r, 0, sizeof *r);
}

static void read_problem(peer_resp_t *ret)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ret->json, "type"));
	const char *detail =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ret->json, "detail"));
	const char *pfx = "urn:duxos:problem:";
	if (type && strncmp(type, pfx, strlen(pfx)) == 0)
		snprintf(ret->problem, sizeof ret->problem, "%s", type + strlen(pfx));
	snprintf(ret->detail, sizeof ret->detail, "%s", detail ? detail : "");
}

static int call(airdrop_t *a, dux_client_local_t *l, const char *base, const char *method,
		const char *path, const char *body, const char *idem, peer_resp_t *ret)
{
	memset(ret, 0, sizeof *ret);
	dux_client_opts_t o = {.base_url = base,
			       .timeout_ms = a->cfg.peer_timeout_ms,
			       .retries = 2,
			       .bearer = a->cfg.service_token};
	dux_client_t *c = dux_client_local(l, &o);
	if (!c)
		return DUX_ENOMEM;
	char idem_h[200];
	const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
	if (idem) {
		snprintf(idem_h, sizeof idem_h, "Idempotency-Key: %s", idem);
		headers[1] = idem_h;
	}
	dux_client_resp_t resp;
	int r = dux_client_do(c, method, path, headers, body, body ? strlen(body) : 0, &resp);
	if (r < 0)
		return r == DUX_ERANGE ? DUX_EPROTO : DUX_EUNAVAIL;
	ret->status = resp.status;
	ret->json = resp.json;
	resp.json = NULL;
	dux_client_resp_clear(&resp);
	if (ret->status >= 400)
		read_problem(ret);
	return 0;
}

int peer_escrow(airdrop_t *a, const char *method, const char *path, const char *body,
		const char *idem, peer_resp_t *ret)
{
	return call(a, &escrow_clients, a->cfg.escrow_url, method, path, body, idem, ret);
}

int peer_wallet(airdrop_t *a, const char *method, const char *path, peer_resp_t *ret)
{
	return call(a, &wallet_clients, a->cfg.wallet_url, method, path, NULL, NULL, ret);
}

static int remembered(dux_db_conn_t *c, const char *address)
{
	const char *p[] = {address};
	PGresult *res;
	int r = dux_db_execp(c, "airdrop_account_known",
			     "SELECT 1 FROM ledger_accounts WHERE address = $1", 1, p, &res);
	if (r < 0)
		return r;
	r = PQntuples(res) == 1;
	PQclear(res);
	return r;
}

int peer_is_account(airdrop_t *a, dux_db_conn_t *c, const char *address)
{
	int r = c ? remembered(c, address) : 0;
	if (r != 0)
		return r;
	if (strlen(address) >= DUX_ADDRESS_MAX ||
	    strspn(address, "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") !=
		    strlen(address))
		return 0;
	char path[32 + DUX_ADDRESS_MAX];
	snprintf(path, sizeof path, "/v1/accounts/%s", address);
	peer_resp_t resp;
	r = peer_wallet(a, "GET", path, &resp);
	if (r == 0)
		r = resp.status == 200 ? 1 : resp.status == 404 ? 0 : DUX_EUNAVAIL;
	peer_resp_clear(&resp);
	if (r == 1 && c) {
		const char *p[] = {address};
		if (dux_db_execp(c, "airdrop_account_remember",
				 "INSERT INTO ledger_accounts (address) VALUES ($1)"
				 " ON CONFLICT DO NOTHING",
				 1, p, NULL) < 0)
			return DUX_EUNAVAIL;
	}
	return r;
}

static int shard_balance(airdrop_t *a, const char *address, int64_t *ret)
{
	char path[32 + DUX_ADDRESS_MAX];
	snprintf(path, sizeof path, "/v1/accounts/%s", address);
	peer_resp_t resp;
	int r = peer_wallet(a, "GET", path, &resp);
	const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "balance"));
	if (r == 0 && (resp.status != 200 || !b || dux_money_parse(b, strlen(b), false, ret) < 0))
		r = resp.status >= 500 || resp.status == 0 ? DUX_EUNAVAIL : DUX_EPROTO;
	peer_resp_clear(&resp);
	return r;
}

int peer_fund_live(airdrop_t *a, int64_t *ret)
{
	peer_resp_t resp;
	int r = peer_escrow(a, "GET", "/v1/community-fund?limit=1", NULL, NULL, &resp);
	const cJSON *shards = cJSON_GetObjectItemCaseSensitive(resp.json, "shards"), *s;
	if (r == 0 && (resp.status != 200 || !cJSON_IsArray(shards) ||
		       cJSON_GetArraySize(shards) < 1 || cJSON_GetArraySize(shards) > SHARDS_MAX))
		r = DUX_EUNAVAIL;
	int64_t sum = 0, b = 0;
	cJSON_ArrayForEach(s, shards)
	{
		if (r < 0)
			break;
		r = cJSON_IsString(s) ? shard_balance(a, s->valuestring, &b) : DUX_EPROTO;
		if (r == 0)
			r = dux_money_add(sum, b, &sum);
	}
	peer_resp_clear(&resp);
	if (r == 0)
		*ret = sum;
	return r;
}
