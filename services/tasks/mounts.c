/* mounts.c - the task's root: a small tmpfs holding read-only bind mounts of only what the
 * interpreters need, a minimal /dev, a fresh /proc, the scratch dir as /work and /tmp, and a
 * synthesised /etc (no shadow, no host users, no host config beyond the loader cache).
 * Runs in the child, in its new mount namespace, before pivot_root; no allocation. Paths are
 * relative to the new root, which is the working directory while it is built. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"

#define RO_FLAGS (MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)

/* Host paths that appear read-only; a symlink (merged /usr: /bin -> usr/bin) is copied as a
 * symlink; an absent one is skipped. */
static const char *const ro_dirs[] = { "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32",
	"/etc/alternatives" };
/* Files under /etc bound read-only: the loader cache (Debian's multiarch libraries are not on
 * the loader's default path) and the time zone. */
static const char *const ro_files[] = { "/etc/ld.so.cache", "/etc/localtime" };
static const char *const dev_nodes[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
	"/dev/urandom" };

static const char etc_passwd[] = "root:x:0:0:root:/:/usr/sbin/nologin\n"
				 "nobody:x:65534:65534:nobody:/work:/usr/sbin/nologin\n";
static const char etc_group[] = "root:x:0:\nnogroup:x:65534:\n";
static const char etc_hosts[] = "127.0.0.1 localhost\n::1 localhost\n";

static int step(const char **ret_what, const char *what, int rc)
{
	if (rc < 0)
		*ret_what = what;
	return rc;
}

static int bind_ro(const char *src, const char *dst)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return -1;
	return mount(NULL, dst, NULL, RO_FLAGS, NULL);
}

/* Kernels without magic SysRq have no /proc/sysrq-trigger. */
static int bind_ro_if_there(const char *path)
{
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : -1;
	return bind_ro(path, path);
}

static int copy_link(const char *src, const char *dst)
{
	char target[SBX_PATH_MAX];
	ssize_t n = readlink(src, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	return symlink(target, dst);
}

static int make_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), r = 0;
	size_t len = text ? strlen(text) : 0;
	if (fd < 0)
		return -1;
	if (len && write(fd, text, len) != (ssize_t)len)
		r = -1;
	close(fd);
	return r;
}

/* One host path into the new root (dst = src without its leading slash). */
static int place(const char *src, bool is_dir)
{
	const char *dst = src + 1;
	struct stat st;
	if (lstat(src, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode))
		return copy_link(src, dst);
	if (is_dir ? mkdir(dst, 0755) < 0 : make_file(dst, NULL) < 0)
		return -1;
	return bind_ro(src, dst);
}

static int build_etc(void)
{
	if (mkdir("etc", 0755) < 0 || make_file("etc/passwd", etc_passwd) < 0 ||
		make_file("etc/group", etc_group) < 0 || make_file("etc/hosts", etc_hosts) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(ro_files) / sizeof(ro_files[0]); i++)
		if (place(ro_files[i], false) < 0)
			return -1;
	return 0;
}

static int build_dev(void)
{
	if (mkdir("dev", 0755) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		const char *dst = dev_nodes[i] + 1;
		/* Bind, not mknod: the root tmpfs is nodev; a bind keeps the host mount's flags. */
		if (make_file(dst, NULL) < 0 || mount(dev_nodes[i], dst, NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("/proc/self/fd/0", "dev/stdin") < 0 ||
		symlink("/proc/self/fd/1", "dev/stdout") < 0 || symlink("/proc/self/fd/2", "dev/stderr") < 0)
		return -1;
	return 0;
}

static int build_scratch(const struct sbx_plan *plan)
{
	unsigned long fl = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV;
	if (mkdir("work", 0755) < 0 || mkdir("tmp", 0755) < 0)
		return -1;
	if (mount(plan->scratch, "work", NULL, MS_BIND, NULL) < 0 || mount(NULL, "work", NULL, fl, NULL) < 0)
		return -1;
	if (mount(plan->scratch, "tmp", NULL, MS_BIND, NULL) < 0 || mount(NULL, "tmp", NULL, fl, NULL) < 0)
		return -1;
	return 0;
}

static int build_tree(const struct sbx_plan *plan, const char **ret_what)
{
	for (size_t i = 0; i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++) {
		/* /etc/alternatives lives inside the synthesised /etc. */
		if (i == sizeof(ro_dirs) / sizeof(ro_dirs[0]) - 1 && step(ret_what, "mount etc", build_etc()) < 0)
			return -1;
		if (step(ret_what, "mount bind", place(ro_dirs[i], true)) < 0)
			return -1;
	}
	if (step(ret_what, "mount dev", build_dev()) < 0)
		return -1;
	if (step(ret_what, "mount proc", mkdir("proc", 0555)) < 0 ||
		step(ret_what, "mount proc", mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0)
		return -1;
	/* Kernel tunables stay read-only even for a root that somehow came back. */
	if (step(ret_what, "mount proc/sys", bind_ro("proc/sys", "proc/sys")) < 0 ||
		step(ret_what, "mount proc/sysrq-trigger", bind_ro_if_there("proc/sysrq-trigger")) < 0)
		return -1;
	return step(ret_what, "mount scratch", build_scratch(plan));
}

int sbx_mount_root(const struct sbx_plan *plan, const char **ret_what)
{
	/* Nothing we mount may propagate back to the host. */
	if (step(ret_what, "mount private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) < 0)
		return -1;
	if (step(ret_what, "mount tmpfs", mount("tmpfs", plan->root, "tmpfs", MS_NOSUID | MS_NODEV,
		"size=1m,nr_inodes=512,mode=0755")) < 0 || step(ret_what, "mount chdir", chdir(plan->root)) < 0)
		return -1;
	if (build_tree(plan, ret_what) < 0)
		return -1;
	/* pivot_root(".", "."): the old root ends up on top of the new one, then goes. */
	if (step(ret_what, "pivot_root", (int)syscall(SYS_pivot_root, ".", ".")) < 0 ||
		step(ret_what, "umount old root", umount2(".", MNT_DETACH)) < 0 ||
		step(ret_what, "chdir /", chdir("/")) < 0)
		return -1;
	if (step(ret_what, "mount root read-only", mount(NULL, "/", NULL, RO_FLAGS, NULL)) < 0)
		return -1;
	return step(ret_what, "chdir /work", chdir("/work"));
}
