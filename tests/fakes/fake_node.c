/* fake_node.c - see fake_node.h. Request handling follows Bitcoin Core 0.14's
 * JSONRequest::parse and CRPCTable::execute: warm-up first, then the method lookup, then named
 * parameters, then the method (fake_methods.c), which checks its parameter count (-1 with its
 * usage) and types. The test controls live here, with the state they steer. */
#include "fake_node.h"
#include "fake_methods.h"
#include <dux/crypto.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODE_HANG_SECONDS 30
#define NODE_MAX_FAILS 64        /* pending fake_fail entries */
#define NODE_MAX_CALL_NAMES 256  /* distinct method names counted by fake_stats */

typedef struct {
	char *method, *message; /* owned */
	int code;
	int64_t left;
} fail_t;

typedef struct {
	char *method; /* owned */
	int64_t count;
} calls_t;

struct fake_node {
	pthread_mutex_t mu; /* guards everything below, and the chain */
	pthread_cond_t wake; /* signalled on shutdown, for node_hang */
	bool stopping;
	fake_chain_t *chain;
	fail_t fails[NODE_MAX_FAILS];
	int nfails;
	calls_t calls[NODE_MAX_CALL_NAMES];
	int ncalls;
	int64_t warmup;     /* calls left that answer -28 */
	int64_t hang_sends; /* sends left that go unanswered */
};

static int m_fake_receive(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_node_t *n = ctx;
	const char *addr;
	int64_t amount;
	char txid[CHAIN_HASH_LEN];
	if (rpc_str(p->p[0], &addr, e) < 0)
		return -1;
	if (dux_address_validate(addr, chain_net(n->chain), NULL, NULL) < 0)
		return rpc_fail(e, RPC_INVALID_ADDRESS_OR_KEY, "Invalid Flopcoin address");
	if (rpc_amount_param(p->p[1], &amount, e) < 0)
		return -1;
	if (amount <= 0)
		return rpc_fail(e, RPC_TYPE_ERROR, "Invalid amount");
	if (chain_receive(n->chain, addr, amount, txid) < 0)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "the fake's wallet holds no more");
	return methods_give(cJSON_CreateString(txid), ret, e);
}

static int m_fake_fail(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_node_t *n = ctx;
	const char *method, *message;
	int64_t code, count;
	if (rpc_str(p->p[0], &method, e) < 0 || rpc_int(p->p[1], INT_MIN, INT_MAX, &code, e) < 0 ||
	    rpc_str(p->p[2], &message, e) < 0 || params_int(p, 3, 1, 1, INT64_MAX, &count, e) < 0)
		return -1;
	if (n->nfails == NODE_MAX_FAILS)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "at most %d failures may be pending",
				NODE_MAX_FAILS);
	fail_t *f = &n->fails[n->nfails];
	f->method = strdup(method);
	f->message = strdup(message);
	if (!f->method || !f->message) {
		free(f->method);
		free(f->message);
		return rpc_fail(e, RPC_MISC_ERROR, "out of memory");
	}
	f->code = (int)code;
	f->left = count;
	n->nfails++;
	return methods_give(cJSON_CreateNull(), ret, e);
}

static int m_fake_warmup(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_node_t *n = ctx;
	if (rpc_int(p->p[0], 0, INT64_MAX, &n->warmup, e) < 0)
		return -1;
	return methods_give(cJSON_CreateNull(), ret, e);
}

static int m_fake_hang_after_send(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_node_t *n = ctx;
	if (rpc_int(p->p[0], 0, INT64_MAX, &n->hang_sends, e) < 0)
		return -1;
	return methods_give(cJSON_CreateNull(), ret, e);
}

static int m_fake_stats(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_node_t *n = ctx;
	cJSON *o = cJSON_CreateObject();
	cJSON *calls = cJSON_AddObjectToObject(o, "calls");
	bool ok = calls != NULL;
	(void)p;
	for (int i = 0; ok && i < n->ncalls; i++)
		ok = cJSON_AddNumberToObject(calls, n->calls[i].method, (double)n->calls[i].count);
	cJSON *sends = ok ? chain_sends(n->chain) : NULL;
	ok = sends && cJSON_AddItemToObject(o, "sends", sends);
	if (!ok)
		cJSON_Delete(sends);
	ok = ok && rpc_add_amount(o, "balance", chain_balance(n->chain, 1)) &&
	     cJSON_AddBoolToObject(o, "unlocked", !chain_locked(n->chain)) &&
	     cJSON_AddNumberToObject(o, "height", chain_height(n->chain));
	if (!ok) {
		cJSON_Delete(o);
		o = NULL;
	}
	return methods_give(o, ret, e);
}

/* The test controls: ctx is the node. */
static const method_t controls[] = {
	{"fake_receive", m_fake_receive, 2, 2, {"address", "amount"}, "fake_receive \"address\" amount"},
	{"fake_fail", m_fake_fail, 3, 4, {"method", "code", "message", "count"},
	 "fake_fail \"method\" code \"message\" ( count )"},
	{"fake_warmup", m_fake_warmup, 1, 1, {"n"}, "fake_warmup n"},
	{"fake_hang_after_send", m_fake_hang_after_send, 1, 1, {"n"}, "fake_hang_after_send n"},
	{"fake_stats", m_fake_stats, 0, 0, {0}, "fake_stats"},
};

