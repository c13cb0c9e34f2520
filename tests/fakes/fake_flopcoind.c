/* fake_flopcoind.c - a test double of Flopcoin Core's JSON-RPC server (a Dogecoin 1.14 /
 * Bitcoin Core 0.14 family node) for the wallet daemon's tests: its HTTP side (paths, basic
 * auth, single calls and batches) and the process (options, signals). What the methods do is
 * in fake_node.c, the wire format in fake_rpc.c, the wallet in fake_chain.c. */
#include "fake_node.h"
#include <arpa/inet.h>
#include <dux/buf.h>
#include <dux/crypto.h>
#include <dux/money.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FAKE_MAX_BODY (4u << 20) /* the node's own limit is larger; no test comes near */
#define FAKE_MAX_CREDENTIALS 256 /* bytes of user:password */

typedef struct {
	fake_node_t *node;
	char auth[8 + 4 * (FAKE_MAX_CREDENTIALS + 2) / 3 + 1]; /* "Basic <base64(user:password)>" */
} server_t;

typedef struct {
	dux_buf_t body;
	bool too_large;
} request_t;

typedef struct {
	const char *bind, *user, *password;
	int port;
	chain_opts_t chain;
} options_t;

/* Queues status with body (taken over; NULL = empty). */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body,
			     const char *content_type)
{
	struct MHD_Response *resp =
		body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
		     : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"jsonrpc\"");
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* The node compares the whole Authorization header with the one its credentials make. */
static bool authorized(const server_t *s, struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	size_t n = a ? strlen(a) : 0;
	return n == strlen(s->auth) && dux_ct_equal(a, s->auth, n);
}

/* Runs a parsed body: one request, or a batch (always 200, one reply per element). */
static cJSON *execute(server_t *s, const cJSON *body, unsigned *ret_status, bool *ret_hang)
{
	if (cJSON_IsObject(body))
		return node_call(s->node, body, ret_status, ret_hang);
	if (!cJSON_IsArray(body)) {
		rpc_err_t e;
		rpc_fail(&e, RPC_PARSE_ERROR, "Top-level object parse error");
		*ret_status = rpc_http_status(&e);
		return rpc_reply(NULL, &e, NULL);
	}
	cJSON *replies = cJSON_CreateArray();
	const cJSON *req;
	unsigned ignored;
	cJSON_ArrayForEach(req, body) {
		if (!replies || !cJSON_AddItemToArray(replies, node_call(s->node, req, &ignored,
									   ret_hang))) {
			cJSON_Delete(replies);
			return NULL;
		}
	}
	*ret_status = 200;
	return replies;
}

/* The reply text as the node writes it: compact JSON and a newline. */
static char *reply_text(const cJSON *reply)
{
	char *text = reply ? cJSON_PrintUnformatted(reply) : NULL;
	size_t n = text ? strlen(text) : 0;
	char *grown = text ? realloc(text, n + 2) : NULL;
	if (!grown) {
		free(text);
		return NULL;
	}
	grown[n] = '\n';
	grown[n + 1] = '\0';
	return grown;
}

static enum MHD_Result answer(server_t *s, struct MHD_Connection *c, const char *url,
			      const char *method, request_t *r)
{
	cJSON *body = NULL, *out = NULL;
	unsigned status = 500;
	bool hang = false;
	if (strcmp(url, "/") != 0)
		return reply(c, 404, NULL, NULL);
	if (strcmp(method, "POST") != 0)
		return reply(c, 405, strdup("JSONRPC server handles only POST requests"),
			     "text/html; charset=ISO-8859-1");
	if (!authorized(s, c))
		return reply(c, 401, NULL, NULL);
	if (r->too_large)
		return reply(c, 413, NULL, NULL);
	if (rpc_parse(r->body.data ? r->body.data : "", r->body.len, &body) == 0) {
		out = execute(s, body, &status, &hang);
	} else {
		rpc_err_t e;
		rpc_fail(&e, RPC_PARSE_ERROR, "Parse error");
		out = rpc_reply(NULL, &e, NULL);
	}
	char *text = reply_text(out);
	cJSON_Delete(out);
	cJSON_Delete(body);
	if (!text)
		return MHD_NO;
	/* a send that must look lost: done, but answered 30 s late, or never on shutdown */
	if (hang && !node_hang(s->node)) {
		free(text);
		return MHD_NO;
	}
	return reply(c, status, text, "application/json");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	request_t *r = *con_cls;
	if (!r) {
		/* first call: headers only; the body follows in later calls */
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		dux_buf_init(&r->body, FAKE_MAX_BODY);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		/* past the limit the rest is read and dropped, so that the 413 arrives cleanly */
		if (!r->too_large && dux_buf_append(&r->body, upload, *upload_size) < 0)
			r->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return answer(cls, c, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	request_t *r = *con_cls;
	if (r) {
		dux_buf_free(&r->body);
		free(r);
		*con_cls = NULL;
	}
}

static int make_auth(server_t *s, const char *user, const char *password)
{
	char cred[FAKE_MAX_CREDENTIALS + 1];
	int n = snprintf(cred, sizeof cred, "%s:%s", user, password);
	if (n < 0 || (size_t)n >= sizeof cred)
		return -1;
	memcpy(s->auth, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)s->auth + 6, (const unsigned char *)cred, n);
	return 0;
}

static struct MHD_Daemon *start(server_t *s, const options_t *o)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ITC;
	if (inet_pton(AF_INET, o->bind, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)o->port);
	} else if (inet_pton(AF_INET6, o->bind, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)o->port);
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr, "fake-flopcoind: --bind %s is not an IP address\n", o->bind);
		return NULL;
	}
	/* a thread per connection: a hung send must not hold up the other calls */
	return MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED,
				on_completed, s, MHD_OPTION_END);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fake-flopcoind --port N [--bind 127.0.0.1] --user U --password P\n"
		   "       [--network regtest|testnet|mainnet] [--encrypted PASSPHRASE]\n"
		   "       [--datadir DIR] [--fee 0.01] [--balance 1000]\n"
		   "A test double of Flopcoin Core's JSON-RPC server; see tests/fakes/README.md.\n");
}

