/* daemon.c - the skeleton: arguments, configuration, start-up, the main loop, the drain. */
#include "daemon_internal.h"
#include <dux/bus.h>
#include <dux/log.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <zmq.h>

#define EXIT_CONFIG 78 /* sysexits.h EX_CONFIG: systemd does not restart on it needlessly */

static dux_daemon_t *the_daemon; /* one per process: for callbacks that carry no context */

#define C(field) offsetof(dux_common_cfg_t, field)
static const dux_cfg_opt_t common_template[] = {
	{"http.bind", DUX_CFG_STR, C(http_bind), "127.0.0.1", 0, 0, 0,
	 "address to listen on (IPv4 or IPv6 literal)"},
	{"http.port", DUX_CFG_INT, C(http_port), NULL, 0, 65535, 0,
	 "TCP port of the HTTP API (0 = any free port)"},
	{"http.max_body", DUX_CFG_INT, C(http_max_body), "65536", 1024, 16777216, 0,
	 "largest request body accepted, bytes (larger: 413)"},
	{"http.conn_limit", DUX_CFG_INT, C(http_conn_limit), "1024", 8, 65536, 0,
	 "most concurrent connections (each is served by its own thread)"},
	{"http.timeout", DUX_CFG_INT, C(http_timeout), "30", 1, 3600, 0,
	 "seconds before an idle connection is closed"},
	{"http.rate_limit", DUX_CFG_INT, C(http_rate_limit), "200", 0, 1000000, 0,
	 "requests a second one user or provider token may make (beyond: 429 with Retry-After;"
	 " services and admins are not limited; 0 = no limit)"},
	{"http.rate_burst", DUX_CFG_INT, C(http_rate_burst), "400", 1, 1000000, 0,
	 "most requests one such token may make at once before http.rate_limit applies"},
	{"db.conninfo", DUX_CFG_STR, C(db_conninfo),
	 "host=127.0.0.1 port=5432 dbname=duxos user=duxos", 0, 0, 0,
	 "libpq connection string (without the password)"},
	{"db.password", DUX_CFG_STR, C(db_password), "", 0, 0, DUX_CFG_SECRET,
	 "database password"},
	{"db.pool_size", DUX_CFG_INT, C(db_pool_size), "8", 1, 256, 0, "database connections"},
	{"db.acquire_timeout", DUX_CFG_INT, C(db_acquire_timeout), "5000", 10, 60000, 0,
	 "milliseconds to wait for a free connection before answering 503"},
	{"bus.endpoint", DUX_CFG_STR, C(bus_endpoint), NULL, 0, 0, 0,
	 "ZeroMQ PUB endpoint for this daemon's events (\"\" = none)"},
	{"bus.retention", DUX_CFG_INT, C(bus_retention), "604800", 3600, 315360000, 0,
	 "seconds published events stay in the outbox for subscribers' backfill"},
	{"log.level", DUX_CFG_STR, C(log_level), "info", 0, 0, 0, "debug, info, warn or error"},
	{"auth.public_key_file", DUX_CFG_STR, C(auth_public_key_file), "", 0, 0, 0,
	 "PEM Ed25519 public key that verifies bearer tokens (\"\" = scoped routes refuse all)"},
	{"auth.issuer", DUX_CFG_STR, C(auth_issuer), "duxos", 0, 0, 0,
	 "expected iss claim of bearer tokens"},
	{"daemon.drain_timeout", DUX_CFG_INT, C(drain_timeout), "10", 0, 600, 0,
	 "seconds to let requests in flight finish on shutdown"},
	{"chain.network", DUX_CFG_STR, C(chain_network), "mainnet", 0, 0, 0,
	 "Flopcoin network of wallet addresses: mainnet, testnet or regtest"},
	{NULL, 0, 0, NULL, 0, 0, 0, NULL},
};
#undef C

static void usage(const dux_daemon_spec_t *s, FILE *out)
{
	fprintf(out,
		"Usage: %s [--config FILE] [--check-config] [--print-defaults]\n"
		"%s\n\n"
		"  -c, --config FILE     YAML configuration (env DUXOS_<SECTION>_<KEY> overrides it)\n"
		"      --check-config    validate the configuration, print it, and exit\n"
		"      --print-defaults  print every option with its default, and exit\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n",
		s->name, s->summary);
}

