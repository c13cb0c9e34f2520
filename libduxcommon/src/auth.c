/* auth.c - JWT bearer tokens signed with Ed25519 (RFC 7519, RFC 8037 "EdDSA"). */
#include <dux/auth.h>
#include <dux/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[] = {"user", "provider", "service", "admin"};
#define NSCOPES 4
#define TOKEN_EXP_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

int dux_scope_parse(const char *s, unsigned *ret)
{
	unsigned bits = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		int found = -1;
		for (int i = 0; i < NSCOPES; i++)
			if (strlen(scope_names[i]) == n && strncmp(p, scope_names[i], n) == 0)
				found = i;
		if (found < 0)
			return DUX_EINVAL;
		bits |= 1u << found;
		p += n;
	}
	*ret = bits;
	return 0;
}

const char *dux_scope_format(unsigned scopes, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < NSCOPES; i++) {
		if (scopes & (1u << i))
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? " " : "",
					      scope_names[i]);
	}
	return buf;
}

static char *b64_of(const void *p, size_t n)
{
	char *s = malloc(dux_b64url_len(n) + 1);
	if (s)
		dux_b64url_encode(p, n, s);
	return s;
}

int dux_token_mint(const dux_key_t *key, const char *issuer, const char *sub, unsigned scopes,
		   int64_t ttl_seconds, char **ret)
{
	static const char header[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
	int r = DUX_ENOMEM;
	char *claims = NULL, *h64 = NULL, *c64 = NULL, *out = NULL;
	cJSON *c = cJSON_CreateObject();
	char scope[64], jti[33];
	int64_t now = dux_now_us() / 1000000;
	/* never mint what dux_token_verify would refuse */
	if (!issuer || !*issuer || !sub || !*sub || strlen(sub) >= sizeof((dux_token_t){0}.sub) ||
	    !scopes || ttl_seconds <= 0 || ttl_seconds > TOKEN_EXP_MAX - now) {
		cJSON_Delete(c);
		return DUX_EINVAL;
	}
	dux_random_id(jti);
	if (!c || !cJSON_AddStringToObject(c, "iss", issuer) ||
	    !cJSON_AddStringToObject(c, "sub", sub) ||
	    !cJSON_AddStringToObject(c, "scope", dux_scope_format(scopes, scope, sizeof scope)) ||
	    !cJSON_AddNumberToObject(c, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(c, "exp", (double)(now + ttl_seconds)) ||
	    !cJSON_AddStringToObject(c, "jti", jti))
		goto out;
	claims = cJSON_PrintUnformatted(c);
	h64 = b64_of(header, sizeof header - 1);
	c64 = claims ? b64_of(claims, strlen(claims)) : NULL;
	if (!h64 || !c64)
		goto out;
	size_t signlen = strlen(h64) + 1 + strlen(c64);
	out = malloc(signlen + 1 + dux_b64url_len(DUX_ED25519_SIG_LEN) + 1);
	if (!out)
		goto out;
	snprintf(out, signlen + 1, "%s.%s", h64, c64);
	uint8_t sig[DUX_ED25519_SIG_LEN];
	r = dux_key_sign(key, out, signlen, sig);
	if (r < 0)
		goto out;
	out[signlen] = '.';
	dux_b64url_encode(sig, sizeof sig, out + signlen + 1);
	*ret = out;
	out = NULL;
	r = 0;
out:
	free(out);
	free(h64);
	free(c64);
	free(claims);
	cJSON_Delete(c);
	return r;
}

bool dux_token_expired(int64_t exp, int64_t now)
{
	return exp + 60 < now; /* 60 s leeway for clock skew */
}

/* Decodes one base64url part as a JSON object. */
static cJSON *part_json(const char *s, size_t n)
{
	uint8_t buf[DUX_TOKEN_MAX];
	size_t len;
	if (dux_b64url_decode(s, n, buf, sizeof buf - 1, &len) < 0)
		return NULL;
	cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int check_header(const char *s, size_t n)
{
	cJSON *h = part_json(s, n);
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	int ok = cJSON_IsString(alg) && strcmp(alg->valuestring, "EdDSA") == 0 &&
		 !cJSON_GetObjectItemCaseSensitive(h, "crit");
	cJSON_Delete(h);
	return ok ? 0 : DUX_EAUTH;
}

static int check_claims(const char *s, size_t n, const char *issuer, int64_t now,
			dux_token_t *ret)
{
	int r = DUX_EAUTH;
	cJSON *c = part_json(s, n);
	const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(c, "sub");
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(c, "scope");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
	if (!cJSON_IsString(iss) || strcmp(iss->valuestring, issuer) != 0)
		goto out;
	if (!cJSON_IsString(sub) || !*sub->valuestring ||
	    strlen(sub->valuestring) >= sizeof ret->sub)
		goto out;
	/* a NumericDate up to year 9999: converting a larger double to int64_t is undefined */
	if (!cJSON_IsString(scope) || !cJSON_IsNumber(exp) ||
	    !(exp->valuedouble >= 0 && exp->valuedouble <= (double)TOKEN_EXP_MAX))
		goto out;
	if (dux_token_expired((int64_t)exp->valuedouble, now))
		goto out;
	dux_token_t t = {.exp = (int64_t)exp->valuedouble};
	if (dux_scope_parse(scope->valuestring, &t.scopes) < 0)
		goto out;
	snprintf(t.sub, sizeof t.sub, "%s", sub->valuestring);
	*ret = t;
	r = 0;
out:
	cJSON_Delete(c);
	return r;
}

int dux_token_verify(const dux_key_t *key, const char *issuer, const char *token, int64_t now,
		     dux_token_t *ret)
{
	size_t len = strnlen(token, DUX_TOKEN_MAX + 1);
	if (len > DUX_TOKEN_MAX)
		return DUX_EAUTH;
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return DUX_EAUTH;
	uint8_t sig[DUX_ED25519_SIG_LEN + 1];
	size_t siglen;
	if (dux_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof sig, &siglen) <
		    0 ||
	    siglen != DUX_ED25519_SIG_LEN)
		return DUX_EAUTH;
	if (dux_key_verify(key, token, (size_t)(d2 - token), sig) < 0)
		return DUX_EAUTH;
	if (check_header(token, (size_t)(d1 - token)) < 0)
		return DUX_EAUTH;
	return check_claims(d1 + 1, (size_t)(d2 - d1 - 1), issuer, now, ret);
}
