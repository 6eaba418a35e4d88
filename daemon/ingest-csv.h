/*
 * CSV feed bodies (ingest-csv.c): RFC 4180 text read into the same JSON
 * records as a JSON body, field problems collected as feed errors.
 */
#ifndef INGEST_CSV_H
#define INGEST_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "feed-validate.h"

/*
 * Parses a CSV body into records.  Returns the records, or NULL with a
 * message in err (malformed CSV: a 400).  Field problems go to errs.
 */
json_t *csv_feed_parse(const struct feed_spec *, struct evbuffer *,
    struct feed_errors *, char *err, size_t errlen);
/* The same, read as a feed mapping says (NULL: none; config.h). */
struct feed_map;
json_t *csv_feed_parse_map(const struct feed_spec *, const struct feed_map *,
    struct evbuffer *, struct feed_errors *, char *err, size_t errlen);

/*
 * The same, a slice at a time (ingest-csv.c): csv_reader_feed parses up to
 * max bytes at the head of the buffer and drains them (eof: the buffer
 * holds the rest of the body); csv_reader_next hands out each record
 * once its row has ended (timesheets: once csv_reader_finish has seen the
 * end), with bad set when its rows already had errors.  -1: malformed
 * (a 400, message in err).
 */
struct csv_reader;
struct csv_reader *csv_reader_new(
    const struct feed_spec *, struct feed_errors *);
/* Timesheets, kept whole until the body ends: at most max_records of them
 * (0: no limit); csv_reader_over says a row began one more, which was not
 * kept (a 413: the batch is over the limit). */
void csv_reader_limit(struct csv_reader *, size_t max_records);
bool csv_reader_over(const struct csv_reader *);
/* Reads the body as the feed's mapping says (config.h; before the first
 * csv_reader_feed; the reader keeps its own copy). */
void csv_reader_map(struct csv_reader *, const struct feed_map *);
int csv_reader_feed(struct csv_reader *, struct evbuffer *, size_t max,
    bool eof, char *err, size_t errlen);
int csv_reader_finish(struct csv_reader *, char *err, size_t errlen);
json_t *csv_reader_next(struct csv_reader *, bool *bad);
/* Every record not yet handed out (timesheets: all of them). */
json_t *csv_reader_records(struct csv_reader *);
void csv_reader_free(struct csv_reader *);

#endif
