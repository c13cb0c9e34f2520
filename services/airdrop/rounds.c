/* rounds.c - proposing a round when the fund crosses the threshold, and reading rounds.
 *
 * Exactly one round per crossing: the monitor (one copy, advisory lock) proposes only when no
 * round is open (proposed or executing), and the unique index rounds_one_open makes a second
 * open round impossible even so. The round's pool is the fund's balance read live from the
 * wallet at that moment (the events and the periodic check only tell when to look), so a
 * stale reading can never make a round larger than the fund. */
#include "airdrop.h"
#include <dux/buf.h>
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rounds_id_valid(const char *id)
{
	return id && strlen(id) == ROUND_ID_LEN && strncmp(id, "adr_", 4) == 0 &&
	       strspn(id + 4, "0123456789abcdef") == 32;
}

int rounds_get(dux_db_conn_t *c, const char *id, bool full, char **ret_json)
{
	const char *p[] = {id, full ? "t" : "f"};
	PGresult *res;
	int r = dux_db_execp(c, "airdrop_round_get",
			     "SELECT round_json(r, $2::boolean)::text FROM rounds r WHERE id = $1", 2,
			     p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	*ret_json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return *ret_json ? 0 : DUX_ENOMEM;
}

/* The fund as the view has it: 1 at or above the threshold, 0 below or unknown. */
static int view_crossed(airdrop_t *a, dux_db_conn_t *c)
{
	PGresult *res;
	int r = dux_db_exec(c,
			    "SELECT (SELECT balance FROM fund),"
			    " EXISTS (SELECT 1 FROM rounds WHERE status IN ('proposed', 'executing'))",
			    0, NULL, &res);
	if (r < 0)
		return r;
	r = !PQgetisnull(res, 0, 0) && dux_db_i64(res, 0, 0) >= a->threshold &&
	    !dux_db_bool(res, 0, 1);
	PQclear(res);
	return r;
}

/* '{a,b,c}' array literals of the recipients' columns (values are ids, addresses, numbers). */
static int arrays(const elig_list_t *l, dux_buf_t *nodes, dux_buf_t *addrs, dux_buf_t *weights,
		  dux_buf_t *amounts)
{
	int r = 0;
	dux_buf_t *all[] = {nodes, addrs, weights, amounts};
	for (int k = 0; k < 4 && r == 0; k++)
		r = dux_buf_append(all[k], "{", 1);
	for (int i = 0; i < l->n && r == 0; i++) {
		const char *sep = i ? "," : "";
		r = dux_buf_printf(nodes, "%s%s", sep, l->v[i].node_id);
		if (r == 0)
			r = dux_buf_printf(addrs, "%s%s", sep, l->v[i].address);
		if (r == 0)
			r = dux_buf_printf(weights, "%s%lld", sep, (long long)l->v[i].weight);
		if (r == 0)
			r = dux_buf_printf(amounts, "%s%lld", sep, (long long)l->v[i].amount);
	}
	for (int k = 0; k < 4 && r == 0; k++)
		r = dux_buf_append(all[k], "}", 1);
	return r;
}

typedef struct {
	airdrop_t *a;
	const elig_list_t *l;
	const dist_result_t *dist;
	int64_t pool;
	char id[ROUND_ID_LEN + 1], digest[65];
} propose_ctx_t;

static int insert_recipients(dux_db_conn_t *c, const propose_ctx_t *x)
{
	dux_buf_t nodes, addrs, weights, amounts;
	size_t max = (size_t)x->l->n * 48 + 16;
	dux_buf_init(&nodes, max);
	dux_buf_init(&addrs, max);
	dux_buf_init(&weights, max);
	dux_buf_init(&amounts, max);
	int r = arrays(x->l, &nodes, &addrs, &weights, &amounts);
	const char *p[] = {x->id, nodes.data, addrs.data, weights.data, amounts.data};
	if (r == 0)
		r = dux_db_exec(c,
				"INSERT INTO recipients (round_id, position, node_id, address, weight,"
				" amount) SELECT $1, u.ord, u.node, u.addr, u.w, u.amt FROM"
				" unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[])"
				" WITH ORDINALITY AS u(node, addr, w, amt, ord)",
				5, p, NULL);
	dux_buf_free(&nodes);
	dux_buf_free(&addrs);
	dux_buf_free(&weights);
	dux_buf_free(&amounts);
	return r;
}

static int propose_tx(dux_db_conn_t *c, void *arg)
{
	propose_ctx_t *x = arg;
	airdrop_t *a = x->a;
	char pool[24], total[24], n[16], eligible[16], dropped[16], req[16], ttl[24];
	snprintf(pool, sizeof pool, "%lld", (long long)x->pool);
	snprintf(total, sizeof total, "%lld", (long long)x->dist->total);
	snprintf(n, sizeof n, "%d", x->l->n);
	snprintf(eligible, sizeof eligible, "%d", x->l->eligible);
	snprintf(dropped, sizeof dropped, "%d", x->dist->dropped);
	snprintf(req, sizeof req, "%lld", (long long)a->cfg.approvals_required);
	snprintf(ttl, sizeof ttl, "%lld", (long long)a->cfg.round_ttl);
	const char *p[] = {x->id, pool, total, n, a->weighted ? "work" : "equal", x->digest, req,
			   eligible, dropped, ttl};
	PGresult *res;
	int r = dux_db_exec(c,
			    "INSERT INTO rounds (id, status, fund_balance, total, nrecipients,"
			    " weighting, digest, required, eligible, dropped_dust, expires_at)"
			    " VALUES ($1, 'proposed', $2::bigint, $3::bigint, $4::int, $5, $6,"
			    " $7::int, $8::int, $9::int, now() + make_interval(secs => $10::bigint))",
			    10, p, NULL);
	if (r == 0)
		r = insert_recipients(c, x);
	if (r == 0)
		r = dux_db_exec(c, "SELECT round_json(r, false)::text FROM rounds r WHERE id = $1", 1,
				p, &res);
	if (r < 0)
		return r;
	cJSON *data = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	r = data ? dux_outbox_emit(c, "airdrop.round.proposed", x->id, data) : DUX_ENOMEM;
	if (r == 0)
		r = audit_queue(c, "proposed", x->id, "duxos-airdrop", data);
	cJSON_Delete(data);
	return r;
}

/* Logs "no round" reasons once per change, not at every check. */
static void note_nothing(const char *why, const elig_list_t *l)
{
	static char last[160];
	char now[160];
	snprintf(now, sizeof now, "%s (eligible %d, shared wallet %d, no ledger account %d)", why,
		 l->eligible, l->shared_wallet, l->no_account);
	if (strcmp(now, last) != 0)
		dux_warn("the fund crossed the threshold but no round is proposed: %s", now);
	snprintf(last, sizeof last, "%s", now);
}

int rounds_propose(airdrop_t *a, dux_db_conn_t *c)
{
	int64_t live = 0;
	elig_list_t l = {0};
	int r = view_crossed(a, c);
	if (r <= 0)
		return r;
	r = peer_fund_live(a, &live);
	if (r < 0 || live < a->threshold)
		return r; /* the view ran ahead of the wallet, or the wallet is away */
	r = elig_select(a, c, &l);
	if (r < 0)
		return r;
	propose_ctx_t x = {.a = a, .l = &l, .pool = live};
	dist_result_t dist;
	distribute(&l, live, a->dust_min, a->weighted, &dist);
	x.dist = &dist;
	if (l.n == 0) {
		note_nothing("no eligible recipient", &l);
		elig_list_free(&l);
		return 0;
	}
	char rnd[33];
	dux_random_id(rnd);
	snprintf(x.id, sizeof x.id, "adr_%s", rnd);
	r = digest_round(x.id, live, l.v, l.n, dist.total, x.digest);
	if (r == 0)
		r = dux_db_tx_on(c, NULL, propose_tx, &x);
	if (r == DUX_EEXIST)
		r = 0; /* another round is open after all */
	else if (r == 0) {
		dux_metric_add(a->m_rounds, 1);
		char f[DUX_MONEY_STRLEN], t[DUX_MONEY_STRLEN];
		dux_info("round %s proposed: %s FLOP of %s to %d recipients, waiting for %lld"
			 " approvals",
			 x.id, dux_money_format(dist.total, t), dux_money_format(live, f), l.n,
			 (long long)a->cfg.approvals_required);
		r = 1;
	}
	elig_list_free(&l);
	return r;
}

static cJSON *recipients_json(const elig_list_t *l)
{
	cJSON *arr = cJSON_CreateArray();
	char amt[DUX_MONEY_STRLEN];
	for (int i = 0; i < l->n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "position", i + 1);
		cJSON_AddStringToObject(o, "node_id", l->v[i].node_id);
		cJSON_AddStringToObject(o, "address", l->v[i].address);
		cJSON_AddNumberToObject(o, "weight", (double)l->v[i].weight);
		cJSON_AddStringToObject(o, "amount", dux_money_format(l->v[i].amount, amt));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int rounds_dry_run(airdrop_t *a, dux_db_conn_t *c, int64_t pool, int weighted, cJSON **ret)
{
	elig_list_t l = {0};
	bool live = pool < 0;
	int r = live ? peer_fund_live(a, &pool) : 0;
	if (r == 0)
		r = elig_select(a, c, &l);
	if (r < 0)
		return r;
	bool by_work = weighted < 0 ? a->weighted : weighted == 1;
	dist_result_t dist;
	distribute(&l, pool, a->dust_min, by_work, &dist);
	char m[DUX_MONEY_STRLEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fund_balance", dux_money_format(pool, m));
	cJSON_AddStringToObject(o, "fund_balance_source", live ? "wallet" : "request");
	cJSON_AddStringToObject(o, "threshold", dux_money_format(a->threshold, m));
	cJSON_AddBoolToObject(o, "threshold_reached", pool >= a->threshold);
	cJSON_AddStringToObject(o, "weighting", by_work ? "work" : "equal");
	cJSON_AddStringToObject(o, "dust_min", dux_money_format(a->dust_min, m));
	cJSON_AddNumberToObject(o, "max_nodes_per_airdrop", (double)a->cfg.max_nodes);
	cJSON_AddNumberToObject(o, "eligible_nodes", l.eligible);
	cJSON_AddNumberToObject(o, "excluded_shared_wallet", l.shared_wallet);
	cJSON_AddNumberToObject(o, "excluded_no_ledger_account", l.no_account);
	cJSON_AddNumberToObject(o, "dropped_dust", dist.dropped);
	cJSON_AddNumberToObject(o, "recipients_count", l.n);
	cJSON_AddStringToObject(o, "total", dux_money_format(dist.total, m));
	cJSON_AddStringToObject(o, "remainder", dux_money_format(dist.remainder, m));
	cJSON_AddItemToObject(o, "recipients", recipients_json(&l));
	elig_list_free(&l);
	*ret = o;
	return 0;
}
