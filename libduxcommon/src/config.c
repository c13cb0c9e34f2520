/* config.c - table-driven YAML configuration with env overrides and secret files. */
#include <ctype.h>
#include <dux/config.h>
#include <dux/money.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define CFG_MAX_ENTRIES 512
#define CFG_MAX_SECRET 65536

typedef struct {
	char key[96];
	char *value;   /* scalar text; NULL for a list */
	char **items;  /* list items */
	size_t nitems;
	int line;
	bool is_list;
} entry_t;

typedef struct {
	entry_t *v;
	size_t n;
	const char *path;
} doc_t;

static int cfg_fail(dux_cfg_err_t *err, const char *where, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cfg_fail(dux_cfg_err_t *err, const char *where, const char *key, const char *fmt, ...)
{
	snprintf(err->where, sizeof err->where, "%s", where);
	snprintf(err->key, sizeof err->key, "%s", key ? key : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
	return DUX_EINVAL;
}

void dux_cfg_err_format(const dux_cfg_err_t *err, char *buf, size_t len)
{
	if (err->key[0])
		snprintf(buf, len, "%s: %s: %s", err->where, err->key, err->detail);
	else
		snprintf(buf, len, "%s: %s", err->where, err->detail);
}

static void doc_free(doc_t *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].value);
		for (size_t j = 0; j < d->v[i].nitems; j++)
			free(d->v[i].items[j]);
		free(d->v[i].items);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

static entry_t *doc_add(doc_t *d, const char *key, int line)
{
	if (d->n == CFG_MAX_ENTRIES)
		return NULL;
	if (!d->v && !(d->v = calloc(CFG_MAX_ENTRIES, sizeof *d->v)))
		return NULL;
	entry_t *e = &d->v[d->n++];
	snprintf(e->key, sizeof e->key, "%s", key);
	e->line = line;
	return e;
}

static const entry_t *doc_find(const doc_t *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].key, key) == 0)
			return &d->v[i];
	return NULL;
}

/* Flattens nested mappings into "a.b" keys; sequences of scalars become lists. */
typedef struct {
	yaml_parser_t p;
	doc_t *d;
	dux_cfg_err_t *err;
	char where[256];
} reader_t;

static int read_event(reader_t *rd, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&rd->p, ev)) {
		char w[300];
		snprintf(w, sizeof w, "%s:%zu", rd->d->path, rd->p.problem_mark.line + 1);
		return cfg_fail(rd->err, w, NULL, "YAML syntax error: %s",
				rd->p.problem ? rd->p.problem : "unknown");
	}
	return 0;
}

static int read_mapping(reader_t *rd, const char *prefix, int depth);

static int read_list(reader_t *rd, entry_t *e)
{
	e->is_list = true;
	for (;;) {
		yaml_event_t ev;
		int r = read_event(rd, &ev);
		if (r < 0)
			return r;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT || e->nitems == 256) {
			char w[300];
			snprintf(w, sizeof w, "%s:%zu", rd->d->path, ev.start_mark.line + 1);
			yaml_event_delete(&ev);
			return cfg_fail(rd->err, w, e->key, "a list may hold only up to 256 plain values");
		}
		char **items = realloc(e->items, (e->nitems + 1) * sizeof *items);
		char *s = items ? strdup((const char *)ev.data.scalar.value) : NULL;
		yaml_event_delete(&ev);
		if (items)
			e->items = items;
		if (!s)
			return DUX_ENOMEM;
		e->items[e->nitems++] = s;
	}
}

