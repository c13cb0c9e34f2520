/* task_submit.c - duxctl task submit: POST /v1/tasks, a program (bash, python or node) with its
 * input and resources, run in the sandbox of a node the scheduler chooses; with --wait, GET
 * /v1/tasks/{id} until it has ended, and its output or why it failed.
 *
 * The resources are checked for their form here (memory "512m", cores "1.0" with at most 3
 * decimals, whole seconds); the engine holds them to its own sandbox limits (exit 1 naming the
 * field). Submit always sends an Idempotency-Key (the caller's, or one made for this run). */
#include "duxctl.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	O_RUNTIME = 256,
	O_CODE,
	O_INPUT,
	O_MEMORY,
	O_CPU,
	O_TIMEOUT,
	O_NETWORK,
	O_REPLICAS,
	O_FORMAT,
	O_IDEM,
	O_WAIT,
};

#define TASK_TIMEOUT_MAX 86400 /* the sandbox's bound, seconds */
#define TASK_REPLICAS_MAX 5
#define WAIT_MAX 86400 /* seconds */
#define POLL_FIRST_MS 100
#define POLL_MAX_MS 1000

typedef struct {
	const char *runtime, *code, *input, *memory, *cpu, *timeout, *replicas, *format, *idem;
	bool network;
	int64_t wait; /* seconds, 0: do not wait */
} submit_args_t;

/* "512m", "1g", "65536k", "512MB": digits and a unit; bounds are the engine's. */
static bool memory_ok(const char *s)
{
	size_t d = strspn(s, "0123456789");
	const char *u = s + d;
	if (d == 0 || d > 15)
		return false;
	if (*u && strchr("kKmMgGtT", *u))
		u++;
	if (*u == 'b' || *u == 'B')
		u++;
	return *u == '\0';
}

/* "1", "1.0", "0.25": cores with at most 3 decimals. */
static bool cpu_ok(const char *s)
{
	size_t d = strspn(s, "0123456789");
	if (d == 0 || d > 3)
		return false;
	if (s[d] == '\0')
		return true;
	size_t f = strspn(s + d + 1, "0123456789");
	return s[d] == '.' && f >= 1 && f <= 3 && s[d + 1 + f] == '\0';
}

static int submit_option(const ctl_t *ctl, int c, void *args)
{
	submit_args_t *a = args;
	int64_t v;
	switch (c) {
	case O_RUNTIME: a->runtime = optarg; return task_check_runtime(ctl, optarg);
	case O_CODE: a->code = optarg; return CTL_OK;
	case O_INPUT: a->input = optarg; return CTL_OK;
	case O_MEMORY:
		a->memory = optarg;
		return memory_ok(optarg) ? CTL_OK
					 : ctl_usage_error(ctl, "--memory must be a size like 512m "
								"or 1g (k, m, g, t), got \"%s\"",
							   optarg);
	case O_CPU:
		a->cpu = optarg;
		return cpu_ok(optarg) ? CTL_OK
				      : ctl_usage_error(ctl, "--cpu must be cores like 1.0 or 0.25 "
							     "(at most 3 decimals), got \"%s\"",
							optarg);
	case O_TIMEOUT:
		a->timeout = optarg;
		return ctl_parse_i64(ctl, "--timeout", optarg, 1, TASK_TIMEOUT_MAX, &v);
	case O_NETWORK: a->network = true; return CTL_OK;
	case O_REPLICAS:
		a->replicas = optarg;
		return ctl_parse_i64(ctl, "--replicas", optarg, 1, TASK_REPLICAS_MAX, &v);
	case O_FORMAT: a->format = optarg; return CTL_OK;
	case O_IDEM: a->idem = optarg; return task_check_idem(ctl, optarg);
	case O_WAIT: return ctl_parse_i64(ctl, "--wait", optarg, 1, WAIT_MAX, &a->wait);
	default: return CTL_EXIT_USAGE; /* not in the option table */
	}
}

/* {"runtime", "code", "input", "resources": {...}, "replicas", "output_format"}; takes format. */
static char *submit_body(const submit_args_t *a, const char *code, const char *input,
			 cJSON *format)
{
	cJSON *o = cJSON_CreateObject(), *res = NULL;
	char *body = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "runtime", a->runtime) &&
		  cJSON_AddStringToObject(o, "code", code) &&
		  (!input || cJSON_AddStringToObject(o, "input", input)) &&
		  (res = cJSON_AddObjectToObject(o, "resources")) &&
		  (!a->memory || cJSON_AddStringToObject(res, "memory_limit", a->memory)) &&
		  (!a->cpu || cJSON_AddStringToObject(res, "cpu_limit", a->cpu)) &&
		  /* checked whole and within 1..86400 and 1..5: exact as doubles */
		  (!a->timeout ||
		   cJSON_AddNumberToObject(res, "timeout", (double)atoll(a->timeout))) &&
		  (!a->network || cJSON_AddTrueToObject(res, "network_access")) &&
		  (!a->replicas ||
		   cJSON_AddNumberToObject(o, "replicas", (double)atoll(a->replicas)));
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

