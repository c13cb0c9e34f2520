/* nodes.c - the registry's view of the network: duxctl nodes list | show. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_CAPABILITY = 256, O_STATUS, O_MIN_REP, O_LIMIT, O_ALL };

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

static int list_option(const ctl_t *ctl, int c, void *args)
{
	list_args_t *a = args;
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

static void list_path(const void *args, const char *cursor, ctl_path_t *ret)
{
	const list_args_t *a = args;
	ctl_path_init(ret, "/v1/nodes");
	ctl_path_param(ret, "capability", a->capability);
	ctl_path_param(ret, "status", a->status);
	ctl_path_param(ret, "min_reputation", a->min_rep);
	ctl_path_param(ret, "limit", a->limit);
	ctl_path_param(ret, "cursor", cursor);
}

/* The list is ordered by node id: a next cursor is a later node id. */
static bool list_cursor_ok(const char *next, const char *prev, int n)
{
	(void)n;
	return dux_node_id_valid(next) >= 0 && strcmp(next, prev) > 0;
}

static const page_list_t nodes = {
	.member = "nodes",
	.what = "the registry's node list",
	.none = "no nodes",
	.columns = columns,
	.ncolumns = NCOLUMNS,
	.more = false, /* no --cursor: a page is the first, or --all has them all */
	.path = list_path,
	.cursor_ok = list_cursor_ok,
	.add_row = add_row,
};

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
	int rc = ctl_opt_parse(ctl, argc, argv, lo, list_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK)
		return rc;
	return page_list(ctl, &nodes, &a, NULL, a.all);
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
