/* duxos-escrow: payments held in the wallet until the work is validated, then released 95/5
 * to the provider and the community fund, or refunded; disputes; the fund; the audit log. */
#include "escrow.h"
#include <dux/log.h>
#include <dux/money.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern const dux_blob_t escrow_migrations[];
extern const dux_blob_t escrow_openapi[];

static escrow_t escrow;

#define E(field) offsetof(escrow_cfg_t, field)
static const dux_cfg_opt_t options[] = {
	{"escrow.wallet_url", DUX_CFG_STR, E(wallet_url), "http://127.0.0.1:8102", 0, 0, 0,
	 "base URL of duxos-wallet"},
	{"escrow.wallet_token", DUX_CFG_STR, E(wallet_token), "", 0, 0, DUX_CFG_SECRET,
	 "bearer token (scope service) this daemon uses with the wallet (or wallet_token_file)"},
	{"escrow.community_bps", DUX_CFG_INT, E(community_bps), "500", 0, 10000, 0,
	 "community fund's share of a release, in basis points: floor(amount x bps / 10000)"},
	{"escrow.fund_shards", DUX_CFG_INT, E(fund_shards), "16", 1, FUND_SHARDS_MAX, 0,
	 "wallet accounts the community fund is spread over (summed on read)"},
	{"escrow.fund_threshold", DUX_CFG_STR, E(fund_threshold), "100", 0, 0, 0,
	 "FLOP shown with the fund: the balance that triggers an airdrop"},
	{"escrow.default_timeout", DUX_CFG_INT, E(default_timeout), "3600", 1, 31536000, 0,
	 "seconds before an escrow not released is refunded, unless the request asks otherwise"},
	{"escrow.dispute_timeout", DUX_CFG_INT, E(dispute_timeout), "604800", 1, 31536000, 0,
	 "seconds a dispute may wait for an admin; then the escrow is refunded"
	 " (refunded_dispute_timeout)"},
	{"escrow.min_timeout", DUX_CFG_INT, E(min_timeout), "10", 1, 31536000, 0,
	 "shortest timeout a request may ask, seconds"},
	{"escrow.max_timeout", DUX_CFG_INT, E(max_timeout), "604800", 1, 31536000, 0,
	 "longest timeout a request may ask, seconds"},
	{"escrow.max_amount", DUX_CFG_STR, E(max_amount), "1000000", 0, 0, 0,
	 "largest escrow, FLOP"},
	{"escrow.tasks_url", DUX_CFG_STR, E(tasks_url), "", 0, 0, 0,
	 "base URL of duxos-tasks, for escrows bound to a task (\"\" = none)"},
	{"escrow.tasks_token", DUX_CFG_STR, E(tasks_token), "", 0, 0, DUX_CFG_SECRET,
	 "bearer token for the task engine (or tasks_token_file)"},
	{"escrow.audit_key_file", DUX_CFG_STR, E(audit_key_file), "", 0, 0, 0,
	 "Ed25519 private key (PEM) that signs the audit log"},
	{"escrow.recovery_interval_ms", DUX_CFG_INT, E(recovery_interval_ms), "1000", 50, 60000, 0,
	 "milliseconds between rounds of the recovery and timeout job"},
	{"escrow.recovery_grace_ms", DUX_CFG_INT, E(recovery_grace_ms), "60000", 1000, 3600000, 0,
	 "milliseconds an unfinished step is left to its request before the recovery job takes it"
	 " over (more than 3 x escrow.wallet_timeout_ms + 1000)"},
	{"escrow.wallet_timeout_ms", DUX_CFG_INT, E(wallet_timeout_ms), "10000", 100, 600000, 0,
	 "milliseconds one attempt of a call to the wallet may take (up to 3 attempts)"},
	{"escrow.fund_interval_ms", DUX_CFG_INT, E(fund_interval_ms), "1000", 100, 600000, 0,
	 "milliseconds between checks of the fund's balance (fund.balance when it changed)"},
	{"escrow.fund_payers", DUX_CFG_STRLIST, E(fund_payers), "duxos-airdrop", 0, 0, 0,
	 "subjects of service tokens that may pay out the community fund"
	 " (POST /community-fund/payouts)"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef E

#define ANY (DUX_SCOPE_USER | DUX_SCOPE_PROVIDER | DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN)
#define BD (DUX_ROUTE_BODY | DUX_ROUTE_DB)
static const dux_route_t routes[] = {
	{"POST", "/escrow/create", api_create, BD, DUX_SCOPE_USER | DUX_SCOPE_PROVIDER},
	{"POST", "/escrow/release", api_release, BD, DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN},
	{"POST", "/escrow/refund", api_refund, BD, DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN},
	{"POST", "/escrow/dispute", api_dispute, BD, DUX_SCOPE_USER | DUX_SCOPE_PROVIDER},
	{"POST", "/escrow/resolve", api_resolve, BD, DUX_SCOPE_ADMIN},
	{"GET", "/escrow/{id}", api_get, DUX_ROUTE_DB, ANY},
	{"GET", "/escrows", api_list, DUX_ROUTE_DB, ANY},
	{"GET", "/community-fund", api_fund, DUX_ROUTE_DB, 0},
	{"POST", "/community-fund/payouts", api_fund_payout, BD, DUX_SCOPE_SERVICE},
	{"GET", "/audit", api_audit, DUX_ROUTE_DB, DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN},
	{"GET", "/audit/key", api_audit_key, 0, 0},
};

static int check(void *app, char *err, size_t len)
{
	escrow_t *e = app;
	const escrow_cfg_t *c = &e->cfg;
	if (!*c->wallet_token) {
		snprintf(err, len, "escrow.wallet_token: required: a service token for the wallet"
				   " (or escrow.wallet_token_file)");
		return DUX_EINVAL;
	}
	if (c->min_timeout > c->default_timeout || c->default_timeout > c->max_timeout) {
		snprintf(err, len, "escrow.default_timeout: must lie within escrow.min_timeout and"
				   " escrow.max_timeout");
		return DUX_EINVAL;
	}
	if (c->recovery_grace_ms <= 3 * c->wallet_timeout_ms + 1000) {
		snprintf(err, len, "escrow.recovery_grace_ms: must exceed 3 x escrow.wallet_timeout_ms"
				   " + 1000 (a request may still be waiting for the wallet until then)");
		return DUX_EINVAL;
	}
	int r = dux_cfg_money("escrow.max_amount", c->max_amount, &e->max_amount, err, len);
	if (r == 0)
		r = dux_cfg_money("escrow.fund_threshold", c->fund_threshold, &e->fund_threshold, err,
				 len);
	if (r == 0 && !e->audit_key)
		r = audit_init(e, err, len);
	return r;
}

static int start(dux_daemon_t *d, void *app)
{
	escrow_t *e = app;
	e->d = d;
	int r = dux_daemon_job(d, "escrow.fund_shards", 1000, 0, fund_shards_run, e);
	if (r == 0)
		r = dux_daemon_job(d, "escrow.fund", (int)e->cfg.fund_interval_ms,
				   dux_lock_key("escrow.fund"), fund_run, e);
	if (r == 0)
		r = dux_daemon_job(d, "escrow.audit", 200, dux_lock_key("escrow.audit"),
				   audit_chain_run, e);
	if (r == 0)
		r = dux_daemon_job(d, "escrow.recovery", (int)e->cfg.recovery_interval_ms,
				   dux_lock_key("escrow.recovery"), recovery_run, e);
	return r;
}

static void stop(dux_daemon_t *d, void *app)
{
	(void)d;
	escrow_t *e = app;
	e->audit_key = dux_key_free(e->audit_key);
}

int main(int argc, char **argv)
{
	const dux_daemon_spec_t spec = {
		.name = "duxos-escrow",
		.summary = "Dux_OS escrow: payments held until validated, released 95/5 or refunded.",
		.schema = "escrow",
		.default_port = 8103,
		.default_bus = "tcp://127.0.0.1:7103",
		/* a payout of the fund to 1000 recipients is about 75 KB */
		.default_max_body = "1048576",
		.events_scopes = DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN, /* wallets and amounts */
		.opts = options,
		.cfg = &escrow.cfg,
		.migrations = escrow_migrations,
		.openapi = escrow_openapi,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.check = check,
		.start = start,
		.stop = stop,
		.app = &escrow,
	};
	int code = dux_daemon_main(argc, argv, &spec);
	dux_key_free(escrow.audit_key); /* --check-config loads it too */
	return code;
}