static int read_value(reader_t *rd, const char *key, int line, int depth)
{
	yaml_event_t ev;
	int r = read_event(rd, &ev);
	if (r < 0)
		return r;
	char w[300];
	snprintf(w, sizeof w, "%s:%d", rd->d->path, line);
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_event_delete(&ev);
		if (depth > 4)
			return cfg_fail(rd->err, w, key, "nested too deeply");
		return read_mapping(rd, key, depth + 1);
	}
	if (doc_find(rd->d, key)) {
		yaml_event_delete(&ev);
		return cfg_fail(rd->err, w, key, "is set twice");
	}
	entry_t *e = doc_add(rd->d, key, line);
	if (!e) {
		yaml_event_delete(&ev);
		return cfg_fail(rd->err, w, key, "too many keys");
	}
	if (ev.type == YAML_SEQUENCE_START_EVENT) {
		yaml_event_delete(&ev);
		return read_list(rd, e);
	}
	if (ev.type != YAML_SCALAR_EVENT) {
		yaml_event_delete(&ev);
		return cfg_fail(rd->err, w, key, "expected a value (aliases are not supported)");
	}
	e->value = strdup((const char *)ev.data.scalar.value);
	yaml_event_delete(&ev);
	return e->value ? 0 : DUX_ENOMEM;
}

static int read_mapping(reader_t *rd, const char *prefix, int depth)
{
	for (;;) {
		yaml_event_t ev;
		int r = read_event(rd, &ev);
		if (r < 0)
			return r;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		int line = (int)ev.start_mark.line + 1;
		if (ev.type != YAML_SCALAR_EVENT) {
			char w[300];
			snprintf(w, sizeof w, "%s:%d", rd->d->path, line);
			yaml_event_delete(&ev);
			return cfg_fail(rd->err, w, prefix, "expected a key");
		}
		char key[96];
		int n = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "",
				 (const char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
		if (n >= (int)sizeof key) {
			char w[300];
			snprintf(w, sizeof w, "%s:%d", rd->d->path, line);
			return cfg_fail(rd->err, w, prefix, "key too long");
		}
		r = read_value(rd, key, line, depth);
		if (r < 0)
			return r;
	}
}

static int read_file(const char *path, doc_t *d, dux_cfg_err_t *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cfg_fail(err, path, NULL, "cannot open: %s", strerror(errno));
	reader_t rd = {.d = d, .err = err};
	d->path = path;
	yaml_parser_initialize(&rd.p);
	yaml_parser_set_input_file(&rd.p, f);
	int r = 0;
	bool done = false;
	while (!done && r == 0) {
		yaml_event_t ev;
		r = read_event(&rd, &ev);
		if (r < 0)
			break;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
			r = read_mapping(&rd, "", 0);
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.length == 0)
				break; /* an empty document */
			__attribute__((fallthrough));
		default:
			r = cfg_fail(err, path, NULL, "the top level must be a mapping of sections");
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&rd.p);
	fclose(f);
	return r;
}

/* ---- values ---- */

static int read_secret_file(const char *path, char **ret)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return DUX_EIO;
	char *buf = malloc(CFG_MAX_SECRET + 1);
	size_t n = buf ? fread(buf, 1, CFG_MAX_SECRET + 1, f) : 0;
	fclose(f);
	if (!buf)
		return DUX_ENOMEM;
	if (n > CFG_MAX_SECRET) {
		free(buf);
		return DUX_ERANGE;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

static void env_name(const char *key, const char *suffix, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "DUXOS_");
	for (const char *p = key; *p && o + 1 < len; p++)
		out[o++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
	out[o] = '\0';
	strncat(out, suffix, len - strlen(out) - 1);
}

static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return DUX_EINVAL;
}

static void list_free(dux_strlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_from_items(char *const *items, size_t n, dux_strlist_t *l)
{
	list_free(l);
	if (n == 0)
		return 0;
	l->v = calloc(n, sizeof *l->v);
	if (!l->v)
		return DUX_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(l->v[i] = strdup(items[i])))
			return DUX_ENOMEM;
		l->n++;
	}
	return 0;
}

