/* blob.h - files compiled into a binary (migrations, OpenAPI documents). */
#ifndef DUX_BLOB_H
#define DUX_BLOB_H

#include <stddef.h>

/* A table of these ends with an entry whose name is NULL. data is NUL-terminated. */
typedef struct {
	const char *name;
	const char *data;
	size_t len;
} dux_blob_t;

#endif
