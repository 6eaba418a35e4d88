/* The nesting check of a JSON body before it is parsed (ingest-json-depth.c).
 */
#ifndef INGEST_JSON_DEPTH_H
#define INGEST_JSON_DEPTH_H

#include <stdbool.h>

#include <event2/buffer.h>

/* Whether JSON text nests arrays and objects deeper than max (strings and
 * their escapes are skipped; the text need not be valid JSON). */
bool json_too_deep(struct evbuffer *, int max);

#endif
