/* nodecache.c - GET /nodes/{id} answers kept for registry.read_cache_ms. Every change this
 * process makes to a node forgets its entry; a fetch that raced with a change is not stored
 * (generation check). Changes made by another copy of the daemon show within the TTL. This is
 * derived data only: PostgreSQL stays the one place of truth. Open addressing:
 * a node lives in one of PROBE slots from its home slot. A slot keeps its buffer when its
 * entry expires or is forgotten, so that the cache does not churn the heap. */
#include "registry.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096 /* a power of two */
#define PROBE 8

typedef struct {
	char id[DUX_NODE_ID_LEN + 1];
	bool used;
	char *buf;
	size_t len, cap;
	int64_t until_us;
} slot_t;

static slot_t cache[SLOTS];
static uint64_t gens[SLOTS]; /* by home slot: bumped by each forget */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static size_t home_of(const char *id)
{
	return strtoul((char[9]){id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], 0}, NULL,
		       16) &
	       (SLOTS - 1);
}

static slot_t *find(const char *id, size_t home)
{
	for (size_t i = 0; i < PROBE; i++) {
		slot_t *s = &cache[(home + i) & (SLOTS - 1)];
		if (s->used && strcmp(s->id, id) == 0)
			return s;
	}
	return NULL;
}

bool nodecache_reply(dux_req_t *r, const char *id, uint64_t *ret_gen)
{
	size_t h = home_of(id);
	pthread_mutex_lock(&mu);
	*ret_gen = gens[h];
	slot_t *s = find(id, h);
	bool hit = s && s->until_us > dux_now_us();
	if (hit)
		dux_reply_text(r, 200, "application/json", s->buf, s->len);
	pthread_mutex_unlock(&mu);
	return hit;
}

void nodecache_put(const char *id, const char *json, size_t len, uint64_t gen, int64_t until_us)
{
	size_t h = home_of(id);
	pthread_mutex_lock(&mu);
	slot_t *s = gens[h] == gen ? find(id, h) : NULL;
	for (size_t i = 0; gens[h] == gen && !s && i < PROBE; i++) /* a free slot, else the oldest */
		if (!cache[(h + i) & (SLOTS - 1)].used)
			s = &cache[(h + i) & (SLOTS - 1)];
	for (size_t i = 0; gens[h] == gen && !s && i < PROBE; i++) {
		slot_t *t = &cache[(h + i) & (SLOTS - 1)];
		if (!s || t->until_us < s->until_us)
			s = t;
	}
	if (s && s->cap < len + 1) {
		char *b = realloc(s->buf, len + 1);
		if (b) {
			s->buf = b;
			s->cap = len + 1;
		}
	}
	if (s && s->cap >= len + 1) {
		memcpy(s->buf, json, len + 1);
		memcpy(s->id, id, sizeof s->id);
		s->len = len;
		s->used = true;
		s->until_us = until_us;
	}
	pthread_mutex_unlock(&mu);
}

void nodecache_forget(const char *id)
{
	size_t h = home_of(id);
	pthread_mutex_lock(&mu);
	gens[h]++;
	slot_t *s = find(id, h);
	if (s)
		s->used = false;
	pthread_mutex_unlock(&mu);
}

void nodecache_clear(void)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < SLOTS; i++) {
		cache[i].used = false;
		gens[i]++;
	}
	pthread_mutex_unlock(&mu);
}

void nodecache_free(void)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < SLOTS; i++) {
		free(cache[i].buf);
		cache[i] = (slot_t){0};
	}
	pthread_mutex_unlock(&mu);
}