static int list_from_csv(const char *s, dux_strlist_t *l)
{
	char *copy = strdup(s);
	char *items[256];
	size_t n = 0;
	if (!copy)
		return DUX_ENOMEM;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t && n < 256; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		char *end = t + strlen(t);
		while (end > t && end[-1] == ' ')
			*--end = '\0';
		if (*t)
			items[n++] = t;
	}
	int r = list_from_items(items, n, l);
	free(copy);
	return r;
}

/* Stores text into the option's slot after checking type and bounds. */
static int set_value(const dux_cfg_opt_t *o, void *base, const char *text, const char *where,
		     dux_cfg_err_t *err)
{
	char *slot = (char *)base + o->offset;
	switch (o->type) {
	case DUX_CFG_STR: {
		char *s = strdup(text);
		if (!s)
			return DUX_ENOMEM;
		free(*(char **)slot);
		*(char **)slot = s;
		return 0;
	}
	case DUX_CFG_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (errno || end == text || *end || (double)v < o->min || (double)v > o->max)
			return cfg_fail(err, where, o->key,
					"expected an integer between %.0f and %.0f, got \"%s\"",
					o->min, o->max, text);
		*(int64_t *)slot = v;
		return 0;
	}
	case DUX_CFG_DOUBLE: {
		char *end;
		errno = 0;
		double v = strtod(text, &end);
		if (errno || end == text || *end || !isfinite(v) || v < o->min || v > o->max)
			return cfg_fail(err, where, o->key,
					"expected a number between %g and %g, got \"%s\"", o->min,
					o->max, text);
		*(double *)slot = v;
		return 0;
	}
	case DUX_CFG_BOOL:
		if (parse_bool(text, (bool *)slot) < 0)
			return cfg_fail(err, where, o->key, "expected true or false, got \"%s\"",
					text);
		return 0;
	case DUX_CFG_STRLIST:
		return list_from_csv(text, (dux_strlist_t *)slot);
	}
	return DUX_EINVAL;
}

static int apply_entry(const dux_cfg_opt_t *o, void *base, const entry_t *e, const char *path,
		       bool is_file_ref, dux_cfg_err_t *err)
{
	char where[300];
	snprintf(where, sizeof where, "%s:%d", path, e->line);
	if (e->is_list) {
		if (o->type != DUX_CFG_STRLIST || is_file_ref)
			return cfg_fail(err, where, e->key, "expected a single value, not a list");
		return list_from_items(e->items, e->nitems, (dux_strlist_t *)((char *)base + o->offset));
	}
	if (!is_file_ref)
		return set_value(o, base, e->value, where, err);
	char *secret = NULL;
	int r = read_secret_file(e->value, &secret);
	if (r < 0)
		return cfg_fail(err, where, e->key, "cannot read secret file \"%s\"", e->value);
	r = set_value(o, base, secret, where, err);
	free(secret);
	return r;
}

static int apply_env(const dux_cfg_opt_t *o, void *base, dux_cfg_err_t *err)
{
	char name[128], where[160];
	env_name(o->key, "", name, sizeof name);
	const char *v = getenv(name);
	snprintf(where, sizeof where, "env %s", name);
	if (v) {
		int r = set_value(o, base, v, where, err);
		if (r < 0)
			return r;
	}
	if (!(o->flags & DUX_CFG_SECRET))
		return 0;
	env_name(o->key, "_FILE", name, sizeof name);
	v = getenv(name);
	if (!v)
		return 0;
	snprintf(where, sizeof where, "env %s", name);
	char *secret = NULL;
	if (read_secret_file(v, &secret) < 0)
		return cfg_fail(err, where, o->key, "cannot read secret file \"%s\"", v);
	int r = set_value(o, base, secret, where, err);
	free(secret);
	return r;
}

