/* buf.h - growable byte buffers with a hard maximum (curl's dynbuf idea).
 *
 * A buffer never grows past its max: appends beyond it fail with DUX_ERANGE and leave the
 * contents as they were. The contents are always NUL-terminated. */
#ifndef DUX_BUF_H
#define DUX_BUF_H

#include <dux/err.h>
#include <stddef.h>

typedef struct {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;
} dux_buf_t;

void dux_buf_init(dux_buf_t *b, size_t max);
DUX_MUST_USE int dux_buf_append(dux_buf_t *b, const void *p, size_t n);
DUX_MUST_USE int dux_buf_printf(dux_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (free with free()); the buffer is empty afterwards. */
char *dux_buf_steal(dux_buf_t *b);
void dux_buf_reset(dux_buf_t *b);
void dux_buf_free(dux_buf_t *b);

#endif
