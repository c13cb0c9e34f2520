/* wake.c - claims waiting in this copy of the scheduler wake when any copy queues work: a
 * ZeroMQ SUB socket on the schedulers' event buses (tasks.wake_endpoints; by default this
 * daemon's own bus.endpoint) hears every task.* event the relay publishes, within its 50 ms
 * round, and wakes the waiting claims, which then look at the database. Offers made by this
 * copy wake them at once (assign_wake); the claims' own 250 ms look is the floor when ZeroMQ
 * drops a message. */
#include "tasks.h"
#include <dux/log.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <zmq.h>

struct tasks_wake {
	tasks_t *t;
	void *ctx, *sub;
	pthread_t thread;
	atomic_bool stop;
};

static void *wake_main(void *arg)
{
	struct tasks_wake *w = arg;
	while (!atomic_load(&w->stop)) {
		zmq_pollitem_t item = {w->sub, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&item, 1, 200) <= 0)
			continue;
		bool heard = false;
		for (;;) { /* drain: one wake for a burst */
			zmq_msg_t m;
			zmq_msg_init(&m);
			int n = zmq_msg_recv(&m, w->sub, ZMQ_DONTWAIT);
			zmq_msg_close(&m);
			if (n < 0)
				break;
			heard = true;
		}
		if (heard)
			assign_wake(w->t);
	}
	return NULL;
}

static int open_sub(struct tasks_wake *w, const dux_strlist_t *eps, const char *own)
{
	w->ctx = zmq_ctx_new();
	w->sub = w->ctx ? zmq_socket(w->ctx, ZMQ_SUB) : NULL;
	if (!w->sub || zmq_setsockopt(w->sub, ZMQ_SUBSCRIBE, "task.", 5) < 0)
		return DUX_EIO;
	size_t n = eps->n;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *ep = n ? eps->v[i] : own;
		if (zmq_connect(w->sub, ep) < 0) {
			dux_error("tasks.wake_endpoints: cannot connect to %s: %s", ep,
				  zmq_strerror(zmq_errno()));
			return DUX_EINVAL;
		}
	}
	return 0;
}

int wake_start(tasks_t *t)
{
	const char *own = dux_daemon_common(t->d)->bus_endpoint;
	if (!t->cfg.wake_endpoints.n && (!own || !*own))
		return 0; /* no bus: the claims' own look at the database is all there is */
	struct tasks_wake *w = calloc(1, sizeof *w);
	if (!w)
		return DUX_ENOMEM;
	w->t = t;
	t->wake = w;
	int r = open_sub(w, &t->cfg.wake_endpoints, own);
	if (r == 0 && pthread_create(&w->thread, NULL, wake_main, w) != 0)
		r = DUX_EIO;
	if (r < 0)
		wake_stop(t);
	return r;
}

void wake_stop(tasks_t *t)
{
	struct tasks_wake *w = t->wake;
	if (!w)
		return;
	if (w->thread) {
		atomic_store(&w->stop, true);
		pthread_join(w->thread, NULL);
	}
	if (w->sub)
		zmq_close(w->sub);
	if (w->ctx)
		zmq_ctx_term(w->ctx);
	free(w);
	t->wake = NULL;
}
