/* duxctl.h - the command-line client's internals: exit codes, the context every command gets,
 * and the helpers the command files are made of.
 *
 * Error vocabulary. A command's result is its exit status, so the functions named ctl_* and
 * the command handlers return one of the CTL_EXIT_* codes below, after printing the message
 * that explains it on stderr (exactly once, where the failure is found). Helpers that return a
 * DUX_E* code instead say so at their declaration. */
#ifndef DUXCTL_H
#define DUXCTL_H

#include <cjson/cJSON.h>
#include <dux/address.h>
#include <dux/client.h>
#include <dux/crypto.h>
#include <dux/err.h>
#include <dux/sign.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
	CTL_OK = 0,
	CTL_EXIT_REFUSED = 1, /* the server refused (4xx); address validate: not valid */
	CTL_EXIT_USAGE = 2, /* unknown command or option, missing or malformed argument */
	CTL_EXIT_UNAVAIL =
		3, /* server unreachable, 5xx, or an answer that is not the expected JSON */
	CTL_EXIT_LOCAL = 4, /* local failure: key file unreadable, cannot write, out of memory */
};

#define CTL_DEFAULT_REGISTRY "http://127.0.0.1:8101"
#define CTL_DEFAULT_WALLET "http://127.0.0.1:8102"
#define CTL_DEFAULT_ESCROW "http://127.0.0.1:8103"
#define CTL_DEFAULT_STORE "http://127.0.0.1:8104"
#define CTL_DEFAULT_TASKS "http://127.0.0.1:8105"
#define CTL_DEFAULT_TIMEOUT 10 /* seconds */
#define CTL_MAX_TIMEOUT 3600 /* seconds */
#define CTL_MAX_CAPABILITIES 16 /* the registry's own limit */

typedef struct ctl ctl_t;

/* The daemon a command talks to (CTL_OFFLINE: none). */
typedef enum {
	CTL_OFFLINE,
	CTL_REGISTRY,
	CTL_WALLET,
	CTL_ESCROW,
	CTL_STORE,
	CTL_TASKS
} ctl_server_t;

/* One entry of the command table in main.c. */
typedef struct {
	const char *group; /* "node", "nodes", ...; */
	const char *name; /* "init", ...; NULL for a command without a subcommand */
	int (*run)(ctl_t *ctl, int argc, char **argv); /* argv[0] is the command's own name */
	const char *usage; /* arguments after "duxctl GROUP NAME" */
	const char *summary; /* one line for --help */
	ctl_server_t server; /* whose base URL ctl_call uses */
} ctl_cmd_t;

/* What every command gets: the global options, resolved. Strings are borrowed from argv, the
 * environment or main's static token buffer and live as long as the process. */
struct ctl {
	const char *registry; /* base URL, as given (a trailing '/' is ignored) */
	const char *wallet; /* the wallet's base URL, likewise */
	const char *escrow; /* the escrow's base URL, likewise */
	const char *store; /* the store's base URL, likewise */
	const char *tasks; /* the task engine's (duxos-tasks) base URL, likewise */
	const char *token; /* bearer token or NULL */
	bool json; /* print the server's JSON as-is */
	long timeout_s;
	const ctl_cmd_t *cmd; /* the command running, for its usage line */
	const char *url; /* the base URL of cmd's server (registry, wallet, escrow, store, tasks) */
	const char *server_name; /* "registry", "wallet", "escrow", "store", "task engine" */
};

/* main.c: the usage line of the global options. */
extern const char ctl_global_usage[];

/* ---- opts.c: option parsing and argument validation ---------------------------------- */

/* Results of ctl_opt_next besides an option's val. */
#define CTL_OPT_END (-1)
#define CTL_OPT_HELP (-2) /* --help was printed: exit 0 */
#define CTL_OPT_BAD (-3) /* a usage error was printed: exit 2 */
#define CTL_HELP_OPTION                                                                            \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* getopt_long over a command's arguments (long options only, plus -h). Call until it returns
 * a negative value; the first call starts a new scan. Positional arguments are left from
 * optind on. */
