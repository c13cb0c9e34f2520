/* api_bundles.c - PUT /bundles/{service}: the service's owner publishes the code that its
 * paid calls run, signed with its provider key; a version, once published, never changes.
 * GET /bundles/{service}: the newest bundle (or ?version=), without its code. */
#include "service.h"
#include "tasks.h"
#include <dux/json.h>
#include <dux/text.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_JSON \
	"SELECT jsonb_build_object('service_id', service_id, 'version', version, 'runtime'," \
	" runtime, 'code_sha256', code_sha256, 'public_key', public_key, 'signature', signature," \
	" 'output_format', output_format, 'published_by', published_by, 'created_at'," \
	" ts(created_at))::text FROM bundles"

typedef struct {
	const char *service, *version, *runtime, *code, *key, *sig, *by;
	char sha[65];
	cJSON *format;
	bool exists, same;
	char *json;
} bundle_ctx_t;

static bool version_ok(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= 64 &&
	       strspn(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-") == n;
}

static int bundle_tx(dux_db_conn_t *c, void *arg)
{
	bundle_ctx_t *x = arg;
	char *fmt = cJSON_PrintUnformatted(x->format);
	const char *p[] = {x->service, x->version, x->runtime, x->code, x->sha, x->key, x->sig,
			   fmt, x->by};
	PGresult *res;
	int r = fmt ? dux_db_exec(c,
		"INSERT INTO bundles (service_id, version, runtime, code, code_sha256, public_key,"
		" signature, output_format, published_by) VALUES ($1, $2, $3, $4, $5, $6, $7,"
		" $8::jsonb, $9) ON CONFLICT DO NOTHING", 9, p, &res) : DUX_ENOMEM;
	free(fmt);
	if (r < 0)
		return r;
	x->exists = strcmp(PQcmdTuples(res), "1") != 0;
	PQclear(res);
	if (x->exists) {
		r = dux_db_exec(c, "SELECT code_sha256 = $3 AND runtime = $4 AND public_key = $5"
				   " AND signature = $6 FROM bundles WHERE service_id = $1 AND"
				   " version = $2", 6, (const char *[]){x->service, x->version, x->sha,
				   x->runtime, x->key, x->sig}, &res);
		if (r < 0)
			return r;
		x->same = PQntuples(res) == 1 && dux_db_bool(res, 0, 0);
		PQclear(res);
	}
	r = dux_db_exec(c, BUNDLE_JSON " WHERE service_id = $1 AND version = $2", 2, p, &res);
	if (r == 0) {
		x->json = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return r;
}

static int bundle_parse(tasks_t *t, const cJSON *b, bundle_ctx_t *x, dux_verr_t *e)
{
	enum dux_sandbox_runtime rt;
	const char *why = NULL;
	if (dux_json_str(b, "version", true, 1, 64, &x->version, e) < 0 ||
	    dux_json_str(b, "runtime", true, 1, 16, &x->runtime, e) < 0 ||
	    dux_json_str(b, "public_key", true, 43, 43, &x->key, e) < 0 ||
	    dux_json_str(b, "signature", true, 86, 86, &x->sig, e) < 0)
		return DUX_EINVAL;
	if (!version_ok(x->version))
		return dux_verr_set(e, "version", "may hold only letters, digits and . + -");
	if (dux_sandbox_parse_runtime(x->runtime, &rt, &why) < 0 || !(t->allowed & 1u << rt))
		return dux_verr_set(e, "runtime", "is not one of sandbox.allowed_commands");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(b, "code");
	if (!cJSON_IsString(code) || !*code->valuestring ||
	    strlen(code->valuestring) > TASK_CODE_MAX || !dux_text_ok(code->valuestring, true))
		return dux_verr_set(e, "code", "required: the program's text, at most 1 MiB of UTF-8"
					       " without control characters other than tab and newline");
	x->code = code->valuestring;
	sha256_hex(x->code, strlen(x->code), x->sha);
	char fwhy[200];
	x->format = format_read(cJSON_GetObjectItemCaseSensitive(b, "output_format"), fwhy,
				sizeof fwhy);
	if (!x->format)
		return dux_verr_set(e, "output_format", "%s", fwhy);
	return 0;
}

/* The owner check against the store; replies and returns false when refused. */
static bool owner_check(tasks_t *t, dux_req_t *r, const char *service, const char *sub)
{
	service_t svc;
	int rc = service_read(t, service, &svc);
	if (rc == DUX_ENOENT)
		dux_reply_problem(r, 404, "not-found", "the store has no service %s", service);
	else if (rc < 0)
		dux_reply_problem(r, 503, "store-unavailable", "the store cannot confirm service %s"
				  " now", service);
	else if (strcmp(svc.owner, sub) != 0)
		dux_reply_problem(r, 403, "not-owner", "only the owner of service %s publishes its"
				  " bundles", service);
	return rc == 0 && strcmp(svc.owner, sub) == 0;
}

void api_bundle_put(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	static const char *const allowed[] = {"version", "runtime", "code", "public_key",
					      "signature", "output_format", NULL};
	bundle_ctx_t x = {.service = dux_req_param(r, "service"), .by = dux_req_token(r)->sub};
	dux_verr_t e = {0};
	char *msg = NULL;
	cJSON *body = NULL;
	if (!service_id_ok(x.service)) {
		dux_reply_problem(r, 404, "not-found", "no service %.40s", x.service);
		return;
	}
	if (!(body = dux_req_json(r, allowed)))
		return;
	if (bundle_parse(t, body, &x, &e) < 0) {
		dux_reply_verr(r, &e);
		goto out;
	}
	msg = bundle_message(x.service, x.version, x.runtime, x.sha);
	if (!msg || bundle_verify(x.key, x.sig, msg) < 0) {
		dux_reply_problem(r, 422, "bad-signature", "signature does not verify with public_key"
				  " over DUX-BUNDLE-1, service, version, runtime and the code's"
				  " SHA-256");
		goto out;
	}
	if (!owner_check(t, r, x.service, x.by))
		goto out;
	int rc = dux_db_tx(dux_daemon_db(t->d), NULL, bundle_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "publishing the bundle");
	else if (x.exists && !x.same)
		dux_reply_problem(r, 409, "version-exists", "version %s of this bundle was published"
				  " with other contents; publish a new version", x.version);
	else
		reply_db_json(r, x.exists ? 200 : 201, x.json);
out:
	free(msg);
	free(x.json);
	cJSON_Delete(x.format);
	cJSON_Delete(body);
}

void api_bundle_get(dux_req_t *r, void *app)
{
	tasks_t *t = app;
	const char *service = dux_req_param(r, "service"), *version = dux_req_query(r, "version");
	if (version && !version_ok(version)) {
		dux_reply_problem(r, 400, "invalid-query", "version may hold only letters, digits"
				  " and . + -");
		return;
	}
	const char *p[] = {service, version};
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(t->d), &c);
	if (rc == 0) {
		rc = dux_db_exec(c, BUNDLE_JSON " WHERE service_id = $1 AND ($2::text IS NULL OR"
				    " version = $2) ORDER BY created_at DESC LIMIT 1", 2, p, &res);
		dux_db_release(dux_daemon_db(t->d), c);
	}
	if (rc < 0)
		dux_reply_err(r, rc, "reading the bundle");
	else if (PQntuples(res) == 0)
		dux_reply_problem(r, 404, "not-found", "service %.40s has no bundle%s", service,
				  version ? " of that version" : "");
	else
		reply_db_json(r, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}
