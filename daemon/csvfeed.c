/*
 * CSV feed bodies (RFC 4180 through libcsv: quoted fields, embedded
 * newlines, CRLF; a UTF-8 byte-order mark is dropped).  The body is fed to
 * the parser straight from the request's buffer, one physical line at a
 * time, so that each row knows the line it started on, a slice of bytes
 * per call (csv_reader_feed drains what it parsed).  Rows become the same
 * JSON records a JSON body gives, handed out one by one as each row ends;
 * timesheet rows sharing person_id, period_start and period_end become
 * one timesheet with several entries, so timesheets (whose rows may group
 * with any earlier row) are handed out only once the body has ended.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "feed.h"
#include "xmalloc.h"

struct csv_reader {
	const struct feed_spec *feed;
	struct feed_errors *errs;
	struct csv_parser parser;
	json_t *records;    /* read and not yet handed out (timesheets: all) */
	size_t next;        /* records[next] is handed out next */
	size_t row_record;  /* the record the last data row went to */
	unsigned char *bad; /* per record: its rows had errors */
	size_t bad_cap;
	bool started, finished;
	json_t *groups; /* timesheets: "person|start|end" -> index */
	char **header;
	size_t ncols;
	char **row;   /* fields of the row being read */
	size_t *lens; /* their lengths: a cell may hold NUL bytes */
	size_t nfields, cap;
	long line;     /* physical line being fed */
	long row_line; /* first line of the current row */
	bool in_row;
	bool header_done;
};

static void
on_field(void *s, size_t len, void *arg)
{
	struct csv_reader *cr = arg;

	if (cr->nfields == cr->cap) {
		cr->cap = cr->cap ? cr->cap * 2 : 16;
		cr->row = xreallocarray(cr->row, cr->cap, sizeof *cr->row);
		cr->lens = xreallocarray(cr->lens, cr->cap, sizeof *cr->lens);
	}
	/* Kept byte for byte (NULs, bytes that are not UTF-8): the field
	 * checks refuse them with the line and the field (feed-validate.c). */
	if (s == NULL)
		len = 0;
	cr->row[cr->nfields] = xmalloc(len + 1);
	memcpy(cr->row[cr->nfields], s ? s : "", len);
	cr->row[cr->nfields][len] = '\0';
	cr->lens[cr->nfields++] = len;
}

/* A CSV cell as a typed JSON value for field f; NULL for an empty cell. */
static json_t *
cell_value(struct csv_reader *cr, const struct field_spec *f, const char *s,
    size_t len)
{
	char *end;
	double d;

	if (len == 0)
		return NULL;
	if (f == NULL) /* an unknown column (refused): no text to check */
		return json_stringn(s, len);
	if (f->type != FT_NUMBER)
		return json_stringn_nocheck(s, len);
	d = strtod(s, &end);
	if (end == s || end != s + len || !isfinite(d)) {
		feed_error_line(cr->errs, cr->row_line, f->name,
		    "must be a number, not \"%.40s\"", s);
		return NULL;
	}
	return json_real(d);
}

/* Adds a timesheet row's record fields to the group's record, or checks
 * that they agree with the first row of the group. */
static json_t *
timesheet_record(struct csv_reader *cr, json_t *rec)
{
	char *key;
	json_t *idx, *first;

	xasprintf(&key, "%s\x1f%s\x1f%s",
	    json_string_value(json_object_get(rec, "person_id")) ?: "",
	    json_string_value(json_object_get(rec, "period_start")) ?: "",
	    json_string_value(json_object_get(rec, "period_end")) ?: "");
	idx = json_object_get(cr->groups, key);
	if (idx == NULL) {
		cr->row_record = json_array_size(cr->records);
		json_object_set_new(cr->groups, key,
		    json_integer((json_int_t)json_array_size(cr->records)));
		json_object_set_new(rec, "entries", json_array());
		json_array_append(cr->records, rec);
		free(key);
		return rec;
	}
	free(key);
	cr->row_record = (size_t)json_integer_value(idx);
	first = json_array_get(cr->records, cr->row_record);
	for (const struct field_spec *f = cr->feed->fields; f->name; f++) {
		if ((f->flags & F_ENTRY) ||
		    json_equal(json_object_get(rec, f->name),
		        json_object_get(first, f->name)) ||
		    (json_object_get(rec, f->name) == NULL &&
		        json_object_get(first, f->name) == NULL))
			continue;
		feed_error_line(cr->errs, cr->row_line, f->name,
		    "differs from line "
		    "%lld of the same timesheet",
		    (long long)json_integer_value(
		        json_object_get(first, "_line")));
	}
	return first;
}