int ctl_opt_next(const ctl_t *ctl, int argc, char **argv, const struct option *longopts);
/* The exit status for a negative ctl_opt_next result, or -1 for CTL_OPT_END (go on). */
int ctl_opt_status(int c);
/* Handles option c (optarg holds its value) into the command's args; CTL_OK or a status. */
typedef int (*ctl_option_fn)(const ctl_t *ctl, int c, void *args);
/* Runs option for every option of argv in order and stops at the first that fails. Returns -1
 * to go on, or the exit status: option's failure, 0 after --help, 2 for a bad option. args is
 * borrowed for the call and passed to option as is. */
int ctl_opt_parse(const ctl_t *ctl, int argc, char **argv, const struct option *longopts,
		  ctl_option_fn option, void *args);
/* Prints "duxctl: <message>" and the command's usage line on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const ctl_t *ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "duxctl: <message>" on stderr and returns code. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the usage line of cmd as "usage: duxctl GROUP NAME ARGS" on f. */
void ctl_print_usage(FILE *f, const ctl_cmd_t *cmd);

/* Whole-string decimal numbers within [min, max]; usage error naming opt otherwise. */
DUX_MUST_USE int ctl_parse_i64(const ctl_t *ctl, const char *opt, const char *s, int64_t min,
			       int64_t max, int64_t *ret);
DUX_MUST_USE int ctl_parse_num(const ctl_t *ctl, const char *opt, const char *s, double min,
			       double max, double *ret);
/* A capability name: [a-z][a-z0-9_]{1,31}. */
bool ctl_capability_ok(const char *s);
/* The same, as a usage error naming --capability. */
DUX_MUST_USE int ctl_check_capability(const ctl_t *ctl, const char *s);
/* A network name (mainnet, testnet, regtest) into *ret, or a usage error. */
DUX_MUST_USE int ctl_parse_net(const ctl_t *ctl, const char *s, dux_net_t *ret);
/* A Flopcoin address of the network, or a usage error naming opt and the reason. */
DUX_MUST_USE int ctl_check_address(const ctl_t *ctl, const char *opt, const char *s, dux_net_t net);
/* A node id (32 lowercase hex characters), or a usage error. */
DUX_MUST_USE int ctl_check_node_id(const ctl_t *ctl, const char *s);
/* A usage error "WHAT is required" when value is NULL or empty. */
DUX_MUST_USE int ctl_require(const ctl_t *ctl, const char *value, const char *what);
/* Exactly want positional arguments from optind on (names them in the error). */
DUX_MUST_USE int ctl_positionals(const ctl_t *ctl, int argc, char **argv, int want,
				 const char *what);

/* ---- call.c: requests to the command's server --------------------------------------------- */

/* Sends one request (body may be NULL) and judges the answer: CTL_OK when the status is 2xx
 * and the body is a JSON object (ret is then filled; clear it with dux_client_resp_clear),
 * otherwise prints why and returns 1 (4xx), 3 (transport, 5xx, malformed) or 4 (memory). */
DUX_MUST_USE int ctl_call(const ctl_t *ctl, const char *method, const char *path,
			  const char *const *headers, const char *body, dux_client_resp_t *ret);
/* ctl_call, except that a refusal (4xx, returns 1) fills ret too, with the problem document,
 * so that the caller may read its extension members; clear it with dux_client_resp_clear. */
DUX_MUST_USE int ctl_call_keep(const ctl_t *ctl, const char *method, const char *path,
			       const char *const *headers, const char *body,
			       dux_client_resp_t *ret);
/* The path component of the server URL without a trailing '/', "" when there is none:
 * signed requests cover the path exactly as sent. Borrowed from ctl->url; len in ret_len. */
const char *ctl_base_path(const ctl_t *ctl, size_t *ret_len);

/* ---- query.c: request paths with query strings ------------------------------------------- */

typedef struct {
	char *s; /* owned; NULL-terminated path with '?' and '&'-joined parameters */
	size_t len;
	bool oom;
} ctl_path_t;

