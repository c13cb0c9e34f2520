/* registry_util.c - see registry_util.h. */
#include "registry_util.h"
#include <stdio.h>
#include <stdlib.h>

char *reg_body(const th_node_t *n, const char *wallet, int port, const char *caps_json)
{
	char *s = NULL;
	if (asprintf(&s,
		     "{\"public_key\":\"%s\",\"wallet_address\":\"%s\",\"ip_address\":\"10.0.0.7\","
		     "\"port\":%d,\"capabilities\":%s,\"resources\":{\"cpu_cores\":4,"
		     "\"memory_mb\":4096,\"disk_mb\":100000}}",
		     n->pub_b64, wallet, port, caps_json) < 0)
		return NULL;
	return s;
}

long reg_node(const char *url, th_node_t *n, const char *caps_json)
{
	char wallet[64];
	th_address(wallet);
	char *body = reg_body(n, wallet, 8080, caps_json);
	dux_client_resp_t resp;
	long st = -1;
	if (body && th_signed(url, n, "POST", "/v1/nodes/register", body, 0, &resp) == 0) {
		st = resp.status;
		dux_client_resp_clear(&resp);
	}
	free(body);
	return st;
}

long heartbeat(const char *url, th_node_t *n, int64_t counter)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/nodes/%s/heartbeat", n->id);
	const char *body = "{\"load_average\":[0.5,0.3,0.2],\"available_memory\":2048,"
			   "\"available_cpu\":3.5,\"uptime\":1234}";
	dux_client_resp_t resp;
	if (th_signed(url, n, "POST", path, body, counter, &resp) < 0)
		return -1;
	long st = resp.status;
	dux_client_resp_clear(&resp);
	return st;
}

long get_json(const char *url, const char *path, cJSON **ret)
{
	dux_client_resp_t resp;
	if (th_http(url, "GET", path, NULL, NULL, &resp) < 0)
		return -1;
	long st = resp.status;
	if (ret) {
		*ret = resp.json;
		resp.json = NULL;
	}
	dux_client_resp_clear(&resp);
	return st;
}
