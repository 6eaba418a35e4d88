/*
 * A JSON array decoded one element at a time (see ingest-json-stream.h).
 *
 * jansson decodes one element from a window at the buffer's head with
 * JSON_DISABLE_EOF_CHECK and says in json_error_t.position how much it
 * used.  A pre-scan (json_element_scan) finds where the element ends and
 * counts its values first: the window is doubled until it holds the end,
 * then the element is decoded once, unless it holds more values than
 * jansson may build on the event loop.  jansson's position has the last
 * word: one within a character of the window's end while more of the body
 * follows means the window may end inside the element, and it is widened
 * again.  The bytes used are depth-checked first (json_depth_scan), counted
 * as jansson counts lines and columns, and drained.
 * The separators are read here; when one is wrong, jansson is shown the rest of
 * the body behind a prefix that puts it in the same place ("[{}" before a bad
 * separator, "[]" before text after the array), so that the message is
 * the one a whole-body parse gives, at the body's line and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed-validate.h"
#include "ingest-json-literal.h"
#include "ingest-json-stream.h"
#include "xmalloc.h"

#define WINDOW_MIN (64 * 1024)
/* The widest window: an element of JSON_RECORD_MAX bytes and the margin
 * beyond it that makes its end trusted (below). */
#define WINDOW_MAX (JSON_RECORD_MAX + 8)
#define RECORD_FLAGS                                                           \
	(JSON_STREAM_FLAGS | JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK)

void
json_stream_init(struct json_stream *js, int max_depth)
{
	memset(js, 0, sizeof *js);
	js->state = JS_START;
	js->line = 1;
	js->max_depth = max_depth;
	js->window = WINDOW_MIN;
}

/* The error for a raw NUL byte at p[at]: not JSON, and jansson (which
 * would skip one after a number and refuse one elsewhere) is not shown it. */
static bool
nul_byte(struct json_stream *js, const char *p, size_t at)
{
	int line = js->line, column = js->column;

	for (size_t i = 0; i < at; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			line++;
			column = 0;
		} else if (c < 0x80 || (c >= 0xC2 && c <= 0xF4))
			column++;
	}
	snprintf(js->error, sizeof js->error,
	    "invalid JSON at line %d, column %d: NUL byte", line, column + 1);
	return false;
}

/* Checks the first n bytes at the head (p: their contiguous copy) before
 * jansson reads them: nesting depth, and no NUL byte. */
static bool
scan_upto(struct json_stream *js, const char *p, size_t n)
{
	const char *nul;
	bool ok = true;

	if (n > js->scanned) {
		nul = memchr(p + js->scanned, '\0', n - js->scanned);
		if (nul != NULL)
			n = (size_t)(nul - p);
		ok = json_depth_scan(&js->depth, p + js->scanned,
		    n - js->scanned, js->max_depth);
		js->scanned = n;
		if (ok && nul != NULL)
			return nul_byte(js, p, n);
	}
	if (!ok)
		snprintf(js->error, sizeof js->error,
		    "JSON nested deeper than %d levels", js->max_depth);
	return ok;
}

/* Consumes n bytes at the head: counted as jansson counts, then drained. */
static bool
advance(struct json_stream *js, struct evbuffer *buf, const char *p, size_t n)
{
	if (!scan_upto(js, p, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			js->line++;
			js->column = 0;
		} else if (c < 0x80 || (c >= 0xC2 && c <= 0xF4))
			js->column++; /* the first byte of a character */
	}
	evbuffer_drain(buf, n);
	js->scanned -= n;
	return true;
}