void ctl_path_init(ctl_path_t *p, const char *path);
/* Appends name=value with value percent-encoded (RFC 3986 unreserved characters kept). NULL
 * values are skipped. Allocation failures are remembered in p->oom. */
void ctl_path_param(ctl_path_t *p, const char *name, const char *value);
/* Appends '/' and value percent-encoded as one path segment (before any parameter). */
void ctl_path_segment(ctl_path_t *p, const char *value);
void ctl_path_free(ctl_path_t *p);
/* ctl_call on base/ID (ID one escaped segment), then /rest when rest is not NULL. */
DUX_MUST_USE int ctl_call_id(const ctl_t *ctl, const char *method, const char *base,
			     const char *id, const char *rest, const char *body,
			     dux_client_resp_t *ret);

/* ---- identity.c: node key files ------------------------------------------------------------ */

typedef struct {
	dux_key_t *key; /* owned */
	const char *path; /* borrowed */
	char node_id[DUX_NODE_ID_LEN + 1];
	char public_b64[48]; /* base64url of the raw 32-byte public key */
} ctl_identity_t;

/* Loads the key in path; need_private refuses a public-only key. CTL_EXIT_LOCAL on failure. */
DUX_MUST_USE int ctl_identity_load(const char *path, bool need_private, ctl_identity_t *ret);
/* Creates a new key in path (parent directories made with mode 0700, file 0600). An existing
 * file is replaced when replace is set, and otherwise wins: its key is loaded instead. */
DUX_MUST_USE int ctl_identity_create(const char *path, bool replace, ctl_identity_t *ret);
void ctl_identity_clear(ctl_identity_t *id);

/* ---- files.c: careful file writing (these return DUX_E* codes, errno kept) ---------------- */

/* Creates the missing parent directories of path with mode 0700. */
DUX_MUST_USE int ctl_mkdir_parents(const char *path);
/* Writes data to a new file, mode 0600; DUX_EEXIST when path exists (never overwritten). */
DUX_MUST_USE int ctl_write_new(const char *path, const void *data, size_t len);
/* Replaces path atomically (temporary file, fsync, rename), mode 0600. */
DUX_MUST_USE int ctl_write_replace(const char *path, const void *data, size_t len);

/* ---- signed.c: node-signed requests ------------------------------------------------------- */

/* Sends body (a JSON object's text) as a request signed by id's key, with a fresh counter
 * (see signed.c); judged like ctl_call. */
DUX_MUST_USE int ctl_signed_call(const ctl_t *ctl, const ctl_identity_t *id, const char *method,
				 const char *path, const char *body, dux_client_resp_t *ret);

/* ---- probe.c: this machine's measurements ------------------------------------------------ */

typedef struct {
	int64_t cpu_cores, memory_mb, disk_mb; /* static resources */
	double load[3]; /* 1, 5, 15 minutes */
	int64_t available_memory; /* MB: free + buffers */
	double available_cpu; /* idle CPUs: max(0, cpu_cores - load1) */
	int64_t uptime; /* seconds */
} ctl_probe_t;

/* Measures what the kernel reports; CTL_EXIT_LOCAL when it cannot. */
DUX_MUST_USE int ctl_probe(ctl_probe_t *ret);

/* ---- output.c: tables, key: value lines, raw JSON ----------------------------------------- */

/* Prints the server's body as-is (one document, newline-terminated). */
void out_raw(const dux_client_resp_t *resp);
/* Prints a JSON value unformatted; CTL_EXIT_LOCAL when out of memory. */
DUX_MUST_USE int out_json(const cJSON *j);
/* "key: value" lines for every member; nested objects as "parent.key", arrays comma-joined. */
void out_kv(const cJSON *obj);
/* Writes s with control characters replaced, so that a server cannot drive the terminal. */
void out_text(FILE *f, const char *s);
/* A JSON scalar as text into buf ("" for a missing value); returns buf. */
const char *out_scalar(const cJSON *j, char *buf, size_t len);

