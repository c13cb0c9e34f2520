/* scratch.h - a sandbox's host-side directories (scratch.c). */
#ifndef DUX_SANDBOX_SCRATCH_H
#define DUX_SANDBOX_SCRATCH_H

#include "sandbox_int.h"

struct sbx_scratch {
	char dir[SBX_PATH_MAX];  /* <base>/<id>; empty when there is nothing to remove */
	char root[SBX_PATH_MAX]; /* <dir>/root */
	char work[SBX_PATH_MAX]; /* <dir>/work */
};

/* Makes the dirs and, when code_name is set, writes spec->code there. On failure nothing is
 * left and *ret_what names the step. */
int sbx_scratch_make(struct sbx_scratch *s, const struct dux_sandbox_spec *spec, const char *id,
	const char *code_name, const char **ret_what);
/* Removes everything; safe to call twice. */
int sbx_scratch_remove(struct sbx_scratch *s);

#endif
