/* store.c - the catalogue of duxos-store: duxctl store show | publish | delist, and the
 * argument checks the store commands share.
 *
 * Arguments are checked for their form before anything is sent (a service id, an amount of
 * FLOP, an address, a URL's scheme, tags, sizes), as the store bounds them; the finer rules
 * (semantic-version grammar, the endpoint's full URL syntax, whether the caller owns the
 * provider address) are the store's, whose refusal names the field (exit 1). Publish sends an
 * Idempotency-Key (the caller's, or one made for this run), so a lost answer may be repeated
 * without publishing twice. */
#include "duxctl.h"
#include <dux/money.h>
#include <stdlib.h>
#include <string.h>

enum {
	O_NAME = 256,
	O_DESCRIPTION,
	O_VERSION,
	O_PROVIDER,
	O_PRICE,
	O_TAG,
	O_ENDPOINT,
	O_RATE_LIMIT,
	O_SERVICE,
	O_IDEM,
	O_AT_VERSION,
};

#define STORE_NAME_MAX 120
#define STORE_DESCRIPTION_MAX 2000
#define STORE_VERSION_MAX 64
#define STORE_ENDPOINT_MAX 2048
#define STORE_RATE_LIMIT_MAX 1000000

int store_check_id(const ctl_t *ctl, const char *what, const char *s)
{
	if (strlen(s) != STORE_ID_LEN || strncmp(s, "svc_", 4) != 0 ||
	    strspn(s + 4, "0123456789abcdef") != STORE_ID_LEN - 4)
		return ctl_usage_error(ctl, "%s \"%s\" is not a service id (svc_ and 32 lowercase "
					    "hex digits)",
				       what, s);
	return CTL_OK;
}

int store_check_tag(const ctl_t *ctl, const char *opt, const char *s)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= STORE_TAG_MAX && s[0] != '-' &&
		  strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
	if (!ok)
		return ctl_usage_error(ctl, "%s must be 1 to %d letters, digits or '-' (not first), "
					    "got \"%s\"",
				       opt, STORE_TAG_MAX, s);
	return CTL_OK;
}

int store_check_price(const ctl_t *ctl, const char *opt, const char *s)
{
	int64_t units = 0;
	int r = dux_money_parse(s, strlen(s), false, &units);
	if (r == 0)
		return CTL_OK;
	return ctl_usage_error(ctl,
			       "%s must be an amount of FLOP from 0, in plain decimal with at most "
			       "8 decimals, like \"1\" or \"0.25\", got \"%s\"",
			       opt, s);
}

/* Text of at most max bytes (min 1 when nonempty), without control characters but for new
 * lines and tabs when multiline. */
int store_check_text(const ctl_t *ctl, const char *opt, const char *s, size_t max, bool nonempty,
		     bool multiline)
{
	size_t n = strlen(s);
	bool ok = n <= max && (n > 0 || !nonempty);
	for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++)
		ok = (*p >= 0x20 && *p != 0x7f) || (multiline && (*p == '\n' || *p == '\t'));
	if (!ok)
		return ctl_usage_error(ctl, "%s must be %s%zu bytes of text without control "
					    "characters",
				       opt, nonempty ? "1 to " : "at most ", max);
	return CTL_OK;
}

/* ---- store show ---------------------------------------------------------------------------- */

int store_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"version", required_argument, NULL, O_AT_VERSION},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *version = NULL;
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) == O_AT_VERSION)
		version = optarg;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "SERVICE_ID")) != CTL_OK ||
	    (rc = store_check_id(ctl, "SERVICE_ID", argv[optind])) != CTL_OK ||
	    (version && (rc = store_check_text(ctl, "--version", version, STORE_VERSION_MAX, true,
					       false)) != CTL_OK))
		return rc;
	ctl_path_t p;
	dux_client_resp_t resp = {0};
	ctl_path_init(&p, "/v1/services");
	ctl_path_segment(&p, argv[optind]);
	ctl_path_param(&p, "version", version);
	rc = p.oom ? ctl_fail(CTL_EXIT_LOCAL, "out of memory")
		   : ctl_call(ctl, "GET", p.s, NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		out_kv(resp.json);
	dux_client_resp_clear(&resp);
	ctl_path_free(&p);
	return rc;
}

/* ---- store publish ------------------------------------------------------------------------- */

typedef struct {
	const char *name, *description, *version, *provider, *price, *endpoint, *rate_limit;
	const char *service, *idem;
	const char *tags[STORE_TAGS_SENT_MAX];
	int ntags;
} publish_args_t;

