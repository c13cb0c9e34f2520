/* registry_util.h - requests the registry tests make again and again. */
#ifndef REGISTRY_UTIL_H
#define REGISTRY_UTIL_H

#include "harness.h"

/* The body of a valid registration for n. Caller frees. */
char *reg_body(const th_node_t *n, const char *wallet, int port, const char *caps_json);
/* Registers n; returns the HTTP status (or -1 when no answer). */
long reg_node(const char *url, th_node_t *n, const char *caps_json);
long heartbeat(const char *url, th_node_t *n, int64_t counter);
/* GET path; returns the status, and the JSON (caller frees) in ret when not NULL. */
long get_json(const char *url, const char *path, cJSON **ret);

#endif
