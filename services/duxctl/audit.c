/* audit.c - the escrow's audit log: duxctl audit show | verify (a service or admin token).
 *
 * Every financial action of duxos-escrow is an entry of a hash chain. An entry's hash is
 * SHA-256 of the lines
 *   DUX-AUDIT-1, seq, prev_hash, action, escrow_id ("" when none), actor, created_at, data
 * joined by "\n"; prev_hash is the hash of the entry before (64 zeros for the first); the
 * signature is Ed25519 over the 64 hex characters of the hash, base64url, with the key whose
 * public half GET /v1/audit/key tells (or the one pinned with --public-key FILE). verify fetches every entry (GET /v1/audit, pages of
 * 1000) and checks, in this order for each: that seq follows the one before (seq gap), that
 * prev_hash is the hash before (broken link), that the hash is that of the content (hash
 * mismatch), and the signature (bad signature). The first failure is named and ends it. */
#include "duxctl.h"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { O_AFTER = 256, O_LIMIT, O_FROM_SEQ, O_PUBLIC_KEY };

#define PAGE 1000 /* the escrow's largest page */
#define SEQ_MAX (INT64_MAX / 2) /* the escrow's bound on "after" */
#define HASH_HEX 64
#define MAX_PAGES 10000000 /* verify stops here whatever the server says */

static const char zero_hash[HASH_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* The seq of an entry: a whole positive JSON number (exact below 2^53); 0 when it is not. */
static int64_t seq_of(const cJSON *entry)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(entry, "seq");
	if (!cJSON_IsNumber(s) || s->valuedouble < 1 || s->valuedouble > 9007199254740992.0 ||
	    s->valuedouble != floor(s->valuedouble))
		return 0;
	return (int64_t)s->valuedouble;
}

/* GET /v1/audit?after=A&limit=L; checks that "entries" is an array of entries with a seq. */
static int fetch_page(const ctl_t *ctl, int64_t after, int64_t limit, dux_client_resp_t *ret)
{
	char a[24], l[24];
	snprintf(a, sizeof a, "%" PRId64, after);
	snprintf(l, sizeof l, "%" PRId64, limit);
	ctl_path_t p;
	ctl_path_init(&p, "/v1/audit");
	ctl_path_param(&p, "after", a);
	ctl_path_param(&p, "limit", l);
	int rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		       : ctl_call(ctl, "GET", p.s, NULL, NULL, ret);
	ctl_path_free(&p);
	if (rc != CTL_OK)
		return rc;
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(ret->json, "entries"), *e;
	bool ok = cJSON_IsArray(entries) && cJSON_GetArraySize(entries) <= limit;
	cJSON_ArrayForEach(e, entries) {
		ok = ok && cJSON_IsObject(e) && seq_of(e) > 0;
	}
	if (!ok) {
		dux_client_resp_clear(ret);
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the escrow's audit page is not a list of entries");
	}
	return rc;
}

/* ---- audit show ---------------------------------------------------------------------------- */

static const char *const columns[] = {"SEQ", "TIME", "ACTION", "ESCROW", "ACTOR", "HASH"};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

static int show_print(const cJSON *page)
{
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(page, "entries"), *e;
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(page, "last_seq");
	int64_t shown = 0;
	if (cJSON_GetArraySize(entries) == 0) {
		puts("no entries");
		return CTL_OK;
	}
	out_table_t t;
	out_table_init(&t, columns, NCOLUMNS);
	cJSON_ArrayForEach(e, entries) {
		char seq[24], at[48], hash[24];
		shown = seq_of(e);
		snprintf(seq, sizeof seq, "%" PRId64, shown);
		snprintf(hash, sizeof hash, "%.16s", wallet_str(e, "hash"));
		const char *id = wallet_str(e, "escrow_id");
		const char *row[] = {seq,
				     escrow_time(wallet_str(e, "created_at"), at, sizeof at),
				     wallet_str(e, "action"),
				     id[0] ? id : "-",
				     wallet_str(e, "actor"),
				     hash};
		out_table_add(&t, row);
	}
	int rc = out_table_print(&t);
	out_table_free(&t);
	if (rc == CTL_OK && cJSON_IsNumber(last) && last->valuedouble > (double)shown)
		printf("more: --after %" PRId64 "\n", shown);
	return rc;
}

