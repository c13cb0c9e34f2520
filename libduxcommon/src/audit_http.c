/* audit_http.c - the audit log's two reading routes (dux/audit.h). In dux_bus: the first
 * layer that has both the pool and the HTTP server. */
#include <dux/audit.h>
#include <dux/http.h>
#include <stdlib.h>

void dux_audit_reply_page(dux_req_t *r, dux_db_t *db, const dux_audit_t *a)
{
	int64_t after, limit;
	if (!dux_req_query_i64(r, "after", 0, 0, INT64_MAX / 2, &after) ||
	    !dux_req_query_i64(r, "limit", 100, 1, DUX_AUDIT_PAGE_MAX, &limit))
		return;
	dux_db_conn_t *c;
	char *json = NULL;
	int rc = dux_db_acquire(db, &c);
	if (rc == 0) {
		rc = dux_audit_page(c, a, after, limit, &json);
		dux_db_release(db, c);
	}
	/* the parameters were checked above: DUX_EINVAL here is the daemon's dux_audit_t, not
	 * the caller's request */
	if (rc == DUX_EINVAL)
		rc = DUX_EIO;
	cJSON *page = rc == 0 ? cJSON_Parse(json) : NULL;
	free(json);
	if (rc < 0)
		dux_reply_err(r, rc, "the audit log");
	else if (!page)
		dux_reply_problem(r, 500, "internal", "out of memory");
	else
		dux_reply_json(r, 200, page);
}

void dux_audit_reply_key(dux_req_t *r, const dux_audit_t *a)
{
	char pub[64];
	if (dux_audit_public_b64(a, pub) < 0) {
		dux_reply_problem(r, 500, "internal", "the audit log has no key");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "algorithm", "Ed25519");
	cJSON_AddStringToObject(o, "public_key", pub);
	cJSON_AddStringToObject(o, "encoding", "base64url");
	dux_reply_json(r, 200, o);
}
