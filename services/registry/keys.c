/* keys.c - node public keys, cached ready to verify: a node id is the hash of its key, so an
 * entry never goes stale, and each key is checked against the id it is filed under. */
#include "registry.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 16384 /* direct-mapped: few collisions up to a few thousand nodes */

typedef struct {
	char id[DUX_NODE_ID_LEN + 1];
	dux_key_t *key; /* owned by the cache; callers get their own reference */
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

int keys_lookup(dux_db_t *db, const char *node_id, dux_key_t **ret)
{
	size_t s = slot_of(node_id);
	int r = DUX_ENOENT;
	pthread_mutex_lock(&cache_mu);
	if (cache[s].key && strcmp(cache[s].id, node_id) == 0)
		r = dux_key_ref(cache[s].key, ret);
	pthread_mutex_unlock(&cache_mu);
	if (r == 0)
		return 0;
	uint8_t pub[DUX_ED25519_PUB_LEN];
	char id[DUX_NODE_ID_LEN + 1];
	dux_key_t *key = NULL;
	r = fetch(db, node_id, pub);
	if (r < 0)
		return r;
	dux_node_id(pub, id);
	if (strcmp(id, node_id) != 0)
		return DUX_EIO; /* the row contradicts its own key: never trust it */
	if ((r = dux_key_from_public(pub, &key)) < 0 || (r = dux_key_ref(key, ret)) < 0) {
		dux_key_free(key);
		return r;
	}
	pthread_mutex_lock(&cache_mu);
	dux_key_free(cache[s].key);
	memcpy(cache[s].id, id, sizeof id);
	cache[s].key = key;
	pthread_mutex_unlock(&cache_mu);
	return 0;
}

void keys_clear(void)
{
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		cache[i].key = dux_key_free(cache[i].key);
	pthread_mutex_unlock(&cache_mu);
}
