/* ledger.c - batches of transfers, handed to the database function apply_transfers
 * (sql/R_ledger.sql), which locks, checks and moves in one round trip. */
#include "wallet.h"
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *ledger_item(cJSON *batch, const char *id, const char *mode, const char *kind,
		   const char *debit, const char *credit, int64_t amount)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", id);
	cJSON_AddStringToObject(it, "mode", mode);
	if (kind)
		cJSON_AddStringToObject(it, "kind", kind);
	if (debit)
		cJSON_AddStringToObject(it, "debit", debit);
	if (credit)
		cJSON_AddStringToObject(it, "credit", credit);
	if (amount > 0) {
		/* as text: a JSON number would pass through a double on the way */
		char n[24];
		snprintf(n, sizeof n, "%lld", (long long)amount);
		cJSON_AddStringToObject(it, "amount", n);
	}
	cJSON_AddItemToArray(batch, it);
	return it;
}

/* Reads "dux:<index>:<code>:<detail>" out of the server's message. */
static void parse_refusal(const char *msg, ledger_refusal_t *why)
{
	memset(why, 0, sizeof *why);
	const char *p = strstr(msg, "dux:");
	int idx = 0, off = 0;
	if (!p || sscanf(p, "dux:%d:%47[a-z-]:%n", &idx, why->code, &off) != 2 || off == 0) {
		snprintf(why->code, sizeof why->code, "conflict");
		snprintf(why->detail, sizeof why->detail, "the batch was refused");
		return;
	}
	why->index = idx;
	const char *d = p + off;
	size_t n = strcspn(d, "\n");
	snprintf(why->detail, sizeof why->detail, "%.*s", (int)n, d);
}

/* principals as a PostgreSQL array literal; owners are token subjects, quoted and escaped. */
static void principals_literal(const ledger_caller_t *who, char *buf, size_t len)
{
	size_t o = 0;
	buf[o++] = '{';
	for (int i = 0; i < who->nprincipals && o + 4 < len; i++) {
		if (i)
			buf[o++] = ',';
		buf[o++] = '"';
		for (const char *s = who->principals[i]; *s && o + 4 < len; s++) {
			if (*s == '"' || *s == '\\')
				buf[o++] = '\\';
			buf[o++] = *s;
		}
		buf[o++] = '"';
	}
	buf[o++] = '}';
	buf[o] = '\0';
}

int ledger_apply(dux_db_conn_t *c, const cJSON *batch, const ledger_caller_t *who, cJSON **ret,
		 ledger_refusal_t *why)
{
	char *json = cJSON_PrintUnformatted(batch);
	if (!json)
		return DUX_ENOMEM;
	char principals[600];
	principals_literal(who, principals, sizeof principals);
	bool fast = !who->system && !who->no_fast;
	const char *p[] = {json, who->actor, principals, who->system ? "t" : "f", fast ? "t" : "f"};
	PGresult *res = NULL;
	int r = dux_db_execp(c, "wallet_apply",
			     "SELECT coalesce(json_agg(t), '[]')::text FROM"
			     " apply_transfers($1::jsonb, $2, $3::text[], $4::boolean, $5::boolean) t",
			     5, p, &res);
	free(json);
	if (r < 0) {
		if (strcmp(dux_db_sqlstate(c), "DX001") == 0) {
			parse_refusal(dux_db_errmsg(c), why);
			return DUX_ECONFLICT;
		}
		if (strcmp(dux_db_sqlstate(c), "DX002") == 0)
			return DUX_ERETRY;
		if (r == DUX_ECONFLICT || r == DUX_EINVAL) {
			/* a constraint the checks above it should have caught: a bug, not a refusal */
			dux_error("ledger batch broke a constraint: %s", dux_db_errmsg(c));
			return DUX_EIO;
		}
		return r;
	}
	cJSON *out = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!out)
		return DUX_ENOMEM;
	*ret = out;
	return 0;
}

static const struct {
	const char *code;
	int status;
} statuses[] = {
	{"insufficient-funds", 422}, {"amount-exceeds-pending", 422}, {"balance-overflow", 422},
	{"not-owner", 403},          {"account-not-found", 404},      {"pending-not-found", 404},
	{"invalid-field", 400},
};

int ledger_refusal_status(const char *code)
{
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (strcmp(statuses[i].code, code) == 0)
			return statuses[i].status;
	return 409; /* id-reused, not-pending, pending-already-*, pending-expired */
}

void ledger_reply_refusal(dux_req_t *r, const ledger_refusal_t *why, bool batch)
{
	int status = ledger_refusal_status(why->code);
	if (strcmp(why->code, "id-reused") == 0 &&
	    strncmp(why->detail, "transfer " WALLET_SYSTEM_PREFIX, 9 + strlen(WALLET_SYSTEM_PREFIX)) == 0) {
		/* an id the wallet made from an Idempotency-Key */
		dux_reply_problem(r, 422, "idempotency-key-reused",
				  "this Idempotency-Key was used before for a different request");
		return;
	}
	if (!batch) {
		dux_reply_problem(r, status, why->code, "%s", why->detail);
		return;
	}
	cJSON *ext = cJSON_CreateObject();
	cJSON_AddNumberToObject(ext, "index", why->index);
	dux_reply_problem_ext(r, status, why->code, ext, "transfers[%d]: %s; nothing was applied",
			      why->index, why->detail);
}

/* One statement is its own transaction: no BEGIN and COMMIT round trips. */
static int run_once(wallet_t *w, const cJSON *batch, const ledger_caller_t *who, cJSON **ret,
		    ledger_refusal_t *why)
{
	dux_db_conn_t *c;
	int r = dux_db_acquire(dux_daemon_db(w->d), &c);
	if (r < 0)
		return r;
	r = ledger_apply(c, batch, who, ret, why);
	dux_db_release(dux_daemon_db(w->d), c);
	return r;
}

cJSON *ledger_run(wallet_t *w, dux_req_t *r, const cJSON *batch, const ledger_caller_t *who)
{
	cJSON *out = NULL;
	ledger_refusal_t why;
	int rc = run_once(w, batch, who, &out, &why);
	/* Two first attempts of one id on different accounts meet at the primary key rather than
	 * at an account lock; once the other has committed, a second run answers properly. A
	 * batch that lost the fast path's footing runs item by item. */
	ledger_caller_t again = *who;
	again.no_fast = true;
	for (int i = 0; i < 3 && (rc == DUX_EEXIST || rc == DUX_ERETRY); i++)
		rc = run_once(w, batch, &again, &out, &why);
	if (rc == DUX_ECONFLICT) {
		ledger_reply_refusal(r, &why, cJSON_GetArraySize(batch) > 1);
	} else if (rc < 0) {
		dux_log(DUX_LOG_ERROR, dux_req_id(r), "ledger batch failed: %s", dux_strerror(rc));
		dux_reply_err(r, rc, "the ledger");
	}
	return rc < 0 ? NULL : out;
}

void reply_db_json(dux_req_t *r, int status, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (!j) {
		dux_reply_problem(r, 500, "internal", "out of memory");
		return;
	}
	dux_reply_json(r, status, j);
}
