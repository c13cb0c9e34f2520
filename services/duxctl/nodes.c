/* nodes.c - the registry's view of the network: duxctl nodes list | show. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_CAPABILITY = 256, O_STATUS, O_MIN_REP, O_LIMIT, O_ALL };

#define MAX_PAGES 100000 /* --all stops here whatever the server says */

typedef struct {
	const char *capability, *status, *min_rep, *limit; /* query values, validated */
	bool all;
} list_args_t;

static const char *const columns[] = {"NODE ID",      "STATUS",   "REPUTATION",    "TASKS",
				      "CAPABILITIES", "ENDPOINT", "LAST HEARTBEAT"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

static const char *str(const cJSON *n, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(n, key);
	return cJSON_IsString(j) ? j->valuestring : "";
}

static void join_caps(const cJSON *n, char *buf, size_t len)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(n, "capabilities");
	const cJSON *c;
	size_t o = 0;
	buf[0] = '\0';
	cJSON_ArrayForEach(c, arr) {
		if (cJSON_IsString(c) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "",
					      c->valuestring);
	}
}

static void add_row(out_table_t *t, const cJSON *n)
{
	char rep[32] = "", tasks[32], caps[600], endpoint[96], hb[48];
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(n, "reputation_score");
	if (cJSON_IsNumber(r))
		snprintf(rep, sizeof rep, "%.2f", r->valuedouble);
	out_scalar(cJSON_GetObjectItemCaseSensitive(n, "total_tasks_completed"), tasks,
		   sizeof tasks);
	join_caps(n, caps, sizeof caps);
	const char *ip = str(n, "ip_address");
	char port[32];
	out_scalar(cJSON_GetObjectItemCaseSensitive(n, "port"), port, sizeof port);
	snprintf(endpoint, sizeof endpoint, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
	/* whole seconds are enough on screen: "2024-01-15T12:30:00Z" */
	const char *last = str(n, "last_heartbeat");
	if (strlen(last) > 19 && last[19] == '.')
		snprintf(hb, sizeof hb, "%.19sZ", last);
	else
		snprintf(hb, sizeof hb, "%s", last);
	const char *row[] = {str(n, "node_id"), str(n, "status"), rep, tasks, caps, endpoint, hb};
	out_table_add(t, row);
}

static int list_option(const ctl_t *ctl, int c, list_args_t *a)
{
	double d;
	int64_t v;
	switch (c) {
	case O_CAPABILITY: a->capability = optarg; return ctl_check_capability(ctl, optarg);
	case O_STATUS:
		a->status = optarg;
		if (strcmp(optarg, "online") != 0 && strcmp(optarg, "offline") != 0)
			return ctl_usage_error(ctl, "--status must be online or offline");
		return CTL_OK;
	case O_MIN_REP:
		a->min_rep = optarg;
		return ctl_parse_num(ctl, "--min-reputation", optarg, 0, 1, &d);
	case O_LIMIT: a->limit = optarg; return ctl_parse_i64(ctl, "--limit", optarg, 1, 500, &v);
	case O_ALL: a->all = true; return CTL_OK;
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static int fetch_page(const ctl_t *ctl, const list_args_t *a, const char *cursor,
		      dux_client_resp_t *ret)
{
	ctl_path_t p;
	ctl_path_init(&p, "/v1/nodes");
	ctl_path_param(&p, "capability", a->capability);
	ctl_path_param(&p, "status", a->status);
	ctl_path_param(&p, "min_reputation", a->min_rep);
	ctl_path_param(&p, "limit", a->limit);
	ctl_path_param(&p, "cursor", cursor);
	int rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		       : ctl_call(ctl, "GET", p.s, NULL, NULL, ret);
	ctl_path_free(&p);
	if (rc == CTL_OK && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ret->json, "nodes"))) {
		dux_client_resp_clear(ret);
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the registry's node list has no \"nodes\" array");
	}
	return rc;
}

/* Copies the page's next_cursor into cursor ("" at the end). It must move forward (the list
 * is ordered by node id), so that --all ends even if a server keeps answering. */
static int next_cursor(const dux_client_resp_t *page, char cursor[DUX_NODE_ID_LEN + 1])
{
	const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page->json, "next_cursor");
	if (!nc || cJSON_IsNull(nc)) {
		cursor[0] = '\0';
		return CTL_OK;
	}
	if (!cJSON_IsString(nc) || dux_node_id_valid(nc->valuestring) < 0 ||
	    strcmp(nc->valuestring, cursor) <= 0)
		return ctl_fail(CTL_EXIT_UNAVAIL, "the registry answered a malformed next_cursor");
	memcpy(cursor, nc->valuestring, DUX_NODE_ID_LEN + 1);
	return CTL_OK;
}

