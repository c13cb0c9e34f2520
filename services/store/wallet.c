/* wallet.c - whether the caller owns the provider address it publishes under: asked of
 * duxos-wallet (GET /v1/accounts/{address} with this daemon's service token, which may read
 * any account), whose answer names the account's owner, the token subject that opened it.
 * Each request thread keeps its own keep-alive client. */
#include "store.h"
#include <dux/client.h>
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dux_client_local_t clients = DUX_CLIENT_LOCAL_INIT;

static dux_client_t *client_of(store_t *s)
{
	dux_client_opts_t o = {.base_url = s->cfg.wallet_url,
			       .timeout_ms = s->cfg.wallet_timeout_ms,
			       .retries = 1,
			       .bearer = s->cfg.wallet_token};
	return dux_client_local(&clients, &o);
}

bool wallet_owns_or_reply(store_t *s, dux_req_t *r, const char *address, const char *owner)
{
	dux_client_t *c = client_of(s);
	if (!c) {
		dux_reply_err(r, DUX_ENOMEM, "the ownership check");
		return false;
	}
	char path[32 + DUX_ADDRESS_MAX];
	/* address is a checked Base58Check address: nothing in it needs escaping */
	snprintf(path, sizeof path, "/v1/accounts/%s", address);
	dux_client_resp_t resp;
	int rc = dux_client_do(c, "GET", path, NULL, NULL, 0, &resp);
	if (rc < 0 || resp.status >= 500) {
		dux_log(DUX_LOG_WARN, dux_req_id(r), "the wallet did not answer about %s: %s",
			address, rc < 0 ? dux_client_errmsg(c) : "5xx");
		if (rc == 0)
			dux_client_resp_clear(&resp);
		dux_reply_header(r, "Retry-After", "5");
		dux_reply_problem(r, 503, "wallet-unavailable",
				  "the wallet cannot confirm who owns provider %s now; nothing was"
				  " published",
				  address);
		return false;
	}
	const char *got =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "owner"));
	bool owns = false;
	if (resp.status == 404) {
		dux_reply_problem(r, 403, "provider-unknown",
				  "provider %s is no account of the wallet: open it with POST"
				  " /v1/wallet/address first",
				  address);
	} else if (resp.status == 401 || resp.status == 403) {
		dux_log(DUX_LOG_ERROR, dux_req_id(r),
			"the wallet refused store.wallet_token (%ld): it must be a valid token with"
			" scope service",
			resp.status);
		dux_reply_problem(r, 502, "wallet-auth",
				  "the wallet refused this daemon's token (an operator's matter)");
	} else if (resp.status != 200 || !got) {
		dux_reply_problem(r, 502, "wallet-error",
				  "the wallet answered %ld without the account's owner", resp.status);
	} else if (strcmp(got, owner) != 0) {
		dux_reply_problem(r, 403, "provider-not-owned",
				  "provider %s belongs to another owner than the caller (%s)", address,
				  owner);
	} else {
		owns = true;
	}
	dux_client_resp_clear(&resp);
	return owns;
}
