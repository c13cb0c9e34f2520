/* output.c - what duxctl prints: the server's JSON as-is for scripts (--json), and for people
 * aligned tables and "key: value" lines. Text that came from a server passes through
 * out_text or a table cell, which replace control characters: a registry must not be able to
 * move the cursor or rewrite the terminal of the operator who lists it. */
#include "duxctl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void out_raw(const dux_client_resp_t *resp)
{
	fwrite(resp->body, 1, resp->len, stdout);
	if (resp->len == 0 || resp->body[resp->len - 1] != '\n')
		fputc('\n', stdout);
}

int out_json(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	if (!s)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	puts(s);
	free(s);
	return CTL_OK;
}

/* Length of the control sequence starting at s (C0, DEL, or C1 in UTF-8), 0 when none. */
static size_t control_len(const unsigned char *s)
{
	if (*s < 0x20 || *s == 0x7f)
		return 1;
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	return 0;
}

void out_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = control_len(p);
		fputc(n ? '?' : *p, f);
		p += n ? n : 1;
	}
}

static char *clean_dup(const char *s)
{
	char *d = malloc(strlen(s) + 1), *o = d;
	const unsigned char *p = (const unsigned char *)s;
	while (d && *p) {
		size_t n = control_len(p);
		*o++ = n ? '?' : (char)*p;
		p += n ? n : 1;
	}
	if (d)
		*o = '\0';
	return d;
}

const char *out_scalar(const cJSON *j, char *buf, size_t len)
{
	char *clean = NULL;
	buf[0] = '\0';
	if (cJSON_IsString(j)) {
		clean = clean_dup(j->valuestring);
		snprintf(buf, len, "%s", clean ? clean : "?");
	} else if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) &&
		   fabs(j->valuedouble) < 9007199254740992.0) {
		snprintf(buf, len, "%.0f", j->valuedouble); /* integral: no exponent */
	} else if (cJSON_IsNumber(j)) {
		snprintf(buf, len, "%.15g", j->valuedouble);
	} else if (cJSON_IsBool(j)) {
		snprintf(buf, len, "%s", cJSON_IsTrue(j) ? "true" : "false");
	} else if (cJSON_IsNull(j)) {
		snprintf(buf, len, "null");
	}
	free(clean);
	return buf;
}

/* An array's items comma-joined; nested containers as their JSON. */
static void print_array(const cJSON *arr)
{
	char buf[512];
	for (const cJSON *c = arr->child; c; c = c->next) {
		if (c != arr->child)
			fputs(", ", stdout);
		if (cJSON_IsArray(c) || cJSON_IsObject(c)) {
			char *s = cJSON_PrintUnformatted(c);
			out_text(stdout, s ? s : "?");
			free(s);
		} else {
			out_text(stdout, out_scalar(c, buf, sizeof buf));
		}
	}
}

static void kv(const cJSON *obj, const char *prefix)
{
	char name[256], buf[512];
	for (const cJSON *c = obj->child; c; c = c->next) {
		snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", c->string);
		if (cJSON_IsObject(c) && c->child) {
			kv(c, name);
			continue;
		}
		out_text(stdout, name);
		fputs(": ", stdout);
		if (cJSON_IsArray(c))
			print_array(c);
		else if (cJSON_IsObject(c))
			fputs("{}", stdout);
		else
			out_text(stdout, out_scalar(c, buf, sizeof buf));
		fputc('\n', stdout);
	}
}

void out_kv(const cJSON *obj)
{
	kv(obj, "");
}

void out_table_init(out_table_t *t, const char *const *headers, int ncols)
{
	memset(t, 0, sizeof *t);
	t->headers = headers;
	t->ncols = ncols;
}

void out_table_add(out_table_t *t, const char *const *row)
{
	if (t->oom)
		return;
	if (t->nrows == t->cap) {
		int cap = t->cap ? 2 * t->cap : 16;
		char **cells =
			reallocarray(t->cells, (size_t)cap * (size_t)t->ncols, sizeof *cells);
		if (!cells) {
			t->oom = true;
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	char **cells = t->cells + (size_t)t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		cells[i] = clean_dup(row[i] ? row[i] : "");
		t->oom = t->oom || !cells[i];
	}
	t->nrows++; /* counted even when a cell failed, so that free releases the others */
}

/* Display width: UTF-8 continuation bytes take no column. */
static int width(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xc0) != 0x80;
	return w;
}

static void print_row(const out_table_t *t, const char *const *cells, const int *w)
{
	for (int i = 0; i < t->ncols; i++) {
		bool last = i + 1 == t->ncols;
		fputs(cells[i], stdout);
		for (int pad = last ? 0 : w[i] - width(cells[i]); pad > 0; pad--)
			putchar(' ');
		fputs(last ? "\n" : "  ", stdout);
	}
}

int out_table_print(const out_table_t *t)
{
	if (t->oom)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	int *w = calloc((size_t)t->ncols, sizeof *w);
	if (!w)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	for (int i = 0; i < t->ncols; i++)
		w[i] = width(t->headers[i]);
	for (int r = 0; r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++) {
			int cw = width(t->cells[(size_t)r * (size_t)t->ncols + (size_t)i]);
			w[i] = cw > w[i] ? cw : w[i];
		}
	print_row(t, t->headers, w);
	for (int r = 0; r < t->nrows; r++)
		print_row(t, (const char *const *)(t->cells + (size_t)r * (size_t)t->ncols), w);
	free(w);
	return CTL_OK;
}

void out_table_free(out_table_t *t)
{
	for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}
