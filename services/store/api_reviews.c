/* api_reviews.c - ratings and reviews: POST /services/{id}/reviews (1 to 5 stars and an
 * optional text, one per reviewer and service: posting again replaces it) and GET
 * /services/{id}/reviews (newest first, by cursor).
 *
 * Only a caller who has paid for a call of the service may review it: the store learns who
 * paid from duxos-escrow's escrow.released events (usage.c), whose escrow owner is the token
 * subject that paid. A service's owner does not review its own service. The service's rating
 * count and sum, and so its reputation, change in the transaction that writes the review,
 * under the service row's lock, recounted from the reviews themselves. */
#include "store.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REVIEWED = 0, NO_SERVICE, OWN_SERVICE, NOT_PAID };

typedef struct {
	const char *id, *reviewer, *text;
	int64_t stars;
	int outcome;
	bool created;
	char *json;
} review_t;

static int paid(dux_db_conn_t *c, const char *id, const char *who, bool *ret)
{
	const char *p[] = {id, who};
	PGresult *res;
	int r = dux_db_execp(c, "store_paid",
			     "SELECT EXISTS (SELECT 1 FROM calls WHERE api_id = $1 AND owner = $2)", 2,
			     p, &res);
	if (r < 0)
		return r;
	*ret = dux_db_bool(res, 0, 0);
	PQclear(res);
	return 0;
}

static int review_tx(dux_db_conn_t *c, void *arg)
{
	review_t *x = arg;
	service_row_t row;
	bool has_paid = false;
	int r = services_load(c, x->id, true, &row);
	if (r == DUX_ENOENT) {
		x->outcome = NO_SERVICE;
		return 0;
	}
	if (r == 0 && strcmp(row.owner, x->reviewer) == 0) {
		x->outcome = OWN_SERVICE;
		return 0;
	}
	if (r == 0)
		r = paid(c, x->id, x->reviewer, &has_paid);
	if (r < 0)
		return r;
	if (!has_paid) {
		x->outcome = NOT_PAID;
		return 0;
	}
	char stars[8];
	snprintf(stars, sizeof stars, "%lld", (long long)x->stars);
	const char *p[] = {x->id, x->reviewer, stars, x->text, row.version};
	PGresult *res;
	r = dux_db_execp(c, "store_review",
			 "INSERT INTO reviews AS rv (service_id, reviewer, stars, body, version)"
			 " VALUES ($1, $2, $3::smallint, $4, $5) ON CONFLICT (service_id, reviewer)"
			 " DO UPDATE SET stars = EXCLUDED.stars, body = EXCLUDED.body,"
			 " version = EXCLUDED.version, updated_at = now()"
			 " RETURNING review_json(rv)::text, xmax = 0",
			 5, p, &res);
	if (r < 0)
		return r;
	free(x->json);
	x->json = strdup(PQgetvalue(res, 0, 0));
	x->created = dux_db_bool(res, 0, 1);
	PQclear(res);
	if (!x->json)
		return DUX_ENOMEM;
	const char *q[] = {x->id};
	return dux_db_execp(c, "store_rating",
			    "UPDATE services SET (rating_count, rating_sum) = (SELECT count(*),"
			    " coalesce(sum(stars), 0) FROM reviews WHERE service_id = $1)"
			    " WHERE id = $1",
			    1, q, NULL);
}

