/* duxos-store: the catalogue of APIs and apps (publish, versions, delisting), discovery
 * (full-text search, filters, sorts), ratings and reviews by paying callers, and usage counted
 * from the escrow's events. */
#include "index.h"
#include <dux/log.h>
#include <dux/money.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern const dux_blob_t store_migrations[];
extern const dux_blob_t store_openapi[];

static store_t store;

#define S(field) offsetof(store_cfg_t, field)
static const dux_cfg_opt_t options[] = {
	{"store.wallet_url", DUX_CFG_STR, S(wallet_url), "http://127.0.0.1:8102", 0, 0, 0,
	 "base URL of duxos-wallet, asked who owns a provider address"},
	{"store.wallet_token", DUX_CFG_STR, S(wallet_token), "", 0, 0, DUX_CFG_SECRET,
	 "bearer token (scope service) this daemon uses with the wallet (or wallet_token_file)"},
	{"store.wallet_timeout_ms", DUX_CFG_INT, S(wallet_timeout_ms), "5000", 100, 60000, 0,
	 "milliseconds one attempt of a call to the wallet may take (up to 2 attempts)"},
	{"store.escrow_url", DUX_CFG_STR, S(escrow_url), "http://127.0.0.1:8103", 0, 0, 0,
	 "base URL of duxos-escrow, for the backfill of its events (\"\" = no paid calls learned)"},
	{"store.escrow_events", DUX_CFG_STR, S(escrow_events), "tcp://127.0.0.1:7103", 0, 0, 0,
	 "ZeroMQ PUB endpoint of duxos-escrow's events"},
	{"store.escrow_token", DUX_CFG_STR, S(escrow_token), "", 0, 0, DUX_CFG_SECRET,
	 "bearer token (scope service) for the escrow's GET /v1/events (or escrow_token_file)"},
	{"store.events_poll_ms", DUX_CFG_INT, S(events_poll_ms), "5000", 100, 600000, 0,
	 "milliseconds between backfills of the escrow's events when ZeroMQ shows no gap"},
	{"store.max_price", DUX_CFG_STR, S(max_price), "1000000", 0, 0, 0,
	 "highest price of a service, FLOP per call"},
	{"store.search_cache_ms", DUX_CFG_INT, S(search_cache_ms), "1000", 0, 60000, 0,
	 "milliseconds a search answer is reused (changes through this copy show at once; 0 ="
	 " always ask PostgreSQL)"},
	{"store.search_index", DUX_CFG_BOOL, S(search_index), "true", 0, 0, 0,
	 "answer searches from an in-memory index of the catalogue (false = every search asks"
	 " PostgreSQL)"},
	{"store.search_index_refresh_ms", DUX_CFG_INT, S(search_index_refresh_ms), "250", 10,
	 60000, 0,
	 "milliseconds between two reads of the catalogue's changes into the index: the longest a"
	 " change made elsewhere takes to show in this copy's searches, plus the read"},
	{"store.search_index_max_services", DUX_CFG_INT, S(search_index_max_services), "1000000",
	 1000, 10000000, 0,
	 "most listed services the index holds (about 1.5 KB each); more: searches ask"
	 " PostgreSQL"},
	{"store.search_index_delta_max", DUX_CFG_INT, S(search_index_delta_max), "1000", 1,
	 100000, 0,
	 "changed services kept beside the index's base (each search looks at all of them)"
	 " before the base is built again"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef S

/* The catalogue. Reading is public; publishing needs a provider (or admin) token that owns the
 * provider address; reviewing needs a token whose subject paid for a call. */
#define PUBLISHER (DUX_SCOPE_PROVIDER | DUX_SCOPE_ADMIN)
#define CALLER (DUX_SCOPE_USER | DUX_SCOPE_PROVIDER)
#define BD (DUX_ROUTE_BODY | DUX_ROUTE_DB)
static const dux_route_t routes[] = {
	{"GET", "/services", api_services_search, DUX_ROUTE_DB, 0},
	{"POST", "/services", api_service_publish, BD, PUBLISHER},
	{"GET", "/services/{id}", api_service_get, DUX_ROUTE_DB, 0},
	{"PUT", "/services/{id}", api_service_update, BD, PUBLISHER},
	{"DELETE", "/services/{id}", api_service_delist, DUX_ROUTE_DB, PUBLISHER},
	{"GET", "/services/{id}/versions", api_service_versions, DUX_ROUTE_DB, 0},
	{"GET", "/services/{id}/reviews", api_reviews_list, DUX_ROUTE_DB, 0},
	{"POST", "/services/{id}/reviews", api_review_post, BD, CALLER},
	{"GET", "/", api_web_index, 0, 0},
	{"GET", "/ui/{file}", api_web_asset, 0, 0},
};

static bool url_ok(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) && s[7] &&
	       !strpbrk(s, " \t\r\n");
}

static int check(void *app, char *err, size_t len)
{
	store_t *s = app;
	const store_cfg_t *c = &s->cfg;
	if (!*c->wallet_token) {
		snprintf(err, len, "store.wallet_token: required: a service token for the wallet"
				   " (or store.wallet_token_file)");
		return DUX_EINVAL;
	}
	if (!url_ok(c->wallet_url)) {
		snprintf(err, len, "store.wallet_url: expected an http:// or https:// URL, got \"%s\"",
			 c->wallet_url);
		return DUX_EINVAL;
	}
	if (*c->escrow_url && !url_ok(c->escrow_url)) {
		snprintf(err, len,
			 "store.escrow_url: expected an http:// or https:// URL or \"\", got \"%s\"",
			 c->escrow_url);
		return DUX_EINVAL;
	}
	if (*c->escrow_url && strncmp(c->escrow_events, "tcp://", 6) != 0 &&
	    strncmp(c->escrow_events, "ipc://", 6) != 0) {
		snprintf(err, len, "store.escrow_events: expected tcp://HOST:PORT or ipc://PATH, got"
				   " \"%s\"",
			 c->escrow_events);
		return DUX_EINVAL;
	}
	if (*c->escrow_url && !*c->escrow_token) {
		snprintf(err, len, "store.escrow_token: required while store.escrow_url is set: the"
				   " escrow serves its events to service tokens only (or"
				   " store.escrow_token_file)");
		return DUX_EINVAL;
	}
	if (c->search_index_delta_max > c->search_index_max_services) {
		snprintf(err, len, "store.search_index_delta_max: %lld is above"
				   " store.search_index_max_services (%lld)",
			 (long long)c->search_index_delta_max,
			 (long long)c->search_index_max_services);
		return DUX_EINVAL;
	}
	return dux_cfg_money("store.max_price", c->max_price, &s->max_price, err, len);
}

static int start(dux_daemon_t *d, void *app)
{
	store_t *s = app;
	s->d = d;
	cache_init(s->cfg.search_cache_ms);
	s->m_cache_hits = dux_metrics_counter(dux_daemon_metrics(d), "store_search_cache_hits_total",
					      "searches answered from store.search_cache_ms", NULL);
	s->m_index_answers = dux_metrics_counter(dux_daemon_metrics(d),
						 "store_search_index_answers_total",
						 "searches answered from the search index", NULL);
	if (!s->m_cache_hits || !s->m_index_answers)
		return DUX_ENOMEM;
	int r = index_start(s);
	return r < 0 ? r : usage_start(s);
}

static void stop(dux_daemon_t *d, void *app)
{
	(void)d;
	usage_stop(app);
	index_stop();
	cache_free();
}

int main(int argc, char **argv)
{
	const dux_daemon_spec_t spec = {
		.name = "duxos-store",
		.summary = "Dux_OS store: the API catalogue, search, ratings and reviews.",
		.schema = "store",
		.default_port = 8104,
		.default_bus = "tcp://127.0.0.1:7104",
		.events_scopes = 0,
		.opts = options,
		.cfg = &store.cfg,
		.migrations = store_migrations,
		.openapi = store_openapi,
		.routes = routes,
		.nroutes = sizeof routes / sizeof routes[0],
		.check = check,
		.start = start,
		.stop = stop,
		.app = &store,
	};
	return dux_daemon_main(argc, argv, &spec);
}
