/* signed.c - executors authenticate with their node key, as they do with the registry: every
 * request is signed (dux_req_signed), the key is the one the registry announced for the node,
 * and each counter (the sender's clock in ms, within SIGNED_WINDOW_S of ours) is accepted once
 * per node (sql/002_counters_requests.sql says why not "strictly increasing"). */
#include "tasks.h"
#include <dux/sign.h>
#include <stdio.h>
#include <string.h>



static int node_key(dux_db_conn_t *c, const char *node_id, dux_key_t **ret, bool *ret_usable)
{
	const char *p[] = {node_id};
	PGresult *res;
	int r = dux_db_execp(c, "signed_key",
			     "SELECT public_key, status = 'online' AND"
			     " 'task_execution' = ANY (capabilities) FROM nodes WHERE id = $1",
			     1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DUX_ENOENT;
	}
	uint8_t pub[DUX_ED25519_PUB_LEN];
	size_t n = 0;
	const char *b64 = PQgetvalue(res, 0, 0);
	*ret_usable = dux_db_bool(res, 0, 1);
	r = dux_b64url_decode(b64, strlen(b64), pub, sizeof pub, &n);
	PQclear(res);
	if (r < 0 || n != sizeof pub)
		return DUX_EPROTO;
	return dux_key_from_public(pub, ret);
}

bool signed_admit(tasks_t *t, dux_req_t *r, dux_db_conn_t *c, const char *node_id)
{
	(void)t;
	dux_key_t *key = NULL;
	bool usable = false;
	int64_t counter;
	if (!dux_req_header(r, DUX_HDR_NODE) || !dux_req_header(r, DUX_HDR_COUNTER) ||
	    !dux_req_header(r, DUX_HDR_SIGNATURE)) { /* before saying which nodes exist */
		dux_reply_problem(r, 401, "signature-required",
				  "this request must be signed by the node key: headers %s, %s and %s",
				  DUX_HDR_NODE, DUX_HDR_COUNTER, DUX_HDR_SIGNATURE);
		return false;
	}
	int rc = dux_node_id_valid(node_id) == 0 ? node_key(c, node_id, &key, &usable) : DUX_ENOENT;
	if (rc == DUX_ENOENT || rc == DUX_EPROTO) {
		dux_reply_problem(r, 403, "unknown-node", "the registry has announced no node %.40s"
			" (register it, and wait for the scheduler to learn it)", node_id);
		return false;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "reading the node");
		return false;
	}
	bool ok = dux_req_signed(r, key, node_id, SIGNED_WINDOW_S, &counter);
	dux_key_free(key);
	if (!ok)
		return false;
	if (!usable) {
		dux_reply_problem(r, 403, "node-not-eligible", "node %s is offline in the registry or"
			" lacks the capability task_execution", node_id);
		return false;
	}
	char cs[24];
	snprintf(cs, sizeof cs, "%lld", (long long)counter);
	const char *p[] = {node_id, cs};
	PGresult *res;
	rc = dux_db_execp(c, "signed_counter", "INSERT INTO seen_counters (node_id, counter)"
			  " VALUES ($1, $2::bigint) ON CONFLICT DO NOTHING", 2, p, &res);
	if (rc < 0) {
		dux_reply_err(r, rc, "recording the request");
		return false;
	}
	ok = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!ok)
		dux_reply_problem(r, 409, "replayed", "this node already sent a request with %s %s",
				  DUX_HDR_COUNTER, cs);
	return ok;
}
