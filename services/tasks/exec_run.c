/* exec_run.c - one attempt on this node: read the scheduler's spec (input from outside),
 * verify a paid call's bundle, run the sandbox, report. */
#include "executor.h"
#include <dux/log.h>
#include <dux/text.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *attempt, *task, *runtime, *code, *input;
	int64_t memory, cpu, timeout;
	bool network;
	const cJSON *bundle;
} attempt_t;

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static bool num(const cJSON *o, const char *k, int64_t min, int64_t max, int64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > (double)max)
		return false;
	*ret = (int64_t)v->valuedouble;
	return true;
}

static bool attempt_read(const cJSON *j, attempt_t *a)
{
	a->attempt = str(j, "attempt_id");
	a->task = str(j, "task_id");
	a->runtime = str(j, "runtime");
	a->code = str(j, "code");
	a->input = str(j, "input");
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(j, "network_access");
	a->network = cJSON_IsTrue(net);
	a->bundle = cJSON_GetObjectItemCaseSensitive(j, "bundle");
	return a->attempt && strlen(a->attempt) == TASK_ID_LEN && strncmp(a->attempt, "att_", 4) == 0 &&
	       strspn(a->attempt + 4, "0123456789abcdef") == 32 && a->task && a->runtime &&
	       a->code && a->input && cJSON_IsBool(net) &&
	       num(j, "memory_bytes", (int64_t)DUX_SANDBOX_MEMORY_MIN,
		   (int64_t)DUX_SANDBOX_MEMORY_MAX, &a->memory) &&
	       num(j, "cpu_milli", DUX_SANDBOX_CPU_MIN_MILLI, DUX_SANDBOX_CPU_MAX_MILLI, &a->cpu) &&
	       num(j, "timeout_s", 1, DUX_SANDBOX_TIMEOUT_MAX_MS / 1000, &a->timeout);
}

/* A paid call runs only code signed by a key this node's operator trusts. NULL when the
 * bundle may run, else why not. */
static const char *bundle_refusal(executor_t *x, const attempt_t *a)
{
	if (cJSON_IsNull(a->bundle) || !a->bundle)
		return NULL;
	const char *svc = str(a->bundle, "service_id"), *ver = str(a->bundle, "version");
	const char *key = str(a->bundle, "public_key"), *sig = str(a->bundle, "signature");
	if (!svc || !ver || !key || !sig)
		return "the bundle lacks its signature";
	bool trusted = false;
	for (size_t i = 0; i < x->t->cfg.bundle_keys.n; i++)
		trusted |= strcmp(x->t->cfg.bundle_keys.v[i], key) == 0;
	if (!trusted)
		return "the bundle is signed by a key this node does not trust (tasks.bundle_keys)";
	char sha[65];
	sha256_hex(a->code, strlen(a->code), sha);
	char *msg = bundle_message(svc, ver, a->runtime, sha);
	int r = msg ? bundle_verify(key, sig, msg) : DUX_ENOMEM;
	free(msg);
	return r < 0 ? "the bundle's signature does not verify: its code or fields were changed"
		     : NULL;
}

static void spec_fill(executor_t *x, const attempt_t *a, struct dux_sandbox_spec *s)
{
	const tasks_cfg_t *c = &x->t->cfg;
	const char *why;
	dux_sandbox_spec_init(s);
	if (dux_sandbox_parse_runtime(a->runtime, &s->runtime, &why) < 0)
		s->runtime = DUX_SANDBOX_EXEC; /* refused by dux_sandbox_run's check: no exec_path */
	s->code = a->code;
	s->code_len = strlen(a->code);
	s->input = a->input;
	s->input_len = strlen(a->input);
	s->memory_bytes = (uint64_t)a->memory;
	s->cpu_millicores = (uint32_t)a->cpu;
	s->timeout_ms = (uint32_t)a->timeout * 1000u;
	s->network_access = a->network && c->sb_network;
	s->pids_max = (uint32_t)c->sb_pids;
	s->output_cap = (size_t)c->sb_output_cap;
	s->scratch_base = c->sb_scratch;
	s->cgroup_parent = c->sb_cgroup;
}

/* stderr as text a report can carry: cut to TASK_STDERR_MAX on a character boundary, bytes
 * that are not UTF-8 replaced. Caller frees. */
static char *stderr_text(const struct dux_sandbox_result *res, bool *ret_cut)
{
	size_t n = res->err_len;
	*ret_cut = res->err_truncated;
	if (n > TASK_STDERR_MAX) {
		n = TASK_STDERR_MAX;
		while (n > 0 && ((unsigned char)res->err[n] & 0xc0) == 0x80)
			n--;
		*ret_cut = true;
	}
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, res->err ? res->err : "", n);
	s[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			s[i] = '?';
	if (!dux_utf8_ok(s, n))
		dux_text_sanitize(s);
	return s;
}

