/* json.h - strict reading of JSON request bodies with cJSON, with precise field errors.
 *
 * Getters take the parent object, a key, and a dux_verr_t that receives the field name and a
 * human reason on failure. Missing optional fields leave *ret untouched and return 0. */
#ifndef DUX_JSON_H
#define DUX_JSON_H

#include <cjson/cJSON.h>
#include <dux/err.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUX_JSON_MAX_DEPTH 16

typedef struct {
	char field[64];
	char detail[192];
} dux_verr_t;

/* Formats a field error; always returns DUX_EINVAL so it can be returned directly. */
int dux_verr_set(dux_verr_t *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses len bytes as one JSON object (not array/scalar), depth at most DUX_JSON_MAX_DEPTH.
 * ret: caller frees with cJSON_Delete. On failure e->field is "" and detail says why. */
DUX_MUST_USE int dux_json_parse_object(const char *s, size_t len, cJSON **ret, dux_verr_t *e);
/* Refuses members whose names are not in allowed (NULL-terminated). */
DUX_MUST_USE int dux_json_only(const cJSON *obj, const char *const *allowed, dux_verr_t *e);

/* ret borrowed from obj. Length in bytes within [minlen, maxlen]; no NUL or control chars. */
DUX_MUST_USE int dux_json_str(const cJSON *obj, const char *key, bool required, size_t minlen,
			      size_t maxlen, const char **ret, dux_verr_t *e);
/* An integral JSON number within [min, max] (and within +-2^53, exact in a double). */
DUX_MUST_USE int dux_json_i64(const cJSON *obj, const char *key, bool required, int64_t min,
			      int64_t max, int64_t *ret, dux_verr_t *e);
/* A finite JSON number within [min, max]; for measurements, never for money. */
DUX_MUST_USE int dux_json_num(const cJSON *obj, const char *key, bool required, double min,
			      double max, double *ret, dux_verr_t *e);
DUX_MUST_USE int dux_json_bool(const cJSON *obj, const char *key, bool required, bool *ret,
			       dux_verr_t *e);
/* An array (borrowed) of at most maxlen items. */
DUX_MUST_USE int dux_json_array(const cJSON *obj, const char *key, bool required, int maxlen,
				const cJSON **ret, dux_verr_t *e);
/* An amount of FLOP: a decimal string ("10.5") or a JSON number with at most 15 significant
 * digits, recovered from its shortest exact representation (never through float arithmetic). */
DUX_MUST_USE int dux_json_money(const cJSON *obj, const char *key, bool required, int64_t *ret,
				dux_verr_t *e);

/* Adds an RFC 3339 UTC timestamp ("2024-01-15T12:30:00.123Z") for unix microseconds. */
cJSON *dux_json_add_time(cJSON *obj, const char *key, int64_t unix_us);
void dux_time_format(int64_t unix_us, char ret[40]);
int64_t dux_now_us(void);

#endif
