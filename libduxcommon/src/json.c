/* json.c - strict request-body reading on top of cJSON, and time stamps. */
#include <dux/json.h>
#include <dux/money.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int dux_verr_set(dux_verr_t *e, const char *field, const char *fmt, ...)
{
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof e->detail, fmt, ap);
	va_end(ap);
	return DUX_EINVAL;
}

static int depth_of(const cJSON *j, int limit)
{
	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return 0; /* a value inside a container is no further level */
	int max = 0;
	for (const cJSON *c = j->child; c; c = c->next) {
		int d = depth_of(c, limit - 1);
		if (d > max)
			max = d;
		if (max >= limit)
			break;
	}
	return max + 1;
}

/* cJSON decodes \u0000 into a NUL byte that silently ends the C string ("a\u0000b" reads as
 * "a", in values and member names alike): look for it in the raw text, inside strings. */
static bool has_escaped_nul(const char *s, size_t len)
{
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		if (!in_str) {
			in_str = s[i] == '"';
		} else if (s[i] == '"') {
			in_str = false;
		} else if (s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
				return true;
			i++; /* skip the escaped character */
		}
	}
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* cJSON finds the first of duplicate names but keeps both: refuse them at every level, so that
 * two readers of one body can never see different values. Sorting keeps this O(n log n): the
 * member count is the sender's choice. 1 and *ret (borrowed) on a duplicate, 0, or DUX_ENOMEM. */
static int duplicate_name(const cJSON *j, const char **ret)
{
	size_t n = 0;
	for (const cJSON *c = j->child; c; c = c->next, n++) {
		int r = duplicate_name(c, ret);
		if (r != 0)
			return r;
	}
	if (!cJSON_IsObject(j) || n < 2)
		return 0;
	const cJSON **v = malloc(n * sizeof *v);
	if (!v)
		return DUX_ENOMEM;
	n = 0;
	for (const cJSON *c = j->child; c; c = c->next)
		v[n++] = c;
	qsort(v, n, sizeof *v, cmp_name);
	int r = 0;
	for (size_t i = 1; i < n && r == 0; i++) {
		if (strcmp(v[i - 1]->string, v[i]->string) == 0) {
			*ret = v[i]->string;
			r = 1;
		}
	}
	free(v);
	return r;
}

int dux_json_parse_object(const char *s, size_t len, cJSON **ret, dux_verr_t *e)
{
	if (len == 0)
		return dux_verr_set(e, "", "the request body is empty; a JSON object is expected");
	if (memchr(s, '\0', len))
		return dux_verr_set(e, "", "the request body contains a NUL byte");
	if (has_escaped_nul(s, len))
		return dux_verr_set(e, "", "the request body contains an escaped NUL (\\u0000)");
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j) {
		size_t at = end && end >= s ? (size_t)(end - s) : 0;
		return dux_verr_set(e, "", "malformed JSON near byte %zu", at);
	}
	for (; end && (size_t)(end - s) < len; end++) {
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
			cJSON_Delete(j);
			return dux_verr_set(e, "", "unexpected data after the JSON value");
		}
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return dux_verr_set(e, "", "the request body must be a JSON object");
	}
	if (depth_of(j, DUX_JSON_MAX_DEPTH + 1) > DUX_JSON_MAX_DEPTH) {
		cJSON_Delete(j);
		return dux_verr_set(e, "", "JSON nested deeper than %d levels", DUX_JSON_MAX_DEPTH);
	}
	const char *dup = NULL;
	int d = duplicate_name(j, &dup);
	if (d != 0) {
		char f[64];
		snprintf(f, sizeof f, "%s", d > 0 ? dup : "");
		cJSON_Delete(j);
		return d > 0 ? dux_verr_set(e, f, "appears more than once")
			     : dux_verr_set(e, "", "out of memory while reading the body");
	}
	*ret = j;
	return 0;
}

int dux_json_only(const cJSON *obj, const char *const *allowed, dux_verr_t *e)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, c->string) == 0;
		if (!ok)
			return dux_verr_set(e, c->string, "is not a known field");
	}
	return 0;
}

/* Returns the member, or NULL after setting e when missing and required (*missing = true). */
static const cJSON *member(const cJSON *obj, const char *key, bool required, dux_verr_t *e,
			   int *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*r = 0;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			*r = dux_verr_set(e, key, "is required");
		return NULL;
	}
	return v;
}

int dux_json_str(const cJSON *obj, const char *key, bool required, size_t minlen, size_t maxlen,
		 const char **ret, dux_verr_t *e)
{
	int r;
	const cJSON *v = member(obj, key, required, e, &r);
	if (!v)
		return r;
	if (!cJSON_IsString(v))
		return dux_verr_set(e, key, "must be a string");
	size_t n = strlen(v->valuestring);
	if (n < minlen || n > maxlen)
		return dux_verr_set(e, key, "must be %zu to %zu bytes long", minlen, maxlen);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)v->valuestring[i] < 0x20)
			return dux_verr_set(e, key, "must not contain control characters");
	}
	*ret = v->valuestring;
	return 0;
}

