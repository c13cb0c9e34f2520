/* transfer_input.c - a transfer as a caller writes it, checked field by field. */
#include "wallet.h"
#include <dux/address.h>
#include <dux/crypto.h>
#include <dux/json.h>
#include <dux/money.h>
#include <stdio.h>
#include <string.h>

bool transfer_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > WALLET_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("._:-", *p)))
			return false;
	return true;
}

static int check_account(wallet_t *w, const cJSON *in, const char *key, bool required,
			 const char **ret, dux_verr_t *e)
{
	int r = dux_json_str(in, key, required, 1, DUX_ADDRESS_MAX - 1, ret, e);
	if (r < 0 || !*ret)
		return r;
	const char *why = NULL;
	if (dux_address_validate(*ret, dux_daemon_net(w->d), NULL, &why) < 0)
		return dux_verr_set(e, key, "is not a %s Flopcoin address: %s",
				    dux_net_name(dux_daemon_net(w->d)), why);
	return 0;
}

/* The fields that only some modes take. */
static int check_mode_fields(const cJSON *in, const char *mode, dux_verr_t *e)
{
	bool resolves = strcmp(mode, "post") == 0 || strcmp(mode, "void") == 0;
	static const char *const moving[] = {"debit", "credit", NULL};
	for (int i = 0; resolves && moving[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(in, moving[i]))
			return dux_verr_set(e, moving[i], "is taken from the pending transfer in a %s",
					    mode);
	if (!resolves && cJSON_GetObjectItemCaseSensitive(in, "pending_id"))
		return dux_verr_set(e, "pending_id", "is only for post and void");
	if (strcmp(mode, "void") == 0 && cJSON_GetObjectItemCaseSensitive(in, "amount"))
		return dux_verr_set(e, "amount", "a void releases the whole pending amount");
	if (strcmp(mode, "pending") != 0 && cJSON_GetObjectItemCaseSensitive(in, "timeout"))
		return dux_verr_set(e, "timeout", "is only for pending transfers");
	return 0;
}

int transfer_input(wallet_t *w, const cJSON *in, cJSON *batch, dux_verr_t *e)
{
	static const char *const allowed[] = {"id",	    "mode",    "debit", "credit", "amount",
					      "pending_id", "timeout", "memo",  NULL};
	const char *id = NULL, *mode = "immediate", *debit = NULL, *credit = NULL, *pid = NULL;
	const char *memo = NULL;
	int64_t amount = 0, timeout = 0;
	if (!cJSON_IsObject(in))
		return dux_verr_set(e, "", "must be an object");
	int r = dux_json_only(in, allowed, e);
	if (r == 0)
		r = dux_json_str(in, "id", true, 1, WALLET_ID_MAX, &id, e);
	if (r == 0 && !transfer_id_valid(id))
		r = dux_verr_set(e, "id", "may hold only letters, digits and . _ : -");
	if (r == 0 && strncmp(id, WALLET_SYSTEM_PREFIX, strlen(WALLET_SYSTEM_PREFIX)) == 0)
		r = dux_verr_set(e, "id", "ids starting with \"%s\" are the wallet's own",
				 WALLET_SYSTEM_PREFIX);
	if (r == 0)
		r = dux_json_str(in, "mode", false, 1, 16, &mode, e);
	if (r == 0 && strcmp(mode, "immediate") != 0 && strcmp(mode, "pending") != 0 &&
	    strcmp(mode, "post") != 0 && strcmp(mode, "void") != 0)
		r = dux_verr_set(e, "mode", "must be immediate, pending, post or void");
	if (r == 0)
		r = check_mode_fields(in, mode, e);
	bool resolves = r == 0 && (strcmp(mode, "post") == 0 || strcmp(mode, "void") == 0);
	if (r == 0 && !resolves) {
		r = check_account(w, in, "debit", true, &debit, e);
		if (r == 0)
			r = check_account(w, in, "credit", true, &credit, e);
		if (r == 0 && strcmp(debit, credit) == 0)
			r = dux_verr_set(e, "credit", "must differ from debit");
	}
	if (r == 0 && resolves) {
		r = dux_json_str(in, "pending_id", true, 1, WALLET_ID_MAX, &pid, e);
		if (r == 0 && !transfer_id_valid(pid))
			r = dux_verr_set(e, "pending_id", "is not a transfer id");
	}
	if (r == 0 && strcmp(mode, "void") != 0)
		r = dux_json_money(in, "amount", strcmp(mode, "post") != 0, &amount, e);
	const cJSON *given = cJSON_GetObjectItemCaseSensitive(in, "amount");
	if (r == 0 && given && !cJSON_IsNull(given) && amount <= 0)
		r = dux_verr_set(e, "amount", "must be positive");
	if (r == 0)
		r = dux_json_i64(in, "timeout", false, 1, w->cfg.max_timeout, &timeout, e);
	if (r == 0)
		r = dux_json_str(in, "memo", false, 0, WALLET_MEMO_MAX, &memo, e);
	if (r < 0)
		return r;
	cJSON *it = ledger_item(batch, id, mode, NULL, debit, credit, amount);
	if (pid)
		cJSON_AddStringToObject(it, "pending_id", pid);
	if (timeout > 0)
		cJSON_AddNumberToObject(it, "timeout", (double)timeout);
	if (memo)
		cJSON_AddStringToObject(it, "memo", memo);
	return 0;
}

bool idem_key_check(dux_req_t *r)
{
	const char *key = dux_req_header(r, "Idempotency-Key");
	size_t n = key ? strlen(key) : 1;
	bool ok = n >= 1 && n <= 128;
	for (const char *p = key; ok && p && *p; p++)
		ok = *p > 0x20 && *p < 0x7f;
	if (!ok)
		dux_reply_problem(r, 400, "invalid-header",
				  "Idempotency-Key must be 1 to 128 visible ASCII characters");
	return ok;
}

void transfer_id_for(dux_req_t *r, const char *what, char ret[WALLET_ID_MAX + 1])
{
	const char *key = dux_req_header(r, "Idempotency-Key");
	if (!key) {
		char rnd[33];
		dux_random_id(rnd);
		snprintf(ret, WALLET_ID_MAX + 1, WALLET_SYSTEM_PREFIX "%s:%s", what, rnd);
		return;
	}
	/* the same caller's same key names the same transfer; other callers' keys never collide */
	char buf[512];
	int n = snprintf(buf, sizeof buf, "%s\n%s\n%s", dux_req_token(r)->sub, what, key);
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, h);
	char hex[2 * DUX_SHA256_LEN + 1];
	dux_hex_encode(h, 20, hex);
	snprintf(ret, WALLET_ID_MAX + 1, WALLET_SYSTEM_PREFIX "%s:%s", what, hex);
}
