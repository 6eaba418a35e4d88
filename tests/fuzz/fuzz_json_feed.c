/*
 * libFuzzer target: a JSON feed body as POST /v1/<feed> takes it (the
 * first byte picks the feed, the second how many bytes arrive at a time):
 * the element-by-element decoder (json-stream.c, with its nesting check)
 * and the record validator, one record at a time as feed.c does.  The
 * decoder must agree with jansson decoding the whole body: the same
 * elements, or the same error message (not checked for bodies with raw
 * NUL bytes, which jansson skips in ways that depend on what it has read).
 * A body opening with a UTF-16 byte-order mark is named as such instead
 * of jansson's "unable to decode byte".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "feed-validate.h"
#include "fuzz-feeds.h"
#include "ingest-json-depth.h"
#include "ingest-json-stream.h"

/* What jansson says of the whole body: its array, or NULL and msg. */
static json_t *
whole(const char *body, size_t len, char *msg, size_t msglen)
{
	unsigned char head[4] = { 1, 1, 1, 1 };
	const char *utf16;
	json_error_t e;
	json_t *v;

	memcpy(head, body, len < 4 ? len : 4);
	if ((utf16 = feed_utf16(head, len)) != NULL) {
		snprintf(msg, msglen,
		    "the body is UTF-16 (%s), not UTF-8: save it as UTF-8",
		    utf16);
		return NULL;
	}
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
		body += 3; /* a byte-order mark, dropped as effortd does */
		len -= 3;
	}
	v = json_loadb(body, len, JSON_STREAM_FLAGS, &e);

	if (v == NULL)
		snprintf(msg, msglen, "invalid JSON at line %d, column %d: %s",
		    e.line, e.column, e.text);
	return v;
}

static void
check_one(const struct feed_spec *feed, json_t *rec, struct feed_errors *errs)
{
	json_t *one = json_array();

	json_array_append(one, rec);
	feed_validate(feed, one, errs);
	json_decref(one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const struct feed_spec *feed;
	struct evbuffer *buf, *all;
	struct feed_errors errs;
	struct json_stream js;
	const char *body;
	size_t n, piece, at = 0, i = 0;
	char msg[256];
	json_t *expect, *rec;
	bool deep; /* (or NUL bytes): the decoder runs, unchecked */

	if (len < 2)
		return 0;
	feed = fuzz_feeds[data[0] % 6];
	piece = (size_t)data[1] + 1;
	body = (const char *)data + 2;
	n = len - 2;
	all = evbuffer_new();
	evbuffer_add(all, body, n);
	deep = json_too_deep(all, 32) || memchr(body, '\0', n) != NULL;
	evbuffer_free(all);
	expect = deep ? NULL : whole(body, n, msg, sizeof msg);

	buf = evbuffer_new();
	json_stream_init(&js, 32);
	feed_errors_init(&errs, false);
	for (;;) {
		enum json_stream_status st =
		    json_stream_next(&js, buf, at >= n, &rec);
		if (st == JSS_NEED_MORE) {
			size_t k = n - at < piece ? n - at : piece;
			evbuffer_add(buf, body + at, k);
			at += k;
			continue;
		}
		if (st == JSS_RECORD) {
			if (expect != NULL &&
			    !json_equal(rec, json_array_get(expect, i)))
				abort(); /* a different element */
			i++;
			check_one(feed, rec, &errs);
			json_decref(rec);
			continue;
		}
		if (deep)
			break;
		if (st == JSS_END &&
		    (!json_is_array(expect) || json_array_size(expect) != i))
			abort(); /* ended early, or jansson refuses it */
		if (st == JSS_TOO_LARGE && n < JSON_RECORD_MAX)
			abort(); /* only an element over the limit is */
		if (st == JSS_TOO_MANY && n <= JSON_RECORD_VALUES_MAX)
			abort(); /* a value takes a byte at least */
		if (st == JSS_NOT_ARRAY &&
		    (expect == NULL || json_is_array(expect)) &&
		    n <= JSON_RECORD_VALUES_MAX)
			abort(); /* (a denser body is not decoded) */
		if (st == JSS_ERROR &&
		    (expect != NULL || strcmp(js.error, msg) != 0))
			abort(); /* another error than jansson's */
		break;
	}
	json_decref(expect);
	json_decref(errs.list);
	evbuffer_free(buf);
	return 0;
}
