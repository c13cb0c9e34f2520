/* wallet_calls.c - see wallet_calls.h. */
#include "wallet_calls.h"
#include "bench.h"
#include <cjson/cJSON.h>
#include <dux/auth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool bench_bearer(const dux_key_t *key, const char *sub, unsigned scopes, int64_t ttl, char *out,
		  size_t len)
{
	char *tok = NULL;
	if (dux_token_mint(key, "duxos", sub, scopes, ttl, &tok) < 0)
		return false;
	int n = snprintf(out, len, "Authorization: Bearer %s\r\n", tok);
	free(tok);
	return n > 0 && (size_t)n < len;
}

bool bench_new_account(lg_sync_t *s, const char *auth, char dst[DUX_ADDRESS_MAX], char *err,
		       size_t errlen)
{
	char req[BENCH_AUTH_MAX + 256];
	const char *body = NULL;
	int len = lg_format(req, sizeof req, "POST", "/v1/wallet/address", auth, NULL);
	int st = len > 0 ? lg_sync_do(s, req, (size_t)len, &body, NULL) : -1;
	cJSON *j = st == 201 ? cJSON_Parse(body) : NULL;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "address");
	bool ok = cJSON_IsString(a) && strlen(a->valuestring) < DUX_ADDRESS_MAX;
	if (ok)
		snprintf(dst, DUX_ADDRESS_MAX, "%s", a->valuestring);
	else
		snprintf(err, errlen, "POST /v1/wallet/address answered %d: %.300s", st,
			 st > 0 ? body : "(no answer)");
	cJSON_Delete(j);
	return ok;
}

bool bench_faucet(lg_sync_t *s, const char *admin, const char *addr, int flop, char *err,
		  size_t errlen)
{
	char req[BENCH_AUTH_MAX + 512], body[160];
	const char *resp = NULL;
	snprintf(body, sizeof body, "{\"address\":\"%s\",\"amount\":\"%d\"}", addr, flop);
	int len = lg_format(req, sizeof req, "POST", "/v1/faucet", admin, body);
	int st = len > 0 ? lg_sync_do(s, req, (size_t)len, &resp, NULL) : -1;
	if (st != 201)
		snprintf(err, errlen, "POST /v1/faucet answered %d: %.300s", st,
			 st > 0 ? resp : "(no answer)");
	return st == 201;
}

bool bench_ledger_check(int port, const char *admin, bench_ledger_t *ret)
{
	char *text = NULL;
	int st = bench_call(port, "GET", "/v1/ledger/check", admin, NULL, &text);
	cJSON *j = st == 200 && text ? cJSON_Parse(text) : NULL;
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "holds");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "transfers");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "pending"), "count");
	bool ok = cJSON_IsBool(h) && cJSON_IsNumber(t) && cJSON_IsNumber(p);
	if (ok) {
		ret->holds = cJSON_IsTrue(h);
		ret->transfers = (long long)t->valuedouble;
		ret->pending = (long long)p->valuedouble;
	}
	if (!ok || !ret->holds)
		printf("  %-34s answered %d: %.1000s\n", "GET /v1/ledger/check", st,
		       text ? text : "(no answer)");
	cJSON_Delete(j);
	free(text);
	return ok;
}
