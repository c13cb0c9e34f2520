/* node_register.c - duxctl node register: a node-signed POST /v1/nodes/register. The first
 * registration creates the node (201), later ones update it (200). Every argument is checked
 * here as the registry would, so that a typo never leaves the machine. */
#include "duxctl.h"
#include <arpa/inet.h>
#include <stdlib.h>

enum { O_KEY = 256, O_WALLET, O_IP, O_PORT, O_CAPABILITY, O_NETWORK, O_CPU, O_MEMORY, O_DISK };

typedef struct {
	const char *key, *wallet, *ip;
	int64_t port;
	const char *caps[CTL_MAX_CAPABILITIES];
	int ncaps;
	int64_t res[3]; /* in res_names' order; -1 = measure this machine */
	dux_net_t net;
} reg_args_t;

/* resources, in the order of O_CPU, O_MEMORY, O_DISK; the bounds are the registry's */
static const char *const res_names[] = {"cpu_cores", "memory_mb", "disk_mb"};
static const char *const res_opts[] = {"--cpu", "--memory", "--disk"};
static const int64_t res_max[] = {4096, INT64_C(1) << 40, INT64_C(1) << 50};

static int add_capability(const ctl_t *ctl, reg_args_t *a, const char *s)
{
	int rc = ctl_check_capability(ctl, s);
	if (rc != CTL_OK)
		return rc;
	if (a->ncaps == CTL_MAX_CAPABILITIES)
		return ctl_usage_error(ctl, "at most %d capabilities", CTL_MAX_CAPABILITIES);
	a->caps[a->ncaps++] = s;
	return CTL_OK;
}

static int option(const ctl_t *ctl, int c, void *args)
{
	reg_args_t *a = args;
	switch (c) {
	case O_KEY: a->key = optarg; return CTL_OK;
	case O_WALLET: a->wallet = optarg; return CTL_OK;
	case O_IP: a->ip = optarg; return CTL_OK;
	case O_PORT: return ctl_parse_i64(ctl, "--port", optarg, 1, 65535, &a->port);
	case O_NETWORK: return ctl_parse_net(ctl, optarg, &a->net);
	case O_CAPABILITY: return add_capability(ctl, a, optarg);
	case O_CPU:
	case O_MEMORY:
	case O_DISK: {
		int i = c - O_CPU;
		return ctl_parse_i64(ctl, res_opts[i], optarg, 0, res_max[i], &a->res[i]);
	}
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* Required arguments, and those that can only be judged together (--wallet with --network). */
static int check(const ctl_t *ctl, const reg_args_t *a)
{
	unsigned char addr[16];
	int rc;
	if ((rc = ctl_require(ctl, a->key, "--key FILE")) != CTL_OK ||
	    (rc = ctl_require(ctl, a->wallet, "--wallet ADDR")) != CTL_OK ||
	    (rc = ctl_check_address(ctl, "--wallet", a->wallet, a->net)) != CTL_OK ||
	    (rc = ctl_require(ctl, a->ip, "--ip IP")) != CTL_OK)
		return rc;
	if (inet_pton(AF_INET, a->ip, addr) != 1 && inet_pton(AF_INET6, a->ip, addr) != 1)
		return ctl_usage_error(ctl, "--ip \"%s\" is not an IPv4 or IPv6 address", a->ip);
	if (a->port == 0)
		return ctl_usage_error(ctl, "--port N is required");
	if (a->ncaps == 0)
		return ctl_usage_error(ctl, "at least one --capability C is required");
	return CTL_OK;
}

static int measure(reg_args_t *a)
{
	if (a->res[0] >= 0 && a->res[1] >= 0 && a->res[2] >= 0)
		return CTL_OK;
	ctl_probe_t p;
	int rc = ctl_probe(&p);
	if (rc != CTL_OK)
		return rc;
	const int64_t measured[] = {p.cpu_cores, p.memory_mb, p.disk_mb};
	for (int i = 0; i < 3; i++)
		if (a->res[i] < 0)
			a->res[i] = measured[i] < res_max[i] ? measured[i] : res_max[i];
	return CTL_OK;
}

/* The body as text (caller frees), NULL when out of memory. Containers are added empty and
 * filled in place, so a failed allocation never leaves an unowned item behind. */
static char *body_of(const reg_args_t *a, const ctl_identity_t *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *caps = o ? cJSON_AddArrayToObject(o, "capabilities") : NULL;
	cJSON *res = o ? cJSON_AddObjectToObject(o, "resources") : NULL;
	bool ok = caps && res && cJSON_AddStringToObject(o, "public_key", id->public_b64) &&
		  cJSON_AddStringToObject(o, "wallet_address", a->wallet) &&
		  cJSON_AddStringToObject(o, "ip_address", a->ip) &&
		  cJSON_AddNumberToObject(o, "port", (double)a->port);
	for (int i = 0; ok && i < a->ncaps; i++)
		ok = cJSON_AddItemToArray(caps, cJSON_CreateString(a->caps[i]));
	for (int i = 0; ok && i < 3; i++)
		ok = cJSON_AddNumberToObject(res, res_names[i], (double)a->res[i]) != NULL;
	char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

static int send_registration(const ctl_t *ctl, const reg_args_t *a)
{
	ctl_identity_t id = {0};
	dux_client_resp_t resp = {0};
	char *body = NULL;
	int rc = ctl_identity_load(a->key, true, &id);
	if (rc != CTL_OK)
		goto out;
	if (!(body = body_of(a, &id))) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		goto out;
	}
	rc = ctl_signed_call(ctl, &id, "POST", "/v1/nodes/register", body, &resp);
	if (rc != CTL_OK)
		goto out;
	if (ctl->json)
		out_raw(&resp);
	else
		printf("%s node %s\n", resp.status == 201 ? "created" : "updated", id.node_id);
out:
	dux_client_resp_clear(&resp);
	free(body);
	ctl_identity_clear(&id);
	return rc;
}

int node_register(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		{"wallet", required_argument, NULL, O_WALLET},
		{"ip", required_argument, NULL, O_IP},
		{"port", required_argument, NULL, O_PORT},
		{"capability", required_argument, NULL, O_CAPABILITY},
		{"network", required_argument, NULL, O_NETWORK},
		{"cpu", required_argument, NULL, O_CPU},
		{"memory", required_argument, NULL, O_MEMORY},
		{"disk", required_argument, NULL, O_DISK},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	reg_args_t a = {.res = {-1, -1, -1}, .net = DUX_NET_MAINNET};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = check(ctl, &a)) != CTL_OK || (rc = measure(&a)) != CTL_OK)
		return rc;
	return send_registration(ctl, &a);
}
