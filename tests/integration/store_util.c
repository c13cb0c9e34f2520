/* store_util.c - see store_util.h. */
#include "store_util.h"
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void store_config(const su_t *s, const char *store_yaml, char *extra, size_t len)
{
	snprintf(extra, len,
		 "auth:\n  public_key_file: %s\nstore:\n  wallet_url: \"%s\"\n"
		 "  wallet_token: \"%s\"\n  wallet_timeout_ms: 2000\n  escrow_url: \"%s\"\n"
		 "  escrow_events: \"%s\"\n  escrow_token: \"%s\"\n  events_poll_ms: %d\n%s",
		 s->e.w.keyfile, s->e.w.url, s->wallet_token, s->escrow_url, s->escrow_events,
		 s->escrow_token, s->opts.events_poll_ms ? s->opts.events_poll_ms : 300, store_yaml);
}

static bool start_store(su_t *s)
{
	char extra[8192];
	store_config(s, s->store_yaml, extra, sizeof extra);
	bool ok = th_daemon_respawn(&s->d, "duxos-store", &s->e.w.pg, extra, true);
	s->url = s->d.url;
	return ok;
}

bool su_start(su_t *s, const su_opts_t *o)
{
	memset(s, 0, sizeof *s);
	s->opts = *o;
	snprintf(s->store_yaml, sizeof s->store_yaml, "%s", o->store_yaml ? o->store_yaml : "");
	bool ok;
	if (o->own_publisher) {
		ok = wu_start(&s->e.w, NULL, NULL);
		snprintf(s->escrow_url, sizeof s->escrow_url, "%s", o->escrow_url);
		snprintf(s->escrow_events, sizeof s->escrow_events, "%s", o->escrow_events);
	} else {
		ok = eu_start(&s->e, NULL);
		snprintf(s->escrow_url, sizeof s->escrow_url, "%s", s->e.d.url);
		snprintf(s->escrow_events, sizeof s->escrow_events, "%s", s->e.d.bus);
	}
	/* service tokens that outlive any test */
	ok = ok &&
	     wu_token(s->e.w.key, "duxos-store", DUX_SCOPE_SERVICE, 7200, s->wallet_token,
		      sizeof s->wallet_token) &&
	     wu_token(s->e.w.key, "duxos-store", DUX_SCOPE_SERVICE, 7200, s->escrow_token,
		      sizeof s->escrow_token) &&
	     wu_bearer(&s->e.w, "store-admin", DUX_SCOPE_ADMIN, s->admin, sizeof s->admin);
	return ok && start_store(s);
}

bool su_store_restart(su_t *s)
{
	return start_store(s);
}

int su_store_stop(su_t *s)
{
	return th_daemon_stop(&s->d);
}

void su_store_kill(su_t *s)
{
	th_daemon_kill(&s->d);
}

bool su_finish(su_t *s)
{
	int st = s->d.pid > 0 ? su_store_stop(s) : 0;
	int es = s->e.d.pid > 0 ? eu_escrow_stop(&s->e) : 0;
	int ws = s->e.w.d.pid > 0 ? eu_wallet_stop(&s->e) : 0;
	if (st != 0 || es != 0 || ws != 0)
		fprintf(stderr, "exit status: store %d, escrow %d, wallet %d\n", st, es, ws);
	eu_free(&s->e);
	return st == 0 && es == 0 && ws == 0;
}

void su_dump_logs(const su_t *s)
{
	th_daemon_dump_log(&s->d);
}

int su_http(const su_t *s, const char *method, const char *path, const char *auth,
	    const char *const *extra, const char *body, dux_client_resp_t *resp)
{
	return th_http_as(s->url, method, path, auth, extra, body, resp);
}

long su_call(const su_t *s, const char *method, const char *path, const char *auth,
	     const char *const *extra, const char *body, cJSON **ret)
{
	return th_call(s->url, method, path, auth, extra, body, ret);
}

bool su_check(const su_t *s, const char *method, const char *path, const char *auth,
	      const char *const *extra, const char *body, long status, const char *problem,
	      const char *field, cJSON **ret)
{
	dux_client_resp_t resp;
	if (ret)
		*ret = NULL;
	if (su_http(s, method, path, auth, extra, body, &resp) < 0) {
		fprintf(stderr, "%s %s: no answer\n", method, path);
		return false;
	}
	const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp.json, "field"));
	bool ok = resp.status == status && strcmp(th_problem(&resp), problem) == 0 &&
		  (!field || (f && strcmp(f, field) == 0));
	if (!ok)
		fprintf(stderr, "%s %s %.300s\n  want %ld %s%s%s, got %ld %.600s\n", method, path,
			body ? body : "", status, problem, field ? " field " : "", field ? field : "",
			resp.status, resp.body);
	if (ret) {
		*ret = resp.json;
		resp.json = NULL;
	}
	dux_client_resp_clear(&resp);
	return ok;
}

bool su_provider(su_t *s, eu_user_t *p)
{
	return eu_user(&s->e, p, "prov", DUX_SCOPE_PROVIDER, NULL);
}

bool su_user(su_t *s, eu_user_t *u, const char *fund)
{
	return eu_user(&s->e, u, "user", DUX_SCOPE_USER, fund);
}

