/* auth_cache.c - verified tokens remembered by their SHA-256, so that a client sending the same
 * token on every request (a keep-alive connection, a daemon calling another) pays for one
 * Ed25519 verification, not one per request. Only successes are kept; expiry is checked at every
 * use with the same leeway as dux_token_verify. Direct-mapped: a new token simply replaces the
 * one in its slot. */
#include <dux/auth.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint8_t digest[DUX_SHA256_LEN];
	dux_token_t token;
	bool used;
} slot_t;

struct dux_token_cache {
	pthread_mutex_t mu;
	size_t nslots;
	uint64_t hits;
	slot_t slots[];
};

int dux_token_cache_new(size_t nslots, dux_token_cache_t **ret)
{
	if (nslots == 0 || nslots > 1u << 20)
		return DUX_EINVAL;
	dux_token_cache_t *c = calloc(1, sizeof *c + nslots * sizeof c->slots[0]);
	if (!c)
		return DUX_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->nslots = nslots;
	*ret = c;
	return 0;
}

dux_token_cache_t *dux_token_cache_free(dux_token_cache_t *c)
{
	if (c) {
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
	return NULL;
}

uint64_t dux_token_cache_hits(dux_token_cache_t *c)
{
	pthread_mutex_lock(&c->mu);
	uint64_t n = c->hits;
	pthread_mutex_unlock(&c->mu);
	return n;
}

int dux_token_verify_cached(dux_token_cache_t *c, const dux_key_t *key, const char *issuer,
			    const char *token, int64_t now, dux_token_t *ret)
{
	size_t len = strnlen(token, DUX_TOKEN_MAX + 1);
	if (!c || len > DUX_TOKEN_MAX)
		return dux_token_verify(key, issuer, token, now, ret);
	uint8_t d[DUX_SHA256_LEN];
	dux_sha256(token, len, d);
	uint64_t h;
	memcpy(&h, d, sizeof h);
	slot_t *s = &c->slots[h % c->nslots];
	pthread_mutex_lock(&c->mu);
	bool hit = s->used && memcmp(s->digest, d, sizeof d) == 0 &&
		   !dux_token_expired(s->token.exp, now);
	if (hit) {
		*ret = s->token;
		c->hits++;
	}
	pthread_mutex_unlock(&c->mu);
	if (hit)
		return 0;
	dux_token_t t;
	int r = dux_token_verify(key, issuer, token, now, &t);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->mu);
	memcpy(s->digest, d, sizeof d);
	s->token = t;
	s->used = true;
	pthread_mutex_unlock(&c->mu);
	*ret = t;
	return 0;
}
