/* duxos-airdrop: follows the community fund, and when it crosses the threshold proposes one
 * round that shares it among eligible nodes; the round pays, through the escrow (the fund's
 * owner), only after M of N approvers signed its digest; the rounds are a public, signed log. */
#include "airdrop.h"
#include <dux/log.h>
#include <dux/money.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern const dux_blob_t airdrop_migrations[];
extern const dux_blob_t airdrop_openapi[];

static airdrop_t airdrop;

#define A(field) offsetof(airdrop_cfg_t, field)
static const dux_cfg_opt_t options[] = {
	{"airdrop.threshold", DUX_CFG_STR, A(threshold), "100.0", 0, 0, 0,
	 "FLOP: a fund balance at or above this proposes a round"},
	{"airdrop.min_reputation", DUX_CFG_DOUBLE, A(min_reputation), "0.5", 0, 1, 0,
	 "lowest reputation_score (as the registry reports it) of an eligible node"},
	{"airdrop.max_nodes_per_airdrop", DUX_CFG_INT, A(max_nodes), "1000", 1, 1000, 0,
	 "most recipients of one round (the first in the documented order)"},
	{"airdrop.eligibility_window", DUX_CFG_INT, A(eligibility_window), "86400", 60, 31536000, 0,
	 "seconds: an eligible node completed a validated task (verdict agreed) within it"},
	{"airdrop.heartbeat_window", DUX_CFG_INT, A(heartbeat_window), "3600", 1, 31536000, 0,
	 "seconds: an eligible node is online, or its last heartbeat is within it"},
	{"airdrop.dust_min", DUX_CFG_STR, A(dust_min), "0.0001", 0, 0, 0,
	 "FLOP: shares below this are dropped and the rest renormalised"},
	{"airdrop.min_node_age", DUX_CFG_INT, A(min_node_age), "86400", 0, 31536000, 0,
	 "seconds since a node's first registration before it may be paid (anti-Sybil)"},
	{"airdrop.flag_window", DUX_CFG_INT, A(flag_window), "604800", 0, 31536000, 0,
	 "seconds a disagreed verdict (outvoted by the other replicas) excludes a node"},
	{"airdrop.weighting", DUX_CFG_STR, A(weighting), "equal", 0, 0, 0,
	 "equal: the same share each; work: shares weighted by agreed attempts in the window"},
	{"airdrop.approvers", DUX_CFG_STRLIST, A(approvers), "", 0, 0, 0,
	 "base64url Ed25519 public keys whose signatures approve a round (N)"},
	{"airdrop.approvals_required", DUX_CFG_INT, A(approvals_required), "2", 1, APPROVERS_MAX, 0,
	 "approvals (of distinct approvers) a round needs before it pays (M)"},
	{"airdrop.round_ttl", DUX_CFG_INT, A(round_ttl), "604800", 60, 31536000, 0,
	 "seconds a proposed round waits for its approvals; then it expires (nothing paid)"},
	{"airdrop.check_interval_ms", DUX_CFG_INT, A(check_interval_ms), "10000", 50, 3600000, 0,
	 "milliseconds between rounds of the monitor (fund check, proposal, expiry, recovery)"},
	{"airdrop.recovery_grace_ms", DUX_CFG_INT, A(recovery_grace_ms), "120000", 1000, 3600000, 0,
	 "milliseconds an executing round is left to its request before the monitor finishes it"
	 " (more than 3 x airdrop.peer_timeout_ms + 1000)"},
	{"airdrop.peer_timeout_ms", DUX_CFG_INT, A(peer_timeout_ms), "30000", 100, 600000, 0,
	 "milliseconds one attempt of a call to the escrow or the wallet may take (up to 3)"},
	{"airdrop.escrow_url", DUX_CFG_STR, A(escrow_url), "http://127.0.0.1:8103", 0, 0, 0,
	 "base URL of duxos-escrow: the fund, its payouts, and the backfill of fund.balance"},
	{"airdrop.escrow_events", DUX_CFG_STR, A(escrow_events), "tcp://127.0.0.1:7103", 0, 0, 0,
	 "ZeroMQ PUB endpoint of duxos-escrow's events"},
	{"airdrop.registry_url", DUX_CFG_STR, A(registry_url), "http://127.0.0.1:8101", 0, 0, 0,
	 "base URL of duxos-registry, for the backfill of its node.* events"},
	{"airdrop.registry_events", DUX_CFG_STR, A(registry_events), "tcp://127.0.0.1:7101", 0, 0,
	 0, "ZeroMQ PUB endpoint of duxos-registry's events"},
	{"airdrop.tasks_url", DUX_CFG_STR, A(tasks_url), "http://127.0.0.1:8105", 0, 0, 0,
	 "base URL of duxos-tasks, for the backfill of task.succeeded and task.failed"
	 " (\"\" = no task events: no node is eligible)"},
	{"airdrop.tasks_events", DUX_CFG_STR, A(tasks_events), "tcp://127.0.0.1:7105", 0, 0, 0,
	 "ZeroMQ PUB endpoint of duxos-tasks' events"},
	{"airdrop.wallet_url", DUX_CFG_STR, A(wallet_url), "http://127.0.0.1:8102", 0, 0, 0,
	 "base URL of duxos-wallet: whether an address is a ledger account, the fund's live"
	 " balance"},
	{"airdrop.service_token", DUX_CFG_STR, A(service_token), "", 0, 0, DUX_CFG_SECRET,
	 "bearer token (scope service, sub in the escrow's escrow.fund_payers) this daemon uses"
	 " with the escrow, the wallet, the registry and the task engine (or service_token_file)"},
	{"airdrop.events_poll_ms", DUX_CFG_INT, A(events_poll_ms), "5000", 100, 600000, 0,
	 "milliseconds between backfills of each peer's events when ZeroMQ shows no gap"},
	{"airdrop.audit_key_file", DUX_CFG_STR, A(audit_key_file), "", 0, 0, 0,
	 "Ed25519 private key (PEM) that signs the airdrop's audit log"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef A

#define ANY (DUX_SCOPE_USER | DUX_SCOPE_PROVIDER | DUX_SCOPE_SERVICE | DUX_SCOPE_ADMIN)
/* Reading is public (the rounds are a public log); the dry run scans every node, so it needs a
 * token (rate-limited); an approval carries its own Ed25519 signature, which is the credential. */
static const dux_route_t routes[] = {
	{"GET", "/airdrop/status", api_status, DUX_ROUTE_DB, 0},
	{"GET", "/airdrop/eligibility/{node_id}", api_eligibility, DUX_ROUTE_DB, 0},
	{"POST", "/airdrop/dry-run", api_dry_run, DUX_ROUTE_BODY | DUX_ROUTE_DB, ANY},
	{"GET", "/airdrop/rounds", api_rounds, DUX_ROUTE_DB, 0},
	{"GET", "/airdrop/rounds/{id}", api_round, DUX_ROUTE_DB, 0},
	{"POST", "/airdrop/rounds/{id}/approve", api_approve, DUX_ROUTE_BODY | DUX_ROUTE_DB, 0},
	{"GET", "/airdrop/audit", api_audit, DUX_ROUTE_DB, 0},
	{"GET", "/airdrop/audit/key", api_audit_key, 0, 0},
};

static bool url_ok(const char *s, bool may_be_empty)
{
	if (!*s)
		return may_be_empty;
	return (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
	       !strpbrk(s, " \t\r\n");
}

static int check_urls(const airdrop_cfg_t *c, char *err, size_t len)
{
	const struct {
		const char *key, *v;
		bool empty;
	} urls[] = {{"airdrop.escrow_url", c->escrow_url, false},
		    {"airdrop.registry_url", c->registry_url, false},
		    {"airdrop.tasks_url", c->tasks_url, true},
		    {"airdrop.wallet_url", c->wallet_url, false}};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		if (!url_ok(urls[i].v, urls[i].empty)) {
			snprintf(err, len, "%s: expected an http:// or https:// URL, got \"%s\"",
				 urls[i].key, urls[i].v);
			return DUX_EINVAL;
		}
	}
	return 0;
}

static int check(void *app, char *err, size_t len)
{
	airdrop_t *a = app;
	const airdrop_cfg_t *c = &a->cfg;
	if (!*c->service_token) {
		snprintf(err, len, "airdrop.service_token: required: a service token for the escrow"
				   " and the wallet (or airdrop.service_token_file)");
		return DUX_EINVAL;
	}
	if (strcmp(c->weighting, "equal") != 0 && strcmp(c->weighting, "work") != 0) {
		snprintf(err, len, "airdrop.weighting: expected equal or work, got \"%s\"",
			 c->weighting);
		return DUX_EINVAL;
	}
	a->weighted = strcmp(c->weighting, "work") == 0;
	if (c->recovery_grace_ms <= 3 * c->peer_timeout_ms + 1000) {
		snprintf(err, len, "airdrop.recovery_grace_ms: must exceed 3 x airdrop.peer_timeout_ms"
				   " + 1000 (a request may still be waiting for the escrow until then)");
		return DUX_EINVAL;
	}
	int r = check_urls(c, err, len);
	if (r == 0)
		r = dux_cfg_money("airdrop.threshold", c->threshold, &a->threshold, err, len);
	if (r == 0 && a->threshold <= 0) {
		snprintf(err, len, "airdrop.threshold: must be more than 0");
		r = DUX_EINVAL;
	}
	if (r == 0)
		r = dux_cfg_money("airdrop.dust_min", c->dust_min, &a->dust_min, err, len);
	if (r == 0 && !a->napprovers)
		r = approvals_init(a, err, len);
	if (r == 0 && !a->audit_key)
		r = audit_init(a, err, len);
	return r;
}

static int start(dux_daemon_t *d, void *app)
{
	airdrop_t *a = app;
	a->d = d;
	dux_metrics_t *m = dux_daemon_metrics(d);
	a->m_stuck = dux_metrics_gauge(m, "airdrop_events_stuck",
				       "1 while a peer's event log no longer reaches the cursor", NULL);
	a->m_skipped = dux_metrics_counter(m, "airdrop_events_skipped_total",
					   "events of peers skipped as unusable", NULL);
	a->m_rounds = dux_metrics_counter(m, "airdrop_rounds_proposed_total",
					  "rounds this copy proposed", NULL);
	if (!a->m_stuck || !a->m_skipped || !a->m_rounds)
		return DUX_ENOMEM;
	int r = dux_daemon_job(d, "airdrop.monitor", (int)a->cfg.check_interval_ms,
			       dux_lock_key("airdrop.monitor"), monitor_run, a);
	if (r == 0)
		r = dux_daemon_job(d, "airdrop.audit", 200, dux_lock_key("airdrop.audit"),
				   audit_chain_run, a);
	if (r == 0)
		r = views_start(a);
	return r;
}

static void free_keys(airdrop_t *a)
{
	a->audit_key = dux_key_free(a->audit_key);
	for (size_t i = 0; i < a->napprovers; i++)
		a->approver_keys[i] = dux_key_free(a->approver_keys[i]);
	a->napprovers = 0;
}

static void stop(dux_daemon_t *d, void *app)
{
	(void)d;
	views_stop(app);
}

int main(int argc, char **argv)
{
	const dux_daemon_spec_t spec = {
		.name = "duxos-airdrop",
		.summary = "Dux_OS airdrop: the community fund shared among eligible nodes, in rounds"
			   " approved by M of N signatures.",
		.schema = "airdrop",
		.default_port = 8106,
		.default_bus = "tcp://127.0.0.1:7106",
		.events_scopes = 0, /* rounds are public */
		.opts = options,
		.cfg = &airdrop.cfg,
		.migrations = airdrop_migrations,
		.openapi = airdrop_openapi,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.check = check,
		.start = start,
		.stop = stop,
		.app = &airdrop,
	};
	int code = dux_daemon_main(argc, argv, &spec);
	free_keys(&airdrop); /* --check-config loads them too */
	return code;
}
