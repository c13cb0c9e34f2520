/* fake_node.h - fake-flopcoind's requests: dispatch to the node's methods (fake_methods.h)
 * and to the test controls (fake_*), warm-up and injected failures, call counts, all behind
 * one lock: libmicrohttpd calls from a thread per connection. */
#ifndef FAKE_NODE_H
#define FAKE_NODE_H

#include "fake_chain.h"
#include <cjson/cJSON.h>
#include <stdbool.h>

typedef struct fake_node fake_node_t;

/* ret: caller frees with node_free. */
int node_new(const chain_opts_t *o, fake_node_t **ret);
/* Accepts NULL; returns NULL. No call may be running. */
fake_node_t *node_free(fake_node_t *n);

/* Runs one request object (a whole body, or one element of a batch) and returns its reply
 * object (caller frees with cJSON_Delete; NULL when out of memory). ret_status: the HTTP
 * status of that reply on its own. *ret_hang is set to true when the request was a send that
 * fake_hang_after_send says must go unanswered (see node_hang); left alone otherwise. */
cJSON *node_call(fake_node_t *n, const cJSON *req, unsigned *ret_status, bool *ret_hang);

/* Holds an answer back: waits 30 s, or less when node_shutdown is called. Returns true when
 * the 30 s passed (answer late), false on shutdown (do not answer). */
bool node_hang(fake_node_t *n);
/* Wakes every node_hang at once: the process is stopping. */
void node_shutdown(fake_node_t *n);

#endif
