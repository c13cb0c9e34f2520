/* fake_chain.c - see fake_chain.h. Entries follow Bitcoin Core 0.14's ListTransactions and
 * WalletTxToJSON: their members, their order, and which appear when. */
#include "fake_chain.h"
#include <dux/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHAIN_MAX_TOTAL (4 * RPC_MAX_MONEY)

typedef struct {
	char txid[CHAIN_HASH_LEN];
	char address[DUX_ADDRESS_MAX];
	char *comment, *to; /* owned; NULL when unset */
	int64_t amount;     /* paid to address, > 0 */
	int64_t requested;  /* the amount sendtoaddress was given (amount + fee when the
			       recipient pays the fee) */
	int64_t fee;        /* paid by the wallet; 0 for receives */
	bool send;          /* from this wallet */
	bool receive;       /* to this wallet: a payment in, or a send to its own address */
	bool subtract_fee;
	int64_t time;      /* unix seconds it entered the wallet */
	int height;        /* of its block; 0 while unconfirmed */
	int blockindex;    /* its position in the block (0 is the coinbase) */
	int64_t blocktime; /* unix seconds the block was mined */
} tx_t;

typedef struct {
	char address[DUX_ADDRESS_MAX];
	char *account; /* owned */
} mine_t;

struct fake_chain {
	dux_net_t net;
	int64_t fee, start_balance;
	char *passphrase, *datadir;  /* owned; NULL when not set */
	int64_t unlocked_until_ms;   /* CLOCK_MONOTONIC */
	int64_t total_in;            /* starting balance + every payment in: bounds all sums */
	int height;
	tx_t *txs;
	size_t ntxs, cap_txs;
	mine_t *mine;
	size_t nmine, cap_mine;
};

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* strdup that keeps NULL and "" as NULL (an unset comment). */
static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s || !*s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -1;
}

int chain_new(const chain_opts_t *o, fake_chain_t **ret)
{
	fake_chain_t *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->net = o->net;
	c->fee = o->fee;
	c->start_balance = o->balance;
	c->total_in = o->balance;
	c->height = CHAIN_START_HEIGHT;
	if (dup_opt(o->passphrase, &c->passphrase) < 0 || dup_opt(o->datadir, &c->datadir) < 0) {
		chain_free(c);
		return -1;
	}
	*ret = c;
	return 0;
}

fake_chain_t *chain_free(fake_chain_t *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->ntxs; i++) {
		free(c->txs[i].comment);
		free(c->txs[i].to);
	}
	for (size_t i = 0; i < c->nmine; i++)
		free(c->mine[i].account);
	free(c->txs);
	free(c->mine);
	free(c->passphrase);
	free(c->datadir);
	free(c);
	return NULL;
}

dux_net_t chain_net(const fake_chain_t *c)
{
	return c->net;
}

int chain_height(const fake_chain_t *c)
{
	return c->height;
}

void chain_block_hash(int height, char ret[CHAIN_HASH_LEN])
{
	if (height < 0) {
		memset(ret, '0', CHAIN_HASH_LEN - 1);
		ret[CHAIN_HASH_LEN - 1] = '\0';
		return;
	}
	char text[32];
	uint8_t h[DUX_SHA256_LEN];
	int n = snprintf(text, sizeof text, "%d", height);
	dux_sha256(text, (size_t)n, h);
	dux_hex_encode(h, sizeof h, ret);
}

int chain_find_block(const fake_chain_t *c, const char *hash)
{
	char h[CHAIN_HASH_LEN];
	if (strlen(hash) != CHAIN_HASH_LEN - 1)
		return -1;
	for (int height = c->height; height >= 0; height--) {
		chain_block_hash(height, h);
		if (strcasecmp(h, hash) == 0)
			return height;
	}
	return -1;
}

static int confirmations(const fake_chain_t *c, const tx_t *t)
{
	return t->height ? c->height - t->height + 1 : 0;
}

