/* views.c - the airdrop's own view of the network, kept from the other daemons' events by
 * libduxcommon's subscriber (dux_sub_start: a cursor per source, backfill from the publisher's
 * GET /v1/events, each event applied once, in the transaction that advances the cursor):
 *
 *   duxos-registry  node.*          -> nodes (wallet address, status, reputation, heartbeat,
 *                                      first registration), the last event about a node wins
 *   duxos-tasks     task.succeeded  -> attempts with verdict agreed (validated work) or
 *                                      disagreed (flagged); task.failed -> disagreed only
 *   duxos-escrow    fund.balance    -> fund (the newest reading wins)
 *
 * An event this code cannot use is logged and skipped, never retried: an error would roll the
 * cursor back and hold every later event behind it for good. */
#include "airdrop.h"
#include <dux/address.h>
#include <dux/log.h>
#include <dux/money.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

bool views_time_ok(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS[.fff]Z */
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	size_t n = s ? strlen(s) : 0;
	if (n != 20 && n != 24)
		return false;
	for (size_t i = 0; i < sizeof pat - 1; i++) {
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return false;
	}
	if (n == 24 && (s[19] != '.' || strspn(s + 20, "0123456789") != 3))
		return false;
	return s[n - 1] == 'Z';
}

static void skipped(airdrop_t *a, const dux_event_t *ev, const char *why)
{
	dux_metric_add(a->m_skipped, 1);
	dux_warn("%s event %lld (%s, %s) skipped: %s", ev->source, (long long)ev->seq, ev->type,
		 ev->id, why);
}

/* ---- duxos-registry */

static const char *read_node(airdrop_t *a, const cJSON *d, double *rep)
{
	const char *id = str(d, "node_id"), *w = str(d, "wallet_address"), *st = str(d, "status");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "reputation_score");
	const char *why = NULL;
	if (!id || strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
		return "data.node_id is not a node id";
	if (!w || dux_address_validate(w, dux_daemon_net(a->d), NULL, &why) < 0)
		return "data.wallet_address is not an address of this network";
	if (!st || (strcmp(st, "online") != 0 && strcmp(st, "offline") != 0))
		return "data.status is not online or offline";
	if (!cJSON_IsNumber(r) || !isfinite(r->valuedouble) || r->valuedouble < 0 ||
	    r->valuedouble > 1)
		return "data.reputation_score is not a number in [0, 1]";
	if (!views_time_ok(str(d, "last_heartbeat")) || !views_time_ok(str(d, "registered_at")))
		return "data.last_heartbeat or data.registered_at is not an RFC 3339 UTC time";
	*rep = r->valuedouble;
	return NULL;
}

static int apply_registry(dux_db_conn_t *c, const dux_event_t *ev, void *ctx)
{
	airdrop_t *a = ctx;
	double rep = 0;
	const char *why = read_node(a, ev->data, &rep);
	if (why) {
		skipped(a, ev, why);
		return 0;
	}
	char reps[32], seq[24];
	snprintf(reps, sizeof reps, "%.17g", rep);
	snprintf(seq, sizeof seq, "%lld", (long long)ev->seq);
	const char *p[] = {str(ev->data, "node_id"),	    str(ev->data, "wallet_address"),
			   str(ev->data, "status"),	    reps,
			   str(ev->data, "last_heartbeat"), str(ev->data, "registered_at"),
			   seq};
	return dux_db_execp(c, "airdrop_node",
			    "INSERT INTO nodes AS n (node_id, wallet_address, status, reputation,"
			    " last_heartbeat, registered_at, event_seq) VALUES ($1, $2, $3,"
			    " $4::float8, $5::timestamptz, $6::timestamptz, $7::bigint)"
			    " ON CONFLICT (node_id) DO UPDATE SET wallet_address = excluded.wallet_address,"
			    " status = excluded.status, reputation = excluded.reputation,"
			    " last_heartbeat = excluded.last_heartbeat,"
			    " registered_at = least(n.registered_at, excluded.registered_at),"
			    " event_seq = excluded.event_seq, updated_at = now()",
			    7, p, NULL);
}

/* ---- duxos-tasks */

/* CPU microseconds of an attempt's usage (0 when it has none). */
static int64_t cpu_of(const cJSON *att)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(att, "usage");
	int64_t sum = 0;
	const char *keys[] = {"cpu_user_us", "cpu_sys_us"};
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, keys[i]);
		if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15)
			sum += (int64_t)v->valuedouble;
	}
	return sum;
}

static bool hexid_ok(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	return s && strlen(s) == pl + 32 && strncmp(s, prefix, pl) == 0 &&
	       strspn(s + pl, "0123456789abcdef") == 32;
}

