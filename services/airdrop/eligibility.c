/* eligibility.c - who may receive a share of a round, and why (not).
 *
 * A node is eligible when, in the airdrop's own view (views.c):
 *   recent_task     an attempt of it was judged agreed in a task.succeeded within
 *                   airdrop.eligibility_window
 *   heartbeat       it is online (the registry marks a node offline after its heartbeat
 *                   timeout, 90 s), or its last heartbeat is within airdrop.heartbeat_window
 *   reputation      reputation_score >= airdrop.min_reputation
 *   node_age        first registered at least airdrop.min_node_age ago          (anti-Sybil)
 *   not_flagged     no attempt of it judged disagreed (outvoted) within
 *                   airdrop.flag_window                                          (anti-Sybil)
 *   wallet_account  its wallet address is an account of the ledger (else nothing can be paid)
 *   unique_wallet   it is the first eligible node, in the order below, of its wallet address:
 *                   one reward per address, however many nodes name it          (anti-Sybil)
 * One reward per identity holds by construction: a node id is the hash of its Ed25519 key, and
 * a round pays each node id at most once.
 *
 * The order (documented, deterministic): validated work (agreed attempts within the window)
 * descending, then reputation descending, then node id ascending. A round takes the first
 * airdrop.max_nodes_per_airdrop of that order after the wallet rules. */
#include "airdrop.h"
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1 eligibility_window, $2 heartbeat_window, $3 min_reputation, $4 min_node_age,
 * $5 flag_window (seconds), $6 a wallet address to restrict to (NULL: all). */
#define SCAN_SQL                                                                                   \
	"WITH work AS (SELECT node_id, count(*) AS n FROM attempts WHERE verdict = 'agreed'"       \
	"  AND at > now() - make_interval(secs => $1::bigint) GROUP BY node_id),"                 \
	" flagged AS (SELECT DISTINCT node_id FROM attempts WHERE verdict = 'disagreed'"          \
	"  AND at > now() - make_interval(secs => $5::bigint))"                                   \
	" SELECT n.node_id, n.wallet_address, w.n FROM nodes n JOIN work w USING (node_id)"       \
	" WHERE (n.status = 'online' OR n.last_heartbeat > now() - make_interval(secs =>"         \
	"  $2::bigint)) AND n.reputation >= $3::float8"                                           \
	" AND n.registered_at <= now() - make_interval(secs => $4::bigint)"                        \
	" AND NOT EXISTS (SELECT 1 FROM flagged f WHERE f.node_id = n.node_id)"                   \
	" AND ($6::text IS NULL OR n.wallet_address = $6)"                                         \
	" ORDER BY w.n DESC, n.reputation DESC, n.node_id"

typedef struct {
	char w[24], h[24], rep[32], age[24], flag[24];
} params_t;

static void params_of(const airdrop_t *a, params_t *p)
{
	snprintf(p->w, sizeof p->w, "%lld", (long long)a->cfg.eligibility_window);
	snprintf(p->h, sizeof p->h, "%lld", (long long)a->cfg.heartbeat_window);
	snprintf(p->rep, sizeof p->rep, "%.17g", a->cfg.min_reputation);
	snprintf(p->age, sizeof p->age, "%lld", (long long)a->cfg.min_node_age);
	snprintf(p->flag, sizeof p->flag, "%lld", (long long)a->cfg.flag_window);
}

static int scan(const airdrop_t *a, dux_db_conn_t *c, const char *address, PGresult **ret)
{
	params_t x;
	params_of(a, &x);
	const char *p[] = {x.w, x.h, x.rep, x.age, x.flag, address};
	return dux_db_execp(c, "airdrop_scan", SCAN_SQL, 6, p, ret);
}

