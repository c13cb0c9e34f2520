/* call.c - one request to the command's server (the registry, the wallet, ...) through
 * dux_client, and what its answer means for the exit status: 2xx with a JSON object is
 * success, 4xx a refusal (1), anything else the server's failure (3). Refusals are printed
 * from the RFC 9457 problem body. */
#include "duxctl.h"
#include <dux/http.h>
#include <stdlib.h>
#include <string.h>

#define CTL_RETRIES 2 /* extra attempts, for GETs only: the client never repeats a POST */

const char *ctl_base_path(const ctl_t *ctl, size_t *ret_len)
{
	const char *s = strstr(ctl->url, "://");
	const char *p = strchr(s ? s + 3 : ctl->url, '/');
	if (!p) {
		*ret_len = 0;
		return "";
	}
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	*ret_len = n;
	return p;
}

static const char *member(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(j) && j->valuestring[0] ? j->valuestring : NULL;
}

/* "duxctl: 400 Bad Request: wallet_address is not ... (field wallet_address)" */
static void print_problem(const dux_client_resp_t *resp)
{
	const char *title = member(resp->json, "title");
	const char *detail = member(resp->json, "detail");
	const char *field = member(resp->json, "field");
	fprintf(stderr, "duxctl: %ld ", resp->status);
	out_text(stderr, title ? title : dux_http_reason((int)resp->status));
	if (detail) {
		fputs(": ", stderr);
		out_text(stderr, detail);
	} else if (!resp->json && resp->body && resp->body[0]) {
		/* not a problem document (a proxy's page?): its first line says the most */
		char line[200];
		snprintf(line, sizeof line, "%.*s", (int)strcspn(resp->body, "\r\n"), resp->body);
		fputs(": ", stderr);
		out_text(stderr, line);
	}
	if (field) {
		fputs(" (field ", stderr);
		out_text(stderr, field);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
}

/* Retry-After is seconds or an HTTP date (RFC 9110 section 10.2.3); absent: nothing. */
static void print_retry_after(const ctl_t *ctl, const char *v)
{
	if (!v[0])
		return;
	bool seconds = strspn(v, "0123456789") == strlen(v);
	fprintf(stderr, "duxctl: the %s asks to retry after ", ctl->server_name);
	out_text(stderr, v);
	fputs(seconds ? " s\n" : "\n", stderr);
}

static int judge(const ctl_t *ctl, const dux_client_resp_t *resp)
{
	long s = resp->status;
	if (s >= 200 && s < 300) {
		if (cJSON_IsObject(resp->json))
			return CTL_OK;
		return ctl_fail(CTL_EXIT_UNAVAIL, "the %s answered %ld without a JSON object",
				ctl->server_name, s);
	}
	if (s >= 400 && s < 500) {
		print_problem(resp);
		return CTL_EXIT_REFUSED;
	}
	if (s >= 500 && s < 600) {
		print_problem(resp);
		print_retry_after(ctl, resp->retry_after);
		return CTL_EXIT_UNAVAIL;
	}
	return ctl_fail(CTL_EXIT_UNAVAIL, "the %s answered with unexpected HTTP status %ld",
			ctl->server_name, s);
}

/* ctl_call; keep: a refusal's answer goes to ret as well. */
static int call(const ctl_t *ctl, const char *method, const char *path,
		const char *const *headers, const char *body, bool keep, dux_client_resp_t *ret)
{
	dux_client_t *c = NULL;
	dux_client_resp_t resp = {0};
	int rc;
	/* the client joins base and path as they are: "host/" + "/v1/..." would be another path */
	size_t n = strlen(ctl->url);
	while (n > 0 && ctl->url[n - 1] == '/')
		n--;
	char *base = strndup(ctl->url, n);
	dux_client_opts_t o = {.base_url = base,
			       .timeout_ms = ctl->timeout_s * 1000,
			       .retries = CTL_RETRIES,
			       .bearer = ctl->token};
	if (!base || dux_client_new(&o, &c) < 0) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		goto out;
	}
	int r = dux_client_do(c, method, path, headers, body, body ? strlen(body) : 0, &resp);
	if (r == DUX_EUNAVAIL)
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "cannot reach the %s at %s: %s", ctl->server_name,
			      base, dux_client_errmsg(c));
	else if (r < 0)
		rc = ctl_fail(CTL_EXIT_LOCAL, "request to %s failed: %s", base, dux_strerror(r));
	else
		rc = judge(ctl, &resp);
	if (rc == CTL_OK || (keep && rc == CTL_EXIT_REFUSED)) {
		*ret = resp;
		memset(&resp, 0, sizeof resp);
	}
out:
	dux_client_resp_clear(&resp);
	dux_client_free(c);
	free(base);
	return rc;
}

int ctl_call(const ctl_t *ctl, const char *method, const char *path, const char *const *headers,
	     const char *body, dux_client_resp_t *ret)
{
	return call(ctl, method, path, headers, body, false, ret);
}

int ctl_call_keep(const ctl_t *ctl, const char *method, const char *path,
		  const char *const *headers, const char *body, dux_client_resp_t *ret)
{
	return call(ctl, method, path, headers, body, true, ret);
}
