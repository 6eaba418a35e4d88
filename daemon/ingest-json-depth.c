/*
 * The nesting pre-scan for JSON bodies (limits.max_json_depth): jansson
 * has no depth limit of its own and recurses, so text is scanned here,
 * byte by byte, before jansson parses it (ingest-json-stream.c scans each
 * window before decoding from it; json_too_deep scans a whole buffer).
 */
#include <event2/buffer.h>

#include "ingest-json-depth.h"
#include "ingest-json-stream.h"

bool
json_depth_scan(struct json_depth *d, const void *text, size_t n, int max)
{
	const unsigned char *p = text;

	for (size_t i = 0; i < n; i++) {
		if (d->escaped)
			d->escaped = false;
		else if (d->in_string) {
			d->in_string = p[i] != '"';
			d->escaped = p[i] == '\\';
		} else if (p[i] == '"')
			d->in_string = true;
		else if (p[i] == '[' || p[i] == '{') {
			if (++d->depth > max)
				return false;
		} else if (p[i] == ']' || p[i] == '}')
			d->depth--;
	}
	return true;
}

bool
json_too_deep(struct evbuffer *buf, int max)
{
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v;
	struct json_depth d = { 0, false, false };

	evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET);
	while (evbuffer_peek(buf, -1, &pos, &v, 1) > 0 && v.iov_len > 0) {
		if (!json_depth_scan(&d, v.iov_base, v.iov_len, max))
			return true;
		if (evbuffer_ptr_set(buf, &pos, v.iov_len, EVBUFFER_PTR_ADD))
			break;
	}
	return false;
}
