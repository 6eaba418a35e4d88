/*
 * Unit tests of the element-by-element JSON array decoder
 * (daemon/ingest-json-stream.c), against jansson decoding the whole body: the
 * same elements, or the same error text at the same line and column, for
 * bodies given whole, split into chains anywhere, fed a byte at a time
 * (eof only at the end), and with elements larger than the first window;
 * raw NUL bytes refused at their place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ingest-json-stream.h"

#define MAX_OUT (2 << 20) /* an element of 1 MiB and more */

static char want[MAX_OUT], got[MAX_OUT];

/* What jansson makes of the whole body with the stream's flags (every
 * number a double), as one line of text per element
 * ("E:" + compact JSON), then "END", or one "ERR:" line. */
static void
whole(const char *body, size_t len, char *out)
{
	json_error_t e;
	json_t *v, *x;
	size_t i;

	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
		body += 3; /* a byte-order mark, dropped as effortd does */
		len -= 3;
	}
	v = json_loadb(body, len, JSON_STREAM_FLAGS, &e);

	out[0] = '\0';
	if (v == NULL) {
		snprintf(out, MAX_OUT,
		    "ERR:invalid JSON at line %d, column %d: %s\n", e.line,
		    e.column, e.text);
		return;
	}
	if (!json_is_array(v)) {
		snprintf(out, MAX_OUT, "NOT_ARRAY\n");
		json_decref(v);
		return;
	}
	json_array_foreach(v, i, x)
	{
		char *s = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
		strncat(out, "E:", MAX_OUT - strlen(out) - 1);
		strncat(out, s, MAX_OUT - strlen(out) - 1);
		strncat(out, "\n", MAX_OUT - strlen(out) - 1);
		free(s);
	}
	strncat(out, "END\n", MAX_OUT - strlen(out) - 1);
	json_decref(v);
}

/* The same through json_stream: the body added split every `split`
 * bytes; with trickle, one split at a time, eof only once all is in. */
static void
streamed(const char *body, size_t len, size_t split, bool trickle, char *out)
{
	struct evbuffer *buf = evbuffer_new();
	struct json_stream js;
	size_t at = 0;
	json_t *v;

	json_stream_init(&js, 32);
	out[0] = '\0';
	if (!trickle)
		for (; at < len; at += split)
			evbuffer_add(buf, body + at,
			    len - at < split ? len - at : split);
	for (;;) {
		bool eof = at >= len;
		enum json_stream_status st =
		    json_stream_next(&js, buf, eof, &v);
		if (st == JSS_NEED_MORE) {
			assert_false(eof);
			evbuffer_add(buf, body + at,
			    len - at < split ? len - at : split);
			at += split;
			continue;
		}
		if (st == JSS_RECORD) {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			strncat(out, "E:", MAX_OUT - strlen(out) - 1);
			strncat(out, s, MAX_OUT - strlen(out) - 1);
			strncat(out, "\n", MAX_OUT - strlen(out) - 1);
			free(s);
			json_decref(v);
			continue;
		}
		if (st == JSS_END)
			strncat(out, "END\n", MAX_OUT - strlen(out) - 1);
		else if (st == JSS_NOT_ARRAY)
			strncat(out, "NOT_ARRAY\n", MAX_OUT - strlen(out) - 1);
		else if (st == JSS_TOO_LARGE)
			strncat(out, "TOO_LARGE\n", MAX_OUT - strlen(out) - 1);
		else if (st == JSS_TOO_MANY)
			strncat(out, "TOO_MANY\n", MAX_OUT - strlen(out) - 1);
		else {
			strncat(out, "ERR:", MAX_OUT - strlen(out) - 1);
			strncat(out, js.error, MAX_OUT - strlen(out) - 1);
			strncat(out, "\n", MAX_OUT - strlen(out) - 1);
		}
		break;
	}
	evbuffer_free(buf);
}

static void
same_as_whole(const char *body, size_t len)
{
	size_t splits[] = { 1, 2, 3, 7, 64, 1 << 20 };

	whole(body, len, want);
	for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
		for (int trickle = 0; trickle < 2; trickle++) {
			streamed(body, len, splits[i], trickle, got);
			/* Elements before an error are handed out first. */
			const char *tail = got;
			if (strncmp(want, "ERR:", 4) == 0 &&
			    strstr(got, "ERR:") != NULL)
				tail = strstr(got, "ERR:");
			if (strcmp(want, tail) != 0)
				fail_msg("body %.60s (split %zu%s):\nwhole:\n%s"
				         "stream:\n%s",
				    body, splits[i],
				    trickle ? ", trickled" : "", want, got);
		}
	}
}

