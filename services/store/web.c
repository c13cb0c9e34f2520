/* web.c - the store's web pages: GET / and GET /ui/{file}, the files of web/ compiled into the
 * binary. The pages call the JSON API of the same daemon; they load nothing from elsewhere,
 * which the Content-Security-Policy states. */
#include "store.h"
#include <string.h>

extern const dux_blob_t store_web[];

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".svg", "image/svg+xml"},
};

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

static void serve(dux_req_t *r, const char *name)
{
	for (const dux_blob_t *b = store_web; b->name; b++) {
		const char *type = type_of(b->name);
		if (strcmp(b->name, name) != 0 || !type)
			continue;
		dux_reply_header(r, "Content-Security-Policy",
				 "default-src 'none'; script-src 'self'; style-src 'self';"
				 " connect-src 'self'; img-src 'self'; form-action 'self';"
				 " base-uri 'none'; frame-ancestors 'none'");
		dux_reply_header(r, "X-Content-Type-Options", "nosniff");
		dux_reply_header(r, "Referrer-Policy", "no-referrer");
		/* assets change with the binary: a short cache, revalidated after a restart */
		dux_reply_header(r, "Cache-Control", "public, max-age=300");
		dux_reply_text(r, 200, type, b->data, b->len);
		return;
	}
	dux_reply_problem(r, 404, "not-found", "no page %s", name);
}

void api_web_index(dux_req_t *r, void *app)
{
	(void)app;
	serve(r, "index.html");
}

void api_web_asset(dux_req_t *r, void *app)
{
	(void)app;
	const char *file = dux_req_param(r, "file");
	/* index.html has one address, / */
	serve(r, strcmp(file, "index.html") == 0 ? "" : file);
}
