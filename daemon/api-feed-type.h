/*
 * The Content-Type a feed is sent with (api-feed-type.c): application/json or
 * text/csv, each with an optional "; charset=utf-8" in any case.
 */
#ifndef FEEDTYPE_H
#define FEEDTYPE_H

#include <stdbool.h>

#include "request.h"

/* Sets *csv from the request's Content-Type; answers 415 (naming the type
 * received and the accepted ones) and returns false for any other. */
bool feed_content_type(struct request *, bool *csv);

#endif
