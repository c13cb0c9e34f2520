/* docker_stats.c - usage of a container from the engine's stats stream (GET
 * /containers/{id}/stats?stream=1: one JSON object per line, about one a second while it
 * runs). The cgroup is gone once the container stops, so the figures are those of the last
 * sample: CPU time may miss up to a sampling interval; peak memory is the cgroup's own peak
 * where the engine reports it (max_usage, cgroup v1), else the highest usage sampled. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "docker_int.h"

void dk_stats_init(struct dk_stats *s, uint32_t pids_max)
{
	memset(s, 0, sizeof(*s));
	dux_buf_init(&s->line, DK_STATS_LINE_MAX);
	s->pids_max = pids_max;
}

void dk_stats_free(struct dk_stats *s)
{
	dux_buf_free(&s->line);
}

/* An optional counter: absent is fine (*present false), anything but a whole number in
 * [0, 2^63) is not. */
static int counter(const cJSON *parent, const char *name, uint64_t *ret, bool *present)
{
	const cJSON *v = parent ? cJSON_GetObjectItemCaseSensitive(parent, name) : NULL;
	*present = false;
	if (!v || cJSON_IsNull(v))
		return DUX_OK;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble >= 9.2e18 ||
		v->valuedouble != floor(v->valuedouble))
		return DUX_EPROTO;
	*ret = (uint64_t)v->valuedouble;
	*present = true;
	return DUX_OK;
}

/* An optional member that must be an object when present. */
static int member(const cJSON *parent, const char *name, const cJSON **ret)
{
	const cJSON *v = parent ? cJSON_GetObjectItemCaseSensitive(parent, name) : NULL;
	*ret = NULL;
	if (!v || cJSON_IsNull(v))
		return DUX_OK;
	if (!cJSON_IsObject(v))
		return DUX_EPROTO;
	*ret = v;
	return DUX_OK;
}

/* A stopped container's sample is all zeros: it must not erase the last real one. */
static int take_cpu(struct dk_stats *s, const cJSON *root)
{
	const cJSON *cpu, *usage;
	uint64_t total = 0, user = 0, sys = 0;
	bool has_total, has_user, has_sys;
	if (member(root, "cpu_stats", &cpu) < 0 || member(cpu, "cpu_usage", &usage) < 0 ||
		counter(usage, "total_usage", &total, &has_total) < 0 ||
		counter(usage, "usage_in_usermode", &user, &has_user) < 0 ||
		counter(usage, "usage_in_kernelmode", &sys, &has_sys) < 0)
		return DUX_EPROTO;
	if (has_total && total >= s->cpu_total_ns) {
		s->cpu_total_ns = total;
		s->have_split = has_user && has_sys;
		s->cpu_user_ns = user, s->cpu_sys_ns = sys;
	}
	return DUX_OK;
}

static int take_memory_pids(struct dk_stats *s, const cJSON *root)
{
	const cJSON *mem, *pids;
	uint64_t max_usage = 0, usage = 0, cur = 0, limit = 0;
	bool has_max, has_usage, has_cur, has_limit;
	if (member(root, "memory_stats", &mem) < 0 || counter(mem, "max_usage", &max_usage, &has_max) < 0 ||
		counter(mem, "usage", &usage, &has_usage) < 0 || member(root, "pids_stats", &pids) < 0 ||
		counter(pids, "current", &cur, &has_cur) < 0 || counter(pids, "limit", &limit, &has_limit) < 0)
		return DUX_EPROTO;
	if (max_usage > s->peak_memory)
		s->peak_memory = max_usage;
	if (usage > s->peak_memory)
		s->peak_memory = usage;
	if (has_cur && ((has_limit && limit > 0 && cur >= limit) || (s->pids_max && cur >= s->pids_max)))
		s->pids_hit = true;
	return DUX_OK;
}

int dk_stats_object(struct dk_stats *s, const char *text, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	int r = DUX_EPROTO;
	if (!cJSON_IsObject(root))
		goto out;
	if ((r = take_cpu(s, root)) < 0 || (r = take_memory_pids(s, root)) < 0)
		goto out;
	s->samples++;
out:
	cJSON_Delete(root);
	return r;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\r' && p[i] != '\t')
			return false;
	return true;
}

int dk_stats_feed(struct dk_stats *s, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (dux_buf_append(&s->line, p, take) < 0)
			return DUX_EPROTO; /* longer than any real sample: not a stats stream */
		p += take, n -= take;
		if (!nl)
			break;
		p++, n--;
		if (!blank(s->line.data, s->line.len) && dk_stats_object(s, s->line.data, s->line.len) < 0)
			return DUX_EPROTO;
		dux_buf_reset(&s->line);
	}
	return DUX_OK;
}
