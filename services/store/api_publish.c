/* api_publish.c - the provider's side of the catalogue: POST /services publishes a service,
 * PUT /services/{id} publishes a new version of it (the old one stays readable), DELETE
 * /services/{id} delists it (it leaves the search, and stays readable with listed false).
 *
 * A service is published under a provider wallet address that the caller owns, as the wallet
 * says; the caller (the token's subject) becomes the service's owner, and only the owner may
 * publish new versions. The wallet is asked before any transaction starts, so no database
 * lock is held while it answers. */
#include "store.h"
#include <dux/bus.h>
#include <dux/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const service_fields[] = {"name",	 "description", "version",
					     "provider", "price",	"tags",
					     "endpoint", "rate_limit",	NULL};

typedef struct {
	const service_input_t *in;
	const char *id, *owner, *idem;
	char hash[65];
	char *json;
	bool existed, same;
} publish_t;

/* An event of the change, in its transaction: data is the service as the answer shows it. */
static int emit(dux_db_conn_t *c, const char *type, const char *id, const char *json)
{
	cJSON *data = cJSON_Parse(json);
	int r = data ? dux_outbox_emit(c, type, id, data) : DUX_ENOMEM;
	cJSON_Delete(data);
	return r;
}

static int publish_tx(dux_db_conn_t *c, void *arg)
{
	publish_t *x = arg;
	char price[24], rate[24], tags[TAGS_MAX * 36 + 3];
	snprintf(price, sizeof price, "%lld", (long long)x->in->price);
	snprintf(rate, sizeof rate, "%lld", (long long)x->in->rate_limit);
	input_tags_array(x->in->tags, x->in->ntags, tags, sizeof tags);
	const char *p[] = {x->id,	     x->owner,		x->in->provider, x->in->name,
			   x->in->description, x->in->version, price,	   tags,
			   x->in->endpoint,    rate,		x->idem,	   x->idem ? x->hash : NULL};
	PGresult *res;
	/* calls paid before the service existed (an escrow naming its id early) count too */
	int r = dux_db_execp(
		c, "store_publish",
		"INSERT INTO services AS s (id, owner, provider, name, description, version, price,"
		" tags, endpoint, rate_limit, idem_key, idem_hash, total_calls) VALUES ($1, $2, $3,"
		" $4, $5, $6, $7::bigint, $8::text[], $9, $10::int, $11, $12,"
		" (SELECT count(*) FROM calls WHERE api_id = $1))"
		" ON CONFLICT (owner, idem_key) WHERE idem_key IS NOT NULL DO NOTHING"
		" RETURNING service_json(s)::text",
		12, p, &res);
	if (r < 0)
		return r;
	x->existed = PQntuples(res) == 0;
	free(x->json);
	x->json = x->existed ? NULL : strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!x->existed)
		return x->json ? emit(c, "service.published", x->id, x->json) : DUX_ENOMEM;
	/* the same owner and Idempotency-Key: the service published the first time */
	const char *q[] = {x->owner, x->idem};
	r = dux_db_execp(c, "store_publish_again",
			 "SELECT service_json(s)::text, idem_hash FROM services s"
			 " WHERE owner = $1 AND idem_key = $2",
			 2, q, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1) {
		x->json = strdup(PQgetvalue(res, 0, 0));
		x->same = strcmp(PQgetvalue(res, 0, 1), x->hash) == 0;
	}
	PQclear(res);
	return x->json ? 0 : DUX_ECONFLICT;
}

static void reply_created(dux_req_t *r, const char *id, const char *json)
{
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/services/%s", id);
	dux_reply_header(r, "Location", loc);
	reply_db_json(r, 201, json);
}

void api_service_publish(dux_req_t *r, void *app)
{
	store_t *s = app;
	const dux_token_t *t = dux_req_token(r);
	service_input_t in;
	dux_verr_t err;
	char id[SERVICE_ID_LEN + 1];
	publish_t x = {.in = &in, .id = id, .owner = t->sub};
	cJSON *body = dux_req_json(r, service_fields);
	if (!body)
		return;
	if (input_service(s, body, true, &in, &err) < 0) {
		dux_reply_verr(r, &err);
		goto out;
	}
	if (input_idem_key(r, &x.idem) < 0 || !wallet_owns_or_reply(s, r, in.provider, t->sub))
		goto out;
	memcpy(id, "svc_", 4);
	dux_random_id(id + 4);
	input_hash(&in, x.hash);
	int rc = dux_db_tx(dux_daemon_db(s->d), NULL, publish_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "the service");
	else if (x.existed && !x.same)
		dux_reply_problem(r, 422, "idempotency-key-reused",
				  "this Idempotency-Key was used before to publish a different service");
	else if (x.existed) /* asked before: the service as it stands now */
		reply_db_json(r, 200, x.json);
	else
		reply_created(r, id, x.json);
	if (rc == 0 && !x.existed)
		search_changed(s);
out:
	free(x.json);
	cJSON_Delete(body);
}

