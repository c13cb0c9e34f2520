/* address.c - Flopcoin addresses, offline: duxctl address new | validate. */
#include "duxctl.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { O_KEY = 256, O_NETWORK };

static const char *kind_name(dux_addr_kind_t k)
{
	return k == DUX_ADDR_SCRIPT_HASH ? "pay-to-script-hash" : "pay-to-pubkey-hash";
}

/* Writes the private key to a new file; an existing file is never replaced: it may hold the
 * only key of an address that has funds. */
static int save_key(const char *path, const char *pem)
{
	if (ctl_mkdir_parents(path) < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot create the directory of %s: %s", path,
				strerror(errno));
	int r = ctl_write_new(path, pem, strlen(pem));
	if (r == DUX_EEXIST)
		return ctl_fail(CTL_EXIT_LOCAL, "%s exists; refusing to overwrite a key file",
				path);
	if (r < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot write %s: %s", path, strerror(errno));
	return CTL_OK;
}

static int new_print(const ctl_t *ctl, const char *addr, dux_net_t net, const char *key)
{
	if (!key)
		fputs("duxctl: note: the private key was not saved (--key FILE keeps it); "
		      "funds sent to this address could never be spent\n",
		      stderr);
	if (!ctl->json) {
		printf("address %s\n", addr); /* last word: the address, for scripts */
		return CTL_OK;
	}
	cJSON *o = cJSON_CreateObject();
	int rc = CTL_EXIT_LOCAL;
	if (o && cJSON_AddStringToObject(o, "address", addr) &&
	    cJSON_AddStringToObject(o, "network", dux_net_name(net)) &&
	    (key ? cJSON_AddStringToObject(o, "key_file", key)
		 : cJSON_AddNullToObject(o, "key_file")))
		rc = out_json(o);
	else
		ctl_fail(rc, "out of memory");
	cJSON_Delete(o);
	return rc;
}

static int new_run(const ctl_t *ctl, dux_net_t net, const char *key)
{
	char addr[DUX_ADDRESS_MAX];
	char *pem = NULL;
	struct stat st;
	/* checked first too, so that no key is made only to be thrown away */
	if (key && (lstat(key, &st) == 0 || errno != ENOENT))
		return ctl_fail(CTL_EXIT_LOCAL, "%s exists; refusing to overwrite a key file", key);
	if (dux_address_new(net, addr, &pem) < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot create a secp256k1 key");
	int rc = key ? save_key(key, pem) : CTL_OK;
	explicit_bzero(pem, strlen(pem));
	free(pem);
	return rc == CTL_OK ? new_print(ctl, addr, net, key) : rc;
}

typedef struct {
	const char *key;
	dux_net_t net;
} new_args_t;

static int new_option(const ctl_t *ctl, int c, void *args)
{
	new_args_t *a = args;
	if (c == O_KEY)
		return ctl_require(ctl, a->key = optarg, "a non-empty --key FILE");
	return c == O_NETWORK ? ctl_parse_net(ctl, optarg, &a->net) : CTL_OK;
}

int address_new(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		{"network", required_argument, NULL, O_NETWORK},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	new_args_t a = {.key = NULL, .net = DUX_NET_MAINNET};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, new_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK)
		return rc;
	return new_run(ctl, a.net, a.key);
}

static int validate_print(const ctl_t *ctl, const char *addr, dux_net_t net, bool valid,
			  dux_addr_kind_t kind, const char *why)
{
	if (!ctl->json) {
		if (valid)
			printf("valid %s address on %s\n", kind_name(kind), dux_net_name(net));
		else
			printf("invalid address on %s: %s\n", dux_net_name(net), why);
		return CTL_OK;
	}
	cJSON *o = cJSON_CreateObject();
	int rc = CTL_EXIT_LOCAL;
	if (o && cJSON_AddStringToObject(o, "address", addr) &&
	    cJSON_AddStringToObject(o, "network", dux_net_name(net)) &&
	    cJSON_AddBoolToObject(o, "valid", valid) &&
	    (valid ? cJSON_AddStringToObject(o, "kind", kind_name(kind))
		   : cJSON_AddStringToObject(o, "reason", why)))
		rc = out_json(o);
	else
		ctl_fail(rc, "out of memory");
	cJSON_Delete(o);
	return rc;
}

/* --network, the only option, into the dux_net_t at args. */
static int validate_option(const ctl_t *ctl, int c, void *args)
{
	(void)c;
	return ctl_parse_net(ctl, optarg, args);
}

int address_validate(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"network", required_argument, NULL, O_NETWORK},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	dux_net_t net = DUX_NET_MAINNET;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, validate_option, &net);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "ADDR")) != CTL_OK)
		return rc;
	const char *addr = argv[optind], *why = "";
	dux_addr_kind_t kind = DUX_ADDR_PUBKEY_HASH;
	bool valid = dux_address_validate(addr, net, &kind, &why) == 0;
	rc = validate_print(ctl, addr, net, valid, kind, why);
	return rc == CTL_OK && !valid ? CTL_EXIT_REFUSED : rc;
}
