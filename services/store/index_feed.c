/* index_feed.c - the search index kept as PostgreSQL has the catalogue: built before the
 * daemon listens, then following every committed change of store.services, whoever made it
 * (this copy, another copy of the daemon, the escrow's events, an operator with psql).
 *
 * The change feed (sql/002_search_index.sql): a trigger gives every inserted or updated row a
 * new change_seq and the id of its transaction (change_xid). A poll, in one REPEATABLE READ
 * transaction, reads the xmin of its snapshot and every row with change_xid >= the xmin of
 * the poll before. A transaction below that xmin had ended when the poll before looked, so
 * what it wrote was read then or earlier; one above may have committed since (sequence
 * numbers are taken in one order and committed in another, so "change_seq greater than the
 * last seen" would miss a late commit). A row read again changes nothing: a doc is replaced
 * only by a row of a higher change_seq. Polls run every store.search_index_refresh_ms in the
 * job "search-index" of each copy, and at once after a change this copy commits
 * (index_sync), so a change shows in this copy's next search and in any copy's within the
 * refresh interval and the poll's own time.
 *
 * Snapshots: readers take the current snapshot under a mutex held for a pointer copy and a
 * reference count, and search it without any lock; a poll that found changes publishes a new
 * snapshot (the same base, a new delta) and the last reader of the old one frees it. When the
 * delta holds more than store.search_index_delta_max services the base is built again from
 * both, on the poller's thread, while readers go on with the old snapshot. */
#include "index.h"
#include <dux/log.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_ROWS 2000 /* rows of one fetch */

#define ROW_COLUMNS                                                                           \
	"SELECT id, listed, name, tags::text, description, provider, price,"                  \
	" (reputation * 10000)::int, total_calls,"                                            \
	" (extract(epoch FROM created_at) * 1000000)::bigint, change_seq, service_json(s)::text" \
	" FROM services s"

static struct {
	store_t *s;
	pthread_mutex_t snap_mu; /* the pointer cur and its reference count */
	index_snap_t *cur;
	pthread_mutex_t feed_mu; /* one poll at a time; guards what follows */
	bool off;                /* too many services: searches go to PostgreSQL */
	char xmin[24];           /* xid8 of the last poll's snapshot: the next reads from there */
	int64_t seq;             /* highest change_seq taken in */
	dux_metric_t *m_services, *m_delta, *m_seq, *m_bytes, *m_builds, *m_build_ms;
} ix = {.snap_mu = PTHREAD_MUTEX_INITIALIZER, .feed_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- snapshots */

static void snap_free(index_snap_t *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nd; i++)
		doc_unref(s->delta[i]);
	free(s->delta);
	free(s->shadow);
	base_unref(s->base);
	free(s);
}

index_snap_t *index_acquire(void)
{
	pthread_mutex_lock(&ix.snap_mu);
	index_snap_t *s = ix.cur;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&ix.snap_mu);
	return s;
}

