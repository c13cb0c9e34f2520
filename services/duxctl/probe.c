/* probe.c - what this machine offers and how busy it is, as the kernel reports it: the
 * defaults of node register (resources) and node heartbeat (load). */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define MIB (1024u * 1024u)
#define MAX_CORES 4096 /* the registry's bound for cpu_cores */

static int64_t mb(unsigned long long count, unsigned long long unit)
{
	return (int64_t)(count * unit / MIB);
}

int ctl_probe(ctl_probe_t *ret)
{
	struct sysinfo si;
	struct statvfs vfs;
	ctl_probe_t p;
	if (sysinfo(&si) != 0 || statvfs("/", &vfs) != 0 || getloadavg(p.load, 3) != 3)
		return ctl_fail(CTL_EXIT_LOCAL,
				"cannot measure this machine; give the values as options");
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = get_nprocs();
	if (cores < 1)
		cores = 1;
	p.cpu_cores = cores > MAX_CORES ? MAX_CORES : cores;
	unsigned long long unit = si.mem_unit ? si.mem_unit : 1;
	p.memory_mb = mb(si.totalram, unit);
	/* free space for unprivileged users: what a task could actually write */
	p.disk_mb = mb(vfs.f_bavail, vfs.f_frsize);
	p.available_memory = mb((unsigned long long)si.freeram + si.bufferram, unit);
	/* idle CPUs, roughly: the run queue's 1-minute average takes that many cores */
	p.available_cpu = (double)p.cpu_cores - p.load[0];
	if (p.available_cpu < 0)
		p.available_cpu = 0;
	p.uptime = si.uptime;
	*ret = p;
	return CTL_OK;
}