/* Skips blanks; the next byte, -1 at the end of the buffer, -2 on error. */
static int
skip_blanks(struct json_stream *js, struct evbuffer *buf)
{
	struct evbuffer_iovec v;
	size_t n;

	while (evbuffer_peek(buf, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		const char *p = v.iov_base;
		for (n = 0; n < v.iov_len && json_space((unsigned char)p[n]);
		     n++)
			;
		if (!advance(js, buf, p, n))
			return -2;
		if (n < v.iov_len)
			return (unsigned char)p[n];
	}
	return -1;
}

/* jansson's error e, found prefix_cols characters into the text it was
 * given (a prefix and the head of the buffer), placed in the body. */
static enum json_stream_status
fail_at(struct json_stream *js, const json_error_t *e, int prefix_cols)
{
	int line = js->line + e->line - 1;
	int col =
	    e->line == 1 ? js->column + e->column - prefix_cols : e->column;

	snprintf(js->error, sizeof js->error,
	    "invalid JSON at line %d, column %d: %s", line, col, e->text);
	js->state = JS_DONE;
	return JSS_ERROR;
}

/*
 * What jansson says of the rest of the body behind prefix (a separator
 * or text after the array is wrong).  The whole rest is depth-checked
 * first, as jansson will read it.
 */
static enum json_stream_status
fail_with_prefix(struct json_stream *js, struct evbuffer *buf,
    const char *prefix, size_t flags)
{
	size_t n = evbuffer_get_length(buf), k = strlen(prefix);
	const char *p = n ? (const char *)evbuffer_pullup(buf, -1) : "";
	char *text = xmalloc(n + k + 1);
	json_error_t e;
	json_t *v;

	if (!scan_upto(js, p, n)) {
		free(text);
		js->state = JS_DONE;
		return JSS_ERROR;
	}
	memcpy(text, prefix, k);
	memcpy(text + k, p, n);
	v = json_loadb(text, n + k, flags, &e);
	free(text);
	if (v != NULL) { /* cannot happen: the caller saw the fault */
		json_decref(v);
		snprintf(e.text, sizeof e.text, "unexpected text");
	}
	return fail_at(js, &e, (int)k);
}

/* The body is not an array: decodes all of it to tell a 400 from a 422
 * (one over JSON_RECORD_MAX or JSON_RECORD_VALUES_MAX is not decoded: a
 * 422 either way). */
static enum json_stream_status
whole_body(struct json_stream *js, struct evbuffer *buf)
{
	size_t n = evbuffer_get_length(buf);
	const char *p;
	json_error_t e;
	json_t *v;

	if (n > JSON_RECORD_MAX) {
		js->state = JS_DONE;
		return JSS_NOT_ARRAY;
	}
	p = n ? (const char *)evbuffer_pullup(buf, -1) : "";
	if (!scan_upto(js, p, n)) {
		js->state = JS_DONE;
		return JSS_ERROR;
	}
	json_element_scan(&js->element, p, n);
	if (js->element.values > JSON_RECORD_VALUES_MAX) {
		js->state = JS_DONE;
		return JSS_NOT_ARRAY;
	}
	v = json_loadb(p, n, JSON_STREAM_FLAGS, &e);
	js->state = JS_DONE;
	if (v == NULL)
		return fail_at(js, &e, 0);
	json_decref(v);
	evbuffer_drain(buf, n);
	return JSS_NOT_ARRAY;
}

/* The body does not start an array: decoded whole at its end (to tell a
 * 400 from a 422), unless it already is too large to be: then a 422 at
 * once, without reading (or keeping) the rest of it. */
static enum json_stream_status
not_array(struct json_stream *js, struct evbuffer *buf, bool eof)
{
	if (eof)
		return whole_body(js, buf);
	if (evbuffer_get_length(buf) <= JSON_RECORD_MAX)
		return JSS_NEED_MORE;
	js->state = JS_DONE;
	return JSS_NOT_ARRAY;
}

/* Decodes the element at the head of buf. */
static enum json_stream_status
element(struct json_stream *js, struct evbuffer *buf, bool eof, json_t **out)
{
	size_t avail = evbuffer_get_length(buf), w, used;
	const char *p;
	json_error_t e;
	json_t *v;

	for (;;) {
		w = js->window < avail ? js->window : avail;
		p = (const char *)evbuffer_pullup(buf, (ssize_t)w);
		if (!scan_upto(js, p, w)) {
			js->state = JS_DONE;
			return JSS_ERROR;
		}
		json_element_scan(&js->element, p, w);
		if (js->element.values > JSON_RECORD_VALUES_MAX) {
			js->state = JS_DONE;
			return JSS_TOO_MANY;
		}
		/* Decoded once its end is in the window (or the body's, or
		 * the widest window's, for jansson's error or the 413). */
		if (js->element.ended || (w == avail && eof) ||
		    w >= WINDOW_MAX) {
			v = json_loadb(p, w, RECORD_FLAGS, &e);
			used = (size_t)e.position;
			/* Trusted if jansson stopped short of the window's
			 * end by more than a character (UTF-8: up to 4
			 * bytes) or saw the body's. */
			if (used + 4 < w || (w == avail && eof))
				break;
			json_decref(v);
		}
		/* The window may end inside the element: widen it. */
		if (w == avail && w < WINDOW_MAX)
			return JSS_NEED_MORE;
		if (js->window >= WINDOW_MAX) {
			js->state = JS_DONE;
			return JSS_TOO_LARGE;
		}
		js->window =
		    js->window * 2 < WINDOW_MAX ? js->window * 2 : WINDOW_MAX;
	}
	js->window = WINDOW_MIN;
	memset(&js->element, 0, sizeof js->element);
	if (used > JSON_RECORD_MAX) { /* read whole, and too large */
		json_decref(v);
		js->state = JS_DONE;
		return JSS_TOO_LARGE;
	}
	if (v != NULL && e.text[0] != '\0') {
		/* A value cut short by a bad byte (a number before invalid
		 * UTF-8): jansson returns it and the error both. */
		json_decref(v);
		v = NULL;
	}
	if (v == NULL)
		return fail_at(js, &e, 0);
	json_literals_check(p, used, &js->inexact);
	if (!advance(js, buf, p, used)) {
		json_decref(v);
		js->state = JS_DONE;
		return JSS_ERROR;
	}
	js->state = JS_AFTER;
	*out = v;
	return JSS_RECORD;
}

/*
 * Drops a UTF-8 byte-order mark at the start of the body (as in CSV; not
 * counted in lines and columns).  False while the buffer is too short to
 * tell.
 */
static bool
bom_skipped(struct json_stream *js, struct evbuffer *buf, bool eof)
{
	unsigned char bom[4] = { 1, 1, 1, 1 };
	const char *utf16;

	if (js->bom_done)
		return true;
	if (evbuffer_copyout(buf, bom, 4) < 4 && !eof)
		return false;
	js->bom_done = true;
	if ((utf16 = feed_utf16(bom, evbuffer_get_length(buf))) != NULL) {
		snprintf(js->error, sizeof js->error,
		    "the body is UTF-16 (%s), not UTF-8: save it as UTF-8",
		    utf16);
		js->state = JS_DONE;
		return false;
	}
	if (evbuffer_get_length(buf) >= 3 &&
	    memcmp(bom, "\xef\xbb\xbf", 3) == 0)
		evbuffer_drain(buf, 3);
	return true;
}

/* Consumes the one byte c at the head and moves to state next. */
static bool
take(struct json_stream *js, struct evbuffer *buf, char c,
    enum json_stream_state next)
{
	if (!advance(js, buf, &c, 1))
		return false;
	js->state = next;
	return true;
}

enum json_stream_status
json_stream_next(
    struct json_stream *js, struct evbuffer *buf, bool eof, json_t **out)
{
	int c;

	*out = NULL;
	if (js->state == JS_START && !bom_skipped(js, buf, eof))
		return js->state == JS_DONE ? JSS_ERROR : JSS_NEED_MORE;
	for (;;) {
		if (js->state == JS_DONE)
			return JSS_ERROR;
		if ((c = skip_blanks(js, buf)) == -2) {
			js->state = JS_DONE;
			return JSS_ERROR;
		}
		if (c == -1 && !eof)
			return JSS_NEED_MORE;
		switch (js->state) {
		case JS_START:
			if (c != '[')
				return not_array(js, buf, eof);
			if (!take(js, buf, '[', JS_FIRST))
				return JSS_ERROR;
			break;
		case JS_FIRST:
			if (c == ']') {
				if (!take(js, buf, ']', JS_TAIL))
					return JSS_ERROR;
				break;
			}
			/* fall through */
		case JS_NEXT:
			if (c == -1) /* "']' expected near end of file" */
				return fail_with_prefix(
				    js, buf, "[", JSON_STREAM_FLAGS);
			return element(js, buf, eof, out);
		case JS_AFTER:
			if (c == ',' || c == ']') {
				if (!take(js, buf, (char)c,
				        c == ',' ? JS_NEXT : JS_TAIL))
					return JSS_ERROR;
				break;
			}
			if (!eof)
				return JSS_NEED_MORE;
			return fail_with_prefix(
			    js, buf, "[{}", JSON_STREAM_FLAGS);
		case JS_TAIL:
			if (c == -1) {
				js->state = JS_DONE;
				return JSS_END;
			}
			if (!eof)
				return JSS_NEED_MORE;
			return fail_with_prefix(
			    js, buf, "[]", JSON_STREAM_FLAGS);
		case JS_DONE:
			return JSS_ERROR;
		}
	}
}