/* Parses argv; returns -1 to go on, or an exit code. */
static int parse_args(dux_daemon_t *d, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'k'},
		{"print-defaults", no_argument, NULL, 'p'}, {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; break;
		case 'k': d->check_only = true; break;
		case 'p': d->print_defaults = true; break;
		case 'V': printf("%s %s\n", d->spec->name, DUX_VERSION); return 0;
		case 'h': usage(d->spec, stdout); return 0;
		default: usage(d->spec, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", d->spec->name, argv[optind]);
		return 2;
	}
	return -1;
}

static int build_tables(dux_daemon_t *d)
{
	size_t n = sizeof common_template / sizeof common_template[0];
	d->common_opts = malloc(sizeof common_template);
	if (!d->common_opts)
		return DUX_ENOMEM;
	memcpy(d->common_opts, common_template, sizeof common_template);
	snprintf(d->port_def, sizeof d->port_def, "%u", d->spec->default_port);
	for (size_t i = 0; i + 1 < n; i++) {
		if (strcmp(d->common_opts[i].key, "http.port") == 0)
			d->common_opts[i].def = d->port_def;
		if (strcmp(d->common_opts[i].key, "bus.endpoint") == 0)
			d->common_opts[i].def = d->spec->default_bus ? d->spec->default_bus : "";
		if (strcmp(d->common_opts[i].key, "http.max_body") == 0 && d->spec->default_max_body)
			d->common_opts[i].def = d->spec->default_max_body;
	}
	d->secs[0] = (dux_cfg_section_t){d->common_opts, &d->common};
	d->secs[1] = (dux_cfg_section_t){d->spec->opts, d->spec->cfg};
	d->nsecs = d->spec->opts ? 2 : 1;
	return 0;
}

/* Checks that need more than types and bounds; err gets the reason. */
static int validate(dux_daemon_t *d, char *err, size_t len)
{
	dux_log_level_t lvl;
	unsigned char a[16];
	const char *ep = d->common.bus_endpoint;
	if (inet_pton(AF_INET, d->common.http_bind, a) != 1 &&
	    inet_pton(AF_INET6, d->common.http_bind, a) != 1) {
		snprintf(err, len, "http.bind: expected an IPv4 or IPv6 address, got \"%s\"",
			 d->common.http_bind);
		return DUX_EINVAL;
	}
	if (*ep && strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0) {
		snprintf(err, len, "bus.endpoint: expected tcp://HOST:PORT, ipc://PATH or \"\", got \"%s\"",
			 ep);
		return DUX_EINVAL;
	}
	if (dux_log_level_parse(d->common.log_level, &lvl) < 0) {
		snprintf(err, len, "log.level: expected debug, info, warn or error, got \"%s\"",
			 d->common.log_level);
		return DUX_EINVAL;
	}
	if (dux_net_parse(d->common.chain_network, &d->net) < 0) {
		snprintf(err, len, "chain.network: expected mainnet, testnet or regtest, got \"%s\"",
			 d->common.chain_network);
		return DUX_EINVAL;
	}
	const char *kf = d->common.auth_public_key_file;
	if (kf && *kf && dux_key_load_file(kf, &d->auth_key) < 0) {
		snprintf(err, len, "auth.public_key_file: cannot read an Ed25519 key from \"%s\"", kf);
		return DUX_EINVAL;
	}
	if (d->spec->check)
		return d->spec->check(d->spec->app, err, len);
	return 0;
}

static int load_config(dux_daemon_t *d)
{
	dux_cfg_err_t ce;
	char msg[700];
	if (dux_cfg_load(d->secs, d->nsecs, d->config_path, &ce) < 0) {
		dux_cfg_err_format(&ce, msg, sizeof msg);
		fprintf(stderr, "%s: configuration error: %s\n", d->spec->name, msg);
		return DUX_EINVAL;
	}
	if (validate(d, msg, sizeof msg) < 0) {
		fprintf(stderr, "%s: configuration error: %s%s%s\n", d->spec->name,
			d->config_path ? d->config_path : "", d->config_path ? ": " : "", msg);
		return DUX_EINVAL;
	}
	return 0;
}