/* Notes that record i (an index into records) has rows with errors. */
static void
mark_bad(struct csv_reader *cr, size_t i)
{
	if (i >= cr->bad_cap) {
		size_t cap = cr->bad_cap ? cr->bad_cap : 256;
		while (cap <= i)
			cap *= 2;
		cr->bad = xreallocarray(cr->bad, cap, 1);
		memset(cr->bad + cr->bad_cap, 0, cap - cr->bad_cap);
		cr->bad_cap = cap;
	}
	cr->bad[i] = 1;
}

/* One data row: a record, or for timesheets an entry of a record. */
static void
data_row(struct csv_reader *cr)
{
	json_t *rec = json_object(), *entry = json_object(), *v, *ts = rec;
	int errors = cr->errs->count;

	for (size_t i = 0; i < cr->ncols; i++) {
		const struct field_spec *f =
		    feed_field(cr->feed, cr->header[i]);
		if ((v = cell_value(cr, f, cr->row[i], cr->lens[i])) == NULL)
			continue;
		if (f != NULL && (f->flags & F_ENTRY))
			json_object_set_new(entry, cr->header[i], v);
		else
			json_object_set_new(rec, cr->header[i], v);
	}
	json_object_set_new(rec, "_line", json_integer(cr->row_line));
	if (!cr->feed->has_entries) {
		cr->row_record = json_array_size(cr->records);
		json_array_append(cr->records, rec);
	} else {
		ts = timesheet_record(cr, rec);
		json_object_set_new(entry, "_line", json_integer(cr->row_line));
		json_array_append(json_object_get(ts, "entries"), entry);
	}
	if (cr->errs->count != errors)
		mark_bad(cr, cr->row_record);
	json_decref(rec);
	json_decref(entry);
}

static void
header_row(struct csv_reader *cr)
{
	cr->header = cr->row;
	cr->ncols = cr->nfields;
	cr->row = NULL;
	free(cr->lens);
	cr->lens = NULL;
	cr->nfields = cr->cap = 0;
	cr->header_done = true;
	for (size_t i = 0; i < cr->ncols; i++) {
		if (feed_field(cr->feed, cr->header[i]) == NULL)
			feed_error_line(cr->errs, cr->row_line, cr->header[i],
			    "unknown column");
		for (size_t j = 0; j < i; j++)
			if (strcmp(cr->header[i], cr->header[j]) == 0)
				feed_error_line(cr->errs, cr->row_line,
				    cr->header[i], "column appears twice");
	}
}

static void
on_row(int c, void *arg)
{
	struct csv_reader *cr = arg;

	(void)c;
	if (!cr->header_done)
		header_row(cr);
	else if (cr->nfields != cr->ncols)
		feed_error_line(cr->errs, cr->row_line, "",
		    "expected %zu fields "
		    "as in the header, found %zu",
		    cr->ncols, cr->nfields);
	else
		data_row(cr);
	for (size_t i = 0; i < cr->nfields; i++)
		free(cr->row[i]);
	cr->nfields = 0;
	cr->in_row = false;
}

/* Whether a piece of a line holds more than the blanks libcsv skips. */
static bool
has_content(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' && s[i] != '\t')
			return true;
	return false;
}

/* Feeds bytes of one physical line (up to and including its newline). */
static int
feed_piece(struct csv_reader *cr, struct csv_parser *p, const char *s, size_t n)
{
	if (!cr->in_row && has_content(s, n)) {
		cr->in_row = true;
		cr->row_line = cr->line;
	}
	if (csv_parse(p, s, n, on_field, on_row, cr) != n)
		return -1;
	if (n > 0 && s[n - 1] == '\n')
		cr->line++;
	return 0;
}

