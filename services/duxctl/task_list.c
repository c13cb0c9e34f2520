/* task_list.c - duxctl task list: GET /v1/tasks, newest first, a page at a time or (--all) to
 * the end. Users and providers see their own tasks; services and admins see everyone's, or
 * one owner's with --owner. */
#include "duxctl.h"
#include <string.h>

enum { O_STATE = 256, O_KIND, O_SERVICE, O_OWNER, O_LIMIT, O_CURSOR, O_ALL };

#define OWNER_MAX 128 /* the engine's bound on a token subject */

typedef struct {
	const char *state, *kind, *service, *owner, *limit, *cursor; /* validated */
	bool all;
} tasks_args_t;

static const char *const columns[] = {"ID",	 "KIND",    "STATE",  "REASON",
				      "RUNTIME", "SERVICE", "CREATED"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* A next_cursor of the engine: created_at in microseconds, '.', the last task id of a page. */
static bool cursor_form(const char *s)
{
	size_t d = strspn(s, "0123456789");
	return d >= 1 && d <= 19 && s[d] == '.' && task_id_ok(s + d + 1);
}

static int tasks_option(const ctl_t *ctl, int c, void *args)
{
	static const char *const states[] = {"queued",	  "running",   "succeeded",
					     "failed",	  "cancelled", NULL};
	static const char *const kinds[] = {"generic", "call", NULL};
	tasks_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_STATE:
		a->state = optarg;
		if (!one_of(optarg, states))
			return ctl_usage_error(ctl, "--state must be one of queued, running, "
						    "succeeded, failed, cancelled; got \"%s\"",
					       optarg);
		return CTL_OK;
	case O_KIND:
		a->kind = optarg;
		if (!one_of(optarg, kinds))
			return ctl_usage_error(ctl, "--kind must be generic or call, got \"%s\"",
					       optarg);
		return CTL_OK;
	case O_SERVICE: a->service = optarg; return store_check_id(ctl, "--service", optarg);
	case O_OWNER:
		a->owner = optarg;
		return store_check_text(ctl, "--owner", optarg, OWNER_MAX, true, false);
	case O_LIMIT: a->limit = optarg; return ctl_parse_i64(ctl, "--limit", optarg, 1, 100, &v);
	case O_CURSOR:
		a->cursor = optarg;
		if (!cursor_form(optarg))
			return ctl_usage_error(ctl, "--cursor must be a next_cursor the task "
						    "engine gave, got \"%s\"",
					       optarg);
		return CTL_OK;
	case O_ALL: a->all = true; return CTL_OK;
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static void add_row(out_table_t *tab, const cJSON *t)
{
	char created[48];
	const char *row[] = {wallet_str(t, "id"),	  wallet_str(t, "kind"),
			     wallet_str(t, "state"),	  wallet_str(t, "reason"),
			     wallet_str(t, "runtime"),	  wallet_str(t, "service_id"),
			     escrow_time(wallet_str(t, "created_at"), created, sizeof created)};
	out_table_add(tab, row);
}

static void tasks_path(const void *args, const char *cursor, ctl_path_t *ret)
{
	const tasks_args_t *a = args;
	ctl_path_init(ret, "/v1/tasks");
	ctl_path_param(ret, "state", a->state);
	ctl_path_param(ret, "kind", a->kind);
	ctl_path_param(ret, "service_id", a->service);
	ctl_path_param(ret, "owner", a->owner);
	ctl_path_param(ret, "limit", a->limit);
	ctl_path_param(ret, "cursor", cursor);
}

/* Newest first: a next cursor names the last task of a page that brought some, so it moves. */
static bool tasks_cursor_ok(const char *next, const char *prev, int n)
{
	return cursor_form(next) && strcmp(next, prev) != 0 && n > 0;
}

static const page_list_t tasks = {
	.member = "tasks",
	.what = "the task engine's list",
	.none = "no tasks",
	.columns = columns,
	.ncolumns = NCOLUMNS,
	.more = true,
	.path = tasks_path,
	.cursor_ok = tasks_cursor_ok,
	.add_row = add_row,
};

int task_list(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"state", required_argument, NULL, O_STATE},
		{"kind", required_argument, NULL, O_KIND},
		{"service", required_argument, NULL, O_SERVICE},
		{"owner", required_argument, NULL, O_OWNER},
		{"limit", required_argument, NULL, O_LIMIT},
		{"cursor", required_argument, NULL, O_CURSOR},
		{"all", no_argument, NULL, O_ALL},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	tasks_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, tasks_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	return page_list(ctl, &tasks, &a, a.cursor, a.all);
}
