/* exec_claim.c - what the executor tells the scheduler and the registry about this node:
 * signed claims for work with its capacity, and heartbeats. */
#include "executor.h"
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

typedef struct {
	double load[3];
	int64_t memory_mb;
	double cpus;
	int64_t uptime;
} probe_t;

static void probe(probe_t *p)
{
	memset(p, 0, sizeof *p);
	if (getloadavg(p->load, 3) < 0)
		memset(p->load, 0, sizeof p->load);
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		p->memory_mb = (int64_t)(((uint64_t)si.freeram + si.bufferram) * si.mem_unit >> 20);
		p->uptime = si.uptime;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	p->cpus = n > 0 ? (double)n : 1;
}

int exec_claim(executor_t *x, dux_client_t *cl, cJSON **ret)
{
	probe_t p;
	probe(&p);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "node_id", x->node_id);
	cJSON_AddNumberToObject(b, "slots", x->slots);
	cJSON_AddNumberToObject(b, "free", 1); /* each slot claims for itself */
	cJSON_AddNumberToObject(b, "memory_mb", (double)p.memory_mb);
	cJSON_AddNumberToObject(b, "cpus", p.cpus);
	cJSON_AddNumberToObject(b, "load", p.load[0]);
	cJSON_AddNumberToObject(b, "wait_ms", (double)x->claim_wait_ms);
	dux_client_resp_t resp = {0};
	int r = exec_signed(x, cl, "/v1/executor/claim", b, &resp);
	cJSON_Delete(b);
	if (r < 0) {
		dux_warn("executor: the scheduler did not answer a claim: %s", dux_client_errmsg(cl));
		return r;
	}
	cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(resp.json, "attempts");
	if (resp.status != 200 || !cJSON_IsArray(list)) {
		dux_warn("executor: claim refused (%ld): %.200s", resp.status, resp.body ? resp.body : "");
		cJSON_Delete(list);
		dux_client_resp_clear(&resp);
		return DUX_EPROTO;
	}
	dux_client_resp_clear(&resp);
	*ret = list;
	return 0;
}

static void heartbeat(executor_t *x, dux_client_t *cl)
{
	probe_t p;
	probe(&p);
	cJSON *b = cJSON_CreateObject();
	cJSON *load = cJSON_AddArrayToObject(b, "load_average");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(load, cJSON_CreateNumber(p.load[i]));
	cJSON_AddNumberToObject(b, "available_memory", (double)p.memory_mb);
	cJSON_AddNumberToObject(b, "available_cpu", p.cpus);
	cJSON_AddNumberToObject(b, "uptime", (double)p.uptime);
	char path[96];
	snprintf(path, sizeof path, "/v1/nodes/%s/heartbeat", x->node_id);
	dux_client_resp_t resp = {0};
	int r = exec_signed(x, cl, path, b, &resp);
	cJSON_Delete(b);
	if (r < 0 || resp.status != 200)
		dux_warn("executor: heartbeat to the registry failed (%s %ld)",
			 r < 0 ? dux_client_errmsg(cl) : "status", resp.status);
	if (r == 0)
		dux_client_resp_clear(&resp);
}

/* Asks whether the attempt of slot s is still wanted; ends its sandbox when not. */
static void still_wanted(exec_slot_t *s, dux_client_t *cl)
{
	char attempt[TASK_ID_LEN + 1], path[96];
	pthread_mutex_lock(&s->mu);
	snprintf(attempt, sizeof attempt, "%s", s->attempt);
	pthread_mutex_unlock(&s->mu);
	if (!*attempt)
		return;
	snprintf(path, sizeof path, "/v1/executor/attempts/%s/heartbeat", attempt);
	cJSON *b = cJSON_CreateObject();
	dux_client_resp_t resp = {0};
	int r = exec_signed(s->x, cl, path, b, &resp);
	cJSON_Delete(b);
	if (r < 0)
		return; /* the scheduler is away: keep running, the report will wait for it */
	const cJSON *go = cJSON_GetObjectItemCaseSensitive(resp.json, "continue");
	if (resp.status == 200 && cJSON_IsFalse(go)) {
		pthread_mutex_lock(&s->mu);
		bool same = strcmp(s->attempt, attempt) == 0; /* not the slot's next attempt */
		if (same)
			atomic_store(&s->cancel, true);
		pthread_mutex_unlock(&s->mu);
		if (same)
			dux_info("executor: attempt %s is no longer wanted; its sandbox ends", attempt);
	}
	dux_client_resp_clear(&resp);
}

void *exec_watch_main(void *arg)
{
	executor_t *x = arg;
	dux_client_t *reg = NULL, *sched = NULL;
	dux_client_opts_t ro = {.base_url = x->t->cfg.registry_url, .timeout_ms = 10000};
	dux_client_opts_t so = {.base_url = x->t->cfg.scheduler_url, .timeout_ms = 10000};
	if (dux_client_new(&ro, &reg) < 0 || dux_client_new(&so, &sched) < 0)
		goto out;
	int64_t next_hb = 0;
	while (!atomic_load(&x->stop)) {
		int64_t now = dux_now_us() / 1000;
		if (x->t->cfg.heartbeat_interval > 0 && now >= next_hb) {
			heartbeat(x, reg);
			next_hb = now + x->t->cfg.heartbeat_interval * 1000;
		}
		for (int i = 0; i < x->nthreads && !atomic_load(&x->stop); i++)
			still_wanted(&x->slot[i], sched);
		exec_nap(x, 1000);
	}
out:
	dux_client_free(reg);
	dux_client_free(sched);
	return NULL;
}
