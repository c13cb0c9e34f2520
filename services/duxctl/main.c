/* duxctl: the command-line client of a Dux_OS network. main() resolves the global options
 * and hands the rest of the command line to one entry of the command table. */
#include "duxctl.h"
#include <dux/auth.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const ctl_cmd_t commands[] = {
	{"node", "init", node_init, "--key FILE [--force]",
	 "create this node's Ed25519 identity (or load it) and print its node id", CTL_OFFLINE},
	{"node", "register", node_register,
	 "--key FILE --wallet ADDR --ip IP --port N --capability C [--capability C ...]"
	 " [--cpu N] [--memory MB] [--disk MB] [--network NET]",
	 "register this node with the registry, or update its registration", CTL_REGISTRY},
	{"node", "heartbeat", node_heartbeat,
	 "--key FILE [--load A,B,C] [--available-memory MB] [--available-cpu N] [--uptime S]",
	 "report that this node is alive, with its current load", CTL_REGISTRY},
	{"node", "show", node_show, "--key FILE", "show this node as the registry knows it",
	 CTL_REGISTRY},
	{"nodes", "list", nodes_list,
	 "[--capability C] [--status online|offline] [--min-reputation R] [--limit N] [--all]",
	 "list registered nodes (--all follows every page)", CTL_REGISTRY},
	{"nodes", "show", nodes_show, "NODE_ID", "show one node, every field", CTL_REGISTRY},
	{"topology", NULL, topology_show, "",
	 "summarise the network: nodes, capacity, capabilities", CTL_REGISTRY},
	{"address", "new", address_new, "[--key FILE] [--network mainnet|testnet|regtest]",
	 "create a Flopcoin address (with --key, save its private key there)", CTL_OFFLINE},
	{"address", "validate", address_validate, "ADDR [--network NET]",
	 "check an address: exit 0 when valid, 1 when not", CTL_OFFLINE},
	{"token", "mint", token_mint,
	 "--key PRIVATE_PEM --sub NAME --scope \"SCOPE ...\" [--ttl SECONDS] [--issuer ISS]",
	 "mint a bearer token with the deployment's Ed25519 key (prints the token alone)",
	 CTL_OFFLINE},
	{"wallet", "address", wallet_address, "[--idempotency-key K]",
	 "open a ledger account with a new address (printed last)", CTL_WALLET},
	{"wallet", "balance", wallet_balance, "[--address ADDR]",
	 "balance and held amount of your accounts, and their total", CTL_WALLET},
	{"wallet", "send", wallet_send,
	 "--to ADDR --amount FLOP [--from ADDR] [--memo TEXT] [--idempotency-key K]",
	 "pay from one of your accounts (inside the ledger, or out to the chain)", CTL_WALLET},
	{"wallet", "history", wallet_history,
	 "[--address ADDR] [--limit N] [--cursor C] [--all]",
	 "transfers of your accounts, newest first (--all follows every page)", CTL_WALLET},
	{"wallet", "validate", wallet_validate, "ADDR",
	 "ask the wallet whether ADDR is an address of its network: exit 0 when valid, 1 when not",
	 CTL_WALLET},
	{"wallet", "faucet", wallet_faucet, "--to ADDR --amount FLOP [--idempotency-key K]",
	 "admin, wallet.chain none only: credit new money to a ledger account", CTL_WALLET},
	{"wallet", "check", wallet_check, "",
	 "admin: recompute the ledger; exit 0 when it holds, 1 when not", CTL_WALLET},
	{"escrow", "create", escrow_create,
	 "--api-id ID --user-wallet ADDR --provider-wallet ADDR --amount FLOP [--task-id T]"
	 " [--timeout S] [--idempotency-key K]",
	 "hold a payment for an API call in escrow (the escrow id is printed last)", CTL_ESCROW},
	{"escrow", "release", escrow_release,
	 "ESCROW_ID (--result-hash HEX | --result-file FILE)",
	 "service, admin: pay a held escrow out to the provider and the community fund",
	 CTL_ESCROW},
	{"escrow", "refund", escrow_refund, "ESCROW_ID [--reason failure|request]",
	 "service, admin: give a held escrow back to the user", CTL_ESCROW},
	{"escrow", "dispute", escrow_dispute, "ESCROW_ID --reason TEXT",
	 "its creator: freeze a held escrow until an admin resolves it", CTL_ESCROW},
	{"escrow", "resolve", escrow_resolve,
	 "ESCROW_ID --outcome refund|release|split [--provider-amount FLOP]",
	 "admin: settle a disputed escrow (split: --provider-amount to the provider side)",
	 CTL_ESCROW},
	{"escrow", "show", escrow_show, "ESCROW_ID", "show one escrow, every field", CTL_ESCROW},
	{"escrow", "list", escrow_list,
	 "[--user ADDR] [--provider ADDR] [--api-id ID] [--status S] [--limit N] [--cursor C]"
	 " [--all]",
	 "list escrows (yours; services and admins see all; --all follows every page)",
	 CTL_ESCROW},
	{"fund", NULL, fund_show, "[--limit N]",
	 "the community fund: balance, threshold, rate, shard accounts, latest inflows",
	 CTL_ESCROW},
	{"audit", "show", audit_show, "[--after N] [--limit N]",
	 "service, admin: entries of the escrow's audit log", CTL_ESCROW},
	{"audit", "verify", audit_verify, "[--from-seq N] [--public-key FILE]",
	 "service, admin: check every hash, link and signature of the audit log (exit 1: it"
	 " does not hold)",
	 CTL_ESCROW},
	{"store", "search", store_search,
	 "[WORDS | --q WORDS] [--tag T ...] [--min-price FLOP] [--max-price FLOP]"
	 " [--min-reputation R] [--provider ADDR] [--sort S] [--limit N] [--cursor C] [--all]",
	 "search the store's catalogue (no token needed; --all follows every page)", CTL_STORE},
	{"store", "show", store_show, "SERVICE_ID [--version V]",
	 "show one service, every field (an earlier version with --version)", CTL_STORE},
	{"store", "publish", store_publish,
	 "--name N --version V --provider ADDR --price FLOP --endpoint URL --rate-limit N"
	 " [--description D] [--tag T ...] [--idempotency-key K] | --service ID ...",
	 "provider: publish a service (--service ID: a new version of it; the id is printed last)",
	 CTL_STORE},
	{"store", "delist", store_delist, "SERVICE_ID",
	 "its owner or an admin: take a service out of the search (it stays readable)", CTL_STORE},
	{"store", "review", store_review, "SERVICE_ID --stars 1-5 [--text TEXT]",
	 "rate a service you paid a call of (a second review replaces the first)", CTL_STORE},
	{"task", "submit", task_submit,
	 "--runtime bash|python|node --code FILE [--input FILE] [--memory 512m] [--cpu 1.0]"
	 " [--timeout S] [--network] [--replicas N] [--output-format JSON] [--idempotency-key K]"
	 " [--wait SECONDS]",
	 "run a program in a node's sandbox (--wait: print its output; the id is printed last)",
	 CTL_TASKS},
	{"task", "show", task_show, "TASK_ID", "show one task: state, attempts, output",
	 CTL_TASKS},
	{"task", "list", task_list,
	 "[--state S] [--kind generic|call] [--service ID] [--owner SUB] [--limit N] [--cursor C]"
	 " [--all]",
	 "list tasks, newest first (yours; services and admins see all; --all follows every page)",
	 CTL_TASKS},
	{"task", "logs", task_logs, "TASK_ID", "stdout and stderr of every attempt of a task",
	 CTL_TASKS},
	{"task", "cancel", task_cancel, "TASK_ID", "cancel a task that has not ended", CTL_TASKS},
	{"call", NULL, call_service,
	 "SERVICE_ID [--input FILE] --from ADDR [--wait-ms MS] [--idempotency-key K]",
	 "pay for one call of a store service from ADDR and print its output", CTL_TASKS},
	{"bundle", "publish", bundle_publish,
	 "SERVICE_ID --key FILE --runtime RT --code FILE --version V [--output-format JSON]",
	 "provider: sign a service's code with an Ed25519 key and publish it (key printed last)",
	 CTL_TASKS},
	{"bundle", "show", bundle_show, "SERVICE_ID [--version V]",
	 "the newest bundle of a service (or --version), without its code", CTL_TASKS},
	{"executors", NULL, executors_list, "",
	 "the nodes as the scheduler sees them: state, capacity, attempts held", CTL_TASKS},
	{"airdrop", "status", airdrop_status, "[--airdrop URL]",
	 "the airdrop: the fund followed, the open round, totals, configuration", CTL_OFFLINE},
	{"airdrop", "eligibility", airdrop_eligibility, "NODE_ID [--airdrop URL]",
	 "every eligibility criterion of a node, with its value and verdict", CTL_OFFLINE},
	{"airdrop", "dry-run", airdrop_dry_run,
	 "[--fund-balance FLOP] [--weighting equal|work] [--airdrop URL]",
	 "the round the airdrop would propose now, without paying (token needed)", CTL_OFFLINE},
	{"airdrop", "rounds", airdrop_rounds,
	 "[ROUND_ID] [--status S] [--limit N] [--cursor C] [--airdrop URL]",
	 "the public log of rounds, or one round with every recipient and approval", CTL_OFFLINE},
	{"airdrop", "approve", airdrop_approve, "ROUND_ID --key FILE [--airdrop URL]",
	 "sign a round's digest with an approver's Ed25519 key (rebuilt from its recipients)",
	 CTL_OFFLINE},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const char ctl_global_usage[] = "usage: duxctl [--registry URL] [--wallet URL] [--escrow URL] "
				"[--store URL] [--tasks URL] [--token TOKEN | --token-file FILE] "
				"[--json] [--timeout SECONDS] COMMAND [ARGS]";

