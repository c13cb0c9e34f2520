/* seccomp.c - the system-call filter of a sandboxed task, built with libseccomp in the parent
 * and exported as classic BPF, so that the child only has to load it (no allocation after
 * clone, where the parent may have other threads).
 *
 * Default: allow. Denied with EPERM (a program sees an ordinary error and can report it):
 * debugging other processes, mounting, rebooting, loading kernels or modules, swap, BPF and
 * perf, the kernel keyring, new namespaces (unshare, setns, clone with a CLONE_NEW* flag),
 * io_uring (its operations bypass this filter), userfaultfd, handle-based opens, clock and
 * host-name changes, raw I/O ports, raw and packet sockets, and, without network access,
 * every AF_INET/AF_INET6 socket (belt and braces: the network namespace has no interface up).
 * clone3 gets ENOSYS: its flags sit in memory a filter cannot read, and libc falls back to
 * clone. Syscalls of another ABI (i386 int 0x80, x32) kill the process (libseccomp's bad-arch
 * action). Capabilities are gone too; the filter is the second wall, not the only one. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox_int.h"

static const int denied[] = {
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
	SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
	SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(mount_setattr),
	SCMP_SYS(reboot), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(acct), SCMP_SYS(quotactl),
	SCMP_SYS(userfaultfd), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
	SCMP_SYS(syslog), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime),
	SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(iopl), SCMP_SYS(ioperm),
	SCMP_SYS(vhangup), SCMP_SYS(fanotify_init), SCMP_SYS(lookup_dcookie), SCMP_SYS(pidfd_getfd),
};

static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */,
};

static int deny_sockets(scmp_filter_ctx ctx, bool network_access)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
		SCMP_A0(SCMP_CMP_EQ, AF_PACKET, 0));
	/* The type carries SOCK_CLOEXEC/SOCK_NONBLOCK in its high bits. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
	if (r == 0 && !network_access)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
			SCMP_A0(SCMP_CMP_EQ, AF_INET, 0));
	if (r == 0 && !network_access)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
			SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0));
	return r;
}

static int add_rules(scmp_filter_ctx ctx, bool network_access)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(denied) / sizeof(denied[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	for (size_t i = 0; r == 0 && i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
			SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = deny_sockets(ctx, network_access);
	return r;
}

/* libseccomp 2.5 exports only to a file descriptor: a memfd, read back. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *ret)
{
	int fd = memfd_create("sbx-seccomp", MFD_CLOEXEC), r = DUX_EIO;
	struct sock_filter *insns = NULL;
	off_t size;
	if (fd < 0)
		return DUX_EIO;
	if (seccomp_export_bpf(ctx, fd) != 0 || (size = lseek(fd, 0, SEEK_END)) <= 0 ||
		size % (off_t)sizeof(*insns) != 0 || size / (off_t)sizeof(*insns) > 4096)
		goto out;
	r = DUX_ENOMEM;
	if (!(insns = malloc((size_t)size)))
		goto out;
	r = DUX_EIO;
	if (pread(fd, insns, (size_t)size, 0) != size)
		goto out;
	ret->len = (unsigned short)(size / (off_t)sizeof(*insns));
	ret->filter = insns;
	insns = NULL;
	r = DUX_OK;
out:
	free(insns);
	close(fd);
	return r;
}

static int build(bool network_access, struct sock_fprog *ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = DUX_ENOMEM;
	if (!ctx)
		return r;
	r = DUX_EIO;
	/* The child sets no_new_privs itself, before loading the filter. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0 || add_rules(ctx, network_access) != 0)
		goto out;
	r = export_bpf(ctx, ret);
out:
	seccomp_release(ctx);
	return r;
}

/* The two filters (with and without network) never change: built once per process, shared
 * read-only by every run and every thread, never freed (the process's own lifetime). */
static struct sock_fprog cached[2];
static int cached_rc[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_both(void)
{
	cached_rc[0] = build(false, &cached[0]);
	cached_rc[1] = build(true, &cached[1]);
}

int sbx_seccomp_get(bool network_access, const struct sock_fprog **ret)
{
	int i = network_access ? 1 : 0;
	if (pthread_once(&once, build_both) != 0)
		return DUX_EIO;
	if (cached_rc[i] < 0)
		return cached_rc[i];
	*ret = &cached[i];
	return DUX_OK;
}
