/* replay_main.c - runs every file of the given corpus directories (or single files) through a
 * fuzz target once, in name order. Built with gcc and the sanitizers, this is the regression
 * check of the corpus; with clang the targets link libFuzzer's own main instead.
 * Each input is copied into a buffer of exactly its size, so an overread is caught. */
#include "fuzz.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
		len += n;
		if (len == cap) {
			uint8_t *p = realloc(buf, cap *= 2);
			if (!p)
				free(buf);
			buf = p;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		fprintf(stderr, "%s: cannot read\n", path);
		return -1;
	}
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Returns the number of inputs run, or -1. */
static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) < 0 ? -1 : 1;
	struct dirent **names;
	int n = scandir(path, &names, skip_dot, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int count = 0;
	for (int i = 0; i < n; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name);
		if (count >= 0) {
			int r = run_path(p);
			count = r < 0 ? -1 : count + r;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	int total = 0;
	for (int i = 1; i < argc; i++) {
		int n = run_path(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	fprintf(stderr, "replayed %d inputs\n", total);
	return 0;
}