/* The method, params (borrowed from req) of a request object, as JSONRequest::parse. */
static int read_request(const cJSON *req, const char **ret_method, const cJSON **ret_params,
			rpc_err_t *e)
{
	if (!cJSON_IsObject(req))
		return rpc_fail(e, RPC_INVALID_REQUEST, "Invalid Request object");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(req, "params");
	if (!m || cJSON_IsNull(m))
		return rpc_fail(e, RPC_INVALID_REQUEST, "Missing method");
	if (!cJSON_IsString(m))
		return rpc_fail(e, RPC_INVALID_REQUEST, "Method must be a string");
	if (params && !cJSON_IsNull(params) && !cJSON_IsArray(params) && !cJSON_IsObject(params))
		return rpc_fail(e, RPC_INVALID_REQUEST, "Params must be an array or object");
	*ret_method = m->valuestring;
	*ret_params = params;
	return 0;
}

static void count_call(fake_node_t *n, const char *name)
{
	for (int i = 0; i < n->ncalls; i++) {
		if (strcmp(n->calls[i].method, name) == 0) {
			n->calls[i].count++;
			return;
		}
	}
	/* past the bound, new names go uncounted: a test never calls that many */
	if (n->ncalls < NODE_MAX_CALL_NAMES && (n->calls[n->ncalls].method = strdup(name)))
		n->calls[n->ncalls++].count = 1;
}

/* Consumes one pending failure of method into e; false when there is none. */
static bool injected_failure(fake_node_t *n, const char *method, rpc_err_t *e)
{
	for (int i = 0; i < n->nfails; i++) {
		fail_t *f = &n->fails[i];
		if (strcmp(f->method, method) != 0)
			continue;
		rpc_fail(e, f->code, "%s", f->message);
		if (--f->left == 0) {
			free(f->method);
			free(f->message);
			memmove(f, f + 1, (size_t)(n->nfails - i - 1) * sizeof *f);
			n->nfails--;
		}
		return true;
	}
	return false;
}

static const method_t *find_control(const char *name)
{
	for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++)
		if (strcmp(controls[i].name, name) == 0)
			return &controls[i];
	return NULL;
}

/* Called with the lock held. */
static int run(fake_node_t *n, const char *name, const cJSON *params, cJSON **ret,
	       bool *ret_hang, rpc_err_t *e)
{
	params_t p;
	/* the test controls are not the node's: they neither warm up nor count */
	bool control = strncmp(name, "fake_", 5) == 0;
	if (!control) {
		count_call(n, name);
		if (n->warmup > 0) {
			n->warmup--;
			return rpc_fail(e, RPC_IN_WARMUP, "Loading block index...");
		}
	}
	if (injected_failure(n, name, e))
		return -1;
	const method_t *m = control ? find_control(name) : methods_find(name);
	if (!m)
		return rpc_fail(e, RPC_METHOD_NOT_FOUND, "Method not found");
	if (methods_params(m, params, &p, e) < 0 ||
	    m->fn(control ? (void *)n : (void *)n->chain, &p, ret, e) < 0)
		return -1;
	/* the send is done; fake_hang_after_send says its answer gets lost */
	if (strcmp(name, "sendtoaddress") == 0 && n->hang_sends > 0) {
		n->hang_sends--;
		*ret_hang = true;
	}
	return 0;
}

cJSON *node_call(fake_node_t *n, const cJSON *req, unsigned *ret_status, bool *ret_hang)
{
	rpc_err_t e;
	cJSON *result = NULL;
	const char *method = NULL;
	const cJSON *params = NULL;
	const cJSON *id = cJSON_IsObject(req) ? cJSON_GetObjectItemCaseSensitive(req, "id") : NULL;
	int r = read_request(req, &method, &params, &e);
	if (r == 0) {
		pthread_mutex_lock(&n->mu);
		r = run(n, method, params, &result, ret_hang, &e);
		pthread_mutex_unlock(&n->mu);
	}
	*ret_status = rpc_http_status(r < 0 ? &e : NULL);
	return rpc_reply(r < 0 ? NULL : result, r < 0 ? &e : NULL, id);
}

bool node_hang(fake_node_t *n)
{
	struct timespec until;
	int r = 0;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += NODE_HANG_SECONDS;
	pthread_mutex_lock(&n->mu);
	while (!n->stopping && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&n->wake, &n->mu, &until);
	bool late = !n->stopping;
	pthread_mutex_unlock(&n->mu);
	return late;
}

void node_shutdown(fake_node_t *n)
{
	pthread_mutex_lock(&n->mu);
	n->stopping = true;
	pthread_cond_broadcast(&n->wake);
	pthread_mutex_unlock(&n->mu);
}

int node_new(const chain_opts_t *o, fake_node_t **ret)
{
	fake_node_t *n = calloc(1, sizeof *n);
	pthread_condattr_t ca;
	if (!n)
		return -1;
	/* node_hang's deadline is on the monotonic clock: a clock step must not shorten it */
	if (pthread_condattr_init(&ca) != 0) {
		free(n);
		return -1;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int r = pthread_cond_init(&n->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0) {
		free(n);
		return -1;
	}
	pthread_mutex_init(&n->mu, NULL);
	if (chain_new(o, &n->chain) < 0) {
		node_free(n);
		return -1;
	}
	*ret = n;
	return 0;
}

fake_node_t *node_free(fake_node_t *n)
{
	if (!n)
		return NULL;
	for (int i = 0; i < n->nfails; i++) {
		free(n->fails[i].method);
		free(n->fails[i].message);
	}
	for (int i = 0; i < n->ncalls; i++)
		free(n->calls[i].method);
	chain_free(n->chain);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->mu);
	free(n);
	return NULL;
}