/* ---- PUT /services/{id} */

typedef struct {
	const service_input_t *in;
	const char *id, *caller;
	service_row_t row; /* as found, locked */
	int outcome;       /* 0, or the refusal found under the lock (see refuse) */
	char *json;
} update_t;

enum { OK_UPDATED = 0, NO_SERVICE = 1, NOT_OWNER, DELISTED, NOT_RAISED };

/* Why row may not get version in from caller; 0 when it may. */
static int update_refusal(const service_row_t *row, const char *caller, const char *version)
{
	if (strcmp(row->owner, caller) != 0)
		return NOT_OWNER;
	if (!row->listed)
		return DELISTED;
	if (semver_cmp(version, row->version) <= 0)
		return NOT_RAISED;
	return OK_UPDATED;
}

static int update_tx(dux_db_conn_t *c, void *arg)
{
	update_t *x = arg;
	int r = services_load(c, x->id, true, &x->row);
	if (r == DUX_ENOENT) {
		x->outcome = NO_SERVICE;
		return 0;
	}
	if (r < 0)
		return r;
	x->outcome = update_refusal(&x->row, x->caller, x->in->version);
	if (x->outcome != OK_UPDATED)
		return 0;
	char price[24], rate[24], tags[TAGS_MAX * 36 + 3];
	snprintf(price, sizeof price, "%lld", (long long)x->in->price);
	snprintf(rate, sizeof rate, "%lld", (long long)x->in->rate_limit);
	input_tags_array(x->in->tags, x->in->ntags, tags, sizeof tags);
	const char *p[] = {x->id,		x->in->version, x->in->provider, x->in->name,
			   x->in->description, price,	  tags,		   x->in->endpoint,
			   rate};
	PGresult *res;
	/* one statement: the CTE reads the row as it was before the UPDATE */
	r = dux_db_execp(
		c, "store_update",
		"WITH old AS (INSERT INTO service_versions (service_id, seq, version, provider, name,"
		" description, price, tags, endpoint, rate_limit, published_at) SELECT id,"
		" version_seq, version, provider, name, description, price, tags, endpoint,"
		" rate_limit, version_at FROM services WHERE id = $1)"
		" UPDATE services s SET version = $2, version_seq = version_seq + 1,"
		" provider = coalesce($3, provider), name = $4, description = $5,"
		" price = $6::bigint, tags = $7::text[], endpoint = $8, rate_limit = $9::int,"
		" version_at = now(), updated_at = now() WHERE id = $1"
		" RETURNING service_json(s)::text",
		9, p, &res);
	if (r < 0)
		return r;
	free(x->json);
	x->json = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	return x->json ? emit(c, "service.updated", x->id, x->json) : DUX_ENOMEM;
}

static void reply_refusal(dux_req_t *r, int outcome, const char *id, const service_row_t *row,
			  const char *version)
{
	switch (outcome) {
	case NO_SERVICE: reply_no_service(r, id); break;
	case NOT_OWNER:
		dux_reply_problem(r, 403, "not-owner",
				  "service %s belongs to another owner; only its owner may change it",
				  id);
		break;
	case DELISTED:
		dux_reply_problem(r, 409, "delisted",
				  "service %s is delisted; a delisted service gets no new versions", id);
		break;
	default: {
		cJSON *ext = cJSON_CreateObject();
		cJSON_AddStringToObject(ext, "field", "version");
		cJSON_AddStringToObject(ext, "current_version", row->version);
		dux_reply_problem_ext(r, 409, "version-not-raised", ext,
				      "version %s does not raise the current version %s (semantic"
				      " version precedence)",
				      version, row->version);
	}
	}
}

/* The row as it stands, read without a lock: for the checks worth making before asking the
 * wallet. Replies and returns false when the update cannot go ahead. */
