/* hello.h - the reference HTTP servers: libmicrohttpd answering "Hello, World!", the reply
 * queued on the second call so that keep-alive works as it does in the daemons, with the
 * connection limit, timeout and backlog of libduxcommon's http.c. Two kinds:
 *
 *   pool 0   the flags of http.c: internal polling thread, a thread per connection, poll,
 *            ITC, turbo. What the daemon adds on top of this is what a benchmark of the
 *            daemon measures.
 *   pool N   the flags http.c had before it served each connection on its own thread:
 *            internal polling thread, epoll, ITC, turbo and a pool of N event loops. With
 *            N = 2 it is the fastest libmicrohttpd server on 2-CPU machines, a stricter
 *            ceiling. Its connection limit is the expected
 *            connections rounded up to a multiple of N: libmicrohttpd divides the limit among
 *            the loops, so each takes its share. With the former limit of 1024, the loop that
 *            wakes first accepts a burst of up to 10 connections, and in about half the runs
 *            one loop served all 8 of the generator's (0.7 CPU against 0.0, 25-35 % fewer
 *            requests); a ceiling must not depend on that draw. */
#ifndef BENCH_HELLO_H
#define BENCH_HELLO_H

typedef struct hello hello_t;

/* Starts on 127.0.0.1, any free port, for conns connections (used by pool N only); NULL on
 * failure. */
hello_t *hello_start(unsigned pool, unsigned conns);
int hello_port(const hello_t *h);
void hello_stop(hello_t *h);

#endif