typedef struct {
	int ncols;
	const char *const *headers; /* borrowed */
	char **cells; /* owned; nrows * ncols strings */
	int nrows, cap;
	bool oom;
} out_table_t;

void out_table_init(out_table_t *t, const char *const *headers, int ncols);
/* Copies one row of ncols strings; allocation failures are remembered in t->oom. */
void out_table_add(out_table_t *t, const char *const *row);
/* Prints the table with aligned columns; CTL_EXIT_LOCAL when a row could not be stored. */
DUX_MUST_USE int out_table_print(const out_table_t *t);
void out_table_free(out_table_t *t);

/* ---- page.c: lists that come a page at a time ---------------------------------------------- */

#define PAGE_CURSOR_MAX 128 /* bytes: the longest cursor a list may answer (the wallet's bound) */

/* What sets one list apart from the others: static in the command's file, borrowed. */
typedef struct {
	const char *member; /* the array of items in every page: "escrows" */
	const char *what; /* the list in messages: "the escrow's list" */
	const char *none; /* printed instead of an empty table: "no escrows" */
	const char *const *columns; /* the table's headers, ncolumns of them */
	int ncolumns;
	/* The list takes --cursor: without --all, the table ends with "more: --cursor C" when
	 * there is a next page, so its next_cursor is checked even when it is not followed. */
	bool more;
	/* Builds into ret, from ctl_path_init on, the path of the page that starts at cursor
	 * (NULL: the first); page_list frees it. args is the one given to page_list. */
	void (*path)(const void *args, const char *cursor, ctl_path_t *ret);
	/* Whether next (a string of at most PAGE_CURSOR_MAX bytes) may follow a page asked for
	 * with prev ("" for the first) that brought n items. It must move on, or --all would keep
	 * asking a server that keeps answering. */
	bool (*cursor_ok)(const char *next, const char *prev, int n);
	/* Adds the table row of one item (any JSON value: the server's). */
	void (*add_row)(out_table_t *t, const cJSON *item);
} page_list_t;

/* Prints the page of list that starts at cursor (NULL: the first) or, with all, every page
 * from there on: as one table, or for --json as one {"<member>": [...]} document. --json
 * without all prints the page exactly as the server sent it. cursor is borrowed for the call
 * and at most PAGE_CURSOR_MAX bytes; args is passed to list->path as is. */
DUX_MUST_USE int page_list(const ctl_t *ctl, const page_list_t *list, const void *args,
			   const char *cursor, bool all);

/* ---- wallet.c: what the wallet commands share (the escrow commands use them too) ---------- */

#define WALLET_IDEM_MAX 128 /* the wallet's bound on an Idempotency-Key */
#define WALLET_IDEM_HEADER_LEN (sizeof "Idempotency-Key: " + WALLET_IDEM_MAX)

/* A usage error unless a bearer token was given (--token, --token-file or DUXOS_TOKEN). */
DUX_MUST_USE int wallet_need_token(const ctl_t *ctl);
/* A Flopcoin address of any network (the wallet's own is its chain.network, unknown here:
 * it judges that part), or a usage error naming opt and the reason. */
DUX_MUST_USE int wallet_check_address(const ctl_t *ctl, const char *opt, const char *s);
/* A positive amount of FLOP as dux_money_parse reads it (at most 8 decimals, no sign, no
 * exponent), or a usage error naming opt. */
DUX_MUST_USE int wallet_check_amount(const ctl_t *ctl, const char *opt, const char *s);
/* A usage error unless key (when not NULL) is 1 to WALLET_IDEM_MAX visible ASCII characters. */
DUX_MUST_USE int wallet_check_idem(const ctl_t *ctl, const char *key);
/* The Idempotency-Key header line for key, or for a random key of this run when key is NULL
 * (so that the client may repeat the request after a transport failure without paying twice). */
void wallet_idem_header(const char *key, char ret[WALLET_IDEM_HEADER_LEN]);
/* The string member key of o, "" when it is missing or not a string. Borrowed from o. */
const char *wallet_str(const cJSON *o, const char *key);

