/* validate.c - the TransactionValidator: a release's result hash is a SHA-256 hex digest, and
 * for an escrow bound to a task it must equal the validated result hash the task engine
 * recorded (GET {escrow.tasks_url}/v1/tasks/{task_id}: "state" "succeeded", "result_hash"). */
#include "escrow.h"
#include <dux/client.h>
#include <stdio.h>
#include <string.h>

bool hex64_valid(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The task engine's record of task_id: its state and result hash. */
static int task_record(escrow_t *e, const char *task_id, char state[32], char hash[65],
		       long *status)
{
	dux_client_opts_t o = {.base_url = e->cfg.tasks_url, .timeout_ms = 5000, .retries = 1,
			       .bearer = *e->cfg.tasks_token ? e->cfg.tasks_token : NULL};
	dux_client_t *c;
	int r = dux_client_new(&o, &c);
	if (r < 0)
		return r;
	char path[200];
	snprintf(path, sizeof path, "/v1/tasks/%s", task_id);
	dux_client_resp_t resp;
	r = dux_client_do(c, "GET", path, NULL, NULL, 0, &resp);
	dux_client_free(c);
	if (r < 0)
		return r;
	*status = resp.status;
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "state"));
	const char *h =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "result_hash"));
	snprintf(state, 32, "%s", s ? s : "");
	snprintf(hash, 65, "%s", h && hex64_valid(h) ? h : "");
	dux_client_resp_clear(&resp);
	return 0;
}

bool validate_result(escrow_t *e, dux_req_t *r, const escrow_row_t *row, const char *hash,
		     cJSON **ret_check)
{
	cJSON *check = cJSON_CreateObject();
	cJSON_AddBoolToObject(check, "bound", row->task_id[0] != '\0');
	if (!row->task_id[0]) {
		cJSON_AddBoolToObject(check, "compared", false);
		cJSON_AddStringToObject(check, "note",
					"not bound to a task: the result hash was checked for form only");
		*ret_check = check;
		return true;
	}
	char state[32], recorded[65];
	long status = 0;
	int rc = *e->cfg.tasks_url ? task_record(e, row->task_id, state, recorded, &status)
				   : DUX_EINVAL;
	cJSON_Delete(check);
	if (rc == DUX_EINVAL) {
		dux_reply_problem(r, 503, "task-engine-unavailable",
				  "escrow %s is bound to task %s, and escrow.tasks_url is not set",
				  row->id, row->task_id);
	} else if (rc < 0 || status >= 500) {
		dux_reply_header(r, "Retry-After", "5");
		dux_reply_problem(r, 503, "task-engine-unavailable",
				  "the task engine cannot confirm task %s now", row->task_id);
	} else if (status == 404) {
		dux_reply_problem(r, 422, "task-unknown", "the task engine knows no task %s",
				  row->task_id);
	} else if (status != 200 || strcmp(state, "succeeded") != 0 || !*recorded) {
		dux_reply_problem(r, 409, "task-not-validated",
				  "task %s has no validated result (state \"%s\")", row->task_id, state);
	} else if (strcmp(recorded, hash) != 0) {
		dux_reply_problem(r, 422, "result-mismatch",
				  "result_hash differs from the validated result of task %s",
				  row->task_id);
	} else {
		check = cJSON_CreateObject();
		cJSON_AddBoolToObject(check, "bound", true);
		cJSON_AddBoolToObject(check, "compared", true);
		cJSON_AddStringToObject(check, "task_id", row->task_id);
		*ret_check = check;
		return true;
	}
	return false;
}
