/* wallet.c - calls to duxos-wallet with this daemon's service token. Each thread keeps its
 * own keep-alive client. Transfer batches carry derived ids, so a retried call never moves
 * money twice. */
#include "escrow.h"
#include <dux/address.h>
#include <dux/client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dux_client_local_t clients = DUX_CLIENT_LOCAL_INIT;

static dux_client_t *client_of(escrow_t *e)
{
	dux_client_opts_t o = {.base_url = e->cfg.wallet_url, .timeout_ms = e->cfg.wallet_timeout_ms,
			       .retries = 2,
			       .bearer = e->cfg.wallet_token};
	return dux_client_local(&clients, &o);
}

void wl_resp_clear(wl_resp_t *r)
{
	cJSON_Delete(r->json);
	memset(r, 0, sizeof *r);
}

static void read_problem(wl_resp_t *ret)
{
	const char *type =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ret->json, "type"));
	const char *detail =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ret->json, "detail"));
	const char *pfx = "urn:duxos:problem:";
	if (type && strncmp(type, pfx, strlen(pfx)) == 0)
		snprintf(ret->problem, sizeof ret->problem, "%s", type + strlen(pfx));
	snprintf(ret->detail, sizeof ret->detail, "%s", detail ? detail : "");
}

int wl_call(escrow_t *e, const char *method, const char *path, const char *body,
	    const char *obo, const char *idem, wl_resp_t *ret)
{
	memset(ret, 0, sizeof *ret);
	dux_client_t *c = client_of(e);
	if (!c)
		return DUX_ENOMEM;
	char *obo_h = NULL, idem_h[200];
	const char *headers[4];
	int n = 0;
	headers[n++] = "Content-Type: application/json";
	if (obo) {
		size_t len = strlen(obo) + 32;
		obo_h = malloc(len);
		if (!obo_h)
			return DUX_ENOMEM;
		snprintf(obo_h, len, "Dux-On-Behalf-Of: %s", obo);
		headers[n++] = obo_h;
	}
	if (idem) {
		snprintf(idem_h, sizeof idem_h, "Idempotency-Key: %s", idem);
		headers[n++] = idem_h;
	}
	headers[n] = NULL;
	dux_client_resp_t resp;
	int r = dux_client_do(c, method, path, headers, body, body ? strlen(body) : 0, &resp);
	free(obo_h);
	if (r < 0)
		return r;
	ret->status = resp.status;
	ret->json = resp.json;
	resp.json = NULL;
	dux_client_resp_clear(&resp);
	if (ret->status >= 400)
		read_problem(ret);
	return 0;
}

int wl_owns(escrow_t *e, const char *address, const char *sub)
{
	char path[32 + DUX_ADDRESS_MAX];
	snprintf(path, sizeof path, "/v1/accounts/%s", address);
	wl_resp_t resp;
	int r = wl_call(e, "GET", path, NULL, NULL, NULL, &resp);
	if (r == 0 && resp.status != 200 && resp.status != 404)
		r = DUX_EUNAVAIL;
	if (r == 0) {
		const char *owner = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(resp.json, "owner"));
		r = resp.status == 200 && owner && strcmp(owner, sub) == 0;
	}
	wl_resp_clear(&resp);
	return r;
}

int wl_transfers(escrow_t *e, const cJSON *items, const char *obo, wl_resp_t *ret)
{
	char *arr = cJSON_PrintUnformatted(items);
	size_t n = arr ? strlen(arr) + 32 : 0;
	char *text = arr ? malloc(n) : NULL;
	if (text)
		snprintf(text, n, "{\"transfers\":%s}", arr);
	free(arr);
	if (!text)
		return DUX_ENOMEM;
	/* the key only makes the client retry a lost answer: the ids make it harmless */
	const cJSON *first = cJSON_GetArrayItem(items, 0);
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "id"));
	int r = wl_call(e, "POST", "/v1/transfers", text, obo, key, ret);
	free(text);
	return r;
}

cJSON *wl_item(cJSON *items, const char *id, const char *mode, const char *debit,
	       const char *credit, const char *pending_id, int64_t amount)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", id);
	cJSON_AddStringToObject(it, "mode", mode);
	if (debit)
		cJSON_AddStringToObject(it, "debit", debit);
	if (credit)
		cJSON_AddStringToObject(it, "credit", credit);
	if (pending_id)
		cJSON_AddStringToObject(it, "pending_id", pending_id);
	if (amount >= 0) {
		char a[40];
		snprintf(a, sizeof a, "%lld.%08lld", (long long)(amount / 100000000),
			 (long long)(amount % 100000000));
		cJSON_AddStringToObject(it, "amount", a);
	}
	cJSON_AddItemToArray(items, it);
	return it;
}
