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
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "config.h"
#include "ingest-csv.h"
#include "feed-map.h"
#include "xmalloc.h"

#define ISO_DATE "%Y-%m-%d"
/* The most of a cell kept, cut at a character's start: far more than any
 * field takes (free text 1000 bytes, ids 64), so that a cell of megabytes
 * is refused by the field checks on its head ("longer than 1000 bytes")
 * rather than copied and checked whole on the event loop (a 40 MB cell
 * held it half a second). */
#define CELL_KEEP (64 * 1024)

/* What a column of the header is. */
enum column_kind {
	COL_FIELD,   /* one of the feed's fields */
	COL_SKIP,    /* ignore_columns, or refused on the header's line */
	COL_UNNAMED, /* an empty header cell: its cells must be empty too */
};

struct csv_reader {
	const struct feed_spec *feed;
	struct feed_errors *errs;
	struct csv_parser parser;
	json_t *records;    /* read and not yet handed out (timesheets: all) */
	size_t next;        /* records[next] is handed out next */
	size_t row_record;  /* the record the last data row went to */
	unsigned char *bad; /* per record: its rows had errors */
	size_t bad_cap;
	/* Timesheets are kept until the body ends: past max_records (0: no
	 * limit) a new one is not, and over says so. */
	size_t max_records;
	bool over;
	bool started, finished;
	json_t *groups; /* timesheets: "person|start|end" -> index */
	/* timesheets: the current row's refused entry cells, [[field,
	 * message], ...], reported once the entry's index is known */
	json_t *entry_errors;
	char **header;
	size_t ncols;
	enum column_kind *kind;        /* per column */
	const struct field_spec **col; /* per column: its field */
	long *field_col; /* per field of the feed: its column, or -1 */
	json_t *missing; /* required fields without column */
	bool header_bad; /* wrong delimiter: rows unreadable */
	/* The mapping (copied: a reload may free the configuration's). */
	json_t *columns, *ignore; /* {"person_id": "Employee Number"}, […] */
	char delimiter, decimal;
	char *date_format;
	char **row;   /* fields of the row being read */
	size_t *lens; /* their lengths: a cell may hold NUL bytes */
	size_t nfields, cap;
	long line;     /* physical line being fed */
	bool after_cr; /* the last piece ended with a CR (its LF may follow) */
	long row_line; /* first line of the current row */
	bool in_row;
	bool header_done;
	bool first_row_done; /* a "sep=" line is looked for in the first */
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
	if (len > CELL_KEEP) {
		len = CELL_KEEP;
		while (len > 0 && (((unsigned char *)s)[len] & 0xC0) == 0x80)
			len--;
	}
	cr->row[cr->nfields] = xmalloc(len + 1);
	memcpy(cr->row[cr->nfields], s ? s : "", len);
	cr->row[cr->nfields][len] = '\0';
	cr->lens[cr->nfields++] = len;
}

/* The cell without blanks either side, as a string to parse. */
static char *
trimmed(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return xstrndup(s, len);
}

/* Refuses a cell of field f (reported here; bad notes it for the field
 * checks).  Returns NULL, the cell's value. */