static bool precheck(store_t *s, dux_req_t *r, const char *id, const service_input_t *in,
		     service_row_t *row)
{
	dux_db_conn_t *c;
	int rc = dux_db_acquire(dux_daemon_db(s->d), &c);
	if (rc == 0) {
		rc = services_load(c, id, false, row);
		dux_db_release(dux_daemon_db(s->d), c);
	}
	int outcome = rc == DUX_ENOENT ? NO_SERVICE
		      : rc == 0	       ? update_refusal(row, dux_req_token(r)->sub, in->version)
				       : OK_UPDATED;
	if (rc < 0 && rc != DUX_ENOENT)
		dux_reply_err(r, rc, "the service");
	else if (outcome != OK_UPDATED)
		reply_refusal(r, outcome, id, row, in->version);
	return rc == 0 && outcome == OK_UPDATED;
}

void api_service_update(dux_req_t *r, void *app)
{
	store_t *s = app;
	const char *id = dux_req_param(r, "id");
	service_input_t in;
	dux_verr_t err;
	update_t x = {.in = &in, .id = id, .caller = dux_req_token(r)->sub};
	cJSON *body = NULL;
	if (!service_id_ok(id)) {
		reply_no_service(r, id);
		return;
	}
	if (!(body = dux_req_json(r, service_fields)))
		return;
	if (input_service(s, body, false, &in, &err) < 0) {
		dux_reply_verr(r, &err);
		goto out;
	}
	if (!precheck(s, r, id, &in, &x.row))
		goto out;
	/* a new provider address must be the caller's too */
	if (in.provider && strcmp(in.provider, x.row.provider) != 0 &&
	    !wallet_owns_or_reply(s, r, in.provider, x.caller))
		goto out;
	int rc = dux_db_tx(dux_daemon_db(s->d), NULL, update_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "the service");
	else if (x.outcome != OK_UPDATED) /* changed meanwhile */
		reply_refusal(r, x.outcome, id, &x.row, in.version);
	else
		reply_db_json(r, 200, x.json);
	if (rc == 0 && x.outcome == OK_UPDATED)
		search_changed(s);
out:
	free(x.json);
	cJSON_Delete(body);
}

/* ---- DELETE /services/{id} */

typedef struct {
	const char *id, *caller;
	bool admin;
	int outcome;
	char *json;
} delist_t;

static int delist_tx(dux_db_conn_t *c, void *arg)
{
	delist_t *x = arg;
	service_row_t row;
	int r = services_load(c, x->id, true, &row);
	if (r == DUX_ENOENT) {
		x->outcome = NO_SERVICE;
		return 0;
	}
	if (r < 0)
		return r;
	if (!x->admin && strcmp(row.owner, x->caller) != 0) {
		x->outcome = NOT_OWNER;
		return 0;
	}
	const char *p[] = {x->id};
	PGresult *res;
	/* delisting a delisted service changes nothing, and answers it as it stands */
	r = dux_db_execp(c, "store_delist",
			 "UPDATE services s SET listed = false,"
			 " delisted_at = coalesce(delisted_at, now()),"
			 " updated_at = CASE WHEN listed THEN now() ELSE updated_at END"
			 " WHERE id = $1 RETURNING service_json(s)::text",
			 1, p, &res);
	if (r < 0)
		return r;
	free(x->json);
	x->json = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!x->json)
		return DUX_ENOMEM;
	return row.listed ? emit(c, "service.delisted", x->id, x->json) : 0;
}

void api_service_delist(dux_req_t *r, void *app)
{
	store_t *s = app;
	const dux_token_t *t = dux_req_token(r);
	delist_t x = {.id = dux_req_param(r, "id"), .caller = t->sub,
		      .admin = (t->scopes & DUX_SCOPE_ADMIN) != 0};
	int rc = service_id_ok(x.id) ? dux_db_tx(dux_daemon_db(s->d), NULL, delist_tx, &x) : 0;
	if (!service_id_ok(x.id) || x.outcome == NO_SERVICE)
		reply_no_service(r, x.id);
	else if (rc < 0)
		dux_reply_err(r, rc, "the service");
	else if (x.outcome == NOT_OWNER)
		dux_reply_problem(r, 403, "not-owner",
				  "service %s belongs to another owner; only its owner or an admin may"
				  " delist it",
				  x.id);
	else
		reply_db_json(r, 200, x.json);
	if (rc == 0 && x.json)
		search_changed(s);
	free(x.json);
}
