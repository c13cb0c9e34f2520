/* api_calls.c - POST /calls: the seed's API Transaction Flow. The caller names a store
 * service and its own wallet account; the scheduler reads the service (price, provider) from
 * the store, records the task, has the escrow hold the price from the caller's account (the
 * escrow is made with the caller's own token, so the wallet checks the caller owns it), and
 * queues the service's newest signed bundle with the caller's input on one of the provider's
 * nodes. The validated result releases the escrow (95 % provider, 5 % fund); a failure
 * refunds it (jobs.c). ?wait=MS answers when the task has ended or MS passed. */
#include "service.h"
#include "tasks.h"
#include <dux/address.h>
#include <dux/json.h>
#include <dux/money.h>
#include <dux/text.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	tasks_t *t;
	const char *service, *input, *wallet, *owner, *idem;
	service_t svc;
	char id[TASK_ID_LEN + 1];
	char escrow[64];
	bool existing, no_bundle;
	bool unfunded; /* an earlier request with this key did not get the escrow's answer */
	bool differs;  /* ... or was another request */
	char digest[65];
	char *json;
} call_ctx_t;

static int insert_tx(dux_db_conn_t *c, void *arg)
{
	call_ctx_t *x = arg;
	tasks_t *t = x->t;
	char mem[24], cpu[24], to[24];
	uint64_t mb;
	uint32_t milli;
	const char *why;
	if (x->idem) {
		int r = idem_lookup(c, x->owner, x->idem, x->digest, x->id, &x->differs,
				    &x->unfunded);
		x->existing = r == 1;
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (dux_sandbox_parse_memory(t->cfg.sb_memory, &mb, &why) < 0 ||
	    dux_sandbox_parse_cpu(t->cfg.sb_cpu, &milli, &why) < 0)
		return DUX_EINVAL; /* checked at start-up */
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)mb);
	snprintf(cpu, sizeof cpu, "%u", milli);
	snprintf(to, sizeof to, "%lld", (long long)t->cfg.sb_timeout);
	new_id("tsk_", x->id);
	const char *p[] = {x->id, x->owner, x->service, x->svc.provider, x->input,
			   t->cfg.sb_memory, mem, t->cfg.sb_cpu, cpu, to, x->idem,
			   x->svc.price > 0 ? "f" : "t", x->idem ? x->digest : NULL};
	PGresult *res;
	int r = dux_db_exec(c,
		"INSERT INTO tasks (id, kind, owner, service_id, bundle_version, provider_wallet,"
		" runtime, code, code_sha256, input, memory_limit, memory_bytes, cpu_limit,"
		" cpu_milli, timeout_s, output_format, replicas_asked, replicas, idem_key, state,"
		" funded, request_sha256)"
		" SELECT $1, 'call', $2, $3, b.version, $4, b.runtime, b.code, b.code_sha256, $5,"
		" $6, $7::bigint, $8, $9::int, $10::int, b.output_format, 1, 1, $11, 'queued',"
		" $12::boolean, $13 FROM bundles b WHERE b.service_id = $3"
		" ORDER BY b.created_at DESC LIMIT 1", 13, p, &res);
	if (r < 0)
		return r;
	x->no_bundle = strcmp(PQcmdTuples(res), "1") != 0;
	PQclear(res);
	if (!x->no_bundle && x->svc.price == 0) { /* nothing to hold: queued at once */
		r = task_queued(c, x->id);
		if (r == 0)
			r = assign_task(t, c, x->id);
	}
	return r < 0 ? r : 0;
}

/* The escrow of the call, made as the caller. 0 held; DUX_ECONFLICT refused (resp says
 * why); DUX_EUNAVAIL no answer. */
static int hold(call_ctx_t *x, const char *token, peer_resp_t *resp)
{
	char amount[DUX_MONEY_STRLEN], idem[64];
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "api_id", x->service);
	cJSON_AddStringToObject(b, "user_wallet", x->wallet);
	cJSON_AddStringToObject(b, "provider_wallet", x->svc.provider);
	cJSON_AddStringToObject(b, "amount", dux_money_format(x->svc.price, amount));
	cJSON_AddStringToObject(b, "task_id", x->id);
	cJSON_AddNumberToObject(b, "timeout", (double)(x->t->cfg.sb_timeout +
						       x->t->cfg.queue_timeout + 3600));
	snprintf(idem, sizeof idem, "call-%s", x->id);
	int r = peer_call(x->t, "escrow", "POST", "/v1/escrow/create", token, idem, b, resp);
	cJSON_Delete(b);
	/* 202: the escrow is still making the hold; the same key later gets its answer */
	if (r < 0 || resp->status >= 500 || resp->status == 429 || resp->status == 202)
		return DUX_EUNAVAIL;
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp->json, "id"));
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp->json,
										"status"));
	if (resp->status >= 300 || !id || strlen(id) >= sizeof x->escrow || !st ||
	    strcmp(st, "held") != 0)
		return DUX_ECONFLICT;
	snprintf(x->escrow, sizeof x->escrow, "%s", id);
	return 0;
}