typedef struct {
	int64_t after, limit;
} show_args_t;

static int show_option(const ctl_t *ctl, int c, void *args)
{
	show_args_t *a = args;
	return c == O_AFTER ? ctl_parse_i64(ctl, "--after", optarg, 0, SEQ_MAX, &a->after)
			    : ctl_parse_i64(ctl, "--limit", optarg, 1, PAGE, &a->limit);
}

int audit_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"after", required_argument, NULL, O_AFTER},
		{"limit", required_argument, NULL, O_LIMIT},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	show_args_t a = {.after = 0, .limit = 100};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, show_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	dux_client_resp_t resp = {0};
	rc = fetch_page(ctl, a.after, a.limit, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		rc = show_print(resp.json);
	dux_client_resp_clear(&resp);
	return rc;
}

/* ---- audit verify -------------------------------------------------------------------------- */

typedef struct {
	dux_key_t *key; /* the log's public key */
	int64_t from; /* first seq verified */
	int64_t next; /* the seq the next entry must have */
	char prev[HASH_HEX + 1]; /* the hash the next entry must link to */
	int64_t verified;
	/* the first bad entry */
	int64_t bad_seq;
	const char *problem; /* "seq gap", "broken link", "hash mismatch", "bad signature" */
	char detail[400];
} verify_t;

/* GET /v1/audit/key: the Ed25519 public key, base64url. */
static int fetch_key(const ctl_t *ctl, dux_key_t **ret)
{
	dux_client_resp_t resp = {0};
	int rc = ctl_call(ctl, "GET", "/v1/audit/key", NULL, NULL, &resp);
	if (rc != CTL_OK)
		return rc;
	const char *alg = wallet_str(resp.json, "algorithm");
	const char *pub = wallet_str(resp.json, "public_key");
	uint8_t raw[DUX_ED25519_PUB_LEN + 1];
	size_t n = 0;
	if (strcmp(alg, "Ed25519") != 0 ||
	    dux_b64url_decode(pub, strlen(pub), raw, sizeof raw, &n) < 0 ||
	    n != DUX_ED25519_PUB_LEN || dux_key_from_public(raw, ret) < 0)
		rc = ctl_fail(CTL_EXIT_UNAVAIL,
			      "the escrow's /v1/audit/key does not hold an Ed25519 public key");
	dux_client_resp_clear(&resp);
	return rc;
}

static bool bad(verify_t *v, int64_t seq, const char *problem, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool bad(verify_t *v, int64_t seq, const char *problem, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof v->detail, fmt, ap);
	va_end(ap);
	v->bad_seq = seq;
	v->problem = problem;
	return false;
}

/* SHA-256 of the entry's canonical text, in hex. false when out of memory. */
static bool entry_hash(int64_t seq, const cJSON *e, char ret[HASH_HEX + 1])
{
	const char *f[] = {wallet_str(e, "prev_hash"), wallet_str(e, "action"),
			   wallet_str(e, "escrow_id"), /* null: "" */
			   wallet_str(e, "actor"),     wallet_str(e, "created_at"),
			   wallet_str(e, "data")};
	size_t n = sizeof "DUX-AUDIT-1\n" + 24;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		n += strlen(f[i]) + 1;
	char *canon = malloc(n);
	if (!canon)
		return false;
	int len = snprintf(canon, n, "DUX-AUDIT-1\n%" PRId64 "\n%s\n%s\n%s\n%s\n%s\n%s", seq, f[0],
			   f[1], f[2], f[3], f[4], f[5]);
	uint8_t h[DUX_SHA256_LEN];
	dux_sha256(canon, (size_t)len, h);
	free(canon);
	dux_hex_encode(h, sizeof h, ret);
	return true;
}