cJSON *chain_generate(fake_chain_t *c, int n)
{
	cJSON *hashes = cJSON_CreateArray();
	char h[CHAIN_HASH_LEN];
	if (!hashes || n > CHAIN_MAX_HEIGHT - c->height)
		goto fail;
	for (int i = 1; i <= n; i++) {
		chain_block_hash(c->height + i, h);
		if (!cJSON_AddItemToArray(hashes, cJSON_CreateString(h)))
			goto fail;
	}
	if (n <= 0)
		return hashes;
	/* only now, when nothing can fail any more, does the chain move */
	int64_t now = time(NULL);
	int index = 1;
	for (size_t i = 0; i < c->ntxs; i++) {
		if (c->txs[i].height == 0) {
			c->txs[i].height = c->height + 1;
			c->txs[i].blockindex = index++;
			c->txs[i].blocktime = now;
		}
	}
	c->height += n;
	return hashes;
fail:
	cJSON_Delete(hashes);
	return NULL;
}

int chain_new_address(fake_chain_t *c, const char *account, char ret[DUX_ADDRESS_MAX])
{
	if (c->nmine == CHAIN_MAX_ADDRESSES)
		return -1;
	if (c->nmine == c->cap_mine) {
		size_t cap = c->cap_mine ? 2 * c->cap_mine : 16;
		mine_t *m = realloc(c->mine, cap * sizeof *m);
		if (!m)
			return -1;
		c->mine = m;
		c->cap_mine = cap;
	}
	mine_t *m = &c->mine[c->nmine];
	char *pem = NULL;
	/* the key is never needed: the fake signs nothing */
	if (dux_address_new(c->net, m->address, &pem) < 0)
		return -1;
	free(pem);
	m->account = strdup(account);
	if (!m->account)
		return -1;
	c->nmine++;
	memcpy(ret, m->address, DUX_ADDRESS_MAX);
	return 0;
}

bool chain_is_mine(const fake_chain_t *c, const char *addr, const char **ret_account)
{
	for (size_t i = 0; i < c->nmine; i++) {
		if (strcmp(c->mine[i].address, addr) == 0) {
			if (ret_account)
				*ret_account = c->mine[i].account;
			return true;
		}
	}
	return false;
}

/* Bitcoin's getbalance "*" minconf: receives count once deep enough, what left the wallet
 * counts at once. The starting balance sits in old blocks. */
int64_t chain_balance(const fake_chain_t *c, int minconf)
{
	int64_t b = c->start_balance;
	for (size_t i = 0; i < c->ntxs; i++) {
		const tx_t *t = &c->txs[i];
		if (t->receive && confirmations(c, t) >= minconf)
			b += t->amount;
		if (t->send)
			b -= t->amount + t->fee;
	}
	return b;
}

bool chain_encrypted(const fake_chain_t *c)
{
	return c->passphrase != NULL;
}

bool chain_locked(const fake_chain_t *c)
{
	return c->passphrase && monotonic_ms() >= c->unlocked_until_ms;
}

int chain_unlock(fake_chain_t *c, const char *passphrase, int64_t seconds, rpc_err_t *e)
{
	if (!c->passphrase)
		return rpc_fail(e, RPC_WALLET_WRONG_ENC_STATE,
				"Error: running with an unencrypted wallet, but walletpassphrase "
				"was called.");
	if (strlen(passphrase) != strlen(c->passphrase) ||
	    !dux_ct_equal(passphrase, c->passphrase, strlen(passphrase)))
		return rpc_fail(e, RPC_WALLET_PASSPHRASE_INCORRECT,
				"Error: The wallet passphrase entered was incorrect.");
	/* the node caps the timeout at 100000000 s (about 3 years) */
	if (seconds > 100000000)
		seconds = 100000000;
	c->unlocked_until_ms = monotonic_ms() + seconds * 1000;
	return 0;
}

int chain_lock(fake_chain_t *c, rpc_err_t *e)
{
	if (!c->passphrase)
		return rpc_fail(e, RPC_WALLET_WRONG_ENC_STATE,
				"Error: running with an unencrypted wallet, but walletlock was "
				"called.");
	c->unlocked_until_ms = 0;
	return 0;
}

