/* sys.c - see sys.h. */
#include "sys.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

long sys_vm_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	size_t fl = strlen(field);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			kib = strtol(line + fl + 1, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

/* utime + stime, the parent pid and cutime + cstime (the CPU time of its children that have
 * exited and were waited for) from /proc/PID/stat. children_s may be NULL. */
static bool proc_stat(pid_t pid, double *cpu_s, pid_t *ppid, double *children_s)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return false;
	/* after ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17) */
	unsigned long long ut = 0, st = 0;
	long long cut = 0, cst = 0;
	int pp = 0;
	if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &pp, &ut,
		   &st, &cut, &cst) != 5)
		return false;
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*ppid = pp;
	if (children_s)
		*children_s = (double)(cut + cst) / (double)sysconf(_SC_CLK_TCK);
	return true;
}

double sys_cpu_s(pid_t pid)
{
	double s;
	pid_t pp;
	return proc_stat(pid, &s, &pp, NULL) ? s : -1;
}

double sys_tree_cpu_s(pid_t parent)
{
	double total = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		double s, gone;
		pid_t pp;
		if (*end || pid <= 0 || !proc_stat((pid_t)pid, &s, &pp, &gone))
			continue;
		if (pid == parent)
			total += s + gone; /* children that exited meanwhile count too */
		else if (pp == parent)
			total += s;
	}
	if (d)
		closedir(d);
	return total;
}

int sys_threads(pid_t pid, sys_thread_t *out, int max)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && n < max && (e = readdir(d))) {
		char *end, path[128];
		long tid = strtol(e->d_name, &end, 10);
		pid_t pp;
		if (*end || tid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%ld/stat", (int)pid, tid);
		FILE *f = fopen(path, "r");
		char buf[1024];
		size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[len] = '\0';
		char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
		unsigned long long ut = 0, st = 0;
		if (!open_paren || !close_paren ||
		    sscanf(close_paren + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &pp,
			   &ut, &st) != 3)
			continue;
		out[n].tid = (pid_t)tid;
		snprintf(out[n].comm, sizeof out[n].comm, "%.*s",
			 (int)(close_paren - open_paren - 1), open_paren + 1);
		out[n].cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

double sys_loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

double sys_self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double sys_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sys_machine(char *cpu, size_t cpulen, char *kernel, size_t klen)
{
	char line[512], model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
			snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	snprintf(cpu, cpulen, "%ld x %s", sysconf(_SC_NPROCESSORS_ONLN), model);
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(kernel, klen, "%s %s", u.sysname, u.release);
	else
		snprintf(kernel, klen, "unknown");
}

static void drop_duxos_env(void)
{
	for (bool again = true; again;) {
		again = false;
		for (char **e = environ; *e; e++) {
			if (strncmp(*e, "DUXOS_", 6) != 0)
				continue;
			char name[256];
			snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
			unsetenv(name);
			again = true;
			break;
		}
	}
}

pid_t sys_spawn(char *const argv[], const char *log_path)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		drop_duxos_env();
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

bool sys_alive(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

int sys_stop(pid_t pid, double timeout_s)
{
	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	double until = sys_now_s() + timeout_s;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (sys_now_s() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sys_run(char *const argv[], char *const env_extra[], char *out, size_t outlen)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		for (char *const *e = env_extra; e && *e; e++)
			putenv(*e);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -1;
	}
	size_t have = 0;
	char sink[4096];
	for (;;) {
		char *dst = have + 1 < outlen ? out + have : sink;
		size_t room = have + 1 < outlen ? outlen - 1 - have : sizeof sink;
		ssize_t n = read(pfd[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			have += (size_t)n;
	}
	close(pfd[0]);
	if (outlen)
		out[have] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double sys_machine_busy_s(double *steal_s)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = {0};
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7])
		  : 0;
	if (f)
		fclose(f);
	if (n < 8)
		return -1;
	/* user nice system [idle] [iowait] irq softirq steal */
	double tck = (double)sysconf(_SC_CLK_TCK);
	if (steal_s)
		*steal_s = (double)v[7] / tck;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / tck;
}
