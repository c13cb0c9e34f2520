/* audit.c - the airdrop's audit log: every round proposed, approval, execution, failure and
 * expiry, hash-chained and signed in the format of duxos-escrow's log, by libduxcommon's audit
 * module (dux/audit.h), in this daemon's audit_queue and audit_log about a round_id, with the
 * key of airdrop.audit_key_file (public half at GET /v1/airdrop/audit/key). */
#include "airdrop.h"

dux_audit_t audit_log(const airdrop_t *a)
{
	/* names that go into SQL: literals only */
	return (dux_audit_t){.queue_table = "audit_queue", .log_table = "audit_log",
			     .subject = "round_id", .stmt_queue = "airdrop_audit_queue",
			     .stmt_link = "airdrop_audit_link", .key = a ? a->audit_key : NULL};
}

int audit_queue(dux_db_conn_t *c, const char *action, const char *round_id, const char *actor,
		const cJSON *data)
{
	dux_audit_t log = audit_log(NULL);
	return dux_audit_queue(c, &log, action, round_id, actor, data);
}

int audit_init(airdrop_t *a, char *err, size_t len)
{
	return dux_audit_key_load("airdrop.audit_key_file", a->cfg.audit_key_file, &a->audit_key,
				  err, len);
}

int audit_chain_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	dux_audit_t log = audit_log(ctx);
	return dux_audit_chain_run(d, c, &log);
}