static const dux_cfg_opt_t *find_opt(const dux_cfg_section_t *secs, size_t nsecs,
				     const char *key, void **ret_base, bool *ret_file)
{
	char stem[96];
	for (size_t s = 0; s < nsecs; s++) {
		for (const dux_cfg_opt_t *o = secs[s].opts; o && o->key; o++) {
			*ret_base = secs[s].base;
			*ret_file = false;
			if (strcmp(o->key, key) == 0)
				return o;
			snprintf(stem, sizeof stem, "%s_file", o->key);
			if ((o->flags & DUX_CFG_SECRET) && strcmp(stem, key) == 0) {
				*ret_file = true;
				return o;
			}
		}
	}
	return NULL;
}

static int apply_defaults(const dux_cfg_section_t *secs, size_t nsecs, dux_cfg_err_t *err)
{
	for (size_t s = 0; s < nsecs; s++) {
		for (const dux_cfg_opt_t *o = secs[s].opts; o && o->key; o++) {
			if (!o->def)
				continue;
			int r = set_value(o, secs[s].base, o->def, "default", err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int apply_file(const dux_cfg_section_t *secs, size_t nsecs, const doc_t *d,
		      dux_cfg_err_t *err)
{
	for (size_t i = 0; i < d->n; i++) {
		void *base;
		bool is_file;
		const dux_cfg_opt_t *o = find_opt(secs, nsecs, d->v[i].key, &base, &is_file);
		char where[300];
		snprintf(where, sizeof where, "%s:%d", d->path, d->v[i].line);
		if (!o)
			return cfg_fail(err, where, d->v[i].key, "unknown key");
		if (is_file && doc_find(d, o->key))
			return cfg_fail(err, where, d->v[i].key, "set both %s and %s_file", o->key,
					o->key);
		int r = apply_entry(o, base, &d->v[i], d->path, is_file, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether the file or the environment gives o a value: numbers and booleans have no "empty". */
static bool cfg_given(const dux_cfg_opt_t *o, const doc_t *d)
{
	char name[128], stem[96];
	bool secret = o->flags & DUX_CFG_SECRET;
	snprintf(stem, sizeof stem, "%s_file", o->key);
	if (doc_find(d, o->key) || (secret && doc_find(d, stem)))
		return true;
	env_name(o->key, "", name, sizeof name);
	if (getenv(name))
		return true;
	env_name(o->key, "_FILE", name, sizeof name);
	return secret && getenv(name);
}

static int check_required(const dux_cfg_section_t *secs, size_t nsecs, const doc_t *d,
			  dux_cfg_err_t *err)
{
	for (size_t s = 0; s < nsecs; s++) {
		for (const dux_cfg_opt_t *o = secs[s].opts; o && o->key; o++) {
			if (!(o->flags & DUX_CFG_REQUIRED))
				continue;
			char *slot = (char *)secs[s].base + o->offset;
			bool set = o->type == DUX_CFG_STR ? *(char **)slot && **(char **)slot
				 : o->type == DUX_CFG_STRLIST ? ((dux_strlist_t *)slot)->n > 0
				 : cfg_given(o, d);
			if (!set)
				return cfg_fail(err, "configuration", o->key, "is required");
		}
	}
	return 0;
}

int dux_cfg_load(const dux_cfg_section_t *secs, size_t nsecs, const char *path,
		 dux_cfg_err_t *err)
{
	doc_t d = {0};
	int r = apply_defaults(secs, nsecs, err);
	if (r == 0 && path) {
		r = read_file(path, &d, err);
		if (r == 0)
			r = apply_file(secs, nsecs, &d, err);
	}
	for (size_t s = 0; s < nsecs && r == 0; s++)
		for (const dux_cfg_opt_t *o = secs[s].opts; o && o->key && r == 0; o++)
			r = apply_env(o, secs[s].base, err);
	if (r == 0)
		r = check_required(secs, nsecs, &d, err);
	if (r == DUX_ENOMEM)
		cfg_fail(err, "configuration", NULL, "out of memory");
	doc_free(&d);
	if (r < 0)
		dux_cfg_free(secs, nsecs);
	return r;
}

void dux_cfg_free(const dux_cfg_section_t *secs, size_t nsecs)
{
	for (size_t s = 0; s < nsecs; s++) {
		for (const dux_cfg_opt_t *o = secs[s].opts; o && o->key; o++) {
			char *slot = (char *)secs[s].base + o->offset;
			if (o->type == DUX_CFG_STR) {
				free(*(char **)slot);
				*(char **)slot = NULL;
			} else if (o->type == DUX_CFG_STRLIST) {
				list_free((dux_strlist_t *)slot);
			}
		}
	}
}

/* ---- printing ---- */

static void print_value(const dux_cfg_opt_t *o, const void *base, FILE *out)
{
	const char *slot = (const char *)base + o->offset;
	if (o->flags & DUX_CFG_SECRET) {
		const char *s = *(char *const *)slot;
		fprintf(out, "\"%s\"", s && *s ? "(set)" : "(unset)");
		return;
	}
	switch (o->type) {
	case DUX_CFG_STR: {
		const char *s = *(char *const *)slot;
		fprintf(out, "\"%s\"", s ? s : "");
		break;
	}
	case DUX_CFG_INT: fprintf(out, "%lld", (long long)*(const int64_t *)slot); break;
	case DUX_CFG_DOUBLE: fprintf(out, "%g", *(const double *)slot); break;
	case DUX_CFG_BOOL: fputs(*(const bool *)slot ? "true" : "false", out); break;
	case DUX_CFG_STRLIST: {
		const dux_strlist_t *l = (const dux_strlist_t *)slot;
		fputc('[', out);
		for (size_t i = 0; i < l->n; i++)
			fprintf(out, "%s\"%s\"", i ? ", " : "", l->v[i]);
		fputc(']', out);
		break;
	}
	}
}

/* Walks options grouped by section prefix (before the first dot), in table order. */
static void print_all(const dux_cfg_section_t *secs, size_t nsecs, FILE *out, bool defaults)
{
	char section[64] = "";
	for (size_t s = 0; s < nsecs; s++) {
		for (const dux_cfg_opt_t *o = secs[s].opts; o && o->key; o++) {
			const char *dot = strchr(o->key, '.');
			size_t sl = dot ? (size_t)(dot - o->key) : 0;
			if (sl && (strlen(section) != sl || strncmp(section, o->key, sl) != 0)) {
				snprintf(section, sizeof section, "%.*s", (int)sl, o->key);
				fprintf(out, "%s%s:\n", defaults ? "\n" : "", section);
			}
			const char *name = dot ? dot + 1 : o->key;
			if (defaults) {
				fprintf(out, "  # %s\n", o->help ? o->help : "");
				if (o->flags & DUX_CFG_SECRET)
					fprintf(out, "  # (a secret: or give %s_file: PATH to read it from)\n",
						name);
				if (o->type == DUX_CFG_STRLIST)
					fprintf(out, "  %s: [%s]\n", name, o->def ? o->def : "");
				else if (o->type == DUX_CFG_STR)
					fprintf(out, "  %s: \"%s\"\n", name, o->def ? o->def : "");
				else
					fprintf(out, "  %s: %s\n", name, o->def ? o->def : "");
			} else {
				fprintf(out, "  %s: ", name);
				print_value(o, secs[s].base, out);
				fputc('\n', out);
			}
		}
	}
}

void dux_cfg_dump(const dux_cfg_section_t *secs, size_t nsecs, FILE *out)
{
	print_all(secs, nsecs, out, false);
}

void dux_cfg_print_defaults(const dux_cfg_section_t *secs, size_t nsecs, FILE *out)
{
	print_all(secs, nsecs, out, true);
}

int dux_cfg_money(const char *key, const char *text, int64_t *ret, char *err, size_t len)
{
	if (dux_money_parse(text, strlen(text), false, ret) < 0) {
		snprintf(err, len, "%s: expected an amount of FLOP like \"100\" or \"0.5\", got \"%s\"",
			 key, text);
		return DUX_EINVAL;
	}
	return 0;
}