/* A new, zeroed transaction at the end of the list with a random txid; NULL when full. */
static tx_t *tx_append(fake_chain_t *c)
{
	if (c->ntxs == CHAIN_MAX_TXS)
		return NULL;
	if (c->ntxs == c->cap_txs) {
		size_t cap = c->cap_txs ? 2 * c->cap_txs : 16;
		tx_t *t = realloc(c->txs, cap * sizeof *t);
		if (!t)
			return NULL;
		c->txs = t;
		c->cap_txs = cap;
	}
	tx_t *t = &c->txs[c->ntxs];
	uint8_t id[32];
	memset(t, 0, sizeof *t);
	dux_random_bytes(id, sizeof id);
	dux_hex_encode(id, sizeof id, t->txid);
	t->time = time(NULL);
	return t;
}

int chain_send(fake_chain_t *c, const chain_send_t *s, char ret_txid[CHAIN_HASH_LEN],
	       rpc_err_t *e)
{
	int64_t balance = chain_balance(c, 1);
	int64_t out = s->subtract_fee ? s->amount - c->fee : s->amount;
	if (s->amount < c->fee || out <= 0)
		return rpc_fail(e, RPC_WALLET_ERROR, "Transaction amount too small");
	if (out + c->fee > balance)
		return rpc_fail(e, RPC_WALLET_INSUFFICIENT_FUNDS, "Insufficient funds");
	tx_t *t = tx_append(c);
	if (!t)
		return rpc_fail(e, RPC_WALLET_ERROR, "Error: the fake's wallet is full");
	if (dup_opt(s->comment, &t->comment) < 0 || dup_opt(s->to, &t->to) < 0) {
		free(t->comment);
		return rpc_fail(e, RPC_WALLET_ERROR, "Error: out of memory");
	}
	snprintf(t->address, sizeof t->address, "%s", s->address);
	t->amount = out;
	t->requested = s->amount;
	t->fee = c->fee;
	t->send = true;
	t->receive = chain_is_mine(c, s->address, NULL);
	t->subtract_fee = s->subtract_fee;
	c->ntxs++;
	memcpy(ret_txid, t->txid, CHAIN_HASH_LEN);
	return 0;
}

int chain_receive(fake_chain_t *c, const char *addr, int64_t amount,
		  char ret_txid[CHAIN_HASH_LEN])
{
	/* every running balance stays within +-2 * total_in: far from overflow */
	if (amount > CHAIN_MAX_TOTAL - c->total_in)
		return -1;
	tx_t *t = tx_append(c);
	if (!t)
		return -1;
	c->total_in += amount;
	snprintf(t->address, sizeof t->address, "%s", addr);
	t->amount = amount;
	t->requested = amount;
	t->receive = true;
	c->ntxs++;
	memcpy(ret_txid, t->txid, CHAIN_HASH_LEN);
	return 0;
}

/* WalletTxToJSON: what listtransactions' long entries and gettransaction share. */
static bool add_wallet_fields(const fake_chain_t *c, const tx_t *t, cJSON *o)
{
	char h[CHAIN_HASH_LEN];
	int conf = confirmations(c, t);
	bool ok = cJSON_AddNumberToObject(o, "confirmations", conf) != NULL;
	if (conf > 0) {
		chain_block_hash(t->height, h);
		ok = ok && cJSON_AddStringToObject(o, "blockhash", h) &&
		     cJSON_AddNumberToObject(o, "blockindex", t->blockindex) &&
		     cJSON_AddNumberToObject(o, "blocktime", (double)t->blocktime);
	} else {
		/* the wallet trusts its own unconfirmed sends, not others' payments */
		ok = ok && cJSON_AddBoolToObject(o, "trusted", t->send);
	}
	ok = ok && cJSON_AddStringToObject(o, "txid", t->txid) &&
	     cJSON_AddArrayToObject(o, "walletconflicts") &&
	     cJSON_AddNumberToObject(o, "time", (double)t->time) &&
	     cJSON_AddNumberToObject(o, "timereceived", (double)t->time);
	/* the node's mapValue, a sorted map: "comment" before "to" */
	if (t->comment)
		ok = ok && cJSON_AddStringToObject(o, "comment", t->comment);
	if (t->to)
		ok = ok && cJSON_AddStringToObject(o, "to", t->to);
	return ok;
}

