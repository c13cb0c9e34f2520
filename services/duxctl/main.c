/* duxctl: the command-line client of a Dux_OS network. main() resolves the global options
 * and hands the rest of the command line to one entry of the command table. */
#include "duxctl.h"
#include <dux/auth.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const ctl_cmd_t commands[] = {
	{"node", "init", node_init, "--key FILE [--force]",
	 "create this node's Ed25519 identity (or load it) and print its node id"},
	{"node", "register", node_register,
	 "--key FILE --wallet ADDR --ip IP --port N --capability C [--capability C ...]"
	 " [--cpu N] [--memory MB] [--disk MB] [--network NET]",
	 "register this node with the registry, or update its registration"},
	{"node", "heartbeat", node_heartbeat,
	 "--key FILE [--load A,B,C] [--available-memory MB] [--available-cpu N] [--uptime S]",
	 "report that this node is alive, with its current load"},
	{"node", "show", node_show, "--key FILE", "show this node as the registry knows it"},
	{"nodes", "list", nodes_list,
	 "[--capability C] [--status online|offline] [--min-reputation R] [--limit N] [--all]",
	 "list registered nodes (--all follows every page)"},
	{"nodes", "show", nodes_show, "NODE_ID", "show one node, every field"},
	{"topology", NULL, topology_show, "",
	 "summarise the network: nodes, capacity, capabilities"},
	{"address", "new", address_new, "[--key FILE] [--network mainnet|testnet|regtest]",
	 "create a Flopcoin address (with --key, save its private key there)"},
	{"address", "validate", address_validate, "ADDR [--network NET]",
	 "check an address: exit 0 when valid, 1 when not"},
	{"token", "mint", token_mint,
	 "--key PRIVATE_PEM --sub NAME --scope \"SCOPE ...\" [--ttl SECONDS] [--issuer ISS]",
	 "mint a bearer token with the deployment's Ed25519 key (prints the token alone)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const char ctl_global_usage[] = "usage: duxctl [--registry URL] [--token TOKEN] [--json] "
				"[--timeout SECONDS] COMMAND [ARGS]";

static void help(FILE *f)
{
	fprintf(f, "%s\n\n", ctl_global_usage);
	fputs("The command-line client of a Dux_OS network: node identity, registration and\n"
	      "heartbeats, the node registry, Flopcoin addresses and bearer tokens.\n\n"
	      "Global options (before the command):\n",
	      f);
	fprintf(f, "  --registry URL     registry base URL (env DUXOS_REGISTRY_URL, default %s)\n",
		CTL_DEFAULT_REGISTRY);
	fputs("  --token TOKEN      bearer token sent to the server (env DUXOS_TOKEN)\n"
	      "  --json             print the server's JSON as-is, one document, for scripts\n",
	      f);
	fprintf(f, "  --timeout SECONDS  limit for each request (default %d)\n",
		CTL_DEFAULT_TIMEOUT);
	fputs("  --help, --version\n\nCommands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		fputs("  ", f);
		ctl_print_usage(f, &commands[i]);
		fprintf(f, "      %s\n", commands[i].summary);
	}
	fputs("\nExit status:\n"
	      "  0  success\n"
	      "  1  the server refused the request (4xx);\n"
	      "     address validate: the address is not valid\n"
	      "  2  usage error: unknown command or option, missing or malformed argument\n"
	      "  3  the server is unreachable, answered 5xx, or answered something unexpected\n"
	      "  4  local error: key file unreadable, cannot write a file, out of memory\n",
	      f);
}

/* Prints the usage lines of every command of group. */
static void group_usage(FILE *f, const char *group)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].group, group) == 0) {
			fputs("usage: ", f);
			ctl_print_usage(f, &commands[i]);
		}
	}
}

static bool group_exists(const char *group)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			return true;
	return false;
}

