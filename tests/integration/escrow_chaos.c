/* escrow_chaos.c - conservation across duxos-escrow and duxos-wallet under a concurrent load
 * (create+release, create+refund, create+dispute+resolve over a few users and providers), with
 * kill -9 of the escrow and later of the wallet in the middle of it, each restarted at once.
 * Afterwards, once the recovery job has finished every intent: every escrow is final or
 * resumable, every acknowledged step is there, the ledger check holds, the only holds in the
 * wallet are those of held or disputed escrows, every account holds exactly what the escrows
 * say it was paid, money is conserved, and the audit log has exactly one entry per step. */
#include "escrow_util.h"
#include <dux/money.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USERS 4
#define PROVIDERS 3
#define THREADS 6
#define LOAD_MS 15000
#define MAX_ACKS 6000 /* per thread */
#define USER_FUNDS "1000"
#define CREATE_GRACE_MS 30000 /* recovery.c: CREATE_GRACE_S, not configurable: most of the run */
#define FLOP EU_FLOP

static eu_t E;
static eu_user_t users[USERS], providers[PROVIDERS];
static char url[64];
static atomic_bool stop_load;

/* What an acknowledged request promises about an escrow's final state. */
enum want {
	W_CREATING, /* create answered 202: held or failed */
	W_HELD,     /* create answered 201: anything but failed */
	W_RELEASED, /* release answered 200 or 202 */
	W_REFUNDED, /* refund answered 200 or 202 */
	W_DISPUTED, /* dispute answered 200: disputed or resolved */
	W_RESOLVED, /* resolve answered 200 or 202: resolved as asked */
};

typedef struct {
	char id[40];
	enum want want;
	char outcome[8];
} ack_t;

typedef struct {
	int t;
	unsigned seed;
	dux_client_t *c;
	ack_t *acks;
	int nacks;
	int calls, unanswered, refused; /* HTTP calls made, without answer, answered otherwise */
	int intents;                    /* answered 202: left to the recovery job */
} loader_t;

static long call(loader_t *k, const char *path, const char *auth, const char *idem,
		 const char *body, cJSON **ret)
{
	char key[96];
	const char *h[4] = {auth, NULL, NULL, NULL};
	if (idem) {
		snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
		h[1] = key;
	}
	dux_client_resp_t resp;
	k->calls++;
	if (ret)
		*ret = NULL;
	if (dux_client_do(k->c, "POST", path, h, body, strlen(body), &resp) < 0) {
		k->unanswered++;
		return -1;
	}
	long st = resp.status;
	if (st == 202)
		k->intents++;
	if (ret) {
		*ret = resp.json;
		resp.json = NULL;
	}
	dux_client_resp_clear(&resp);
	return st;
}

static ack_t *ack(loader_t *k, const char *id, enum want w)
{
	if (k->nacks >= MAX_ACKS || strlen(id) != 36)
		return NULL;
	ack_t *a = &k->acks[k->nacks++];
	snprintf(a->id, sizeof a->id, "%s", id);
	a->want = w;
	a->outcome[0] = '\0';
	return a;
}