static const char *const bodies[] = {
	"[]",
	" [ ] ",
	"[{\"a\":1}]",
	"[{\"a\":1},{\"b\":[1,2,{\"c\":null}]}]",
	"[\n  {\"person_id\": \"p1\", \"fte\": 0.5},\n  {\"person_id\": \"p2\"}\n]\n",
	"[1, 22, 333, -4.5e3, true, false, null, \"s\"]",
	"[\"caf\xc3\xa9\", \"\xe2\x82\xac\", {\"k\": \"\\u00e9\\n\\\\\"}]",
	/* errors */
	"",
	"   ",
	"{}",
	"{\"a\":1}",
	"42",
	"[",
	"[ \n ",
	"[1,",
	"[1,]",
	"[1 2]",
	"[{\"a\":1} {\"b\":2}]",
	"[{\"a\":1}\n  x]",
	"[{\"a\":1},\n{\"a\":tru}]",
	"[{\"a\":1,\"a\":2}]",
	"[\"caf\xc3\xa9\", \"\xc3\xa9\xc3\xa9\" x]",
	"[\"\xff\"]",
	"[\"abc",
	"[{\"a\":1}",
	"[]x",
	"[] \n\n  [1]",
	"[1]]",
	"[1],",
	"[\n\n\n{\"a\":\n1,\n\"b\"}]",
	"[{\"a\":1},5x]",
	"[{},05]",
	"[\"a\\q\"]",
	"[\"tab\there\"]",
	"[1.]",
	"[{\"a\":1},\"\xe2\x82\"]",
	"\xef\xbb\xbf[1,2]",
	"\xef\xbb\xbf  [1,\n x]",
	"\xef\xbb\xbf\xef\xbb\xbf[1]",
	"\xef\xbb",
	"[\"a\\u0000b\"]",
};

static void
test_bodies(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
		same_as_whole(bodies[i], strlen(bodies[i]));
}

/* Raw NUL bytes are refused where they are (jansson would skip one after
 * a number and refuse one elsewhere). */
static void
test_nul_bytes(void **state)
{
	static const char after_number[] = "[{\"a\":0.75\0,\"b\":1}]";
	static const char between[] = "[1,\n  2\n,\0 3]";
	static const char tail[] = "[1]\0";

	(void)state;
	streamed(after_number, sizeof after_number - 1, 3, false, got);
	assert_string_equal(
	    got, "ERR:invalid JSON at line 1, column 11: NUL byte\n");
	streamed(between, sizeof between - 1, 1, true, got);
	/* (Elements in the window before it may or may not come first.) */
	assert_string_equal(strstr(got, "ERR:"),
	    "ERR:invalid JSON at line 3, column 2: NUL byte\n");
	streamed(tail, sizeof tail - 1, 64, false, got);
	assert_string_equal(
	    got, "ERR:invalid JSON at line 1, column 4: NUL byte\n");
}

/* Elements bigger than the first window (64 KiB), and an error far in. */
static void
test_large_elements(void **state)
{
	size_t n = 300 * 1024;
	char *body = malloc(n + 64), *p = body;

	(void)state;
	p += sprintf(p, "[1,\"");
	memset(p, 'x', n);
	p += n;
	p += sprintf(p, "\",{\"a\":2}]");
	whole(body, (size_t)(p - body), want);
	streamed(body, (size_t)(p - body), 4096, false, got);
	assert_true(strcmp(want, got) == 0);
	streamed(body, (size_t)(p - body), 1000, true, got);
	assert_true(strcmp(want, got) == 0);
	/* An error after it keeps its column. */
	sprintf(p - 2, "x}]");
	whole(body, (size_t)(p - body + 1), want);
	streamed(body, (size_t)(p - body + 1), 4096, false, got);
	assert_string_equal(strstr(want, "ERR:"), strstr(got, "ERR:"));
	free(body);
}

static bool not_array_before_end(void);

/* An element over JSON_RECORD_MAX (1 MiB) is not decoded, whole or
 * trickled, last in the body or not (it would hold the loop and the
 * memory); one of exactly 1 MiB is; a body of over 1 MiB that is not an
 * array is not decoded either. */
static void
test_too_large(void **state)
{
	size_t n = JSON_RECORD_MAX + 16;
	char *body = malloc(n + 64), *p;

	(void)state;
	for (int size = JSON_RECORD_MAX - 1; size <= JSON_RECORD_MAX + 1;
	     size++)
		for (int last = 0; last <= 1; last++) {
			/* an element of size bytes (a string) */
			p = body;
			p += sprintf(p, "[1,\"");
			memset(p, 'x', (size_t)size - 2);
			p += size - 2;
			p += sprintf(p, last ? "\"]" : "\",2]");
			for (int trickle = 0; trickle <= 1; trickle++) {
				streamed(body, (size_t)(p - body),
				    trickle ? 4096 : 65536, trickle, got);
				if (size > JSON_RECORD_MAX)
					assert_string_equal(
					    got, "E:1.0\nTOO_LARGE\n");
				else
					assert_true(
					    strncmp(got, "E:1.0\nE:\"xxx",
					        12) == 0 &&
					    strstr(
					        got, last ? "\"\nEND\n"
					                  : "\nE:2.0\nEND\n"));
			}
		}
	p = body;
	p += sprintf(p, "{\"a\":\"");
	memset(p, 'x', n);
	p += n;
	p += sprintf(p, "\"}");
	streamed(body, (size_t)(p - body), 65536, false, got);
	assert_string_equal(got, "NOT_ARRAY\n");
	streamed(body, (size_t)(p - body), 65536, true, got);
	assert_string_equal(got, "NOT_ARRAY\n");
	assert_true(not_array_before_end());
	free(body);
}

