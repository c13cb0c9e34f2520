/* schema.h - the JSON Schema subset of declared task outputs (see schema.c). Both functions
 * write an English reason into why on failure. */
#ifndef TASKS_SCHEMA_H
#define TASKS_SCHEMA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether s is a schema of the subset (call with depth 0). */
bool schema_def_ok(const cJSON *s, int depth, char *why, size_t len);
/* Whether v satisfies s (a schema that passed schema_def_ok); path names v in reasons ("" at
 * the top). */
bool schema_valid(const cJSON *s, const cJSON *v, const char *path, char *why, size_t len);

#endif
