/* judge.c - result validation. An attempt's output counts when the program exited 0 and the
 * output satisfies the task's declared format; its SHA-256 is its vote. A task succeeds when a
 * strict majority of its replicas voted the same digest; that output is the validated result
 * and its digest the result_hash that releases a paid task's escrow. It fails when no
 * majority can come any more, except that a generic task made two replicas by the trust rule
 * (assign.c) gets a third node when the two reports do not agree.
 *
 * Verdicts: agreed (in the majority), disagreed (valid output outside it), failed (the program
 * failed or its output was invalid), lost (no report). The registry hears, per node: in a task
 * that succeeded, success for agreed and failure for disagreed and failed; failure for lost
 * in any task. A task that fails without a majority tells nothing about its reports: a program
 * that fails everywhere is the task's fault, and a split without majority names no liar. */
#include "schema.h"
#include "tasks.h"
#include <dux/text.h>
#include <stdio.h>
#include <string.h>

bool judge_output(const cJSON *format, const char *out, size_t n, char *why, size_t len)
{
	const char *type =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(format, "content_type"));
	if (!dux_utf8_ok(out, n)) {
		snprintf(why, len, "the output is not UTF-8 text");
		return false;
	}
	if (!type || strcmp(type, "application/json") != 0)
		return true;
	cJSON *v = cJSON_ParseWithLength(out, n);
	if (!v) {
		snprintf(why, len, "the output is not JSON (content_type application/json)");
		return false;
	}
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(format, "schema");
	bool ok = !schema || schema_valid(schema, v, "", why, len);
	cJSON_Delete(v);
	return ok;
}

typedef struct {
	char kind[16];
	int replicas, replicas_asked;
	int reported, valid, pending;
	char best[65];   /* the digest with most valid votes */
	int best_votes;
	int second_votes;
	char fail_reason[32], fail_detail[200];
} tally_t;

static int tally(dux_db_conn_t *c, const char *id, tally_t *k, bool *ret_open)
{
	const char *p[] = {id};
	PGresult *res;
	int r = dux_db_execp(c, "judge_task",
		"SELECT kind, replicas, replicas_asked, state IN ('queued', 'running') FROM tasks"
		" WHERE id = $1", 1, p, &res);
	if (r < 0)
		return r;
	*ret_open = PQntuples(res) == 1 && dux_db_bool(res, 0, 3);
	if (*ret_open) {
		snprintf(k->kind, sizeof k->kind, "%s", PQgetvalue(res, 0, 0));
		k->replicas = (int)dux_db_i64(res, 0, 1);
		k->replicas_asked = (int)dux_db_i64(res, 0, 2);
	}
	PQclear(res);
	if (!*ret_open)
		return 0;
	r = dux_db_execp(c, "judge_votes",
		"SELECT coalesce(output_sha256, ''), count(*), bool_or(output_valid),"
		" min(reason), min(detail) FROM attempts"
		" WHERE task_id = $1 AND state = 'reported' GROUP BY 1, output_valid"
		" ORDER BY output_valid DESC, count(*) DESC, 1", 1, p, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		int n = (int)dux_db_i64(res, i, 1);
		k->reported += n;
		if (!dux_db_bool(res, i, 2)) {
			if (!k->fail_reason[0]) {
				snprintf(k->fail_reason, sizeof k->fail_reason, "%s", PQgetvalue(res, i, 3));
				snprintf(k->fail_detail, sizeof k->fail_detail, "%s", PQgetvalue(res, i, 4));
			}
			continue;
		}
		k->valid += n;
		if (n > k->best_votes) {
			k->second_votes = k->best_votes;
			k->best_votes = n;
			snprintf(k->best, sizeof k->best, "%s", PQgetvalue(res, i, 0));
		} else if (n > k->second_votes) {
			k->second_votes = n;
		}
	}
	PQclear(res);
	r = dux_db_execp(c, "judge_pending", "SELECT count(*) FROM attempts WHERE task_id = $1"
			 " AND state IN ('offered', 'running')", 1, p, &res);
	if (r == 0) {
		k->pending = (int)dux_db_i64(res, 0, 0);
		PQclear(res);
	}
	return r;
}

static int succeed(dux_db_conn_t *c, const char *id, const char *digest)
{
	const char *p[] = {id, digest};
	int r = dux_db_exec(c,
		"UPDATE attempts SET"
		" verdict = CASE WHEN output_valid AND output_sha256 = $2 THEN 'agreed'"
		"  WHEN output_valid THEN 'disagreed' ELSE 'failed' END,"
		" outcome = CASE WHEN output_valid AND output_sha256 = $2 THEN 'success'"
		"  ELSE 'failure' END"
		" WHERE task_id = $1 AND state = 'reported'", 2, p, NULL);
	if (r == 0)
		r = dux_db_exec(c,
			"UPDATE tasks t SET state = 'succeeded', reason = 'ok', detail = NULL,"
			" result_hash = $2, finished_at = now(), updated_at = now(),"
			" output = (SELECT output FROM attempts a WHERE a.task_id = $1"
			"  AND a.verdict = 'agreed' LIMIT 1),"
			" settle = CASE WHEN escrow_id IS NULL THEN NULL ELSE 'release' END"
			" WHERE id = $1", 2, p, NULL);
	if (r == 0)
		r = dux_db_exec(c, "UPDATE attempts SET state = 'cancelled', finished_at = now()"
				   " WHERE task_id = $1 AND state IN ('offered', 'running')", 1, p, NULL);
	if (r == 0)
		r = task_succeeded(c, id);
	return r;
}

static int fail(dux_db_conn_t *c, const char *id, const tally_t *k)
{
	const char *p[] = {id};
	int r = dux_db_exec(c,
		"UPDATE attempts SET verdict = CASE WHEN output_valid THEN 'disagreed'"
		" ELSE 'failed' END WHERE task_id = $1 AND state = 'reported'", 1, p, NULL);
	if (r < 0)
		return r;
	if (k->valid == 0 && k->fail_reason[0])
		return task_end(c, id, "failed", k->fail_reason,
				k->fail_detail[0] ? k->fail_detail : NULL);
	char detail[160];
	snprintf(detail, sizeof detail, "no %d of the %d replicas agree on one output",
		 k->replicas / 2 + 1, k->replicas);
	return task_end(c, id, "failed", "disagreement", detail);
}

int judge_task(tasks_t *t, dux_db_conn_t *c, const char *id)
{
	tally_t k = {0};
	bool open;
	int r = tally(c, id, &k, &open);
	if (r < 0 || !open)
		return r;
	int majority = k.replicas / 2 + 1;
	if (k.best_votes >= majority)
		return succeed(c, id, k.best);
	int to_come = k.replicas - k.reported; /* pending, or lost and to be tried again */
	if (k.best_votes + to_come >= majority)
		return 0;
	if (strcmp(k.kind, "generic") == 0 && k.replicas_asked == 1 && k.replicas == 2 &&
	    k.reported == 2 && k.valid > 0) {
		const char *p[] = {id};
		r = dux_db_exec(c, "UPDATE tasks SET replicas = 3, updated_at = now() WHERE id = $1",
				1, p, NULL);
		return r < 0 ? r : assign_task(t, c, id) < 0 ? DUX_EIO : 0;
	}
	return fail(c, id, &k);
}
