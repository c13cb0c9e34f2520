/* signed.c - requests signed by the node's key (see dux/sign.h for what is signed).
 *
 * The registry accepts a counter only when it is greater than the last one it accepted from
 * the node and within its window around the registry's clock. The counter is unix
 * milliseconds, but never less than the last one used + 1, kept in KEYFILE.counter: two
 * calls within one millisecond (or after the clock stepped back) still go out in order. The
 * key file is locked from choosing the counter until the answer is in, so concurrent duxctl
 * runs for one node cannot overtake each other on the way to the registry. */
#include "duxctl.h"
#include <dux/json.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The last counter stored in path, 0 when there is none yet. DUX_E* codes. */
static int counter_read(const char *path, int64_t *ret)
{
	char buf[32];
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			return DUX_EIO;
		*ret = 0;
		return 0;
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return DUX_EIO;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (end == buf || (*end && strcmp(end, "\n") != 0) || errno || v < 0)
		return DUX_EPROTO;
	*ret = v;
	return 0;
}

static int counter_next(const char *key_path, int64_t *ret)
{
	char *path = NULL, text[32];
	int64_t last = 0, now = dux_now_us() / 1000;
	int rc = CTL_EXIT_LOCAL;
	if (asprintf(&path, "%s.counter", key_path) < 0)
		return ctl_fail(rc, "out of memory");
	int r = counter_read(path, &last);
	if (r == DUX_EPROTO) {
		rc = ctl_fail(rc, "%s does not hold a counter; remove it to start from the clock",
			      path);
		goto out;
	}
	if (r < 0) {
		rc = ctl_fail(rc, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	int64_t c = now > last ? now : last + 1;
	int n = snprintf(text, sizeof text, "%" PRId64 "\n", c);
	if (ctl_write_replace(path, text, (size_t)n) < 0) {
		rc = ctl_fail(rc, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	*ret = c;
	rc = CTL_OK;
out:
	free(path);
	return rc;
}

/* The X-Dux-* headers for a request; strings in h. */
typedef struct {
	char node[80], counter[64], sig[40 + DUX_SIG_B64_LEN];
} sig_headers_t;

static int sign(const ctl_t *ctl, const ctl_identity_t *id, const char *method, const char *path,
		const char *body, int64_t counter, sig_headers_t *h)
{
	size_t blen;
	const char *base = ctl_base_path(ctl, &blen);
	char *sent = NULL, sig[DUX_SIG_B64_LEN + 1];
	if (asprintf(&sent, "%.*s%s", (int)blen, base, path) < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "out of memory");
	int r = dux_sign_request(id->key, method, sent, id->node_id, counter, body, strlen(body),
				 sig);
	free(sent);
	if (r < 0)
		return ctl_fail(CTL_EXIT_LOCAL, "cannot sign the request: %s", dux_strerror(r));
	snprintf(h->node, sizeof h->node, "%s: %s", DUX_HDR_NODE, id->node_id);
	snprintf(h->counter, sizeof h->counter, "%s: %" PRId64, DUX_HDR_COUNTER, counter);
	snprintf(h->sig, sizeof h->sig, "%s: %s", DUX_HDR_SIGNATURE, sig);
	return CTL_OK;
}

int ctl_signed_call(const ctl_t *ctl, const ctl_identity_t *id, const char *method,
		    const char *path, const char *body, dux_client_resp_t *ret)
{
	sig_headers_t h;
	int64_t counter = 0;
	int rc;
	int fd = open(id->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		rc = ctl_fail(CTL_EXIT_LOCAL, "cannot lock key file %s: %s", id->path,
			      strerror(errno));
		goto out;
	}
	rc = counter_next(id->path, &counter);
	if (rc == CTL_OK)
		rc = sign(ctl, id, method, path, body, counter, &h);
	if (rc == CTL_OK) {
		const char *const headers[] = {h.node, h.counter, h.sig, NULL};
		rc = ctl_call(ctl, method, path, headers, body, ret);
	}
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	return rc;
}