/* A token read from --token-file: main's, for the whole run. */
static char token_buf[DUX_TOKEN_MAX + 2];

static void help(FILE *f)
{
	fprintf(f, "%s\n\n", ctl_global_usage);
	fputs("The command-line client of a Dux_OS network: node identity, registration and\n"
	      "heartbeats, the node registry, Flopcoin addresses, the wallet, escrows, the\n"
	      "community fund, the escrow's audit log, the store's catalogue, the task\n"
	      "engine (tasks, paid calls, code bundles) and bearer tokens.\n\n"
	      "Global options (before the command):\n",
	      f);
	fprintf(f, "  --registry URL     registry base URL (env DUXOS_REGISTRY_URL, default %s)\n",
		CTL_DEFAULT_REGISTRY);
	fprintf(f, "  --wallet URL       wallet base URL (env DUXOS_WALLET_URL, default %s)\n",
		CTL_DEFAULT_WALLET);
	fprintf(f, "  --escrow URL       escrow base URL (env DUXOS_ESCROW_URL, default %s)\n",
		CTL_DEFAULT_ESCROW);
	fprintf(f, "  --store URL        store base URL (env DUXOS_STORE_URL, default %s)\n",
		CTL_DEFAULT_STORE);
	fprintf(f, "  --tasks URL        task engine base URL (env DUXOS_TASKS_URL, default %s)\n",
		CTL_DEFAULT_TASKS);
	fputs("  --token TOKEN      bearer token sent to the server (env DUXOS_TOKEN)\n"
	      "  --token-file FILE  read the bearer token from FILE (first line) instead\n"
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
	      "     address validate, wallet validate: the address is not valid;\n"
	      "     wallet check: the ledger does not hold;\n"
	      "     audit verify: the audit log does not verify;\n"
	      "     task submit --wait, call: the task failed or was cancelled\n"
	      "  2  usage error: unknown command or option, missing or malformed argument\n"
	      "  3  the server is unreachable, answered 5xx, or answered something unexpected;\n"
	      "     task submit --wait, call: the task had not ended when the wait was over\n"
	      "  4  local error: key or token file unreadable, cannot write a file,\n"
	      "     out of memory\n",
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

/* Reads the token from the first line of path into token_buf (trailing whitespace dropped);
 * returns -1 to go on, or an exit status. The token itself is never printed. */
static int read_token_file(ctl_t *ctl, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read the token file %s: %s", path,
				strerror(errno));
	bool ok = fgets(token_buf, sizeof token_buf, f) != NULL;
	bool bad = ferror(f);
	fclose(f);
	if (bad)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read the token file %s", path);
	size_t n = ok ? strlen(token_buf) : 0;
	while (n > 0 && strchr(" \t\r\n", token_buf[n - 1]))
		token_buf[--n] = '\0';
	ctl->token = token_buf; /* checked by the caller, like --token */
	return -1;
}

/* Parses the global options; returns -1 to go on, or an exit status. */
static int parse_globals(ctl_t *ctl, int argc, char **argv)
{
	enum {
		O_REGISTRY = 256,
		O_WALLET,
		O_ESCROW,
		O_STORE,
		O_TASKS,
		O_TOKEN,
		O_TOKEN_FILE,
		O_JSON,
		O_TIMEOUT,
		O_VERSION
	};
	static const struct option lo[] = {
		{"registry", required_argument, NULL, O_REGISTRY},
		{"wallet", required_argument, NULL, O_WALLET},
		{"escrow", required_argument, NULL, O_ESCROW},
		{"store", required_argument, NULL, O_STORE},
		{"tasks", required_argument, NULL, O_TASKS},
		{"token", required_argument, NULL, O_TOKEN},
		{"token-file", required_argument, NULL, O_TOKEN_FILE},
		{"json", no_argument, NULL, O_JSON},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"version", no_argument, NULL, O_VERSION},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *token_file = NULL;
	bool token_given = false;
	int64_t t;
	int c, rc;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
		switch (c) {
		case O_REGISTRY: ctl->registry = optarg; break;
		case O_WALLET: ctl->wallet = optarg; break;
		case O_ESCROW: ctl->escrow = optarg; break;
		case O_STORE: ctl->store = optarg; break;
		case O_TASKS: ctl->tasks = optarg; break;
		case O_TOKEN:
			ctl->token = optarg;
			token_given = true;
			break;
		case O_TOKEN_FILE: token_file = optarg; break;
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
	if (token_given && token_file)
		return global_fail("--token and --token-file exclude each other");
	if (token_file && (rc = read_token_file(ctl, token_file)) >= 0)
		return rc;
	if (ctl->token && !token_ok(ctl->token) && token_file)
		return global_fail("%s does not hold a bearer token on its first line", token_file);
	if (ctl->token && !token_ok(ctl->token))
		return global_fail("--token (or DUXOS_TOKEN) is not a bearer token");
	return -1;
}

/* The base URL of cmd's server, checked; returns -1 to go on, or an exit status. */
static int choose_server(ctl_t *ctl, const ctl_cmd_t *cmd)
{
	const char *opt = "--registry";
	ctl->url = ctl->registry;
	ctl->server_name = "registry";
	if (cmd->server == CTL_WALLET) {
		opt = "--wallet";
		ctl->url = ctl->wallet;
		ctl->server_name = "wallet";
	} else if (cmd->server == CTL_ESCROW) {
		opt = "--escrow";
		ctl->url = ctl->escrow;
		ctl->server_name = "escrow";
	} else if (cmd->server == CTL_STORE) {
		opt = "--store";
		ctl->url = ctl->store;
		ctl->server_name = "store";
	} else if (cmd->server == CTL_TASKS) {
		opt = "--tasks";
		ctl->url = ctl->tasks;
		ctl->server_name = "task engine";
	}
	if (cmd->server != CTL_OFFLINE && !url_ok(ctl->url))
		return global_fail("%s must be an http:// or https:// URL, got \"%s\"", opt,
				   ctl->url);
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
	int rc = choose_server(ctl, cmd);
	if (rc >= 0)
		return rc;
	optind = 0; /* a fresh getopt scan for the command's own options */
	opterr = 0; /* ctl_opt_next reports errors itself, with the usage line */
	/* the command sees its own name as argv[0], as getopt expects */
	return cmd->name ? cmd->run(ctl, argc - 1, argv + 1) : cmd->run(ctl, argc, argv);
}

int main(int argc, char **argv)
{
	const char *env_url = getenv("DUXOS_REGISTRY_URL");
	const char *env_wallet = getenv("DUXOS_WALLET_URL");
	const char *env_escrow = getenv("DUXOS_ESCROW_URL");
	const char *env_store = getenv("DUXOS_STORE_URL");
	const char *env_tasks = getenv("DUXOS_TASKS_URL");
	const char *env_token = getenv("DUXOS_TOKEN");
	ctl_t ctl = {
		.registry = env_url && *env_url ? env_url : CTL_DEFAULT_REGISTRY,
		.wallet = env_wallet && *env_wallet ? env_wallet : CTL_DEFAULT_WALLET,
		.escrow = env_escrow && *env_escrow ? env_escrow : CTL_DEFAULT_ESCROW,
		.store = env_store && *env_store ? env_store : CTL_DEFAULT_STORE,
		.tasks = env_tasks && *env_tasks ? env_tasks : CTL_DEFAULT_TASKS,
		.token = env_token && *env_token ? env_token : NULL,
		.timeout_s = CTL_DEFAULT_TIMEOUT,
	};
	int rc = parse_globals(&ctl, argc, argv);
	if (rc < 0)
		rc = dispatch(&ctl, argc - optind, argv + optind);
	explicit_bzero(token_buf, sizeof token_buf);
	return rc;
}
