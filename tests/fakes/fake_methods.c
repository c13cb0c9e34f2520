/* fake_methods.c - see fake_methods.h. The methods follow Bitcoin Core 0.14's: parameter
 * types and counts checked as its RPCs do, the same messages and codes. */
#include "fake_methods.h"
#include "fake_chain.h"
#include <dux/crypto.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cJSON *params_opt(const params_t *p, int i)
{
	return i < p->n && p->p[i] && !cJSON_IsNull(p->p[i]) ? p->p[i] : NULL;
}

int params_int(const params_t *p, int i, int64_t def, int64_t min, int64_t max, int64_t *ret,
	       rpc_err_t *e)
{
	*ret = def;
	return params_opt(p, i) ? rpc_int(p->p[i], min, max, ret, e) : 0;
}

int params_str(const params_t *p, int i, const char *def, const char **ret, rpc_err_t *e)
{
	*ret = def;
	return params_opt(p, i) ? rpc_str(p->p[i], ret, e) : 0;
}

int params_bool(const params_t *p, int i, bool *ret, rpc_err_t *e)
{
	*ret = false;
	return params_opt(p, i) ? rpc_bool(p->p[i], ret, e) : 0;
}

int methods_give(cJSON *v, cJSON **ret, rpc_err_t *e)
{
	if (!v)
		return rpc_fail(e, RPC_MISC_ERROR, "out of memory");
	*ret = v;
	return 0;
}

/* Deletes a half-built result; returns NULL. */
static cJSON *drop(cJSON *o)
{
	cJSON_Delete(o);
	return NULL;
}

static bool address_ok(const fake_chain_t *c, const char *addr, dux_addr_kind_t *ret_kind)
{
	return dux_address_validate(addr, chain_net(c), ret_kind, NULL) == 0;
}

static int m_getnewaddress(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *account;
	char addr[DUX_ADDRESS_MAX];
	if (params_str(p, 0, "", &account, e) < 0)
		return -1;
	if (strcmp(account, "*") == 0)
		return rpc_fail(e, RPC_WALLET_INVALID_ACCOUNT_NAME, "Invalid account name");
	if (chain_new_address(c, account, addr) < 0)
		return rpc_fail(e, RPC_WALLET_KEYPOOL_RAN_OUT,
				"Error: Keypool ran out, please call keypoolrefill first");
	return methods_give(cJSON_CreateString(addr), ret, e);
}

/* The output script of an address: what validateaddress shows as scriptPubKey. */
static void script_hex(const char *addr, dux_addr_kind_t kind, char out[64])
{
	uint8_t version, hash[20];
	size_t len;
	char hex[41];
	if (dux_base58check_decode(addr, &version, hash, sizeof hash, &len) < 0 || len != 20) {
		out[0] = '\0';
		return;
	}
	dux_hex_encode(hash, sizeof hash, hex);
	/* OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG, or OP_HASH160 <20> OP_EQUAL */
	snprintf(out, 64, kind == DUX_ADDR_PUBKEY_HASH ? "76a914%s88ac" : "a914%s87", hex);
}

static int m_validateaddress(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *addr, *account = NULL;
	dux_addr_kind_t kind;
	char script[64];
	if (rpc_str(p->p[0], &addr, e) < 0)
		return -1;
	cJSON *o = cJSON_CreateObject();
	bool valid = address_ok(c, addr, &kind);
	bool mine = valid && chain_is_mine(c, addr, &account);
	bool ok = cJSON_AddBoolToObject(o, "isvalid", valid);
	/* the node answers an invalid address with isvalid alone */
	if (valid) {
		script_hex(addr, kind, script);
		ok = ok && cJSON_AddStringToObject(o, "address", addr) &&
		     cJSON_AddStringToObject(o, "scriptPubKey", script) &&
		     cJSON_AddBoolToObject(o, "ismine", mine) &&
		     cJSON_AddBoolToObject(o, "iswatchonly", false) &&
		     cJSON_AddBoolToObject(o, "isscript", kind == DUX_ADDR_SCRIPT_HASH) &&
		     (!mine || cJSON_AddStringToObject(o, "account", account));
	}
	if (!ok)
		o = drop(o);
	return methods_give(o, ret, e);
}

static int m_getbalance(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *account;
	int64_t minconf;
	bool watch;
	/* accounts are not modelled for balances: every account is the whole wallet ("*") */
	if (params_str(p, 0, "*", &account, e) < 0 ||
	    params_int(p, 1, 1, INT_MIN, INT_MAX, &minconf, e) < 0 || params_bool(p, 2, &watch, e) < 0)
		return -1;
	return methods_give(rpc_amount(chain_balance(c, (int)minconf)), ret, e);
}

/* Checks in the order the wallet daemon's tests expect: parameter types (-1), lock (-13),
 * address (-5), amount (-3), then the wallet's own (-4, -6). (Bitcoin Core 0.14 reads the
 * address and the amount before it looks at the lock.) */