/* "submitted bash task (queued): task ID", the id last, for scripts. */
static void submit_print(const cJSON *t, long status)
{
	fputs(status == 200 ? "already submitted, " : "submitted ", stdout);
	out_text(stdout, wallet_str(t, "runtime"));
	fputs(" task (", stdout);
	out_text(stdout, wallet_str(t, "state"));
	fputs("): task ", stdout);
	out_text(stdout, wallet_str(t, "id"));
	fputc('\n', stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* GET /v1/tasks/{id} until it has ended or wait seconds passed; judged by task_outcome. */
static int wait_task(const ctl_t *ctl, const char *id, int64_t wait)
{
	int64_t until = now_ms() + wait * 1000, pause = POLL_FIRST_MS;
	char waited[32];
	snprintf(waited, sizeof waited, "%lld s", (long long)wait);
	for (;;) {
		dux_client_resp_t resp = {0};
		int rc = ctl_call_id(ctl, "GET", "/v1/tasks", id, NULL, NULL, &resp);
		int64_t left = until - now_ms();
		if (rc == CTL_OK && (task_ended(resp.json) || left <= 0))
			rc = task_outcome(ctl, &resp, waited);
		else if (rc == CTL_OK)
			rc = -1; /* go on */
		dux_client_resp_clear(&resp);
		if (rc >= 0)
			return rc;
		struct timespec ts = {.tv_sec = 0,
				      .tv_nsec = (long)(pause < left ? pause : left) * 1000000L};
		nanosleep(&ts, NULL);
		pause = pause * 2 > POLL_MAX_MS ? POLL_MAX_MS : pause * 2;
	}
}

int task_submit(ctl_t *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{"runtime", required_argument, NULL, O_RUNTIME},
		{"code", required_argument, NULL, O_CODE},
		{"input", required_argument, NULL, O_INPUT},
		{"memory", required_argument, NULL, O_MEMORY},
		{"cpu", required_argument, NULL, O_CPU},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"network", no_argument, NULL, O_NETWORK},
		{"replicas", required_argument, NULL, O_REPLICAS},
		{"output-format", required_argument, NULL, O_FORMAT},
		{"idempotency-key", required_argument, NULL, O_IDEM},
		{"wait", required_argument, NULL, O_WAIT},
		CTL_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	submit_args_t a = {0};
	char *code = NULL, *input = NULL, *body = NULL;
	cJSON *format = NULL;
	dux_client_resp_t resp = {0};
	int rc = ctl_opt_parse(ctl, argc, argv, lo, submit_option, &a);
	if (rc >= 0)
		return rc;
	if ((rc = ctl_positionals(ctl, argc, argv, 0, "")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.runtime, "--runtime bash|python|node")) != CTL_OK ||
	    (rc = ctl_require(ctl, a.code, "--code FILE")) != CTL_OK ||
	    (a.format && (rc = task_parse_format(ctl, a.format, &format)) != CTL_OK) ||
	    (rc = task_read_text(ctl, "--code", a.code, true, &code)) != CTL_OK ||
	    (a.input && (rc = task_read_text(ctl, "--input", a.input, true, &input)) != CTL_OK))
		goto out;
	if (!code[0]) {
		rc = ctl_usage_error(ctl, "--code %s is empty", a.code);
		goto out;
	}
	if ((rc = wallet_need_token(ctl)) != CTL_OK)
		goto out;
	char idem[WALLET_IDEM_HEADER_LEN];
	wallet_idem_header(a.idem, idem); /* "duxctl-" and hex when made here: the engine's form */
	const char *headers[] = {idem, NULL};
	body = submit_body(&a, code, input, format);
	format = NULL; /* taken by submit_body */
	rc = body ? ctl_call(ctl, "POST", "/v1/tasks", headers, body, &resp)
		  : ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	if (rc != CTL_OK)
		goto out;
	const char *id = wallet_str(resp.json, "id");
	if (!task_id_ok(id)) {
		rc = ctl_fail(CTL_EXIT_UNAVAIL, "the task engine answered no task id");
	} else if (a.wait == 0 || task_ended(resp.json)) {
		if (a.wait)
			rc = task_outcome(ctl, &resp, "0 s");
		else if (ctl->json)
			out_raw(&resp);
		else
			submit_print(resp.json, resp.status);
	} else {
		if (!ctl->json) { /* the id first: a wait cut short leaves the caller with it */
			fputs("duxctl: waiting for task ", stderr);
			out_text(stderr, id);
			fputc('\n', stderr);
		}
		rc = wait_task(ctl, id, a.wait);
	}
out:
	dux_client_resp_clear(&resp);
	cJSON_Delete(format);
	free(body);
	free(input);
	free(code);
	return rc;
}
