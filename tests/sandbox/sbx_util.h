/* sbx_util.h - what the sandbox tests share: root check, specs with a cgroup parent and scratch
 * base of this test process only, and the independent check that nothing was left behind. */
#ifndef DUX_TEST_SBX_UTIL_H
#define DUX_TEST_SBX_UTIL_H

#include <stdbool.h>

#include "sandbox.h"

/* Exits 77 (ctest: skipped) with a loud message unless root. */
void sbx_require_root(const char *test_name);
/* A spec for runtime with code (borrowed), this process's scratch base and cgroup parent,
 * and a 20 s timeout. */
void sbx_spec(struct dux_sandbox_spec *spec, enum dux_sandbox_runtime rt, const char *code);
const char *sbx_scratch_base(void);
const char *sbx_cgroup_parent(void);
/* Runs spec; fails the test on a refused spec. Caller releases res. */
void sbx_run(const struct dux_sandbox_spec *spec, struct dux_sandbox_result *res);
/* Fails the test if a scratch dir, cgroup, mount or process of this test process is left. */
void sbx_assert_clean(void);
/* Number of host processes whose command line contains needle. */
int sbx_count_procs(const char *needle);
/* Sweeps what a failed case left, then removes the cgroup parents and scratch base; at the
 * end of the test binary. */
void sbx_remove_parents(void);
/* A group teardown for cmocka: sbx_remove_parents. */
int sbx_teardown_all(void **state);

#endif
