/* http_limit.h - per-caller rate limits of the HTTP server (private). */
#ifndef DUX_HTTP_LIMIT_H
#define DUX_HTTP_LIMIT_H

#include <dux/err.h>
#include <stdint.h>

typedef struct limiter limiter_t;

/* rate requests a second per caller, in bursts of at most burst. */
DUX_MUST_USE int limiter_new(unsigned rate, unsigned burst, limiter_t **ret);
limiter_t *limiter_free(limiter_t *l);
/* Takes one request of caller at now_us: 0 when it may go on, else the whole seconds after
 * which it may (Retry-After). Thread-safe. */
int limiter_take(limiter_t *l, const char *caller, int64_t now_us);

#endif
