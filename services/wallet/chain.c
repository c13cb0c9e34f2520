/* chain.c - the link to Flopcoin Core: its RPC client, new addresses, and the background jobs
 * (deposits, withdrawal recovery, wallet backups), each run by one copy of the daemon. */
#include "chain.h"
#include "rpc.h"
#include <dux/log.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RECOVERY_INTERVAL_MS 5000

int chain_new_address(wallet_t *w, char ret[DUX_ADDRESS_MAX])
{
	cJSON *res = NULL;
	rpc_error_t err;
	int r = rpc_call(w->rpc, "getnewaddress", NULL, &res, &err);
	if (r == DUX_ECONFLICT) {
		dux_warn("getnewaddress refused: %d %s", err.code, err.message);
		r = err.code == RPC_WARMING_UP ? DUX_ERETRY : DUX_EPROTO;
	}
	if (r == 0 && (!cJSON_IsString(res) || strlen(res->valuestring) >= DUX_ADDRESS_MAX ||
		       dux_address_validate(res->valuestring, dux_daemon_net(w->d), NULL, NULL) < 0)) {
		dux_error("getnewaddress answered no %s address; check chain.network",
			  dux_net_name(dux_daemon_net(w->d)));
		r = DUX_EPROTO;
	}
	if (r == 0)
		snprintf(ret, DUX_ADDRESS_MAX, "%s", res->valuestring);
	cJSON_Delete(res);
	return r;
}

/* backupwallet writes under the node's own backups folder and refuses to overwrite: each
 * backup gets a name of its own. */
static int backup_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	(void)c;
	wallet_t *w = ctx;
	char name[64], params[96];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(name, sizeof name, "duxos-wallet-%Y%m%dT%H%M%SZ.dat", &tm);
	snprintf(params, sizeof params, "[\"%s\"]", name);
	rpc_error_t err;
	int r = rpc_call(w->rpc, "backupwallet", params, NULL, &err);
	if (r == 0)
		dux_info("node wallet backed up as %s in the node's backups folder", name);
	else if (r == DUX_ECONFLICT)
		dux_error("backupwallet %s refused: %d %s", name, err.code, err.message);
	else
		dux_warn("backupwallet %s failed: %s; retrying at the next interval", name,
			 dux_strerror(r));
	return 0;
}

int chain_start(wallet_t *w)
{
	const wallet_cfg_t *c = &w->cfg;
	int r = rpc_new(c->rpc_host, (int)c->rpc_port, c->rpc_user, c->rpc_password,
			(int)c->rpc_timeout, &w->rpc);
	if (r == 0)
		r = dux_daemon_job(w->d, "wallet.deposits", (int)(c->deposit_interval * 1000),
				   dux_lock_key("wallet.deposits"), deposits_run, w);
	if (r == 0)
		r = dux_daemon_job(w->d, "wallet.withdrawals", RECOVERY_INTERVAL_MS,
				   dux_lock_key("wallet.withdrawals"), withdrawals_recover, w);
	if (r == 0 && c->backup_interval > 0)
		r = dux_daemon_job(w->d, "wallet.backup", (int)(c->backup_interval * 1000),
				   dux_lock_key("wallet.backup"), backup_run, w);
	return r;
}

void chain_stop(wallet_t *w)
{
	w->rpc = rpc_free(w->rpc);
}
