/* chain_deposits.c - deposits to the node wallet's addresses that are ledger accounts are
 * credited once they have wallet.min_confirmations.
 *
 * listsinceblock(last, min_confirmations) lists every transaction after block last and names,
 * as lastblock, the block min_confirmations deep: transactions still short of confirmations
 * are listed again next time. A deposit's transfer id is made of its txid and output index,
 * so listing it twice credits it once. */
#include "chain.h"
#include "rpc.h"
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPOSITS_MAX 1000 /* per transaction; the rest in the next round */

typedef struct {
	const cJSON *txs;
	const char *lastblock;
	int64_t min_conf;
	dux_net_t net;
	int credited;
	bool full; /* DEPOSITS_MAX credited: more are waiting */
} dep_ctx_t;

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	return strspn(s, "0123456789abcdef") == 64;
}

/* One listed output, checked: a confirmed receive with an exact positive amount. */
static bool deposit_of(const dep_ctx_t *x, const cJSON *t, const char **addr, const char **txid,
		       int64_t *vout, int64_t *amount)
{
	const char *cat = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "category"));
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(t, "confirmations");
	const cJSON *vo = cJSON_GetObjectItemCaseSensitive(t, "vout");
	*addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "address"));
	*txid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "txid"));
	if (!cat || strcmp(cat, "receive") != 0 || !cJSON_IsNumber(conf) ||
	    conf->valuedouble < (double)x->min_conf)
		return false;
	if (!*addr || strlen(*addr) >= DUX_ADDRESS_MAX ||
	    dux_address_validate(*addr, x->net, NULL, NULL) < 0 || !hex64(*txid) ||
	    !cJSON_IsNumber(vo) || vo->valuedouble < 0 || vo->valuedouble > 1e6 ||
	    rpc_amount(cJSON_GetObjectItemCaseSensitive(t, "amount"), amount) < 0 || *amount <= 0) {
		dux_warn("listsinceblock listed a malformed receive; skipped");
		return false;
	}
	*vout = (int64_t)vo->valuedouble;
	return true;
}

/* The addresses among the listed receives that are ledger accounts, as a set (a JSON object). */
static int known_addresses(dux_db_conn_t *c, const dep_ctx_t *x, cJSON **ret)
{
	cJSON *addrs = cJSON_CreateArray(), *set = cJSON_CreateObject();
	const cJSON *t;
	cJSON_ArrayForEach(t, x->txs)
	{
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "address"));
		if (a)
			cJSON_AddItemToArray(addrs, cJSON_CreateString(a));
	}
	char *json = cJSON_PrintUnformatted(addrs);
	const char *p[] = {json};
	PGresult *res;
	int r = json ? dux_db_exec(c,
				   "SELECT address FROM accounts WHERE address IN"
				   " (SELECT jsonb_array_elements_text($1::jsonb))",
				   1, p, &res)
		     : DUX_ENOMEM;
	free(json);
	cJSON_Delete(addrs);
	if (r < 0) {
		cJSON_Delete(set);
		return r;
	}
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddTrueToObject(set, PQgetvalue(res, i, 0));
	PQclear(res);
	*ret = set;
	return 0;
}

static int credit_tx(dux_db_conn_t *c, void *arg)
{
	dep_ctx_t *x = arg;
	cJSON *known = NULL, *batch = cJSON_CreateArray(), *out = NULL;
	int r = known_addresses(c, x, &known);
	const cJSON *t;
	cJSON_ArrayForEach(t, x->txs)
	{
		const char *addr, *txid;
		int64_t vout, amount;
		if (r < 0 || cJSON_GetArraySize(batch) == DEPOSITS_MAX)
			break;
		if (!deposit_of(x, t, &addr, &txid, &vout, &amount) ||
		    !cJSON_GetObjectItemCaseSensitive(known, addr))
			continue;
		char id[WALLET_ID_MAX + 1];
		snprintf(id, sizeof id, WALLET_SYSTEM_PREFIX "deposit:%s:%lld", txid, (long long)vout);
		cJSON *it = ledger_item(batch, id, "immediate", "deposit", NULL, addr, amount);
		cJSON_AddStringToObject(it, "memo", txid);
	}
	ledger_caller_t sys = {.actor = "duxos-wallet", .system = true};
	ledger_refusal_t why;
	if (r == 0 && cJSON_GetArraySize(batch) > 0)
		r = ledger_apply(c, batch, &sys, &out, &why);
	if (r == DUX_ECONFLICT)
		dux_error("crediting deposits refused: %s: %s", why.code, why.detail);
	x->credited = 0;
	cJSON_ArrayForEach(t, out)
	{
		x->credited += cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t, "existed"));
	}
	const char *p[] = {x->lastblock};
	x->full = cJSON_GetArraySize(batch) == DEPOSITS_MAX;
	if (r == 0 && !x->full)
		r = dux_db_exec(c,
				"INSERT INTO meta (k, v) VALUES ('chain.lastblock', $1)"
				" ON CONFLICT (k) DO UPDATE SET v = excluded.v",
				1, p, NULL);
	cJSON_Delete(out);
	cJSON_Delete(batch);
	cJSON_Delete(known);
	return r;
}

static int last_block(dux_db_conn_t *c, char ret[80])
{
	PGresult *res;
	int r = dux_db_exec(c, "SELECT v FROM meta WHERE k = 'chain.lastblock'", 0, NULL, &res);
	if (r < 0)
		return r;
	snprintf(ret, 80, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}

int deposits_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	wallet_t *w = ctx;
	char last[80], params[160];
	int r = last_block(c, last);
	if (r < 0)
		return r;
	snprintf(params, sizeof params, "[\"%s\",%lld]", last, (long long)w->cfg.min_confirmations);
	cJSON *res = NULL;
	rpc_error_t err;
	r = rpc_call(w->rpc, "listsinceblock", params, &res, &err);
	if (r == DUX_ECONFLICT && err.code == RPC_INVALID_ADDRESS && *last) {
		/* the block is gone (a reorganisation or a new chain): list everything again */
		dux_warn("listsinceblock: block %s is unknown to the node; rescanning", last);
		snprintf(params, sizeof params, "[\"\",%lld]", (long long)w->cfg.min_confirmations);
		r = rpc_call(w->rpc, "listsinceblock", params, &res, &err);
	}
	const cJSON *txs = cJSON_GetObjectItemCaseSensitive(res, "transactions");
	const char *lb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "lastblock"));
	dep_ctx_t x = {.txs = txs, .lastblock = lb, .min_conf = w->cfg.min_confirmations,
		       .net = dux_daemon_net(d)};
	if (r == DUX_ECONFLICT)
		dux_warn("listsinceblock refused: %d %s", err.code, err.message);
	if (r == 0 && (!cJSON_IsArray(txs) || !lb || strlen(lb) > 64))
		r = DUX_EPROTO;
	if (r == 0)
		r = dux_db_tx_on(c, NULL, credit_tx, &x);
	if (r == 0 && x.credited)
		dux_info("credited %d deposit(s)", x.credited);
	else if (r < 0 && r != DUX_ECONFLICT)
		dux_warn("deposit scan failed: %s; retrying", dux_strerror(r));
	cJSON_Delete(res);
	return r == 0 && x.full; /* more deposits waiting: at once */
}
