/* docker_frames.c - demultiplexes the logs stream of a container without a TTY into stdout and
 * stderr, each kept up to the output cap. Frames arrive split anywhere (libcurl hands over
 * whatever the socket had), so the state of the current frame is kept between calls. */
#include <stdlib.h>
#include <string.h>

#include "docker_int.h"

int dk_demux_init(struct dk_demux *d, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->cap = cap;
	d->out.buf = malloc(cap + 1);
	d->err.buf = malloc(cap + 1);
	if (!d->out.buf || !d->err.buf) {
		dk_demux_free(d);
		return DUX_ENOMEM;
	}
	d->out.buf[0] = d->err.buf[0] = '\0';
	return DUX_OK;
}

void dk_demux_free(struct dk_demux *d)
{
	free(d->out.buf);
	free(d->err.buf);
	d->out.buf = d->err.buf = NULL;
}

/* Keeps what fits under the cap; the rest only marks the stream truncated. */
static void keep(struct dk_capped *s, size_t cap, const char *p, size_t n)
{
	size_t room = cap - s->len;
	if (n > room) {
		s->truncated = true;
		n = room;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

/* A header is {type, 0, 0, 0, size}: anything else means we are not reading frames (a TTY
 * stream, or garbage), and guessing would mix the streams. */
static int take_header(struct dk_demux *d)
{
	const unsigned char *h = d->hdr;
	if (h[0] > 2 || h[1] || h[2] || h[3])
		return DUX_EPROTO;
	d->type = h[0];
	d->left = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
	d->hdr_len = 0;
	return DUX_OK;
}

int dk_demux_feed(struct dk_demux *d, const char *p, size_t n)
{
	while (n > 0) {
		size_t take;
		if (d->left == 0) {
			take = sizeof(d->hdr) - d->hdr_len;
			take = take < n ? take : n;
			memcpy(d->hdr + d->hdr_len, p, take);
			d->hdr_len += take;
			p += take, n -= take;
			if (d->hdr_len == sizeof(d->hdr) && take_header(d) < 0)
				return DUX_EPROTO;
			continue;
		}
		take = d->left < n ? d->left : n;
		keep(d->type == 2 ? &d->err : &d->out, d->cap, p, take);
		d->left -= (uint32_t)take;
		p += take, n -= take;
	}
	return DUX_OK;
}

bool dk_demux_exceeded(const struct dk_demux *d)
{
	return d->out.truncated || d->err.truncated;
}

bool dk_demux_partial(const struct dk_demux *d)
{
	return d->hdr_len > 0 || d->left > 0;
}
