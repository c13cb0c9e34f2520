/* token.c - duxctl token mint: a bearer token (JWT, EdDSA) signed with the deployment's
 * Ed25519 private key, for operators and for services that call each other. The token is the
 * only thing printed, so that TOKEN=$(duxctl token mint ...) works. */
#include "duxctl.h"
#include <dux/auth.h>
#include <stdlib.h>
#include <string.h>

enum { O_KEY = 256, O_SUB, O_SCOPE, O_TTL, O_ISSUER };

#define TTL_DEFAULT 3600
#define TTL_MAX (30 * 86400)
#define ISSUER_MAX 128

typedef struct {
	const char *key, *sub, *scope, *issuer;
	int64_t ttl;
	unsigned scopes;
} mint_args_t;

/* Claims verifiers will compare and print: printable text only. */
static bool claim_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int check(const ctl_t *ctl, mint_args_t *a)
{
	dux_token_t t;
	int rc;
	if ((rc = ctl_require(ctl, a->key, "--key PRIVATE_PEM")) != CTL_OK ||
	    (rc = ctl_require(ctl, a->sub, "--sub NAME")) != CTL_OK ||
	    (rc = ctl_require(ctl, a->scope, "--scope \"SCOPE ...\"")) != CTL_OK)
		return rc;
	/* verifiers refuse a sub that does not fit dux_token_t: never mint one */
	if (!claim_ok(a->sub, sizeof t.sub - 1))
		return ctl_usage_error(ctl, "--sub must be 1 to %zu printable characters",
				       sizeof t.sub - 1);
	if (!claim_ok(a->issuer, ISSUER_MAX))
		return ctl_usage_error(ctl, "--issuer must be 1 to %d printable characters",
				       ISSUER_MAX);
	if (dux_scope_parse(a->scope, &a->scopes) < 0 || a->scopes == 0)
		return ctl_usage_error(
			ctl, "--scope must name one or more of: user provider service admin");
	return CTL_OK;
}

static int option(const ctl_t *ctl, int c, void *args)
{
	mint_args_t *a = args;
	switch (c) {
	case O_KEY: a->key = optarg; return CTL_OK;
	case O_SUB: a->sub = optarg; return CTL_OK;
	case O_SCOPE: a->scope = optarg; return CTL_OK;
	case O_ISSUER: a->issuer = optarg; return CTL_OK;
	case O_TTL: return ctl_parse_i64(ctl, "--ttl", optarg, 1, TTL_MAX, &a->ttl);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

static int mint(const ctl_t *ctl, const mint_args_t *a)
{
	ctl_identity_t id = {0};
	char *token = NULL;
	int rc = ctl_identity_load(a->key, true, &id);
	if (rc != CTL_OK)
		return rc;
	int r = dux_token_mint(id.key, a->issuer, a->sub, a->scopes, a->ttl, &token);
	if (r < 0) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "cannot mint the token: %s", dux_strerror(r));
	} else if (ctl->json) {
		cJSON *o = cJSON_CreateObject();
		rc = o && cJSON_AddStringToObject(o, "token", token)
			     ? out_json(o)
			     : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		cJSON_Delete(o);
	} else {
		puts(token);
	}
	if (token) /* a bearer credential: leave no copy in freed memory */
		explicit_bzero(token, strlen(token));
	free(token);
	ctl_identity_clear(&id);
	return rc;
}

int token_mint(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		{"sub", required_argument, NULL, O_SUB},
		{"scope", required_argument, NULL, O_SCOPE},
		{"ttl", required_argument, NULL, O_TTL},
		{"issuer", required_argument, NULL, O_ISSUER},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	mint_args_t a = {.issuer = "duxos", .ttl = TTL_DEFAULT};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK || (rc = check(ctl, &a)))
		return rc;
	return mint(ctl, &a);
}
