/* input.c - the fields of POST /services and PUT /services/{id}, read strictly: each refusal
 * names its field (400 invalid-field), and nothing is stored unless every field passed.
 *
 * Tags are normalised rather than refused where the intent is plain: surrounding spaces are
 * trimmed, ASCII letters lowercased, repeats dropped (the first occurrence keeps its place).
 * What remains must be 1-32 bytes of a-z, 0-9 and '-', starting with a letter or digit. */
#include "store.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <dux/money.h>
#include <stdio.h>
#include <string.h>

int input_tag(const char *given, char out[TAG_MAX_BYTES + 1], const char **why)
{
	const char *s = given;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0) {
		*why = "is empty";
		return DUX_EINVAL;
	}
	if (n > TAG_MAX_BYTES) {
		*why = "is longer than 32 bytes";
		return DUX_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
		if (!ok) {
			*why = "may hold only letters, digits and '-' (not first)";
			return DUX_EINVAL;
		}
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

static int read_tags(const cJSON *body, service_input_t *in, dux_verr_t *e)
{
	const cJSON *arr = NULL, *it;
	int r = dux_json_array(body, "tags", false, TAGS_SENT_MAX, &arr, e);
	if (r < 0 || !arr)
		return r;
	int i = 0;
	cJSON_ArrayForEach(it, arr)
	{
		char field[32], tag[TAG_MAX_BYTES + 1];
		const char *why = NULL;
		snprintf(field, sizeof field, "tags[%d]", i++);
		if (!cJSON_IsString(it))
			return dux_verr_set(e, field, "must be a string");
		if (input_tag(it->valuestring, tag, &why) < 0)
			return dux_verr_set(e, field, "%s", why);
		bool seen = false;
		for (int k = 0; k < in->ntags && !seen; k++)
			seen = strcmp(in->tags[k], tag) == 0;
		if (seen)
			continue;
		if (in->ntags == TAGS_MAX)
			return dux_verr_set(e, "tags", "must have at most %d different tags", TAGS_MAX);
		memcpy(in->tags[in->ntags++], tag, sizeof tag);
	}
	return 0;
}

static int read_version(const cJSON *body, service_input_t *in, dux_verr_t *e)
{
	const char *why = NULL;
	int r = dux_json_str(body, "version", true, 1, VERSION_MAX_BYTES, &in->version, e);
	if (r == 0 && semver_check(in->version, &why) < 0)
		r = dux_verr_set(e, "version", "is not a semantic version (semver.org 2.0.0): %s",
				 why);
	return r;
}

static int read_name(const cJSON *body, service_input_t *in, dux_verr_t *e)
{
	int r = text_member(body, "name", true, 1, NAME_MAX_BYTES, false, &in->name, e);
	size_t n = r == 0 ? strlen(in->name) : 0;
	if (r == 0 && (in->name[0] == ' ' || in->name[n - 1] == ' '))
		r = dux_verr_set(e, "name", "must not begin or end with a space");
	if (r == 0)
		r = text_member(body, "description", false, 0, DESCRIPTION_MAX_BYTES, true,
				&in->description, e);
	return r;
}

int input_service(store_t *s, const cJSON *body, bool provider_required, service_input_t *ret,
		  dux_verr_t *e)
{
	service_input_t in = {.description = "", .rate_limit = 0};
	const char *why = NULL;
	dux_net_t net = dux_daemon_net(s->d);
	char lim[DUX_MONEY_STRLEN];
	int r = read_name(body, &in, e);
	if (r == 0)
		r = read_version(body, &in, e);
	if (r == 0)
		r = dux_json_str(body, "provider", provider_required, 1, DUX_ADDRESS_MAX - 1,
				 &in.provider, e);
	if (r == 0 && in.provider && dux_address_validate(in.provider, net, NULL, &why) < 0)
		r = dux_verr_set(e, "provider", "is not a %s Flopcoin address: %s",
				 dux_net_name(net), why);
	if (r == 0)
		r = dux_json_money(body, "price", true, &in.price, e);
	if (r == 0 && in.price > s->max_price)
		r = dux_verr_set(e, "price", "is above store.max_price (%s FLOP)",
				 dux_money_format(s->max_price, lim));
	if (r == 0)
		r = read_tags(body, &in, e);
	if (r == 0)
		r = dux_json_str(body, "endpoint", true, 1, ENDPOINT_MAX_BYTES, &in.endpoint, e);
	if (r == 0 && url_check(in.endpoint, &why) < 0)
		r = dux_verr_set(e, "endpoint", "%s", why);
	if (r == 0)
		r = dux_json_i64(body, "rate_limit", true, 1, RATE_LIMIT_MAX, &in.rate_limit, e);
	if (r == 0)
		*ret = in;
	return r;
}

void input_tags_array(const char tags[][TAG_MAX_BYTES + 1], int n, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "{");
	/* the tag alphabet has no quote, backslash or comma: quoting is enough */
	for (int i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s\"%s\"", i ? "," : "", tags[i]);
	if (o < len)
		snprintf(buf + o, len - o, "}");
}

void input_hash(const service_input_t *in, char ret[65])
{
	char head[256], tags[TAGS_MAX * 36 + 3];
	uint8_t h[DUX_SHA256_LEN];
	dux_buf_t b;
	dux_buf_init(&b, 16384);
	snprintf(head, sizeof head, "%lld\n%lld\n", (long long)in->price,
		 (long long)in->rate_limit);
	input_tags_array(in->tags, in->ntags, tags, sizeof tags);
	/* every part is bounded well below the buffer's maximum, and each ends with a NUL so
	 * that no two different requests join into the same bytes */
	const char *parts[] = {head, in->name, in->description, in->version,
			       in->provider ? in->provider : "", in->endpoint, tags};
	bool ok = true;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		ok = ok && dux_buf_append(&b, parts[i], strlen(parts[i]) + 1) == 0;
	dux_sha256(ok ? b.data : "", ok ? b.len : 0, h);
	dux_hex_encode(h, sizeof h, ret);
	dux_buf_free(&b);
}

int input_idem_key(dux_req_t *r, const char **ret)
{
	const char *k = dux_req_header(r, "Idempotency-Key");
	size_t n = k ? strlen(k) : 0;
	bool ok = !k || (n >= 1 && n <= 128);
	for (size_t i = 0; ok && i < n; i++)
		ok = k[i] > ' ' && k[i] < 0x7f;
	if (!ok) {
		dux_reply_problem(r, 400, "invalid-header",
				  "Idempotency-Key must be 1 to 128 visible ASCII characters");
		return DUX_EINVAL;
	}
	*ret = k;
	return 0;
}
