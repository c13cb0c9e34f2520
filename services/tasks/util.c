/* util.c - small helpers shared by the routes and jobs. */
#include "tasks.h"
#include <stdio.h>
#include <string.h>

void new_id(const char *prefix, char ret[TASK_ID_LEN + 1])
{
	char hex[33];
	dux_random_id(hex);
	snprintf(ret, TASK_ID_LEN + 1, "%s%s", prefix, hex);
}

bool hex64_ok(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

void sha256_hex(const void *data, size_t len, char ret[65])
{
	uint8_t d[DUX_SHA256_LEN];
	dux_sha256(data, len, d);
	dux_hex_encode(d, sizeof d, ret);
}

bool is_admin_or_service(const dux_req_t *r)
{
	const dux_token_t *tok = dux_req_token(r);
	return tok && (tok->scopes & (DUX_SCOPE_ADMIN | DUX_SCOPE_SERVICE));
}

void reply_db_json(dux_req_t *r, int status, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (j)
		dux_reply_json(r, status, j);
	else
		dux_reply_problem(r, 500, "internal", "out of memory");
}
