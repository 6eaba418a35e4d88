/*
 * The HTTP layer's own error pages, as JSON.  libevent 2.1 answers some
 * requests before effortd sees them (a malformed request line or header,
 * a head over limits.max_header_size: 400; a body far over
 * limits.max_body or a malformed chunk size: 413; an Expect other than
 * 100-continue: 417) with evhttp_send_error()'s HTML page, and has no hook
 * to change it (2.2's evhttp_set_errorcb() would be one).  That page goes
 * into the connection's output buffer and is sent by a later write event,
 * so a callback on the buffer sees it whole first: when effortd is not
 * the one sending (http_layer_sending()), and the buffer is exactly one
 * such page, it is replaced by the same status line and headers with a
 * JSON body {"error": "..."} (API.md: every error is JSON).  libevent
 * still closes the connection after it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "effortd.h"
#include "http-layer-errors.h"

#define PAGE_MAX 1024 /* libevent's pages are ~120 bytes, headers ~200 */

static const char page_start[] = "\r\n\r\n<HTML><HEAD>\n<TITLE>";
static const char page_end[] = "</BODY></HTML>\n";

static bool effortd_sending;

void
http_layer_sending(bool sending)
{
	effortd_sending = sending;
}

/* The error message for a status libevent answers itself. */
static void
layer_message(int code, char *msg, size_t size)
{
	switch (code) {
	case 400:
		snprintf(msg, size,
		    "malformed request line or header, or a request line and "
		    "headers over %d bytes (limits.max_header_size)",
		    effortd.cfg.max_header_size);
		break;
	case 413:
		snprintf(msg, size,
		    "request body larger than %d bytes, or a chunk size that "
		    "is not a hexadecimal number",
		    effortd.cfg.max_body);
		break;
	case 417:
		snprintf(msg, size, "Expect: only 100-continue is understood");
		break;
	default:
		snprintf(msg, size, "the request could not be read");
	}
}

/* Appends the header lines of head (after its status line) to out, less
 * Content-Type and Content-Length. */
static void
copy_headers(struct evbuffer *out, const char *head, const char *head_end)
{
	const char *line = strstr(head, "\r\n") + 2, *next;

	for (; line < head_end; line = next + 2) {
		next = strstr(line, "\r\n");
		if (strncasecmp(line, "Content-Type:", 13) != 0 &&
		    strncasecmp(line, "Content-Length:", 15) != 0)
			evbuffer_add(out, line, (size_t)(next + 2 - line));
	}
}

/* Builds into out the JSON answer for page (NUL-terminated), or returns
 * false when page is not one of libevent's error pages. */
static bool
layer_rewrite(const char *page, size_t len, struct evbuffer *out)
{
	const char *head_end = strstr(page, page_start);
	char msg[200], body[300];
	int code, n;

	if (head_end == NULL || len < sizeof page_end ||
	    strcmp(page + len - (sizeof page_end - 1), page_end) != 0 ||
	    sscanf(page, "HTTP/1.%*1[01] %3d ", &code) != 1 || code < 400)
		return false;
	layer_message(code, msg, sizeof msg);
	n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
	evbuffer_add(out, page, (size_t)(strstr(page, "\r\n") + 2 - page));
	copy_headers(out, page, head_end + 2);
	evbuffer_add_printf(out,
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", n,
	    body);
	return true;
}

static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	size_t len = evbuffer_get_length(buf);
	char page[PAGE_MAX + 1];
	struct evbuffer *json;

	(void)arg;
	if (effortd_sending || info->n_added == 0 || len > PAGE_MAX ||
	    evbuffer_copyout(buf, page, len) != (ev_ssize_t)len)
		return;
	page[len] = '\0';
	if (strlen(page) != len || (json = evbuffer_new()) == NULL)
		return;
	if (layer_rewrite(page, len, json)) {
		evbuffer_drain(buf, len);
		evbuffer_add_buffer(buf, json);
	}
	evbuffer_free(json);
}

void
http_layer_errors_watch(struct bufferevent *bev)
{
	evbuffer_add_cb(bufferevent_get_output(bev), on_output, NULL);
}