/* The signature of the entry over its recorded hash. */
static bool signature_ok(const verify_t *v, const cJSON *e)
{
	const char *hash = wallet_str(e, "hash"), *sig = wallet_str(e, "signature");
	uint8_t raw[DUX_ED25519_SIG_LEN + 1];
	size_t n = 0;
	return strlen(hash) == HASH_HEX &&
	       dux_b64url_decode(sig, strlen(sig), raw, sizeof raw, &n) == 0 &&
	       n == DUX_ED25519_SIG_LEN && dux_key_verify(v->key, hash, HASH_HEX, raw) == 0;
}

/* Checks one entry after the one whose hash is v->prev; false (with v->bad_*) when it fails,
 * CTL_EXIT_LOCAL in *rc when out of memory. */
static bool verify_entry(verify_t *v, const cJSON *e, int *rc)
{
	int64_t seq = seq_of(e);
	const char *prev = wallet_str(e, "prev_hash"), *hash = wallet_str(e, "hash");
	char computed[HASH_HEX + 1];
	if (seq > v->next)
		return bad(v, v->next, "seq gap",
			   "entry %" PRId64 " is missing (the next one is %" PRId64 ")", v->next,
			   seq);
	if (seq < v->next)
		return bad(v, v->next, "seq gap",
			   "entry %" PRId64 " was expected, the log has %" PRId64 " again", v->next,
			   seq);
	if (strcmp(prev, v->prev) != 0)
		return bad(v, seq, "broken link",
			   "its prev_hash %.64s is not the hash of the entry before (%s)", prev,
			   v->prev);
	if (!entry_hash(seq, e, computed)) {
		*rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		return false;
	}
	if (strcmp(computed, hash) != 0)
		return bad(v, seq, "hash mismatch",
			   "its content hashes to %s, the log records %.64s", computed, hash);
	if (!signature_ok(v, e))
		return bad(v, seq, "bad signature",
			   "its signature does not verify with the log's public key");
	memcpy(v->prev, hash, HASH_HEX + 1);
	v->next = seq + 1;
	v->verified++;
	return true;
}

/* With --from-seq N > 1: entry N-1 is the anchor. Its signature is checked, and its recorded
 * hash is what entry N must link to. Returns -1 to go on, or an exit status. */
static int anchor(const ctl_t *ctl, verify_t *v)
{
	dux_client_resp_t resp = {0};
	int rc = fetch_page(ctl, v->from - 2, 1, &resp);
	if (rc != CTL_OK)
		return rc;
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp.json, "entries"),
					    0);
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(resp.json, "last_seq");
	rc = -1;
	if (!e) {
		rc = ctl_fail(CTL_EXIT_REFUSED, "the audit log ends at seq %.0f: there is nothing "
						"from seq %" PRId64,
			      cJSON_IsNumber(last) ? last->valuedouble : 0, v->from);
	} else if (seq_of(e) != v->from - 1) {
		bad(v, v->from - 1, "seq gap",
		    "entry %" PRId64 " is missing (the next one is %" PRId64 ")", v->from - 1,
		    seq_of(e));
	} else if (strlen(wallet_str(e, "hash")) != HASH_HEX || !signature_ok(v, e)) {
		bad(v, v->from - 1, "bad signature",
		    "its signature does not verify with the log's public key");
	} else {
		snprintf(v->prev, sizeof v->prev, "%s", wallet_str(e, "hash"));
	}
	dux_client_resp_clear(&resp);
	return rc;
}

