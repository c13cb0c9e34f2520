/* schema.c - the JSON Schema subset a task may declare for its output: type, enum, required,
 * properties, additionalProperties (boolean), items, minLength, maxLength, minimum, maximum,
 * minItems, maxItems. Enough to say what a valid answer looks like; anything else in a schema
 * is refused when the task is submitted, so that no keyword is silently ignored. */
#include "schema.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEPTH_MAX 16

static const char *const types[] = {"object", "array", "string", "number", "integer",
				    "boolean", "null", NULL};
static const char *const keywords[] = {"type", "enum", "required", "properties",
				       "additionalProperties", "items", "minLength", "maxLength",
				       "minimum", "maximum", "minItems", "maxItems", "title",
				       "description", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static bool nonneg_int(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e9 &&
	       floor(v->valuedouble) == v->valuedouble;
}

static bool def_member_ok(const cJSON *m, int depth, char *why, size_t len);

bool schema_def_ok(const cJSON *s, int depth, char *why, size_t len)
{
	if (depth > DEPTH_MAX) {
		snprintf(why, len, "nested deeper than %d levels", DEPTH_MAX);
		return false;
	}
	if (!cJSON_IsObject(s)) {
		snprintf(why, len, "a schema must be an object");
		return false;
	}
	for (const cJSON *m = s->child; m; m = m->next) {
		if (!in_list(m->string, keywords)) {
			snprintf(why, len, "keyword \"%.40s\" is not supported (supported: type, enum,"
					   " required, properties, additionalProperties, items, min/max"
					   "Length, minimum, maximum, min/maxItems)", m->string);
			return false;
		}
		if (!def_member_ok(m, depth, why, len))
			return false;
	}
	return true;
}

static bool def_member_ok(const cJSON *m, int depth, char *why, size_t len)
{
	const char *k = m->string;
	bool ok = true;
	if (strcmp(k, "type") == 0)
		ok = cJSON_IsString(m) && in_list(m->valuestring, types);
	else if (strcmp(k, "enum") == 0)
		ok = cJSON_IsArray(m) && cJSON_GetArraySize(m) > 0;
	else if (strcmp(k, "required") == 0) {
		ok = cJSON_IsArray(m);
		for (const cJSON *x = m->child; ok && x; x = x->next)
			ok = cJSON_IsString(x);
	} else if (strcmp(k, "properties") == 0) {
		ok = cJSON_IsObject(m);
		for (const cJSON *x = m->child; ok && x; x = x->next)
			if (!schema_def_ok(x, depth + 1, why, len))
				return false;
	} else if (strcmp(k, "additionalProperties") == 0)
		ok = cJSON_IsBool(m);
	else if (strcmp(k, "items") == 0)
		return schema_def_ok(m, depth + 1, why, len);
	else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0)
		ok = cJSON_IsNumber(m);
	else if (strcmp(k, "title") == 0 || strcmp(k, "description") == 0)
		ok = cJSON_IsString(m);
	else
		ok = nonneg_int(m);
	if (!ok)
		snprintf(why, len, "\"%s\" has the wrong form", k);
	return ok;
}

static bool type_is(const cJSON *v, const char *type)
{
	if (strcmp(type, "object") == 0)
		return cJSON_IsObject(v);
	if (strcmp(type, "array") == 0)
		return cJSON_IsArray(v);
	if (strcmp(type, "string") == 0)
		return cJSON_IsString(v);
	if (strcmp(type, "number") == 0)
		return cJSON_IsNumber(v);
	if (strcmp(type, "integer") == 0)
		return cJSON_IsNumber(v) && floor(v->valuedouble) == v->valuedouble;
	if (strcmp(type, "boolean") == 0)
		return cJSON_IsBool(v);
	return cJSON_IsNull(v);
}

static double num(const cJSON *s, const char *k, double def)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(s, k);
	return cJSON_IsNumber(m) ? m->valuedouble : def;
}

/* Code points, not bytes: the schema's lengths count characters. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool fail(char *why, size_t len, const char *path, const char *what)
{
	snprintf(why, len, "%s: %s", *path ? path : "the output", what);
	return false;
}

static bool object_ok(const cJSON *s, const cJSON *v, const char *path, char *why, size_t len);
static bool scalar_ok(const cJSON *s, const cJSON *v, const char *path, char *why, size_t len);

bool schema_valid(const cJSON *s, const cJSON *v, const char *path, char *why, size_t len)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
	if (type && !type_is(v, type->valuestring))
		return fail(why, len, path, "has the wrong type");
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
	if (en) {
		bool found = false;
		for (const cJSON *x = en->child; x && !found; x = x->next)
			found = cJSON_Compare(x, v, true);
		if (!found)
			return fail(why, len, path, "is none of the enum's values");
	}
	if (cJSON_IsObject(v))
		return object_ok(s, v, path, why, len);
	if (cJSON_IsArray(v)) {
		int n = cJSON_GetArraySize(v);
		if (n < num(s, "minItems", 0) || n > num(s, "maxItems", 1e18))
			return fail(why, len, path, "has too few or too many items");
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
		int i = 0;
		for (const cJSON *x = v->child; items && x; x = x->next, i++) {
			char sub[256];
			snprintf(sub, sizeof sub, "%s[%d]", path, i);
			if (!schema_valid(items, x, sub, why, len))
				return false;
		}
		return true;
	}
	return scalar_ok(s, v, path, why, len);
}

static bool object_ok(const cJSON *s, const cJSON *v, const char *path, char *why, size_t len)
{
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
	for (const cJSON *x = req ? req->child : NULL; x; x = x->next)
		if (!cJSON_GetObjectItemCaseSensitive(v, x->valuestring)) {
			char what[128];
			snprintf(what, sizeof what, "lacks the required member \"%.60s\"", x->valuestring);
			return fail(why, len, path, what);
		}
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
	for (const cJSON *m = v->child; m; m = m->next) {
		const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
		char sub[256];
		snprintf(sub, sizeof sub, "%s.%.60s", path, m->string);
		if (!ps && cJSON_IsFalse(extra))
			return fail(why, len, sub, "is not allowed (additionalProperties false)");
		if (ps && !schema_valid(ps, m, sub, why, len))
			return false;
	}
	return true;
}

static bool scalar_ok(const cJSON *s, const cJSON *v, const char *path, char *why, size_t len)
{
	if (cJSON_IsString(v)) {
		size_t n = utf8_len(v->valuestring);
		if (n < num(s, "minLength", 0) || n > num(s, "maxLength", 1e18))
			return fail(why, len, path, "is too short or too long");
	} else if (cJSON_IsNumber(v)) {
		if (v->valuedouble < num(s, "minimum", -INFINITY) ||
		    v->valuedouble > num(s, "maximum", INFINITY))
			return fail(why, len, path, "is out of range");
	}
	return true;
}
