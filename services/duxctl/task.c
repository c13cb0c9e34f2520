/* task.c - what the commands of the task engine (duxos-tasks) share: checks of task ids,
 * runtimes and idempotency keys, programs and inputs read from files as text, the output
 * format, and what an ended task means for the exit status (task submit --wait, call).
 *
 * Code and input travel as JSON strings, so a file must be UTF-8 without NUL bytes; the engine
 * also refuses control characters in a task's code and input other than tab and new line
 * (a file with CRLF line ends, say). Both are checked here, before anything is sent, and named
 * with the line they are on. */
#include "duxctl.h"
#include <dux/text.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TASK_IDEM_MAX 128 /* the engine's bound on an Idempotency-Key */

bool task_id_ok(const char *s)
{
	return strlen(s) == TASK_ID_LEN && strncmp(s, "tsk_", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdef") == TASK_ID_LEN - 4;
}

int task_check_id(const ctl_t *ctl, const char *what, const char *s)
{
	if (!task_id_ok(s))
		return ctl_usage_error(ctl, "%s \"%s\" is not a task id (tsk_ and 32 lowercase hex "
					    "digits)",
				       what, s);
	return CTL_OK;
}

int task_check_runtime(const ctl_t *ctl, const char *s)
{
	if (strcmp(s, "bash") != 0 && strcmp(s, "python") != 0 && strcmp(s, "node") != 0)
		return ctl_usage_error(ctl, "--runtime must be bash, python or node, got \"%s\"",
				       s);
	return CTL_OK;
}

int task_check_idem(const ctl_t *ctl, const char *key)
{
	size_t n = strlen(key);
	if (n < 1 || n > TASK_IDEM_MAX ||
	    strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") != n)
		return ctl_usage_error(ctl, "--idempotency-key must be 1 to %d letters, digits or "
					    ". _ : -",
				       TASK_IDEM_MAX);
	return CTL_OK;
}

/* The 1-based line of byte offset at in s. */
static size_t line_of(const char *s, size_t at)
{
	size_t line = 1;
	for (size_t i = 0; i < at; i++)
		line += s[i] == '\n';
	return line;
}

/* Why the len bytes of text (NUL-terminated) are not what the engine takes, or NULL; *ret_at:
 * where. text is left as it was. */
static const char *text_problem(char *text, size_t len, bool strict, size_t *ret_at)
{
	size_t nul = strlen(text);
	if (nul < len) {
		*ret_at = nul;
		return "a NUL byte: it is not a text file";
	}
	if (!dux_utf8_ok(text, len)) {
		/* the first line that is not UTF-8 on its own */
		size_t start = 0;
		for (size_t i = 0; i <= len; i++) {
			if (i < len && text[i] != '\n')
				continue;
			char save = text[i];
			text[i] = '\0'; /* dux_utf8_ok wants a NUL after the bytes */
			bool ok = dux_utf8_ok(text + start, i - start);
			text[i] = save;
			if (!ok) {
				*ret_at = start;
				break;
			}
			start = i + 1;
		}
		return "bytes that are not UTF-8 (save it as UTF-8 text)";
	}
	if (!strict || dux_text_ok(text, true))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool c1 = c == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 &&
			  (unsigned char)text[i + 1] <= 0x9f;
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c1) {
			*ret_at = i;
			if (c == '\r')
				return "a carriage return (CRLF line ends?): the task engine takes "
				       "tabs and new lines only";
			return "a control character: the task engine takes tabs and new lines "
			       "only";
		}
	}
	*ret_at = 0;
	return "a control character: the task engine takes tabs and new lines only";
}

int task_read_text(const ctl_t *ctl, const char *opt, const char *path, bool strict, char **ret)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot read %s %s: %s", opt, path,
				strerror(errno));
	char *buf = malloc(TASK_TEXT_MAX + 2);
	size_t n = buf ? fread(buf, 1, TASK_TEXT_MAX + 1, f) : 0;
	bool bad = ferror(f);
	int err = errno; /* a directory, say: EISDIR */
	fclose(f);
	int rc = CTL_OK;
	size_t at = 0;
	const char *why = NULL;
	if (!buf) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	} else if (bad) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "cannot read %s %s: %s", opt, path, strerror(err));
	} else if (n > TASK_TEXT_MAX) {
		rc = ctl_usage_error(ctl, "%s %s is larger than %u bytes, the task engine's limit",
				     opt, path, TASK_TEXT_MAX);
	} else {
		buf[n] = '\0';
		why = text_problem(buf, n, strict, &at);
		if (why)
			rc = ctl_usage_error(ctl, "%s %s, line %zu, holds %s", opt, path,
					     line_of(buf, at), why);
	}
	if (rc != CTL_OK) {
		free(buf);
		return rc;
	}
	*ret = buf;
	return CTL_OK;
}

int task_parse_format(const ctl_t *ctl, const char *s, cJSON **ret)
{
	cJSON *j = NULL;
	if (strcmp(s, "text/plain") == 0 || strcmp(s, "application/json") == 0) {
		j = cJSON_CreateObject();
		if (!j || !cJSON_AddStringToObject(j, "content_type", s)) {
			cJSON_Delete(j);
			return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
		}
	} else {
		j = cJSON_Parse(s);
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			return ctl_usage_error(ctl, "--output-format must be a JSON object such as "
						    "'{\"content_type\":\"application/json\","
						    "\"schema\":{...}}', or text/plain or "
						    "application/json");
		}
	}
	*ret = j;
	return CTL_OK;
}

bool task_ended(const cJSON *task)
{
	const char *st = wallet_str(task, "state");
	return strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0 ||
	       strcmp(st, "cancelled") == 0;
}

void task_print_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool c1 = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f || c1) {
			fputc('?', f);
			p += c1;
		} else {
			fputc(*p, f);
		}
	}
}

int task_outcome(const ctl_t *ctl, const dux_client_resp_t *resp, const char *waited)
{
	const cJSON *t = resp->json;
	const char *id = wallet_str(t, "id"), *state = wallet_str(t, "state");
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(t, "output");
	if (!id[0] || !state[0])
		return ctl_fail(CTL_EXIT_UNAVAIL, "the task engine's answer has no task id or "
						  "state");
	if (ctl->json)
		out_raw(resp);
	if (strcmp(state, "succeeded") == 0) {
		if (!ctl->json && cJSON_IsString(out) && out->valuestring[0]) {
			size_t n = strlen(out->valuestring);
			task_print_text(stdout, out->valuestring);
			if (out->valuestring[n - 1] != '\n')
				fputc('\n', stdout);
		}
		return CTL_OK;
	}
	if (!task_ended(t)) {
		fputs("duxctl: task ", stderr);
		out_text(stderr, id);
		fputs(" is still ", stderr);
		out_text(stderr, state);
		fprintf(stderr, " after %s (duxctl task show ", waited);
		out_text(stderr, id);
		fputs(")\n", stderr);
		return CTL_EXIT_UNAVAIL;
	}
	fputs("duxctl: task ", stderr);
	out_text(stderr, id);
	fputc(' ', stderr);
	out_text(stderr, state);
	fputs(": ", stderr);
	out_text(stderr, wallet_str(t, "reason"));
	if (wallet_str(t, "detail")[0]) {
		fputs(": ", stderr);
		out_text(stderr, wallet_str(t, "detail"));
	}
	fputc('\n', stderr);
	return CTL_EXIT_REFUSED;
}
