/* folder.c - credits waiting in the table credits (sql/003_credits.sql) folded into their
 * accounts' balances. Every debit folds its own accounts' credits; this job folds those of accounts that
 * are only paid, so that the credits table stays small. One copy of the daemon runs it. */
#include "wallet.h"
#include <stdio.h>

#define FOLD_BATCH 500

int folder_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	(void)ctx;
	char lim[16];
	snprintf(lim, sizeof lim, "%d", FOLD_BATCH);
	const char *p[] = {lim};
	PGresult *res;
	int r = dux_db_execp(c, "wallet_fold", "SELECT fold_credits($1::int)", 1, p, &res);
	if (r < 0)
		return r;
	int folded = (int)dux_db_i64(res, 0, 0);
	PQclear(res);
	return folded == FOLD_BATCH; /* more may be waiting */
}
