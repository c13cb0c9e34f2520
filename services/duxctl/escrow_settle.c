/* escrow_settle.c - what happens to a held escrow: duxctl escrow release | refund | dispute |
 * resolve.
 *
 * Each is one POST with the escrow id in the body. The escrow answers the escrow as it stands:
 * 200 when the step is done (or had been done before: asking again is safe, except a second
 * dispute, which the escrow refuses with 409), 202 when it recorded the step but the wallet
 * has not confirmed it yet (the escrow finishes it by itself). */
#include "duxctl.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { O_RESULT_HASH = 256, O_RESULT_FILE, O_REASON, O_OUTCOME, O_PROVIDER_AMOUNT };

#define DISPUTE_REASON_MAX 1000 /* the escrow's bound, in bytes */
#define READ_CHUNK 65536

/* ---- what the answer says ------------------------------------------------------------------ */

static const char *paid(const cJSON *e, const char *key)
{
	const char *v = wallet_str(cJSON_GetObjectItemCaseSensitive(e, "paid"), key);
	return v[0] ? v : "0";
}

/* "released escrow ID: 9.5 FLOP to P, 0.5 FLOP to the community fund" and the like. */
static void outcome_print(const cJSON *e)
{
	const char *st = wallet_str(e, "status"), *reason = wallet_str(e, "reason");
	const cJSON *dispute = cJSON_GetObjectItemCaseSensitive(e, "dispute");
	out_text(stdout, st);
	if (strcmp(st, "resolved") == 0) {
		fputs(" (", stdout);
		out_text(stdout, wallet_str(dispute, "resolution"));
		fputc(')', stdout);
	}
	fputs(" escrow ", stdout);
	out_text(stdout, wallet_str(e, "id"));
	fputs(": ", stdout);
	if (strcmp(st, "released") == 0 || strcmp(st, "resolved") == 0) {
		out_text(stdout, paid(e, "provider"));
		fputs(" FLOP to ", stdout);
		out_text(stdout, wallet_str(e, "provider_wallet"));
		fputs(", ", stdout);
		out_text(stdout, paid(e, "community"));
		fputs(" FLOP to the community fund", stdout);
		if (strcmp(st, "resolved") == 0) {
			fputs(", ", stdout);
			out_text(stdout, paid(e, "refunded"));
			fputs(" FLOP back to ", stdout);
			out_text(stdout, wallet_str(e, "user_wallet"));
		}
	} else if (strcmp(st, "refunded") == 0) {
		out_text(stdout, paid(e, "refunded"));
		fputs(" FLOP back to ", stdout);
		out_text(stdout, wallet_str(e, "user_wallet"));
		fputs(" (", stdout);
		out_text(stdout, reason);
		fputc(')', stdout);
	} else if (strcmp(st, "disputed") == 0) {
		out_text(stdout, wallet_str(e, "amount"));
		fputs(" FLOP frozen until an admin resolves it", stdout);
	} else if (strcmp(st, "releasing") == 0 || strcmp(st, "refunding") == 0 ||
		   strcmp(st, "resolving") == 0) {
		fputs("recorded; the wallet has not confirmed it yet, the escrow finishes it by "
		      "itself",
		      stdout);
	} else {
		out_text(stdout, reason[0] ? reason : "as it stands");
	}
	fputc('\n', stdout);
	/* how the result hash was judged (release only) */
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "validation");
	const char *note = wallet_str(v, "note");
	if (note[0]) {
		fputs("note: ", stdout);
		out_text(stdout, note);
		fputc('\n', stdout);
	} else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "compared"))) {
		fputs("note: the result hash matches the validated result of task ", stdout);
		out_text(stdout, wallet_str(v, "task_id"));
		fputc('\n', stdout);
	}
}

/* POSTs {"escrow_id": id} with the members of kv (name, value pairs up to a NULL name; a NULL
 * value is left out) to path, and prints the escrow it answers. */
