/* cache.c - answers of GET /services kept for store.search_cache_ms, so that a search asked
 * again within that time costs no PostgreSQL work (a relevance search ranks every match, which
 * for a common word is tens of milliseconds).
 *
 * Derived data only: PostgreSQL stays the one place of truth. Every change this process makes
 * (a publish, a new version, a delisting, a review, a paid call applied from the escrow's
 * events) moves the generation on, and an answer computed under an older generation is never
 * served, so a change made through this copy shows in the next search. Changes made through
 * another copy of the daemon show within the TTL. Bounded: SLOTS answers of at most
 * ENTRY_MAX bytes (a larger answer is not kept), direct-mapped by a hash of the normalised
 * search; a slot keeps its buffer when it is replaced, so the cache does not churn the heap. */
#include "store.h"
#include <dux/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
#define ENTRY_MAX (64 * 1024)
#define KEY_MAX 1024

typedef struct {
	char key[KEY_MAX];
	bool used;
	uint64_t gen;
	int64_t until_us;
	char *body;
	size_t len, cap;
} slot_t;

static slot_t slots[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t generation = 1;
static int64_t ttl_us;

void cache_init(int64_t ttl_ms)
{
	ttl_us = ttl_ms * 1000;
}

void cache_free(void)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < SLOTS; i++) {
		free(slots[i].body);
		memset(&slots[i], 0, sizeof slots[i]);
	}
	pthread_mutex_unlock(&mu);
}

uint64_t cache_generation(void)
{
	return atomic_load(&generation);
}

void cache_changed(void)
{
	atomic_fetch_add(&generation, 1);
}

static slot_t *slot_of(const char *key)
{
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(key, strlen(key), h);
	return &slots[((size_t)h[0] << 8 | h[1]) % SLOTS];
}

bool cache_get(const char *key, char **ret_body, size_t *ret_len)
{
	if (ttl_us <= 0 || strlen(key) >= KEY_MAX)
		return false;
	slot_t *s = slot_of(key);
	char *copy = NULL;
	size_t len = 0;
	pthread_mutex_lock(&mu);
	if (s->used && s->gen == atomic_load(&generation) && s->until_us > dux_now_us() &&
	    strcmp(s->key, key) == 0 && (copy = malloc(s->len + 1))) {
		memcpy(copy, s->body, s->len + 1);
		len = s->len;
	}
	pthread_mutex_unlock(&mu);
	if (!copy)
		return false;
	*ret_body = copy;
	*ret_len = len;
	return true;
}

void cache_put(const char *key, uint64_t gen, const char *body, size_t len)
{
	if (ttl_us <= 0 || strlen(key) >= KEY_MAX || len > ENTRY_MAX ||
	    gen != atomic_load(&generation))
		return;
	slot_t *s = slot_of(key);
	pthread_mutex_lock(&mu);
	if (s->cap < len + 1) {
		char *grown = realloc(s->body, len + 1);
		if (!grown) {
			pthread_mutex_unlock(&mu);
			return;
		}
		s->body = grown;
		s->cap = len + 1;
	}
	memcpy(s->body, body, len);
	s->body[len] = '\0';
	s->len = len;
	snprintf(s->key, sizeof s->key, "%s", key);
	s->gen = gen;
	s->until_us = dux_now_us() + ttl_us;
	s->used = true;
	pthread_mutex_unlock(&mu);
}
