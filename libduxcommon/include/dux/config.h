/* config.h - table-driven YAML configuration.
 *
 * A daemon declares tables of options (key, type, storage offset, default, bounds, help).
 * Loading resolves, in order of precedence: the built-in default, the YAML file, and the
 * environment variable DUXOS_<KEY> with dots as underscores (http.port -> DUXOS_HTTP_PORT).
 * A secret option KEY may instead be given as KEY_file (in YAML or env): the file's contents,
 * trailing newline removed. Secrets are never printed. Errors name the file, line and key. */
#ifndef DUX_CONFIG_H
#define DUX_CONFIG_H

#include <dux/err.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
	DUX_CFG_STR,     /* char *, owned by the config (freed by dux_cfg_free) */
	DUX_CFG_INT,     /* int64_t within [min, max] */
	DUX_CFG_BOOL,    /* bool: true/false/yes/no/on/off */
	DUX_CFG_DOUBLE,  /* double within [min, max]; for ratios, never for money */
	DUX_CFG_STRLIST, /* dux_strlist_t; in YAML a sequence, in env comma-separated */
} dux_cfg_type_t;

enum {
	DUX_CFG_REQUIRED = 1u << 0, /* no default: must be set */
	DUX_CFG_SECRET = 1u << 1,   /* never printed; may come from KEY_file */
};

typedef struct {
	char **v; /* owned */
	size_t n;
} dux_strlist_t;

typedef struct {
	const char *key; /* "section.key" */
	dux_cfg_type_t type;
	size_t offset;   /* of the value inside the section's struct */
	const char *def; /* default as text (a list: comma-separated); NULL = none */
	double min, max; /* bounds for INT and DOUBLE */
	unsigned flags;
	const char *help; /* one line: what it is and its unit */
} dux_cfg_opt_t;

/* One table and the struct it fills. opts ends with an entry whose key is NULL. */
typedef struct {
	const dux_cfg_opt_t *opts;
	void *base;
} dux_cfg_section_t;

typedef struct {
	char where[256]; /* "registry.yaml:12" or "env DUXOS_HTTP_PORT" or "default" */
	char key[96];
	char detail[256];
} dux_cfg_err_t;

/* path may be NULL (defaults and env only). On failure, err explains and every string already
 * stored is freed again (call dux_cfg_free anyway: it is safe). */
DUX_MUST_USE int dux_cfg_load(const dux_cfg_section_t *secs, size_t nsecs, const char *path,
			      dux_cfg_err_t *err);
void dux_cfg_free(const dux_cfg_section_t *secs, size_t nsecs);
/* Writes the effective configuration as YAML, secrets shown as "(set)" or "(unset)". */
void dux_cfg_dump(const dux_cfg_section_t *secs, size_t nsecs, FILE *out);
/* Writes every option with its help and default, as a documented YAML file. */
void dux_cfg_print_defaults(const dux_cfg_section_t *secs, size_t nsecs, FILE *out);
/* Reads an option holding an amount of FLOP (kept as text, never a float) into base units;
 * DUX_EINVAL with "key: expected ..." in err otherwise. For a daemon's check hook. */
DUX_MUST_USE int dux_cfg_money(const char *key, const char *text, int64_t *ret, char *err,
			       size_t len);
/* Formats "where: key: detail". */
void dux_cfg_err_format(const dux_cfg_err_t *err, char *buf, size_t len);

#endif
