/* wallet.c - the ledger's accounts: duxctl wallet address | balance | validate | check, and
 * the argument checks every wallet command shares. The wallet's network (its chain.network)
 * is not known here: an address is checked for being a Flopcoin address of some network, and
 * the wallet refuses one of another network itself. */
#include "duxctl.h"
#include <dux/money.h>
#include <string.h>

enum { O_IDEM = 256, O_ADDRESS };

#define VALIDATE_MAX 128 /* longest text wallet validate sends; addresses have at most 40 */

int wallet_need_token(const ctl_t *ctl)
{
	if (!ctl->token)
		return ctl_usage_error(ctl, "this command needs a bearer token: --token TOKEN, "
					    "--token-file FILE or DUXOS_TOKEN "
					    "(duxctl token mint makes one)");
	return CTL_OK;
}

int wallet_check_address(const ctl_t *ctl, const char *opt, const char *s)
{
	const char *why = NULL;
	for (int n = DUX_NET_MAINNET; n <= DUX_NET_REGTEST; n++) {
		const char **reason = n == DUX_NET_MAINNET ? &why : NULL;
		if (dux_address_validate(s, (dux_net_t)n, NULL, reason) == 0)
			return CTL_OK;
	}
	return ctl_usage_error(ctl, "%s \"%s\" is not a Flopcoin address: %s", opt, s, why);
}

int wallet_check_amount(const ctl_t *ctl, const char *opt, const char *s)
{
	int64_t units = 0;
	int r = dux_money_parse(s, strlen(s), false, &units);
	if (r == 0 && units > 0)
		return CTL_OK;
	if (r == 0 || s[0] == '-')
		return ctl_usage_error(ctl, "%s must be more than 0 FLOP, got \"%s\"", opt, s);
	if (r == DUX_ERANGE)
		return ctl_usage_error(ctl, "%s has more than 8 decimals or is too large, "
					    "got \"%s\"",
				       opt, s);
	return ctl_usage_error(ctl,
			       "%s must be an amount of FLOP in plain decimal with at most 8 "
			       "decimals, like \"10\" or \"0.5\", got \"%s\"",
			       opt, s);
}

int wallet_check_idem(const ctl_t *ctl, const char *key)
{
	size_t n = key ? strlen(key) : 1;
	bool ok = n >= 1 && n <= WALLET_IDEM_MAX;
	for (const char *p = key; ok && p && *p; p++)
		ok = *p > 0x20 && *p < 0x7f;
	if (!ok)
		return ctl_usage_error(ctl, "--idempotency-key must be 1 to %d visible ASCII "
					    "characters",
				       WALLET_IDEM_MAX);
	return CTL_OK;
}

void wallet_idem_header(const char *key, char ret[WALLET_IDEM_HEADER_LEN])
{
	char rnd[33];
	if (!key) {
		dux_random_id(rnd);
		snprintf(ret, WALLET_IDEM_HEADER_LEN, "Idempotency-Key: duxctl-%s", rnd);
		return;
	}
	snprintf(ret, WALLET_IDEM_HEADER_LEN, "Idempotency-Key: %s", key);
}

const char *wallet_str(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(j) ? j->valuestring : "";
}

/* Options of a command that takes none; returns -1 to go on, or an exit status. */
static int no_options(const ctl_t *ctl, int argc, char **argv, int positionals, const char *what)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	rc = ctl_positionals(ctl, argc, argv, positionals, what);
	return rc == CTL_OK ? -1 : rc;
}

/* ---- wallet address ------------------------------------------------------------------------ */

