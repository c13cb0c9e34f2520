/* bundle.c - the code a store service's paid calls run: duxctl bundle publish | show.
 *
 * The provider signs, with an Ed25519 key of its own (a PKCS#8 PEM file, such as `duxctl node
 * init --key FILE` writes), the lines DUX-BUNDLE-1, service id, version, runtime and the hex
 * SHA-256 of the code, joined by '\n'; public key and signature travel in base64url. The task
 * engine checks the signature when the bundle is published, and every executor again before it
 * runs the code, against the keys its operator put into tasks.bundle_keys: publish prints the
 * key for that. A version, once published, never changes (409 for other contents). */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>

enum { O_KEY = 256, O_RUNTIME, O_CODE, O_VERSION, O_FORMAT };

#define BUNDLE_VERSION_MAX 64

typedef struct {
	const char *key, *runtime, *code, *version, *format;
} publish_args_t;

/* 1 to 64 of letters, digits and . + - (the engine's grammar). */
static int check_version(const ctl_t *ctl, const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > BUNDLE_VERSION_MAX ||
	    strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-") != n)
		return ctl_usage_error(ctl, "--version must be 1 to %d letters, digits or . + -, "
					    "got \"%s\"",
				       BUNDLE_VERSION_MAX, s);
	return CTL_OK;
}

static int publish_option(const ctl_t *ctl, int c, void *args)
{
	publish_args_t *a = args;
	switch (c) {
	case O_KEY: a->key = optarg; return CTL_OK;
	case O_RUNTIME: a->runtime = optarg; return task_check_runtime(ctl, optarg);
	case O_CODE: a->code = optarg; return CTL_OK;
	case O_VERSION: a->version = optarg; return check_version(ctl, optarg);
	case O_FORMAT: a->format = optarg; return CTL_OK;
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* The base64url signature of the bundle's lines into sig (DUX_SIG_B64_LEN + 1 bytes). */
static int sign_bundle(const ctl_identity_t *id, const char *service, const publish_args_t *a,
		       const char *code, char *sig)
{
	uint8_t digest[DUX_SHA256_LEN], raw[DUX_ED25519_SIG_LEN];
	char hex[2 * DUX_SHA256_LEN + 1], *msg = NULL;
	dux_sha256(code, strlen(code), digest);
	dux_hex_encode(digest, sizeof digest, hex);
	if (asprintf(&msg, "DUX-BUNDLE-1\n%s\n%s\n%s\n%s", service, a->version, a->runtime, hex) <
	    0)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	int r = dux_key_sign(id->key, msg, strlen(msg), raw);
	free(msg);
	if (r < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot sign with %s: %s", id->path,
				dux_strerror(r));
	dux_b64url_encode(raw, sizeof raw, sig);
	return CTL_OK;
}

/* {"version", "runtime", "code", "public_key", "signature", "output_format"}; takes format. */
static char *publish_body(const publish_args_t *a, const char *code, const char *key,
			  const char *sig, cJSON *format)
{
	cJSON *o = cJSON_CreateObject();
	char *body = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "version", a->version) &&
		  cJSON_AddStringToObject(o, "runtime", a->runtime) &&
		  cJSON_AddStringToObject(o, "code", code) &&
		  cJSON_AddStringToObject(o, "public_key", key) &&
		  cJSON_AddStringToObject(o, "signature", sig);
	if (ok && format) {
		ok = cJSON_AddItemToObject(o, "output_format", format);
		format = ok ? NULL : format;
	}
	if (ok)
		body = cJSON_PrintUnformatted(o);
	cJSON_Delete(format);
	cJSON_Delete(o);
	return body;
}

/* "published bundle V of service S (bash, code sha256 0123...)" and the key, last. */
static void publish_print(const cJSON *b, long status)
{
	fputs(status == 200 ? "already published: bundle " : "published bundle ", stdout);
	out_text(stdout, wallet_str(b, "version"));
	fputs(" of service ", stdout);
	out_text(stdout, wallet_str(b, "service_id"));
	fputs(" (", stdout);
	out_text(stdout, wallet_str(b, "runtime"));
	fputs(", code sha256 ", stdout);
	out_text(stdout, wallet_str(b, "code_sha256"));
	fputs(")\nexecutors run it when their tasks.bundle_keys lists its key: ", stdout);
	out_text(stdout, wallet_str(b, "public_key"));
	fputc('\n', stdout);
}

int bundle_publish(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"key", required_argument, NULL, O_KEY},
		{"runtime", required_argument, NULL, O_RUNTIME},
		{"code", required_argument, NULL, O_CODE},
		{"version", required_argument, NULL, O_VERSION},
		{"output-format", required_argument, NULL, O_FORMAT},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	publish_args_t a = {0};
	ctl_identity_t id = {0};
	char *code = NULL, *body = NULL, sig[DUX_SIG_B64_LEN + 1];
	cJSON *format = NULL;
	dux_client_resp_t resp = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, publish_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "SERVICE_ID")) != CTL_OK ||
	    (rc = store_check_id(ctl, "SERVICE_ID", argv[optind])) != CTL_OK ||
	    (rc = ctl_require(ctl, a.key, "--key FILE")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.runtime, "--runtime bash|python|node")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.code, "--code FILE")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.version, "--version V")) != CTL_OK ||
	    (a.format && (rc = task_parse_format(ctl, a.format, &format)) != CTL_OK) ||
	    (rc = task_read_text(ctl, "--code", a.code, false, &code)) != CTL_OK)
		goto out;
	if (!code[0]) {
		rc = ctl_usage_error(ctl, "--code %s is empty", a.code);
		goto out;
	}
	if ((rc = wallet_need_token(ctl)) != CTL_OK ||
	    (rc = ctl_identity_load(a.key, true, &id)) != CTL_OK ||
	    (rc = sign_bundle(&id, argv[optind], &a, code, sig)) != CTL_OK)
		goto out;
	body = publish_body(&a, code, id.public_b64, sig, format);
	format = NULL; /* taken by publish_body */
	rc = body ? ctl_call_id(ctl, "PUT", "/v1/bundles", argv[optind], NULL, body, &resp)
		  : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	if (rc == CTL_OK && ctl->json)
		out_raw(&resp);
	else if (rc == CTL_OK)
		publish_print(resp.json, resp.status);
out:
	dux_client_resp_clear(&resp);
	ctl_identity_clear(&id);
	cJSON_Delete(format);
	free(body);
	free(code);
	return rc;
}

int bundle_show(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"version", required_argument, NULL, O_VERSION},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *version = NULL;
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, lo)) == O_VERSION)
		version = optarg;
	if ((rc = ctl_opt_status(c)) >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 1, "SERVICE_ID")) != CTL_OK ||
	    (rc = store_check_id(ctl, "SERVICE_ID", argv[optind])) != CTL_OK ||
	    (version && (rc = check_version(ctl, version)) != CTL_OK) ||
	    (rc = wallet_need_token(ctl)) != CTL_OK)
		return rc;
	ctl_path_t p;
	dux_client_resp_t resp = {0};
	ctl_path_init(&p, "/v1/bundles");
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
