/* http_limit.c - per-caller rate limits: a token bucket per token subject (http.rate_limit
 * requests a second, bursts of http.rate_burst). Buckets live in a fixed table, 4-way
 * set-associative by a hash of the subject; a new subject takes the least recently seen
 * bucket of its set, starting full, so the table is bounded whatever the number of callers. */
#include "http_limit.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETS 1024
#define WAYS 4
#define LOCKS 64

typedef struct {
	char key[128];
	double tokens;
	int64_t last_us;
} bucket_t;

struct limiter {
	double rate, burst; /* tokens a second, most tokens */
	pthread_mutex_t locks[LOCKS];
	bucket_t b[SETS][WAYS];
};

int limiter_new(unsigned rate, unsigned burst, limiter_t **ret)
{
	if (rate == 0 || burst == 0)
		return DUX_EINVAL;
	limiter_t *l = calloc(1, sizeof *l);
	if (!l)
		return DUX_ENOMEM;
	l->rate = rate;
	l->burst = burst;
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_init(&l->locks[i], NULL);
	*ret = l;
	return 0;
}

limiter_t *limiter_free(limiter_t *l)
{
	if (l) {
		for (int i = 0; i < LOCKS; i++)
			pthread_mutex_destroy(&l->locks[i]);
		free(l);
	}
	return NULL;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The caller's bucket in its set (locked by the caller of this function). */
static bucket_t *bucket_of(limiter_t *l, bucket_t *set, const char *caller, int64_t now_us)
{
	bucket_t *oldest = &set[0];
	for (int w = 0; w < WAYS; w++) {
		if (strcmp(set[w].key, caller) == 0)
			return &set[w];
		if (set[w].last_us < oldest->last_us)
			oldest = &set[w];
	}
	snprintf(oldest->key, sizeof oldest->key, "%s", caller);
	oldest->tokens = l->burst;
	oldest->last_us = now_us;
	return oldest;
}

int limiter_take(limiter_t *l, const char *caller, int64_t now_us)
{
	uint64_t h = fnv1a(caller);
	size_t set = h % SETS;
	pthread_mutex_t *mu = &l->locks[set % LOCKS];
	pthread_mutex_lock(mu);
	bucket_t *b = bucket_of(l, l->b[set], caller, now_us);
	double elapsed = (double)(now_us - b->last_us) / 1e6;
	if (elapsed > 0) {
		b->tokens = b->tokens + elapsed * l->rate;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->last_us = now_us;
	}
	int wait = 0;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = 1 + (int)((1 - b->tokens) / l->rate); /* whole seconds, rounded up */
	pthread_mutex_unlock(mu);
	return wait;
}
