/* escrow_list.c - duxctl escrow list: GET /v1/escrows, in id order, a page at a time or (--all)
 * to the end. Users see the escrows they created; services and admins see every one. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_USER = 256, O_PROVIDER, O_API_ID, O_STATUS, O_LIMIT, O_CURSOR, O_ALL };

#define MAX_PAGES 100000 /* --all stops here whatever the server says */

typedef struct {
	const char *user, *provider, *api_id, *status, *limit, *cursor; /* validated */
	bool all;
} list_args_t;

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

static int option(const ctl_t *ctl, int c, list_args_t *a)
{
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

static int fetch_page(const ctl_t *ctl, const list_args_t *a, const char *cursor,
		      dux_client_resp_t *ret)
{
	ctl_path_t p;
	ctl_path_init(&p, "/v1/escrows");
	ctl_path_param(&p, "user", a->user);
	ctl_path_param(&p, "provider", a->provider);
	ctl_path_param(&p, "api_id", a->api_id);
	ctl_path_param(&p, "status", a->status);
	ctl_path_param(&p, "limit", a->limit);
	ctl_path_param(&p, "cursor", cursor);
	int rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		       : ctl_call(ctl, "GET", p.s, NULL, NULL, ret);
	ctl_path_free(&p);
	if (rc == CTL_OK &&
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ret->json, "escrows"))) {
		dux_client_resp_clear(ret);
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the escrow's list has no \"escrows\" array");
	}
	return rc;
}

/* Copies the page's next_cursor into cursor ("" at the end). A page that names a next one must
 * have brought escrows and a new cursor of the escrow id form, so that --all ends even if a
 * server keeps answering. */
static int next_cursor(const dux_client_resp_t *page, char cursor[ESCROW_ID_LEN + 1])
{
	const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page->json, "next_cursor");
	if (!nc || cJSON_IsNull(nc)) {
		cursor[0] = '\0';
		return CTL_OK;
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(page->json, "escrows");
	const char *s = cJSON_IsString(nc) ? nc->valuestring : "";
	bool ok = strlen(s) == ESCROW_ID_LEN && strncmp(s, "esc_", 4) == 0 &&
		  strspn(s + 4, "0123456789abcdef") == ESCROW_ID_LEN - 4 &&
		  strcmp(s, cursor) > 0 && cJSON_GetArraySize(items) > 0;
	if (!ok)
		return ctl_fail(CTL_EXIT_UNAVAIL, "the escrow answered a malformed next_cursor");
	snprintf(cursor, ESCROW_ID_LEN + 1, "%s", s);
	return CTL_OK;
}

/* Takes the page's escrows: into all (--json) or as rows of t. */
static void take(dux_client_resp_t *page, cJSON *all, out_table_t *t)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(page->json, "escrows");
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
		int rc = doc && cJSON_AddItemReferenceToObject(doc, "escrows", all)
				 ? out_json(doc)
				 : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		cJSON_Delete(doc); /* a reference: all stays the caller's */
		return rc;
	}
	int rc = CTL_OK;
	if (t->nrows == 0)
		puts("no escrows");
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
static int list_raw(const ctl_t *ctl, const list_args_t *a)
{
	dux_client_resp_t resp = {0};
	int rc = fetch_page(ctl, a, a->cursor, &resp);
	if (rc == CTL_OK)
		out_raw(&resp);
	dux_client_resp_clear(&resp);
	return rc;
}

/* One page, or with --all every page from --cursor on, printed as one table or document. */
static int list_gather(const ctl_t *ctl, const list_args_t *a)
{
	char cursor[ESCROW_ID_LEN + 1] = "";
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
	list_args_t a = {0};
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
	return ctl->json && !a.all ? list_raw(ctl, &a) : list_gather(ctl, &a);
}
