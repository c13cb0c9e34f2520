/* api_validate.c - GET /wallet/validate/{address}: Base58Check, checksum and version byte. */
#include "wallet.h"
#include <dux/address.h>
#include <string.h>

void api_validate(dux_req_t *r, void *app)
{
	wallet_t *w = app;
	const char *addr = dux_req_param(r, "address");
	dux_net_t ours = dux_daemon_net(w->d);
	dux_addr_kind_t kind = DUX_ADDR_PUBKEY_HASH;
	const char *why = NULL;
	bool valid = dux_address_validate(addr, ours, &kind, &why) == 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "address", addr);
	cJSON_AddBoolToObject(o, "valid", valid);
	cJSON_AddStringToObject(o, "network", dux_net_name(ours));
	if (valid) {
		cJSON_AddStringToObject(o, "kind",
					kind == DUX_ADDR_PUBKEY_HASH ? "pubkey_hash" : "script_hash");
		dux_reply_json(r, 200, o);
		return;
	}
	/* say which network it does belong to, when it is another one's */
	const char *reason = why;
	for (int n = DUX_NET_MAINNET; n <= DUX_NET_REGTEST; n++)
		if ((dux_net_t)n != ours && dux_address_validate(addr, (dux_net_t)n, NULL, NULL) == 0)
			reason = n == DUX_NET_MAINNET   ? "it is a mainnet address"
				 : n == DUX_NET_TESTNET ? "it is a testnet address"
							: "it is a regtest address";
	cJSON_AddStringToObject(o, "reason", reason ? reason : "it is not a Flopcoin address");
	dux_reply_json(r, 200, o);
}
