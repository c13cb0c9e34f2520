/* input.c - reading the task a caller asks for: runtime, code, input, the seed's sandbox
 * resources (each at most what this daemon's sandbox section allows), replicas, and the
 * declared output format. */
#include "schema.h"
#include "tasks.h"
#include <dux/text.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool refuse(dux_req_t *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool refuse(dux_req_t *r, const char *field, const char *fmt, ...)
{
	cJSON *ext = cJSON_CreateObject();
	cJSON_AddStringToObject(ext, "field", field);
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dux_reply_problem_ext(r, 400, "invalid-field", ext, "%s: %s", field, msg);
	return false;
}

cJSON *format_read(const cJSON *v, char *why, size_t len)
{
	if (!v || cJSON_IsNull(v))
		return cJSON_Parse("{\"content_type\":\"text/plain\"}");
	if (!cJSON_IsObject(v)) {
		snprintf(why, len, "must be an object {content_type, schema}");
		return NULL;
	}
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(v, "content_type");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(v, "schema");
	for (const cJSON *m = v->child; m; m = m->next)
		if (strcmp(m->string, "content_type") != 0 && strcmp(m->string, "schema") != 0) {
			snprintf(why, len, "unknown member \"%.40s\"", m->string);
			return NULL;
		}
	const char *type = ct ? cJSON_GetStringValue(ct) : schema ? "application/json" : NULL;
	if (!type || (strcmp(type, "text/plain") != 0 && strcmp(type, "application/json") != 0)) {
		snprintf(why, len, "content_type must be text/plain or application/json");
		return NULL;
	}
	if (schema && strcmp(type, "application/json") != 0) {
		snprintf(why, len, "a schema needs content_type application/json");
		return NULL;
	}
	char swhy[200];
	if (schema && !schema_def_ok(schema, 0, swhy, sizeof swhy)) {
		snprintf(why, len, "schema: %s", swhy);
		return NULL;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "content_type", type);
	if (schema)
		cJSON_AddItemToObject(out, "schema", cJSON_Duplicate(schema, true));
	return out;
}

static bool runtime_read(tasks_t *t, dux_req_t *r, const cJSON *body, task_spec_t *s)
{
	const char *why = NULL;
	const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "runtime"));
	if (!rt)
		return refuse(r, "runtime", "%s", "required: one of sandbox.allowed_commands");
	if (dux_sandbox_parse_runtime(rt, &s->runtime, &why) < 0 || !(t->allowed & 1u << s->runtime))
		return refuse(r, "runtime", "\"%.40s\" is not one of sandbox.allowed_commands", rt);
	s->runtime_name = strcmp(rt, "python") == 0 ? "python" : strcmp(rt, "node") == 0 ? "node"
											: "bash";
	return true;
}

static bool text_member(dux_req_t *r, const cJSON *body, const char *key, bool required,
			size_t max, const char **ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	*ret = NULL;
	if (!v)
		return required ? refuse(r, key, "%s", "required") : true;
	if (!cJSON_IsString(v))
		return refuse(r, key, "%s", "must be a string");
	if (strlen(v->valuestring) > max)
		return refuse(r, key, "%s", "is too large");
	if (!dux_text_ok(v->valuestring, true))
		return refuse(r, key, "%s", "must be UTF-8 text without control characters other"
					    " than tab and newline");
	*ret = v->valuestring;
	return true;
}