/* Whether a body that is not an array is refused as soon as more than
 * JSON_RECORD_MAX bytes of it are in, before its end (a spooled file of
 * limits.max_body is not read whole for its 422). */
static bool
not_array_before_end(void)
{
	struct evbuffer *buf = evbuffer_new();
	struct json_stream js;
	enum json_stream_status st = JSS_NEED_MORE;
	char piece[4096];
	size_t at = 0;
	json_t *v;

	json_stream_init(&js, 32);
	memset(piece, 'x', sizeof piece);
	evbuffer_add(buf, "{\"a\":\"", 6);
	while (st == JSS_NEED_MORE && at < 2 * JSON_RECORD_MAX) {
		evbuffer_add(buf, piece, sizeof piece);
		at += sizeof piece;
		st = json_stream_next(&js, buf, false, &v);
	}
	evbuffer_free(buf);
	return st == JSS_NOT_ARRAY && at <= JSON_RECORD_MAX + sizeof piece;
}

/* An element of more than JSON_RECORD_VALUES_MAX values is not decoded
 * (jansson would build each on the event loop), whole or trickled, last
 * or not; one of exactly that many is, and commas in strings do not
 * count.  A body that is not an array and as dense is not decoded either. */
static void
test_too_many(void **state)
{
	size_t n = 3 * JSON_RECORD_VALUES_MAX;
	char *body = malloc(n + 64), *p;

	(void)state;
	for (int k = JSON_RECORD_VALUES_MAX; k <= JSON_RECORD_VALUES_MAX + 1;
	     k++)
		for (int last = 0; last <= 1; last++) {
			/* [1,[0,0,...]] : an element of k values */
			p = body;
			p += sprintf(p, "[1,[\",,,\"");
			for (int i = 1; i < k; i++)
				p += sprintf(p, ",0");
			p += sprintf(p, last ? "]]" : "],2]");
			for (int trickle = 0; trickle <= 1; trickle++) {
				streamed(body, (size_t)(p - body),
				    trickle ? 4096 : 65536, trickle, got);
				if (k > JSON_RECORD_VALUES_MAX)
					assert_string_equal(
					    got, "E:1.0\nTOO_MANY\n");
				else
					assert_true(
					    strncmp(got,
					        "E:1.0\nE:[\",,,\",0.0,",
					        19) == 0 &&
					    strstr(
					        got, last ? "]\nEND\n"
					                  : "]\nE:2.0\nEND\n"));
			}
		}
	/* A scalar ends at the space after it: "[1 [0,0,...]]" is a syntax
	 * error (400), not one record of k values (413); so is "[true{...". */
	for (int lit = 0; lit <= 1; lit++) {
		p = body;
		p += sprintf(p, lit ? "[true\t{\"a\":[0" : "[1 [0");
		for (int i = 0; i < JSON_RECORD_VALUES_MAX + 1; i++)
			p += sprintf(p, ",0");
		p += sprintf(p, lit ? "]}]" : "]]");
		for (int trickle = 0; trickle <= 1; trickle++) {
			streamed(body, (size_t)(p - body),
			    trickle ? 4096 : 65536, trickle, got);
			assert_true(
			    strncmp(got, lit ? "E:true\nERR:" : "E:1.0\nERR:",
			        lit ? 11 : 10) == 0);
		}
	}
	p = body;
	p += sprintf(p, "{\"a\":[0");
	for (int i = 0; i < JSON_RECORD_VALUES_MAX; i++)
		p += sprintf(p, ",0");
	p += sprintf(p, "]}");
	streamed(body, (size_t)(p - body), 65536, false, got);
	assert_string_equal(got, "NOT_ARRAY\n");
	free(body);
}

/* The nesting limit: 32 levels counting the array itself. */
static void
test_depth(void **state)
{
	char body[256];
	int i, n = 0;

	(void)state;
	n += sprintf(body + n, "[1,");
	for (i = 0; i < 32; i++)
		body[n++] = '[';
	for (i = 0; i < 32; i++)
		body[n++] = ']';
	n += sprintf(body + n, "]");
	streamed(body, (size_t)n, 5, false, got);
	/* (The window is checked before any element in it is decoded.) */
	assert_non_null(strstr(got, "ERR:JSON nested deeper than 32 levels\n"));
	/* 31 inside the array is fine, and brackets in strings do not count. */
	n = sprintf(body, "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\",");
	for (i = 0; i < 31; i++)
		body[n++] = '[';
	for (i = 0; i < 31; i++)
		body[n++] = ']';
	n += sprintf(body + n, "]");
	streamed(body, (size_t)n, 3, true, got);
	assert_non_null(strstr(got, "END\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_large_elements),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
