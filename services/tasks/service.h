/* service.h - a store service as the scheduler reads it (service.c). */
#ifndef TASKS_SERVICE_H
#define TASKS_SERVICE_H

#include "tasks.h"

typedef struct {
	char owner[128];   /* token subject that published it */
	char provider[64]; /* wallet address paid for its calls */
	int64_t price;     /* base units per call */
	bool listed;
} service_t;

/* svc_ + 32 lowercase hex. */
bool service_id_ok(const char *s);
/* 0, DUX_ENOENT (no such service), DUX_EUNAVAIL (the store did not answer well),
 * DUX_EPROTO (an answer without the members needed). */
int service_read(tasks_t *t, const char *id, service_t *ret);

#endif
