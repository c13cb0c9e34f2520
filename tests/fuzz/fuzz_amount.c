/* fuzz_amount.c - amounts from outside: the text form (dux_money_parse), a JSON member
 * (dux_json_money: a string or a number), and the wallet's reading of Flopcoin Core's answers
 * (rpc_quote_decimals, then rpc_amount). Whatever parses formats back to a text that parses to
 * the same units; a quoted answer is JSON exactly when the original was. */
#include "fuzz.h"
#include "../../services/wallet/rpc.h"
#include <cjson/cJSON.h>
#include <dux/json.h>
#include <dux/money.h>
#include <string.h>

static void text(const char *s, size_t n)
{
	for (int neg = 0; neg < 2; neg++) {
		int64_t v = 0, back = 0;
		if (dux_money_parse(s, n, neg, &v) < 0)
			continue;
		FUZZ_CHECK(neg || v >= 0);
		char buf[DUX_MONEY_STRLEN];
		dux_money_format(v, buf);
		FUZZ_CHECK(dux_money_parse(buf, strlen(buf), true, &back) == 0 && back == v);
		char rpc[40];
		rpc_amount_text(v, rpc);
		FUZZ_CHECK(dux_money_parse(rpc, strlen(rpc), true, &back) == 0 && back == v);
	}
}

static void member(const char *s)
{
	char *doc = malloc(strlen(s) + 16);
	FUZZ_CHECK(doc != NULL);
	sprintf(doc, "{\"a\":%s}", s);
	cJSON *o = cJSON_Parse(doc);
	int64_t v = 0;
	dux_verr_t e;
	if (o && dux_json_money(o, "a", true, &v, &e) == 0) {
		char buf[DUX_MONEY_STRLEN];
		int64_t back = 0;
		dux_money_format(v, buf);
		FUZZ_CHECK(dux_money_parse(buf, strlen(buf), true, &back) == 0 && back == v);
	}
	cJSON_Delete(o);
	free(doc);
}

/* Every amount the quoting turned into a string reads exactly or is refused. */
static void amounts(const cJSON *j)
{
	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		int64_t v;
		if (cJSON_IsString(c) && rpc_amount(c, &v) == 0) {
			char buf[40];
			int64_t back = 0;
			rpc_amount_text(v, buf);
			FUZZ_CHECK(dux_money_parse(buf, strlen(buf), true, &back) == 0 && back == v);
		}
		amounts(c);
	}
}

static void answer(const char *s, size_t n)
{
	char *q = rpc_quote_decimals(s, n);
	FUZZ_CHECK(q != NULL);
	cJSON *a = cJSON_ParseWithLength(s, n), *b = cJSON_Parse(q);
	if (a && strlen(s) == n) /* a NUL inside the input ends cJSON's reading of it */
		FUZZ_CHECK(b != NULL);
	amounts(b);
	cJSON_Delete(a);
	cJSON_Delete(b);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	text(s, size);
	member(s);
	answer(s, size);
	free(s);
	return 0;
}
