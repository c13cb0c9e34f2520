/* log.h - one JSON object per line on stderr, for journald and docker.
 *
 * Every line carries ts, level, svc and msg; a request id when there is one.
 * The level is checked before the arguments are formatted. Never pass a secret. */
#ifndef DUX_LOG_H
#define DUX_LOG_H

#include <cjson/cJSON.h>
#include <stdbool.h>

typedef enum {
	DUX_LOG_DEBUG = 0,
	DUX_LOG_INFO = 1,
	DUX_LOG_WARN = 2,
	DUX_LOG_ERROR = 3,
} dux_log_level_t;

/* service: borrowed, must outlive all logging (a string literal). Not thread-safe; call at start. */
void dux_log_init(const char *service, dux_log_level_t level);
void dux_log_set_level(dux_log_level_t level);
bool dux_log_enabled(dux_log_level_t level);
/* Parses "debug|info|warn|error". */
int dux_log_level_parse(const char *s, dux_log_level_t *ret);

/* request_id may be NULL. Thread-safe: each line is written with one write(2). */
void dux_log_write(dux_log_level_t level, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds ts/level/svc to fields (which it takes ownership of and frees) and writes it. */
void dux_log_fields(dux_log_level_t level, cJSON *fields);

#define dux_log(level, rid, ...) \
	do { \
		if (dux_log_enabled(level)) \
			dux_log_write(level, rid, __VA_ARGS__); \
	} while (0)
#define dux_debug(...) dux_log(DUX_LOG_DEBUG, NULL, __VA_ARGS__)
#define dux_info(...) dux_log(DUX_LOG_INFO, NULL, __VA_ARGS__)
#define dux_warn(...) dux_log(DUX_LOG_WARN, NULL, __VA_ARGS__)
#define dux_error(...) dux_log(DUX_LOG_ERROR, NULL, __VA_ARGS__)

#endif
