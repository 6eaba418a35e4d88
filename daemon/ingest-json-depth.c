/*
 * The pre-scans of JSON text before jansson parses it.  Nesting
 * (limits.max_json_depth): jansson has no depth limit of its own and
 * recurses, so text is scanned here, byte by byte (ingest-json-stream.c
 * scans each window before decoding from it; json_too_deep scans a whole
 * buffer).  An element's extent: where a feed's record ends and how many
 * values it holds, so that it is decoded once, and only when it is not
 * too large to decode on the event loop.
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

/* A byte outside strings: nesting, items, and the end of the element
 * (after its closing bracket, or at the first byte after a scalar that
 * cannot continue it: a space, separator or bracket; a stray closing
 * bracket ends it too, for jansson to refuse). */
static void
element_byte(struct json_element *el, unsigned char c)
{
	if (el->scalar && (json_space(c) || c == '"' || c == '[' || c == '{'))
		el->ended = true; /* "1 [...": not one element of [...]'s */
	else if (c == '"')
		el->in_string = true;
	else if (c == '[' || c == '{') {
		el->depth++;
		el->values++;
	} else if (c == ']' || c == '}')
		el->ended = --el->depth <= 0;
	else if (c == ',') {
		el->ended = el->depth == 0;
		el->values += !el->ended;
	} else if (el->depth == 0 && !json_space(c))
		el->scalar = true; /* a number, true, false or null */
}

void
json_element_scan(struct json_element *el, const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i;

	for (i = el->scanned; i < n && !el->ended; i++) {
		if (el->escaped)
			el->escaped = false;
		else if (el->in_string) {
			el->in_string = p[i] != '"';
			el->escaped = p[i] == '\\';
			el->ended = !el->in_string && el->depth == 0;
		} else
			element_byte(el, p[i]);
	}
	el->scanned = i;
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
