/* keys.c - node public keys, cached: a node id is the hash of its key, so an entry never goes
 * stale and each cached key is checked against the id it is filed under. */
#include "registry.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096

typedef struct {
	char id[DUX_NODE_ID_LEN + 1];
	uint8_t pub[DUX_ED25519_PUB_LEN];
} slot_t;

static slot_t cache[CACHE_SLOTS];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *id)
{
	return strtoul((char[9]){id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], 0}, NULL,
		       16) %
	       CACHE_SLOTS;
}

static int fetch(dux_db_t *db, const char *node_id, uint8_t ret[DUX_ED25519_PUB_LEN])
{
	dux_db_conn_t *c;
	int r = dux_db_acquire(db, &c);
	if (r < 0)
		return r;
	const char *p[] = {node_id};
	PGresult *res;
	r = dux_db_execp(c, "key_get", "SELECT encode(public_key, 'hex') FROM nodes WHERE node_id = $1",
			 1, p, &res);
	dux_db_release(db, c);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1)
		r = DUX_ENOENT;
	else
		r = dux_hex_decode(PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)), ret,
				   DUX_ED25519_PUB_LEN);
	PQclear(res);
	return r;
}

int keys_lookup(dux_db_t *db, const char *node_id, uint8_t ret[DUX_ED25519_PUB_LEN])
{
	size_t s = slot_of(node_id);
	pthread_mutex_lock(&cache_mu);
	bool hit = strcmp(cache[s].id, node_id) == 0;
	if (hit)
		memcpy(ret, cache[s].pub, DUX_ED25519_PUB_LEN);
	pthread_mutex_unlock(&cache_mu);
	if (hit)
		return 0;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	int r = fetch(db, node_id, pub);
	if (r < 0)
		return r;
	char id[DUX_NODE_ID_LEN + 1];
	dux_node_id(pub, id);
	if (strcmp(id, node_id) != 0)
		return DUX_EIO; /* the row contradicts its own key: never trust it */
	pthread_mutex_lock(&cache_mu);
	memcpy(cache[s].id, id, sizeof id);
	memcpy(cache[s].pub, pub, sizeof pub);
	pthread_mutex_unlock(&cache_mu);
	memcpy(ret, pub, sizeof pub);
	return 0;
}
