/* service.c - what the scheduler needs to know of a store service: GET /v1/services/{id} of
 * duxos-store (public), read as input from outside. */
#include "service.h"
#include <dux/address.h>
#include <dux/money.h>
#include <stdio.h>
#include <string.h>

bool service_id_ok(const char *s)
{
	return s && strlen(s) == 36 && strncmp(s, "svc_", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdef") == 32;
}

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

int service_read(tasks_t *t, const char *id, service_t *ret)
{
	char path[80];
	snprintf(path, sizeof path, "/v1/services/%s", id);
	peer_resp_t resp;
	memset(ret, 0, sizeof *ret);
	int r = peer_call(t, "store", "GET", path, NULL, NULL, NULL, &resp);
	if (r < 0)
		return r;
	if (resp.status == 404 || resp.status == 410) {
		peer_resp_clear(&resp);
		return DUX_ENOENT;
	}
	const char *owner = str(resp.json, "owner"), *provider = str(resp.json, "provider");
	const char *price = str(resp.json, "price");
	const cJSON *listed = cJSON_GetObjectItemCaseSensitive(resp.json, "listed");
	r = resp.status != 200 ? DUX_EUNAVAIL : DUX_EPROTO;
	if (resp.status == 200 && owner && strlen(owner) < sizeof ret->owner && provider &&
	    strlen(provider) < sizeof ret->provider && price &&
	    dux_money_parse(price, strlen(price), false, &ret->price) == 0 && cJSON_IsBool(listed)) {
		snprintf(ret->owner, sizeof ret->owner, "%s", owner);
		snprintf(ret->provider, sizeof ret->provider, "%s", provider);
		ret->listed = cJSON_IsTrue(listed);
		r = 0;
	}
	peer_resp_clear(&resp);
	return r;
}
