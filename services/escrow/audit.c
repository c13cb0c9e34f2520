/* audit.c - the escrow's audit log: every financial action, hash-chained and signed by
 * libduxcommon's audit module (dux/audit.h: the format, the writer, the reading routes), in
 * this daemon's audit_queue and audit_log, about an escrow_id, with the key of
 * escrow.audit_key_file (public half at GET /v1/audit/key). duxctl audit verify checks it. */
#include "escrow.h"

/* The table and statement names go into SQL: literals only. */
dux_audit_t audit_log(const escrow_t *e)
{
	return (dux_audit_t){.queue_table = "audit_queue", .log_table = "audit_log",
			     .subject = "escrow_id", .stmt_queue = "audit_queue",
			     .stmt_link = "audit_link", .key = e ? e->audit_key : NULL};
}

int audit_queue(dux_db_conn_t *c, const char *action, const char *escrow_id, const char *actor,
		const cJSON *data)
{
	dux_audit_t log = audit_log(NULL);
	return dux_audit_queue(c, &log, action, escrow_id, actor, data);
}

int audit_init(escrow_t *e, char *err, size_t len)
{
	return dux_audit_key_load("escrow.audit_key_file", e->cfg.audit_key_file, &e->audit_key,
				  err, len);
}

int audit_chain_run(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	dux_audit_t log = audit_log(ctx);
	return dux_audit_chain_run(d, c, &log);
}
