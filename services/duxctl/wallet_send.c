/* wallet_send.c - money that moves: duxctl wallet send | faucet.
 *
 * The amount goes to the wallet as a JSON string exactly as typed, once dux_money_parse has
 * accepted it here: never through a double. Every request carries an Idempotency-Key (the
 * caller's, or one made for this run), so that the client's retries after a lost answer find
 * the transfer already made instead of paying twice; giving one makes re-running the whole
 * command safe too. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_TO = 256, O_AMOUNT, O_FROM, O_MEMO, O_IDEM };

#define MEMO_MAX 256 /* the wallet's bound, in bytes */

typedef struct {
	const char *to, *amount, *from, *memo, *idem;
} send_args_t;

static int option(const ctl_t *ctl, int c, void *args)
{
	send_args_t *a = args;
	switch (c) {
	case O_TO: a->to = optarg; return wallet_check_address(ctl, "--to", optarg);
	case O_AMOUNT: a->amount = optarg; return wallet_check_amount(ctl, "--amount", optarg);
	case O_FROM: a->from = optarg; return wallet_check_address(ctl, "--from", optarg);
	case O_MEMO:
		a->memo = optarg;
		if (strlen(optarg) > MEMO_MAX)
			return ctl_usage_error(ctl, "--memo must be at most %d bytes", MEMO_MAX);
		return CTL_OK;
	case O_IDEM: a->idem = optarg; return wallet_check_idem(ctl, optarg);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* Parses the options of send or faucet and checks what both need; -1 to go on, or a status. */
static int parse(const ctl_t *ctl, int argc, char **argv, const struct option *lo,
		 send_args_t *a)
{
	int rc = ctl_opt_parse(ctl, argc, argv, lo, option, a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, a->to, "--to ADDR")) != CTL_OK ||
	    (rc = ctl_require(ctl, a->amount, "--amount FLOP")) != CTL_OK)
		return rc;
	if (a->from && strcmp(a->from, a->to) == 0)
		return ctl_usage_error(ctl, "--from and --to must differ");
	return wallet_need_token(ctl) == CTL_OK ? -1 : CTL_EXIT_USAGE;
}

/* POSTs {"address", "amount", "from", "memo"} (members that are NULL left out). */
static int post(const ctl_t *ctl, const char *path, const send_args_t *a,
		dux_client_resp_t *ret)
{
	char idem[WALLET_IDEM_HEADER_LEN];
	wallet_idem_header(a->idem, idem);
	const char *headers[] = {idem, NULL};
	cJSON *o = cJSON_CreateObject();
	char *body = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "address", a->to) &&
		  cJSON_AddStringToObject(o, "amount", a->amount) &&
		  (!a->from || cJSON_AddStringToObject(o, "from", a->from)) &&
		  (!a->memo || cJSON_AddStringToObject(o, "memo", a->memo)) &&
		  (body = cJSON_PrintUnformatted(o));
	int rc = ok ? ctl_call(ctl, "POST", path, headers, body, ret)
		    : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	free(body);
	cJSON_Delete(o);
	return rc;
}

/* "ID: AMOUNT FLOP from DEBIT to CREDIT" of a transfer; missing sides as given. */
static void print_transfer(const cJSON *t, const send_args_t *a)
{
	const char *amount = wallet_str(t, "amount"), *debit = wallet_str(t, "debit");
	const char *credit = wallet_str(t, "credit");
	out_text(stdout, amount[0] ? amount : a->amount);
	fputs(" FLOP", stdout);
	if (debit[0] || a->from) {
		fputs(" from ", stdout);
		out_text(stdout, debit[0] ? debit : a->from);
	}
	fputs(" to ", stdout);
	out_text(stdout, credit[0] ? credit : a->to);
}

/* The send's answer, for people: {"type": "internal" | ..., "txid", "transfer"}. */
static int send_answer(const ctl_t *ctl, const dux_client_resp_t *resp, const send_args_t *a)
{
	if (ctl->json) {
		out_raw(resp);
		return CTL_OK;
	}
	const cJSON *o = resp->json;
	const char *type = wallet_str(o, "type"), *txid = wallet_str(o, "txid");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "transfer");
	if (!cJSON_IsObject(t))
		t = cJSON_GetObjectItemCaseSensitive(o, "withdrawal");
	if (!cJSON_IsObject(t) || !wallet_str(t, "id")[0])
		return ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's answer names no transfer");
	bool again = resp->status == 200; /* made by an earlier request with this key */
	if (strcmp(type, "internal") == 0) {
		fputs(again ? "already sent " : "sent ", stdout);
		print_transfer(t, a);
		fputs(" inside the ledger: transfer ", stdout);
		out_text(stdout, wallet_str(t, "id"));
		fputc('\n', stdout);
		return CTL_OK;
	}
	fputs(again ? "already withdrawn " : "withdrew ", stdout);
	print_transfer(t, a);
	fputs(": withdrawal ", stdout);
	out_text(stdout, wallet_str(t, "id"));
	const char *state = wallet_str(t, "state");
	if (state[0]) {
		fputs(" (", stdout);
		out_text(stdout, state);
		fputc(')', stdout);
	}
	fputs(", txid ", stdout);
	out_text(stdout, txid[0] ? txid : "not known yet");
	fputc('\n', stdout);
	return CTL_OK;
}

/* The faucet's answer: the transfer it made, which must be named even for --json. */
static int faucet_answer(const ctl_t *ctl, const dux_client_resp_t *resp, const send_args_t *a)
{
	if (!wallet_str(resp->json, "id")[0])
		return ctl_fail(CTL_EXIT_UNAVAIL, "the wallet's answer names no transfer");
	if (ctl->json) {
		out_raw(resp);
		return CTL_OK;
	}
	fputs(resp->status == 200 ? "already credited " : "credited ", stdout);
	print_transfer(resp->json, a);
	fputs(": transfer ", stdout);
	out_text(stdout, wallet_str(resp->json, "id"));
	fputc('\n', stdout);
	return CTL_OK;
}

/* Tells what the wallet answered to an accepted request (send_answer, faucet_answer). */
typedef int (*answer_fn)(const ctl_t *ctl, const dux_client_resp_t *resp, const send_args_t *a);

/* What send and faucet share: the options of lo, one POST to path, and answer. */
static int transfer(const ctl_t *ctl, int argc, char **argv, const struct option *lo,
		    const char *path, answer_fn answer)
{
	send_args_t a = {0};
	int rc = parse(ctl, argc, argv, lo, &a);
	if (rc >= 0)
		return rc;
	dux_client_resp_t resp = {0};
	rc = post(ctl, path, &a, &resp);
	if (rc == CTL_OK)
		rc = answer(ctl, &resp, &a);
	dux_client_resp_clear(&resp);
	return rc;
}

int wallet_send(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"to", required_argument, NULL, O_TO},
		{"amount", required_argument, NULL, O_AMOUNT},
		{"from", required_argument, NULL, O_FROM},
		{"memo", required_argument, NULL, O_MEMO},
		{"idempotency-key", required_argument, NULL, O_IDEM},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	return transfer(ctl, argc, argv, lo, "/v1/wallet/send", send_answer);
}

int wallet_faucet(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"to", required_argument, NULL, O_TO},
		{"amount", required_argument, NULL, O_AMOUNT},
		{"idempotency-key", required_argument, NULL, O_IDEM},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	return transfer(ctl, argc, argv, lo, "/v1/faucet", faucet_answer);
}