/* The seed's sandbox keys; each defaults to, and may not exceed, the daemon's own. */
static bool resources_read(tasks_t *t, dux_req_t *r, const cJSON *body, task_spec_t *s)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(body, "resources");
	const char *why = NULL;
	if (res && !cJSON_IsObject(res))
		return refuse(r, "resources", "%s", "must be an object");
	const cJSON *mem = cJSON_GetObjectItemCaseSensitive(res, "memory_limit");
	const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(res, "cpu_limit");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(res, "timeout");
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(res, "network_access");
	for (const cJSON *m = res ? res->child : NULL; m; m = m->next)
		if (m != mem && m != cpu && m != to && m != net)
			return refuse(r, "resources", "unknown member \"%.40s\"", m->string);
	const char *mt = mem ? cJSON_GetStringValue(mem) : t->cfg.sb_memory;
	if (!mt || dux_sandbox_parse_memory(mt, &s->memory_bytes, &why) < 0)
		return refuse(r, "resources.memory_limit", "%s", why ? why : "must be text like 512m");
	if (s->memory_bytes > t->max_memory)
		return refuse(r, "resources.memory_limit", "exceeds sandbox.memory_limit (%s)",
			      t->cfg.sb_memory);
	const char *ct = cpu ? cJSON_GetStringValue(cpu) : t->cfg.sb_cpu;
	if (!ct || dux_sandbox_parse_cpu(ct, &s->cpu_milli, &why) < 0)
		return refuse(r, "resources.cpu_limit", "%s", why ? why : "must be text like 1.0");
	if (s->cpu_milli > t->max_cpu_milli)
		return refuse(r, "resources.cpu_limit", "exceeds sandbox.cpu_limit (%s)", t->cfg.sb_cpu);
	snprintf(s->memory_text, sizeof s->memory_text, "%s", mt);
	snprintf(s->cpu_text, sizeof s->cpu_text, "%s", ct);
	s->timeout_s = t->cfg.sb_timeout;
	if (to && (!cJSON_IsNumber(to) || to->valuedouble < 1 || to->valuedouble > t->cfg.sb_timeout ||
		   (double)(int64_t)to->valuedouble != to->valuedouble))
		return refuse(r, "resources.timeout", "%s", "must be whole seconds from 1 to"
							    " sandbox.timeout");
	if (to)
		s->timeout_s = (int64_t)to->valuedouble;
	if (net && !cJSON_IsBool(net))
		return refuse(r, "resources.network_access", "%s", "must be true or false");
	s->network = cJSON_IsTrue(net);
	if (s->network && !t->allow_network)
		return refuse(r, "resources.network_access", "%s", "this deployment allows no network"
								   " access (sandbox.network_access)");
	return true;
}

bool spec_read(tasks_t *t, dux_req_t *r, const cJSON *body, bool with_code, task_spec_t *ret)
{
	task_spec_t s = {.replicas = 1};
	char why[256];
	bool ok = runtime_read(t, r, body, &s) &&
		  text_member(r, body, "code", with_code, TASK_CODE_MAX, &s.code) &&
		  text_member(r, body, "input", false, TASK_INPUT_MAX, &s.input) &&
		  resources_read(t, r, body, &s);
	if (!ok)
		return false;
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(body, "replicas");
	if (rep && (!cJSON_IsNumber(rep) || rep->valuedouble < 1 ||
		    rep->valuedouble > TASK_REPLICAS_MAX ||
		    (double)(int64_t)rep->valuedouble != rep->valuedouble))
		return refuse(r, "replicas", "%s", "must be a whole number from 1 to 5");
	if (rep)
		s.replicas = (int64_t)rep->valuedouble;
	s.output_format = format_read(cJSON_GetObjectItemCaseSensitive(body, "output_format"), why,
				      sizeof why);
	if (!s.output_format)
		return refuse(r, "output_format", "%s", why);
	if (!s.input)
		s.input = "";
	*ret = s;
	return true;
}

void spec_digest(const task_spec_t *s, char ret[65])
{
	char code[65], input[65];
	sha256_hex(s->code, strlen(s->code), code);
	sha256_hex(s->input, strlen(s->input), input);
	char *fmt = cJSON_PrintUnformatted(s->output_format);
	size_t n = 512 + (fmt ? strlen(fmt) : 0);
	char *text = malloc(n);
	if (text) {
		snprintf(text, n, "generic\n%s\n%s\n%s\n%llu\n%u\n%lld\n%d\n%lld\n%s",
			 s->runtime_name, code, input, (unsigned long long)s->memory_bytes,
			 s->cpu_milli, (long long)s->timeout_s, s->network, (long long)s->replicas,
			 fmt ? fmt : "");
		sha256_hex(text, strlen(text), ret);
	} else {
		ret[0] = '\0'; /* matches no stored digest: a repeat is refused, never misanswered */
	}
	free(text);
	free(fmt);
}

void spec_clear(task_spec_t *s)
{
	cJSON_Delete(s->output_format);
	s->output_format = NULL;
}