const char *su_body(char buf[SU_BODY_MAX], const char *name, const char *description,
		    const char *version, const char *provider, const char *price,
		    const char *tags, const char *more)
{
	snprintf(buf, SU_BODY_MAX,
		 "{\"name\":\"%s\",\"description\":\"%s\",\"version\":\"%s\",\"provider\":\"%s\","
		 "\"price\":\"%s\",\"tags\":%s,\"endpoint\":\"https://node.example:8080/api\"%s}",
		 name, description, version, provider, price, tags ? tags : "[]",
		 more ? more : ",\"rate_limit\":100");
	return buf;
}

bool su_publish(su_t *s, const eu_user_t *p, const char *body, char id[64])
{
	cJSON *j = NULL;
	long st = su_call(s, "POST", "/v1/services", p->auth, NULL, body, &j);
	const char *got = eu_str(j, "id");
	bool ok = st == 201 && strlen(got) == 36;
	if (ok)
		snprintf(id, 64, "%s", got);
	else
		fprintf(stderr, "POST /v1/services %s: %ld\n", body, st);
	cJSON_Delete(j);
	return ok;
}

bool su_paid_call(su_t *s, const eu_user_t *u, const char *provider_addr, const char *api_id,
		  const char *amount, char escrow_id[64])
{
	char body[512];
	cJSON *esc = NULL;
	snprintf(body, sizeof body,
		 "{\"api_id\":\"%s\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\",\"amount\":\"%s\"}",
		 api_id, u->addr, provider_addr, amount);
	long st = eu_call(&s->e, "POST", "/v1/escrow/create", u->auth, NULL, body, &esc);
	bool ok = st == 201 && strcmp(eu_str(esc, "status"), "held") == 0;
	if (ok)
		snprintf(escrow_id, 64, "%s", eu_str(esc, "id"));
	else
		fprintf(stderr, "escrow create for %s: %ld\n", api_id, st);
	cJSON_Delete(esc);
	if (!ok)
		return false;
	uint8_t h[DUX_SHA256_LEN];
	char hex[65];
	dux_sha256(escrow_id, strlen(escrow_id), h);
	dux_hex_encode(h, sizeof h, hex);
	snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", escrow_id, hex);
	esc = NULL;
	st = eu_call(&s->e, "POST", "/v1/escrow/release", s->e.service, NULL, body, &esc);
	ok = st == 200 && strcmp(eu_str(esc, "status"), "released") == 0;
	if (!ok)
		fprintf(stderr, "escrow release %s: %ld\n", escrow_id, st);
	cJSON_Delete(esc);
	return ok;
}

cJSON *su_service(const su_t *s, const char *id)
{
	char path[128];
	cJSON *j = NULL;
	snprintf(path, sizeof path, "/v1/services/%s", id);
	if (su_call(s, "GET", path, NULL, NULL, NULL, &j) != 200) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int64_t su_total_calls(const su_t *s, const char *id)
{
	cJSON *j = su_service(s, id);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "total_calls");
	int64_t v = cJSON_IsNumber(n) ? (int64_t)n->valuedouble : -1;
	cJSON_Delete(j);
	return v;
}

bool su_wait_calls(const su_t *s, const char *id, int64_t want, int timeout_ms)
{
	int64_t got = -1;
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		got = su_total_calls(s, id);
		if (got == want)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "service %s: total_calls %lld, expected %lld\n", id, (long long)got,
		(long long)want);
	return false;
}

bool su_sql(const su_t *s, const char *sql, char *out, size_t len)
{
	char password[256] = "", conninfo[1024];
	FILE *f = fopen(s->e.w.pg.password_file, "r");
	if (!f || !fgets(password, sizeof password, f)) {
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	password[strcspn(password, "\r\n")] = '\0';
	snprintf(conninfo, sizeof conninfo, "%s password=%s", s->e.w.pg.conninfo, password);
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "SQL %s: %s\n", sql, PQerrorMessage(c));
	out[0] = '\0';
	if (ok && st == PGRES_TUPLES_OK && PQntuples(res) > 0)
		snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return ok;
}

bool su_store_copy(su_t *s, th_daemon_t *copy, const char *store_yaml)
{
	char extra[8192];
	memset(copy, 0, sizeof *copy);
	store_config(s, store_yaml ? store_yaml : "", extra, sizeof extra);
	return th_daemon_start(copy, "duxos-store", &s->e.w.pg, extra, true);
}

long su_metric(const char *url, const char *name)
{
	dux_client_resp_t resp;
	char key[160];
	long v = -1;
	snprintf(key, sizeof key, "\n%s ", name);
	if (th_http_as(url, "GET", "/metrics", NULL, NULL, NULL, &resp) < 0)
		return -1;
	const char *at = resp.body ? strstr(resp.body, key) : NULL;
	if (at)
		v = strtol(at + strlen(key), NULL, 10);
	dux_client_resp_clear(&resp);
	return v;
}

bool su_index_wait(const su_t *s, const char *url, int timeout_ms)
{
	char out[32];
	if (!su_sql(s, "SELECT coalesce(max(change_seq), 0) FROM store.services", out, sizeof out))
		return false;
	long want = strtol(out, NULL, 10), got = -1;
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		got = su_metric(url, "store_search_index_seq");
		if (got >= want)
			return true;
		usleep(20000);
	}
	fprintf(stderr, "%s: store_search_index_seq %ld, the table's change_seq %ld\n", url, got,
		want);
	return false;
}
