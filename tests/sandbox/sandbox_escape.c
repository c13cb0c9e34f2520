/* sandbox_escape: what a task must not do. Each attempt fails inside the task, the task fails
 * cleanly (nonzero-exit: each script exits 1 when it was stopped, 0 if it got through), and the
 * host is unchanged: no connection reached the test's listener, no file appeared, nothing left. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sbx_util.h"

/* Runs code, expects it stopped (exit 1, reason nonzero-exit) and every line of want in stdout. */
static void expect_blocked_run(enum dux_sandbox_runtime rt, const char *code, const char *const *want)
{
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	sbx_spec(&spec, rt, code);
	sbx_run(&spec, &res);
	print_message("%s%s", res.out, res.err);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "nonzero-exit");
	assert_int_equal(res.exit_code, 1);
	for (; *want; want++)
		if (!strstr(res.out, *want))
			fail_msg("missing in output: %s", *want);
	dux_sandbox_result_release(&res);
}

static void expect_blocked(enum dux_sandbox_runtime rt, const char *code, const char *const *want)
{
	expect_blocked_run(rt, code, want);
	sbx_assert_clean();
}

static void test_network(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char code[1024];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	(void)state;
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	snprintf(code, sizeof(code),
		"import socket, sys\n"
		"try:\n"
		"    socket.create_connection(('127.0.0.1', %d), timeout=2)\n"
		"    print('connected'); sys.exit(0)\n"
		"except OSError as e:\n"
		"    print('tcp blocked:', e)\n"
		"try:\n"
		"    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
		"    print('udp6 open'); sys.exit(0)\n"
		"except OSError as e:\n"
		"    print('udp6 blocked:', e)\n"
		"sys.exit(1)\n", ntohs(a.sin_port));
	const char *want[] = { "tcp blocked", "udp6 blocked", NULL };
	expect_blocked(DUX_SANDBOX_PYTHON, code, want);
	/* Nothing ever reached the listener. */
	assert_int_equal(accept(lfd, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(lfd);
}

/* The control: with network_access the same connection goes through, so the test above
 * fails for the right reason. */
static void test_network_allowed(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct dux_sandbox_spec spec;
	struct dux_sandbox_result res;
	char code[512];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd;
	(void)state;
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	snprintf(code, sizeof(code),
		"import socket\ns = socket.create_connection(('127.0.0.1', %d), timeout=5)\n"
		"s.sendall(b'hi')\ns.close()\nprint('connected')\n", ntohs(a.sin_port));
	sbx_spec(&spec, DUX_SANDBOX_PYTHON, code);
	spec.network_access = true;
	sbx_run(&spec, &res);
	assert_string_equal(dux_sandbox_reason_name(res.reason), "ok");
	assert_string_equal(res.out, "connected\n");
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	close(cfd);
	close(lfd);
	dux_sandbox_result_release(&res);
	sbx_assert_clean();
}

/* Also with bash's /dev/tcp, which calls connect() the plain way. */
static void test_network_bash(void **state)
{
	(void)state;
	const char *want[] = { "blocked", NULL };
	expect_blocked(DUX_SANDBOX_BASH,
		"if exec 3<>/dev/tcp/127.0.0.1/22; then echo connected; exit 0; fi; echo blocked; exit 1", want);
}

static void test_write_outside(void **state)
{
	struct stat st;
	(void)state;
	const char *want[] = { "/usr/sbx-probe: Read-only", "/etc/sbx-probe: Read-only", "/sbx-probe: Read-only",
		"/proc/sys/kernel/hostname: Read-only", "/dev/sbx-probe: Read-only", "scratch ok", NULL };
	expect_blocked(DUX_SANDBOX_BASH,
		"ok=1\n"
		"for p in /usr/sbx-probe /etc/sbx-probe /sbx-probe /proc/sys/kernel/hostname /dev/sbx-probe; do\n"
		"  if echo x 2>/dev/null >$p; then echo \"wrote $p\"; ok=0; else echo \"$p: $(echo x 2>&1 >$p | sed 's/.*: //')\"; fi\n"
		"done\n"
		"echo x >/work/f && echo x >/tmp/g && echo 'scratch ok'\n"
		"exit $ok\n",
		want);
	assert_int_not_equal(stat("/usr/sbx-probe", &st), 0);
	assert_int_not_equal(stat("/etc/sbx-probe", &st), 0);
	assert_int_not_equal(stat("/sbx-probe", &st), 0);
}

/* Sandbox A keeps a secret in its scratch dir while B, at the same time, looks for it. */
struct other {
	struct dux_sandbox_result res;
	const char *code;
};


static void *run_holder(void *arg)
{
	struct other *o = arg;
	struct dux_sandbox_spec spec;
	const char *why = NULL;
	sbx_spec(&spec, DUX_SANDBOX_BASH, "echo s3cret >/work/secret; chmod 644 /work/secret; sleep 3");
	if (o->code)
		sbx_spec(&spec, DUX_SANDBOX_BASH, o->code);
	if (dux_sandbox_run(&spec, &o->res, &why) != 0)
		o->res.reason = DUX_SANDBOX_SETUP_FAILED;
	return NULL;
}

/* The host path of A's secret, once it exists. */
static int find_secret(char *path, size_t size)
{
	for (int i = 0; i < 100; i++) {
		char cmd[256];
		FILE *p;
		snprintf(cmd, sizeof(cmd), "ls -d %s/*/work/secret 2>/dev/null", sbx_scratch_base());
		p = popen(cmd, "r");
		if (p && fgets(path, (int)size, p)) {
			path[strcspn(path, "\n")] = '\0';
			pclose(p);
			return 0;
		}
		if (p)
			pclose(p);
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	return -1;
}

static void test_read_host_and_other_scratch(void **state)
{
	struct other o;
	pthread_t t;
	char secret[256], code[1024];
	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(pthread_create(&t, NULL, run_holder, &o), 0);
	if (find_secret(secret, sizeof(secret)) < 0) {
		/* Say what A did before failing. */
		assert_int_equal(pthread_join(t, NULL), 0);
		print_message("holder: %s %s wall %llu us\n", dux_sandbox_reason_name(o.res.reason), o.res.detail,
			(unsigned long long)o.res.wall_us);
		dux_sandbox_result_release(&o.res);
		fail_msg("the holder's secret never appeared");
	}
	snprintf(code, sizeof(code),
		"ok=1\n"
		"for p in /etc/shadow %s /root /home /var /run /srv; do\n"
		"  if cat $p >/dev/null 2>&1 || ls $p >/dev/null 2>&1; then echo \"read $p\"; ok=0; else echo \"hidden $p\"; fi\n"
		"done\n"
		"ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo\n"
		"exit $ok\n", secret);
	char hidden_secret[300];
	snprintf(hidden_secret, sizeof(hidden_secret), "hidden %s", secret);
	const char *want[] = { "hidden /etc/shadow", hidden_secret, "hidden /root", "hidden /home",
		"hidden /var", "hidden /run", NULL };
	/* A is still running: the leftover check waits until it is done. */
	expect_blocked_run(DUX_SANDBOX_BASH, code, want);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.res.reason, DUX_SANDBOX_OK);
	dux_sandbox_result_release(&o.res);
	sbx_assert_clean();
}

/* Nothing the parent had open reaches the sandbox: not in the task (only 0, 1, 2 and the fd
 * ls itself opens), and not in its init either, which would keep a pipe of the parent's from
 * reaching EOF, or a socket from closing, for as long as the task runs. */
static void test_no_parent_fds(void **state)
{
	struct other o;
	pthread_t t;
	struct pollfd pfd;
	int p[2];
	(void)state;
	memset(&o, 0, sizeof(o));
	o.code = "ls /proc/self/fd | tr '\\n' ' ' >&2; exec -a sbx-fd-probe sleep 2";
	assert_int_equal(pipe(p), 0); /* no O_CLOEXEC: the worst case */
	assert_int_equal(pthread_create(&t, NULL, run_holder, &o), 0);
	for (int i = 0; i < 200 && sbx_count_procs("sbx-fd-probe") == 0; i++)
		usleep(10000);
	assert_int_equal(sbx_count_procs("sbx-fd-probe"), 1);
	close(p[1]);
	pfd.fd = p[0], pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 500), 1); /* EOF now, not when the task ends */
	assert_true(pfd.revents & POLLHUP);
	close(p[0]);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.res.reason, DUX_SANDBOX_OK);
	assert_string_equal(o.res.err, "0 1 2 3 ");
	dux_sandbox_result_release(&o.res);
	sbx_assert_clean();
}