typedef struct {
	call_ctx_t *x;
	const char *problem, *detail;
} fund_ctx_t;

static int fund_tx(dux_db_conn_t *c, void *arg)
{
	fund_ctx_t *f = arg;
	call_ctx_t *x = f->x;
	const char *p[] = {x->id, *x->escrow ? x->escrow : NULL};
	int r;
	if (f->problem) {
		char detail[400];
		snprintf(detail, sizeof detail, "the escrow refused the payment: %s: %s", f->problem,
			 f->detail);
		const char *q[] = {x->id, detail};
		r = dux_db_exec(c, "UPDATE tasks SET state = 'failed', reason = 'payment-failed',"
				   " detail = $2, finished_at = now(), updated_at = now()"
				   " WHERE id = $1 AND NOT funded", 2, q, NULL);
	} else {
		r = dux_db_exec(c, "UPDATE tasks SET funded = true, escrow_id = $2, updated_at = now()"
				   " WHERE id = $1 AND NOT funded", 2, p, NULL);
		if (r == 0)
			r = task_queued(c, x->id);
		if (r == 0)
			r = assign_task(x->t, c, x->id);
	}
	return r < 0 ? r : task_json_text(c, x->id, true, &x->json);
}

/* What the call's Idempotency-Key stands for: service, paying account and input. */
static void call_digest(call_ctx_t *x)
{
	char input[65], text[256];
	sha256_hex(x->input, strlen(x->input), input);
	snprintf(text, sizeof text, "call\n%s\n%s\n%s", x->service, x->wallet ? x->wallet : "",
		 input);
	sha256_hex(text, strlen(text), x->digest);
}

static bool call_parse(tasks_t *t, dux_req_t *r, const cJSON *b, call_ctx_t *x)
{
	dux_verr_t e = {0};
	int rc = dux_json_str(b, "service_id", true, 36, 36, &x->service, &e);
	if (rc == 0 && !service_id_ok(x->service))
		rc = dux_verr_set(&e, "service_id", "must be svc_ and 32 lowercase hex digits");
	if (rc == 0)
		rc = dux_json_str(b, "user_wallet", false, 26, 35, &x->wallet, &e);
	if (rc == 0 && x->wallet &&
	    dux_address_validate(x->wallet, dux_daemon_net(t->d), NULL, NULL) < 0)
		rc = dux_verr_set(&e, "user_wallet", "is not an address of this network");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(b, "input");
	x->input = "";
	if (rc == 0 && in && (!cJSON_IsString(in) || strlen(in->valuestring) > TASK_INPUT_MAX ||
			      !dux_text_ok(in->valuestring, true)))
		rc = dux_verr_set(&e, "input", "must be UTF-8 text of at most 1 MiB, without control"
					       " characters other than tab and newline");
	else if (in)
		x->input = in->valuestring;
	if (rc < 0)
		dux_reply_verr(r, &e);
	return rc == 0;
}

/* The service, checked for a call; replies and returns false when it cannot be called. */
static bool service_usable(tasks_t *t, dux_req_t *r, call_ctx_t *x)
{
	int rc = service_read(t, x->service, &x->svc);
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "unknown-service", "the store has no service %s", x->service);
	else if (rc < 0) {
		dux_reply_header(r, "Retry-After", "5");
		dux_reply_problem(r, 503, "store-unavailable", "the store cannot describe service %s"
				  " now", x->service);
	} else if (!x->svc.listed)
		dux_reply_problem(r, 422, "service-delisted", "service %s was delisted", x->service);
	else if (x->svc.price > 0 && !x->wallet)
		dux_reply_verr(r, &(dux_verr_t){.field = "user_wallet",
				.detail = "required: the account that pays the price"});
	else
		return true;
	return false;
}

static bool task_json_ended(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "state"));
	bool ended = st && strcmp(st, "queued") != 0 && strcmp(st, "running") != 0;
	cJSON_Delete(j);
	return ended;
}

