/* log.c - JSON lines on stderr. */
#include <dux/json.h>
#include <dux/log.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *log_service = "duxos";
static atomic_int log_level = DUX_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void dux_log_init(const char *service, dux_log_level_t level)
{
	log_service = service;
	atomic_store(&log_level, (int)level);
}

void dux_log_set_level(dux_log_level_t level)
{
	atomic_store(&log_level, (int)level);
}

bool dux_log_enabled(dux_log_level_t level)
{
	return (int)level >= atomic_load(&log_level);
}

int dux_log_level_parse(const char *s, dux_log_level_t *ret)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*ret = (dux_log_level_t)i;
			return 0;
		}
	}
	return DUX_EINVAL;
}

/* One write(2) per line, so lines from several threads never interleave. */
static void log_emit(cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);
	if (!s)
		return;
	size_t n = strlen(s);
	s[n] = '\n';
	ssize_t w = write(STDERR_FILENO, s, n + 1);
	(void)w;
	free(s);
}

void dux_log_fields(dux_log_level_t level, cJSON *fields)
{
	if (!fields)
		return;
	char ts[40];
	dux_time_format(dux_now_us(), ts);
	cJSON *obj = cJSON_CreateObject();
	if (obj) {
		cJSON_AddStringToObject(obj, "ts", ts);
		cJSON_AddStringToObject(obj, "level", level_names[level]);
		cJSON_AddStringToObject(obj, "svc", log_service);
		cJSON *f = fields->child;
		while (f) {
			cJSON *next = f->next;
			cJSON_DetachItemViaPointer(fields, f);
			cJSON_AddItemToObject(obj, f->string, f);
			f = next;
		}
		log_emit(obj);
		cJSON_Delete(obj);
	}
	cJSON_Delete(fields);
}

void dux_log_write(dux_log_level_t level, const char *request_id, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *f = cJSON_CreateObject();
	if (!f)
		return;
	cJSON_AddStringToObject(f, "msg", msg);
	if (request_id)
		cJSON_AddStringToObject(f, "req", request_id);
	dux_log_fields(level, f);
}