static void settle(loader_t *k, ack_t *a, int op, int64_t units, const eu_user_t *u, int n)
{
	char body[512];
	long st;
	if (op == 0) {
		uint8_t h[DUX_SHA256_LEN];
		char hex[65];
		dux_sha256(a->id, strlen(a->id), h);
		dux_hex_encode(h, sizeof h, hex);
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"result_hash\":\"%s\"}", a->id, hex);
		st = call(k, "/v1/escrow/release", E.service, NULL, body, NULL);
		if (st == 200 || st == 202)
			a->want = W_RELEASED;
	} else if (op == 1) {
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"reason\":\"%s\"}", a->id,
			 n % 2 ? "failure" : "request");
		st = call(k, "/v1/escrow/refund", E.service, NULL, body, NULL);
		if (st == 200 || st == 202)
			a->want = W_REFUNDED;
	} else {
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"reason\":\"chaos\"}", a->id);
		st = call(k, "/v1/escrow/dispute", u->auth, NULL, body, NULL);
		if (st != 200)
			goto out;
		a->want = W_DISPUTED;
		static const char *const outcomes[] = {"refund", "release", "split"};
		const char *outcome = outcomes[n % 3];
		char pa[64] = "", amount[DUX_MONEY_STRLEN];
		if (n % 3 == 2)
			snprintf(pa, sizeof pa, ",\"provider_amount\":\"%s\"",
				 dux_money_format(units / 2 > 0 ? units / 2 : 1, amount));
		snprintf(body, sizeof body, "{\"escrow_id\":\"%s\",\"outcome\":\"%s\"%s}", a->id,
			 outcome, pa);
		st = call(k, "/v1/escrow/resolve", E.admin, NULL, body, NULL);
		if (st == 200 || st == 202) {
			a->want = W_RESOLVED;
			snprintf(a->outcome, sizeof a->outcome, "%s", outcome);
		}
	}
out:
	if (st < 0)
		usleep(20000);
	else if (st >= 300 && st != 409)
		k->refused++;
}

