/* wallet_history.c - duxctl wallet history: the transfers of one account
 * (GET /v1/accounts/{address}/transfers) or of every account of the caller
 * (GET /v1/wallet/transactions), newest first, a page at a time or (--all) to the end. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_ADDRESS = 256, O_LIMIT, O_CURSOR, O_ALL };

#define MAX_PAGES 100000 /* --all stops here whatever the server says */
#define CURSOR_MAX 128 /* the wallet's cursors are sequence numbers: far shorter */

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

static int option(const ctl_t *ctl, int c, history_args_t *a)
{
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

static int fetch_page(const ctl_t *ctl, const history_args_t *a, const char *cursor,
		      dux_client_resp_t *ret)
{
	ctl_path_t p;
	if (a->address) {
		ctl_path_init(&p, "/v1/accounts");
		ctl_path_segment(&p, a->address);
		ctl_path_segment(&p, "transfers");
	} else {
		ctl_path_init(&p, "/v1/wallet/transactions");
	}
	ctl_path_param(&p, "limit", a->limit);
	ctl_path_param(&p, "cursor", cursor);
	int rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		       : ctl_call(ctl, "GET", p.s, NULL, NULL, ret);
	ctl_path_free(&p);
	if (rc == CTL_OK &&
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ret->json, "transfers"))) {
		dux_client_resp_clear(ret);
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's history has no \"transfers\" array");
	}
	return rc;
}

/* Copies the page's next_cursor into cursor ("" at the end). A page that names a next one
 * must have brought transfers and a new cursor, so that --all ends even if a server keeps
 * answering. */
static int next_cursor(const dux_client_resp_t *page, char cursor[CURSOR_MAX + 1])
{
	const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page->json, "next_cursor");
	if (!nc || cJSON_IsNull(nc)) {
		cursor[0] = '\0';
		return CTL_OK;
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(page->json, "transfers");
	if (!cJSON_IsString(nc) || !cursor_ok(nc->valuestring) ||
	    strcmp(nc->valuestring, cursor) == 0 || cJSON_GetArraySize(items) == 0)
		return ctl_fail(CTL_EXIT_UNAVAIL, "the wallet answered a malformed next_cursor");
	snprintf(cursor, CURSOR_MAX + 1, "%s", nc->valuestring);
	return CTL_OK;
}

/* Takes the page's transfers: into all (--json) or as rows of t. */
static void take(dux_client_resp_t *page, cJSON *all, out_table_t *t)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(page->json, "transfers");
	cJSON *it;
	if (all) {
		while ((it = cJSON_DetachItemFromArray(items, 0)))
			cJSON_AddItemToArray(all, it);
		return;
	}
	cJSON_ArrayForEach(it, items) {
		add_row(t, it);
	}
}

static int print_all(const ctl_t *ctl, cJSON *all, const out_table_t *t, const char *more)
{
	if (ctl->json) {
		cJSON *doc = cJSON_CreateObject();
		int rc = doc && cJSON_AddItemReferenceToObject(doc, "transfers", all)
				 ? out_json(doc)
				 : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		cJSON_Delete(doc); /* a reference: all stays the caller's */
		return rc;
	}
	int rc = CTL_OK;
	if (t->nrows == 0)
		puts("no transfers");
	else
		rc = out_table_print(t);
	if (rc == CTL_OK && more[0]) {
		fputs("more: --cursor ", stdout);
		out_text(stdout, more);
		fputc('\n', stdout);
	}
	return rc;
}

/* --json without --all: the page exactly as the server sent it. */
static int history_raw(const ctl_t *ctl, const history_args_t *a)
{
	dux_client_resp_t resp = {0};
	int rc = fetch_page(ctl, a, a->cursor, &resp);
	if (rc == CTL_OK)
		out_raw(&resp);
	dux_client_resp_clear(&resp);
	return rc;
}

/* One page, or with --all every page from --cursor on, printed as one table or document. */
static int history_gather(const ctl_t *ctl, const history_args_t *a)
{
	char cursor[CURSOR_MAX + 1] = "";
	out_table_t t;
	out_table_init(&t, columns, NCOLUMNS);
	cJSON *all = ctl->json ? cJSON_CreateArray() : NULL;
	int rc = ctl->json && !all ? ctl_fail(CTL_EXIT_LOCAL, "out of memory") : CTL_OK;
	if (a->cursor)
		snprintf(cursor, sizeof cursor, "%s", a->cursor);
	for (int page = 0; rc == CTL_OK; page++) {
		dux_client_resp_t resp = {0};
		if (page == MAX_PAGES) {
			rc = ctl_fail(CTL_EXIT_UNAVAIL, "stopped after %d pages", MAX_PAGES);
			break;
		}
		rc = fetch_page(ctl, a, cursor[0] ? cursor : NULL, &resp);
		if (rc == CTL_OK)
			rc = next_cursor(&resp, cursor); /* first: take empties the page */
		if (rc == CTL_OK)
			take(&resp, all, &t);
		dux_client_resp_clear(&resp);
		if (!a->all || !cursor[0])
			break;
	}
	if (rc == CTL_OK)
		rc = print_all(ctl, all, &t, a->all ? "" : cursor);
	cJSON_Delete(all);
	out_table_free(&t);
	return rc;
}

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
	int c = CTL_OPT_END, rc = CTL_OK;
	while (rc == CTL_OK && (c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		rc = option(ctl, c, &a);
	if (rc != CTL_OK)
		return rc;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	return ctl->json && !a.all ? history_raw(ctl, &a) : history_gather(ctl, &a);
}
