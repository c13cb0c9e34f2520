/* distribute.c - the shares of a round, in exact integer arithmetic on base units.
 *
 * equal: every recipient gets floor(pool / n). work: recipient i gets
 * floor(pool x weight_i / sum of weights), computed in 128 bits. A share below airdrop.dust_min
 * (or of 0) is dropped and the rest are computed again over the recipients left, so every
 * share paid is at least the minimum: with equal shares the last recipients in the order go
 * first (n becomes floor(pool / dust)); with weights, every share below the minimum goes at
 * once and the loop repeats (the remaining shares only grow, so it ends). What the floors
 * leave, pool - total, stays in the fund. */
#include "airdrop.h"
#include <string.h>

static int64_t share(int64_t pool, int64_t w, int64_t sum)
{
	return (int64_t)((__int128)pool * w / sum);
}

static void equal(elig_list_t *l, int64_t pool, int64_t dust, dist_result_t *ret)
{
	int n = l->n;
	int64_t floor_min = dust > 0 ? dust : 1;
	if ((int64_t)n > pool / floor_min)
		n = (int)(pool / floor_min);
	ret->dropped = l->n - n;
	l->n = n;
	for (int i = 0; i < n; i++) {
		l->v[i].amount = pool / n;
		ret->total += l->v[i].amount;
	}
}

static void weighted(elig_list_t *l, int64_t pool, int64_t dust, dist_result_t *ret)
{
	int64_t floor_min = dust > 0 ? dust : 1;
	for (;;) {
		int64_t sum = 0;
		for (int i = 0; i < l->n; i++)
			sum += l->v[i].weight;
		int kept = 0;
		for (int i = 0; i < l->n; i++) {
			l->v[i].amount = sum > 0 ? share(pool, l->v[i].weight, sum) : 0;
			if (l->v[i].amount >= floor_min)
				l->v[kept++] = l->v[i];
		}
		ret->dropped += l->n - kept;
		bool stable = kept == l->n;
		l->n = kept;
		if (stable)
			break;
	}
	for (int i = 0; i < l->n; i++)
		ret->total += l->v[i].amount;
}

void distribute(elig_list_t *l, int64_t pool, int64_t dust, bool by_work, dist_result_t *ret)
{
	memset(ret, 0, sizeof *ret);
	if (pool <= 0)
		l->n = 0;
	else if (by_work)
		weighted(l, pool, dust, ret);
	else
		equal(l, pool, dust, ret);
	ret->remainder = pool - ret->total;
}
