/* task_show.c - one task of the task engine: duxctl task show | logs | cancel. A task is
 * visible to its owner, to services and to admins; to anyone else the engine answers 404. */
#include "duxctl.h"
#include <string.h>

/* The one TASK_ID argument and a token; returns -1 to go on, or an exit status. */
static int task_arg(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "TASK_ID")) != CTL_OK ||
	    (rc = task_check_id(ctl, "TASK_ID", argv[optind])) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	return -1;
}

/* ---- task show ----------------------------------------------------------------------------- */

static void attempt_row(out_table_t *tab, const cJSON *a)
{
	char exit_code[32], finished[48];
	out_scalar(cJSON_GetObjectItemCaseSensitive(a, "exit_code"), exit_code, sizeof exit_code);
	const char *row[] = {wallet_str(a, "id"),     wallet_str(a, "node_id"),
			     wallet_str(a, "state"),  wallet_str(a, "verdict"),
			     wallet_str(a, "reason"), exit_code,
			     escrow_time(wallet_str(a, "finished_at"), finished, sizeof finished)};
	out_table_add(tab, row);
}

/* Every field as key: value, but attempts as a table and the output as it was written. */
static int show_print(const cJSON *task)
{
	static const char *const headers[] = {"ATTEMPT", "NODE",	"STATE",   "VERDICT",
					      "REASON",	 "EXIT", "FINISHED"};
	cJSON *rest = cJSON_Duplicate(task, true);
	if (!rest)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	cJSON *attempts = cJSON_DetachItemFromObjectCaseSensitive(rest, "attempts");
	cJSON *input = cJSON_DetachItemFromObjectCaseSensitive(rest, "input");
	cJSON *output = cJSON_DetachItemFromObjectCaseSensitive(rest, "output");
	out_kv(rest);
	if (cJSON_IsString(input))
		printf("input: %zu bytes\n", strlen(input->valuestring));
	int rc = CTL_OK;
	if (cJSON_GetArraySize(attempts) > 0) {
		out_table_t t;
		const cJSON *a;
		out_table_init(&t, headers, 7);
		cJSON_ArrayForEach(a, attempts) {
			attempt_row(&t, a);
		}
		puts("attempts:");
		rc = out_table_print(&t);
		out_table_free(&t);
	} else {
		puts("attempts: none yet");
	}
	if (cJSON_IsString(output) && output->valuestring[0]) {
		size_t n = strlen(output->valuestring);
		puts("output:");
		task_print_text(stdout, output->valuestring);
		if (output->valuestring[n - 1] != '\n')
			fputc('\n', stdout);
	}
	cJSON_Delete(attempts);
	cJSON_Delete(input);
	cJSON_Delete(output);
	cJSON_Delete(rest);
	return rc;
}

int task_show(ctl_t *ctl, int argc, char **argv)
{
	int rc = task_arg(ctl, argc, argv);
	if (rc >= 0)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call_id(ctl, "GET", "/v1/tasks", argv[optind], NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = show_print(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}

/* ---- task logs ----------------------------------------------------------------------------- */

/* "--- stdout (truncated)" and the text, or nothing when the stream is empty. */
static void stream_print(const cJSON *a, const char *name)
{
	char flag[32];
	const char *text = wallet_str(a, name);
	snprintf(flag, sizeof flag, "%s_truncated", name);
	bool cut = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, flag));
	if (!text[0] && !cut)
		return;
	printf("--- %s%s\n", name, cut ? " (truncated)" : "");
	task_print_text(stdout, text);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', stdout);
}

static int logs_print(const cJSON *logs)
{
	const cJSON *attempts = cJSON_GetObjectItemCaseSensitive(logs, "attempts"), *a;
	if (!cJSON_IsArray(attempts))
		return ctl_fail(CTL_EXIT_UNAVAIL, "the task engine's logs have no attempts array");
	if (cJSON_GetArraySize(attempts) == 0) {
		puts("no attempts yet");
		return CTL_OK;
	}
	cJSON_ArrayForEach(a, attempts) {
		fputs("attempt ", stdout);
		out_text(stdout, wallet_str(a, "id"));
		fputs(" on node ", stdout);
		out_text(stdout, wallet_str(a, "node_id"));
		fputs(": ", stdout);
		out_text(stdout, wallet_str(a, "state"));
		if (wallet_str(a, "reason")[0]) {
			fputs(" (", stdout);
			out_text(stdout, wallet_str(a, "reason"));
			fputc(')', stdout);
		}
		fputc('\n', stdout);
		stream_print(a, "stdout");
		stream_print(a, "stderr");
	}
	return CTL_OK;
}

int task_logs(ctl_t *ctl, int argc, char **argv)
{
	int rc = task_arg(ctl, argc, argv);
	if (rc >= 0)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call_id(ctl, "GET", "/v1/tasks", argv[optind], "logs", NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = logs_print(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}

/* ---- task cancel --------------------------------------------------------------------------- */

int task_cancel(ctl_t *ctl, int argc, char **argv)
{
	int rc = task_arg(ctl, argc, argv);
	if (rc >= 0)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call_id(ctl, "POST", "/v1/tasks", argv[optind], "cancel", NULL, &resp);
	if (rc == CTL_OK && ctl->json) {
		out_raw(&resp);
	} else if (rc == CTL_OK) {
		fputs("cancelled task ", stdout);
		out_text(stdout, wallet_str(resp.json, "id"));
		fputc('\n', stdout);
	}
	dux_client_resp_clear(&resp);
	return rc;
}
