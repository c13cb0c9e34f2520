/* monitor.c - the job one copy of the daemon runs (advisory lock airdrop.monitor) every
 * airdrop.check_interval_ms:
 *   1. the periodic check of the fund: GET /v1/community-fund of the escrow, recorded when it is
 *      newer than what the fund.balance events told (they may lag, or the escrow's events may be
 *      unreachable for a while);
 *   2. proposed rounds past their expires_at (airdrop.round_ttl) expire: nothing was paid;
 *   3. executing rounds left by a crash or a lost answer (older than airdrop.recovery_grace_ms)
 *      are paid again: the escrow's payout is idempotent by round id;
 *   4. when the fund is at or above the threshold and no round is open, one is proposed. */
#include "airdrop.h"
#include <dux/log.h>
#include <dux/money.h>
#include <stdio.h>
#include <string.h>

static int check_fund(airdrop_t *a, dux_db_conn_t *c)
{
	peer_resp_t resp;
	int r = peer_escrow(a, "GET", "/v1/community-fund?limit=1", NULL, NULL, &resp);
	const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "balance"));
	const char *at =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "changed_at"));
	int64_t units;
	if (r == 0 && resp.status == 200 && b && dux_money_parse(b, strlen(b), false, &units) == 0 &&
	    views_time_ok(at))
		r = views_fund_record(c, units, at, "check");
	peer_resp_clear(&resp);
	return r;
}

static int expire(dux_db_conn_t *c)
{
	PGresult *res;
	int r = dux_db_exec(c,
			    "WITH x AS (UPDATE rounds r SET status = 'expired', updated_at = now(),"
			    " reason = 'not enough approvals before expires_at (airdrop.round_ttl)'"
			    " WHERE status = 'proposed' AND expires_at <= now()"
			    " RETURNING round_json(r, false) AS j, id)"
			    " SELECT id, j::text FROM x",
			    0, NULL, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		cJSON *data = cJSON_Parse(PQgetvalue(res, i, 1));
		r = data ? dux_outbox_emit(c, "airdrop.round.expired", PQgetvalue(res, i, 0), data)
			 : DUX_ENOMEM;
		if (r == 0)
			r = audit_queue(c, "expired", PQgetvalue(res, i, 0), "duxos-airdrop", data);
		cJSON_Delete(data);
		dux_info("round %s expired without enough approvals", PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return r;
}

static int expire_tx(dux_db_conn_t *c, void *arg)
{
	(void)arg;
	return expire(c);
}

static int recover(airdrop_t *a, dux_db_conn_t *c)
{
	char grace[24];
	snprintf(grace, sizeof grace, "%lld", (long long)a->cfg.recovery_grace_ms);
	const char *p[] = {grace};
	PGresult *res;
	int r = dux_db_exec(c,
			    "SELECT id FROM rounds WHERE status = 'executing' AND updated_at <"
			    " now() - make_interval(secs => $1::bigint / 1000.0)",
			    1, p, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0);
		dux_info("round %s: finishing its payout (left executing)", id);
		r = payout_execute(a, id);
		if (r == DUX_EUNAVAIL) {
			/* the escrow did not answer: wait another grace, do not hammer it */
			const char *q[] = {id};
			if (dux_db_exec(c, "UPDATE rounds SET updated_at = now() WHERE id = $1", 1, q,
					NULL) < 0)
				dux_warn("round %s: cannot postpone its next try", id);
		}
	}
	PQclear(res);
	return 0;
}

int monitor_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	airdrop_t *a = ctx;
	if (check_fund(a, c) < 0)
		dux_debug("the fund's periodic check found no answer from the escrow");
	int r = dux_db_tx_on(c, NULL, expire_tx, NULL);
	if (r == 0)
		r = recover(a, c);
	if (r == 0)
		r = rounds_propose(a, c);
	if (r < 0 && r != DUX_EUNAVAIL)
		dux_warn("airdrop monitor: %s", dux_strerror(r));
	return 0;
}
