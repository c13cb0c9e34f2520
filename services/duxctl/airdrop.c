/* airdrop.c - duxctl airdrop status | eligibility | dry-run | rounds | approve: the airdrop
 * daemon (duxos-airdrop). Its base URL comes from --airdrop URL (an option of each of these
 * commands), else env DUXOS_AIRDROP_URL, else http://127.0.0.1:8106.
 *
 * approve signs with an approver's Ed25519 key file (PEM, as `duxctl node init` writes them)
 * after rebuilding the round's digest from the recipients the daemon shows: an approver signs
 * what it saw, never a digest it was merely told. */
#include "duxctl.h"
#include <dux/buf.h>
#include <dux/money.h>
#include <stdlib.h>
#include <string.h>

#define CTL_DEFAULT_AIRDROP "http://127.0.0.1:8106"

enum { O_AIRDROP = 256, O_BALANCE, O_WEIGHTING, O_STATUS, O_LIMIT, O_CURSOR, O_KEY };

typedef struct {
	const char *url, *balance, *weighting, *status, *limit, *cursor, *key;
} args_t;

static int option(const ctl_t *ctl, int c, void *arg)
{
	args_t *a = arg;
	int64_t v;
	switch (c) {
	case O_AIRDROP: a->url = optarg; return CTL_OK;
	case O_BALANCE: a->balance = optarg; return wallet_check_amount(ctl, "--fund-balance", optarg);
	case O_WEIGHTING:
		a->weighting = optarg;
		return strcmp(optarg, "equal") == 0 || strcmp(optarg, "work") == 0
			       ? CTL_OK
			       : ctl_usage_error(ctl, "--weighting must be equal or work");
	case O_STATUS: a->status = optarg; return CTL_OK;
	case O_LIMIT: a->limit = optarg; return ctl_parse_i64(ctl, "--limit", optarg, 1, 100, &v);
	case O_CURSOR: a->cursor = optarg; return CTL_OK;
	case O_KEY: a->key = optarg; return CTL_OK;
	default: return CTL_EXIT_USAGE;
	}
}

/* Parses the options and points ctl at the airdrop; -1 to go on, or an exit status. */
static int parse(ctl_t *ctl, int argc, char **argv, args_t *a, int positionals, const char *what)
{
	static const struct option lo[] = {
		{"airdrop", required_argument, NULL, O_AIRDROP},
		{"fund-balance", required_argument, NULL, O_BALANCE},
		{"weighting", required_argument, NULL, O_WEIGHTING},
		{"status", required_argument, NULL, O_STATUS},
		{"limit", required_argument, NULL, O_LIMIT},
		{"cursor", required_argument, NULL, O_CURSOR},
		{"key", required_argument, NULL, O_KEY},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("DUXOS_AIRDROP_URL");
	memset(a, 0, sizeof *a);
	a->url = env && *env ? env : CTL_DEFAULT_AIRDROP;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, option, a);
	if (rc >= 0)
		return rc;
	if (positionals >= 0 && (rc = ctl_positionals(ctl, argc, argv, positionals, what)) != CTL_OK)
		return rc;
	if (strncmp(a->url, "http://", 7) != 0 && strncmp(a->url, "https://", 8) != 0)
		return ctl_usage_error(ctl, "--airdrop must be an http:// or https:// URL");
	ctl->url = a->url;
	ctl->server_name = "airdrop";
	return -1;
}