static bool ready_cb(void *app)
{
	(void)app;
	return dux_db_ready(the_daemon->db);
}

static bool usable_cb(void *app)
{
	(void)app;
	return dux_db_migrated(the_daemon->db);
}

static void events_route(dux_req_t *r, void *app)
{
	(void)app;
	dux_events_reply(r, the_daemon->db, the_daemon->spec->name);
}

static int start_http(dux_daemon_t *d)
{
	const dux_daemon_spec_t *s = d->spec;
	d->routes = calloc(s->nroutes + 1, sizeof *d->routes);
	if (!d->routes)
		return DUX_ENOMEM;
	memcpy(d->routes, s->routes, s->nroutes * sizeof *d->routes);
	d->routes[s->nroutes] =
		(dux_route_t){"GET", "/events", events_route, DUX_ROUTE_DB, s->events_scopes};
	dux_http_opts_t o = {
		.service = s->name,
		.bind = d->common.http_bind,
		.port = (uint16_t)d->common.http_port,
		.max_body = (size_t)d->common.http_max_body,
		.conn_limit = (unsigned)d->common.http_conn_limit,
		.conn_timeout = (unsigned)d->common.http_timeout,
		.rate_limit = (unsigned)d->common.http_rate_limit,
		.rate_burst = (unsigned)d->common.http_rate_burst,
		.routes = d->routes,
		.nroutes = s->nroutes + 1,
		.app = s->app,
		.openapi = s->openapi ? s->openapi[0].data : NULL,
		.openapi_len = s->openapi ? s->openapi[0].len : 0,
		.ready = ready_cb,
		.usable = usable_cb,
		.auth_key = d->auth_key,
		.auth_issuer = d->common.auth_issuer,
		.metrics = d->metrics,
	};
	int r = dux_http_start(&o, &d->http);
	if (r < 0) /* the usual cause: another process has the port */
		dux_error("cannot listen on %s port %lld: %s", d->common.http_bind,
			  (long long)d->common.http_port, dux_strerror(r));
	return r;
}

static int relay_job(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)ctx;
	int n = dux_outbox_relay_once(c, d->pub, d->spec->name);
	if (n > 0)
		dux_metric_add(d->published, n);
	return n < 0 ? n : n >= 500; /* a full page: more is waiting */
}

static int prune_job(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)ctx;
	int n = dux_outbox_prune(c, d->common.bus_retention);
	return n < 0 ? n : n == 10000; /* a full batch: more is waiting */
}

static int start_bus(dux_daemon_t *d)
{
	const char *ep = d->common.bus_endpoint;
	if (ep && *ep) {
		int linger = 1000;
		d->zctx = zmq_ctx_new();
		d->pub = d->zctx ? zmq_socket(d->zctx, ZMQ_PUB) : NULL;
		if (!d->pub)
			return DUX_EIO;
		zmq_setsockopt(d->pub, ZMQ_LINGER, &linger, sizeof linger);
		if (zmq_bind(d->pub, ep) != 0) {
			dux_error("cannot bind the event bus at %s: %s", ep, zmq_strerror(zmq_errno()));
			return DUX_EIO;
		}
	}
	char relay[96], prune[96];
	snprintf(relay, sizeof relay, "%s.outbox-relay", d->spec->schema);
	snprintf(prune, sizeof prune, "%s.outbox-prune", d->spec->schema);
	int r = dux_daemon_job(d, "outbox-relay", 50, dux_lock_key(relay), relay_job, NULL);
	if (r == 0)
		r = dux_daemon_job(d, "outbox-prune", 60000, dux_lock_key(prune), prune_job, NULL);
	return r;
}

static int open_db(dux_daemon_t *d)
{
	dux_db_opts_t o = {
		.conninfo = d->common.db_conninfo,
		.password = d->common.db_password && *d->common.db_password ? d->common.db_password
									      : NULL,
		.schema = d->spec->schema,
		.size = (int)d->common.db_pool_size,
		.acquire_timeout_ms = (int)d->common.db_acquire_timeout,
		.migrations = d->spec->migrations,
	};
	int r = dux_db_open(&o, &d->db);
	if (r < 0)
		return r;
	return daemon_migrate(d);
}

