/*
 * The number literals of one JSON record, read as written (see
 * ingest-json-literal.h).  The record's text is walked once more after
 * jansson has decoded it, so it is known to be valid JSON: containers,
 * strings, keys and literals need no error handling here.  The walk
 * follows the path of each value as the field checks name it ("fte",
 * "entries[2].hours"), and a number literal is read as written only when
 * it could differ from its double (more than 15 significant digits, or an
 * exponent): the common literal costs a digit count.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ingest-json-literal.h"

/* Deeper than any field: a literal there fails its record anyway (an
 * unknown field, or a value of the wrong type). */
#define MAX_NEST 16

struct walk {
	char path[NUMBER_FIELD_MAX];
	size_t len; /* the path of the value about to start */
	struct {
		bool array;
		long index;
		size_t base; /* the container's own path */
	} stack[MAX_NEST];
	int depth;
	bool expect_key;
};

/* The path base + suffix (truncated to the buffer), as the next value's. */
static void
path_set(struct walk *w, size_t base, const char *suffix, size_t n)
{
	size_t room = sizeof w->path - 1 - base;

	if (n > room)
		n = room;
	memcpy(w->path + base, suffix, n);
	w->len = base + n;
	w->path[w->len] = '\0';
}

/* The character of the four hex digits of a \\u escape at p: an ASCII
 * one as itself, any other as '?' (no field's name has it). */
static char
ascii_escape(const char *p)
{
	unsigned code = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		code = code << 4 |
		       (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return code > 0 && code < 0x80 ? (char)code : '?';
}

/* The key between the quotes at p and q, decoded as far as a field name
 * can be (an escaped ASCII letter is that letter; anything else is no
 * field's name), as the next value's path. */
static void
key_path(struct walk *w, const char *p, const char *q)
{
	char key[64];
	size_t n = 0, base = w->stack[w->depth - 1].base;
	if (base > 0)
		key[n++] = '.';
	for (; p < q && n < sizeof key; p++) {
		if (*p != '\\')
			key[n++] = *p;
		else if (p[1] == 'u') {
			key[n++] = ascii_escape(p + 2);
			p += 5;
		} else
			key[n++] =
			    *++p == '\\' || *p == '"' || *p == '/' ? *p : '?';
	}
	path_set(w, base, key, n);
}

/* A value starts: inside an array, its path is the array's [index]. */
static void
value_start(struct walk *w)
{
	char index[24];

	if (w->depth > 0 && w->stack[w->depth - 1].array) {
		int n = snprintf(
		    index, sizeof index, "[%ld]", w->stack[w->depth - 1].index);
		path_set(w, w->stack[w->depth - 1].base, index, (size_t)n);
	}
}

/* The literal from p (its end returned) checked at the walk's path. */
static const char *
literal(
    struct walk *w, const char *p, const char *end, struct number_inexact *out)
{
	const char *q = p;
	int digits = 0;
	bool exponent = false;
	long decimals;

	for (; q < end; q++) {
		if (*q >= '0' && *q <= '9')
			digits++;
		else if (*q == 'e' || *q == 'E')
			exponent = true;
		else if (*q != '.' && *q != '-' && *q != '+')
			break;
	}
	if ((digits > 15 || exponent) &&
	    !number_literal_exact(p, (size_t)(q - p), &decimals) &&
	    out->count < NUMBER_INEXACT_MAX) {
		memcpy(out->at[out->count].field, w->path, w->len + 1);
		out->at[out->count++].decimals = decimals;
	}
	return q;
}

/* The closing quote of the string opening at p: the first quote not
 * escaped (after an even run of backslashes). */
static const char *
string_end(const char *p, const char *end)
{
	const char *q = p + 1, *b;

	while ((q = memchr(q, '"', (size_t)(end - q))) != NULL) {
		for (b = q; b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q;
		q++;
	}
	return end;
}

void
json_literals_check(const char *text, size_t n, struct number_inexact *out)
{
	const char *p = text, *end = text + n, *q;
	struct walk w = { .len = 0 };

	out->count = 0;
	while (p < end) {
		switch (*p) {
		case '{':
		case '[':
			if (w.depth == MAX_NEST)
				return;
			value_start(&w);
			w.stack[w.depth].array = *p == '[';
			w.stack[w.depth].index = 0;
			w.stack[w.depth++].base = w.len;
			w.expect_key = *p++ == '{';
			break;
		case '}':
		case ']':
			w.depth--;
			p++;
			break;
		case ',':
			if (w.depth > 0 && w.stack[w.depth - 1].array)
				w.stack[w.depth - 1].index++;
			else
				w.expect_key = true;
			p++;
			break;
		case ':':
			w.expect_key = false;
			p++;
			break;
		case '"':
			q = string_end(p, end);
			if (w.expect_key && w.depth > 0)
				key_path(&w, p + 1, q);
			p = q + 1;
			break;
		default:
			if (*p == '-' || (*p >= '0' && *p <= '9')) {
				value_start(&w);
				p = literal(&w, p, end, out);
			} else
				p++; /* blanks, true, false, null */
		}
	}
}