static int m_sendtoaddress(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	chain_send_t s = {0};
	char txid[CHAIN_HASH_LEN];
	if (rpc_str(p->p[0], &s.address, e) < 0 || params_str(p, 2, NULL, &s.comment, e) < 0 ||
	    params_str(p, 3, NULL, &s.to, e) < 0 || params_bool(p, 4, &s.subtract_fee, e) < 0)
		return -1;
	if (chain_locked(c))
		return rpc_fail(e, RPC_WALLET_UNLOCK_NEEDED,
				"Error: Please enter the wallet passphrase with walletpassphrase first.");
	if (!address_ok(c, s.address, NULL))
		return rpc_fail(e, RPC_INVALID_ADDRESS_OR_KEY, "Invalid Flopcoin address");
	if (rpc_amount_param(p->p[1], &s.amount, e) < 0)
		return -1;
	if (s.amount <= 0)
		return rpc_fail(e, RPC_TYPE_ERROR, "Invalid amount for send");
	if (chain_send(c, &s, txid, e) < 0)
		return -1;
	return methods_give(cJSON_CreateString(txid), ret, e);
}

static int m_gettransaction(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *txid;
	bool watch;
	if (rpc_str(p->p[0], &txid, e) < 0 || params_bool(p, 1, &watch, e) < 0)
		return -1;
	return chain_gettransaction(c, txid, ret, e);
}

static int m_listtransactions(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *account;
	int64_t count, skip;
	bool watch;
	if (params_str(p, 0, "*", &account, e) < 0 ||
	    params_int(p, 1, 10, INT_MIN, INT_MAX, &count, e) < 0 ||
	    params_int(p, 2, 0, INT_MIN, INT_MAX, &skip, e) < 0 || params_bool(p, 3, &watch, e) < 0)
		return -1;
	if (count < 0)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "Negative count");
	if (skip < 0)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "Negative from");
	return methods_give(chain_listtransactions(c, account, (int)count, (int)skip), ret, e);
}

static int m_listsinceblock(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *hash;
	int64_t target;
	bool watch;
	int since = -1;
	if (params_str(p, 0, "", &hash, e) < 0 || params_int(p, 1, 1, INT_MIN, INT_MAX, &target, e) < 0 ||
	    params_bool(p, 2, &watch, e) < 0)
		return -1;
	if (target < 1)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "Invalid parameter");
	if (*hash && (since = chain_find_block(c, hash)) < 0)
		return rpc_fail(e, RPC_INVALID_ADDRESS_OR_KEY, "Block not found");
	return methods_give(chain_listsinceblock(c, since, (int)target), ret, e);
}

static int m_getblockcount(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	(void)p;
	return methods_give(cJSON_CreateNumber(chain_height(c)), ret, e);
}

static int m_getbestblockhash(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	char h[CHAIN_HASH_LEN];
	(void)p;
	chain_block_hash(chain_height(c), h);
	return methods_give(cJSON_CreateString(h), ret, e);
}

static int m_getblockchaininfo(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	static const char *const chains[] = {
		[DUX_NET_MAINNET] = "main", [DUX_NET_TESTNET] = "test", [DUX_NET_REGTEST] = "regtest"};
	char h[CHAIN_HASH_LEN];
	int height = chain_height(c);
	(void)p;
	chain_block_hash(height, h);
	cJSON *o = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(o, "chain", chains[chain_net(c)]) ||
	    !cJSON_AddNumberToObject(o, "blocks", height) ||
	    !cJSON_AddNumberToObject(o, "headers", height) ||
	    !cJSON_AddStringToObject(o, "bestblockhash", h) ||
	    !cJSON_AddNumberToObject(o, "verificationprogress", 1) ||
	    !cJSON_AddBoolToObject(o, "pruned", false))
		o = drop(o);
	return methods_give(o, ret, e);
}

static int m_generate(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	int64_t blocks, tries;
	if (rpc_int(p->p[0], INT_MIN, INT_MAX, &blocks, e) < 0 ||
	    params_int(p, 1, 1000000, INT64_MIN, INT64_MAX, &tries, e) < 0)
		return -1;
	/* a guess: the node's answer to generate off regtest was not observed */
	if (chain_net(c) != DUX_NET_REGTEST)
		return rpc_fail(e, RPC_METHOD_NOT_FOUND, "This method can only be used on regtest");
	if (blocks > CHAIN_MAX_HEIGHT - chain_height(c))
		return rpc_fail(e, RPC_INVALID_PARAMETER, "the fake mines no block above height %d",
				CHAIN_MAX_HEIGHT);
	return methods_give(chain_generate(c, (int)blocks), ret, e);
}

