/* nodeview.c - the scheduler's view of the registry's nodes, kept from its node.* events
 * (DESIGN section 6: the cursor advances in the transaction that applies an event, backfill
 * after downtime from the registry's GET /v1/events). Never the registry's tables.
 *
 * An event this code cannot use (a node without the members selection needs) is logged and
 * skipped: returning an error would stop every later event behind it. */
#include "tasks.h"
#include <dux/address.h>
#include <dux/log.h>
#include <dux/sign.h>
#include <dux/text.h>
#include <stdio.h>
#include <string.h>

#define REGISTRY_SOURCE "duxos-registry"

static const char *member(const cJSON *data, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, key));
}

/* Capabilities as a PostgreSQL array literal of plain words; NULL when malformed. */
static bool caps_literal(const cJSON *caps, char *buf, size_t len)
{
	size_t o = 0;
	if (!cJSON_IsArray(caps) || len < 3)
		return false;
	buf[o++] = '{';
	for (const cJSON *c = caps->child; c; c = c->next) {
		const char *s = cJSON_GetStringValue(c);
		size_t n = s ? strlen(s) : 0;
		if (!n || n > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
		    o + n + 3 > len)
			return false;
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o > 1 ? "," : "", s);
	}
	buf[o++] = '}';
	buf[o] = '\0';
	return true;
}

static const char *node_read(const cJSON *d, char caps[1024], char rep[32])
{
	const char *id = member(d, "node_id"), *wallet = member(d, "wallet_address");
	const char *key = member(d, "public_key"), *status = member(d, "status");
	const cJSON *score = cJSON_GetObjectItemCaseSensitive(d, "reputation_score");
	if (!id || dux_node_id_valid(id) < 0)
		return "data.node_id is not a node id";
	if (!wallet || strlen(wallet) > 64 || !dux_text_ok(wallet, false))
		return "data.wallet_address is missing";
	if (!key || strlen(key) != 43)
		return "data.public_key is not a base64url Ed25519 key";
	if (!status || (strcmp(status, "online") && strcmp(status, "offline")))
		return "data.status is neither online nor offline";
	if (!cJSON_IsNumber(score) || score->valuedouble < 0 || score->valuedouble > 1)
		return "data.reputation_score is not within 0..1";
	if (!caps_literal(cJSON_GetObjectItemCaseSensitive(d, "capabilities"), caps, 1024))
		return "data.capabilities is not a list of words";
	snprintf(rep, 32, "%.6f", score->valuedouble);
	return NULL;
}

static int apply(dux_db_conn_t *c, const dux_event_t *ev, void *ctx)
{
	(void)ctx;
	char caps[1024], rep[32], seq[24];
	const char *why = node_read(ev->data, caps, rep);
	if (why) {
		dux_warn("registry event %lld (%s) skipped: %s", (long long)ev->seq, ev->type, why);
		return 0;
	}
	snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
	const char *p[] = {member(ev->data, "node_id"), member(ev->data, "wallet_address"),
			   member(ev->data, "public_key"), member(ev->data, "status"), caps, rep,
			   seq};
	return dux_db_execp(c, "nodeview_upsert",
		"INSERT INTO nodes (id, wallet, public_key, status, capabilities, reputation,"
		" event_seq) VALUES ($1, $2, $3, $4, $5::text[], $6::float8, $7::bigint)"
		" ON CONFLICT (id) DO UPDATE SET wallet = $2, public_key = $3, status = $4,"
		" capabilities = $5::text[], reputation = $6::float8, event_seq = $7::bigint,"
		" updated_at = now() WHERE nodes.event_seq < $7::bigint", 7, p, NULL);
}

int nodeview_start(tasks_t *t)
{
	static const char *const topics[] = {"node.", NULL};
	const dux_sub_opts_t o = {
		.source = REGISTRY_SOURCE,
		.endpoint = t->cfg.registry_events,
		.base_url = t->cfg.registry_url,
		.bearer = *t->cfg.registry_token ? t->cfg.registry_token : NULL,
		.topics = topics,
		.poll_ms = (int)t->cfg.events_poll_ms,
		.apply = apply,
		.ctx = t,
		.stuck = t->m_stuck,
	};
	int r = dux_sub_start(dux_daemon_db(t->d), &o, &t->nodes_sub);
	if (r < 0)
		dux_error("cannot subscribe to %s at %s: %s", REGISTRY_SOURCE,
			  t->cfg.registry_events, dux_strerror(r));
	return r;
}

void nodeview_stop(tasks_t *t)
{
	t->nodes_sub = dux_sub_stop(t->nodes_sub);
}