/* ---- escrow.c: what the escrow commands share ---------------------------------------------- */

#define ESCROW_ID_LEN 36 /* "esc_" + 32 lowercase hex */
#define ESCROW_NAME_MAX 128 /* api_id, task_id: the escrow's bound */

/* An escrow id ("esc_" + 32 lowercase hex), or a usage error naming what. */
DUX_MUST_USE int escrow_check_id(const ctl_t *ctl, const char *what, const char *s);
/* An api_id or task_id: 1 to 128 of [A-Za-z0-9._:-], or a usage error naming opt. */
DUX_MUST_USE int escrow_check_name(const ctl_t *ctl, const char *opt, const char *s);
/* Whole seconds of an RFC 3339 time with fractions ("...:00.123Z" -> "...:00Z") into buf. */
const char *escrow_time(const char *at, char *buf, size_t len);

/* ---- store.c: what the store commands share ----------------------------------------------- */

#define STORE_ID_LEN 36 /* "svc_" + 32 lowercase hex */
#define STORE_TAG_MAX 32 /* bytes of one tag */
#define STORE_TAGS_MAX 10 /* tags of a service, and of a search */
#define STORE_TAGS_SENT_MAX 32 /* tags a publish may send (the store drops repeats) */

/* A service id, or a usage error naming what. */
DUX_MUST_USE int store_check_id(const ctl_t *ctl, const char *what, const char *s);
/* A tag: 1 to STORE_TAG_MAX letters, digits or '-' (not first); the store lowercases it. */
DUX_MUST_USE int store_check_tag(const ctl_t *ctl, const char *opt, const char *s);
/* An amount of FLOP from 0 (a price may be 0), or a usage error naming opt. */
DUX_MUST_USE int store_check_price(const ctl_t *ctl, const char *opt, const char *s);
/* At most max bytes (at least 1 when nonempty) without control characters, except new lines
 * and tabs when multiline; or a usage error naming opt. */
DUX_MUST_USE int store_check_text(const ctl_t *ctl, const char *opt, const char *s, size_t max,
				  bool nonempty, bool multiline);

/* ---- task.c: what the task engine's commands share (task, call, bundle, executors) ------ */

#define TASK_ID_LEN 36 /* "tsk_" + 32 lowercase hex */
#define TASK_TEXT_MAX (1u << 20) /* bytes of code or input: the task engine's bound */

/* Whether s is a task id: "tsk_" + 32 lowercase hex. */
bool task_id_ok(const char *s);
/* A task id, or a usage error naming what. */
DUX_MUST_USE int task_check_id(const ctl_t *ctl, const char *what, const char *s);
/* bash, python or node (the sandbox's runtimes; the engine's allowed_commands may be fewer). */
DUX_MUST_USE int task_check_runtime(const ctl_t *ctl, const char *s);
/* An Idempotency-Key as the task engine takes it: 1 to 128 of letters, digits and . _ : - */
DUX_MUST_USE int task_check_idem(const ctl_t *ctl, const char *key);
/* Reads the file at path (the value of opt) as text into *ret, caller frees: at most
 * TASK_TEXT_MAX bytes of UTF-8 without NUL and, when strict, without control characters but
 * tab and new line (what the engine takes as code and input). A usage error naming opt when
 * it is not such text, CTL_EXIT_LOCAL when it cannot be read; *ret is set only on success. */
DUX_MUST_USE int task_read_text(const ctl_t *ctl, const char *opt, const char *path, bool strict,
				char **ret);
/* --output-format: a JSON object ({"content_type": ..., "schema": ...}, the engine judges it),
 * or the short forms text/plain and application/json. Into *ret (caller cJSON_Deletes). */