void elig_list_free(elig_list_t *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* A set of addresses (open addressing, borrowed strings). */
typedef struct {
	const char **slot;
	size_t cap;
} addr_set_t;

/* true when s was new (and is now in the set) */
static bool set_add(addr_set_t *s, const char *addr)
{
	size_t h = 5381;
	for (const char *p = addr; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (size_t i = h % s->cap;; i = (i + 1) % s->cap) {
		if (!s->slot[i]) {
			s->slot[i] = addr;
			return true;
		}
		if (strcmp(s->slot[i], addr) == 0)
			return false;
	}
}

int elig_select(airdrop_t *a, dux_db_conn_t *c, elig_list_t *ret)
{
	PGresult *res = NULL;
	elig_list_t l = {0};
	addr_set_t seen = {0};
	int r = scan(a, c, NULL, &res);
	if (r < 0)
		goto out;
	int n = PQntuples(res), max = (int)a->cfg.max_nodes;
	l.eligible = n;
	l.v = calloc((size_t)(n < max ? n : max) + 1, sizeof *l.v);
	seen.cap = (size_t)n * 2 + 1;
	seen.slot = calloc(seen.cap, sizeof *seen.slot);
	if (!l.v || !seen.slot) {
		r = DUX_ENOMEM;
		goto out;
	}
	for (int i = 0; i < n && l.n < max; i++) {
		const char *addr = PQgetvalue(res, i, 1);
		if (!set_add(&seen, addr)) {
			l.shared_wallet++;
			continue;
		}
		r = peer_is_account(a, c, addr);
		if (r < 0)
			goto out;
		if (r == 0) {
			l.no_account++;
			continue;
		}
		elig_node_t *e = &l.v[l.n++];
		snprintf(e->node_id, sizeof e->node_id, "%s", PQgetvalue(res, i, 0));
		snprintf(e->address, sizeof e->address, "%s", addr);
		e->weight = dux_db_i64(res, i, 2);
	}
	r = 0;
	*ret = l;
	l.v = NULL;
out:
	free(seen.slot);
	free(l.v);
	PQclear(res);
	return r;
}

static void criterion(cJSON *list, const char *name, cJSON *value, const char *required,
		      bool pass)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddItemToObject(o, "value", value ? value : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "required", required);
	cJSON_AddStringToObject(o, "verdict", pass ? "pass" : "fail");
	cJSON_AddItemToArray(list, o);
}

static cJSON *text_or_null(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? cJSON_CreateNull()
					: cJSON_CreateString(PQgetvalue(res, 0, col));
}

/* The criteria the view decides (all but the wallet's). */
static void view_criteria(const airdrop_t *a, const PGresult *res, cJSON *list)
{
	char req[160];
	int64_t work = dux_db_i64(res, 0, 5);
	snprintf(req, sizeof req, "an agreed attempt within %llds (airdrop.eligibility_window)",
		 (long long)a->cfg.eligibility_window);
	cJSON *v = cJSON_CreateObject();
	cJSON_AddNumberToObject(v, "agreed_attempts", (double)work);
	cJSON_AddItemToObject(v, "last_agreed_at", text_or_null(res, 6));
	criterion(list, "recent_task", v, req, work > 0);
	snprintf(req, sizeof req, "online, or a heartbeat within %llds (airdrop.heartbeat_window)",
		 (long long)a->cfg.heartbeat_window);
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "status", PQgetvalue(res, 0, 1));
	cJSON_AddItemToObject(v, "last_heartbeat", text_or_null(res, 3));
	criterion(list, "heartbeat", v, req, dux_db_bool(res, 0, 8));
	double rep = strtod(PQgetvalue(res, 0, 2), NULL);
	snprintf(req, sizeof req, ">= %g (airdrop.min_reputation)", a->cfg.min_reputation);
	criterion(list, "reputation", cJSON_CreateNumber(rep), req,
		  rep >= a->cfg.min_reputation);
	snprintf(req, sizeof req, "registered at least %llds ago (airdrop.min_node_age)",
		 (long long)a->cfg.min_node_age);
	v = cJSON_CreateObject();
	cJSON_AddItemToObject(v, "registered_at", text_or_null(res, 4));
	cJSON_AddNumberToObject(v, "age_seconds", (double)dux_db_i64(res, 0, 9));
	criterion(list, "node_age", v, req, dux_db_i64(res, 0, 9) >= a->cfg.min_node_age);
	snprintf(req, sizeof req, "no disagreed verdict within %llds (airdrop.flag_window)",
		 (long long)a->cfg.flag_window);
	v = cJSON_CreateObject();
	cJSON_AddItemToObject(v, "last_disagreed_at", text_or_null(res, 7));
	criterion(list, "not_flagged", v, req, PQgetisnull(res, 0, 7));
}