/* Waits until the task ended or ms passed (or the daemon drains); refreshes x->json. */
static void wait_end(tasks_t *t, call_ctx_t *x, int64_t ms)
{
	int64_t until = dux_now_us() + ms * 1000;
	while (ms > 0 && dux_now_us() < until && !dux_daemon_draining(t->d)) {
		pthread_mutex_lock(&t->wake_mu);
		uint64_t gen = t->wake_gen;
		pthread_mutex_unlock(&t->wake_mu);
		dux_db_conn_t *c;
		char *json = NULL;
		if (dux_db_acquire(dux_daemon_db(t->d), &c) == 0) {
			if (task_json_text(c, x->id, true, &json) < 0)
				json = NULL;
			dux_db_release(dux_daemon_db(t->d), c);
		}
		if (json) {
			free(x->json);
			x->json = json;
		}
		if (x->json && task_json_ended(x->json))
			return;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&t->wake_mu);
		while (t->wake_gen == gen && pthread_cond_timedwait(&t->wake_cv, &t->wake_mu, &ts) == 0)
			;
		pthread_mutex_unlock(&t->wake_mu);
	}
}

static void reply_refused(dux_req_t *r, const call_ctx_t *x, const peer_resp_t *resp)
{
	cJSON *ext = cJSON_CreateObject();
	cJSON_AddStringToObject(ext, "task_id", x->id);
	cJSON_AddStringToObject(ext, "escrow_problem", resp->problem);
	dux_reply_problem_ext(r, 422, "payment-failed", ext, "the escrow refused to hold %s: %s",
			      x->svc.price ? "the price" : "the call", resp->detail);
}

/* The escrow step and its record; replies when it did not go through. */
static bool pay(tasks_t *t, dux_req_t *r, call_ctx_t *x)
{
	const char *auth = dux_req_header(r, "Authorization");
	const char *token = auth && strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";
	peer_resp_t resp;
	int rc = hold(x, token, &resp);
	fund_ctx_t f = {.x = x};
	if (rc == DUX_ECONFLICT) {
		f.problem = *resp.problem ? resp.problem : "refused";
		f.detail = resp.detail;
	}
	int db = rc == DUX_EUNAVAIL ? 0 : dux_db_tx(dux_daemon_db(t->d), NULL, fund_tx, &f);
	if (rc == DUX_EUNAVAIL) {
		dux_reply_header(r, "Retry-After", "5");
		dux_reply_problem(r, 503, "escrow-unavailable", "the escrow did not answer; repeat the"
				  " request with the same Idempotency-Key to resume task %s", x->id);
	} else if (db < 0) {
		dux_reply_err(r, db, "recording the payment");
	} else if (rc == DUX_ECONFLICT) {
		reply_refused(r, x, &resp);
	}
	peer_resp_clear(&resp);
	return rc == 0 && db == 0;
}

void api_call(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	static const char *const allowed[] = {"service_id", "input", "user_wallet", NULL};
	call_ctx_t x = {.t = t, .owner = dux_req_token(r)->sub,
			.idem = dux_req_header(r, "Idempotency-Key")};
	int64_t wait_ms;
	cJSON *body = NULL;
	if (!t->scheduler) {
		dux_reply_problem(r, 404, "not-scheduler", "this daemon runs only an executor"
				  " (tasks.role executor): ask the scheduler");
		return;
	}
	if (!dux_req_query_i64(r, "wait", 0, 0, 60000, &wait_ms) || !idem_ok(r, x.idem) ||
	    !(body = dux_req_json(r, allowed)) || !call_parse(t, r, body, &x) ||
	    !service_usable(t, r, &x))
		goto out;
	call_digest(&x);
	int rc = dux_db_tx(dux_daemon_db(t->d), NULL, insert_tx, &x);
	if (rc < 0) {
		dux_reply_err(r, rc, "recording the call");
		goto out;
	}
	if (x.existing && x.differs) {
		dux_reply_problem(r, 422, "idempotency-key-reused", "this Idempotency-Key was used"
				  " before for another request (task %s)", x.id);
		goto out;
	}
	if (x.no_bundle) {
		dux_reply_problem(r, 422, "no-bundle", "service %s has published no code bundle",
				  x.service);
		goto out;
	}
	bool to_pay = x.existing ? x.unfunded : x.svc.price > 0;
	if (to_pay && !pay(t, r, &x))
		goto out;
	assign_wake(t);
	wait_end(t, &x, wait_ms);
	if (!x.json) {
		dux_db_conn_t *c;
		rc = dux_db_acquire(dux_daemon_db(t->d), &c);
		if (rc == 0) {
			rc = task_json_text(c, x.id, true, &x.json);
			dux_db_release(dux_daemon_db(t->d), c);
		}
	}
	if (rc < 0)
		dux_reply_err(r, rc, "reading the task");
	else
		reply_db_json(r, x.existing ? 200 : 201, x.json);
out:
	free(x.json);
	cJSON_Delete(body);
}