/* Takes the page's nodes: into all (--json) or as rows of t. */
static void take_nodes(dux_client_resp_t *page, cJSON *all, out_table_t *t)
{
	cJSON *nodes = cJSON_GetObjectItemCaseSensitive(page->json, "nodes");
	cJSON *n;
	if (all) {
		while ((n = cJSON_DetachItemFromArray(nodes, 0)))
			cJSON_AddItemToArray(all, n);
		return;
	}
	cJSON_ArrayForEach(n, nodes) {
		add_row(t, n);
	}
}

static int print_all(const ctl_t *ctl, cJSON *all, const out_table_t *t)
{
	if (ctl->json) {
		cJSON *doc = cJSON_CreateObject();
		int rc = doc && cJSON_AddItemReferenceToObject(doc, "nodes", all)
				 ? out_json(doc)
				 : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		cJSON_Delete(doc); /* a reference: all stays the caller's */
		return rc;
	}
	if (t->nrows == 0) {
		puts("no nodes");
		return CTL_OK;
	}
	return out_table_print(t);
}

/* --json without --all: the page exactly as the server sent it. */
static int list_raw(const ctl_t *ctl, const list_args_t *a)
{
	dux_client_resp_t resp = {0};
	int rc = fetch_page(ctl, a, NULL, &resp);
	if (rc == CTL_OK)
		out_raw(&resp);
	dux_client_resp_clear(&resp);
	return rc;
}

/* One page, or with --all every page, gathered and printed as one table or document. */
static int list_gather(const ctl_t *ctl, const list_args_t *a)
{
	char cursor[DUX_NODE_ID_LEN + 1] = "";
	out_table_t t;
	out_table_init(&t, columns, NCOLUMNS);
	cJSON *all = ctl->json ? cJSON_CreateArray() : NULL;
	int rc = ctl->json && !all ? ctl_fail(CTL_EXIT_LOCAL, "out of memory") : CTL_OK;
	for (int page = 0; rc == CTL_OK; page++) {
		dux_client_resp_t resp = {0};
		if (page == MAX_PAGES) {
			rc = ctl_fail(CTL_EXIT_UNAVAIL, "stopped after %d pages", MAX_PAGES);
			break;
		}
		rc = fetch_page(ctl, a, cursor[0] ? cursor : NULL, &resp);
		if (rc == CTL_OK) {
			take_nodes(&resp, all, &t);
			rc = a->all ? next_cursor(&resp, cursor) : CTL_OK;
		}
		dux_client_resp_clear(&resp);
		if (!a->all || !cursor[0])
			break;
	}
	if (rc == CTL_OK)
		rc = print_all(ctl, all, &t);
	cJSON_Delete(all);
	out_table_free(&t);
	return rc;
}

int nodes_list(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"capability", required_argument, NULL, O_CAPABILITY},
		{"status", required_argument, NULL, O_STATUS},
		{"min-reputation", required_argument, NULL, O_MIN_REP},
		{"limit", required_argument, NULL, O_LIMIT},
		{"all", no_argument, NULL, O_ALL},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	list_args_t a = {0};
	int c = CTL_OPT_END, rc = CTL_OK;
	while (rc == CTL_OK && (c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		rc = list_option(ctl, c, &a);
	if (rc != CTL_OK)
		return rc;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK)
		return rc;
	return ctl->json && !a.all ? list_raw(ctl, &a) : list_gather(ctl, &a);
}

int nodes_print_one(const ctl_t *ctl, const char *node_id)
{
	char path[64 + DUX_NODE_ID_LEN];
	dux_client_resp_t resp = {0};
	snprintf(path, sizeof path, "/v1/nodes/%s", node_id);
	int rc = ctl_call(ctl, "GET", path, NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		out_kv(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}

int nodes_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "NODE_ID")) != CTL_OK ||
	    (rc = ctl_check_node_id(ctl, argv[optind])) != CTL_OK)
		return rc;
	return nodes_print_one(ctl, argv[optind]);
}
