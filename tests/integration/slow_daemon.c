/* slow_daemon.c - the smallest daemon on the skeleton, with a slow route, for testing what the
 * skeleton does around requests: drain on SIGTERM, readiness without a database. */
#include <dux/daemon.h>
#include <unistd.h>

static void slow(dux_req_t *r, void *app)
{
	(void)app;
	sleep(3);
	dux_reply_json(r, 200, cJSON_CreateObject());
}

int main(int argc, char **argv)
{
	static const dux_route_t routes[] = {{"GET", "/slow", slow, 0, 0}};
	const dux_daemon_spec_t spec = {
		.name = "duxos-slowd",
		.summary = "A test daemon with one slow route.",
		.schema = "slowd",
		.default_port = 0,
		.default_bus = "",
		.routes = routes,
		.nroutes = 1,
	};
	return dux_daemon_main(argc, argv, &spec);
}