static int show(const ctl_t *ctl, const char *method, const char *path, const char *body,
		void (*print)(const cJSON *))
{
	dux_client_resp_t resp = {0};
	int rc = ctl_call(ctl, method, path, NULL, body, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		print(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}

static void print_status(const cJSON *s)
{
	const cJSON *fund = cJSON_GetObjectItemCaseSensitive(s, "fund");
	const cJSON *open = cJSON_GetObjectItemCaseSensitive(s, "open_round");
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(s, "config");
	fputs("fund: ", stdout);
	out_text(stdout, cJSON_IsObject(fund) ? wallet_str(fund, "balance") : "unknown yet");
	fputs(" FLOP (threshold ", stdout);
	out_text(stdout, wallet_str(cfg, "threshold"));
	fputs(" FLOP)\nopen round: ", stdout);
	if (cJSON_IsObject(open)) {
		out_text(stdout, wallet_str(open, "id"));
		fputs(" ", stdout);
		out_text(stdout, wallet_str(open, "status"));
		printf(", %d of %d approvals\n",
		       cJSON_GetObjectItemCaseSensitive(open, "approvals_count")->valueint,
		       cJSON_GetObjectItemCaseSensitive(open, "approvals_required")->valueint);
	} else {
		puts("none");
	}
	fputs("rounds executed: ", stdout);
	char buf[64];
	out_text(stdout, out_scalar(cJSON_GetObjectItemCaseSensitive(s, "rounds_executed"), buf,
				    sizeof buf));
	fputs(", total paid: ", stdout);
	out_text(stdout, wallet_str(s, "total_paid"));
	fputs(" FLOP\nnodes known: ", stdout);
	out_text(stdout,
		 out_scalar(cJSON_GetObjectItemCaseSensitive(s, "nodes_known"), buf, sizeof buf));
	fputc('\n', stdout);
	puts("config:");
	out_kv(cfg);
}

int airdrop_status(ctl_t *ctl, int argc, char **argv)
{
	args_t a;
	int rc = parse(ctl, argc, argv, &a, 0, "");
	return rc >= 0 ? rc : show(ctl, "GET", "/v1/airdrop/status", NULL, print_status);
}

static void print_eligibility(const cJSON *e)
{
	static const char *const cols[] = {"CRITERION", "VERDICT", "VALUE", "REQUIRED"};
	fputs(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "eligible")) ? "eligible"
									   : "not eligible",
	      stdout);
	fputs(": node ", stdout);
	out_text(stdout, wallet_str(e, "node_id"));
	fputs(", wallet ", stdout);
	out_text(stdout, wallet_str(e, "wallet_address"));
	fputc('\n', stdout);
	out_table_t t;
	out_table_init(&t, cols, 4);
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(e, "criteria"))
	{
		char *v = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "value"));
		const char *row[] = {wallet_str(c, "name"), wallet_str(c, "verdict"), v ? v : "?",
				     wallet_str(c, "required")};
		out_table_add(&t, row);
		free(v);
	}
	if (out_table_print(&t) != CTL_OK)
		fputs("duxctl: out of memory\n", stderr);
	out_table_free(&t);
}

int airdrop_eligibility(ctl_t *ctl, int argc, char **argv)
{
	args_t a;
	int rc = parse(ctl, argc, argv, &a, 1, "NODE_ID");
	if (rc >= 0)
		return rc;
	const char *id = argv[optind];
	if ((rc = ctl_check_node_id(ctl, id)) != CTL_OK)
		return rc;
	char path[96];
	snprintf(path, sizeof path, "/v1/airdrop/eligibility/%s", id);
	return show(ctl, "GET", path, NULL, print_eligibility);
}

static void print_recipients(const cJSON *list)
{
	static const char *const cols[] = {"#", "NODE", "ADDRESS", "WEIGHT", "AMOUNT"};
	out_table_t t;
	out_table_init(&t, cols, 5);
	const cJSON *r;
	cJSON_ArrayForEach(r, list)
	{
		char pos[24], w[24];
		const char *row[] = {out_scalar(cJSON_GetObjectItemCaseSensitive(r, "position"), pos,
						sizeof pos),
				     wallet_str(r, "node_id"), wallet_str(r, "address"),
				     out_scalar(cJSON_GetObjectItemCaseSensitive(r, "weight"), w,
						sizeof w),
				     wallet_str(r, "amount")};
		out_table_add(&t, row);
	}
	if (out_table_print(&t) != CTL_OK)
		fputs("duxctl: out of memory\n", stderr);
	out_table_free(&t);
}

static void print_dry_run(const cJSON *d)
{
	char n[24];
	fputs("fund: ", stdout);
	out_text(stdout, wallet_str(d, "fund_balance"));
	fputs(" FLOP, threshold ", stdout);
	out_text(stdout, wallet_str(d, "threshold"));
	printf(" FLOP (%s)\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "threshold_reached"))
				       ? "reached"
				       : "not reached");
	fputs("would pay ", stdout);
	out_text(stdout, wallet_str(d, "total"));
	fputs(" FLOP to ", stdout);
	out_text(stdout, out_scalar(cJSON_GetObjectItemCaseSensitive(d, "recipients_count"), n,
				    sizeof n));
	fputs(" recipients (", stdout);
	out_text(stdout, wallet_str(d, "weighting"));
	fputs(" shares); remainder ", stdout);
	out_text(stdout, wallet_str(d, "remainder"));
	fputs(" FLOP stays in the fund\n", stdout);
	print_recipients(cJSON_GetObjectItemCaseSensitive(d, "recipients"));
}

