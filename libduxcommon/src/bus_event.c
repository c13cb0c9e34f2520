/* bus_event.c - CloudEvents 1.0 JSON envelopes: strict parsing and formatting. */
#include <dux/bus.h>
#include <dux/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool charset_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return false;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac]Z" to unix microseconds. */
static int parse_time(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return DUX_EINVAL;
	int64_t us = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 6)
				us = us * 10 + (*p - '0');
		if (digits == 0)
			return DUX_EINVAL;
		for (; digits < 6; digits++)
			us *= 10;
		us -= us % 1000; /* milliseconds, as the envelope carries them: a round trip keeps it */
	}
	if (strcmp(p, "Z") != 0)
		return DUX_EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return DUX_EINVAL;
	*ret = (int64_t)t * 1000000 + us;
	return 0;
}

/* JSON has no infinity: a number too large for a double ("1e999") cannot be passed on. */
static bool all_finite(const cJSON *j)
{
	for (const cJSON *c = j->child; c; c = c->next)
		if ((cJSON_IsNumber(c) && !isfinite(c->valuedouble)) || !all_finite(c))
			return false;
	return true;
}

/* Rewrites every number of j as raw text with all the digits its double needs: cJSON prints
 * 15 significant digits whenever they read back within an epsilon (0.30000000000000004 would
 * go out as 0.3). DUX_EINVAL on a non-finite number, which JSON cannot carry. */
static int exact_numbers(cJSON *j)
{
	for (cJSON *c = j->child; c; c = c->next) {
		if (!cJSON_IsNumber(c)) {
			int r = exact_numbers(c);
			if (r < 0)
				return r;
			continue;
		}
		if (!isfinite(c->valuedouble))
			return DUX_EINVAL;
		char buf[32];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, c->valuedouble);
			if (strtod(buf, NULL) == c->valuedouble)
				break;
		}
		char *raw = strdup(buf);
		if (!raw)
			return DUX_ENOMEM;
		c->type = cJSON_Raw;
		c->valuestring = raw;
	}
	return 0;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int dux_event_parse(const char *json, size_t len, dux_event_t *ret)
{
	if (len > DUX_EVENT_MAX_BYTES)
		return DUX_ERANGE;
	dux_verr_t e;
	cJSON *o = NULL;
	if (dux_json_parse_object(json, len, &o, &e) < 0)
		return DUX_EINVAL;
	dux_event_t ev = {0};
	int r = DUX_EINVAL;
	const char *spec = str_of(o, "specversion"), *id = str_of(o, "id");
	const char *src = str_of(o, "source"), *type = str_of(o, "type");
	const char *time = str_of(o, "time"), *subject = str_of(o, "subject");
	const char *ct = str_of(o, "datacontenttype");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
	cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
	if (!spec || strcmp(spec, "1.0") != 0 || !id || !charset_ok(id, 1, 63, "-_.:") || !src ||
	    !charset_ok(src, 1, 63, "-_./:") || !type || !charset_ok(type, 1, 63, "-_.") || !time)
		goto out;
	if ((subject && strlen(subject) > 255) || (ct && strcmp(ct, "application/json") != 0))
		goto out;
	if (!cJSON_IsNumber(seq) || seq->valuedouble < 1 || seq->valuedouble > 9e15 ||
	    seq->valuedouble != (double)(int64_t)seq->valuedouble)
		goto out;
	if (!cJSON_IsObject(data) || !all_finite(data) || parse_time(time, &ev.time_us) < 0)
		goto out;
	snprintf(ev.id, sizeof ev.id, "%s", id);
	snprintf(ev.source, sizeof ev.source, "%s", src);
	snprintf(ev.type, sizeof ev.type, "%s", type);
	snprintf(ev.subject, sizeof ev.subject, "%s", subject ? subject : "");
	ev.seq = (int64_t)seq->valuedouble;
	ev.data = cJSON_DetachItemViaPointer(o, data);
	*ret = ev;
	r = 0;
out:
	cJSON_Delete(o);
	return r;
}

char *dux_event_format(const dux_event_t *ev)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "specversion", "1.0");
	cJSON_AddStringToObject(o, "id", ev->id);
	cJSON_AddStringToObject(o, "source", ev->source);
	cJSON_AddStringToObject(o, "type", ev->type);
	if (ev->subject[0])
		cJSON_AddStringToObject(o, "subject", ev->subject);
	char seq[24];
	dux_json_add_time(o, "time", ev->time_us);
	cJSON_AddStringToObject(o, "datacontenttype", "application/json");
	/* all digits: cJSON prints a number with 15 when those read back "close enough" */
	snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
	cJSON_AddRawToObject(o, "seq", seq);
	cJSON *data = cJSON_Duplicate(ev->data, true);
	if (!data || exact_numbers(data) < 0 || !cJSON_AddItemToObject(o, "data", data)) {
		cJSON_Delete(data);
		cJSON_Delete(o);
		return NULL;
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

void dux_event_clear(dux_event_t *ev)
{
	cJSON_Delete(ev->data);
	ev->data = NULL;
}
