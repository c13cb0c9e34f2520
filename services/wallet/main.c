/* duxos-wallet: the ledger (accounts, two-phase transfers, holds), addresses, and the link to
 * Flopcoin Core. */
#include "chain.h"
#include <dux/log.h>
#include <dux/money.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern const dux_blob_t wallet_migrations[];
extern const dux_blob_t wallet_openapi[];

static wallet_t wallet = {.send_lock = PTHREAD_MUTEX_INITIALIZER};

#define W(field) offsetof(wallet_cfg_t, field)
static const dux_cfg_opt_t options[] = {
	{"wallet.chain", DUX_CFG_STR, W(chain), "none", 0, 0, 0,
	 "chain link: none (addresses from local keys, admin faucet) or flopcoind (JSON-RPC)"},
	{"wallet.encryption", DUX_CFG_BOOL, W(encryption), "true", 0, 0, 0,
	 "seal generated private keys with a key derived from wallet.passphrase; with flopcoind,"
	 " the node's wallet is encrypted and unlocked only for a send"},
	{"wallet.passphrase", DUX_CFG_STR, W(passphrase), "", 0, 0, DUX_CFG_SECRET,
	 "passphrase of the keys at rest (and of the node's wallet with flopcoind)"},
	{"wallet.max_timeout", DUX_CFG_INT, W(max_timeout), "2592000", 1, 31536000, 0,
	 "longest timeout, in seconds, a pending transfer may ask for"},
	{"wallet.sweep_interval_ms", DUX_CFG_INT, W(sweep_interval_ms), "1000", 50, 60000, 0,
	 "milliseconds between voids of pending transfers past their timeout"},
	{"wallet.fold_interval_ms", DUX_CFG_INT, W(fold_interval_ms), "500", 50, 60000, 0,
	 "milliseconds between rounds of the job that folds credits into the balances of accounts"
	 " that are paid but not debited"},
	{"wallet.faucet_limit", DUX_CFG_STR, W(faucet_limit), "10000", 0, 0, 0,
	 "most FLOP one faucet call may credit (chain: none only)"},
	{"wallet.min_confirmations", DUX_CFG_INT, W(min_confirmations), "6", 1, 1000, 0,
	 "confirmations before a deposit is credited (flopcoind)"},
	{"wallet.deposit_interval", DUX_CFG_INT, W(deposit_interval), "10", 1, 3600, 0,
	 "seconds between scans for deposits (flopcoind)"},
	{"wallet.backup_interval", DUX_CFG_INT, W(backup_interval), "3600", 0, 31536000, 0,
	 "seconds between backupwallet calls; 0 = never (flopcoind)"},
	{"wallet.fee_reserve", DUX_CFG_STR, W(fee_reserve), "1", 0, 0, 0,
	 "FLOP held on top of a withdrawal for the network fee; what is not spent is released"},
	{"rpc.host", DUX_CFG_STR, W(rpc_host), "127.0.0.1", 0, 0, 0,
	 "Flopcoin Core JSON-RPC host (flopcoind)"},
	{"rpc.port", DUX_CFG_INT, W(rpc_port), "32553", 1, 65535, 0,
	 "Flopcoin Core JSON-RPC port; set the node's rpcport to match"},
	{"rpc.user", DUX_CFG_STR, W(rpc_user), "flopcoinrpc", 0, 0, 0, "JSON-RPC user"},
	{"rpc.password", DUX_CFG_STR, W(rpc_password), "", 0, 0, DUX_CFG_SECRET,
	 "JSON-RPC password (or rpc.password_file)"},
	{"rpc.timeout", DUX_CFG_INT, W(rpc_timeout), "30", 1, 600, 0,
	 "seconds one JSON-RPC call may take"},
	{"rpc.unlock_seconds", DUX_CFG_INT, W(unlock_seconds), "10", 1, 600, 0,
	 "seconds walletpassphrase unlocks the node's wallet around a send"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef W

static const dux_route_t routes[] = {
	{"POST", "/transfers", api_transfers_post, DUX_ROUTE_BODY | DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/transfers/{id}", api_transfer_get, DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/accounts/{address}", api_account_get, DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/accounts/{address}/transfers", api_account_transfers, DUX_ROUTE_DB,
	 WALLET_ANY_SCOPE},
	{"POST", "/wallet/address", api_address_new, DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/wallet/balance", api_balance, DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"POST", "/wallet/send", api_send, DUX_ROUTE_BODY | DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/wallet/transactions", api_transactions, DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/withdrawals/{id}", api_withdrawal_get, DUX_ROUTE_DB, WALLET_ANY_SCOPE},
	{"GET", "/wallet/validate/{address}", api_validate, 0, 0},
	{"POST", "/faucet", api_faucet, DUX_ROUTE_BODY | DUX_ROUTE_DB, DUX_SCOPE_ADMIN},
	{"GET", "/ledger/check", api_ledger_check, DUX_ROUTE_DB, DUX_SCOPE_ADMIN},
};

static int check(void *app, char *err, size_t len)
{
	wallet_t *w = app;
	const wallet_cfg_t *c = &w->cfg;
	w->flopcoind = strcmp(c->chain, "flopcoind") == 0;
	if (!w->flopcoind && strcmp(c->chain, "none") != 0) {
		snprintf(err, len, "wallet.chain: expected none or flopcoind, got \"%s\"", c->chain);
		return DUX_EINVAL;
	}
	if (c->encryption && !*c->passphrase) {
		snprintf(err, len, "wallet.passphrase: required while wallet.encryption is true "
				   "(set it, or wallet.passphrase_file)");
		return DUX_EINVAL;
	}
	if (w->flopcoind && !*c->rpc_password) {
		snprintf(err, len, "rpc.password: required with wallet.chain: flopcoind "
				   "(set it, or rpc.password_file)");
		return DUX_EINVAL;
	}
	int r = dux_cfg_money("wallet.faucet_limit", c->faucet_limit, &w->faucet_limit, err, len);
	if (r == 0)
		r = dux_cfg_money("wallet.fee_reserve", c->fee_reserve, &w->fee_reserve, err, len);
	return r;
}

static int start(dux_daemon_t *d, void *app)
{
	wallet_t *w = app;
	w->d = d;
	char err[256] = "";
	/* a database still down only delays the passphrase check to the first new key */
	int r = w->flopcoind ? 0 : seal_init(w, dux_daemon_db(d), err, sizeof err);
	if (r < 0 && r != DUX_EUNAVAIL) {
		dux_error("%s", *err ? err : dux_strerror(r));
		return r == DUX_EAUTH ? DUX_EINVAL : r; /* a wrong passphrase: exit 78 */
	}
	r = dux_daemon_job(d, "wallet.sweeper", (int)w->cfg.sweep_interval_ms,
			   dux_lock_key("wallet.sweeper"), sweeper_run, w);
	if (r == 0)
		r = dux_daemon_job(d, "wallet.folder", (int)w->cfg.fold_interval_ms,
				   dux_lock_key("wallet.folder"), folder_run, w);
	if (r == 0 && w->flopcoind)
		r = chain_start(w);
	return r;
}

static void stop(dux_daemon_t *d, void *app)
{
	(void)d;
	wallet_t *w = app;
	if (w->flopcoind)
		chain_stop(w);
	memset(w->seal_key, 0, sizeof w->seal_key);
}

int main(int argc, char **argv)
{
	const dux_daemon_spec_t spec = {
		.name = "duxos-wallet",
		.summary = "Dux_OS wallet: the ledger, addresses and the Flopcoin Core link.",
		.schema = "wallet",
		.default_port = 8102,
		.default_bus = "tcp://127.0.0.1:7102",
		.events_scopes = DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN, /* every transfer is in them */
		.opts = options,
		.cfg = &wallet.cfg,
		.migrations = wallet_migrations,
		.openapi = wallet_openapi,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.check = check,
		.start = start,
		.stop = stop,
		.app = &wallet,
	};
	return dux_daemon_main(argc, argv, &spec);
}