/* Every page from v->from on, until a short page or the first bad entry. */
static int verify_pages(const ctl_t *ctl, verify_t *v)
{
	int rc = CTL_OK;
	for (int page = 0; rc == CTL_OK && !v->problem; page++) {
		dux_client_resp_t resp = {0};
		if (page == MAX_PAGES)
			return ctl_fail(CTL_EXIT_UNAVAIL, "stopped after %d pages", MAX_PAGES);
		rc = fetch_page(ctl, v->next - 1, PAGE, &resp);
		if (rc != CTL_OK)
			break;
		const cJSON *entries = cJSON_GetObjectItemCaseSensitive(resp.json, "entries"), *e;
		int n = cJSON_GetArraySize(entries);
		cJSON_ArrayForEach(e, entries) {
			if (!verify_entry(v, e, &rc))
				break;
		}
		dux_client_resp_clear(&resp);
		if (n < PAGE)
			break;
	}
	return rc;
}

static void plural(int64_t n)
{
	printf("%" PRId64 " %s verified", n, n == 1 ? "entry" : "entries");
}

static int verify_print(const ctl_t *ctl, const verify_t *v)
{
	if (ctl->json) {
		cJSON *o = cJSON_CreateObject();
		bool ok = o && cJSON_AddBoolToObject(o, "valid", !v->problem) &&
			  cJSON_AddNumberToObject(o, "from_seq", (double)v->from) &&
			  cJSON_AddNumberToObject(o, "verified", (double)v->verified);
		if (ok && v->problem)
			ok = cJSON_AddNumberToObject(o, "bad_seq", (double)v->bad_seq) &&
			     cJSON_AddStringToObject(o, "problem", v->problem) &&
			     cJSON_AddStringToObject(o, "detail", v->detail);
		else if (ok)
			ok = cJSON_AddStringToObject(o, "head", v->prev) != NULL;
		int rc = ok ? out_json(o) : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		cJSON_Delete(o);
		if (rc != CTL_OK)
			return rc;
	} else if (!v->problem) {
		plural(v->verified);
		printf(", head %s\n", v->prev);
	} else {
		printf("seq %" PRId64 ": %s: ", v->bad_seq, v->problem);
		out_text(stdout, v->detail);
		fputc('\n', stdout);
		plural(v->verified);
		printf(" before it\n");
	}
	if (v->problem)
		return ctl_fail(CTL_EXIT_REFUSED,
				"the audit log does not verify: seq %" PRId64 ": %s", v->bad_seq,
				v->problem);
	return CTL_OK;
}

typedef struct {
	int64_t from;
	const char *key_file; /* --public-key: the key to trust instead of the server's */
} verify_args_t;

static int verify_option(const ctl_t *ctl, int c, void *args)
{
	verify_args_t *a = args;
	if (c == O_PUBLIC_KEY) {
		a->key_file = optarg;
		return CTL_OK;
	}
	return ctl_parse_i64(ctl, "--from-seq", optarg, 1, SEQ_MAX, &a->from);
}

/* The key to verify with: the one pinned with --public-key (a log rewritten by someone who
 * also holds the server's key then fails), else the one the escrow serves. */
static int verify_key(const ctl_t *ctl, const char *file, dux_key_t **ret)
{
	if (!file)
		return fetch_key(ctl, ret);
	if (dux_key_load_file(file, ret) < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read an Ed25519 key (PEM) from %s", file);
	return CTL_OK;
}

int audit_verify(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"from-seq", required_argument, NULL, O_FROM_SEQ},
		{"public-key", required_argument, NULL, O_PUBLIC_KEY},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	verify_t v = {.from = 1};
	verify_args_t a = {.from = 1};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, verify_option, &a);
	if (rc >= 0)
		return rc;
	v.from = a.from;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK ||
	    (rc = verify_key(ctl, a.key_file, &v.key)) != CTL_OK)
		return rc;
	v.next = v.from;
	memcpy(v.prev, zero_hash, sizeof v.prev);
	rc = v.from > 1 ? anchor(ctl, &v) : -1;
	if (rc < 0)
		rc = v.problem ? CTL_OK : verify_pages(ctl, &v);
	if (rc == CTL_OK)
		rc = verify_print(ctl, &v);
	dux_key_free(v.key);
	return rc;
}