static int parse_amount(const char *name, const char *text, int64_t *ret)
{
	if (dux_money_parse(text, strlen(text), false, ret) < 0 || *ret > RPC_MAX_MONEY) {
		fprintf(stderr, "fake-flopcoind: %s %s is not an amount like 0.01\n", name, text);
		return -1;
	}
	return 0;
}

/* 0 when the options are complete; 1 for --help; -1 (after saying why) otherwise. */
static int parse_options(int argc, char **argv, options_t *o)
{
	static const struct option longs[] = {
		{"port", required_argument, NULL, 'p'}, {"bind", required_argument, NULL, 'b'},
		{"user", required_argument, NULL, 'u'}, {"password", required_argument, NULL, 'w'},
		{"network", required_argument, NULL, 'n'}, {"encrypted", required_argument, NULL, 'e'},
		{"datadir", required_argument, NULL, 'd'}, {"fee", required_argument, NULL, 'f'},
		{"balance", required_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	char *end;
	int c;
	*o = (options_t){.bind = "127.0.0.1", .port = -1,
			 .chain = {.net = DUX_NET_REGTEST, .fee = DUX_UNITS_PER_FLOP / 100,
				   .balance = 1000 * DUX_UNITS_PER_FLOP}};
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->port = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || o->port < 0 || o->port > 65535)
				o->port = -2;
			break;
		case 'b': o->bind = optarg; break;
		case 'u': o->user = optarg; break;
		case 'w': o->password = optarg; break;
		case 'e': o->chain.passphrase = optarg; break;
		case 'd': o->chain.datadir = optarg; break;
		case 'n':
			if (dux_net_parse(optarg, &o->chain.net) < 0) {
				fprintf(stderr, "fake-flopcoind: unknown --network %s\n", optarg);
				return -1;
			}
			break;
		case 'f':
			if (parse_amount("--fee", optarg, &o->chain.fee) < 0)
				return -1;
			break;
		case 'a':
			if (parse_amount("--balance", optarg, &o->chain.balance) < 0)
				return -1;
			break;
		case 'h': return 1;
		default: return -1;
		}
	}
	if (optind != argc || o->port < 0 || !o->user || !o->password ||
	    (o->chain.passphrase && !*o->chain.passphrase)) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Blocks the stop signals in every thread (libmicrohttpd's inherit the mask), so that main
 * alone takes them with sigwait; SIGPIPE is ignored where a client hangs up. */
static void block_signals(sigset_t *stop)
{
	sigset_t all;
	sigemptyset(stop);
	sigaddset(stop, SIGTERM);
	sigaddset(stop, SIGINT);
	all = *stop;
	sigaddset(&all, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

int main(int argc, char **argv)
{
	options_t o;
	server_t s = {0};
	struct MHD_Daemon *d = NULL;
	sigset_t stop;
	int sig, r = parse_options(argc, argv, &o);
	if (r != 0) {
		if (r > 0)
			usage(stdout);
		return r > 0 ? 0 : 2;
	}
	if (make_auth(&s, o.user, o.password) < 0) {
		fprintf(stderr, "fake-flopcoind: --user and --password are too long\n");
		return 2;
	}
	block_signals(&stop);
	r = 1;
	if (node_new(&o.chain, &s.node) < 0)
		goto out;
	d = start(&s, &o);
	const union MHD_DaemonInfo *di = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!di) {
		fprintf(stderr, "fake-flopcoind: cannot listen on %s port %d\n", o.bind, o.port);
		goto out;
	}
	printf("ready %u\n", (unsigned)di->port);
	fflush(stdout);
	while (sigwait(&stop, &sig) != 0)
		;
	r = 0;
out:
	/* wake hung sends first: MHD_stop_daemon joins every connection's thread */
	if (s.node)
		node_shutdown(s.node);
	if (d)
		MHD_stop_daemon(d);
	node_free(s.node);
	return r;
}