/* One entry of ListTransactions: the send side or the receive side of t. */
static cJSON *entry(const fake_chain_t *c, const tx_t *t, bool send_side, bool long_form)
{
	cJSON *o = cJSON_CreateObject();
	const char *account = "";
	bool mine = chain_is_mine(c, t->address, &account);
	if (!o)
		return NULL;
	/* a send's entry carries the account it was sent from: always "" for sendtoaddress */
	bool ok = cJSON_AddStringToObject(o, "account", send_side ? "" : account) &&
		  cJSON_AddStringToObject(o, "address", t->address) &&
		  cJSON_AddStringToObject(o, "category", send_side ? "send" : "receive") &&
		  rpc_add_amount(o, "amount", send_side ? -t->amount : t->amount);
	if (mine)
		ok = ok && cJSON_AddStringToObject(o, "label", account);
	ok = ok && cJSON_AddNumberToObject(o, "vout", 0);
	if (send_side)
		ok = ok && rpc_add_amount(o, "fee", -t->fee) &&
		     cJSON_AddBoolToObject(o, "abandoned", false);
	if (long_form)
		ok = ok && add_wallet_fields(c, t, o);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Appends t's entries for account (NULL = all) to arr in the node's order: send, receive.
 * Returns how many, -1 when out of memory. */
static int add_entries(const fake_chain_t *c, const tx_t *t, const char *account,
		       bool long_form, cJSON *arr)
{
	int n = 0;
	const char *mine_account = "";
	chain_is_mine(c, t->address, &mine_account);
	if (t->send && (!account || *account == '\0')) {
		if (!cJSON_AddItemToArray(arr, entry(c, t, true, long_form)))
			return -1;
		n++;
	}
	if (t->receive && (!account || strcmp(account, mine_account) == 0)) {
		if (!cJSON_AddItemToArray(arr, entry(c, t, false, long_form)))
			return -1;
		n++;
	}
	return n;
}

static const tx_t *find_tx(const fake_chain_t *c, const char *txid)
{
	for (size_t i = 0; i < c->ntxs; i++)
		if (strcasecmp(c->txs[i].txid, txid) == 0)
			return &c->txs[i];
	return NULL;
}

int chain_gettransaction(const fake_chain_t *c, const char *txid, cJSON **ret, rpc_err_t *e)
{
	const tx_t *t = find_tx(c, txid);
	if (!t)
		return rpc_fail(e, RPC_INVALID_ADDRESS_OR_KEY, "Invalid or non-wallet transaction id");
	/* the node's net amount: credit - debit - fee; a send to itself nets 0 */
	int64_t net = (t->receive ? t->amount : 0) - (t->send ? t->amount : 0);
	cJSON *o = cJSON_CreateObject();
	cJSON *details = cJSON_CreateArray();
	bool ok = o && details && rpc_add_amount(o, "amount", net);
	if (t->send)
		ok = ok && rpc_add_amount(o, "fee", -t->fee);
	ok = ok && add_wallet_fields(c, t, o) && add_entries(c, t, NULL, false, details) >= 0;
	if (ok && cJSON_AddItemToObject(o, "details", details)) {
		*ret = o;
		return 0;
	}
	cJSON_Delete(details);
	cJSON_Delete(o);
	return rpc_fail(e, RPC_MISC_ERROR, "out of memory");
}

/* Moves items [from, to) of src, last first, into a new array: the node collects newest
 * first and returns oldest first. */
static cJSON *reverse_slice(cJSON *src, int from, int to)
{
	cJSON *out = cJSON_CreateArray();
	if (!out)
		return NULL;
	cJSON *item = to > from ? cJSON_GetArrayItem(src, to - 1) : NULL;
	for (int i = to - 1; item && i >= from; i--) {
		cJSON *prev = i > 0 ? item->prev : NULL;
		cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(src, item));
		item = prev;
	}
	return out;
}