DUX_MUST_USE int task_parse_format(const ctl_t *ctl, const char *s, cJSON **ret);
/* Whether the task (a task's JSON) has ended: succeeded, failed or cancelled. */
bool task_ended(const cJSON *task);
/* The exit status of a task as answered in resp, and what to print: its output on stdout when
 * it succeeded (0); the state, reason and detail on stderr when it failed or was cancelled
 * (1); when it has not ended, that it still runs after waited ("30 s") (3). --json prints the
 * answer as is instead, with the same status. */
int task_outcome(const ctl_t *ctl, const dux_client_resp_t *resp, const char *waited);
/* Text a task wrote, for a terminal: new lines and tabs kept, other control characters '?'. */
void task_print_text(FILE *f, const char *s);

/* ---- commands ----------------------------------------------------------------------------- */

int node_init(ctl_t *ctl, int argc, char **argv);
int node_register(ctl_t *ctl, int argc, char **argv);
int node_heartbeat(ctl_t *ctl, int argc, char **argv);
int node_show(ctl_t *ctl, int argc, char **argv);
int nodes_list(ctl_t *ctl, int argc, char **argv);
int nodes_show(ctl_t *ctl, int argc, char **argv);
int nodes_print_one(const ctl_t *ctl, const char *node_id);
int topology_show(ctl_t *ctl, int argc, char **argv);
int address_new(ctl_t *ctl, int argc, char **argv);
int address_validate(ctl_t *ctl, int argc, char **argv);
int token_mint(ctl_t *ctl, int argc, char **argv);
int wallet_address(ctl_t *ctl, int argc, char **argv);
int wallet_balance(ctl_t *ctl, int argc, char **argv);
int wallet_send(ctl_t *ctl, int argc, char **argv);
int wallet_history(ctl_t *ctl, int argc, char **argv);
int wallet_validate(ctl_t *ctl, int argc, char **argv);
int wallet_faucet(ctl_t *ctl, int argc, char **argv);
int wallet_check(ctl_t *ctl, int argc, char **argv);
int escrow_create(ctl_t *ctl, int argc, char **argv);
int escrow_show(ctl_t *ctl, int argc, char **argv);
int escrow_list(ctl_t *ctl, int argc, char **argv);
int escrow_release(ctl_t *ctl, int argc, char **argv);
int escrow_refund(ctl_t *ctl, int argc, char **argv);
int escrow_dispute(ctl_t *ctl, int argc, char **argv);
int escrow_resolve(ctl_t *ctl, int argc, char **argv);
int fund_show(ctl_t *ctl, int argc, char **argv);
int audit_show(ctl_t *ctl, int argc, char **argv);
int audit_verify(ctl_t *ctl, int argc, char **argv);
int store_search(ctl_t *ctl, int argc, char **argv);
int store_show(ctl_t *ctl, int argc, char **argv);
int store_publish(ctl_t *ctl, int argc, char **argv);
int store_delist(ctl_t *ctl, int argc, char **argv);
int store_review(ctl_t *ctl, int argc, char **argv);
/* the task engine, duxos-tasks (--tasks URL) */
int task_submit(ctl_t *ctl, int argc, char **argv);
int task_show(ctl_t *ctl, int argc, char **argv);
int task_list(ctl_t *ctl, int argc, char **argv);
int task_logs(ctl_t *ctl, int argc, char **argv);
int task_cancel(ctl_t *ctl, int argc, char **argv);
int call_service(ctl_t *ctl, int argc, char **argv);
int bundle_publish(ctl_t *ctl, int argc, char **argv);
int bundle_show(ctl_t *ctl, int argc, char **argv);
int executors_list(ctl_t *ctl, int argc, char **argv);
/* airdrop.c: the airdrop daemon (its URL: --airdrop, DUXOS_AIRDROP_URL or 127.0.0.1:8106) */
int airdrop_status(ctl_t *ctl, int argc, char **argv);
int airdrop_eligibility(ctl_t *ctl, int argc, char **argv);
int airdrop_dry_run(ctl_t *ctl, int argc, char **argv);
int airdrop_rounds(ctl_t *ctl, int argc, char **argv);
int airdrop_approve(ctl_t *ctl, int argc, char **argv);

#endif
