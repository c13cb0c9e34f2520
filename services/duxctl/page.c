/* page.c - the lists a server answers a page at a time (nodes, escrows, a wallet's history):
 * following next_cursor for --all, gathering the pages into one table or one JSON document,
 * and telling where the next page starts. What sets one list apart is its page_list_t. */
#include "duxctl.h"
#include <string.h>

#define MAX_PAGES 100000 /* --all stops here whatever the server says */

/* GETs the page that starts at cursor (NULL: the first); it must bring the list's array. */
static int fetch(const ctl_t *ctl, const page_list_t *list, const void *args, const char *cursor,
		 dux_client_resp_t *ret)
{
	ctl_path_t p;
	list->path(args, cursor, &p);
	int rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		       : ctl_call(ctl, "GET", p.s, NULL, NULL, ret);
	ctl_path_free(&p);
	if (rc == CTL_OK &&
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ret->json, list->member))) {
		dux_client_resp_clear(ret);
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "%s has no \"%s\" array", list->what, list->member);
	}
	return rc;
}

/* Replaces cursor (the one the page was asked with) by the page's next_cursor, "" at the end. */
static int next_cursor(const ctl_t *ctl, const page_list_t *list, const dux_client_resp_t *page,
		       char cursor[PAGE_CURSOR_MAX + 1])
{
	const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page->json, "next_cursor");
	if (!nc || cJSON_IsNull(nc)) {
		cursor[0] = '\0';
		return CTL_OK;
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(page->json, list->member);
	if (!cJSON_IsString(nc) || strlen(nc->valuestring) > PAGE_CURSOR_MAX ||
	    !list->cursor_ok(nc->valuestring, cursor, cJSON_GetArraySize(items)))
		return ctl_fail(CTL_EXIT_UNAVAIL, "the %s answered a malformed next_cursor",
				ctl->server_name);
	snprintf(cursor, PAGE_CURSOR_MAX + 1, "%s", nc->valuestring);
	return CTL_OK;
}

/* Takes the page's items: into all (--json) or as rows of t. */
static void take(const page_list_t *list, dux_client_resp_t *page, cJSON *all, out_table_t *t)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(page->json, list->member);
	cJSON *it;
	if (all) {
		while ((it = cJSON_DetachItemFromArray(items, 0)))
			cJSON_AddItemToArray(all, it);
		return;
	}
	cJSON_ArrayForEach(it, items) {
		list->add_row(t, it);
	}
}

/* more: where the next page starts, "" when there is none to tell of. */
static int print_all(const ctl_t *ctl, const page_list_t *list, cJSON *all,
		     const out_table_t *t, const char *more)
{
	if (ctl->json) {
		cJSON *doc = cJSON_CreateObject();
		int rc = doc && cJSON_AddItemReferenceToObject(doc, list->member, all)
				 ? out_json(doc)
				 : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		cJSON_Delete(doc); /* a reference: all stays the caller's */
		return rc;
	}
	int rc = CTL_OK;
	if (t->nrows == 0)
		puts(list->none);
	else
		rc = out_table_print(t);
	if (rc == CTL_OK && more[0]) {
		fputs("more: --cursor ", stdout);
		out_text(stdout, more);
		fputc('\n', stdout);
	}
	return rc;
}

/* One page, or with all every page from start on, printed as one table or document. */
static int gather(const ctl_t *ctl, const page_list_t *list, const void *args, const char *start,
		  bool all)
{
	char cursor[PAGE_CURSOR_MAX + 1] = "";
	/* the next cursor is read only where it is used: to go on, or to tell where to */
	bool read_next = all || list->more;
	out_table_t t;
	out_table_init(&t, list->columns, list->ncolumns);
	cJSON *items = ctl->json ? cJSON_CreateArray() : NULL;
	int rc = ctl->json && !items ? ctl_fail(CTL_EXIT_LOCAL, "out of memory") : CTL_OK;
	if (start)
		snprintf(cursor, sizeof cursor, "%s", start);
	for (int page = 0; rc == CTL_OK; page++) {
		dux_client_resp_t resp = {0};
		if (page == MAX_PAGES) {
			rc = ctl_fail(CTL_EXIT_UNAVAIL, "stopped after %d pages", MAX_PAGES);
			break;
		}
		rc = fetch(ctl, list, args, cursor[0] ? cursor : NULL, &resp);
		/* the cursor first: take empties the page, whose items cursor_ok may count */
		if (rc == CTL_OK && read_next)
			rc = next_cursor(ctl, list, &resp, cursor);
		if (rc == CTL_OK)
			take(list, &resp, items, &t);
		dux_client_resp_clear(&resp);
		if (!all || !cursor[0])
			break;
	}
	if (rc == CTL_OK)
		rc = print_all(ctl, list, items, &t, list->more && !all ? cursor : "");
	cJSON_Delete(items);
	out_table_free(&t);
	return rc;
}

int page_list(const ctl_t *ctl, const page_list_t *list, const void *args, const char *cursor,
	      bool all)
{
	if (!ctl->json || all)
		return gather(ctl, list, args, cursor, all);
	dux_client_resp_t resp = {0};
	int rc = fetch(ctl, list, args, cursor, &resp);
	if (rc == CTL_OK)
		out_raw(&resp);
	dux_client_resp_clear(&resp);
	return rc;
}
