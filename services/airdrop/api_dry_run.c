/* api_dry_run.c - POST /airdrop/dry-run: the round that would be proposed now, computed
 * exactly as the monitor would (eligibility, order, wallet rules, shares, dust), without
 * recording or paying anything. Body (every member optional):
 *   {"fund_balance": FLOP (default: the fund's balance now, read from the wallet),
 *    "weighting": "equal" | "work" (default airdrop.weighting)} */
#include "airdrop.h"
#include <string.h>

void api_dry_run(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"fund_balance", "weighting", NULL};
	airdrop_t *a = app;
	int64_t pool = -1;
	const char *weighting = NULL;
	dux_verr_t e;
	cJSON *body = dux_req_json(r, allowed), *out = NULL;
	if (!body)
		return;
	int rc = dux_json_money(body, "fund_balance", false, &pool, &e);
	if (rc == 0)
		rc = dux_json_str(body, "weighting", false, 1, 16, &weighting, &e);
	if (rc == 0 && weighting && strcmp(weighting, "equal") != 0 && strcmp(weighting, "work") != 0)
		rc = dux_verr_set(&e, "weighting", "must be equal or work");
	if (rc < 0) {
		dux_reply_verr(r, &e);
		cJSON_Delete(body);
		return;
	}
	int w = !weighting ? -1 : strcmp(weighting, "work") == 0;
	dux_db_conn_t *c;
	rc = dux_db_acquire(dux_daemon_db(a->d), &c);
	if (rc == 0) {
		rc = rounds_dry_run(a, c, pool, w, &out);
		dux_db_release(dux_daemon_db(a->d), c);
	}
	cJSON_Delete(body);
	if (rc < 0)
		dux_reply_err(r, rc, "the dry run (the database, the escrow or the wallet)");
	else
		dux_reply_json(r, 200, out);
}