static int apply_attempt(dux_db_conn_t *c, const char *task_id, const cJSON *att,
			 const char *task_at, bool succeeded)
{
	const char *id = str(att, "id"), *node = str(att, "node_id"), *v = str(att, "verdict");
	const char *at = str(att, "finished_at");
	if (!v || !(strcmp(v, "disagreed") == 0 || (succeeded && strcmp(v, "agreed") == 0)))
		return 0; /* nothing the airdrop counts */
	if (!hexid_ok(id, "att_") || !node || strlen(node) != 32 ||
	    strspn(node, "0123456789abcdef") != 32)
		return 1; /* malformed */
	if (!views_time_ok(at))
		at = task_at;
	char cpu[24];
	snprintf(cpu, sizeof cpu, "%lld", (long long)cpu_of(att));
	const char *p[] = {id, task_id, node, v, cpu, at};
	int r = dux_db_execp(c, "airdrop_attempt",
			     "INSERT INTO attempts (attempt_id, task_id, node_id, verdict, cpu_us, at)"
			     " VALUES ($1, $2, $3, $4, $5::bigint, $6::timestamptz)"
			     " ON CONFLICT (attempt_id) DO NOTHING",
			     6, p, NULL);
	return r < 0 ? r : 0;
}

static int apply_tasks(dux_db_conn_t *c, const dux_event_t *ev, void *ctx)
{
	airdrop_t *a = ctx;
	bool succeeded = strcmp(ev->type, "task.succeeded") == 0;
	const char *task = str(ev->data, "id");
	const cJSON *atts = cJSON_GetObjectItemCaseSensitive(ev->data, "attempts"), *att;
	char evtime[40];
	dux_time_format(ev->time_us, evtime);
	const char *task_at = str(ev->data, "finished_at");
	if (!views_time_ok(task_at))
		task_at = evtime;
	if (!hexid_ok(task, "tsk_") || !cJSON_IsArray(atts)) {
		skipped(a, ev, "data.id is not a task id or data.attempts is not an array");
		return 0;
	}
	int bad = 0;
	cJSON_ArrayForEach(att, atts)
	{
		int r = apply_attempt(c, task, att, task_at, succeeded);
		if (r < 0)
			return r;
		bad += r;
	}
	if (bad)
		skipped(a, ev, "some attempts lack a valid id or node_id (the others were applied)");
	return 0;
}

/* ---- duxos-escrow */

int views_fund_record(dux_db_conn_t *c, int64_t balance, const char *read_at, const char *source)
{
	char b[24];
	snprintf(b, sizeof b, "%lld", (long long)balance);
	const char *p[] = {b, read_at, source};
	return dux_db_execp(c, "airdrop_fund",
			    "INSERT INTO fund AS f (balance, read_at, source) VALUES ($1::bigint,"
			    " $2::timestamptz, $3)"
			    " ON CONFLICT (one) DO UPDATE SET balance = excluded.balance,"
			    " read_at = excluded.read_at, source = excluded.source, updated_at = now()"
			    " WHERE f.read_at <= excluded.read_at",
			    3, p, NULL);
}

static int apply_escrow(dux_db_conn_t *c, const dux_event_t *ev, void *ctx)
{
	airdrop_t *a = ctx;
	const char *b = str(ev->data, "balance"), *at = str(ev->data, "at");
	int64_t units;
	if (!b || dux_money_parse(b, strlen(b), false, &units) < 0 || !views_time_ok(at)) {
		skipped(a, ev, "data.balance is not an amount or data.at not a time");
		return 0;
	}
	/* the reading's own time orders it against the monitor's readings */
	return views_fund_record(c, units, at, "event");
}

/* ---- the subscribers */

static int sub_one(airdrop_t *a, const char *source, const char *endpoint, const char *url,
		   const char *const *topics, dux_sub_apply_fn fn, dux_sub_t **ret)
{
	if (!*url) {
		dux_warn("%s: no URL configured: its events are not followed", source);
		return 0;
	}
	dux_sub_opts_t o = {
		.source = source,
		.endpoint = endpoint,
		.base_url = url,
		.bearer = a->cfg.service_token,
		.topics = topics,
		.poll_ms = (int)a->cfg.events_poll_ms,
		.apply = fn,
		.ctx = a,
		.stuck = a->m_stuck,
	};
	int r = dux_sub_start(dux_daemon_db(a->d), &o, ret);
	if (r < 0)
		dux_error("cannot subscribe to %s at %s: %s", source, endpoint, dux_strerror(r));
	return r;
}

int views_start(airdrop_t *a)
{
	static const char *const node_topics[] = {"node.", NULL};
	static const char *const fund_topics[] = {"fund.balance", NULL};
	static const char *const task_topics[] = {"task.succeeded", "task.failed", NULL};
	const airdrop_cfg_t *c = &a->cfg;
	int r = sub_one(a, "duxos-registry", c->registry_events, c->registry_url, node_topics,
			apply_registry, &a->sub_registry);
	if (r == 0)
		r = sub_one(a, "duxos-escrow", c->escrow_events, c->escrow_url, fund_topics,
			    apply_escrow, &a->sub_escrow);
	if (r == 0)
		r = sub_one(a, "duxos-tasks", c->tasks_events, c->tasks_url, task_topics,
			    apply_tasks, &a->sub_tasks);
	return r;
}

void views_stop(airdrop_t *a)
{
	a->sub_registry = dux_sub_stop(a->sub_registry);
	a->sub_escrow = dux_sub_stop(a->sub_escrow);
	a->sub_tasks = dux_sub_stop(a->sub_tasks);
}
