/* hello.c - see hello.h. */
#include "hello.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct hello {
	struct MHD_Daemon *mhd;
	int port;
};

static const char greeting[] = "Hello, World!\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static int first_call_marker;
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (!*con_cls) {
		/* First call: set up only, as the daemons do; replying now would lose keep-alive. */
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		sizeof greeting - 1, (void *)(uintptr_t)greeting, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain");
	enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	*con_cls = NULL;
}

hello_t *hello_start(unsigned pool, unsigned conns)
{
	hello_t *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* pool 0: the flags of libduxcommon/src/http.c; otherwise its former event-loop pool,
	 * with a connection limit that makes each loop take its share (see hello.h) */
	const unsigned common = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_TURBO;
	if (pool == 0)
		h->mhd = MHD_start_daemon(
			common | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL, NULL, on_request,
			NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_CONNECTION_LIMIT,
			1024u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED,
			on_completed, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	else
		h->mhd = MHD_start_daemon(
			common | MHD_USE_EPOLL, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&a, MHD_OPTION_THREAD_POOL_SIZE, pool,
			MHD_OPTION_CONNECTION_LIMIT, pool * ((conns + pool - 1) / pool),
			MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
			NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	const union MHD_DaemonInfo *di =
		h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!di) {
		hello_stop(h);
		return NULL;
	}
	h->port = di->port;
	return h;
}

int hello_port(const hello_t *h)
{
	return h->port;
}

void hello_stop(hello_t *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}
