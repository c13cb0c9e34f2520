/* call_service.c - duxctl call: one paid call of a store service, POST /v1/calls?wait=MS. The
 * task engine reads the service's price and provider from the store, has the escrow hold the
 * price from the caller's --from account (as the caller: the wallet checks the caller owns
 * it), runs the service's newest signed code bundle with the input on one of the provider's
 * nodes, and answers when the task has ended or MS passed. The validated result pays the
 * provider (95 %) and the community fund (5 %); a failure refunds the caller.
 *
 * The exit status is task submit --wait's: 0 and the output, 1 when the task failed or the
 * escrow refused the payment (422 payment-failed: its problem is shown), 3 when MS passed first. */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_INPUT = 256, O_FROM, O_WAIT_MS, O_IDEM };

#define WAIT_MS_DEFAULT "30000"
#define WAIT_MS_MAX 60000 /* the engine's bound */

typedef struct {
	const char *input, *from, *wait_ms, *idem;
} call_args_t;

static int call_option(const ctl_t *ctl, int c, void *args)
{
	call_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_INPUT: a->input = optarg; return CTL_OK;
	case O_FROM: a->from = optarg; return wallet_check_address(ctl, "--from", optarg);
	case O_WAIT_MS:
		a->wait_ms = optarg;
		return ctl_parse_i64(ctl, "--wait-ms", optarg, 0, WAIT_MS_MAX, &v);
	case O_IDEM: a->idem = optarg; return task_check_idem(ctl, optarg);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static char *call_body(const char *service, const char *input, const char *from)
{
	cJSON *o = cJSON_CreateObject();
	char *body = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "service_id", service) &&
		  cJSON_AddStringToObject(o, "input", input ? input : "") &&
		  cJSON_AddStringToObject(o, "user_wallet", from);
	if (ok)
		body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return body;
}

/* After a 422 payment-failed (already printed): what the escrow said, and the task it ended. */
static void payment_refused(const dux_client_resp_t *resp)
{
	const char *problem = wallet_str(resp->json, "escrow_problem");
	const char *task = wallet_str(resp->json, "task_id");
	if (resp->status != 422 || (!problem[0] && !task[0]))
		return;
	fputs("duxctl: the escrow's problem: ", stderr);
	out_text(stderr, problem[0] ? problem : "(none given)");
	if (task[0]) {
		fputs("; task ", stderr);
		out_text(stderr, task);
		fputs(" failed (payment-failed), nothing was paid", stderr);
	}
	fputc('\n', stderr);
}

int call_service(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"input", required_argument, NULL, O_INPUT},
		{"from", required_argument, NULL, O_FROM},
		{"wait-ms", required_argument, NULL, O_WAIT_MS},
		{"idempotency-key", required_argument, NULL, O_IDEM},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	call_args_t a = {.wait_ms = WAIT_MS_DEFAULT};
	char *input = NULL, *body = NULL;
	dux_client_resp_t resp = {0};
	ctl_path_t p = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, call_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "SERVICE_ID")) != CTL_OK ||
	    (rc = store_check_id(ctl, "SERVICE_ID", argv[optind])) != CTL_OK ||
	    (rc = ctl_require(ctl, a.from, "--from ADDR")) != CTL_OK ||
	    (a.input && (rc = task_read_text(ctl, "--input", a.input, false, &input)) != CTL_OK) ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		goto out;
	char idem[WALLET_IDEM_HEADER_LEN], waited[32];
	wallet_idem_header(a.idem, idem);
	const char *headers[] = {idem, NULL};
	/* the engine holds the answer up to wait-ms: the request may take that long */
	ctl_t patient = *ctl;
	long need = atol(a.wait_ms) / 1000 + 10;
	patient.timeout_s = ctl->timeout_s > need ? ctl->timeout_s : need;
	snprintf(waited, sizeof waited, "%s ms", a.wait_ms);
	ctl_path_init(&p, "/v1/calls");
	ctl_path_param(&p, "wait", a.wait_ms);
	body = call_body(argv[optind], input, a.from);
	rc = body && !p.oom ? ctl_call_keep(&patient, "POST", p.s, headers, body, &resp)
			    : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	if (rc == CTL_EXIT_REFUSED)
		payment_refused(&resp);
	else if (rc == CTL_OK)
		rc = task_outcome(ctl, &resp, waited);
out:
	dux_client_resp_clear(&resp);
	ctl_path_free(&p);
	free(body);
	free(input);
	return rc;
}
