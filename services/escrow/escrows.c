/* escrows.c - escrow rows: reading them, and the transfer ids derived from their ids. */
#include "escrow.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void escrow_tid(const char *escrow_id, const char *what, char ret[96])
{
	snprintf(ret, 96, "escrow:%s:%s", escrow_id, what);
}

int escrows_get(dux_db_conn_t *c, const char *id, char **ret_json)
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "escrow_get", "SELECT escrow_json(e)::text FROM escrows e WHERE id = $1",
			     1, p, &res);
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

#define ROW_COLUMNS \
	"id, status, user_wallet, provider_wallet, fund_account, owner, coalesce(task_id, ''), amount," \
	" provider_share, community_share, community_bps, coalesce(split_amount, 0)," \
	" coalesce(reason, ''), coalesce(result_hash, '')"

static void copy(char *dst, size_t len, const PGresult *res, int col)
{
	snprintf(dst, len, "%s", PQgetvalue(res, 0, col));
}

int escrows_load(dux_db_conn_t *c, const char *id, bool lock, escrow_row_t *ret)
{
	const char *p[] = {id};
	PGresult *res;
	int r = lock ? dux_db_execp(c, "escrow_load_lock",
				    "SELECT " ROW_COLUMNS " FROM escrows WHERE id = $1 FOR UPDATE", 1,
				    p, &res)
		     : dux_db_execp(c, "escrow_load", "SELECT " ROW_COLUMNS " FROM escrows WHERE id = $1",
				    1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	memset(ret, 0, sizeof *ret);
	copy(ret->id, sizeof ret->id, res, 0);
	copy(ret->status, sizeof ret->status, res, 1);
	copy(ret->user_wallet, sizeof ret->user_wallet, res, 2);
	copy(ret->provider_wallet, sizeof ret->provider_wallet, res, 3);
	copy(ret->fund_account, sizeof ret->fund_account, res, 4);
	copy(ret->owner, sizeof ret->owner, res, 5);
	copy(ret->task_id, sizeof ret->task_id, res, 6);
	ret->amount = dux_db_i64(res, 0, 7);
	ret->provider_share = dux_db_i64(res, 0, 8);
	ret->community_share = dux_db_i64(res, 0, 9);
	ret->community_bps = (int32_t)dux_db_i64(res, 0, 10);
	ret->split_amount = dux_db_i64(res, 0, 11);
	copy(ret->reason, sizeof ret->reason, res, 12);
	copy(ret->result_hash, sizeof ret->result_hash, res, 13);
	PQclear(res);
	return 0;
}

void reply_db_json(dux_req_t *r, int status, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (j)
		dux_reply_json(r, status, j);
	else
		dux_reply_problem(r, 500, "internal", "out of memory");
}

int escrows_read(escrow_t *e, const char *id, escrow_row_t *ret)
{
	dux_db_conn_t *c;
	int r = dux_db_acquire(dux_daemon_db(e->d), &c);
	if (r < 0)
		return r;
	r = escrows_load(c, id, false, ret);
	dux_db_release(dux_daemon_db(e->d), c);
	return r;
}
