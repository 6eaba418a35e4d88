/*
 * The feed validator (feed-validate.c): field checks against a feed's
 * table, the errors of a batch, and the field a header or key names.
 */
#ifndef FEED_VALIDATE_H
#define FEED_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "feed-number.h"
#include "feed-specs.h"

/* Error collection; rendered with "index" (JSON) or "line" (CSV). */
struct feed_errors {
	json_t *list;    /* array of {index|line, field, message} */
	json_t *records; /* CSV: records carrying "_line" for lookups */
	bool csv;
	int count;
	/* JSON: the record's literals no double holds as written, whose
	 * fields are judged by the decimals sent (NULL: none known). */
	const struct number_inexact *inexact;
};

void feed_errors_init(struct feed_errors *, bool csv);
void feed_error(struct feed_errors *, int index, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void feed_error_line(struct feed_errors *, long line, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Whether the n bytes at s are UTF-8 as the database takes it (no stray
 * or truncated sequence, overlong form, surrogate or code point above
 * U+10FFFF): also for query values and path segments, which PostgreSQL
 * would otherwise refuse as a database error. */
bool feed_utf8_valid(const char *s, size_t n);

/* Why the present, non-null value v is not one field f takes (its type,
 * text as RULES.md stores it, length, range, decimals, form), written into
 * buf when it quotes v; NULL when it is fine.  The feeds' check of every
 * field, and of a manager's reject reason. */
const char *feed_field_problem(
    const struct field_spec *f, json_t *v, char *buf, size_t len);

/* Why field f refuses a number sent as a literal no double holds as
 * written (read as n, with `decimals` as written): its decimals, else
 * what feed_field_problem says of n, else its significant digits. */
const char *feed_inexact_problem(
    const struct field_spec *f, double n, long decimals, char *buf, size_t len);

/* How a body starting with head (len bytes in all) is UTF-16: "little-
 * endian, with a byte-order mark" and the like, or NULL when it is not. */
const char *feed_utf16(const unsigned char head[4], size_t len);

/* Checks every record; returns the number of errors added. */
int feed_validate(
    const struct feed_spec *, json_t *records, struct feed_errors *);

const struct field_spec *feed_field(const struct feed_spec *, const char *);
/* The field a misspelt or wrongly cased name probably means, or NULL:
 * of a feed, or of a table of fields ended by one without a name. */
const struct field_spec *feed_field_guess(
    const struct feed_spec *, const char *);
const struct field_spec *field_guess(const struct field_spec *, const char *);

#endif