/* create + release, create + refund, create + dispute + resolve, until stop_load. */
static void *loader(void *arg)
{
	loader_t *k = arg;
	for (int n = 0; !atomic_load(&stop_load); n++) {
		int op = (int)(rand_r(&k->seed) % 3);
		const eu_user_t *u = &users[rand_r(&k->seed) % USERS];
		const eu_user_t *p = &providers[rand_r(&k->seed) % PROVIDERS];
		int64_t units = 1 + (int64_t)(rand_r(&k->seed) % 99999999u);
		char body[512], idem[48], amount[DUX_MONEY_STRLEN];
		snprintf(idem, sizeof idem, "chaos-%d-%d", k->t, n);
		snprintf(body, sizeof body,
			 "{\"api_id\":\"api.chaos.%d\",\"user_wallet\":\"%s\",\"provider_wallet\":\"%s\","
			 "\"amount\":\"%s\"}",
			 op, u->addr, p->addr, dux_money_format(units, amount));
		cJSON *esc = NULL;
		long st = call(k, "/v1/escrow/create", u->auth, idem, body, &esc);
		const char *id = eu_str(esc, "id");
		ack_t *a = st == 201 ? ack(k, id, W_HELD) : st == 202 ? ack(k, id, W_CREATING) : NULL;
		cJSON_Delete(esc);
		if (st == 201 && a)
			settle(k, a, op, units, u, n);
		else if (st < 0 || st >= 500)
			usleep(20000); /* a daemon is gone or not ready: keep trying until told to stop */
		else if (st != 202)
			k->refused++;
	}
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until(int64_t t)
{
	int64_t d;
	while ((d = t - now_ms()) > 0)
		usleep((useconds_t)(d > 100 ? 100000 : d * 1000));
}

/* ---- the escrows as they end */

typedef struct {
	char id[40], status[16], user[64], provider[64], fund[64], resolution[8];
	int64_t amount, pshare, cshare, paid_p, paid_c, split;
	int audit[5]; /* entries: held, released, refunded, disputed, resolved */
} esc_t;

static const char *const actions[5] = {"held", "released", "refunded", "disputed", "resolved"};

static esc_t *escrows;
static int nescrows;

static int by_id(const void *a, const void *b)
{
	return strcmp(((const esc_t *)a)->id, ((const esc_t *)b)->id);
}

static esc_t *find(const char *id)
{
	esc_t key;
	snprintf(key.id, sizeof key.id, "%s", id);
	return bsearch(&key, escrows, (size_t)nescrows, sizeof *escrows, by_id);
}

static void read_escrows(void)
{
	char cursor[64] = "", path[160];
	int cap = 0;
	nescrows = 0;
	for (;;) {
		cJSON *page = NULL;
		snprintf(path, sizeof path, "/v1/escrows?limit=500%s%s", *cursor ? "&cursor=" : "",
			 cursor);
		assert_int_equal(eu_call(&E, "GET", path, E.admin, NULL, NULL, &page), 200);
		const cJSON *j;
		cJSON_ArrayForEach(j, cJSON_GetObjectItem(page, "escrows"))
		{
			if (nescrows == cap) {
				cap = cap ? cap * 2 : 1024;
				escrows = realloc(escrows, (size_t)cap * sizeof *escrows);
				assert_non_null(escrows);
			}
			esc_t *x = &escrows[nescrows++];
			memset(x, 0, sizeof *x);
			const cJSON *paid = cJSON_GetObjectItem(j, "paid");
			const cJSON *d = cJSON_GetObjectItem(j, "dispute");
			snprintf(x->id, sizeof x->id, "%s", eu_str(j, "id"));
			snprintf(x->status, sizeof x->status, "%s", eu_str(j, "status"));
			snprintf(x->user, sizeof x->user, "%s", eu_str(j, "user_wallet"));
			snprintf(x->provider, sizeof x->provider, "%s", eu_str(j, "provider_wallet"));
			snprintf(x->fund, sizeof x->fund, "%s", eu_str(j, "fund_account"));
			snprintf(x->resolution, sizeof x->resolution, "%s", eu_str(d, "resolution"));
			x->amount = eu_amount(j, "amount");
			x->pshare = eu_amount(j, "provider_share");
			x->cshare = eu_amount(j, "community_share");
			x->paid_p = eu_amount(paid, "provider");
			x->paid_c = eu_amount(paid, "community");
			x->split = cJSON_IsString(cJSON_GetObjectItem(d, "split_amount"))
					   ? eu_amount(d, "split_amount")
					   : 0;
		}
		const cJSON *next = cJSON_GetObjectItem(page, "next_cursor");
		bool more = cJSON_IsString(next);
		if (more)
			snprintf(cursor, sizeof cursor, "%s", next->valuestring);
		cJSON_Delete(page);
		if (!more)
			break;
	}
	qsort(escrows, (size_t)nescrows, sizeof *escrows, by_id);
}

static bool is(const esc_t *x, const char *status)
{
	return strcmp(x->status, status) == 0;
}

/* Counts escrows in the transient states (intents not finished). */
static int unfinished(void)
{
	static const char *const transient[] = {"creating", "releasing", "refunding", "resolving"};
	int n = 0;
	for (int i = 0; i < 4; i++) {
		char path[96];
		cJSON *page = NULL;
		snprintf(path, sizeof path, "/v1/escrows?status=%s&limit=500", transient[i]);
		if (eu_call(&E, "GET", path, E.admin, NULL, NULL, &page) != 200) {
			cJSON_Delete(page);
			return -1;
		}
		n += cJSON_GetArraySize(cJSON_GetObjectItem(page, "escrows"));
		cJSON_Delete(page);
	}
	return n;
}

/* What an escrow's final state says was paid, from its shares and resolution. */
static void expected_paid(const esc_t *x, int64_t *pp, int64_t *pc)
{
	*pp = *pc = 0;
	if (is(x, "released") || (is(x, "resolved") && strcmp(x->resolution, "release") == 0)) {
		*pp = x->pshare;
		*pc = x->cshare;
	} else if (is(x, "resolved") && strcmp(x->resolution, "split") == 0) {
		assert_int_equal(dux_money_share_bps(x->split, 500, pc), 0);
		*pp = x->split - *pc;
	}
}

static void check_acks(const loader_t *k)
{
	for (int i = 0; i < k->nacks; i++) {
		const ack_t *a = &k->acks[i];
		const esc_t *x = find(a->id);
		if (!x) {
			fprintf(stderr, "acknowledged escrow %s is missing\n", a->id);
			fail();
		}
		bool ok;
		switch (a->want) {
		case W_CREATING:
			ok = !is(x, "creating");
			break;
		case W_HELD:
			ok = !is(x, "failed");
			break;
		case W_RELEASED:
			ok = is(x, "released");
			break;
		case W_REFUNDED:
			ok = is(x, "refunded");
			break;
		case W_DISPUTED:
			ok = is(x, "disputed") || is(x, "resolved");
			break;
		default:
			ok = is(x, "resolved") && strcmp(x->resolution, a->outcome) == 0;
			break;
		}
		if (!ok)
			fprintf(stderr, "escrow %s is %s (resolution \"%s\"), its acknowledged step %d"
					" promised otherwise\n",
				x->id, x->status, x->resolution, (int)a->want);
		assert_true(ok);
	}
}

static void check_money(void)
{
	int64_t fund_paid = 0, held_total = 0, wallet_held = 0;
	for (int i = 0; i < nescrows; i++) {
		const esc_t *x = &escrows[i];
		int64_t pp, pc;
		expected_paid(x, &pp, &pc);
		if (pp != x->paid_p || pc != x->paid_c)
			fprintf(stderr, "escrow %s (%s %s): paid %lld + %lld, its shares say %lld + %lld\n",
				x->id, x->status, x->resolution, (long long)x->paid_p,
				(long long)x->paid_c, (long long)pp, (long long)pc);
		assert_true(pp == x->paid_p && pc == x->paid_c);
		assert_true(x->pshare + x->cshare == x->amount);
		fund_paid += x->paid_c;
		if (is(x, "held") || is(x, "disputed"))
			held_total += x->amount;
	}
	/* users: what they had, less what they paid, less what is held */
	for (int u = 0; u < USERS; u++) {
		int64_t paid = 0, held = 0;
		for (int i = 0; i < nescrows; i++) {
			const esc_t *x = &escrows[i];
			if (strcmp(x->user, users[u].addr) != 0)
				continue;
			paid += x->paid_p + x->paid_c;
			if (is(x, "held") || is(x, "disputed"))
				held += x->amount;
		}
		int64_t b = wu_balance(&E.w, users[u].addr), h = wu_held(&E.w, users[u].addr);
		wallet_held += h;
		if (b != wu_units(USER_FUNDS) - paid - held || h != held)
			fprintf(stderr, "user %s: balance %lld held %lld; the escrows say %lld and %lld\n",
				users[u].addr, (long long)b, (long long)h,
				(long long)(wu_units(USER_FUNDS) - paid - held), (long long)held);
		assert_true(b == wu_units(USER_FUNDS) - paid - held);
		assert_true(h == held);
	}
	/* providers: exactly what the escrows paid them */
	for (int p = 0; p < PROVIDERS; p++) {
		int64_t paid = 0;
		for (int i = 0; i < nescrows; i++)
			if (strcmp(escrows[i].provider, providers[p].addr) == 0)
				paid += escrows[i].paid_p;
		int64_t b = wu_balance(&E.w, providers[p].addr), h = wu_held(&E.w, providers[p].addr);
		if (b != paid || h != 0)
			fprintf(stderr, "provider %s: balance %lld held %lld; the escrows paid %lld\n",
				providers[p].addr, (long long)b, (long long)h, (long long)paid);
		assert_true(b == paid && h == 0);
	}
	/* the fund, shard by shard */
	int64_t shards_sum = 0;
	for (int s = 0; s < E.nshards; s++) {
		int64_t paid = 0;
		for (int i = 0; i < nescrows; i++)
			if (strcmp(escrows[i].fund, E.shards[s]) == 0)
				paid += escrows[i].paid_c;
		int64_t b = wu_balance(&E.w, E.shards[s]), h = wu_held(&E.w, E.shards[s]);
		if (b != paid || h != 0)
			fprintf(stderr, "fund shard %s: balance %lld held %lld; the escrows paid %lld\n",
				E.shards[s], (long long)b, (long long)h, (long long)paid);
		assert_true(b == paid && h == 0);
		shards_sum += b;
	}
	assert_true(shards_sum == fund_paid);
	int64_t fb = -1, fin = -1;
	assert_true(eu_wait_fund_balance(&E, fund_paid, 5000));
	assert_true(eu_fund(&E, &fb, &fin));
	assert_true(fin == fund_paid);
	/* no hold but those of held and disputed escrows */
	if (wallet_held != held_total)
		fprintf(stderr, "the wallet holds %lld; held and disputed escrows %lld\n",
			(long long)wallet_held, (long long)held_total);
	assert_true(wallet_held == held_total);
	int64_t tl = now_ms();
	assert_true(eu_conserved(&E));
	fprintf(stderr, "ledger check and account sums: %lld ms\n", (long long)(now_ms() - tl));
}

/* Exactly one audit entry per step each escrow went through. */
static void check_audit(void)
{
	int want_total = 0;
	for (int i = 0; i < nescrows; i++) {
		const esc_t *x = &escrows[i];
		want_total += is(x, "failed")     ? 0
			      : is(x, "held")     ? 1
			      : is(x, "disputed") ? 2
			      : is(x, "resolved") ? 3
						  : 2;
	}
	eu_entry_t *all = NULL;
	int n = 0;
	/* the chainer links queued entries every 200 ms */
	for (int64_t end = now_ms() + 20000; now_ms() < end;) {
		eu_audit_free(all, n);
		assert_true(eu_audit_read(&E, &all, &n));
		if (n >= want_total)
			break;
		usleep(100000);
	}
	if (n != want_total)
		fprintf(stderr, "the audit log has %d entries; the escrows' steps are %d\n", n,
			want_total);
	for (int i = 0; i < n; i++) {
		esc_t *x = find(all[i].escrow_id);
		int a = 0;
		while (a < 5 && strcmp(actions[a], all[i].action) != 0)
			a++;
		if (!x || a == 5)
			fprintf(stderr, "audit entry %lld: %s of %s, no such escrow or action\n",
				(long long)all[i].seq, all[i].action, all[i].escrow_id);
		assert_true(x && a < 5);
		x->audit[a]++;
	}
	eu_audit_free(all, n);
	for (int i = 0; i < nescrows; i++) {
		const esc_t *x = &escrows[i];
		bool failed = is(x, "failed"), res = is(x, "resolved");
		int want[5] = {
			!failed,
			is(x, "released"),
			is(x, "refunded"),
			is(x, "disputed") || res,
			res,
		};
		for (int a = 0; a < 5; a++) {
			if (x->audit[a] != want[a])
				fprintf(stderr, "escrow %s (%s): %d audit entries \"%s\", expected %d\n",
					x->id, x->status, x->audit[a], actions[a], want[a]);
			assert_int_equal(x->audit[a], want[a]);
		}
	}
	assert_int_equal(n, want_total);
}

static void conservation_under_kill9(void **state)
{
	(void)state;
	unsigned seed = (unsigned)time(NULL);
	fprintf(stderr, "seed %u\n", seed);
	srand(seed);
	snprintf(url, sizeof url, "%s", E.url);
	for (int i = 0; i < USERS; i++)
		assert_true(eu_user(&E, &users[i], "chaos", DUX_SCOPE_USER, USER_FUNDS));
	for (int i = 0; i < PROVIDERS; i++)
		assert_true(eu_user(&E, &providers[i], "prov", DUX_SCOPE_PROVIDER, NULL));

	pthread_t th[THREADS];
	static loader_t k[THREADS];
	atomic_store(&stop_load, false);
	int64_t t0 = now_ms();
	for (int t = 0; t < THREADS; t++) {
		dux_client_opts_t o = {.base_url = url, .timeout_ms = 30000, .retries = 0};
		k[t] = (loader_t){.t = t, .seed = seed * 31u + (unsigned)t};
		k[t].acks = calloc(MAX_ACKS, sizeof *k[t].acks);
		assert_non_null(k[t].acks);
		assert_int_equal(dux_client_new(&o, &k[t].c), 0);
		assert_int_equal(pthread_create(&th[t], NULL, loader, &k[t]), 0);
	}
	/* kill -9 of the escrow at a random moment, then of the wallet */
	sleep_until(t0 + 800 + rand() % 1700);
	int64_t kill_escrow = now_ms() - t0;
	eu_escrow_kill(&E);
	assert_true(eu_escrow_restart(&E, NULL, true));
	int64_t back = now_ms();
	sleep_until(back + 400 + rand() % 1000);
	int64_t kill_wallet = now_ms();
	eu_wallet_kill(&E);
	/* down longer than the escrow's retries of a wallet call: its steps are left as intents */
	usleep((useconds_t)(600 + rand() % 900) * 1000);
	assert_true(eu_wallet_restart(&E));
	int64_t wallet_back = now_ms();
	fprintf(stderr, "kill -9 of the escrow at %lld ms (back after %lld ms), of the wallet at"
			" %lld ms (back after %lld ms)\n",
		(long long)kill_escrow, (long long)(back - t0 - kill_escrow),
		(long long)(kill_wallet - t0), (long long)(now_ms() - kill_wallet));
	sleep_until(t0 + LOAD_MS);
	atomic_store(&stop_load, true);
	int calls = 0, unanswered = 0, refused = 0, acked = 0, intents = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		k[t].c = dux_client_free(k[t].c);
		calls += k[t].calls;
		unanswered += k[t].unanswered;
		refused += k[t].refused;
		acked += k[t].nacks;
		intents += k[t].intents;
	}
	fprintf(stderr, "%d calls in %lld ms (%d without answer, %d answered 202, %d refused), %d"
			" escrows acknowledged\n",
		calls, (long long)(now_ms() - t0), unanswered, intents, refused, acked);
	assert_true(calls >= 1000);

	/* the recovery job finishes every intent; a creating escrow only after CREATE_GRACE_S */
	int left = -1;
	int64_t deadline = wallet_back + CREATE_GRACE_MS + 10000;
	while ((left = unfinished()) != 0 && now_ms() < deadline)
		usleep(200000);
	fprintf(stderr, "intents finished %lld ms after the load\n",
		(long long)(now_ms() - t0 - LOAD_MS));
	if (left != 0)
		fprintf(stderr, "%d escrows still creating, releasing, refunding or resolving\n", left);
	assert_int_equal(left, 0);

	read_escrows();
	int count[10] = {0};
	static const char *const finals[] = {"held", "disputed", "released", "refunded", "resolved",
					     "failed"};
	for (int i = 0; i < nescrows; i++) {
		int s = 0;
		while (s < 6 && !is(&escrows[i], finals[s]))
			s++;
		if (s == 6)
			fprintf(stderr, "escrow %s is %s\n", escrows[i].id, escrows[i].status);
		assert_true(s < 6);
		count[s]++;
	}
	fprintf(stderr, "%d escrows: %d held, %d disputed, %d released, %d refunded, %d resolved,"
			" %d failed\n",
		nescrows, count[0], count[1], count[2], count[3], count[4], count[5]);
	for (int t = 0; t < THREADS; t++)
		check_acks(&k[t]);
	int64_t tc = now_ms();
	check_money();
	int64_t ta = now_ms();
	check_audit();
	fprintf(stderr, "money checked in %lld ms, the audit log in %lld ms\n", (long long)(ta - tc),
		(long long)(now_ms() - ta));
	for (int t = 0; t < THREADS; t++)
		free(k[t].acks);
	free(escrows);
}

static int setup(void **state)
{
	(void)state;
	return eu_start(&E, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	/* both run under AddressSanitizer: a clean exit means no leak and no crash */
	int es = eu_escrow_stop(&E), ws = eu_wallet_stop(&E);
	eu_free(&E);
	return es == 0 && ws == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conservation_under_kill9),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