static int m_walletpassphrase(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *pass;
	int64_t seconds;
	/* the node checks the count only for an encrypted wallet: -15 comes first */
	if (!chain_encrypted(c))
		return rpc_fail(e, RPC_WALLET_WRONG_ENC_STATE,
				"Error: running with an unencrypted wallet, but walletpassphrase "
				"was called.");
	if (p->n != 2)
		return rpc_fail(e, RPC_MISC_ERROR, "walletpassphrase \"passphrase\" timeout");
	if (rpc_str(p->p[0], &pass, e) < 0 || rpc_int(p->p[1], INT64_MIN, INT64_MAX, &seconds, e) < 0)
		return -1;
	if (!*pass)
		return rpc_fail(e, RPC_MISC_ERROR, "walletpassphrase \"passphrase\" timeout");
	if (chain_unlock(c, pass, seconds, e) < 0)
		return -1;
	return methods_give(cJSON_CreateNull(), ret, e);
}

static int m_walletlock(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	if (chain_encrypted(c) && p->n != 0)
		return rpc_fail(e, RPC_MISC_ERROR, "walletlock");
	if (chain_lock(c, e) < 0)
		return -1;
	return methods_give(cJSON_CreateNull(), ret, e);
}

static int m_backupwallet(void *ctx, const params_t *p, cJSON **ret, rpc_err_t *e)
{
	fake_chain_t *c = ctx;
	const char *name;
	if (rpc_str(p->p[0], &name, e) < 0 || chain_backup(c, name, e) < 0)
		return -1;
	return methods_give(cJSON_CreateNull(), ret, e);
}

static const method_t methods[] = {
	{"getnewaddress", m_getnewaddress, 0, 1, {"account"}, "getnewaddress ( \"account\" )"},
	{"validateaddress", m_validateaddress, 1, 1, {"address"}, "validateaddress \"address\""},
	{"getbalance", m_getbalance, 0, 3, {"account", "minconf", "include_watchonly"},
	 "getbalance ( \"account\" minconf include_watchonly )"},
	{"sendtoaddress", m_sendtoaddress, 2, 5,
	 {"address", "amount", "comment", "comment_to", "subtractfeefromamount"},
	 "sendtoaddress \"address\" amount ( \"comment\" \"comment_to\" subtractfeefromamount )"},
	{"gettransaction", m_gettransaction, 1, 2, {"txid", "include_watchonly"},
	 "gettransaction \"txid\" ( include_watchonly )"},
	{"listtransactions", m_listtransactions, 0, 4,
	 {"account", "count", "skip", "include_watchonly"},
	 "listtransactions ( \"account\" count skip include_watchonly)"},
	{"listsinceblock", m_listsinceblock, 0, 3,
	 {"blockhash", "target_confirmations", "include_watchonly"},
	 "listsinceblock ( \"blockhash\" target_confirmations include_watchonly)"},
	{"getblockcount", m_getblockcount, 0, 0, {0}, "getblockcount"},
	{"getbestblockhash", m_getbestblockhash, 0, 0, {0}, "getbestblockhash"},
	{"getblockchaininfo", m_getblockchaininfo, 0, 0, {0}, "getblockchaininfo"},
	{"generate", m_generate, 1, 2, {"nblocks", "maxtries"}, "generate nblocks ( maxtries )"},
	{"walletpassphrase", m_walletpassphrase, 0, METHOD_MAX_PARAMS, {"passphrase", "timeout"},
	 "walletpassphrase \"passphrase\" timeout"},
	{"walletlock", m_walletlock, 0, METHOD_MAX_PARAMS, {0}, "walletlock"},
	{"backupwallet", m_backupwallet, 1, 1, {"destination"}, "backupwallet \"destination\""},
};

const method_t *methods_find(const char *name)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

static bool known_arg(const method_t *m, const char *name)
{
	for (int i = 0; i < METHOD_MAX_PARAMS && m->args[i]; i++)
		if (strcmp(m->args[i], name) == 0)
			return true;
	return false;
}

/* Positional parameters as given; named ones in the method's order with holes between them
 * (none after the last given), as the node's transformNamedArguments does. */
static int read_params(const method_t *m, const cJSON *params, params_t *p, rpc_err_t *e)
{
	const cJSON *v;
	memset(p, 0, sizeof *p);
	if (cJSON_IsArray(params)) {
		cJSON_ArrayForEach(v, params) {
			if (p->n < METHOD_MAX_PARAMS)
				p->p[p->n] = v;
			p->n++;
		}
		return 0;
	}
	if (!cJSON_IsObject(params))
		return 0;
	cJSON_ArrayForEach(v, params) {
		if (!known_arg(m, v->string))
			return rpc_fail(e, RPC_INVALID_PARAMETER, "Unknown named parameter %s",
					v->string);
	}
	for (int i = 0; i < METHOD_MAX_PARAMS && m->args[i]; i++) {
		v = cJSON_GetObjectItemCaseSensitive(params, m->args[i]);
		if (v) {
			p->p[i] = v;
			p->n = i + 1;
		}
	}
	return 0;
}


int methods_params(const method_t *m, const cJSON *params, params_t *ret, rpc_err_t *e)
{
	params_t p;
	if (read_params(m, params, &p, e) < 0)
		return -1;
	if (p.n < m->min || p.n > m->max)
		return rpc_fail(e, RPC_MISC_ERROR, "%s", m->usage);
	*ret = p;
	return 0;
}
