/* files.c - writing secrets and state to disk: private modes from the start (never chmod
 * after the fact), no overwriting unless asked, and replacement by rename so that a crash
 * leaves either the old file or the new one. */
#include "duxctl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ctl_mkdir_parents(const char *path)
{
	char *p = strdup(path);
	int r = 0;
	if (!p)
		return DUX_ENOMEM;
	/* each '/' after the first character ends a parent: create it if missing */
	for (char *s = strchr(p + 1, '/'); s && r == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			r = DUX_EIO;
		*s = '/';
	}
	free(p);
	return r;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return DUX_EIO;
		p += n;
		len -= (size_t)n;
	}
	return fsync(fd) == 0 ? 0 : DUX_EIO;
}

/* Writes data into the new file fd names, then closes fd; unlinks path on failure. */
static int fill(int fd, const char *path, const void *data, size_t len)
{
	int r = write_all(fd, data, len);
	if (close(fd) != 0 && r == 0)
		r = DUX_EIO;
	if (r < 0) {
		int saved = errno;
		unlink(path);
		errno = saved;
	}
	return r;
}

int ctl_write_new(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? DUX_EEXIST : DUX_EIO;
	return fill(fd, path, data, len);
}

int ctl_write_replace(const char *path, const void *data, size_t len)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return DUX_ENOMEM;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = fd < 0 ? DUX_EIO : fill(fd, tmp, data, len);
	if (r == 0 && rename(tmp, path) != 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		r = DUX_EIO;
	}
	free(tmp);
	return r;
}