static int settle_post(const ctl_t *ctl, const char *path, const char *id,
		       const char *const *kv)
{
	cJSON *body = cJSON_CreateObject();
	bool ok = body && cJSON_AddStringToObject(body, "escrow_id", id);
	for (size_t i = 0; ok && kv[i]; i += 2)
		ok = !kv[i + 1] || cJSON_AddStringToObject(body, kv[i], kv[i + 1]);
	char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
	dux_client_resp_t resp = {0};
	int rc = text ? ctl_call(ctl, "POST", path, NULL, text, &resp)
		      : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	if (rc == CTL_OK && (!wallet_str(resp.json, "id")[0] ||
			     !wallet_str(resp.json, "status")[0]))
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the escrow's answer has no id or status");
	else if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		outcome_print(resp.json);
	dux_client_resp_clear(&resp);
	free(text);
	cJSON_Delete(body);
	return rc;
}

/* The escrow id (the one positional), checked; and the token. */
static int id_and_token(const ctl_t *ctl, int argc, char **argv, const char **ret)
{
	int rc = ctl_positionals(ctl, argc, argv, 1, "ESCROW_ID");
	if (rc == CTL_OK)
		rc = escrow_check_id(ctl, "ESCROW_ID", argv[optind]);
	if (rc == CTL_OK)
		rc = wallet_need_token(ctl);
	if (rc == CTL_OK)
		*ret = argv[optind];
	return rc;
}

/* ---- escrow release ------------------------------------------------------------------------ */

/* A SHA-256 digest in hex (either case) into ret, lowercase: the escrow's form. */
static int check_digest(const ctl_t *ctl, const char *s, char ret[65])
{
	if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
		return ctl_usage_error(ctl,
				       "--result-hash must be a SHA-256 digest: 64 hex digits, "
				       "got \"%s\"",
				       s);
	for (int i = 0; i <= 64; i++)
		ret[i] = (char)tolower((unsigned char)s[i]);
	return CTL_OK;
}

/* The whole content of fd (not a regular file: a pipe, a terminal) in *ret, length in *len. */
static int read_all(int fd, char **ret, size_t *len)
{
	size_t n = 0, cap = 0;
	char *buf = NULL;
	for (;;) {
		if (cap - n < READ_CHUNK) {
			size_t want = cap ? 2 * cap : READ_CHUNK;
			char *b = cap > SIZE_MAX / 2 ? NULL : realloc(buf, want);
			if (!b) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = b;
			cap = want;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*ret = buf;
	*len = n;
	return 0;
}

/* SHA-256 of the content of path, in lowercase hex. CTL_EXIT_LOCAL when it cannot be read. */
static int digest_file(const char *path, char ret[65])
{
	uint8_t h[DUX_SHA256_LEN];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read the result file %s: %s", path,
				strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return ctl_fail(CTL_EXIT_LOCAL, "the result file %s is a directory", path);
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		dux_sha256("", 0, h);
	} else if (S_ISREG(st.st_mode)) {
		/* mapped, not copied: a result may be large */
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			close(fd);
			return ctl_fail(CTL_EXIT_LOCAL, "cannot read the result file %s: %s", path,
					strerror(e));
		}
		dux_sha256(m, (size_t)st.st_size, h);
		munmap(m, (size_t)st.st_size);
	} else {
		char *buf = NULL;
		size_t n = 0;
		if (read_all(fd, &buf, &n) < 0) {
			int e = errno;
			close(fd);
			return ctl_fail(CTL_EXIT_LOCAL, "cannot read the result file %s: %s", path,
					strerror(e));
		}
		dux_sha256(buf ? buf : "", n, h);
		free(buf);
	}
	close(fd);
	dux_hex_encode(h, sizeof h, ret);
	return CTL_OK;
}

typedef struct {
	const char *hash, *file; /* as given */
	char digest[65]; /* of --result-hash, lowercase */
} release_args_t;

static int release_option(const ctl_t *ctl, int c, void *args)
{
	release_args_t *a = args;
	if (c == O_RESULT_HASH)
		return check_digest(ctl, a->hash = optarg, a->digest);
	if (c == O_RESULT_FILE && !*(a->file = optarg))
		return ctl_usage_error(ctl, "--result-file needs a file name");
	return CTL_OK;
}

int escrow_release(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"result-hash", required_argument, NULL, O_RESULT_HASH},
		{"result-file", required_argument, NULL, O_RESULT_FILE},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	release_args_t a = {0};
	const char *id = NULL;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, release_option, &a);
	if (rc >= 0)
		return rc;
	if (a.hash && a.file)
		return ctl_usage_error(ctl, "--result-hash and --result-file exclude each other");
	if (!a.hash && !a.file)
		return ctl_usage_error(ctl, "--result-hash HEX or --result-file FILE is required");
	if ((rc = id_and_token(ctl, argc, argv, &id)) != CTL_OK)
		return rc;
	if (a.file && (rc = digest_file(a.file, a.digest)) != CTL_OK)
		return rc;
	const char *const kv[] = {"result_hash", a.digest, NULL};
	return settle_post(ctl, "/v1/escrow/release", id, kv);
}

