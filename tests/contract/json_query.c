/* json_query.c - strict reading of a JSON file for the contract tests (cJSON, as the daemons).
 *
 *   json_query FILE [PATH] [--keys | --items]
 *
 * PATH names members separated by '/', array items by their index ("properties/type/const",
 * "required/0"); no PATH is the whole document. Prints the value at PATH (a string as its text,
 * anything else as compact JSON), or with --keys the member names of the object at PATH, or with
 * --items the items of the array at PATH, one per line. Exit status: 0 on success, 1 when FILE is
 * not exactly one valid JSON value, 2 when PATH is not in it or is not of the kind asked. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES (16u << 20)

static char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "json_query: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf || n > MAX_BYTES) {
		fprintf(stderr, "json_query: %s: %s\n", path, buf ? "too large" : "out of memory");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

static const cJSON *walk(const cJSON *j, const char *path)
{
	char *copy = strdup(path);
	char *save = NULL;
	for (char *s = copy ? strtok_r(copy, "/", &save) : NULL; s && j; s = strtok_r(NULL, "/", &save)) {
		if (cJSON_IsObject(j)) {
			j = cJSON_GetObjectItemCaseSensitive(j, s);
		} else if (cJSON_IsArray(j)) {
			char *end;
			long i = strtol(s, &end, 10);
			j = *end || i < 0 ? NULL : cJSON_GetArrayItem(j, (int)i);
		} else {
			j = NULL;
		}
	}
	free(copy);
	return j;
}

static void print_value(const cJSON *v)
{
	if (cJSON_IsString(v)) {
		printf("%s\n", v->valuestring);
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	printf("%s\n", s ? s : "");
	free(s);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: json_query FILE [PATH] [--keys | --items]\n");
		return 2;
	}
	const char *path = "", *mode = "";
	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0)
			mode = argv[i];
		else
			path = argv[i];
	}
	size_t len = 0;
	char *buf = read_all(argv[1], &len);
	if (!buf)
		return 1;
	const char *end = NULL;
	cJSON *doc = strlen(buf) == len ? cJSON_ParseWithOpts(buf, &end, 1) : NULL;
	if (!doc) {
		size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
		fprintf(stderr, "json_query: %s: not valid JSON (near byte %zu)\n", argv[1], at);
		free(buf);
		return 1;
	}
	int rc = 0;
	const cJSON *v = walk(doc, path);
	if (!v) {
		fprintf(stderr, "json_query: %s: no %s\n", argv[1], path);
		rc = 2;
	} else if (strcmp(mode, "--keys") == 0 || strcmp(mode, "--items") == 0) {
		bool keys = strcmp(mode, "--keys") == 0;
		if (keys ? !cJSON_IsObject(v) : !cJSON_IsArray(v)) {
			fprintf(stderr, "json_query: %s: %s is not an %s\n", argv[1], path,
				keys ? "object" : "array");
			rc = 2;
		}
		for (const cJSON *c = v->child; rc == 0 && c; c = c->next) {
			if (keys)
				printf("%s\n", c->string);
			else
				print_value(c);
		}
	} else if (*mode) {
		fprintf(stderr, "json_query: unknown option %s\n", mode);
		rc = 2;
	} else {
		print_value(v);
	}
	cJSON_Delete(doc);
	free(buf);
	return rc;
}
