/*
 * Feed mapping (docs/configuration.md, "Feed mapping"): the checks of the
 * <feed>.columns, .ignore_columns, .delimiter, .decimal_separator and
 * .date_format settings, and the date formats they allow.
 */
#ifndef FEEDMAP_H
#define FEEDMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "date.h"

bool feedmap_check_columns(const char *path, const json_t *, char *, size_t);
bool feedmap_check_ignore(const char *path, const json_t *, char *, size_t);
bool feedmap_check_delimiter(const char *, char *, size_t);
bool feedmap_check_decimal(const char *, char *, size_t);
bool feedmap_check_date_format(const char *, char *, size_t);

/* Reads s as fmt says (%d, %m, %b, %Y and %% between literal text): true
 * with *d set when s is a real date written that way. */
bool date_format_parse(const char *fmt, const char *s, struct date *d);

/* How far apart two names are: 0 when they differ only in case, blanks,
 * hyphens and underscores, else their edit distance (at most 9). */
int name_distance(const char *a, const char *b);

/* Whether a distance makes b a likely meaning of a (a misspelling). */
bool name_close(const char *a, int distance);

#endif
