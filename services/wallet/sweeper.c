/* sweeper.c - pending transfers past their timeout are voided (state "expired"), their funds
 * released. Runs in one copy of the daemon (advisory lock), 100 at a time. A pending transfer
 * posted or voided meanwhile is skipped by apply_transfers, never refused. */
#include "wallet.h"
#include <dux/crypto.h>
#include <stdio.h>
#include <string.h>

#define SWEEP_BATCH 100

static void digest_id(const char *pending_id, char ret[WALLET_ID_MAX + 32])
{
	uint8_t h[DUX_SHA256_LEN];
	char hex[2 * DUX_SHA256_LEN + 1];
	dux_sha256(pending_id, strlen(pending_id), h);
	dux_hex_encode(h, sizeof h, hex);
	snprintf(ret, WALLET_ID_MAX + 32, WALLET_SYSTEM_PREFIX "timeout:%s", hex);
}

typedef struct {
	int voided;
} sweep_ctx_t;

static int sweep_tx(dux_db_conn_t *c, void *arg)
{
	sweep_ctx_t *x = arg;
	PGresult *res;
	char lim[16];
	snprintf(lim, sizeof lim, "%d", SWEEP_BATCH);
	const char *p[] = {lim};
	int r = dux_db_exec(c,
			    "SELECT id FROM transfers WHERE state = 'pending' AND expires_at <= now()"
			    " ORDER BY expires_at LIMIT $1::int",
			    1, p, &res);
	if (r < 0)
		return r;
	cJSON *batch = cJSON_CreateArray(), *out = NULL;
	for (int i = 0; i < PQntuples(res); i++) {
		char id[WALLET_ID_MAX + 32];
		snprintf(id, sizeof id, WALLET_SYSTEM_PREFIX "timeout:%s", PQgetvalue(res, i, 0));
		if (strlen(id) > WALLET_ID_MAX) /* a long id: its digest keeps the void's id unique */
			digest_id(PQgetvalue(res, i, 0), id);
		cJSON *it = ledger_item(batch, id, "void", NULL, NULL, NULL, 0);
		cJSON_AddStringToObject(it, "pending_id", PQgetvalue(res, i, 0));
		cJSON_AddBoolToObject(it, "expire", true);
		cJSON_AddStringToObject(it, "memo", "timeout");
	}
	PQclear(res);
	x->voided = cJSON_GetArraySize(batch);
	ledger_caller_t who = {.actor = "duxos-wallet", .system = true};
	ledger_refusal_t why;
	r = x->voided ? ledger_apply(c, batch, &who, &out, &why) : 0;
	cJSON_Delete(out);
	cJSON_Delete(batch);
	return r;
}

int sweeper_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	(void)ctx;
	sweep_ctx_t x = {0};
	int r = dux_db_tx_on(c, NULL, sweep_tx, &x);
	if (r < 0)
		return r;
	return x.voided == SWEEP_BATCH; /* more may be waiting */
}
