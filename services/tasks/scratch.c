/* scratch.c - a sandbox's host-side directory: <base>/<id>/ holding root/ (the mount point of
 * its tmpfs root, only ever mounted inside its own mount namespace) and work/ (the scratch dir,
 * owned by the task's uid, seen as /work and /tmp). Removed whole afterwards, never following
 * a symlink the task left there. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"
#include "sandbox_int.h"

/* The base holds every task's scratch: it must be root's and closed to others, so that nobody
 * can plant a symlink or watch the names. */
static int check_base(const char *base)
{
	struct stat st;
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return DUX_EIO;
	if (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return DUX_EIO;
	/* Only root (init, before it drops to the task's uid) ever walks this path; the task sees
	 * its scratch through a bind mount. */
	if ((st.st_mode & 077) && chmod(base, 0700) < 0)
		return DUX_EIO;
	return DUX_OK;
}

static int write_code(const char *path, const char *code, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644), r = DUX_OK;
	size_t done = 0;
	if (fd < 0)
		return DUX_EIO;
	while (done < len) {
		ssize_t n = write(fd, code + done, len - done);
		if (n <= 0) {
			r = DUX_EIO;
			break;
		}
		done += (size_t)n;
	}
	if (fchown(fd, DUX_SANDBOX_UID, DUX_SANDBOX_UID) < 0)
		r = DUX_EIO;
	close(fd);
	return r;
}

int sbx_scratch_make(struct sbx_scratch *s, const struct dux_sandbox_spec *spec, const char *id,
	const char *code_name, const char **ret_what)
{
	const char *base = spec->scratch_base ? spec->scratch_base : DUX_SANDBOX_SCRATCH_BASE;
	char code_path[SBX_PATH_MAX + 32];
	memset(s, 0, sizeof(*s));
	*ret_what = "scratch base";
	if (check_base(base) < 0)
		return DUX_EIO;
	*ret_what = "scratch mkdir";
	/* spec_check keeps base under half of SBX_PATH_MAX, so none of these truncate. */
	if (snprintf(s->root, sizeof(s->root), "%s/%s/root", base, id) >= (int)sizeof(s->root) ||
		snprintf(s->work, sizeof(s->work), "%s/%s/work", base, id) >= (int)sizeof(s->work) ||
		snprintf(s->dir, sizeof(s->dir), "%s/%s", base, id) >= (int)sizeof(s->dir))
		return DUX_ERANGE;
	if (mkdir(s->dir, 0700) < 0) {
		s->dir[0] = '\0';
		return DUX_EIO;
	}
	if (mkdir(s->root, 0755) < 0 || mkdir(s->work, 0700) < 0 ||
		chown(s->work, DUX_SANDBOX_UID, DUX_SANDBOX_UID) < 0)
		goto fail;
	if (code_name) {
		*ret_what = "scratch code file";
		if (snprintf(code_path, sizeof(code_path), "%s/%s", s->work, code_name) >= (int)sizeof(code_path) ||
			write_code(code_path, spec->code, spec->code_len) < 0)
			goto fail;
	}
	return DUX_OK;
fail:
	(void)sbx_scratch_remove(s);
	return DUX_EIO;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int sbx_scratch_remove(struct sbx_scratch *s)
{
	int r = DUX_OK;
	if (!s->dir[0])
		return DUX_OK;
	/* FTW_PHYS: a symlink is removed, never followed; FTW_MOUNT: never cross into a mount. */
	if (nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		r = DUX_EIO;
	s->dir[0] = '\0';
	return r;
}
