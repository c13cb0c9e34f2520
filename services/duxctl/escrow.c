/* escrow.c - payments held by duxos-escrow: duxctl escrow create | show, and the argument
 * checks every escrow command shares.
 *
 * Like the wallet commands, amounts are checked as dux_money_parse reads them and travel as
 * the JSON string typed; addresses are checked for being Flopcoin addresses of some network
 * (the escrow judges which network is its own). Create sends an Idempotency-Key (the caller's,
 * or one made for this run), so the client may repeat it after a lost answer without holding
 * the payment twice. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_API_ID = 256, O_USER, O_PROVIDER, O_AMOUNT, O_TASK_ID, O_TIMEOUT, O_IDEM };

#define ESCROW_TIMEOUT_MAX 31536000 /* the escrow's bound on any timeout, seconds (a year) */

int escrow_check_id(const ctl_t *ctl, const char *what, const char *s)
{
	if (strlen(s) != ESCROW_ID_LEN || strncmp(s, "esc_", 4) != 0 ||
	    strspn(s + 4, "0123456789abcdef") != ESCROW_ID_LEN - 4)
		return ctl_usage_error(ctl, "%s \"%s\" is not an escrow id (esc_ and 32 lowercase "
					    "hex digits)",
				       what, s);
	return CTL_OK;
}

int escrow_check_name(const ctl_t *ctl, const char *opt, const char *s)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= ESCROW_NAME_MAX &&
		  strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
			  n;
	if (!ok)
		return ctl_usage_error(ctl, "%s must be 1 to %d letters, digits or . _ : -, got "
					    "\"%s\"",
				       opt, ESCROW_NAME_MAX, s);
	return CTL_OK;
}

const char *escrow_time(const char *at, char *buf, size_t len)
{
	if (strlen(at) > 19 && at[19] == '.')
		snprintf(buf, len, "%.19sZ", at);
	else
		snprintf(buf, len, "%s", at);
	return buf;
}

/* ---- escrow create ------------------------------------------------------------------------- */

typedef struct {
	const char *api_id, *user, *provider, *amount, *task_id, *timeout, *idem;
} create_args_t;

static int create_option(const ctl_t *ctl, int c, void *args)
{
	create_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_API_ID: a->api_id = optarg; return escrow_check_name(ctl, "--api-id", optarg);
	case O_USER:
		a->user = optarg;
		return wallet_check_address(ctl, "--user-wallet", optarg);
	case O_PROVIDER:
		a->provider = optarg;
		return wallet_check_address(ctl, "--provider-wallet", optarg);
	case O_AMOUNT: a->amount = optarg; return wallet_check_amount(ctl, "--amount", optarg);
	case O_TASK_ID: a->task_id = optarg; return escrow_check_name(ctl, "--task-id", optarg);
	case O_TIMEOUT:
		a->timeout = optarg;
		return ctl_parse_i64(ctl, "--timeout", optarg, 1, ESCROW_TIMEOUT_MAX, &v);
	case O_IDEM: a->idem = optarg; return wallet_check_idem(ctl, optarg);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* {"api_id", "user_wallet", "provider_wallet", "amount", "task_id", "timeout"}. */
static char *create_body(const create_args_t *a)
{
	cJSON *o = cJSON_CreateObject();
	char *body = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "api_id", a->api_id) &&
		  cJSON_AddStringToObject(o, "user_wallet", a->user) &&
		  cJSON_AddStringToObject(o, "provider_wallet", a->provider) &&
		  cJSON_AddStringToObject(o, "amount", a->amount) &&
		  (!a->task_id || cJSON_AddStringToObject(o, "task_id", a->task_id)) &&
		  /* checked whole and within 1..31536000: exact as a double */
		  (!a->timeout || cJSON_AddNumberToObject(o, "timeout", (double)atoll(a->timeout)));
	if (ok)
		body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return body;
}

/* "held 10 FLOP from U for P (provider 9.5, community fund 0.5), until T: escrow ID" */
static void create_print(const cJSON *e, long status)
{
	const char *st = wallet_str(e, "status");
	char t[48];
	if (status == 200) {
		fputs("already created, ", stdout);
		out_text(stdout, st);
		fputc(' ', stdout);
	} else {
		out_text(stdout, st);
		fputc(' ', stdout);
	}
	out_text(stdout, wallet_str(e, "amount"));
	fputs(" FLOP from ", stdout);
	out_text(stdout, wallet_str(e, "user_wallet"));
	fputs(" for ", stdout);
	out_text(stdout, wallet_str(e, "provider_wallet"));
	fputs(" (provider ", stdout);
	out_text(stdout, wallet_str(e, "provider_share"));
	fputs(", community fund ", stdout);
	out_text(stdout, wallet_str(e, "community_share"));
	fputs(")", stdout);
	if (strcmp(st, "creating") == 0) {
		fputs(", the wallet has not confirmed the hold yet", stdout);
	} else if (strcmp(st, "held") == 0) {
		fputs(", refunded unless released by ", stdout);
		out_text(stdout, escrow_time(wallet_str(e, "timeout_at"), t, sizeof t));
	}
	fputs(": escrow ", stdout);
	out_text(stdout, wallet_str(e, "id"));
	fputc('\n', stdout);
}

int escrow_create(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"api-id", required_argument, NULL, O_API_ID},
		{"user-wallet", required_argument, NULL, O_USER},
		{"provider-wallet", required_argument, NULL, O_PROVIDER},
		{"amount", required_argument, NULL, O_AMOUNT},
		{"task-id", required_argument, NULL, O_TASK_ID},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"idempotency-key", required_argument, NULL, O_IDEM},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	create_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, create_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.api_id, "--api-id ID")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.user, "--user-wallet ADDR")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.provider, "--provider-wallet ADDR")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.amount, "--amount FLOP")) != CTL_OK)
		return rc;
	if (strcmp(a.user, a.provider) == 0)
		return ctl_usage_error(ctl, "--user-wallet and --provider-wallet must differ");
	if ((rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	char idem[WALLET_IDEM_HEADER_LEN];
	wallet_idem_header(a.idem, idem);
	const char *headers[] = {idem, NULL};
	char *body = create_body(&a);
	dux_client_resp_t resp = {0};
	rc = body ? ctl_call(ctl, "POST", "/v1/escrow/create", headers, body, &resp)
		  : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	const char *id = rc == CTL_OK ? wallet_str(resp.json, "id") : "";
	const char *status = rc == CTL_OK ? wallet_str(resp.json, "status") : "";
	if (rc == CTL_OK && (!id[0] || !status[0])) {
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the escrow's answer has no id or status");
	} else if (rc == CTL_OK) {
		if (ctl->json)
			out_raw(&resp);
		else
			create_print(resp.json, resp.status);
		/* asked again with the same key: the first attempt's escrow, which may have
		 * failed */
		if (strcmp(status, "failed") == 0) {
			fprintf(stderr, "duxctl: escrow %s failed: ", id);
			out_text(stderr, wallet_str(resp.json, "reason"));
			fputc('\n', stderr);
			rc = CTL_EXIT_REFUSED;
		}
	}
	dux_client_resp_clear(&resp);
	free(body);
	return rc;
}

/* ---- escrow show --------------------------------------------------------------------------- */

int escrow_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "ESCROW_ID")) != CTL_OK ||
	    (rc = escrow_check_id(ctl, "ESCROW_ID", argv[optind])) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call_id(ctl, "GET", "/v1/escrow", argv[optind], NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		out_kv(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}