/* ---- escrow refund, escrow dispute --------------------------------------------------------- */

static int refund_reason(const ctl_t *ctl, int c, void *args)
{
	const char **reason = args;
	(void)c; /* --reason is the only option */
	*reason = optarg;
	if (strcmp(optarg, "failure") != 0 && strcmp(optarg, "request") != 0)
		return ctl_usage_error(ctl, "--reason must be failure (the work failed) or "
					    "request, got \"%s\"",
				       optarg);
	return CTL_OK;
}

static int dispute_reason(const ctl_t *ctl, int c, void *args)
{
	const char **reason = args;
	(void)c; /* --reason is the only option */
	*reason = optarg;
	size_t n = strlen(optarg);
	bool ok = n >= 1 && n <= DISPUTE_REASON_MAX;
	for (const unsigned char *p = (const unsigned char *)optarg; ok && *p; p++)
		ok = *p >= 0x20;
	if (!ok)
		return ctl_usage_error(ctl, "--reason must be 1 to %d bytes without control "
					    "characters",
				       DISPUTE_REASON_MAX);
	return CTL_OK;
}

/* Refund and dispute: a --reason that option checks (required: the usage that names it when
 * it must be given, NULL when it may be left out), the escrow id, and a POST to path. */
static int settle_reason(const ctl_t *ctl, int argc, char **argv, ctl_option_fn option,
			 const char *required, const char *path)
{
	static const struct option lo[] = {
		{"reason", required_argument, NULL, O_REASON},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *reason = NULL, *id = NULL;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, option, &reason);
	if (rc >= 0)
		return rc;
	if ((required && (rc = ctl_require(ctl, reason, required)) != CTL_OK) ||
	    (rc = id_and_token(ctl, argc, argv, &id)) != CTL_OK)
		return rc;
	const char *const kv[] = {"reason", reason, NULL};
	return settle_post(ctl, path, id, kv);
}

int escrow_refund(ctl_t *ctl, int argc, char **argv)
{
	return settle_reason(ctl, argc, argv, refund_reason, NULL, "/v1/escrow/refund");
}

int escrow_dispute(ctl_t *ctl, int argc, char **argv)
{
	return settle_reason(ctl, argc, argv, dispute_reason, "--reason TEXT",
			     "/v1/escrow/dispute");
}

/* ---- escrow resolve ------------------------------------------------------------------------ */

typedef struct {
	const char *outcome, *amount; /* validated */
} resolve_args_t;

static int resolve_option(const ctl_t *ctl, int c, void *args)
{
	resolve_args_t *a = args;
	if (c != O_OUTCOME)
		return wallet_check_amount(ctl, "--provider-amount", a->amount = optarg);
	a->outcome = optarg;
	if (strcmp(optarg, "refund") != 0 && strcmp(optarg, "release") != 0 &&
	    strcmp(optarg, "split") != 0)
		return ctl_usage_error(ctl,
				       "--outcome must be refund, release or split, got \"%s\"",
				       optarg);
	return CTL_OK;
}

int escrow_resolve(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"outcome", required_argument, NULL, O_OUTCOME},
		{"provider-amount", required_argument, NULL, O_PROVIDER_AMOUNT},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	resolve_args_t a = {0};
	const char *id = NULL;
	int rc = ctl_opt_parse(ctl, argc, argv, lo, resolve_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_require(ctl, a.outcome, "--outcome refund|release|split")) != CTL_OK)
		return rc;
	bool split = strcmp(a.outcome, "split") == 0;
	if (split && !a.amount)
		return ctl_usage_error(ctl, "--outcome split needs --provider-amount FLOP");
	if (!split && a.amount)
		return ctl_usage_error(ctl, "--provider-amount is only for --outcome split");
	if ((rc = id_and_token(ctl, argc, argv, &id)) != CTL_OK)
		return rc;
	const char *const kv[] = {"outcome", a.outcome, "provider_amount", a.amount, NULL};
	return settle_post(ctl, "/v1/escrow/resolve", id, kv);
}
