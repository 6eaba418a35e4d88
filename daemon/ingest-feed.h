/*
 * Feeds: the records HR and payroll systems push (people, grants,
 * assignments, charges, delegations, timesheets).  Each feed is described
 * by a table of fields (feed-specs.c); one generic validator checks types,
 * bounds and enumerations, and a per-feed function the cross-field rules.
 * Bodies arrive as JSON arrays (json-stream.c) or CSV (csvfeed.c) and
 * become the same JSON records, which travel to PostgreSQL one COPY line
 * each (feed.c).
 */
#ifndef FEED_H
#define FEED_H

#include <stdbool.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "db-pool.h"
#include "db-statements.h"

enum field_type {
	FT_STRING,
	FT_DATE,      /* YYYY-MM-DD */
	FT_MONTH,     /* YYYY-MM */
	FT_TIMESTAMP, /* ISO-8601 with offset or Z */
	FT_NUMBER,
	FT_ENUM,
};

#define F_REQUIRED 0x1 /* must be present and not null */
#define F_ENTRY    0x2 /* timesheets: a field of an entry, not the record */
#define F_HOURS    0x4 /* numbers: at most two decimals */

/* RULES.md, second edition ("Stored exactly"; email for sendmail). */
#define F_FRACTION 0x08 /* numbers: at most six decimals */
#define F_ABOVE    0x10 /* numbers: more than min, not equal to it */
#define F_EMAIL    0x20 /* strings: an address (one @, no blanks) */

/* The longest free text a feed field (name, title, reason) may hold, in
 * bytes; a manager's reject reason has the same limit. */
#define FEED_TEXT_MAX 1000

struct field_spec {
	const char *name;
	enum field_type type;
	unsigned flags;
	const char *const *values; /* FT_ENUM: NULL-terminated */
	double min, max;           /* FT_NUMBER bounds; FT_STRING min and max
	                              length in bytes */
};

struct feed_errors;

struct feed_spec {
	const char *name; /* "people": the path /v1/people */
	enum stmt_id stmt;
	const struct field_spec *fields;
	bool has_entries; /* timesheets */
	/* Cross-field checks of one record, after the field checks passed. */
	void (*check)(json_t *rec, int index, struct feed_errors *);
};

extern const struct feed_spec feed_people, feed_grants, feed_assignments,
    feed_charges, feed_delegations, feed_timesheets;
/* All six, NULL-terminated. */
extern const struct feed_spec *const feed_specs[];

/* Error collection; rendered with "index" (JSON) or "line" (CSV). */
struct feed_errors {
	json_t *list;    /* array of {index|line, field, message} */
	json_t *records; /* CSV: records carrying "_line" for lookups */
	bool csv;
	int count;
};

void feed_errors_init(struct feed_errors *, bool csv);
void feed_error(struct feed_errors *, int index, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void feed_error_line(struct feed_errors *, long line, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* How a body starting with head (len bytes in all) is UTF-16: "little-
 * endian, with a byte-order mark" and the like, or NULL when it is not. */
const char *feed_utf16(const unsigned char head[4], size_t len);

/* Checks every record; returns the number of errors added. */
int feed_validate(
    const struct feed_spec *, json_t *records, struct feed_errors *);

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
 * The same, a slice at a time (csvfeed.c): csv_reader_feed parses up to
 * max bytes at the head of the buffer and drains them (eof: the buffer
 * holds the rest of the body); csv_reader_next hands out each record
 * once its row has ended (timesheets: once csv_reader_finish has seen the
 * end), with bad set when its rows already had errors.  -1: malformed
 * (a 400, message in err).
 */
struct csv_reader;
struct csv_reader *csv_reader_new(
    const struct feed_spec *, struct feed_errors *);
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

const struct field_spec *feed_field(const struct feed_spec *, const char *);
/* The field a misspelt or wrongly cased name probably means, or NULL. */
const struct field_spec *feed_field_guess(
    const struct feed_spec *, const char *);

/* The feed whose name is name ("people"), or NULL. */
const struct feed_spec *feed_by_name(const char *);

/* Whether JSON text nests arrays and objects deeper than max (strings and
 * their escapes are skipped; the text need not be valid JSON). */
bool json_too_deep(struct evbuffer *, int max);

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
