/* fake_methods.h - the node's RPC methods over the chain of fake_chain.h, and what every
 * method, the test controls included, shares: a table entry, reading positional or named
 * parameters, typed access to them. The caller holds the lock (fake_node.c). */
#ifndef FAKE_METHODS_H
#define FAKE_METHODS_H

#include "fake_rpc.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define METHOD_MAX_PARAMS 6

typedef struct {
	const cJSON *p[METHOD_MAX_PARAMS]; /* borrowed from the request; NULL in a named call's
					      holes */
	int n;
} params_t;

/* ctx: a fake_chain_t for the node's methods, a fake_node_t for the test controls. On
 * success *ret is the result (never NULL; JSON null is a node); on failure e is set. */
typedef int (*method_fn)(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e);

typedef struct {
	const char *name;
	method_fn fn;
	int min, max;                        /* parameter count */
	const char *args[METHOD_MAX_PARAMS]; /* names, for calls with named parameters */
	const char *usage;                   /* the first line of the node's help */
} method_t;

/* The node's method called name; NULL when it has none. */
const method_t *methods_find(const char *name);
/* Reads params (an array, an object of named parameters, or NULL) for m as the node does
 * (named ones in m's order, holes between them) and checks their count: -8 for an unknown
 * name, -1 with m's usage for a wrong count. */
int methods_params(const method_t *m, const cJSON *params, params_t *ret, rpc_err_t *e);

/* Parameter i when given and not null; NULL otherwise. */
const cJSON *params_opt(const params_t *p, int i);
/* Optional parameters: def when absent, -1 (type error) when of the wrong type. */
int params_int(const params_t *p, int i, int64_t def, int64_t min, int64_t max, int64_t *ret,
	       rpc_err_t *e);
int params_str(const params_t *p, int i, const char *def, const char **ret, rpc_err_t *e);
int params_bool(const params_t *p, int i, bool *ret, rpc_err_t *e);

/* Hands v out as a method's result: 0, or out of memory (-1) when v is NULL. */
int methods_give(cJSON *v, cJSON **ret, rpc_err_t *e);

#endif