int dux_json_i64(const cJSON *obj, const char *key, bool required, int64_t min, int64_t max,
		 int64_t *ret, dux_verr_t *e)
{
	int r;
	const cJSON *v = member(obj, key, required, e, &r);
	if (!v)
		return r;
	const double lim = 9007199254740992.0; /* 2^53: integers beyond are not exact */
	double d = v->valuedouble;
	if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d) || d < -lim || d > lim)
		return dux_verr_set(e, key, "must be an integer");
	int64_t x = (int64_t)d;
	if (x < min || x > max)
		return dux_verr_set(e, key, "must be between %lld and %lld", (long long)min,
				    (long long)max);
	*ret = x;
	return 0;
}

int dux_json_num(const cJSON *obj, const char *key, bool required, double min, double max,
		 double *ret, dux_verr_t *e)
{
	int r;
	const cJSON *v = member(obj, key, required, e, &r);
	if (!v)
		return r;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return dux_verr_set(e, key, "must be a number");
	if (v->valuedouble < min || v->valuedouble > max)
		return dux_verr_set(e, key, "must be between %g and %g", min, max);
	*ret = v->valuedouble;
	return 0;
}

int dux_json_bool(const cJSON *obj, const char *key, bool required, bool *ret, dux_verr_t *e)
{
	int r;
	const cJSON *v = member(obj, key, required, e, &r);
	if (!v)
		return r;
	if (!cJSON_IsBool(v))
		return dux_verr_set(e, key, "must be true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

int dux_json_array(const cJSON *obj, const char *key, bool required, int maxlen,
		   const cJSON **ret, dux_verr_t *e)
{
	int r;
	const cJSON *v = member(obj, key, required, e, &r);
	if (!v)
		return r;
	if (!cJSON_IsArray(v))
		return dux_verr_set(e, key, "must be an array");
	if (cJSON_GetArraySize(v) > maxlen)
		return dux_verr_set(e, key, "must have at most %d items", maxlen);
	*ret = v;
	return 0;
}

/* The shortest decimal text that reads back as the same double is the literal the client
 * wrote, as long as it had at most 15 significant digits. */
static int number_text(double d, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return prec <= 15 ? 0 : DUX_ERANGE;
	}
	return DUX_ERANGE;
}

/* Rewrites "1e-05" style text as plain decimal digits. */
static int plain_decimal(const char *g, char *out, size_t len)
{
	const char *ex = strpbrk(g, "eE");
	if (!ex)
		return snprintf(out, len, "%s", g) < (int)len ? 0 : DUX_ERANGE;
	int exp = (int)strtol(ex + 1, NULL, 10);
	char digits[32];
	size_t nd = 0;
	int point = -1;
	for (const char *p = g; p < ex; p++) {
		if (*p == '.')
			point = (int)nd;
		else if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
			digits[nd++] = *p;
	}
	if (point < 0)
		point = (int)nd;
	point += exp;
	size_t o = 0;
	if (point <= 0) {
		o += (size_t)snprintf(out, len, "0.");
		for (int i = 0; i < -point && o + 1 < len; i++)
			out[o++] = '0';
		for (size_t i = 0; i < nd && o + 1 < len; i++)
			out[o++] = digits[i];
	} else {
		for (int i = 0; i < point && o + 1 < len; i++)
			out[o++] = (size_t)i < nd ? digits[i] : '0';
		if ((size_t)point < nd && o + 1 < len) {
			out[o++] = '.';
			for (size_t i = (size_t)point; i < nd && o + 1 < len; i++)
				out[o++] = digits[i];
		}
	}
	out[o] = '\0';
	return o + 1 < len ? 0 : DUX_ERANGE;
}

int dux_json_money(const cJSON *obj, const char *key, bool required, int64_t *ret,
		   dux_verr_t *e)
{
	int r;
	const cJSON *v = member(obj, key, required, e, &r);
	if (!v)
		return r;
	char text[64];
	if (cJSON_IsString(v)) {
		snprintf(text, sizeof text, "%s", v->valuestring);
		if (strlen(v->valuestring) >= sizeof text)
			return dux_verr_set(e, key, "is too long for an amount");
	} else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
		char g[40];
		if (v->valuedouble < 0)
			return dux_verr_set(e, key, "must not be negative");
		if (number_text(v->valuedouble, g, sizeof g) < 0 ||
		    plain_decimal(g, text, sizeof text) < 0)
			return dux_verr_set(e, key,
					    "has too many digits for a JSON number; send it as a "
					    "decimal string");
	} else {
		return dux_verr_set(e, key, "must be an amount: a decimal string or a number");
	}
	int64_t units;
	r = dux_money_parse(text, strlen(text), false, &units);
	if (r == DUX_ERANGE)
		return dux_verr_set(e, key, "has more than 8 decimals or is too large");
	if (r < 0)
		return dux_verr_set(e, key, "must be a non-negative decimal amount like \"10.5\"");
	*ret = units;
	return 0;
}

int64_t dux_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void dux_time_format(int64_t unix_us, char ret[40])
{
	time_t s = (time_t)(unix_us / 1000000);
	int64_t us = unix_us % 1000000;
	if (us < 0) {
		us += 1000000;
		s -= 1;
	}
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(ret, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ret + n, 40 - n, ".%03dZ", (int)(us / 1000));
}

cJSON *dux_json_add_time(cJSON *obj, const char *key, int64_t unix_us)
{
	char t[40];
	dux_time_format(unix_us, t);
	return cJSON_AddStringToObject(obj, key, t);
}