void index_release(index_snap_t *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

/* Makes next (NULL: none) the snapshot new searches get. */
static void publish(index_snap_t *next)
{
	pthread_mutex_lock(&ix.snap_mu);
	index_snap_t *old = ix.cur;
	ix.cur = next;
	pthread_mutex_unlock(&ix.snap_mu);
	index_release(old);
	if (!ix.m_services) /* the index is off: no metrics were made */
		return;
	size_t bytes = 0;
	uint32_t listed = 0;
	if (next) {
		bytes = next->base->bytes;
		for (uint32_t i = 0; i < next->base->n; i++)
			bytes += doc_bytes(next->base->docs[i]);
		for (uint32_t i = 0; i < next->nd; i++) {
			bytes += doc_bytes(next->delta[i]) + sizeof next->delta[i];
			listed += next->delta[i]->listed && base_find(next->base, next->delta[i]->id) < 0;
		}
		for (uint32_t i = 0; i < next->base->n; i++)
			listed += !snap_shadowed(next, i);
	}
	dux_metric_set(ix.m_services, listed);
	dux_metric_set(ix.m_delta, next ? next->nd : 0);
	dux_metric_set(ix.m_bytes, (int64_t)bytes);
	dux_metric_set(ix.m_seq, ix.seq);
}

/* ---- reading rows */

typedef struct {
	bool full;   /* every listed row, for a new base; else the changes since ix.xmin */
	char xmin[24];
	index_doc_t **v;
	uint32_t n, cap;
	int64_t max_seq, limit; /* limit: most docs a full read may hold */
} batch_t;

static void batch_clear(batch_t *b)
{
	for (uint32_t i = 0; i < b->n; i++)
		doc_unref(b->v[i]);
	b->n = 0;
}

static int batch_add(batch_t *b, index_doc_t *d)
{
	if (!d)
		return DUX_ENOMEM;
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 256;
		index_doc_t **v = realloc(b->v, cap * sizeof *v);
		if (!v) {
			doc_unref(d);
			return DUX_ENOMEM;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = d;
	b->max_seq = d->seq > b->max_seq ? d->seq : b->max_seq;
	return 0;
}

static int read_rows(batch_t *b, const PGresult *res)
{
	int n = PQntuples(res), r = 0;
	for (int i = 0; r == 0 && i < n; i++) {
		index_row_t row = {
			.id = PQgetvalue(res, i, 0),
			.listed = dux_db_bool(res, i, 1),
			.name = PQgetvalue(res, i, 2),
			.tags = PQgetvalue(res, i, 3),
			.description = PQgetvalue(res, i, 4),
			.provider = PQgetvalue(res, i, 5),
			.price = dux_db_i64(res, i, 6),
			.rep_e4 = (int32_t)dux_db_i64(res, i, 7),
			.calls = dux_db_i64(res, i, 8),
			.created_us = dux_db_i64(res, i, 9),
			.seq = dux_db_i64(res, i, 10),
			.json = PQgetvalue(res, i, 11),
		};
		r = batch_add(b, doc_new(&row));
	}
	return r;
}

/* The rows of the batch, in one snapshot of the database (run again on a serialization
 * failure, so it starts from nothing each time). */
static int read_tx(dux_db_conn_t *c, void *arg)
{
	batch_t *b = arg;
	PGresult *res;
	batch_clear(b);
	b->max_seq = 0;
	int r = dux_db_exec(c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text", 0, NULL,
			    &res);
	if (r < 0)
		return r;
	snprintf(b->xmin, sizeof b->xmin, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	char after[24] = "0";
	for (;;) {
		const char *p[] = {after, ix.xmin};
		r = b->full ? dux_db_execp(c, "store_index_all",
					   ROW_COLUMNS " WHERE listed AND change_seq > $1::bigint"
						       " ORDER BY change_seq LIMIT 2000",
					   1, p, &res)
			    : dux_db_execp(c, "store_index_changes",
					   ROW_COLUMNS " WHERE change_seq > $1::bigint AND"
						       " change_xid >= $2::xid8"
						       " ORDER BY change_seq LIMIT 2000",
					   2, p, &res);
		if (r < 0)
			return r;
		int n = PQntuples(res);
		r = read_rows(b, res);
		if (r == 0 && n > 0)
			snprintf(after, sizeof after, "%s", PQgetvalue(res, n - 1, 10));
		PQclear(res);
		if (r < 0 || n < PAGE_ROWS)
			return r;
		if (b->full && b->n > b->limit)
			return DUX_ERANGE;
	}
}

/* ---- applying them */

static int id_cmp(const void *a, const void *b)
{
	return strcmp((*(index_doc_t *const *)a)->id, (*(index_doc_t *const *)b)->id);
}

/* A new base of every listed doc of cur and the batch; the batch's docs are given up. */
static index_snap_t *rebuild(const index_snap_t *cur, batch_t *b)
{
	size_t cap = (cur ? cur->base->n + cur->nd : 0) + b->n;
	index_doc_t **all = malloc((cap ? cap : 1) * sizeof *all);
	index_snap_t *s = calloc(1, sizeof *s);
	uint32_t n = 0;
	int64_t t0 = dux_now_us();
	if (all && s) {
		for (uint32_t i = 0; cur && i < cur->base->n; i++)
			if (!snap_shadowed(cur, i))
				all[n++] = cur->base->docs[i];
		for (uint32_t i = 0; cur && i < cur->nd; i++)
			if (cur->delta[i]->listed)
				all[n++] = cur->delta[i];
		for (uint32_t i = 0; i < b->n; i++)
			if (b->v[i]->listed)
				all[n++] = b->v[i];
		qsort(all, n, sizeof *all, id_cmp);
		uint32_t k = 0; /* one doc per id: the one of the highest change_seq */
		for (uint32_t i = 0; i < n; i++) {
			if (k && strcmp(all[k - 1]->id, all[i]->id) == 0) {
				if (all[i]->seq > all[k - 1]->seq)
					all[k - 1] = all[i];
			} else {
				all[k++] = all[i];
			}
		}
		s->base = base_build(all, k);
	}
	free(all);
	if (!s || !s->base) {
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	dux_metric_add(ix.m_builds, 1);
	dux_metric_set(ix.m_build_ms, (dux_now_us() - t0) / 1000);
	return s;
}

/* The version of id the snapshot holds (NULL: none). */
static const index_doc_t *held(const index_snap_t *cur, const char *id, int64_t *ret_base)
{
	index_doc_t key, *kp = &key;
	memcpy(key.id, id, sizeof key.id);
	index_doc_t **hit = cur->nd ? bsearch(&kp, cur->delta, cur->nd, sizeof kp, id_cmp) : NULL;
	*ret_base = base_find(cur->base, id);
	if (hit)
		return *hit;
	return *ret_base >= 0 ? cur->base->docs[*ret_base] : NULL;
}

/* cur with the changes of the batch in its delta (the batch's docs are taken or dropped);
 * cur itself when nothing changed; NULL when out of memory. */
static index_snap_t *with_changes(index_snap_t *cur, batch_t *b)
{
	uint32_t k = 0;
	if (b->n > 1)
		qsort(b->v, b->n, sizeof *b->v, id_cmp);
	for (uint32_t i = 0; i < b->n; i++) { /* drop what the snapshot has already */
		int64_t at;
		const index_doc_t *old = held(cur, b->v[i]->id, &at);
		if ((old && old->seq >= b->v[i]->seq) || (!old && !b->v[i]->listed))
			doc_unref(b->v[i]);
		else
			b->v[k++] = b->v[i];
	}
	b->n = k;
	if (!k)
		return cur;
	index_snap_t *s = calloc(1, sizeof *s);
	size_t bits = (cur->base->n + 7) / 8;
	if (s) {
		s->delta = malloc((cur->nd + k) * sizeof *s->delta);
		s->shadow = calloc(bits ? bits : 1, 1);
	}
	if (!s || !s->delta || !s->shadow) {
		snap_free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	if (cur->shadow)
		memcpy(s->shadow, cur->shadow, bits);
	uint32_t i = 0, j = 0;
	while (i < cur->nd || j < k) { /* merge by id; the batch's version wins */
		int c = i == cur->nd ? 1 : j == k ? -1 : strcmp(cur->delta[i]->id, b->v[j]->id);
		if (c < 0) {
			s->delta[s->nd++] = doc_ref(cur->delta[i++]);
			continue;
		}
		i += c == 0;
		int64_t at = base_find(cur->base, b->v[j]->id);
		if (at >= 0)
			s->shadow[at >> 3] |= (uint8_t)(1u << (at & 7));
		s->delta[s->nd++] = b->v[j++];
	}
	b->n = 0; /* taken */
	s->base = cur->base;
	atomic_fetch_add(&s->base->refs, 1);
	return s;
}

/* One poll (or the first build): read, apply, publish. Under feed_mu. */
static int feed(dux_db_conn_t *c)
{
	const store_cfg_t *cfg = &ix.s->cfg;
	index_snap_t *cur = ix.cur; /* only this function, under feed_mu, replaces it */
	batch_t b = {.full = !cur, .limit = cfg->search_index_max_services};
	int r = dux_db_tx_on(c, "REPEATABLE READ READ ONLY", read_tx, &b);
	index_snap_t *next = NULL;
	if (r == DUX_ERANGE) {
		dux_error("the catalogue holds more than store.search_index_max_services (%lld)"
			  " listed services: searches are answered by PostgreSQL",
			  (long long)cfg->search_index_max_services);
		ix.off = true;
		publish(NULL);
		goto out;
	}
	if (r < 0)
		goto out;
	ix.seq = b.max_seq > ix.seq ? b.max_seq : ix.seq;
	if (!cur) {
		next = rebuild(NULL, &b);
	} else {
		next = with_changes(cur, &b);
		if (next && next != cur && next->nd > (uint32_t)cfg->search_index_delta_max) {
			index_snap_t *merged = rebuild(next, &b);
			snap_free(next);
			next = merged;
		}
	}
	if (!next) {
		r = DUX_ENOMEM;
		goto out;
	}
	if (next != cur && next->base->n + next->nd > (uint64_t)cfg->search_index_max_services) {
		dux_error("the catalogue holds more than store.search_index_max_services (%lld)"
			  " listed services: searches are answered by PostgreSQL",
			  (long long)cfg->search_index_max_services);
		snap_free(next);
		ix.off = true;
		publish(NULL);
		goto out;
	}
	snprintf(ix.xmin, sizeof ix.xmin, "%s", b.xmin);
	if (next != cur)
		publish(next);
	else
		dux_metric_set(ix.m_seq, ix.seq);
out:
	batch_clear(&b);
	free(b.v);
	return r;
}

/* ---- the job and the hooks */

static int job(dux_daemon_t *d, dux_db_conn_t *c, void *ctx)
{
	(void)d;
	(void)ctx;
	pthread_mutex_lock(&ix.feed_mu);
	int r = ix.off ? 0 : feed(c);
	pthread_mutex_unlock(&ix.feed_mu);
	return r;
}

void index_sync(store_t *s)
{
	dux_db_conn_t *c;
	if (!s->cfg.search_index || dux_db_acquire(dux_daemon_db(s->d), &c) < 0)
		return;
	pthread_mutex_lock(&ix.feed_mu);
	if (!ix.off && ix.cur)
		(void)feed(c);
	pthread_mutex_unlock(&ix.feed_mu);
	dux_db_release(dux_daemon_db(s->d), c);
}

static int metrics(dux_metrics_t *m)
{
	ix.m_services = dux_metrics_gauge(m, "store_search_index_services",
					  "listed services in the search index", NULL);
	ix.m_delta = dux_metrics_gauge(m, "store_search_index_delta",
				       "services changed since the index's base was built", NULL);
	ix.m_seq = dux_metrics_gauge(m, "store_search_index_seq",
				     "highest change_seq of store.services the index has taken in",
				     NULL);
	ix.m_bytes = dux_metrics_gauge(m, "store_search_index_bytes",
				       "bytes the search index holds (its arrays and services)", NULL);
	ix.m_builds = dux_metrics_counter(m, "store_search_index_builds_total",
					  "bases of the search index built", NULL);
	ix.m_build_ms = dux_metrics_gauge(m, "store_search_index_build_ms",
					  "milliseconds the last base took to build", NULL);
	return ix.m_services && ix.m_delta && ix.m_seq && ix.m_bytes && ix.m_builds &&
			       ix.m_build_ms
		       ? 0
		       : DUX_ENOMEM;
}

int index_start(store_t *s)
{
	ix.s = s;
	if (!s->cfg.search_index)
		return 0;
	int r = metrics(dux_daemon_metrics(s->d));
	if (r == 0)
		r = words_init();
	if (r < 0)
		return r;
	dux_db_conn_t *c;
	int64_t t0 = dux_now_us();
	r = dux_db_acquire(dux_daemon_db(s->d), &c);
	if (r == 0) {
		pthread_mutex_lock(&ix.feed_mu);
		r = feed(c);
		pthread_mutex_unlock(&ix.feed_mu);
		dux_db_release(dux_daemon_db(s->d), c);
	}
	if (r < 0)
		dux_warn("search index: the first build failed (%s); searches go to PostgreSQL until"
			 " the job has built it",
			 dux_strerror(r));
	else if (ix.cur)
		dux_info("search index: %u services in %.1f s", ix.cur->base->n,
			 (double)(dux_now_us() - t0) / 1e6);
	return dux_daemon_job(s->d, "search-index", (int)s->cfg.search_index_refresh_ms, 0, job,
			      NULL);
}

void index_stop(void)
{
	publish(NULL);
	words_free();
}