int wallet_address(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"idempotency-key", required_argument, NULL, O_IDEM},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *idem = NULL;
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		idem = c == O_IDEM ? optarg : idem;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_check_idem(ctl, idem)) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	char idem_header[WALLET_IDEM_HEADER_LEN];
	wallet_idem_header(idem, idem_header);
	const char *headers[] = {idem_header, NULL};
	dux_client_resp_t resp = {0};
	rc = ctl_call(ctl, "POST", "/v1/wallet/address", headers, NULL, &resp);
	const char *addr = rc == CTL_OK ? wallet_str(resp.json, "address") : "";
	if (rc == CTL_OK && !addr[0]) {
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's answer has no address");
	} else if (rc == CTL_OK && ctl->json) {
		out_raw(&resp);
	} else if (rc == CTL_OK) {
		/* last word: the address, for scripts; 200: made earlier with this key */
		fputs(resp.status == 201 ? "created address " : "existing address ", stdout);
		out_text(stdout, addr);
		fputc('\n', stdout);
	}
	dux_client_resp_clear(&resp);
	return rc;
}

/* ---- wallet balance ------------------------------------------------------------------------ */

static int balance_print(const cJSON *b)
{
	static const char *const headers[] = {"ADDRESS", "BALANCE", "HELD"};
	const cJSON *accounts = cJSON_GetObjectItemCaseSensitive(b, "accounts");
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(b, "total");
	const cJSON *a;
	if (!cJSON_IsArray(accounts) || !cJSON_IsObject(total))
		return ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's balance has no accounts or total");
	if (cJSON_GetArraySize(accounts) == 0) {
		puts("no accounts (duxctl wallet address opens one)");
		return CTL_OK;
	}
	out_table_t t;
	out_table_init(&t, headers, 3);
	cJSON_ArrayForEach(a, accounts) {
		const char *row[] = {wallet_str(a, "address"), wallet_str(a, "balance"),
				     wallet_str(a, "held")};
		out_table_add(&t, row);
	}
	const char *sum[] = {"total", wallet_str(total, "balance"), wallet_str(total, "held")};
	out_table_add(&t, sum);
	int rc = out_table_print(&t);
	out_table_free(&t);
	return rc;
}

/* --address, the only option, into the string at args. */
static int balance_option(const ctl_t *ctl, int c, void *args)
{
	const char **addr = args;
	(void)c;
	return wallet_check_address(ctl, "--address", *addr = optarg);
}

int wallet_balance(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"address", required_argument, NULL, O_ADDRESS},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *addr = NULL;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, balance_option, &addr);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	ctl_path_t p;
	dux_client_resp_t resp = {0};
	ctl_path_init(&p, "/v1/wallet/balance");
	ctl_path_param(&p, "address", addr);
	rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		   : ctl_call(ctl, "GET", p.s, NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = balance_print(resp.json);
	dux_client_resp_clear(&resp);
	ctl_path_free(&p);
	return rc;
}

/* ---- wallet validate ----------------------------------------------------------------------- */

int wallet_validate(ctl_t *ctl, int argc, char **argv)
{
	int rc = no_options(ctl, argc, argv, 1, "ADDR");
	if (rc >= 0)
		return rc;
	const char *addr = argv[optind];
	/* anything may be asked about, but it travels as one path segment */
	size_t n = strlen(addr);
	bool plain = n > 0 && n <= VALIDATE_MAX && !strchr(addr, '/') && strcmp(addr, ".") != 0 &&
		     strcmp(addr, "..") != 0;
	for (const unsigned char *s = (const unsigned char *)addr; plain && *s; s++)
		plain = *s >= 0x20 && *s != 0x7f;
	if (!plain)
		return ctl_usage_error(ctl, "ADDR must be 1 to %d characters, without '/' or "
					    "control characters, and not . or ..",
				       VALIDATE_MAX);
	ctl_path_t p;
	dux_client_resp_t resp = {0};
	ctl_path_init(&p, "/v1/wallet/validate");
	ctl_path_segment(&p, addr);
	if (p.oom) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		goto out;
	}
	rc = ctl_call(ctl, "GET", p.s, NULL, NULL, &resp);
	if (rc != CTL_OK)
		goto out;
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(resp.json, "valid");
	if (!cJSON_IsBool(valid)) {
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's answer has no \"valid\"");
		goto out;
	}
	if (ctl->json) {
		out_raw(&resp);
	} else if (cJSON_IsTrue(valid)) {
		fputs("valid ", stdout);
		out_text(stdout, wallet_str(resp.json, "network"));
		fputc(' ', stdout);
		out_text(stdout, wallet_str(resp.json, "kind"));
		fputs(" address\n", stdout);
	} else {
		fputs("invalid: ", stdout);
		out_text(stdout, wallet_str(resp.json, "reason"));
		fputc('\n', stdout);
	}
	rc = cJSON_IsTrue(valid) ? CTL_OK : CTL_EXIT_REFUSED;