int airdrop_dry_run(ctl_t *ctl, int argc, char **argv)
{
	args_t a;
	int rc = parse(ctl, argc, argv, &a, 0, "");
	if (rc >= 0)
		return rc;
	if ((rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	cJSON *body = cJSON_CreateObject();
	if (a.balance)
		cJSON_AddStringToObject(body, "fund_balance", a.balance);
	if (a.weighting)
		cJSON_AddStringToObject(body, "weighting", a.weighting);
	char *text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!text)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	rc = show(ctl, "POST", "/v1/airdrop/dry-run", text, print_dry_run);
	free(text);
	return rc;
}

static void print_round(const cJSON *r)
{
	out_kv(r);
	puts("recipients:");
	print_recipients(cJSON_GetObjectItemCaseSensitive(r, "recipients"));
}

static void print_rounds(const cJSON *page)
{
	static const char *const cols[] = {"ROUND", "STATUS", "TOTAL", "RECIPIENTS", "APPROVALS",
					   "CREATED"};
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(page, "rounds"), *r;
	if (cJSON_GetArraySize(list) == 0) {
		puts("no rounds");
		return;
	}
	out_table_t t;
	out_table_init(&t, cols, 6);
	cJSON_ArrayForEach(r, list)
	{
		char n[24], ap[48], at[48];
		snprintf(ap, sizeof ap, "%d/%d",
			 cJSON_GetObjectItemCaseSensitive(r, "approvals_count")->valueint,
			 cJSON_GetObjectItemCaseSensitive(r, "approvals_required")->valueint);
		const char *row[] = {wallet_str(r, "id"), wallet_str(r, "status"),
				     wallet_str(r, "total"),
				     out_scalar(cJSON_GetObjectItemCaseSensitive(r, "recipients_count"),
						n, sizeof n),
				     ap, escrow_time(wallet_str(r, "created_at"), at, sizeof at)};
		out_table_add(&t, row);
	}
	if (out_table_print(&t) != CTL_OK)
		fputs("duxctl: out of memory\n", stderr);
	out_table_free(&t);
	const char *next = wallet_str(page, "next_cursor");
	if (*next) {
		fputs("more: --cursor ", stdout);
		out_text(stdout, next);
		fputc('\n', stdout);
	}
}

static bool round_id_ok(const char *s)
{
	return strlen(s) == 36 && strncmp(s, "adr_", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdef") == 32;
}

int airdrop_rounds(ctl_t *ctl, int argc, char **argv)
{
	args_t a;
	int rc = parse(ctl, argc, argv, &a, -1, "");
	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return ctl_usage_error(ctl, "at most one ROUND_ID");
	if (argc - optind == 1) {
		const char *id = argv[optind];
		if (!round_id_ok(id))
			return ctl_usage_error(ctl, "ROUND_ID must be adr_ and 32 lowercase hex");
		char path[96];
		snprintf(path, sizeof path, "/v1/airdrop/rounds/%s", id);
		return show(ctl, "GET", path, NULL, print_round);
	}
	ctl_path_t p;
	ctl_path_init(&p, "/v1/airdrop/rounds");
	ctl_path_param(&p, "status", a.status);
	ctl_path_param(&p, "limit", a.limit);
	ctl_path_param(&p, "cursor", a.cursor);
	rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		   : show(ctl, "GET", p.s, NULL, print_rounds);
	ctl_path_free(&p);
	return rc;
}

/* The digest of services/airdrop/digest.c, rebuilt from the round as shown. */
static int digest_of(const cJSON *round, char ret[65])
{
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(round, "recipients"), *r;
	const char *fb = wallet_str(round, "fund_balance"), *tt = wallet_str(round, "total");
	int64_t fund, total, amount;
	if (!cJSON_IsArray(rs) || dux_money_parse(fb, strlen(fb), false, &fund) < 0 ||
	    dux_money_parse(tt, strlen(tt), false, &total) < 0)
		return DUX_EPROTO;
	dux_buf_t b;
	dux_buf_init(&b, (size_t)cJSON_GetArraySize(rs) * 128 + 512);
	int e = dux_buf_printf(&b, "DUX-AIRDROP-ROUND-1\nround %s\nfund_balance %lld\nrecipients %d\n",
			       wallet_str(round, "id"), (long long)fund, cJSON_GetArraySize(rs));
	cJSON_ArrayForEach(r, rs)
	{
		const char *am = wallet_str(r, "amount");
		if (e == 0 && dux_money_parse(am, strlen(am), false, &amount) < 0)
			e = DUX_EPROTO;
		if (e == 0)
			e = dux_buf_printf(&b, "%s %lld\n", wallet_str(r, "address"), (long long)amount);
	}
	if (e == 0)
		e = dux_buf_printf(&b, "total %lld\n", (long long)total);
	if (e == 0) {
		uint8_t h[DUX_SHA256_LEN];
		dux_sha256(b.data, b.len, h);
		dux_hex_encode(h, sizeof h, ret);
	}
	dux_buf_free(&b);
	return e;
}

/* Signs round (its JSON) with id; the body of the approval into ret (caller frees). */
static int approval_body(const cJSON *round, const ctl_identity_t *id, char **ret)
{
	char digest[65], sig64[100];
	uint8_t sig[DUX_ED25519_SIG_LEN];
	if (digest_of(round, digest) < 0)
		return ctl_fail(CTL_EXIT_UNAVAIL, "the round shown is not the one expected");
	if (strcmp(digest, wallet_str(round, "digest")) != 0)
		return ctl_fail(CTL_EXIT_REFUSED,
				"refusing to sign: the round's digest %s is not the digest of the"
				" recipients shown (%s)",
				wallet_str(round, "digest"), digest);
	if (dux_key_sign(id->key, digest, 64, sig) < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot sign with %s", id->path);
	dux_b64url_encode(sig, sizeof sig, sig64);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "approver", id->public_b64);
	cJSON_AddStringToObject(body, "signature", sig64);
	*ret = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return *ret ? CTL_OK : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
}

static void print_approved(const cJSON *r)
{
	fputs("round ", stdout);
	out_text(stdout, wallet_str(r, "id"));
	fputs(": ", stdout);
	out_text(stdout, wallet_str(r, "status"));
	printf(", %d of %d approvals", cJSON_GetObjectItemCaseSensitive(r, "approvals_count")->valueint,
	       cJSON_GetObjectItemCaseSensitive(r, "approvals_required")->valueint);
	if (strcmp(wallet_str(r, "status"), "executed") == 0) {
		fputs("; paid ", stdout);
		out_text(stdout, wallet_str(r, "total"));
		fputs(" FLOP", stdout);
	}
	fputc('\n', stdout);
}

int airdrop_approve(ctl_t *ctl, int argc, char **argv)
{
	args_t a;
	ctl_identity_t id = {0};
	dux_client_resp_t resp = {0};
	char *body = NULL, path[128];
	int rc = parse(ctl, argc, argv, &a, 1, "ROUND_ID");
	if (rc >= 0)
		return rc;
	const char *round = argv[optind];
	if (!round_id_ok(round))
		return ctl_usage_error(ctl, "ROUND_ID must be adr_ and 32 lowercase hex");
	if ((rc = ctl_require(ctl, a.key, "--key FILE")) != CTL_OK)
		return rc;
	if ((rc = ctl_identity_load(a.key, true, &id)) != CTL_OK)
		return rc;
	snprintf(path, sizeof path, "/v1/airdrop/rounds/%s", round);
	rc = ctl_call(ctl, "GET", path, NULL, NULL, &resp);
	if (rc == CTL_OK)
		rc = approval_body(resp.json, &id, &body);
	dux_client_resp_clear(&resp);
	if (rc == CTL_OK) {
		snprintf(path, sizeof path, "/v1/airdrop/rounds/%s/approve", round);
		rc = show(ctl, "POST", path, body, print_approved);
	}
	free(body);
	ctl_identity_clear(&id);
	return rc;
}