static const ctl_cmd_t *find(const char *group, const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const ctl_cmd_t *c = &commands[i];
		if (strcmp(c->group, group) == 0 &&
		    (!c->name || (name && strcmp(c->name, name) == 0)))
			return c;
	}
	return NULL;
}

static bool url_ok(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return false;
	if (strlen(s) > 1024)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* Tokens travel in a header: only the JWT alphabet, so nothing can be smuggled into it. */
static bool token_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DUX_TOKEN_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == n;
}

static int global_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int global_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("duxctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\n", ctl_global_usage);
	return CTL_EXIT_USAGE;
}

/* Parses the global options; returns -1 to go on, or an exit status. */
static int parse_globals(ctl_t *ctl, int argc, char **argv)
{
	enum { O_REGISTRY = 256, O_TOKEN, O_JSON, O_TIMEOUT, O_VERSION };
	static const struct option lo[] = {
		{"registry", required_argument, NULL, O_REGISTRY},
		{"token", required_argument, NULL, O_TOKEN},
		{"json", no_argument, NULL, O_JSON},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"version", no_argument, NULL, O_VERSION},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	int64_t t;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
		switch (c) {
		case O_REGISTRY: ctl->registry = optarg; break;
		case O_TOKEN: ctl->token = optarg; break;
		case O_JSON: ctl->json = true; break;
		case O_TIMEOUT:
			if (ctl_parse_i64(ctl, "--timeout", optarg, 1, CTL_MAX_TIMEOUT, &t) != 0)
				return CTL_EXIT_USAGE;
			ctl->timeout_s = (long)t;
			break;
		case O_VERSION: printf("duxctl %s\n", DUX_VERSION); return CTL_OK;
		case 'h': help(stdout); return CTL_OK;
		case ':': return global_fail("option %s needs a value", argv[optind - 1]);
		default: return global_fail("unknown option %s", argv[optind - 1]);
		}
	}
	if (!url_ok(ctl->registry))
		return global_fail("--registry must be an http:// or https:// URL, got \"%s\"",
				   ctl->registry);
	if (ctl->token && !token_ok(ctl->token))
		return global_fail("--token (or DUXOS_TOKEN) is not a bearer token");
	return -1;
}

static int dispatch(ctl_t *ctl, int argc, char **argv)
{
	if (argc < 1)
		return global_fail("a command is missing (duxctl --help lists them)");
	if (!group_exists(argv[0]))
		return global_fail("unknown command \"%s\" (see duxctl --help)", argv[0]);
	const ctl_cmd_t *cmd = find(argv[0], argc > 1 ? argv[1] : NULL);
	if (!cmd && argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		group_usage(stdout, argv[0]);
		return CTL_OK;
	}
	if (!cmd) {
		if (argc > 1)
			fprintf(stderr, "duxctl: unknown %s subcommand \"%s\"\n", argv[0], argv[1]);
		else
			fprintf(stderr, "duxctl: %s needs a subcommand\n", argv[0]);
		group_usage(stderr, argv[0]);
		return CTL_EXIT_USAGE;
	}
	ctl->cmd = cmd;
	optind = 0; /* a fresh getopt scan for the command's own options */
	opterr = 0; /* ctl_opt_next reports errors itself, with the usage line */
	/* the command sees its own name as argv[0], as getopt expects */
	return cmd->name ? cmd->run(ctl, argc - 1, argv + 1) : cmd->run(ctl, argc, argv);
}

int main(int argc, char **argv)
{
	const char *env_url = getenv("DUXOS_REGISTRY_URL");
	const char *env_token = getenv("DUXOS_TOKEN");
	ctl_t ctl = {
		.registry = env_url && *env_url ? env_url : CTL_DEFAULT_REGISTRY,
		.token = env_token && *env_token ? env_token : NULL,
		.timeout_s = CTL_DEFAULT_TIMEOUT,
	};
	int rc = parse_globals(&ctl, argc, argv);
	if (rc >= 0)
		return rc;
	return dispatch(&ctl, argc - optind, argv + optind);
}