cJSON *chain_listtransactions(const fake_chain_t *c, const char *account, int count, int skip)
{
	cJSON *all = cJSON_CreateArray(), *out = NULL;
	const char *filter = strcmp(account, "*") == 0 ? NULL : account;
	int64_t want = (int64_t)count + skip;
	int n = 0;
	if (!all)
		return NULL;
	for (size_t i = c->ntxs; i > 0 && n < want; i--) {
		int r = add_entries(c, &c->txs[i - 1], filter, true, all);
		if (r < 0)
			goto out;
		n += r;
	}
	if (skip > n)
		skip = n;
	out = reverse_slice(all, skip, (int64_t)skip + count > n ? n : skip + count);
out:
	cJSON_Delete(all);
	return out;
}

cJSON *chain_listsinceblock(const fake_chain_t *c, int since_height, int target_confirmations)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *txs = cJSON_AddArrayToObject(o, "transactions");
	char last[CHAIN_HASH_LEN];
	if (!txs)
		goto fail;
	for (size_t i = 0; i < c->ntxs; i++) {
		const tx_t *t = &c->txs[i];
		if ((t->height == 0 || t->height > since_height) &&
		    add_entries(c, t, NULL, true, txs) < 0)
			goto fail;
	}
	chain_block_hash(c->height + 1 - target_confirmations, last);
	if (!cJSON_AddStringToObject(o, "lastblock", last))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static bool add_send(cJSON *arr, const tx_t *t)
{
	cJSON *o = cJSON_CreateObject();
	if (!cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, "txid", t->txid) &&
	       cJSON_AddStringToObject(o, "address", t->address) &&
	       rpc_add_amount(o, "amount", t->requested) &&
	       (t->comment ? cJSON_AddStringToObject(o, "comment", t->comment)
			   : cJSON_AddNullToObject(o, "comment")) &&
	       rpc_add_amount(o, "fee", t->fee) &&
	       cJSON_AddBoolToObject(o, "subtractfeefromamount", t->subtract_fee);
}

cJSON *chain_sends(const fake_chain_t *c)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < c->ntxs; i++) {
		if (c->txs[i].send && !add_send(arr, &c->txs[i])) {
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* The JSON written by backupwallet: enough for a person to see what the wallet held. */
static char *backup_text(const fake_chain_t *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *addrs = cJSON_AddArrayToObject(o, "addresses");
	char *text = NULL;
	bool ok = addrs && cJSON_AddStringToObject(o, "network", dux_net_name(c->net)) &&
		  cJSON_AddNumberToObject(o, "height", c->height) &&
		  rpc_add_amount(o, "balance", chain_balance(c, 1));
	for (size_t i = 0; ok && i < c->nmine; i++)
		ok = cJSON_AddItemToArray(addrs, cJSON_CreateString(c->mine[i].address));
	cJSON *txs = ok ? chain_listtransactions(c, "*", CHAIN_MAX_TXS * 2, 0) : NULL;
	if (txs && cJSON_AddItemToObject(o, "transactions", txs))
		text = cJSON_Print(o);
	else
		cJSON_Delete(txs);
	cJSON_Delete(o);
	return text;
}

/* mkdir that accepts an existing directory. */
static int ensure_dir(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int chain_backup(const fake_chain_t *c, const char *name, rpc_err_t *e)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	char dir[4096], path[4352];
	char *text = NULL;
	int fd = -1, r = -1;
	/* the node writes only into its own backups folder: the directory part is dropped */
	if (!c->datadir || !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		goto out;
	snprintf(dir, sizeof dir, "%s/backups", c->datadir);
	snprintf(path, sizeof path, "%s/%s", dir, base);
	if (ensure_dir(c->datadir) < 0 || ensure_dir(dir) < 0)
		goto out;
	text = backup_text(c);
	/* O_EXCL: an existing backup is never overwritten */
	fd = text ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
	if (fd < 0)
		goto out;
	size_t len = strlen(text);
	r = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	if (close(fd) < 0)
		r = -1;
	if (r < 0)
		unlink(path);
out:
	free(text);
	if (r < 0)
		return rpc_fail(e, RPC_INVALID_PARAMETER, "Error: Wallet backup failed!");
	return 0;
}
