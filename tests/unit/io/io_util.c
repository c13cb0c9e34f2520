/* io_util.c - see io_util.h. */
#include "io_util.h"
#include <poll.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int64_t io_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void io_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int bound_socket(int *ret_port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) != 0) {
		close(s);
		return -1;
	}
	*ret_port = ntohs(a.sin_port);
	return s;
}

int io_closed_port(void)
{
	int port = -1;
	int s = bound_socket(&port);
	if (s < 0)
		return -1;
	close(s);
	return port;
}

int io_silent_listener(int *ret_port)
{
	int s = bound_socket(ret_port);
	if (s >= 0 && listen(s, 16) != 0) {
		close(s);
		s = -1;
	}
	return s;
}

int io_connect(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 5};
	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
		close(s);
		return -1;
	}
	return s;
}

bool io_send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads until the blank line ending the headers; leftover body bytes go to *extra. */
static bool read_head(int fd, io_resp_t *r, char *extra, size_t *extra_len)
{
	size_t have = 0;
	for (;;) {
		if (have >= sizeof r->head - 1)
			return false;
		ssize_t n = recv(fd, r->head + have, sizeof r->head - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		have += (size_t)n;
		r->head[have] = '\0';
		char *end = strstr(r->head, "\r\n\r\n");
		if (end) {
			size_t hl = (size_t)(end - r->head) + 4;
			*extra_len = have - hl;
			memcpy(extra, r->head + hl, *extra_len);
			r->head[hl] = '\0';
			return true;
		}
	}
}

bool io_read_resp(int fd, io_resp_t *ret)
{
	io_resp_t r = {0};
	char extra[sizeof r.head];
	size_t elen = 0;
	if (!read_head(fd, &r, extra, &elen) || sscanf(r.head, "HTTP/1.%*d %d", &r.status) != 1)
		return false;
	char cl[32];
	size_t len = io_header(&r, "Content-Length", cl, sizeof cl) ? strtoul(cl, NULL, 10) : 0;
	if (elen > len)
		return false; /* one response at a time: the tests never pipeline */
	r.body = malloc(len + 1);
	if (!r.body)
		return false;
	memcpy(r.body, extra, elen);
	r.len = elen;
	while (r.len < len) {
		ssize_t n = recv(fd, r.body + r.len, len - r.len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(r.body);
			return false;
		}
		r.len += (size_t)n;
	}
	r.body[r.len] = '\0';
	*ret = r;
	return true;
}

void io_resp_clear(io_resp_t *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

const char *io_header(const io_resp_t *r, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) != 0 || line[nl] != ':')
			continue;
		const char *v = line + nl + 1;
		while (*v == ' ')
			v++;
		size_t vl = strcspn(v, "\r");
		snprintf(out, len, "%.*s", (int)vl, v);
		return out;
	}
	return NULL;
}

char *io_request(const char *method, const char *path, const char *extra_headers,
		 const char *body)
{
	char *s = NULL, cl[64] = "";
	if (body)
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(body));
	if (asprintf(&s, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n%s", method, path,
		     extra_headers ? extra_headers : "", cl, body ? body : "") < 0)
		return NULL;
	return s;
}

/* The answer to a HEAD request: its head only, whatever Content-Length says; false when body
 * bytes came after it (within 200 ms). */
static bool read_head_only(int fd, io_resp_t *ret)
{
	io_resp_t r = {0};
	char extra[sizeof r.head];
	size_t elen = 0;
	if (!read_head(fd, &r, extra, &elen) || sscanf(r.head, "HTTP/1.%*d %d", &r.status) != 1)
		return false;
	struct pollfd p = {fd, POLLIN, 0};
	if (elen > 0 || poll(&p, 1, 200) > 0)
		return false;
	r.body = calloc(1, 1);
	if (!r.body)
		return false;
	*ret = r;
	return true;
}

bool io_call(int port, const char *method, const char *path, const char *extra_headers,
	     const char *body, io_resp_t *ret)
{
	char *req = io_request(method, path, extra_headers, body);
	int fd = req ? io_connect(port) : -1;
	bool head = strcmp(method, "HEAD") == 0;
	bool ok = fd >= 0 && io_send_all(fd, req, strlen(req)) &&
		  (head ? read_head_only(fd, ret) : io_read_resp(fd, ret));
	if (fd >= 0)
		close(fd);
	free(req);
	return ok;
}

bool io_read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\r\n")] = '\0';
	return ok;
}