/* Feeds up to max bytes at the head of buf, a physical line at a time. */
static int
feed_buffer(struct csv_reader *cr, struct evbuffer *buf, size_t max)
{
	struct evbuffer_iovec v;
	size_t done = 0;
	int rc = 0;

	while (rc == 0 && done < max &&
	       evbuffer_peek(buf, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		const char *s = v.iov_base, *end = s + v.iov_len, *nl;
		if ((size_t)(end - s) > max - done)
			end = s + (max - done);
		size_t len;
		for (const char *p = s; p < end && rc == 0; p += len) {
			nl = memchr(p, '\n', (size_t)(end - p));
			len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
			rc = feed_piece(cr, &cr->parser, p, len);
		}
		done += (size_t)(end - s);
		evbuffer_drain(buf, (size_t)(end - s));
	}
	return rc;
}

struct csv_reader *
csv_reader_new(const struct feed_spec *feed, struct feed_errors *errs)
{
	struct csv_reader *cr = xcalloc(1, sizeof *cr);

	cr->feed = feed;
	cr->errs = errs;
	cr->line = 1;
	cr->records = json_array();
	cr->groups = json_object();
	csv_init(&cr->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
	return cr;
}

static void
malformed(struct csv_reader *cr, char *err, size_t errlen)
{
	snprintf(err, errlen, "malformed CSV at line %ld: %s",
	    cr->in_row ? cr->row_line : cr->line,
	    csv_strerror(csv_error(&cr->parser)));
}

int
csv_reader_feed(struct csv_reader *cr, struct evbuffer *buf, size_t max,
    bool eof, char *err, size_t errlen)
{
	char bom[3];

	if (!cr->started) {
		if (evbuffer_get_length(buf) < 3 && !eof)
			return 0; /* too short to tell whether a BOM starts it
			           */
		cr->started = true;
		if (evbuffer_copyout(buf, bom, 3) == 3 &&
		    memcmp(bom, "\xef\xbb\xbf", 3) == 0)
			evbuffer_drain(buf, 3);
	}
	if (feed_buffer(cr, buf, max) != 0) {
		malformed(cr, err, errlen);
		return -1;
	}
	return 0;
}

int
csv_reader_finish(struct csv_reader *cr, char *err, size_t errlen)
{
	if (csv_fini(&cr->parser, on_field, on_row, cr) != 0) {
		malformed(cr, err, errlen);
		return -1;
	}
	if (!cr->header_done) {
		snprintf(err, errlen, "empty CSV: a header row is required");
		return -1;
	}
	cr->finished = true;
	return 0;
}

json_t *
csv_reader_next(struct csv_reader *cr, bool *bad)
{
	json_t *rec;

	if (cr->feed->has_entries && !cr->finished)
		return NULL;
	if (cr->next >= json_array_size(cr->records)) {
		if (!cr->feed->has_entries && cr->next > 0) {
			/* Handed out: the next rows start a fresh array. */
			json_array_clear(cr->records);
			if (cr->bad != NULL)
				memset(cr->bad, 0, cr->bad_cap);
			cr->next = 0;
		}
		return NULL;
	}
	*bad = cr->next < cr->bad_cap && cr->bad[cr->next];
	rec = json_array_get(cr->records, cr->next++);
	return json_incref(rec);
}

json_t *
csv_reader_records(struct csv_reader *cr)
{
	return cr->records;
}

void
csv_reader_free(struct csv_reader *cr)
{
	if (cr == NULL)
		return;
	csv_free(&cr->parser);
	for (size_t i = 0; i < cr->nfields; i++)
		free(cr->row[i]);
	free(cr->row);
	free(cr->lens);
	for (size_t i = 0; i < cr->ncols; i++)
		free(cr->header[i]);
	free(cr->header);
	free(cr->bad);
	json_decref(cr->groups);
	json_decref(cr->records);
	free(cr);
}

json_t *
csv_feed_parse(const struct feed_spec *feed, struct evbuffer *buf,
    struct feed_errors *errs, char *err, size_t errlen)
{
	struct csv_reader *cr = csv_reader_new(feed, errs);
	json_t *records = NULL;

	if (csv_reader_feed(cr, buf, (size_t)-1, true, err, errlen) == 0 &&
	    csv_reader_finish(cr, err, errlen) == 0)
		records = json_incref(cr->records);
	csv_reader_free(cr);
	return records;
}
