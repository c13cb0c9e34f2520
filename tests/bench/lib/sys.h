/* sys.h - what the benchmark reads about processes and the machine: child daemons, their
 * resident memory and CPU time, PostgreSQL's CPU time, a program's output. */
#ifndef BENCH_SYS_H
#define BENCH_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* VmRSS (or another "Vm..." line) of /proc/PID/status in KiB; -1 when unreadable. */
long sys_vm_kib(pid_t pid, const char *field);
/* User + system CPU seconds of a process (all its threads); -1 when unreadable. */
double sys_cpu_s(pid_t pid);
/* CPU seconds of a process and every direct child (a postmaster and its backends), those that
 * have exited and were waited for included (a client's backends end when it disconnects). */
double sys_tree_cpu_s(pid_t parent);
/* CPU seconds of each thread of a process, by thread id; returns how many were read. */
typedef struct {
	pid_t tid;
	char comm[20];
	double cpu_s;
} sys_thread_t;
int sys_threads(pid_t pid, sys_thread_t *out, int max);
/* CPU seconds the whole machine has spent busy (every CPU, every process: the "cpu" line of
 * /proc/stat without idle, iowait and steal), -1 when unreadable: around a run, what the
 * processes measured did not use of it is what other work on the machine took. steal_s (may
 * be NULL) gets the seconds the hypervisor gave to others while this machine wanted to run. */
double sys_machine_busy_s(double *steal_s);
/* The 1-minute load average, -1 when unreadable. */
double sys_loadavg(void);
/* CPU seconds of this process. */
double sys_self_cpu_s(void);
double sys_now_s(void); /* monotonic */

/* The machine, for the report: "2 x Intel(R) Xeon(R) ..." and the kernel release. */
void sys_machine(char *cpu, size_t cpulen, char *kernel, size_t klen);

/* Starts argv[0] with stdout and stderr into log_path, DUXOS_* variables removed from its
 * environment; returns the pid or -1. */
pid_t sys_spawn(char *const argv[], const char *log_path);
/* SIGTERM, then SIGKILL after timeout_s; returns the exit status, -1 when killed by a signal. */
int sys_stop(pid_t pid, double timeout_s);
bool sys_alive(pid_t pid);

/* Runs argv with extra environment entries ("K=V", NULL-terminated, may be NULL), stdout into
 * out (at most outlen-1 bytes, NUL-terminated), stderr appended to out too. Returns the exit
 * status, -1 when it could not run or died on a signal. */
int sys_run(char *const argv[], char *const env_extra[], char *out, size_t outlen);

#endif
