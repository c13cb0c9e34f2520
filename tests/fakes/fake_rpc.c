/* fake_rpc.c - see fake_rpc.h. */
#include "fake_rpc.h"
#include <dux/money.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rpc_fail(rpc_err_t *e, int code, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* The characters cJSON takes into a number once it has seen '-' or a digit. */
static bool number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Finds the next number token of a JSON text from *pos, skipping strings; its start and
 * length go to ret_start/ret_len. false when there is none. The text is valid JSON (cJSON
 * accepted it), so a string always has its closing quote. */
static bool next_number(const char *s, size_t len, size_t *pos, size_t *ret_start, size_t *ret_len)
{
	size_t i = *pos;
	while (i < len) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			size_t start = i;
			while (i < len && number_char(s[i]))
				i++;
			*ret_start = start;
			*ret_len = i - start;
			*pos = i;
			return true;
		} else {
			i++;
		}
	}
	*pos = i;
	return false;
}

/* Replaces, in document order, each number node under v by a raw node with the token's
 * text. cJSON keeps members and items in document order, so the walk meets the numbers in
 * the order the tokenizer finds them. */
static int keep_number_text(cJSON *v, const char *s, size_t len, size_t *pos)
{
	for (; v; v = v->next) {
		if (cJSON_IsNumber(v)) {
			size_t start, n;
			if (!next_number(s, len, pos, &start, &n))
				return -1;
			char *text = strndup(s + start, n);
			if (!text)
				return -1;
			v->type = cJSON_Raw;
			v->valuestring = text;
		} else if ((cJSON_IsArray(v) || cJSON_IsObject(v)) &&
			   keep_number_text(v->child, s, len, pos) < 0) {
			return -1;
		}
	}
	return 0;
}

int rpc_parse(const char *body, size_t len, cJSON **ret)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(body, len, &end, false);
	size_t pos = 0;
	if (!v)
		return -1;
	/* trailing garbage after the value: the node's parser refuses it too */
	while (end && (size_t)(end - body) < len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (!end || (size_t)(end - body) != len || keep_number_text(v, body, len, &pos) < 0) {
		cJSON_Delete(v);
		return -1;
	}
	*ret = v;
	return 0;
}

bool rpc_is_number(const cJSON *v)
{
	return cJSON_IsRaw(v) && v->valuestring;
}

int rpc_int(const cJSON *v, int64_t min, int64_t max, int64_t *ret, rpc_err_t *e)
{
	if (!rpc_is_number(v))
		return rpc_fail(e, RPC_MISC_ERROR, "JSON value is not an integer as expected");
	char *end;
	errno = 0;
	long long n = strtoll(v->valuestring, &end, 10);
	if (errno || *end || end == v->valuestring || n < min || n > max)
		return rpc_fail(e, RPC_MISC_ERROR, "JSON integer out of range");
	*ret = n;
	return 0;
}

int rpc_str(const cJSON *v, const char **ret, rpc_err_t *e)
{
	if (!cJSON_IsString(v))
		return rpc_fail(e, RPC_MISC_ERROR, "JSON value is not a string as expected");
	*ret = v->valuestring;
	return 0;
}

int rpc_bool(const cJSON *v, bool *ret, rpc_err_t *e)
{
	if (!cJSON_IsBool(v))
		return rpc_fail(e, RPC_MISC_ERROR, "JSON value is not a boolean as expected");
	*ret = cJSON_IsTrue(v);
	return 0;
}

int rpc_amount_param(const cJSON *v, int64_t *ret, rpc_err_t *e)
{
	const char *text;
	if (rpc_is_number(v) || cJSON_IsString(v))
		text = v->valuestring;
	else
		return rpc_fail(e, RPC_TYPE_ERROR, "Amount is not a number or string");
	int64_t units;
	int r = dux_money_parse(text, strlen(text), true, &units);
	if (r < 0)
		return rpc_fail(e, RPC_TYPE_ERROR, "Invalid amount");
	if (units < -RPC_MAX_MONEY || units > RPC_MAX_MONEY)
		return rpc_fail(e, RPC_TYPE_ERROR, "Amount out of range");
	*ret = units;
	return 0;
}

cJSON *rpc_amount(int64_t units)
{
	char text[DUX_MONEY_STRLEN], padded[DUX_MONEY_STRLEN + 10];
	dux_money_format(units, text);
	/* dux_money_format trims the fraction ("10.5", "0"); the node always prints 8 digits */
	const char *dot = strchr(text, '.');
	int decimals = dot ? (int)strlen(dot + 1) : 0;
	snprintf(padded, sizeof padded, "%s%s%.*s", text, dot ? "" : ".", 8 - decimals,
		 "00000000");
	return cJSON_CreateRaw(padded);
}

cJSON *rpc_add_amount(cJSON *obj, const char *key, int64_t units)
{
	cJSON *v = rpc_amount(units);
	if (v && !cJSON_AddItemToObject(obj, key, v)) {
		cJSON_Delete(v);
		v = NULL;
	}
	return v;
}

static cJSON *error_object(const rpc_err_t *err)
{
	cJSON *o = cJSON_CreateObject();
	if (o && (!cJSON_AddNumberToObject(o, "code", err->code) ||
		  !cJSON_AddStringToObject(o, "message", err->message))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

cJSON *rpc_reply(cJSON *result, const rpc_err_t *err, const cJSON *id)
{
	cJSON *reply = cJSON_CreateObject();
	cJSON *r = result ? result : cJSON_CreateNull();
	cJSON *er = err ? error_object(err) : cJSON_CreateNull();
	cJSON *i = id ? cJSON_Duplicate(id, true) : cJSON_CreateNull();
	if (!reply || !r || !er || !i)
		goto fail;
	/* the node's member order: result, error, id */
	cJSON_AddItemToObjectCS(reply, "result", r); /* constant keys: cannot fail */
	cJSON_AddItemToObjectCS(reply, "error", er);
	cJSON_AddItemToObjectCS(reply, "id", i);
	return reply;
fail:
	cJSON_Delete(reply);
	cJSON_Delete(r);
	cJSON_Delete(er);
	cJSON_Delete(i);
	return NULL;
}

unsigned rpc_http_status(const rpc_err_t *err)
{
	if (!err)
		return 200;
	if (err->code == RPC_INVALID_REQUEST)
		return 400;
	if (err->code == RPC_METHOD_NOT_FOUND)
		return 404;
	return 500;
}