out:
	dux_client_resp_clear(&resp);
	ctl_path_free(&p);
	return rc;
}

/* ---- wallet check -------------------------------------------------------------------------- */

static void check_print(const cJSON *k, bool holds)
{
	char n[32], m[32], u[32];
	const cJSON *pending = cJSON_GetObjectItemCaseSensitive(k, "pending");
	fputs(holds ? "the ledger holds: " : "the ledger does NOT hold: ", stdout);
	out_text(stdout, wallet_str(k, "total"));
	fputs(holds ? " FLOP inside = " : " FLOP inside, ", stdout);
	out_text(stdout, wallet_str(k, "entered"));
	fputs(" entered - ", stdout);
	out_text(stdout, wallet_str(k, "left"));
	fputs(" left\n", stdout);
	printf("%s accounts, %s transfers, ",
	       out_scalar(cJSON_GetObjectItemCaseSensitive(k, "accounts"), n, sizeof n),
	       out_scalar(cJSON_GetObjectItemCaseSensitive(k, "transfers"), m, sizeof m));
	printf("%s pending (", out_scalar(cJSON_GetObjectItemCaseSensitive(pending, "count"), u,
					 sizeof u));
	out_text(stdout, wallet_str(pending, "amount"));
	fputs(" FLOP held)\n", stdout);
	if (!holds) {
		printf("accounts below zero: %s\n",
		       out_scalar(cJSON_GetObjectItemCaseSensitive(k, "negative_accounts"), n,
				  sizeof n));
		printf("pending transfers resolved inconsistently: %s\n",
		       out_scalar(cJSON_GetObjectItemCaseSensitive(k, "unresolved_inconsistencies"),
				  m, sizeof m));
		fputs("accounts whose balance does not match their transfers: ", stdout);
		const cJSON *a, *wrong = cJSON_GetObjectItemCaseSensitive(k, "mismatched_accounts");
		bool any = false;
		cJSON_ArrayForEach(a, wrong) {
			fputs(any ? ", " : "", stdout);
			out_text(stdout, cJSON_IsString(a) ? a->valuestring : "?");
			any = true;
		}
		fputs(any ? "\n" : "none\n", stdout);
	}
	fputs("checked at ", stdout);
	out_text(stdout, wallet_str(k, "checked_at"));
	fputc('\n', stdout);
}

int wallet_check(ctl_t *ctl, int argc, char **argv)
{
	int rc = no_options(ctl, argc, argv, 0, "");
	if (rc >= 0)
		return rc;
	if ((rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call(ctl, "GET", "/v1/ledger/check", NULL, NULL, &resp);
	const cJSON *holds = rc == CTL_OK ? cJSON_GetObjectItemCaseSensitive(resp.json, "holds")
					  : NULL;
	if (rc == CTL_OK && !cJSON_IsBool(holds))
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's answer has no \"holds\"");
	if (rc == CTL_OK) {
		if (ctl->json)
			out_raw(&resp);
		else
			check_print(resp.json, cJSON_IsTrue(holds));
		if (!cJSON_IsTrue(holds))
			rc = ctl_fail(CTL_EXIT_REFUSED, "the ledger does not hold");
	}
	dux_client_resp_clear(&resp);
	return rc;
}
