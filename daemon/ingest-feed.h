/*
 * The ingest pipeline (ingest-feed.c): bodies arrive as JSON arrays
 * (ingest-json-stream.c) or CSV (ingest-csv.c), are checked record by
 * record (feed-validate.h) and travel to PostgreSQL one COPY line each.
 */
#ifndef INGEST_FEED_H
#define INGEST_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "db-pool.h"
#include "db-statements.h"
#include "feed-specs.h"

/* The feed whose name is name ("people"), or NULL. */
const struct feed_spec *feed_by_name(const char *);

/*
 * The ingest pipeline, shared by POST /v1/<feed> and the spool folder:
 * parse (JSON or CSV) and validate one record at a time, a slice of the
 * body per turn of the event loop, streaming the clean records into a
 * staging table of the feed's one transaction; then store the batch with
 * one statement on the staged records.  stmt is called with
 * ($1 batch, $2 token_id, $3 check-only, extra...); its document is the
 * ingest functions' ({"accepted":…} or {"errors":[…]}).
 */
struct feed_outcome {
	int status;          /* 200, 400, 413, 422, 500 or 503 */
	const char *message; /* all but 200 */
	json_t *errors;      /* 422: sorted [{index|line, field, message}] */
	json_t *doc;         /* 200: the statement's document */
	const struct db_result *db; /* 500/503: the database's answer */
};
typedef void (*feed_done_cb)(const struct feed_outcome *, void *arg);

struct feed_source {
	const struct feed_spec *feed;
	struct evbuffer *body; /* consumed, and drained as it is */
	bool csv;
	const char *token_id; /* NULL: no token (the spool folder) */
	enum stmt_id stmt;
	int nextra;
	/* $4…: read when the batch is stored, after the body's end; the
	 * caller keeps them alive until done is called. */
	const char *const *extra;
	/* NULL: body holds the whole body.  Otherwise called when more is
	 * wanted: adds up to about 1 MiB to body; 1 added, 0 the end, -1 an
	 * error (message in err: a 413). */
	int (*read_more)(
	    void *arg, struct evbuffer *body, char *err, size_t errlen);
	/* NULL, or whether the client has gone away (checked between
	 * slices: the batch is then abandoned and nothing is stored). */
	bool (*gone)(void *arg);
	/* POST /v1/<feed>?preview=true: merged, then the findings diff
	 * (ingest_preview) and ROLLBACK instead of COMMIT; doc is the diff. */
	bool preview;
};

void feed_ingest(const struct feed_source *, feed_done_cb, void *arg);

#endif
