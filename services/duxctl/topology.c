/* topology.c - duxctl topology: GET /v1/topology, summarised for people. */
#include "duxctl.h"

static const cJSON *get(const cJSON *o, const char *a, const char *b)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, a);
	return b ? cJSON_GetObjectItemCaseSensitive(j, b) : j;
}

static int summary(const cJSON *topo)
{
	char total[32], on[32], off[32], cpu[32], mem[32];
	printf("nodes: %s total, %s online, %s offline\n",
	       out_scalar(get(topo, "total_nodes", NULL), total, sizeof total),
	       out_scalar(get(topo, "by_status", "online"), on, sizeof on),
	       out_scalar(get(topo, "by_status", "offline"), off, sizeof off));
	printf("online capacity: %s CPUs and %s MB of memory available\n",
	       out_scalar(get(topo, "online_capacity", "available_cpu"), cpu, sizeof cpu),
	       out_scalar(get(topo, "online_capacity", "available_memory"), mem, sizeof mem));
	static const char *const headers[] = {"CAPABILITY", "ONLINE", "TOTAL"};
	out_table_t t;
	out_table_init(&t, headers, 3);
	const cJSON *c;
	cJSON_ArrayForEach(c, get(topo, "by_capability", NULL)) {
		const char *row[] = {c->string ? c->string : "",
				     out_scalar(get(c, "online", NULL), on, sizeof on),
				     out_scalar(get(c, "total", NULL), total, sizeof total)};
		out_table_add(&t, row);
	}
	int rc = t.nrows ? out_table_print(&t) : CTL_OK;
	if (!t.nrows)
		puts("no capabilities advertised");
	out_table_free(&t);
	return rc;
}

int topology_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	dux_client_resp_t resp = {0};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK)
		return rc;
	rc = ctl_call(ctl, "GET", "/v1/topology", NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = summary(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}
