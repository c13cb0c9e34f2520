/* fund.c - the community fund: escrow.fund_shards accounts in the wallet, owned by this
 * daemon, summed on read. Each escrow's community share goes to the shard its id hashes to, so
 * concurrent releases credit different rows instead of queuing on one.
 *
 * Shards are made with Idempotency-Key "fund-shard-N", so every copy of the daemon (and every
 * restart) finds the same accounts. The balance job (one copy) announces fund.balance whenever
 * the sum changes. */
#include "escrow.h"
#include <dux/bus.h>
#include <dux/crypto.h>
#include <dux/log.h>
#include <dux/money.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t shards_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int ready_shards; /* e->nshards, published once all exist */

int fund_shard_count(void)
{
	return atomic_load(&ready_shards);
}

const char *fund_shard_for(escrow_t *e, const char *escrow_id)
{
	int n = atomic_load(&ready_shards);
	if (n == 0)
		return "";
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(escrow_id, strlen(escrow_id), h);
	uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return e->shards[v % (uint32_t)n];
}

/* Shard i's address: from the database, else made in the wallet and recorded. */
static int shard_address(escrow_t *e, dux_db_conn_t *c, int i, char ret[64])
{
	char s[16];
	snprintf(s, sizeof s, "%d", i);
	const char *p[] = {s, NULL};
	PGresult *res;
	int r = dux_db_exec(c, "SELECT address FROM fund_shards WHERE shard = $1::int", 1, p, &res);
	if (r < 0)
		return r;
	bool known = PQntuples(res) == 1;
	if (known)
		snprintf(ret, 64, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (known)
		return 0;
	char key[32];
	snprintf(key, sizeof key, "fund-shard-%d", i);
	wl_resp_t resp;
	r = wl_call(e, "POST", "/v1/wallet/address", NULL, NULL, key, &resp);
	const char *addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "address"));
	if (r == 0 && (resp.status != 200 && resp.status != 201))
		r = resp.status >= 500 ? DUX_EUNAVAIL : DUX_EPROTO;
	if (r == 0 && (!addr || strlen(addr) >= 64))
		r = DUX_EPROTO;
	if (r == 0) {
		snprintf(ret, 64, "%s", addr);
		p[1] = ret;
		r = dux_db_exec(c,
				"INSERT INTO fund_shards (shard, address) VALUES ($1::int, $2)"
				" ON CONFLICT (shard) DO NOTHING",
				2, p, NULL);
	}
	if (r < 0 && resp.status)
		dux_warn("fund shard %d: the wallet answered %ld %s", i, resp.status, resp.problem);
	wl_resp_clear(&resp);
	return r;
}

/* Every copy: until the shards exist, make or load them. */
static int shards_ready(escrow_t *e, dux_db_conn_t *c)
{
	if (atomic_load(&ready_shards))
		return 0;
	pthread_mutex_lock(&shards_mu);
	int r = 0;
	for (int i = 0; i < (int)e->cfg.fund_shards && r == 0; i++)
		r = shard_address(e, c, i, e->shards[i]);
	if (r == 0) {
		e->nshards = (int)e->cfg.fund_shards;
		atomic_store(&ready_shards, e->nshards);
		dux_info("community fund: %d shard accounts ready", e->nshards);
	}
	pthread_mutex_unlock(&shards_mu);
	return r;
}

/* The sum of the shards' balances, from the wallet (this daemon owns no other account). */
static int fund_balance(escrow_t *e, int64_t *ret)
{
	wl_resp_t resp;
	int r = wl_call(e, "GET", "/v1/wallet/balance", NULL, NULL, NULL, &resp);
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(resp.json, "total");
	const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(total, "balance"));
	if (r == 0 && (resp.status != 200 || !b || dux_money_parse(b, strlen(b), false, ret) < 0))
		r = resp.status >= 500 || resp.status == 0 ? DUX_EUNAVAIL : DUX_EPROTO;
	wl_resp_clear(&resp);
	return r;
}

typedef struct {
	escrow_t *e;
	int64_t balance;
} announce_ctx_t;

static int announce_tx(dux_db_conn_t *c, void *arg)
{
	announce_ctx_t *x = arg;
	char b[24];
	snprintf(b, sizeof b, "%lld", (long long)x->balance);
	const char *p[] = {b};
	PGresult *res;
	int r = dux_db_exec(c,
			    "INSERT INTO fund_state AS s (balance) VALUES ($1::bigint)"
			    " ON CONFLICT (one) DO UPDATE SET balance = excluded.balance, updated_at = now()"
			    " WHERE s.balance <> excluded.balance RETURNING 1",
			    1, p, &res);
	if (r < 0)
		return r;
	bool changed = PQntuples(res) == 1;
	PQclear(res);
	if (!changed)
		return 0;
	char flop[DUX_MONEY_STRLEN], thr[DUX_MONEY_STRLEN];
	cJSON *data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "balance", dux_money_format(x->balance, flop));
	cJSON_AddStringToObject(data, "threshold", dux_money_format(x->e->fund_threshold, thr));
	cJSON_AddNumberToObject(data, "shards", fund_shard_count());
	dux_json_add_time(data, "at", dux_now_us());
	r = dux_outbox_emit(c, "fund.balance", "community-fund", data);
	cJSON_Delete(data);
	return r;
}

int fund_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	escrow_t *e = ctx;
	announce_ctx_t x = {.e = e};
	int r = shards_ready(e, c);
	if (r == 0)
		r = fund_balance(e, &x.balance);
	if (r == 0)
		r = dux_db_tx_on(c, NULL, announce_tx, &x);
	if (r < 0 && r != DUX_EUNAVAIL)
		dux_warn("community fund: %s", dux_strerror(r));
	return 0;
}

/* Every copy needs the shards to create escrows; only one announces the balance. */
int fund_shards_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	escrow_t *e = ctx;
	if (shards_ready(e, c) < 0)
		dux_warn("community fund: shard accounts not ready yet (is the wallet up?)");
	return 0;
}