static json_t *refuse(struct csv_reader *cr, const struct field_spec *f,
    json_t *bad, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static json_t *
refuse(struct csv_reader *cr, const struct field_spec *f, json_t *bad,
    const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (f->flags & F_ENTRY)
		json_array_append_new(
		    cr->entry_errors, json_pack("[ss]", f->name, msg));
	else
		feed_error_line(cr->errs, cr->row_line, f->name, "%s", msg);
	json_object_set_new(bad, f->name, json_true());
	return NULL;
}

/* Reports the row's refused entry cells as entries[i].field, the field
 * the record's checks name for an entry (feed-validate.c). */
static void
entry_errors_out(struct csv_reader *cr, size_t i)
{
	json_t *e;
	size_t k;
	char field[96];

	json_array_foreach(cr->entry_errors, k, e)
	{
		snprintf(field, sizeof field, "entries[%zu].%s", i,
		    json_string_value(json_array_get(e, 0)));
		feed_error_line(cr->errs, cr->row_line, field, "%s",
		    json_string_value(json_array_get(e, 1)));
	}
	json_array_clear(cr->entry_errors);
}

/* The number d read from the cell s, or the cell refused when a double
 * does not hold it as written (0.99999999999999999 would be 1). */
static json_t *
exact_number(struct csv_reader *cr, const struct field_spec *f, const char *s,
    double d, json_t *bad)
{
	char buf[128];
	long decimals;

	if (number_literal_exact(s, strlen(s), &decimals))
		return json_real(d);
	return refuse(cr, f, bad, "%s",
	    feed_inexact_problem(f, d, decimals, buf, sizeof buf));
}

/* A number with the feed's decimal separator, written as JSON writes
 * one (feed-number.h): a cell holds what a JSON body's number may, so
 * "+7.5", ".5", "5." and "007.5", which strtod reads, are refused. */
static json_t *
number_cell(
    struct csv_reader *cr, const struct field_spec *f, char *s, json_t *bad)
{
	char *end, *comma = strchr(s, ',');
	double d;
	bool read_whole; /* strtod read all of s, a finite number */

	/* strtod also reads C hex floats ("0x1p-1" is 0.5): not a number a
	 * feed writes, so not one stored as another. */
	if (strpbrk(s, "xX") != NULL)
		return refuse(cr, f, bad, "must be a number, not \"%.40s\"", s);
	if (strchr(s, '.') != NULL && comma != NULL)
		return refuse(cr, f, bad,
		    "must be a number without thousands separators, not "
		    "\"%.40s\"",
		    s);
	if (cr->decimal == ',') {
		if (strchr(s, '.') != NULL)
			return refuse(cr, f, bad,
			    "must be a number with a decimal comma "
			    "(%s.decimal_separator), not \"%.40s\"",
			    cr->feed->name, s);
		if (comma != NULL)
			*comma = '.';
	}
	d = strtod(s, &end);
	read_whole = end != s && *end == '\0' && isfinite(d);
	if (read_whole && number_json_form(s, strlen(s)))
		return exact_number(cr, f, s, d, bad);
	if (cr->decimal == ',' && comma != NULL)
		*comma = ',';
	if (read_whole)
		return refuse(cr, f, bad,
		    "must be a number as JSON writes it (no plus sign, no "
		    "leading zero, digits either side of the %s), not "
		    "\"%.40s\"",
		    cr->decimal == ',' ? "comma" : "point", s);
	if (cr->decimal == '.' && comma != NULL && strchr(s, '.') == NULL &&
	    strchr(comma + 1, ',') == NULL) {
		*comma = '.';
		d = strtod(s, &end);
		*comma = ',';
		if (end != s && *end == '\0' && isfinite(d))
			return refuse(cr, f, bad,
			    "must be a number, not \"%.40s\" (for a decimal "
			    "comma set %s.decimal_separator = \",\")",
			    s, cr->feed->name);
	}
	return refuse(cr, f, bad, "must be a number, not \"%.40s\"", s);
}

/* Whether s is three groups of digits with / or . between them (a date
 * written the way people write them); the likely format in fmt. */
static bool
looks_like_date(const char *s, char *fmt, size_t len)
{
	int a, b, c, n = 0;
	char s1, s2;

	if (sscanf(s, "%2d%c%2d%c%4d%n", &a, &s1, &b, &s2, &c, &n) != 5 ||
	    s[n] != '\0' || s1 != s2 || strchr("/.-", s1) == NULL ||
	    strlen(s) < 8)
		return false;
	if (b > 12 && a <= 12)
		snprintf(fmt, len, "%%m%c%%d%c%%Y", s1, s1);
	else
		snprintf(fmt, len, "%%d%c%%m%c%%Y", s1, s1);
	return true;
}

/* A date as YYYY-MM-DD, read in the feed's date format (or already so). */
static json_t *
date_cell(
    struct csv_reader *cr, const struct field_spec *f, char *s, json_t *bad)
{
	struct date d;
	char iso[16], fmt[16];

	if (date_parse(s, &d))
		return json_string(s);
	if (cr->date_format != NULL) {
		if (!date_format_parse(cr->date_format, s, &d))
			return refuse(cr, f, bad,
			    "must be a date written as %s.date_format says "
			    "(\"%s\") or YYYY-MM-DD, not \"%.40s\"",
			    cr->feed->name, cr->date_format, s);
		snprintf(
		    iso, sizeof iso, "%04d-%02d-%02d", d.year, d.month, d.day);
		return json_string(iso);
	}
	if (looks_like_date(s, fmt, sizeof fmt))
		return refuse(cr, f, bad,
		    "must be a date YYYY-MM-DD, not \"%.40s\" (for dates "
		    "written so set %s.date_format = \"%s\")",
		    s, cr->feed->name, fmt);
	return json_string(s); /* the field checks say what is wrong */
}

/* A CSV cell as a typed JSON value for field f; NULL for an empty cell
 * or one refused here (then listed in bad). */
static json_t *
cell_value(struct csv_reader *cr, const struct field_spec *f, const char *s,
    size_t len, json_t *bad)
{
	json_t *v = NULL;
	char *t;

	if (len == 0)
		return NULL;
	if (f->type != FT_NUMBER && f->type != FT_DATE)
		return json_stringn_nocheck(s, len);
	if (memchr(s, '\0', len) != NULL && f->type == FT_NUMBER)
		return refuse(cr, f, bad, "contains a NUL character");
	if (memchr(s, '\0', len) != NULL) /* the field checks refuse it */
		return json_stringn_nocheck(s, len);
	t = trimmed(s, len);
	if (*t == '\0')
		v = NULL;
	else if (f->type == FT_NUMBER)
		v = number_cell(cr, f, t, bad);
	else
		v = date_cell(cr, f, t, bad);
	free(t);
	return v;
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
	if (idx == NULL && cr->max_records > 0 &&
	    json_array_size(cr->records) >= cr->max_records) {
		cr->over = true;
		free(key);
		return NULL;
	}
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

/* Adds the fields a record or entry cannot have (missing columns,
 * refused cells) as its "_bad", when there are any. */
static void
set_bad(json_t *obj, json_t *bad, bool entry, const struct csv_reader *cr)
{
	const char *key;
	json_t *v;

	json_object_foreach(cr->missing, key, v)
	{
		if (json_is_true(v) == entry)
			json_object_set_new(bad, key, json_true());
	}
	if (json_object_size(bad) > 0)
		json_object_set(obj, "_bad", bad);
}

/* One data row: a record, or for timesheets an entry of a record. */
static void
data_row(struct csv_reader *cr)
{
	json_t *rec = json_object(), *entry = json_object(), *v, *ts = rec;
	json_t *bad = json_object(), *entry_bad = json_object();
	int errors = cr->errs->count;
	bool unnamed_said = false;

	for (size_t i = 0; i < cr->ncols; i++) {
		const struct field_spec *f = cr->col[i];
		bool in_entry = f != NULL && (f->flags & F_ENTRY);
		if (cr->kind[i] == COL_UNNAMED && cr->lens[i] > 0 &&
		    !unnamed_said && (unnamed_said = true))
			feed_error_line(cr->errs, cr->row_line, "",
			    "a value in column %zu, which has no name in the "
			    "header",
			    i + 1);
		if (cr->kind[i] != COL_FIELD ||
		    (v = cell_value(cr, f, cr->row[i], cr->lens[i],
		         in_entry ? entry_bad : bad)) == NULL)
			continue;
		json_object_set_new(in_entry ? entry : rec, f->name, v);
	}
	set_bad(rec, bad, false, cr);
	json_object_set_new(rec, "_line", json_integer(cr->row_line));
	if (!cr->feed->has_entries) {
		cr->row_record = json_array_size(cr->records);
		json_array_append(cr->records, rec);
	} else if ((ts = timesheet_record(cr, rec)) != NULL) {
		entry_errors_out(
		    cr, json_array_size(json_object_get(ts, "entries")));
		set_bad(entry, entry_bad, true, cr);
		json_object_set_new(entry, "_line", json_integer(cr->row_line));
		/* one over the most is enough for it to be refused */
		if (json_array_size(json_object_get(ts, "entries")) <=
		    TIMESHEET_ENTRIES_MAX)
			json_array_append(
			    json_object_get(ts, "entries"), entry);
	}
	if (cr->errs->count != errors || json_object_size(bad) > 0 ||
	    json_object_size(entry_bad) > 0)
		mark_bad(cr, cr->row_record);
	json_decref(bad);
	json_decref(entry_bad);
	json_decref(rec);
	json_decref(entry);
}

/* The field a header cell names: through the mapping, else its own name. */
static const struct field_spec *
header_field(const struct csv_reader *cr, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach(cr->columns, key, v)
	{
		if (strcmp(json_string_value(v), name) == 0)
			return feed_field(cr->feed, key);
	}
	return feed_field(cr->feed, name);
}

static bool
ignored(const struct csv_reader *cr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(cr->ignore, i, v)
	{
		if (strcmp(json_string_value(v), name) == 0)
			return true;
	}
	return false;
}

/* The column of field f, if the header has one before column upto (a
 * look-up, not a scan: a header of 100,000 misspelt columns must not
 * take the loop quadratic time). */
static long
column_of(const struct csv_reader *cr, const struct field_spec *f, size_t upto)
{
	long j = cr->field_col[f - cr->feed->fields];

	return j >= 0 && (size_t)j < upto ? j : -1;
}

/* Whether no cell of the header is a column the feed knows (a field, a
 * mapped name, an ignored one): then the header may be one line split by
 * the wrong delimiter. */
static bool
header_unknown(const struct csv_reader *cr)
{
	bool known = false;

	for (size_t i = 0; i < cr->ncols && !known; i++) {
		char *name = trimmed(cr->header[i], strlen(cr->header[i]));
		known = *name == '\0' || header_field(cr, name) != NULL ||
		        ignored(cr, name);
		free(name);
	}
	return !known;
}

/* The header, split by the feed's delimiter, is really separated by
 * another one (it names no column the feed knows, and the other
 * delimiter would give it more columns): one error instead of one per
 * column and row.  The field named is the header's cells
 * joined by the feed's delimiter. */
static bool
wrong_delimiter(struct csv_reader *cr)
{
	char *h, d[3], want[3];
	size_t used = 0, len = 0, n;

	if (!header_unknown(cr))
		return false;
	for (size_t i = 0; i < cr->ncols; i++)
		len += strlen(cr->header[i]) + 1;
	h = xmalloc(len + 1);
	for (size_t i = 0; i < cr->ncols; i++)
		used += (size_t)sprintf(h + used, "%s%s",
		    i ? (char[]){ cr->delimiter, 0 } : "", cr->header[i]);
	for (const char *p = ",;|\t"; *p != '\0'; p++) {
		n = 1;
		for (const char *c = h; (c = strchr(c, *p)) != NULL; c++)
			n++;
		if (*p == cr->delimiter || n <= cr->ncols)
			continue;
		snprintf(
		    d, sizeof d, "%s", *p == '\t' ? "\\t" : (char[]){ *p, 0 });
		snprintf(want, sizeof want, "%s",
		    cr->delimiter == '\t' ? "\\t"
		                          : (char[]){ cr->delimiter, 0 });
		feed_error_line(cr->errs, cr->row_line, h,
		    "unknown column: the header is separated by \"%s\", not "
		    "\"%s\" (set %s.delimiter = \"%s\")",
		    d, want, cr->feed->name, d);
		cr->header_bad = true;
		free(h);
		return true;
	}
	free(h);
	return false;
}

/* The field whose mapped column name h is probably a misspelling of. */
static const struct field_spec *
mapped_guess(const struct csv_reader *cr, const char *h)
{
	const struct field_spec *best = NULL;
	const char *key;
	json_t *v;
	int best_d = 99, d;

	json_object_foreach(cr->columns, key, v)
	{
		if ((d = name_distance(h, json_string_value(v))) < best_d) {
			best_d = d;
			best = feed_field(cr->feed, key);
		}
	}
	return best != NULL && name_close(h, best_d) ? best : NULL;
}

/* What an unknown column probably is, for its error. */
static void
unknown_column(struct csv_reader *cr, size_t i)
{
	const char *h = cr->header[i];
	const struct field_spec *g = mapped_guess(cr, h);
	json_t *mapped;

	if (g == NULL)
		g = feed_field_guess(cr->feed, h);
	cr->kind[i] = COL_SKIP;
	if (g != NULL && column_of(cr, g, cr->ncols) < 0) {
		mapped = json_object_get(cr->columns, g->name);
		if (mapped != NULL)
			feed_error_line(cr->errs, cr->row_line, h,
			    "unknown column; did you mean \"%s\" (%s)?",
			    json_string_value(mapped), g->name);
		else
			feed_error_line(cr->errs, cr->row_line, h,
			    "unknown column; did you mean %s?", g->name);
		cr->col[i] = g; /* stands for g's missing column */
		return;
	}
	feed_error_line(cr->errs, cr->row_line, h,
	    "unknown column (map it to a field in %s.columns, or skip it with "
	    "%s.ignore_columns)",
	    cr->feed->name, cr->feed->name);
}

/* Required fields without a column: once on the header's line (unless a
 * misspelt column stands for them), and noted for every row. */
static void
missing_columns(struct csv_reader *cr)
{
	json_t *mapped;

	for (const struct field_spec *f = cr->feed->fields; f->name; f++) {
		bool guessed = false;
		if (!(f->flags & F_REQUIRED) ||
		    column_of(cr, f, cr->ncols) >= 0)
			continue;
		json_object_set_new(
		    cr->missing, f->name, json_boolean(f->flags & F_ENTRY));
		for (size_t i = 0; i < cr->ncols; i++)
			guessed |= cr->kind[i] == COL_SKIP && cr->col[i] == f;
		if (guessed || cr->header_bad)
			continue;
		mapped = json_object_get(cr->columns, f->name);
		if (mapped != NULL)
			feed_error_line(cr->errs, cr->row_line, f->name,
			    "missing column \"%s\" (%s.columns)",
			    json_string_value(mapped), cr->feed->name);
		else
			feed_error_line(
			    cr->errs, cr->row_line, f->name, "missing column");
	}
}

static void
header_row(struct csv_reader *cr)
{
	char *name;
	long j;
	size_t nfields = 0, *lens = cr->lens; /* the header cells' */

	cr->header = cr->row;
	cr->ncols = cr->nfields;
	cr->row = NULL;
	cr->lens = NULL;
	cr->nfields = cr->cap = 0;
	cr->header_done = true;
	cr->kind = xcalloc(cr->ncols + 1, sizeof *cr->kind);
	cr->col = xcalloc(cr->ncols + 1, sizeof *cr->col);
	for (const struct field_spec *f = cr->feed->fields; f->name; f++)
		nfields++;
	cr->field_col = xreallocarray(NULL, nfields, sizeof *cr->field_col);
	for (size_t k = 0; k < nfields; k++)
		cr->field_col[k] = -1;
	if (wrong_delimiter(cr)) {
		free(lens);
		return;
	}
	for (size_t i = 0; i < cr->ncols; i++) {
		if (memchr(cr->header[i], '\0', lens[i]) != NULL) {
			/* "person_id\0junk" is not person_id */
			cr->kind[i] = COL_SKIP;
			feed_error_line(cr->errs, cr->row_line, cr->header[i],
			    "the column's name contains a NUL character");
			continue;
		}
		name = trimmed(cr->header[i], strlen(cr->header[i]));
		cr->col[i] = header_field(cr, name);
		if (*name == '\0')
			cr->kind[i] = COL_UNNAMED;
		else if (cr->col[i] != NULL &&
		         (j = column_of(cr, cr->col[i], i)) >= 0) {
			cr->kind[i] = COL_SKIP;
			if (strcmp(cr->header[j], cr->header[i]) == 0)
				feed_error_line(cr->errs, cr->row_line,
				    cr->header[i], "column appears twice");
			else
				feed_error_line(cr->errs, cr->row_line,
				    cr->header[i],
				    "column appears twice: \"%s\" is %s too",
				    cr->header[j], cr->col[i]->name);
			cr->col[i] = NULL;
		} else if (cr->col[i] != NULL) {
			cr->kind[i] = COL_FIELD;
			cr->field_col[cr->col[i] - cr->feed->fields] = (long)i;
		} else if (ignored(cr, name))
			cr->kind[i] = COL_SKIP;
		else
			unknown_column(cr, i);
		free(name);
	}
	free(lens);
	missing_columns(cr);
}

/* Whether every cell of the row is empty or blank (",,,," from a
 * spreadsheet): such rows are skipped. */
static bool
blank_row(const struct csv_reader *cr)
{
	for (size_t i = 0; i < cr->nfields; i++)
		for (size_t k = 0; k < cr->lens[i]; k++)
			if (cr->row[i][k] != ' ' && cr->row[i][k] != '\t')
				return false;
	return true;
}

/* The first row as a spreadsheet's "sep=;" line, naming the delimiter
 * (read with the feed's, it is one cell "sep=;" or two, "sep=" and "").
 * The feed's delimiter: the line is skipped and the header follows;
 * another: one error on it.  Returns whether the row was such a line. */
static bool
sep_line(struct csv_reader *cr)
{
	char sep, d[3], want[3];

	if (cr->nfields == 1 && cr->lens[0] == 5 &&
	    memcmp(cr->row[0], "sep=", 4) == 0)
		sep = cr->row[0][4];
	else if (cr->nfields == 2 && cr->lens[0] == 4 &&
	         memcmp(cr->row[0], "sep=", 4) == 0 && cr->lens[1] == 0)
		sep = cr->delimiter;
	else
		return false;
	if (sep == cr->delimiter)
		return true;
	snprintf(d, sizeof d, "%s", sep == '\t' ? "\\t" : (char[]){ sep, 0 });
	snprintf(want, sizeof want, "%s",
	    cr->delimiter == '\t' ? "\\t" : (char[]){ cr->delimiter, 0 });
	feed_error_line(cr->errs, cr->row_line, cr->row[0],
	    "the file says its delimiter is \"%s\", not \"%s\" (set "
	    "%s.delimiter = \"%s\")",
	    d, want, cr->feed->name, d);
	cr->header_bad = true;
	return true;
}

static void
on_row(int c, void *arg)
{
	struct csv_reader *cr = arg;
	bool first = !cr->first_row_done;

	(void)c;
	cr->first_row_done = true;
	if (first && sep_line(cr))
		; /* the header follows */
	else if (!cr->header_done && cr->header_bad)
		cr->header_done = true; /* the sep= line said why */
	else if (!cr->header_done)
		header_row(cr);
	else if (cr->header_bad || blank_row(cr))
		; /* reported on the header's line, or nothing to say */
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

/* The length of the physical line at s (up to n bytes): up to and
 * including its LF, CR LF, or a CR alone (spreadsheets' "Macintosh"
 * CSV ends lines with CR only, which libcsv reads as row ends too). */
static size_t
line_length(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			return i + 1;
		if (s[i] == '\r')
			return i + 1 < n && s[i + 1] == '\n' ? i + 2 : i + 1;
	}
	return n;
}

/* Feeds bytes of one physical line (up to and including its newline). */
static int
feed_piece(struct csv_reader *cr, struct csv_parser *p, const char *s, size_t n)
{
	/* the LF of a CR LF whose CR ended the last piece: no new line */
	bool lf_of_crlf = cr->after_cr && n == 1 && s[0] == '\n';

	if (!cr->in_row && has_content(s, n)) {
		cr->in_row = true;
		cr->row_line = cr->line;
	}
	if (csv_parse(p, s, n, on_field, on_row, cr) != n)
		return -1;
	if (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n') && !lf_of_crlf)
		cr->line++;
	cr->after_cr = n > 0 && s[n - 1] == '\r';
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
		const char *s = v.iov_base, *end = s + v.iov_len;
		if ((size_t)(end - s) > max - done)
			end = s + (max - done);
		size_t len;
		for (const char *p = s; p < end && rc == 0; p += len) {
			len = line_length(p, (size_t)(end - p));
			rc = feed_piece(cr, &cr->parser, p, len);
		}
		done += (size_t)(end - s);
		evbuffer_drain(buf, (size_t)(end - s));
	}
	return rc;
}

/* libcsv grows a field's buffer by a fixed block (128 bytes), so a cell of
 * megabytes took as many reallocations, each a copy where realloc cannot
 * grow in place (always, under AddressSanitizer: a 2 MB cell took
 * minutes).  Grown by half again instead, so that a cell costs a few. */
static void *
csv_grow(void *old, size_t size)
{
	if (old != NULL && malloc_usable_size(old) >= size)
		return old;
	return realloc(old, size + size / 2);
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
	cr->entry_errors = json_array();
	cr->missing = json_object();
	cr->columns = json_object();
	cr->ignore = json_array();
	cr->delimiter = ',';
	cr->decimal = '.';
	csv_init(&cr->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
	csv_set_realloc_func(&cr->parser, csv_grow);
	return cr;
}

void
csv_reader_limit(struct csv_reader *cr, size_t max_records)
{
	cr->max_records = max_records;
}

bool
csv_reader_over(const struct csv_reader *cr)
{
	return cr->over;
}

void
csv_reader_map(struct csv_reader *cr, const struct feed_map *map)
{
	if (map == NULL)
		return;
	json_decref(cr->columns);
	json_decref(cr->ignore);
	cr->columns = json_deep_copy(map->columns);
	cr->ignore = json_deep_copy(map->ignore_columns);
	cr->delimiter = map->delimiter[0];
	cr->decimal = map->decimal_separator[0];
	free(cr->date_format);
	cr->date_format = strcmp(map->date_format, ISO_DATE) != 0
	                      ? xstrdup(map->date_format)
	                      : NULL;
	csv_set_delim(&cr->parser, (unsigned char)cr->delimiter);
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
	unsigned char head[4] = { 1, 1, 1, 1 };
	const char *utf16;

	if (!cr->started) {
		if (evbuffer_get_length(buf) < 4 && !eof)
			return 0; /* too short to tell how it is encoded */
		cr->started = true;
		evbuffer_copyout(buf, head, 4);
		if ((utf16 = feed_utf16(head, evbuffer_get_length(buf))) !=
		    NULL) {
			snprintf(err, errlen,
			    "the file is UTF-16 (%s), not UTF-8: save it as "
			    "UTF-8",
			    utf16);
			return -1;
		}
		if (memcmp(head, "\xef\xbb\xbf", 3) == 0)
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
	free(cr->kind);
	free(cr->col);
	free(cr->field_col);
	free(cr->date_format);
	json_decref(cr->missing);
	json_decref(cr->columns);
	json_decref(cr->ignore);
	free(cr->bad);
	json_decref(cr->groups);
	json_decref(cr->entry_errors);
	json_decref(cr->records);
	free(cr);
}

json_t *
csv_feed_parse(const struct feed_spec *feed, struct evbuffer *buf,
    struct feed_errors *errs, char *err, size_t errlen)
{
	return csv_feed_parse_map(feed, NULL, buf, errs, err, errlen);
}

json_t *
csv_feed_parse_map(const struct feed_spec *feed, const struct feed_map *map,
    struct evbuffer *buf, struct feed_errors *errs, char *err, size_t errlen)
{
	struct csv_reader *cr = csv_reader_new(feed, errs);
	json_t *records = NULL;

	csv_reader_map(cr, map);
	if (csv_reader_feed(cr, buf, (size_t)-1, true, err, errlen) == 0 &&
	    csv_reader_finish(cr, err, errlen) == 0)
		records = json_incref(cr->records);
	csv_reader_free(cr);
	return records;
}
