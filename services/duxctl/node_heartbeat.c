/* node_heartbeat.c - duxctl node heartbeat: a node-signed POST /v1/nodes/{id}/heartbeat with
 * the node's current load, measured on this machine unless given. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_KEY = 256, O_LOAD, O_AVAIL_MEMORY, O_AVAIL_CPU, O_UPTIME };

/* the registry's bounds */
#define LOAD_MAX 1e6
#define MEMORY_MAX (INT64_C(1) << 40)
#define CPU_MAX 65536.0
#define UPTIME_MAX (INT64_C(1) << 40)

typedef struct {
	const char *key;
	double load[3], cpu;
	int64_t mem, uptime;
	bool has_load, has_cpu, has_mem, has_uptime;
} hb_args_t;

/* "A,B,C": exactly three numbers. */
static int parse_load(const ctl_t *ctl, const char *s, double ret[3])
{
	char buf[128];
	if (strlen(s) >= sizeof buf)
		return ctl_usage_error(ctl, "--load must be three numbers A,B,C");
	snprintf(buf, sizeof buf, "%s", s);
	char *part = buf;
	for (int i = 0; i < 3; i++) {
		char *comma = strchr(part, ',');
		if ((i < 2) != (comma != NULL))
			return ctl_usage_error(ctl,
					       "--load must be three numbers A,B,C, got \"%s\"", s);
		if (comma)
			*comma = '\0';
		int rc = ctl_parse_num(ctl, "--load", part, 0, LOAD_MAX, &ret[i]);
		if (rc != CTL_OK)
			return rc;
		if (comma)
			part = comma + 1;
	}
	return CTL_OK;
}

static int option(const ctl_t *ctl, int c, void *args)
{
	hb_args_t *a = args;
	switch (c) {
	case O_KEY: a->key = optarg; return CTL_OK;
	case O_LOAD: a->has_load = true; return parse_load(ctl, optarg, a->load);
	case O_AVAIL_MEMORY:
		a->has_mem = true;
		return ctl_parse_i64(ctl, "--available-memory", optarg, 0, MEMORY_MAX, &a->mem);
	case O_AVAIL_CPU:
		a->has_cpu = true;
		return ctl_parse_num(ctl, "--available-cpu", optarg, 0, CPU_MAX, &a->cpu);
	case O_UPTIME:
		a->has_uptime = true;
		return ctl_parse_i64(ctl, "--uptime", optarg, 0, UPTIME_MAX, &a->uptime);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* Fills what was not given from this machine. */
static int measure(hb_args_t *a)
{
	if (a->has_load && a->has_mem && a->has_cpu && a->has_uptime)
		return CTL_OK;
	ctl_probe_t p;
	int rc = ctl_probe(&p);
	if (rc != CTL_OK)
		return rc;
	if (!a->has_load)
		memcpy(a->load, p.load, sizeof a->load);
	if (!a->has_mem)
		a->mem = p.available_memory < MEMORY_MAX ? p.available_memory : MEMORY_MAX;
	if (!a->has_cpu)
		a->cpu = p.available_cpu < CPU_MAX ? p.available_cpu : CPU_MAX;
	if (!a->has_uptime)
		a->uptime = p.uptime < UPTIME_MAX ? p.uptime : UPTIME_MAX;
	return CTL_OK;
}

/* The body as text (caller frees), NULL when out of memory. */
static char *body_of(const hb_args_t *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *load = o ? cJSON_AddArrayToObject(o, "load_average") : NULL;
	bool ok = load && cJSON_AddNumberToObject(o, "available_memory", (double)a->mem) &&
		  cJSON_AddNumberToObject(o, "available_cpu", a->cpu) &&
		  cJSON_AddNumberToObject(o, "uptime", (double)a->uptime);
	for (int i = 0; ok && i < 3; i++)
		ok = cJSON_AddItemToArray(load, cJSON_CreateNumber(a->load[i]));
	char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

static int send_heartbeat(const ctl_t *ctl, const hb_args_t *a)
{
	ctl_identity_t id = {0};
	dux_client_resp_t resp = {0};
	char *body = NULL, path[64 + DUX_NODE_ID_LEN];
	int rc = ctl_identity_load(a->key, true, &id);
	if (rc != CTL_OK)
		goto out;
	if (!(body = body_of(a))) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		goto out;
	}
	snprintf(path, sizeof path, "/v1/nodes/%s/heartbeat", id.node_id);
	rc = ctl_signed_call(ctl, &id, "POST", path, body, &resp);
	if (rc != CTL_OK)
		goto out;
	if (ctl->json)
		out_raw(&resp);
	else
		printf("heartbeat accepted for node %s\n", id.node_id);
out:
	dux_client_resp_clear(&resp);
	free(body);
	ctl_identity_clear(&id);
	return rc;
}

int node_heartbeat(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		{"load", required_argument, NULL, O_LOAD},
		{"available-memory", required_argument, NULL, O_AVAIL_MEMORY},
		{"available-cpu", required_argument, NULL, O_AVAIL_CPU},
		{"uptime", required_argument, NULL, O_UPTIME},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	hb_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.key, "--key FILE")) != CTL_OK || (rc = measure(&a)) != CTL_OK)
		return rc;
	return send_heartbeat(ctl, &a);
}
