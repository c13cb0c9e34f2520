/* opts.c - getopt_long for the commands, and validation of every argument before anything is
 * sent: a malformed argument is a usage error (exit 2) that names the option. */
#include "duxctl.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ctl_print_usage(FILE *f, const ctl_cmd_t *cmd)
{
	fprintf(f, "duxctl %s%s%s%s%s\n", cmd->group, cmd->name ? " " : "",
		cmd->name ? cmd->name : "", cmd->usage[0] ? " " : "", cmd->usage);
}

int ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("duxctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

int ctl_usage_error(const ctl_t *ctl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("duxctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (ctl->cmd) {
		fputs("usage: ", stderr);
		ctl_print_usage(stderr, ctl->cmd);
	} else {
		fprintf(stderr, "%s\n", ctl_global_usage);
	}
	return CTL_EXIT_USAGE;
}

static bool is_global_option(const char *arg)
{
	static const char *const globals[] = {"--registry", "--wallet", "--escrow",
					      "--store",    "--tasks",  "--token",
					      "--token-file", "--json", "--timeout"};
	size_t n = strcspn(arg, "=");
	for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
		if (strlen(globals[i]) == n && strncmp(arg, globals[i], n) == 0)
			return true;
	return false;
}

static int bad_option(const ctl_t *ctl, char **argv)
{
	const char *arg = argv[optind - 1];
	if (optopt > 0 && optopt < 128 && isprint(optopt) && strncmp(arg, "--", 2) != 0)
		return ctl_usage_error(ctl, "unknown option -%c", optopt);
	if (is_global_option(arg))
		return ctl_usage_error(ctl, "%s is a global option: put it before the command",
				       arg);
	return ctl_usage_error(ctl, "unknown or malformed option %s", arg);
}

int ctl_opt_next(const ctl_t *ctl, int argc, char **argv, const struct option *longopts)
{
	/* ':' first: a missing value comes back as ':' and is reported here, not by getopt */
	int c = getopt_long(argc, argv, ":h", longopts, NULL);
	switch (c) {
	case -1: return CTL_OPT_END;
	case 'h':
		fputs("usage: ", stdout);
		ctl_print_usage(stdout, ctl->cmd);
		return CTL_OPT_HELP;
	case ':':
		ctl_usage_error(ctl, "option %s needs a value", argv[optind - 1]);
		return CTL_OPT_BAD;
	case '?': bad_option(ctl, argv); return CTL_OPT_BAD;
	default: return c;
	}
}

int ctl_opt_status(int c)
{
	if (c == CTL_OPT_HELP)
		return CTL_OK;
	if (c == CTL_OPT_BAD)
		return CTL_EXIT_USAGE;
	return -1;
}

int ctl_opt_parse(const ctl_t *ctl, int argc, char **argv, const struct option *longopts,
		  ctl_option_fn option, void *args)
{
	int c, rc;
	while ((c = ctl_opt_next(ctl, argc, argv, longopts)) >= 0)
		if ((rc = option(ctl, c, args)) != CTL_OK)
			return rc;
	return ctl_opt_status(c);
}

int ctl_parse_i64(const ctl_t *ctl, const char *opt, const char *s, int64_t min, int64_t max,
		  int64_t *ret)
{
	char *end = NULL;
	errno = 0;
	long long v = *s && !isspace((unsigned char)*s) ? strtoll(s, &end, 10) : 0;
	if (!end || end == s || *end || errno || v < min || v > max)
		return ctl_usage_error(ctl, "%s must be an integer from %lld to %lld, got \"%s\"",
				       opt, (long long)min, (long long)max, s);
	*ret = v;
	return CTL_OK;
}

int ctl_parse_num(const ctl_t *ctl, const char *opt, const char *s, double min, double max,
		  double *ret)
{
	/* plain decimal only: strtod would also take "inf", "nan" and hexadecimal floats */
	size_t n = strlen(s);
	char *end = NULL;
	errno = 0;
	double v = n && strspn(s, "0123456789.eE+-") == n ? strtod(s, &end) : 0;
	if (!end || end == s || *end || errno || !isfinite(v) || v < min || v > max)
		return ctl_usage_error(ctl, "%s must be a number from %.15g to %.15g, got \"%s\"",
				       opt, min, max, s);
	*ret = v;
	return CTL_OK;
}

bool ctl_capability_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int ctl_check_capability(const ctl_t *ctl, const char *s)
{
	if (!ctl_capability_ok(s))
		return ctl_usage_error(ctl, "--capability \"%s\" must match [a-z][a-z0-9_]{1,31}",
				       s);
	return CTL_OK;
}

int ctl_parse_net(const ctl_t *ctl, const char *s, dux_net_t *ret)
{
	if (dux_net_parse(s, ret) < 0)
		return ctl_usage_error(
			ctl, "--network must be mainnet, testnet or regtest, got \"%s\"", s);
	return CTL_OK;
}

int ctl_check_address(const ctl_t *ctl, const char *opt, const char *s, dux_net_t net)
{
	const char *why = NULL;
	if (dux_address_validate(s, net, NULL, &why) < 0)
		return ctl_usage_error(ctl, "%s \"%s\" is not a %s Flopcoin address: %s", opt, s,
				       dux_net_name(net), why);
	return CTL_OK;
}

int ctl_check_node_id(const ctl_t *ctl, const char *s)
{
	if (dux_node_id_valid(s) < 0)
		return ctl_usage_error(ctl, "\"%s\" is not a node id (32 lowercase hex characters)",
				       s);
	return CTL_OK;
}

int ctl_require(const ctl_t *ctl, const char *value, const char *what)
{
	if (!value || !*value)
		return ctl_usage_error(ctl, "%s is required", what);
	return CTL_OK;
}

int ctl_positionals(const ctl_t *ctl, int argc, char **argv, int want, const char *what)
{
	int have = argc - optind;
	if (have < want)
		return ctl_usage_error(ctl, "missing %s", what);
	if (have > want)
		return ctl_usage_error(ctl, "unexpected argument \"%s\"", argv[optind + want]);
	return CTL_OK;
}
