/* docker_attach.c - the container's stdin. The engine takes stdin only on a hijacked
 * connection (POST /containers/{id}/attach: after the answer's head the socket is a raw byte
 * stream), which libcurl does not speak: it only connects (CURLOPT_CONNECT_ONLY), and the
 * request, the answer's head and the bytes go through curl_easy_send/recv. Closing our write
 * side is the end of file that the engine passes on (the container has StdinOnce). */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "docker_int.h"

#define HEAD_MAX 4096

void dk_attach_init(struct dk_attach *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = CURL_SOCKET_BAD;
}

void dk_attach_close(struct dk_attach *a)
{
	curl_easy_cleanup(a->curl);
	a->curl = NULL;
	a->fd = CURL_SOCKET_BAD;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the socket until deadline; 0 ready, DUX_ETIMEDOUT. */
static int wait_fd(curl_socket_t fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return DUX_ETIMEDOUT;
	return poll(&p, 1, (int)left) > 0 ? DUX_OK : DUX_ETIMEDOUT;
}

static int send_all(struct dk_attach *a, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		size_t sent = 0;
		CURLcode cc = curl_easy_send(a->curl, p, n, &sent);
		if (cc == CURLE_AGAIN) {
			if (wait_fd(a->fd, POLLOUT, deadline) < 0)
				return DUX_ETIMEDOUT;
			continue;
		}
		if (cc != CURLE_OK)
			return DUX_EPROTO;
		p += sent, n -= sent;
	}
	return DUX_OK;
}

/* Reads up to the blank line that ends the answer's head, one byte at a time so that nothing
 * of the stream after it is taken (the engine sends nothing there: stdout is not attached). */
static int read_head(struct dk_attach *a, char *head, size_t size, int64_t deadline)
{
	size_t len = 0;
	while (len + 1 < size) {
		size_t got = 0;
		CURLcode cc = curl_easy_recv(a->curl, head + len, 1, &got);
		if (cc == CURLE_AGAIN) {
			if (wait_fd(a->fd, POLLIN, deadline) < 0)
				return DUX_ETIMEDOUT;
			continue;
		}
		if (cc != CURLE_OK || got == 0)
			return DUX_EPROTO;
		len++;
		head[len] = '\0';
		if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
			return DUX_OK;
	}
	return DUX_EPROTO;
}

static int connect_only(struct dk_attach *a, const struct dux_docker_opts *o, char *why, size_t why_size)
{
	CURLcode cc;
	if (!(a->curl = dk_http_handle(o, "POST", "_ping")))
		return DUX_ENOMEM;
	if (curl_easy_setopt(a->curl, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK ||
		curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)o->request_timeout_ms) != CURLE_OK)
		return DUX_ENOMEM;
	if ((cc = curl_easy_perform(a->curl)) != CURLE_OK)
		return dk_http_curl_why(o, "attach", a->curl, cc, why, why_size);
	if (curl_easy_getinfo(a->curl, CURLINFO_ACTIVESOCKET, &a->fd) != CURLE_OK || a->fd == CURL_SOCKET_BAD) {
		snprintf(why, why_size, "attach: no socket");
		return DUX_EPROTO;
	}
	return DUX_OK;
}

int dk_attach_open(struct dk_attach *a, const struct dux_docker_opts *o, const char *id, uint32_t timeout_ms,
	char *why, size_t why_size)
{
	char req[512], head[HEAD_MAX];
	int64_t deadline = now_ms() + timeout_ms;
	int r, n;
	if ((r = connect_only(a, o, why, why_size)) < 0)
		return r == DUX_ENOMEM ? (snprintf(why, why_size, "attach: out of memory"), r) : r;
	n = snprintf(req, sizeof(req),
		"POST /%s/containers/%s/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: docker\r\n"
		"Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
		o->api_version, id);
	if (n < 0 || n >= (int)sizeof(req) || (r = send_all(a, req, (size_t)n, deadline)) < 0 ||
		(r = read_head(a, head, sizeof(head), deadline)) < 0) {
		snprintf(why, why_size, "attach: %s", r == DUX_ETIMEDOUT ? "no answer in time" : "no HTTP answer");
		return r < 0 ? r : DUX_EPROTO;
	}
	/* 101 with the upgrade headers, or 200 from engines that hijack without them. */
	if (strncmp(head, "HTTP/1.1 101 ", 13) != 0 && strncmp(head, "HTTP/1.1 200 ", 13) != 0 &&
		strncmp(head, "HTTP/1.0 200 ", 13) != 0) {
		head[strcspn(head, "\r")] = '\0'; /* the status line only, printable */
		for (char *c = head; *c; c++)
			*c = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
		snprintf(why, why_size, "attach: %.40s", head);
		return DUX_EPROTO;
	}
	return DUX_OK;
}

bool dk_attach_pending(const struct dk_attach *a)
{
	return a->curl && !a->eof_sent;
}

void dk_attach_pump(struct dk_attach *a)
{
	while (dk_attach_pending(a)) {
		size_t sent = 0;
		CURLcode cc;
		if (a->cur == 2) {
			(void)shutdown(a->fd, SHUT_WR);
			a->eof_sent = true;
			return;
		}
		if (a->off == a->part_len[a->cur]) {
			a->cur++, a->off = 0;
			continue;
		}
		cc = curl_easy_send(a->curl, a->part[a->cur] + a->off, a->part_len[a->cur] - a->off, &sent);
		if (cc == CURLE_AGAIN)
			return;
		if (cc != CURLE_OK) {
			a->eof_sent = true; /* the container no longer reads: what it did not take is lost */
			return;
		}
		a->off += sent;
	}
}