static const char syscalls_py[] =
	"import ctypes, os, socket, sys\n"
	"libc = ctypes.CDLL(None, use_errno=True)\n"
	"def sc(name, *args):\n"
	"    r = libc.syscall(*args)\n"
	"    e = ctypes.get_errno()\n"
	"    print(name, 'allowed' if r >= 0 else os.strerror(e))\n"
	"    return r >= 0\n";

static void run_syscalls(const char *body, const char *const *want)
{
	char code[4096];
	snprintf(code, sizeof(code), "%s%s", syscalls_py, body);
	expect_blocked(DUX_SANDBOX_PYTHON, code, want);
}

static void test_ptrace(void **state)
{
	(void)state;
	const char *want[] = { "traceme Operation not permitted", "attach Operation not permitted",
		"vm_readv Operation not permitted", NULL };
	/* 101 ptrace (PTRACE_TRACEME 0, PTRACE_ATTACH 16 to init), 310 process_vm_readv */
	run_syscalls("a = sc('traceme', 101, 0, 0, 0, 0)\n"
		     "b = sc('attach', 101, 16, 1, 0, 0)\n"
		     "c = sc('vm_readv', 310, 1, 0, 0, 0, 0, 0)\n"
		     "sys.exit(0 if a or b or c else 1)\n", want);
}

