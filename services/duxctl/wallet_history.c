/* wallet_history.c - duxctl wallet history: the transfers of one account
 * (GET /v1/accounts/{address}/transfers) or of every account of the caller
 * (GET /v1/wallet/transactions), newest first, a page at a time or (--all) to the end. */
#include "duxctl.h"
#include <string.h>

enum { O_ADDRESS = 256, O_LIMIT, O_CURSOR, O_ALL };

#define CURSOR_MAX PAGE_CURSOR_MAX /* the wallet's cursors are sequence numbers: far shorter */

typedef struct {
	const char *address, *limit, *cursor; /* validated */
	bool all;
} history_args_t;

static const char *const columns[] = {"TIME", "ID", "MODE/STATE", "DEBIT -> CREDIT", "AMOUNT"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

/* A cursor is opaque: only its size and alphabet are checked, as anything else goes into a
 * query parameter. */
static bool cursor_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CURSOR_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* A side of a transfer; the outside of the ledger (NULL) is named by the transfer's kind. */
static void side(const cJSON *t, const char *key, char *buf, size_t len)
{
	const char *v = wallet_str(t, key), *kind = wallet_str(t, "kind");
	bool named = kind[0] && strcmp(kind, "transfer") != 0;
	if (v[0])
		snprintf(buf, len, "%s", v);
	else
		snprintf(buf, len, "(%s)", named ? kind : "outside");
}

static void add_row(out_table_t *tab, const cJSON *t)
{
	char time[48], ms[64], debit[80], credit[80], dc[170];
	/* whole seconds are enough on screen: "2024-01-15T12:30:00Z" */
	const char *at = wallet_str(t, "created_at");
	if (strlen(at) > 19 && at[19] == '.')
		snprintf(time, sizeof time, "%.19sZ", at);
	else
		snprintf(time, sizeof time, "%s", at);
	snprintf(ms, sizeof ms, "%s/%s", wallet_str(t, "mode"), wallet_str(t, "state"));
	side(t, "debit", debit, sizeof debit);
	side(t, "credit", credit, sizeof credit);
	snprintf(dc, sizeof dc, "%s -> %s", debit, credit);
	const char *row[] = {time, wallet_str(t, "id"), ms, dc, wallet_str(t, "amount")};
	out_table_add(tab, row);
}

static int history_option(const ctl_t *ctl, int c, void *args)
{
	history_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_ADDRESS: a->address = optarg; return wallet_check_address(ctl, "--address", optarg);
	case O_LIMIT: a->limit = optarg; return ctl_parse_i64(ctl, "--limit", optarg, 1, 500, &v);
	case O_CURSOR:
		a->cursor = optarg;
		if (!cursor_ok(optarg))
			return ctl_usage_error(ctl, "--cursor must be a next_cursor value from an "
						    "earlier page");
		return CTL_OK;
	case O_ALL: a->all = true; return CTL_OK;
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static void history_path(const void *args, const char *cursor, ctl_path_t *ret)
{
	const history_args_t *a = args;
	if (a->address) {
		ctl_path_init(ret, "/v1/accounts");
		ctl_path_segment(ret, a->address);
		ctl_path_segment(ret, "transfers");
	} else {
		ctl_path_init(ret, "/v1/wallet/transactions");
	}
	ctl_path_param(ret, "limit", a->limit);
	ctl_path_param(ret, "cursor", cursor);
}

/* Newest first by an opaque cursor: a next one must differ, after a page that brought some. */
static bool history_cursor_ok(const char *next, const char *prev, int n)
{
	return cursor_ok(next) && strcmp(next, prev) != 0 && n > 0;
}

static const page_list_t transfers = {
	.member = "transfers",
	.what = "the wallet's history",
	.none = "no transfers",
	.columns = columns,
	.ncolumns = NCOLUMNS,
	.more = true,
	.path = history_path,
	.cursor_ok = history_cursor_ok,
	.add_row = add_row,
};

int wallet_history(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"address", required_argument, NULL, O_ADDRESS},
		{"limit", required_argument, NULL, O_LIMIT},
		{"cursor", required_argument, NULL, O_CURSOR},
		{"all", no_argument, NULL, O_ALL},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	history_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, history_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	return page_list(ctl, &transfers, &a, a.cursor, a.all);
}
