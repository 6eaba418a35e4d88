/*
 * The number literals of one JSON record, read as written
 * (ingest-json-literal.c): jansson gives each number as a double, so a
 * literal no double holds (0.99999999999999999, 1e-400) would reach the
 * field checks as another number.
 */
#ifndef JSON_LITERAL_H
#define JSON_LITERAL_H

#include <stddef.h>

#include "feed-number.h"

/* Lists in *out the literals of the record's text (n bytes at text, JSON
 * jansson has just decoded) that a double does not hold as written, by
 * the path of their field. */
void json_literals_check(
    const char *text, size_t n, struct number_inexact *out);

#endif
