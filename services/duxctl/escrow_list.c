/* escrow_list.c - duxctl escrow list: GET /v1/escrows, in id order, a page at a time or (--all)
 * to the end. Users see the escrows they created; services and admins see every one. */
#include "duxctl.h"
#include <string.h>

enum { O_USER = 256, O_PROVIDER, O_API_ID, O_STATUS, O_LIMIT, O_CURSOR, O_ALL };

typedef struct {
	const char *user, *provider, *api_id, *status, *limit, *cursor; /* validated */
	bool all;
} escrows_args_t;

static const char *const columns[] = {"ID",	 "STATUS",		"AMOUNT", "API",
				      "USER -> PROVIDER", "CREATED"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

static const char *const statuses[] = {"creating",  "held",	"releasing", "released",
				       "refunding", "refunded", "disputed",  "resolving",
				       "resolved",  "failed"};

static int check_status(const ctl_t *ctl, const char *s)
{
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (strcmp(s, statuses[i]) == 0)
			return CTL_OK;
	return ctl_usage_error(ctl, "--status must be one of creating, held, releasing, released, "
				    "refunding, refunded, disputed, resolving, resolved, failed; "
				    "got \"%s\"",
			       s);
}

static int escrows_option(const ctl_t *ctl, int c, void *args)
{
	escrows_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_USER: a->user = optarg; return wallet_check_address(ctl, "--user", optarg);
	case O_PROVIDER:
		a->provider = optarg;
		return wallet_check_address(ctl, "--provider", optarg);
	case O_API_ID: a->api_id = optarg; return escrow_check_name(ctl, "--api-id", optarg);
	case O_STATUS: a->status = optarg; return check_status(ctl, optarg);
	case O_LIMIT: a->limit = optarg; return ctl_parse_i64(ctl, "--limit", optarg, 1, 500, &v);
	case O_CURSOR: a->cursor = optarg; return escrow_check_id(ctl, "--cursor", optarg);
	case O_ALL: a->all = true; return CTL_OK;
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static void add_row(out_table_t *tab, const cJSON *e)
{
	char created[48], parties[170];
	snprintf(parties, sizeof parties, "%s -> %s", wallet_str(e, "user_wallet"),
		 wallet_str(e, "provider_wallet"));
	const char *row[] = {wallet_str(e, "id"),
			     wallet_str(e, "status"),
			     wallet_str(e, "amount"),
			     wallet_str(e, "api_id"),
			     parties,
			     escrow_time(wallet_str(e, "created_at"), created, sizeof created)};
	out_table_add(tab, row);
}

static void escrows_path(const void *args, const char *cursor, ctl_path_t *ret)
{
	const escrows_args_t *a = args;
	ctl_path_init(ret, "/v1/escrows");
	ctl_path_param(ret, "user", a->user);
	ctl_path_param(ret, "provider", a->provider);
	ctl_path_param(ret, "api_id", a->api_id);
	ctl_path_param(ret, "status", a->status);
	ctl_path_param(ret, "limit", a->limit);
	ctl_path_param(ret, "cursor", cursor);
}

/* The list is in id order: a next cursor is a later escrow id, after a page that brought some. */
static bool escrows_cursor_ok(const char *next, const char *prev, int n)
{
	return strlen(next) == ESCROW_ID_LEN && strncmp(next, "esc_", 4) == 0 &&
	       strspn(next + 4, "0123456789abcdef") == ESCROW_ID_LEN - 4 &&
	       strcmp(next, prev) > 0 && n > 0;
}

static const page_list_t escrows = {
	.member = "escrows",
	.what = "the escrow's list",
	.none = "no escrows",
	.columns = columns,
	.ncolumns = NCOLUMNS,
	.more = true,
	.path = escrows_path,
	.cursor_ok = escrows_cursor_ok,
	.add_row = add_row,
};

int escrow_list(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"user", required_argument, NULL, O_USER},
		{"provider", required_argument, NULL, O_PROVIDER},
		{"api-id", required_argument, NULL, O_API_ID},
		{"status", required_argument, NULL, O_STATUS},
		{"limit", required_argument, NULL, O_LIMIT},
		{"cursor", required_argument, NULL, O_CURSOR},
		{"all", no_argument, NULL, O_ALL},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	escrows_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, escrows_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	return page_list(ctl, &escrows, &a, a.cursor, a.all);
}