void api_review_post(dux_req_t *r, void *app)
{
	static const char *const allowed[] = {"stars", "text", NULL};
	store_t *s = app;
	review_t x = {.id = dux_req_param(r, "id"), .reviewer = dux_req_token(r)->sub};
	dux_verr_t err;
	cJSON *body = NULL;
	if (!service_id_ok(x.id)) {
		reply_no_service(r, x.id);
		return;
	}
	if (!(body = dux_req_json(r, allowed)))
		return;
	int rc = dux_json_i64(body, "stars", true, 1, 5, &x.stars, &err);
	if (rc == 0)
		rc = text_member(body, "text", false, 1, REVIEW_MAX_BYTES, true, &x.text, &err);
	if (rc < 0) {
		dux_reply_verr(r, &err);
		goto out;
	}
	rc = dux_db_tx(dux_daemon_db(s->d), NULL, review_tx, &x);
	if (rc < 0)
		dux_reply_err(r, rc, "the review");
	else if (x.outcome == NO_SERVICE)
		reply_no_service(r, x.id);
	else if (x.outcome == OWN_SERVICE)
		dux_reply_problem(r, 403, "own-service",
				  "the owner of service %s may not review it", x.id);
	else if (x.outcome == NOT_PAID)
		dux_reply_problem(r, 403, "no-paid-call",
				  "only a caller who has paid for a call of service %s may review it"
				  " (no released escrow of %s for it is known)",
				  x.id, x.reviewer);
	else
		reply_db_json(r, x.created ? 201 : 200, x.json);
	if (rc == 0 && x.outcome == REVIEWED)
		search_changed(s); /* the reputation searches filter and sort by */
out:
	free(x.json);
	cJSON_Delete(body);
}

/* The cursor of a reviews page: the last review's updated_at (unix microseconds) and its
 * reviewer. Both NULL without a cursor. */
static bool reviews_cursor(dux_req_t *r, char at[24], char **reviewer, char *buf, size_t len)
{
	const char *cur = dux_req_query(r, "cursor");
	char *parts[3];
	*reviewer = NULL;
	at[0] = '\0';
	if (!cur)
		return true;
	bool ok = cursor_decode(cur, 3, buf, len, parts) == 0 && strcmp(parts[0], "r") == 0 &&
		  strlen(parts[1]) >= 1 && strlen(parts[1]) <= 18 &&
		  strspn(parts[1], "0123456789") == strlen(parts[1]) && strlen(parts[2]) >= 1 &&
		  strlen(parts[2]) <= 127;
	if (!ok) {
		cJSON *ext = cJSON_CreateObject();
		cJSON_AddStringToObject(ext, "field", "cursor");
		dux_reply_problem_ext(r, 400, "invalid-query", ext,
				      "cursor must be a next_cursor of an earlier page of this list");
		return false;
	}
	snprintf(at, 24, "%s", parts[1]);
	*reviewer = parts[2];
	return true;
}

void api_reviews_list(dux_req_t *r, void *app)
{
	static const char *const params[] = {"limit", "cursor", NULL};
	store_t *s = app;
	const char *id = dux_req_param(r, "id");
	int64_t limit;
	char at[24], lim[24], buf[CURSOR_MAX], *reviewer;
	if (!query_known_or_reply(r, params, params) ||
	    !dux_req_query_i64(r, "limit", PAGE_DEFAULT, 1, PAGE_MAX, &limit) ||
	    !reviews_cursor(r, at, &reviewer, buf, sizeof buf))
		return;
	if (!service_id_ok(id)) {
		reply_no_service(r, id);
		return;
	}
	snprintf(lim, sizeof lim, "%lld", (long long)limit + 1);
	const char *p[] = {id, reviewer ? at : NULL, reviewer, lim};
	service_row_t row;
	dux_db_conn_t *c;
	PGresult *res = NULL;
	int rc = dux_db_acquire(dux_daemon_db(s->d), &c);
	if (rc == 0) {
		rc = services_load(c, id, false, &row);
		if (rc == 0)
			rc = dux_db_execp(
				c, "store_reviews",
				"SELECT review_json(rv)::text,"
				" (extract(epoch FROM updated_at) * 1000000)::bigint, reviewer"
				" FROM reviews rv WHERE service_id = $1 AND ($2::bigint IS NULL OR"
				" (updated_at, reviewer) < ('epoch'::timestamptz + $2::bigint *"
				" interval '1 microsecond', $3::text))"
				" ORDER BY updated_at DESC, reviewer DESC LIMIT $4::int",
				4, p, &res);
		dux_db_release(dux_daemon_db(s->d), c);
	}
	if (rc == DUX_ENOENT) {
		reply_no_service(r, id);
		return;
	}
	if (rc < 0) {
		dux_reply_err(r, rc, "the reviews");
		return;
	}
	reply_page(r, "reviews", res, limit, "r", 2);
	PQclear(res);
}
