/* text.c - text members of a request: well-formed UTF-8 without control characters
 * (dux_text_ok: PostgreSQL would refuse anything else, and a problem that names the field is
 * better than its error), bounded in bytes; the form of a service id. */
#include "store.h"
#include <dux/text.h>
#include <string.h>

int text_member(const cJSON *body, const char *key, bool required, size_t minlen, size_t max,
		bool multiline, const char **ret, dux_verr_t *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	if (!v || cJSON_IsNull(v))
		return required ? dux_verr_set(e, key, "is required") : 0;
	if (!cJSON_IsString(v))
		return dux_verr_set(e, key, "must be a string");
	size_t n = strlen(v->valuestring);
	if (n < minlen || n > max)
		return dux_verr_set(e, key, "must be %zu to %zu bytes long (UTF-8)", minlen, max);
	if (!dux_text_ok(v->valuestring, multiline))
		return dux_verr_set(e, key, "must be UTF-8 text without control characters%s",
				    multiline ? " (new lines and tabs are allowed)" : "");
	*ret = v->valuestring;
	return 0;
}

bool service_id_ok(const char *s)
{
	return s && strlen(s) == SERVICE_ID_LEN && strncmp(s, "svc_", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdef") == SERVICE_ID_LEN - 4;
}
