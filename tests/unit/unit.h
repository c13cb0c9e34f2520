/* unit.h - what the unit tests share: cmocka, temporary directories and files, and a
 * capture of everything written to file descriptor 2 (the log's stderr). */
#ifndef DUX_UNIT_H
#define DUX_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh private directory under $TMPDIR (or /tmp); dir must hold 256 bytes. */
static inline void unit_tmpdir(char dir[256])
{
	const char *base = getenv("TMPDIR");
	snprintf(dir, 256, "%s/duxunit.XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
}

/* dir/name into out (512 bytes). */
static inline void unit_path(char out[512], const char *dir, const char *name)
{
	assert_true(snprintf(out, 512, "%s/%s", dir, name) < 512);
}

static inline void unit_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated; caller frees with free(). NULL when it cannot be read. */
static inline char *unit_read_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	assert_non_null(s);
	for (;;) {
		ssize_t n = read(fd, s + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
	}
	s[len] = '\0';
	return s;
}

/* Removes a directory made by unit_tmpdir and the plain files in it. */
static inline void unit_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char p[512];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Redirects file descriptor 2 into a temporary file until unit_capture_end. */
typedef struct {
	int saved;
	FILE *f;
} unit_capture_t;

static inline void unit_capture_start(unit_capture_t *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (caller frees with free()). */
static inline char *unit_capture_end(unit_capture_t *c)
{
	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	assert_int_equal(lseek(fileno(c->f), 0, SEEK_SET), 0);
	char *s = unit_read_fd(fileno(c->f));
	fclose(c->f);
	return s;
}

#endif