static void test_mount(void **state)
{
	(void)state;
	const char *want[] = { "mount Operation not permitted", "umount Operation not permitted",
		"unshare Operation not permitted", "clone-newns Operation not permitted", NULL };
	/* 165 mount, 166 umount2, 272 unshare(CLONE_NEWNS|CLONE_NEWUSER), 56 clone(CLONE_NEWUSER) */
	run_syscalls("a = sc('mount', 165, b'none', b'/work', b'tmpfs', 0, 0)\n"
		     "b = sc('umount', 166, b'/proc', 2)\n"
		     "c = sc('unshare', 272, 0x10020000)\n"
		     "d = sc('clone-newns', 56, 0x10000000 | 17, 0, 0, 0, 0)\n"
		     "if d and os.getpid() != 1: os._exit(0)\n"
		     "sys.exit(0 if a or b or c or d else 1)\n", want);
}

static void test_reboot_kexec(void **state)
{
	(void)state;
	const char *want[] = { "reboot Operation not permitted", "kexec_load Operation not permitted",
		"kexec_file_load Operation not permitted", "init_module Operation not permitted", NULL };
	/* 169 reboot (magic, magic2, LINUX_REBOOT_CMD_CAD_OFF: harmless even if it got through), 246 kexec_load, 320
	 * kexec_file_load, 175 init_module */
	run_syscalls("a = sc('reboot', 169, 0xfee1dead, 672274793, 0, 0)\n"
		     "b = sc('kexec_load', 246, 0, 0, 0, 0)\n"
		     "c = sc('kexec_file_load', 320, -1, -1, 0, 0, 0)\n"
		     "d = sc('init_module', 175, 0, 0, b'')\n"
		     "sys.exit(0 if a or b or c or d else 1)\n", want);
}

static void test_raw_sockets(void **state)
{
	(void)state;
	const char *want[] = { "packet blocked", "raw4 blocked", "raw6 blocked", "netlink-raw blocked", NULL };
	expect_blocked(DUX_SANDBOX_PYTHON,
		"import socket, sys\n"
		"ok = 1\n"
		"for name, f, t in (('packet', socket.AF_PACKET, socket.SOCK_RAW),\n"
		"                   ('raw4', socket.AF_INET, socket.SOCK_RAW | socket.SOCK_CLOEXEC),\n"
		"                   ('raw6', socket.AF_INET6, socket.SOCK_RAW),\n"
		"                   ('netlink-raw', socket.AF_NETLINK, socket.SOCK_RAW)):\n"
		"    try:\n"
		"        socket.socket(f, t); print(name, 'open'); ok = 0\n"
		"    except OSError as e:\n"
		"        print(name, 'blocked', e)\n"
		"sys.exit(ok)\n",
		want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_network_allowed),
		cmocka_unit_test(test_network_bash),
		cmocka_unit_test(test_write_outside),
		cmocka_unit_test(test_read_host_and_other_scratch),
		cmocka_unit_test(test_no_parent_fds),
		cmocka_unit_test(test_ptrace),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_reboot_kexec),
		cmocka_unit_test(test_raw_sockets),
	};
	sbx_require_root("sandbox_escape");
	return cmocka_run_group_tests(tests, NULL, sbx_teardown_all);
}
