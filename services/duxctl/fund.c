/* fund.c - duxctl fund: the community fund as duxos-escrow tells it (GET /v1/community-fund,
 * no token needed): its balance (the sum of its shard accounts in the wallet), the airdrop
 * threshold, its share of every release, the shard accounts, and the latest inflows. */
#include "duxctl.h"
#include <inttypes.h>
#include <math.h>
#include <string.h>

enum { O_LIMIT = 256 };

static const char *const columns[] = {"TIME", "ESCROW", "API", "AMOUNT"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

/* basis points as a percentage: 500 -> "5", 250 -> "2.5", 1 -> "0.01" */
static void percent(int64_t bps, char buf[32])
{
	snprintf(buf, 32, "%" PRId64, bps / 100);
	int64_t frac = bps % 100;
	if (frac) {
		size_t n = strlen(buf);
		snprintf(buf + n, 32 - n, frac % 10 ? ".%02" PRId64 : ".%" PRId64,
			 frac % 10 ? frac : frac / 10);
	}
}

static int fund_print(const cJSON *f)
{
	const cJSON *bps = cJSON_GetObjectItemCaseSensitive(f, "community_bps");
	const cJSON *shards = cJSON_GetObjectItemCaseSensitive(f, "shards");
	const cJSON *inflows = cJSON_GetObjectItemCaseSensitive(f, "inflows");
	const char *balance = wallet_str(f, "balance");
	if (!balance[0] || !cJSON_IsNumber(bps) || bps->valuedouble < 0 ||
	    bps->valuedouble > 10000 || bps->valuedouble != floor(bps->valuedouble) ||
	    !cJSON_IsArray(shards) || !cJSON_IsArray(inflows))
		return ctl_fail(CTL_EXIT_UNAVAIL,
				"the escrow's fund answer is not the one expected");
	char pct[32];
	percent((int64_t)bps->valuedouble, pct);
	fputs("balance: ", stdout);
	out_text(stdout, balance);
	fputs(" FLOP\nthreshold: ", stdout);
	out_text(stdout, wallet_str(f, "threshold"));
	fputs(" FLOP (the balance that triggers an airdrop)\n", stdout);
	printf("rate: %s%% of every release (%.0f bps)\n", pct, bps->valuedouble);
	fputs("total inflow: ", stdout);
	out_text(stdout, wallet_str(f, "total_inflow"));
	fputs(" FLOP\n", stdout);
	printf("shards: %d accounts\n", cJSON_GetArraySize(shards));
	const cJSON *s;
	cJSON_ArrayForEach(s, shards) {
		fputs("  ", stdout);
		out_text(stdout, cJSON_IsString(s) ? s->valuestring : "?");
		fputc('\n', stdout);
	}
	if (cJSON_GetArraySize(inflows) == 0) {
		puts("no inflows yet");
		return CTL_OK;
	}
	puts("latest inflows:");
	out_table_t t;
	out_table_init(&t, columns, NCOLUMNS);
	const cJSON *in;
	cJSON_ArrayForEach(in, inflows) {
		char at[48];
		const char *row[] = {escrow_time(wallet_str(in, "at"), at, sizeof at),
				     wallet_str(in, "escrow_id"), wallet_str(in, "api_id"),
				     wallet_str(in, "amount")};
		out_table_add(&t, row);
	}
	int rc = out_table_print(&t);
	out_table_free(&t);
	return rc;
}

/* --limit, the only option, into the string at args: it goes to the escrow as typed. */
static int fund_option(const ctl_t *ctl, int c, void *args)
{
	const char **limit = args;
	int64_t v;
	(void)c;
	return ctl_parse_i64(ctl, "--limit", *limit = optarg, 1, 500, &v);
}

int fund_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"limit", required_argument, NULL, O_LIMIT},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *limit = NULL;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, fund_option, &limit);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK)
		return rc;
	ctl_path_t p;
	dux_client_resp_t resp = {0};
	ctl_path_init(&p, "/v1/community-fund");
	ctl_path_param(&p, "limit", limit);
	rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		   : ctl_call(ctl, "GET", p.s, NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = fund_print(resp.json);
	dux_client_resp_clear(&resp);
	ctl_path_free(&p);
	return rc;
}
