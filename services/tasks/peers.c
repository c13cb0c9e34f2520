/* peers.c - calls to the other daemons: the store (services of paid calls), the escrow
 * (payment), the registry (outcomes, heartbeats). One client per thread and peer; answers are
 * input from outside and read as such by the callers. */
#include "tasks.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_STORE, P_ESCROW, P_ESCROW_AS_CALLER, P_REGISTRY, P_COUNT };

static dux_client_local_t locals[P_COUNT] = {DUX_CLIENT_LOCAL_INIT, DUX_CLIENT_LOCAL_INIT,
					      DUX_CLIENT_LOCAL_INIT, DUX_CLIENT_LOCAL_INIT};

void peer_resp_clear(peer_resp_t *r)
{
	cJSON_Delete(r->json);
	memset(r, 0, sizeof *r);
}

static int peer_index(const char *peer, bool as_caller)
{
	if (strcmp(peer, "store") == 0)
		return P_STORE;
	if (strcmp(peer, "escrow") == 0)
		return as_caller ? P_ESCROW_AS_CALLER : P_ESCROW;
	return P_REGISTRY;
}

static dux_client_t *client_for(tasks_t *t, int which)
{
	const tasks_cfg_t *c = &t->cfg;
	const char *url = which == P_STORE ? c->store_url
			  : which == P_REGISTRY ? c->registry_url : c->escrow_url;
	const char *bearer = which == P_ESCROW ? c->escrow_token
			     : which == P_REGISTRY ? c->registry_token : "";
	dux_client_opts_t o = {.base_url = url, .timeout_ms = 10000, .retries = 2,
			       .bearer = *bearer ? bearer : NULL};
	return dux_client_local(&locals[which], &o);
}

int peer_call(tasks_t *t, const char *peer, const char *method, const char *path,
	      const char *bearer, const char *idem, const cJSON *body, peer_resp_t *ret)
{
	memset(ret, 0, sizeof *ret);
	dux_client_t *cl = client_for(t, peer_index(peer, bearer != NULL));
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	char auth[DUX_TOKEN_MAX + 32], key[160];
	const char *headers[3] = {NULL, NULL, NULL};
	int h = 0;
	if (bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
		headers[h++] = auth;
	}
	if (idem) {
		snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
		headers[h++] = key;
	}
	dux_client_resp_t resp = {0};
	int r = !cl || (body && !text) ? DUX_ENOMEM
		: dux_client_do(cl, method, path, headers, text, text ? strlen(text) : 0, &resp);
	free(text);
	if (r < 0)
		return r;
	ret->status = resp.status;
	ret->json = resp.json;
	resp.json = NULL;
	if (resp.status >= 400 && cJSON_IsObject(ret->json)) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ret->json,
											  "type"));
		const char *detail = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(ret->json, "detail"));
		const char *prefix = "urn:duxos:problem:";
		if (type && strncmp(type, prefix, strlen(prefix)) == 0)
			snprintf(ret->problem, sizeof ret->problem, "%s", type + strlen(prefix));
		snprintf(ret->detail, sizeof ret->detail, "%s", detail ? detail : "");
	}
	dux_client_resp_clear(&resp);
	return 0;
}
