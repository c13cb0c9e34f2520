/* io_util.h - what the I/O unit tests share: clocks and polling, a closed port, a listener that
 * never answers, raw HTTP/1.1 over one TCP connection, and small file reads.
 * Nothing here asserts: helpers return false and the test asserts. */
#ifndef DUX_IO_UTIL_H
#define DUX_IO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t io_now_ms(void);
void io_sleep_ms(int ms);

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int io_closed_port(void);
/* A socket listening on 127.0.0.1 that never accepts; *ret_port gets its port. Close it. */
int io_silent_listener(int *ret_port);

/* Connects to 127.0.0.1:port with 5 s send and receive timeouts; -1 on failure. */
int io_connect(int port);
bool io_send_all(int fd, const char *data, size_t len);

/* One HTTP response read off a connection. */
typedef struct {
	int status;
	char head[8192]; /* the status line and headers, NUL-terminated */
	char *body;      /* owned, NUL-terminated; free with io_resp_clear */
	size_t len;
} io_resp_t;

/* Reads exactly one response (the server sends Content-Length). */
bool io_read_resp(int fd, io_resp_t *ret);
void io_resp_clear(io_resp_t *r);
/* A header's value (case-insensitive name) copied into out; NULL when absent. */
const char *io_header(const io_resp_t *r, const char *name, char *out, size_t len);

/* Formats a request: "METHOD PATH HTTP/1.1", Host, extra header lines ("Name: value\r\n"...,
 * may be NULL), Content-Length when body is not NULL. Caller frees with free(). */
char *io_request(const char *method, const char *path, const char *extra_headers,
		 const char *body);
/* Connects, sends one request, reads one response, closes. */
bool io_call(int port, const char *method, const char *path, const char *extra_headers,
	     const char *body, io_resp_t *ret);

/* The first line of a file, without its newline, into out; false when unreadable. */
bool io_read_line(const char *path, char *out, size_t len);

#endif