static int publish_option(const ctl_t *ctl, int c, void *args)
{
	publish_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_NAME:
		a->name = optarg;
		return store_check_text(ctl, "--name", optarg, STORE_NAME_MAX, true, false);
	case O_DESCRIPTION:
		a->description = optarg;
		return store_check_text(ctl, "--description", optarg, STORE_DESCRIPTION_MAX, false,
					true);
	case O_VERSION:
		a->version = optarg;
		return store_check_text(ctl, "--version", optarg, STORE_VERSION_MAX, true, false);
	case O_PROVIDER:
		a->provider = optarg;
		return wallet_check_address(ctl, "--provider", optarg);
	case O_PRICE: a->price = optarg; return store_check_price(ctl, "--price", optarg);
	case O_TAG:
		if (a->ntags == STORE_TAGS_SENT_MAX)
			return ctl_usage_error(ctl, "--tag may be given at most %d times",
					       STORE_TAGS_SENT_MAX);
		a->tags[a->ntags++] = optarg;
		return store_check_tag(ctl, "--tag", optarg);
	case O_ENDPOINT:
		a->endpoint = optarg;
		if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
			return ctl_usage_error(ctl, "--endpoint must be an http:// or https:// URL, "
						    "got \"%s\"",
					       optarg);
		return store_check_text(ctl, "--endpoint", optarg, STORE_ENDPOINT_MAX, true, false);
	case O_RATE_LIMIT:
		a->rate_limit = optarg;
		return ctl_parse_i64(ctl, "--rate-limit", optarg, 1, STORE_RATE_LIMIT_MAX, &v);
	case O_SERVICE: a->service = optarg; return store_check_id(ctl, "--service", optarg);
	case O_IDEM: a->idem = optarg; return wallet_check_idem(ctl, optarg);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* The body of POST /v1/services or PUT /v1/services/{id}; price travels as the text typed. */
static char *publish_body(const publish_args_t *a)
{
	cJSON *o = cJSON_CreateObject(), *tags = NULL;
	char *body = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "name", a->name) &&
		  (!a->description || cJSON_AddStringToObject(o, "description", a->description)) &&
		  cJSON_AddStringToObject(o, "version", a->version) &&
		  (!a->provider || cJSON_AddStringToObject(o, "provider", a->provider)) &&
		  cJSON_AddStringToObject(o, "price", a->price) &&
		  cJSON_AddStringToObject(o, "endpoint", a->endpoint) &&
		  /* checked whole and within 1..1000000: exact as a double */
		  cJSON_AddNumberToObject(o, "rate_limit", (double)atoll(a->rate_limit)) &&
		  (tags = cJSON_AddArrayToObject(o, "tags"));
	for (int i = 0; ok && i < a->ntags; i++) {
		cJSON *t = cJSON_CreateString(a->tags[i]);
		ok = t && cJSON_AddItemToArray(tags, t);
		if (!ok)
			cJSON_Delete(t);
	}
	if (ok)
		body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return body;
}

/* "published NAME VERSION (PRICE FLOP per call): service ID", or for a new version
 * "published version V (PRICE FLOP per call): service ID": the id is the last word, for
 * scripts. */
static void publish_print(const cJSON *s, long status, bool update)
{
	if (update)
		fputs("published version ", stdout);
	else
		fputs(status == 200 ? "already published, " : "published ", stdout);
	if (update) {
		out_text(stdout, wallet_str(s, "version"));
		fputs(" (", stdout);
	} else {
		out_text(stdout, wallet_str(s, "name"));
		fputs(" ", stdout);
		out_text(stdout, wallet_str(s, "version"));
		fputs(" (", stdout);
	}
	out_text(stdout, wallet_str(s, "price"));
	fputs(" FLOP per call): service ", stdout);
	out_text(stdout, wallet_str(s, "id"));
	fputc('\n', stdout);
}

int store_publish(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"name", required_argument, NULL, O_NAME},
		{"description", required_argument, NULL, O_DESCRIPTION},
		{"version", required_argument, NULL, O_VERSION},
		{"provider", required_argument, NULL, O_PROVIDER},
		{"price", required_argument, NULL, O_PRICE},
		{"tag", required_argument, NULL, O_TAG},
		{"endpoint", required_argument, NULL, O_ENDPOINT},
		{"rate-limit", required_argument, NULL, O_RATE_LIMIT},
		{"service", required_argument, NULL, O_SERVICE},
		{"idempotency-key", required_argument, NULL, O_IDEM},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	publish_args_t a = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, publish_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.name, "--name NAME")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.version, "--version V")) != CTL_OK ||
	    (!a.service && (rc = ctl_require(ctl, a.provider, "--provider ADDR")) != CTL_OK) ||
	    (rc = ctl_require(ctl, a.price, "--price FLOP")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.endpoint, "--endpoint URL")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.rate_limit, "--rate-limit N")) != CTL_OK)
		return rc;
	if (a.service && a.idem)
		return ctl_usage_error(ctl, "--idempotency-key is for a new service, not with "
					    "--service (a new version is idempotent by its number)");
	if ((rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	char idem[WALLET_IDEM_HEADER_LEN];
	wallet_idem_header(a.idem, idem);
	const char *headers[] = {idem, NULL};
	char *body = publish_body(&a);
	ctl_path_t p;
	dux_client_resp_t resp = {0};
	ctl_path_init(&p, "/v1/services");
	if (a.service)
		ctl_path_segment(&p, a.service);
	if (!body || p.oom)
		rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	else
		rc = ctl_call(ctl, a.service ? "PUT" : "POST", p.s, a.service ? NULL : headers, body,
			      &resp);
	if (rc == CTL_OK && !wallet_str(resp.json, "id")[0])
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the store's answer has no service id");
	else if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		publish_print(resp.json, resp.status, a.service != NULL);
	dux_client_resp_clear(&resp);
	ctl_path_free(&p);
	free(body);
	return rc;
}

/* ---- store delist -------------------------------------------------------------------------- */

int store_delist(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {CTL_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) >= 0)
		;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "SERVICE_ID")) != CTL_OK ||
	    (rc = store_check_id(ctl, "SERVICE_ID", argv[optind])) != CTL_OK ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	dux_client_resp_t resp = {0};
	rc = ctl_call_id(ctl, "DELETE", "/v1/services", argv[optind], NULL, NULL, &resp);
	if (rc == CTL_OK && ctl->json) {
		out_raw(&resp);
	} else if (rc == CTL_OK) {
		fputs("delisted service ", stdout);
		out_text(stdout, wallet_str(resp.json, "id"));
		fputs(": it no longer shows in searches and stays readable\n", stdout);
	}
	dux_client_resp_clear(&resp);
	return rc;
}
