/*
 * A JSON array of records decoded one element at a time from an evbuffer
 * (ingest-json-stream.c), so that a feed body is parsed, checked and sent in
 * slices and its bytes are drained as they are consumed.  Each element
 * goes through jansson on its own (JSON_DISABLE_EOF_CHECK, the consumed
 * position from json_error_t); the separators between elements are read
 * here.  Errors read exactly as jansson's for the whole body would: the
 * same text, with the body's line and column.
 */
#ifndef JSON_STREAM_H
#define JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "feed-number.h"

/* How jansson decodes a feed body, here and wherever a whole body is
 * compared with it (the unit test, the fuzz target).
 * JSON_ALLOW_NUL: a \u0000 escape is decoded, and refused by the field
 * checks with the record and field (feed-validate.c).
 * JSON_DECODE_INT_AS_REAL: every number is a double, as a CSV cell's is,
 * so that an integer past 2^63 (valid JSON) is a 422 "out of range" with
 * its record and field, not a 400 "too big integer". */
#define JSON_STREAM_FLAGS                                                      \
	(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)

/* JSON's whitespace (RFC 8259: space, tab, line feed, carriage return). */
static inline bool
json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The nesting pre-scan (limits.max_json_depth), a few bytes at a time. */
struct json_depth {
	int depth;
	bool in_string, escaped;
};
/* Scans n more bytes; false once the text nests deeper than max. */
bool json_depth_scan(struct json_depth *, const void *, size_t n, int max);

/* One element's pre-scan, from its first byte (the text need not be
 * valid JSON): where it ends and how many values it holds, known before
 * jansson decodes it. */
struct json_element {
	size_t scanned; /* bytes from the element's start scanned */
	bool ended;     /* its end is among them */
	long values;    /* its arrays and objects, and the commas between
	                 * their items: about the values it holds */
	int depth;
	bool in_string, escaped;
	bool scalar; /* a number, true, false or null began at depth 0 */
};
/* Scans text[el->scanned, n) until the element's end. */
void json_element_scan(struct json_element *el, const char *text, size_t n);

enum json_stream_state {
	JS_START, /* before the opening '[' */
	JS_FIRST, /* after '[': an element or ']' */
	JS_NEXT,  /* after ',': an element */
	JS_AFTER, /* after an element: ',' or ']' */
	JS_TAIL,  /* after ']': only blanks may follow */
	JS_DONE,
};

/* The largest element (one record) decoded: jansson decodes one whole, on
 * the event loop, so a record of megabytes (4 million empty entries, a
 * name of 40 MB) would hold the loop for seconds and the daemon's memory
 * by the GB.  A real record is a few KB.  Also the largest body that is
 * not an array decoded whole to tell a 400 from a 422. */
#define JSON_RECORD_MAX (1 << 20)
/* The most values one record may hold: jansson builds each, so 1 MiB of
 * empty objects ("{},{},...") held the loop for half a second.  A
 * timesheet of TIMESHEET_ENTRIES_MAX entries of three fields holds about
 * 4,000; a record of more is refused before it is decoded. */
#define JSON_RECORD_VALUES_MAX 16384

enum json_stream_status {
	JSS_RECORD,    /* *out: the next element (a new reference) */
	JSS_NEED_MORE, /* the buffer ends too soon; only when !eof */
	JSS_END,       /* the array ended and so did the body */
	JSS_ERROR,     /* error: the 400's message */
	JSS_NOT_ARRAY, /* valid JSON, but not an array (a 422) */
	JSS_TOO_LARGE, /* the next element is over JSON_RECORD_MAX (a 413) */
	JSS_TOO_MANY, /* ... holds over JSON_RECORD_VALUES_MAX values (a 413) */
};

struct json_stream {
	enum json_stream_state state;
	int line, column; /* jansson's count at the buffer's head */
	size_t scanned;   /* bytes at the head already depth-checked */
	size_t window;    /* bytes to offer jansson for the next element */
	bool bom_done;    /* the start was checked for a byte-order mark */
	struct json_depth depth;
	struct json_element element; /* the element at the head */
	int max_depth;
	char error[256];
	/* The last element's literals no double holds as written
	 * (ingest-json-literal.c), for its field checks. */
	struct number_inexact inexact;
};

void json_stream_init(struct json_stream *, int max_depth);
/* The next element of buf (draining what it used); eof: buf holds all
 * that is left of the body. */
enum json_stream_status json_stream_next(
    struct json_stream *, struct evbuffer *, bool eof, json_t **out);

#endif
