/* store_search.c - duxctl store search: GET /v1/services, the store's full-text search with
 * its filters and sorts, a page at a time or (--all) to the end. No token needed: the
 * catalogue is public. */
#include "duxctl.h"
#include <stdio.h>
#include <string.h>

enum {
	O_Q = 256,
	O_TAG,
	O_MIN_PRICE,
	O_MAX_PRICE,
	O_MIN_REPUTATION,
	O_PROVIDER,
	O_SORT,
	O_LIMIT,
	O_CURSOR,
	O_ALL
};

#define STORE_QUERY_MAX 200

typedef struct {
	const char *q, *min_price, *max_price, *min_reputation, *provider, *sort, *limit, *cursor;
	const char *tags[STORE_TAGS_MAX];
	int ntags;
	bool all;
} search_args_t;

static const char *const columns[] = {"ID", "NAME", "VERSION", "PRICE", "REPUTATION", "CALLS",
				      "TAGS"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

static const char *const sorts[] = {"relevance", "reputation", "total_calls", "price", "newest"};

static int check_sort(const ctl_t *ctl, const char *s)
{
	for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
		if (strcmp(s, sorts[i]) == 0)
			return CTL_OK;
	return ctl_usage_error(ctl, "--sort must be one of relevance, reputation, total_calls, "
				    "price, newest; got \"%s\"",
			       s);
}

/* 0 to 5 with at most 4 decimals, the store's reputation scale. */
static int check_reputation(const ctl_t *ctl, const char *s)
{
	size_t n = strlen(s), d = strcspn(s, ".");
	bool ok = d == 1 && s[0] >= '0' && s[0] <= '5' &&
		  (n == 1 || (n >= 3 && n <= 6 && strspn(s + 2, "0123456789") == n - 2)) &&
		  (s[0] != '5' || strspn(s + 2, "0") == (n > 2 ? n - 2 : 0));
	if (!ok)
		return ctl_usage_error(ctl, "--min-reputation must be a number from 0 to 5 with at "
					    "most 4 decimals, got \"%s\"",
				       s);
	return CTL_OK;
}

static int search_option(const ctl_t *ctl, int c, void *args)
{
	search_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_Q:
		a->q = optarg;
		return store_check_text(ctl, "--q", optarg, STORE_QUERY_MAX, true, false);
	case O_TAG:
		if (a->ntags == STORE_TAGS_MAX)
			return ctl_usage_error(ctl, "--tag may be given at most %d times",
					       STORE_TAGS_MAX);
		a->tags[a->ntags++] = optarg;
		return store_check_tag(ctl, "--tag", optarg);
	case O_MIN_PRICE:
		a->min_price = optarg;
		return store_check_price(ctl, "--min-price", optarg);
	case O_MAX_PRICE:
		a->max_price = optarg;
		return store_check_price(ctl, "--max-price", optarg);
	case O_MIN_REPUTATION: a->min_reputation = optarg; return check_reputation(ctl, optarg);
	case O_PROVIDER:
		a->provider = optarg;
		return wallet_check_address(ctl, "--provider", optarg);
	case O_SORT: a->sort = optarg; return check_sort(ctl, optarg);
	case O_LIMIT: a->limit = optarg; return ctl_parse_i64(ctl, "--limit", optarg, 1, 100, &v);
	case O_CURSOR:
		a->cursor = optarg;
		if (strlen(optarg) < 1 || strlen(optarg) > PAGE_CURSOR_MAX ||
		    strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
			    strlen(optarg))
			return ctl_usage_error(ctl, "--cursor must be a next_cursor the store gave, "
						    "got \"%s\"",
					       optarg);
		return CTL_OK;
	case O_ALL: a->all = true; return CTL_OK;
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static void add_row(out_table_t *tab, const cJSON *s)
{
	char rep[32], calls[32], tags[512] = "";
	out_scalar(cJSON_GetObjectItemCaseSensitive(s, "reputation"), rep, sizeof rep);
	out_scalar(cJSON_GetObjectItemCaseSensitive(s, "total_calls"), calls, sizeof calls);
	const cJSON *t;
	size_t o = 0;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(s, "tags"))
	{
		if (cJSON_IsString(t) && o < sizeof tags)
			o += (size_t)snprintf(tags + o, sizeof tags - o, "%s%s", o ? "," : "",
					      t->valuestring);
	}
	const char *row[] = {wallet_str(s, "id"),    wallet_str(s, "name"), wallet_str(s, "version"),
			     wallet_str(s, "price"), rep,		    calls,
			     tags};
	out_table_add(tab, row);
}

static void search_path(const void *args, const char *cursor, ctl_path_t *ret)
{
	const search_args_t *a = args;
	ctl_path_init(ret, "/v1/services");
	ctl_path_param(ret, "q", a->q);
	for (int i = 0; i < a->ntags; i++)
		ctl_path_param(ret, "tag", a->tags[i]);
	ctl_path_param(ret, "min_price", a->min_price);
	ctl_path_param(ret, "max_price", a->max_price);
	ctl_path_param(ret, "min_reputation", a->min_reputation);
	ctl_path_param(ret, "provider", a->provider);
	ctl_path_param(ret, "sort", a->sort);
	ctl_path_param(ret, "limit", a->limit);
	ctl_path_param(ret, "cursor", cursor);
}

/* Opaque cursors: base64url text that changes from page to page, after a page with items. */
static bool search_cursor_ok(const char *next, const char *prev, int n)
{
	size_t len = strlen(next);
	return len > 0 &&
	       strspn(next, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		       len &&
	       strcmp(next, prev) != 0 && n > 0;
}

static const page_list_t services = {
	.member = "services",
	.what = "the store's search",
	.none = "no services",
	.columns = columns,
	.ncolumns = NCOLUMNS,
	.more = true,
	.path = search_path,
	.cursor_ok = search_cursor_ok,
	.add_row = add_row,
};

int store_search(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"q", required_argument, NULL, O_Q},
		{"tag", required_argument, NULL, O_TAG},
		{"min-price", required_argument, NULL, O_MIN_PRICE},
		{"max-price", required_argument, NULL, O_MAX_PRICE},
		{"min-reputation", required_argument, NULL, O_MIN_REPUTATION},
		{"provider", required_argument, NULL, O_PROVIDER},
		{"sort", required_argument, NULL, O_SORT},
		{"limit", required_argument, NULL, O_LIMIT},
		{"cursor", required_argument, NULL, O_CURSOR},
		{"all", no_argument, NULL, O_ALL},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	search_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, search_option, &a);
	if (rc >= 0)
		return rc;
	/* the words to search may also come as the positional arguments */
	if (optind < argc && a.q)
		return ctl_usage_error(ctl, "give the words to search either with --q or as "
					    "arguments, not both");
	if (optind + 1 < argc)
		return ctl_usage_error(ctl, "give the words to search as one argument (quote them)");
	if (optind < argc) {
		a.q = argv[optind];
		if ((rc = store_check_text(ctl, "WORDS", a.q, STORE_QUERY_MAX, true, false)) != CTL_OK)
			return rc;
	}
	if (a.sort && strcmp(a.sort, "relevance") == 0 && !a.q)
		return ctl_usage_error(ctl, "--sort relevance needs words to search");
	return page_list(ctl, &services, &a, a.cursor, a.all);
}
