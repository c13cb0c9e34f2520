/* executors.c - duxctl executors: GET /v1/executors, the nodes as the task engine's scheduler
 * sees them when it chooses one: the registry's status, whether the node claims work (state
 * online, unknown or offline), its capacity, the attempts it holds and its recent failures. */
#include "duxctl.h"
#include <stdio.h>

static void add_row(out_table_t *tab, const cJSON *e)
{
	char rep[32], busy[32], cap[32], slots[72], load[32], bad[32], last[48];
	out_scalar(cJSON_GetObjectItemCaseSensitive(e, "reputation"), rep, sizeof rep);
	out_scalar(cJSON_GetObjectItemCaseSensitive(e, "busy"), busy, sizeof busy);
	out_scalar(cJSON_GetObjectItemCaseSensitive(e, "slots"), cap, sizeof cap);
	snprintf(slots, sizeof slots, "%s/%s", busy, cap); /* attempts held / slots */
	out_scalar(cJSON_GetObjectItemCaseSensitive(e, "load"), load, sizeof load);
	out_scalar(cJSON_GetObjectItemCaseSensitive(e, "recent_failures"), bad, sizeof bad);
	const char *row[] = {wallet_str(e, "node_id"),
			     wallet_str(e, "state"),
			     wallet_str(e, "registry_status"),
			     wallet_str(e, "wallet_address"),
			     rep,
			     slots,
			     load,
			     bad,
			     escrow_time(wallet_str(e, "last_claim"), last, sizeof last)};
	out_table_add(tab, row);
}

static int executors_print(const cJSON *doc)
{
	static const char *const headers[] = {"NODE ID", "STATE", "REGISTRY", "WALLET",
					      "REPUTATION", "BUSY", "LOAD", "FAILURES",
					      "LAST CLAIM"};
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "executors"), *e;
	if (!cJSON_IsArray(list))
		return ctl_fail(CTL_EXIT_UNAVAIL, "the task engine's answer has no executors "
						  "array");
	if (cJSON_GetArraySize(list) == 0) {
		puts("no executors");
		return CTL_OK;
	}
	out_table_t t;
	out_table_init(&t, headers, 9);
	cJSON_ArrayForEach(e, list) {
		add_row(&t, e);
	}
	int rc = out_table_print(&t);
	out_table_free(&t);
	return rc;
}

int executors_list(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call(ctl, "GET", "/v1/executors", NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = executors_print(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}