/* unique_wallet: the first eligible node of the address in the order; "" when none is. */
static int representative(airdrop_t *a, dux_db_conn_t *c, const char *addr, char ret[33])
{
	PGresult *res;
	int r = scan(a, c, addr, &res);
	if (r < 0)
		return r;
	snprintf(ret, 33, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}

static int wallet_criteria(airdrop_t *a, dux_db_conn_t *c, const char *node_id,
			   const char *addr, bool others_pass, cJSON *list)
{
	int acct = peer_is_account(a, c, addr);
	if (acct < 0)
		return acct;
	criterion(list, "wallet_account", cJSON_CreateString(addr),
		  "the wallet address is an account of the ledger", acct == 1);
	char rep[33];
	int r = representative(a, c, addr, rep);
	if (r < 0)
		return r;
	/* an ineligible node is nobody's representative: it passes unless another one is */
	bool pass = others_pass ? strcmp(rep, node_id) == 0 : !*rep;
	cJSON *v = cJSON_CreateObject();
	cJSON_AddItemToObject(v, "paid_node", *rep ? cJSON_CreateString(rep) : cJSON_CreateNull());
	criterion(list, "unique_wallet", v,
		  "the first eligible node of its wallet address in the round's order", pass);
	return 0;
}

int elig_explain(airdrop_t *a, dux_db_conn_t *c, const char *node_id, cJSON **ret)
{
	params_t x;
	params_of(a, &x);
	const char *p[] = {node_id, x.w, x.h, x.flag};
	PGresult *res;
	int r = dux_db_execp(
		c, "airdrop_explain",
		"SELECT n.wallet_address, n.status, n.reputation, utc_text(n.last_heartbeat),"
		" utc_text(n.registered_at),"
		" (SELECT count(*) FROM attempts WHERE node_id = $1 AND verdict = 'agreed'"
		"  AND at > now() - make_interval(secs => $2::bigint)),"
		" (SELECT utc_text(max(at)) FROM attempts WHERE node_id = $1 AND verdict = 'agreed'),"
		" (SELECT utc_text(max(at)) FROM attempts WHERE node_id = $1 AND verdict = 'disagreed'"
		"  AND at > now() - make_interval(secs => $4::bigint)),"
		" n.status = 'online' OR n.last_heartbeat > now() - make_interval(secs => $3::bigint),"
		" floor(extract(epoch FROM now() - n.registered_at))::bigint"
		" FROM nodes n WHERE n.node_id = $1",
		4, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	cJSON *out = cJSON_CreateObject(), *list = cJSON_CreateArray();
	cJSON_AddStringToObject(out, "node_id", node_id);
	view_criteria(a, res, list);
	bool view_pass = true;
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		view_pass = view_pass && strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
						       it, "verdict")),
					       "pass") == 0;
	}
	char addr[ADDR_MAX];
	snprintf(addr, sizeof addr, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	r = wallet_criteria(a, c, node_id, addr, view_pass, list);
	if (r < 0) {
		cJSON_Delete(out);
		cJSON_Delete(list);
		return r;
	}
	cJSON *failed = cJSON_CreateArray();
	cJSON_ArrayForEach(it, list)
	{
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "verdict"));
		if (strcmp(v, "fail") == 0)
			cJSON_AddItemToArray(failed,
					     cJSON_CreateString(cJSON_GetStringValue(
						     cJSON_GetObjectItemCaseSensitive(it, "name"))));
	}
	cJSON_AddBoolToObject(out, "eligible", cJSON_GetArraySize(failed) == 0);
	cJSON_AddStringToObject(out, "wallet_address", addr);
	cJSON_AddItemToObject(out, "failed", failed);
	cJSON_AddItemToObject(out, "criteria", list);
	*ret = out;
	return 0;
}
