/* fuzz.h - the libFuzzer entry point every target defines, and the check that turns a broken
 * invariant into a crash the fuzzer (or the corpus replay) reports. */
#ifndef DUX_FUZZ_H
#define DUX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#endif