static int start(dux_daemon_t *d)
{
	dux_log_level_t lvl = DUX_LOG_INFO;
	(void)dux_log_level_parse(d->common.log_level, &lvl);
	dux_log_init(d->spec->name, lvl);
	d->metrics = dux_metrics_new();
	if (!d->metrics)
		return DUX_ENOMEM;
	d->published = dux_metrics_counter(d->metrics, "dux_events_published_total",
					   "events relayed from the outbox", NULL);
	int r = open_db(d);
	if (r == 0)
		r = start_bus(d);
	if (r == 0 && d->spec->start)
		r = d->spec->start(d, d->spec->app);
	if (r == 0)
		r = start_http(d);
	if (r < 0) {
		dux_error("start-up failed: %s", dux_strerror(r));
		return r;
	}
	dux_info("%s %s listening on %s:%u (bus %s)", d->spec->name, DUX_VERSION,
		 d->common.http_bind, dux_http_port(d->http),
		 *d->common.bus_endpoint ? d->common.bus_endpoint : "off");
	sd_notify(0, "READY=1");
	return 0;
}

bool dux_daemon_draining(const dux_daemon_t *d)
{
	return atomic_load(&d->draining);
}

static void stop(dux_daemon_t *d)
{
	sd_notify(0, "STOPPING=1");
	atomic_store(&d->draining, true);
	dux_info("draining: %d requests in flight", d->http ? dux_http_inflight(d->http) : 0);
	if (d->http) {
		dux_http_quiesce(d->http);
		int64_t until = dux_now_us() + d->common.drain_timeout * 1000000;
		while (dux_http_inflight(d->http) > 0 && dux_now_us() < until)
			usleep(20000);
		int left = dux_http_inflight(d->http);
		if (left > 0) {
			/* Stopping the server would wait for them; their transactions roll back
			 * when the process ends, so nothing is half-applied. */
			dux_warn("drain deadline (%llds) passed with %d request(s) in flight; exiting "
				 "without them",
				 (long long)d->common.drain_timeout, left);
			_exit(0);
		}
	}
	d->http = dux_http_stop(d->http);
	daemon_jobs_stop(d);
	if (d->spec->stop)
		d->spec->stop(d, d->spec->app);
	if (d->pub)
		zmq_close(d->pub);
	if (d->zctx)
		zmq_ctx_term(d->zctx);
	d->db = dux_db_close(d->db);
	d->metrics = dux_metrics_free(d->metrics);
	d->auth_key = dux_key_free(d->auth_key);
	free(d->routes);
	dux_info("stopped");
}

int dux_daemon_main(int argc, char **argv, const dux_daemon_spec_t *spec)
{
	dux_daemon_t d = {.spec = spec};
	the_daemon = &d;
	int code = parse_args(&d, argc, argv);
	if (code >= 0)
		return code;
	code = EXIT_CONFIG;
	if (build_tables(&d) < 0)
		goto out;
	if (d.print_defaults) {
		dux_cfg_print_defaults(d.secs, d.nsecs, stdout);
		code = 0;
		goto out;
	}
	if (load_config(&d) < 0)
		goto out;
	if (d.check_only) {
		printf("# %s: configuration is valid\n", spec->name);
		dux_cfg_dump(d.secs, d.nsecs, stdout);
		code = 0;
		goto out;
	}
	code = 1;
	daemon_signals_block();
	int sr = start(&d);
	if (sr == 0)
		code = daemon_loop(&d);
	else if (sr == DUX_EINVAL)
		code = EXIT_CONFIG; /* a start hook found the configuration wrong */

	stop(&d);
out:
	dux_key_free(d.auth_key);
	dux_cfg_free(d.secs, d.nsecs);
	free(d.common_opts);
	the_daemon = NULL;
	return code;
}

dux_db_t *dux_daemon_db(dux_daemon_t *d) { return d->db; }
const dux_common_cfg_t *dux_daemon_common(const dux_daemon_t *d) { return &d->common; }
dux_metrics_t *dux_daemon_metrics(dux_daemon_t *d) { return d->metrics; }
dux_net_t dux_daemon_net(const dux_daemon_t *d) { return d->net; }

const dux_key_t *dux_daemon_auth_key(const dux_daemon_t *d) { return d->auth_key; }
