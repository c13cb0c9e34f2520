/* accounts.c - ledger accounts: created with a fresh address, read back as JSON. */
#include "wallet.h"
#include "chain.h"
#include <dux/address.h>
#include <dux/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *owner, *idem_key;
	char address[DUX_ADDRESS_MAX];
	const char *origin;
	unsigned char *box;
	size_t box_len;
	bool sealed, existed;
	char *json;
} create_ctx_t;

/* The account an earlier request with the same Idempotency-Key created, if any. */
static int find_idem(dux_db_conn_t *c, const char *owner, const char *key, char **ret)
{
	PGresult *res;
	const char *p[] = {owner, key};
	int r = dux_db_execp(c, "wallet_account_idem",
			     "SELECT account_json(a)::text FROM accounts a"
			     " WHERE owner = $1 AND idem_key = $2",
			     2, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1)
		*ret = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int insert_tx(dux_db_conn_t *c, void *arg)
{
	create_ctx_t *x = arg;
	char hexbox[2 * 4096 + 3] = "";
	if (x->box_len > 4096)
		return DUX_ERANGE;
	if (x->box) {
		memcpy(hexbox, "\\x", 2);
		dux_hex_encode(x->box, x->box_len, hexbox + 2);
	}
	const char *p[] = {x->address, x->owner, x->origin, x->box ? hexbox : NULL,
			   x->sealed ? "t" : "f", x->idem_key};
	PGresult *res;
	int r = dux_db_execp(c, "wallet_account_insert",
			     "INSERT INTO accounts AS a (address, owner, origin, key_box, key_sealed,"
			     " idem_key) VALUES ($1, $2, $3, $4::bytea, $5::boolean, $6)"
			     " ON CONFLICT (owner, idem_key) WHERE idem_key IS NOT NULL DO NOTHING"
			     " RETURNING account_json(a)::text",
			     6, p, &res);
	if (r < 0)
		return r;
	free(x->json);
	x->json = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	/* lost a race with the same key: answer with the winner's account */
	x->existed = !x->json;
	return x->json ? 0 : find_idem(c, x->owner, x->idem_key, &x->json);
}

/* A fresh secp256k1 key kept in the ledger (sealed when encryption is on). */
static int generate(wallet_t *w, create_ctx_t *x)
{
	char *pem = NULL;
	int r = dux_address_new(dux_daemon_net(w->d), x->address, &pem);
	if (r < 0)
		return r;
	x->origin = "generated";
	char err[256] = "";
	if (w->cfg.encryption && (r = seal_init(w, dux_daemon_db(w->d), err, sizeof err)) < 0)
		dux_error("cannot seal the new key: %s", *err ? err : dux_strerror(r));
	else if (w->cfg.encryption) {
		r = seal_box(w, x->address, pem, strlen(pem), &x->box, &x->box_len);
		x->sealed = true;
	} else {
		x->box = (unsigned char *)pem;
		x->box_len = strlen(pem);
		pem = NULL;
	}
	if (pem) {
		memset(pem, 0, strlen(pem));
		free(pem);
	}
	return r;
}

static int lookup_idem(wallet_t *w, const char *owner, const char *key, char **ret)
{
	dux_db_conn_t *c;
	int r = dux_db_acquire(dux_daemon_db(w->d), &c);
	if (r < 0)
		return r;
	r = find_idem(c, owner, key, ret);
	dux_db_release(dux_daemon_db(w->d), c);
	return r;
}

int accounts_create(wallet_t *w, const char *owner, const char *idem_key, char **ret,
		    bool *ret_existed, bool *ret_chain)
{
	*ret_chain = false;
	create_ctx_t x = {.owner = owner, .idem_key = idem_key};
	*ret_existed = false;
	int r = idem_key ? lookup_idem(w, owner, idem_key, &x.json) : 0;
	if (r < 0 || x.json) {
		*ret_existed = x.json != NULL;
		goto out;
	}
	if (w->flopcoind) {
		x.origin = "node";
		r = chain_new_address(w, x.address);
		*ret_chain = r < 0;
	} else {
		r = generate(w, &x);
	}
	if (r == 0)
		r = dux_db_tx(dux_daemon_db(w->d), NULL, insert_tx, &x);
	*ret_existed = x.existed;
out:
	if (x.box) {
		memset(x.box, 0, x.box_len);
		free(x.box);
	}
	if (r < 0 || !x.json) {
		free(x.json);
		return r < 0 ? r : DUX_EIO;
	}
	*ret = x.json;
	return 0;
}

int accounts_get(dux_db_conn_t *c, const char *address, char **ret, char owner[128])
{
	PGresult *res;
	const char *p[] = {address};
	int r = dux_db_execp(c, "wallet_account_get",
			     "SELECT account_json(a)::text, owner FROM accounts a WHERE address = $1",
			     1, p, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DUX_ENOENT;
	}
	*ret = strdup(PQgetvalue(res, 0, 0));
	snprintf(owner, 128, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return *ret ? 0 : DUX_ENOMEM;
}
