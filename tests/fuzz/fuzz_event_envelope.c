/* fuzz_event_envelope.c - CloudEvents envelopes as subscribers receive them: strict parsing,
 * and for every accepted envelope a round trip (format, parse again) that must give the same
 * event. A difference is a finding: publishers and subscribers would disagree. */
#include "fuzz.h"
#include <dux/bus.h>
#include <string.h>

/* Exact equality of two JSON trees: same types, member names and order, strings, and numbers
 * equal as doubles (not merely printed alike). */
static bool same_json(const cJSON *a, const cJSON *b)
{
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string && strcmp(a->string, b->string) != 0))
		return false;
	if (cJSON_IsNumber(a) && a->valuedouble != b->valuedouble)
		return false;
	if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring) != 0)
		return false;
	const cJSON *x = a->child, *y = b->child;
	for (; x && y; x = x->next, y = y->next)
		if (!same_json(x, y))
			return false;
	return x == NULL && y == NULL;
}

static void same_event(const dux_event_t *a, const dux_event_t *b, const char *text)
{
	bool same = strcmp(a->id, b->id) == 0 && strcmp(a->source, b->source) == 0 &&
		    strcmp(a->type, b->type) == 0 && strcmp(a->subject, b->subject) == 0 &&
		    a->seq == b->seq && a->time_us == b->time_us && same_json(a->data, b->data);
	if (!same)
		fprintf(stderr,
			"round trip changed the event:\n  formatted: %s\n  time_us %lld -> %lld, "
			"seq %lld -> %lld, data %s\n",
			text, (long long)a->time_us, (long long)b->time_us, (long long)a->seq,
			(long long)b->seq, same_json(a->data, b->data) ? "same" : "changed");
	FUZZ_CHECK(same);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dux_event_t a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	if (dux_event_parse((const char *)data, size, &a) < 0) {
		FUZZ_CHECK(a.data == NULL);
		return 0;
	}
	FUZZ_CHECK(cJSON_IsObject(a.data));
	FUZZ_CHECK(a.seq >= 1 && a.id[0] && a.source[0] && a.type[0]);
	char *text = dux_event_format(&a);
	FUZZ_CHECK(text != NULL);
	if (dux_event_parse(text, strlen(text), &b) < 0) {
		fprintf(stderr, "formatted envelope does not parse: %s\n", text);
		abort();
	}
	same_event(&a, &b, text);
	free(text);
	dux_event_clear(&a);
	dux_event_clear(&b);
	FUZZ_CHECK(a.data == NULL);
	return 0;
}