static cJSON *report_of(const struct dux_sandbox_result *res, const char *refusal)
{
	cJSON *b = cJSON_CreateObject();
	const char *out = res && res->out ? res->out : "";
	size_t out_len = res ? res->out_len : 0;
	bool text = dux_utf8_ok(out, out_len);
	const char *reason = refusal ? "bundle-refused" : dux_sandbox_reason_name(res->reason);
	const char *detail = refusal ? refusal : res->detail;
	if (!refusal && !text && res->reason == DUX_SANDBOX_OK) {
		reason = "invalid-output";
		detail = "stdout is not UTF-8 text";
	}
	cJSON_AddStringToObject(b, "reason", reason);
	cJSON_AddStringToObject(b, "detail", detail);
	if (res && res->exited)
		cJSON_AddNumberToObject(b, "exit_code", res->exit_code);
	else
		cJSON_AddNullToObject(b, "exit_code");
	const char *sent = text ? out : "";
	char sha[65];
	sha256_hex(sent, strlen(sent), sha);
	cJSON_AddStringToObject(b, "stdout", sent);
	cJSON_AddBoolToObject(b, "stdout_truncated", res && res->out_truncated);
	bool cut = false;
	char *err = res ? stderr_text(res, &cut) : NULL;
	cJSON_AddStringToObject(b, "stderr", err ? err : "");
	free(err);
	cJSON_AddBoolToObject(b, "stderr_truncated", cut);
	cJSON_AddStringToObject(b, "output_sha256", sha);
	cJSON *u = cJSON_AddObjectToObject(b, "usage");
	cJSON_AddNumberToObject(u, "cpu_user_us", res ? (double)res->cpu_user_us : 0);
	cJSON_AddNumberToObject(u, "cpu_sys_us", res ? (double)res->cpu_sys_us : 0);
	cJSON_AddNumberToObject(u, "peak_memory_bytes", res ? (double)res->peak_memory_bytes : 0);
	cJSON_AddNumberToObject(u, "wall_us", res ? (double)res->wall_us : 0);
	return b;
}

/* Sends the report until the scheduler answers it (a new signature each time). */
static void report(executor_t *x, dux_client_t *cl, const char *attempt, const cJSON *body)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/executor/attempts/%s/result", attempt);
	for (int64_t backoff = 500; !atomic_load(&x->stop) || backoff == 500;) {
		dux_client_resp_t resp = {0};
		int r = exec_signed(x, cl, path, body, &resp);
		long status = r == 0 ? resp.status : 0;
		if (r == 0 && status >= 400 && status < 500 && status != 429)
			dux_warn("executor: report of %s refused (%ld): %.200s", attempt, status,
				 resp.body ? resp.body : "");
		if (r == 0)
			dux_client_resp_clear(&resp);
		if (status && status < 500 && status != 429)
			return;
		exec_nap(x, backoff);
		backoff = backoff < 8000 ? backoff * 2 : 8000;
	}
}

void exec_run(exec_slot_t *s, dux_client_t *cl, const cJSON *j)
{
	executor_t *x = s->x;
	attempt_t a = {0};
	if (!attempt_read(j, &a)) {
		dux_warn("executor: the scheduler sent an attempt this executor cannot read");
		return;
	}
	const char *refusal = bundle_refusal(x, &a);
	struct dux_sandbox_result res = {0};
	bool ran = false;
	if (!refusal) {
		struct dux_sandbox_spec spec;
		const char *why = NULL;
		spec_fill(x, &a, &spec);
		spec.cancel = &s->cancel;
		pthread_mutex_lock(&s->mu);
		snprintf(s->attempt, sizeof s->attempt, "%s", a.attempt);
		pthread_mutex_unlock(&s->mu);
		if (!atomic_load(&x->stop))
			atomic_store(&s->cancel, false);
		int r = x->docker ? dux_docker_run(&x->docker_opts, &spec, &res, &why)
				  : dux_sandbox_run(&spec, &res, &why);
		pthread_mutex_lock(&s->mu);
		s->attempt[0] = '\0';
		pthread_mutex_unlock(&s->mu);
		dux_metric_add(x->t->m_runs, 1);
		ran = r == 0;
		if (r < 0) {
			res.reason = DUX_SANDBOX_SETUP_FAILED;
			snprintf(res.detail, sizeof res.detail, "spec: %s", why ? why : dux_strerror(r));
		}
	}
	dux_info("executor: attempt %s of task %s: %s", a.attempt, a.task,
		 refusal ? "bundle-refused" : dux_sandbox_reason_name(res.reason));
	cJSON *body = report_of(refusal ? NULL : &res, refusal);
	report(x, cl, a.attempt, body);
	cJSON_Delete(body);
	if (ran)
		dux_sandbox_result_release(&res);
}
