/*
 * Unit tests of CSV feed bodies (daemon/ingest-csv.c): RFC 4180 quoting,
 * embedded newlines, CRLF, the byte-order mark, blank lines, the physical
 * line ("_line") of every row, typed cells, the errors of malformed rows,
 * timesheet rows grouped into entries, evbuffer chunks split anywhere, and
 * validation errors of CSV batches rendered with the line of the row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ingest-csv.h"

#define PEOPLE_HEADER                                                          \
	"person_id,name,email,line_manager_id,fte,employment_start,employment_end"
#define TS_HEADER                                                              \
	"person_id,period_start,period_end,submitted_at,kind,activity,hours"

struct result {
	json_t *records;
	struct feed_errors errs;
	char err[256];
};

/* JSON values a test owns; a failing assertion jumps out of the test, so
 * the per-test teardown releases whatever is left (no leaks under ASan). */
static json_t *owned[64];

static void
own(json_t *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
		if (owned[i] == NULL) {
			owned[i] = v;
			return;
		}
	fail_msg("too many live results");
}

static void
release(json_t *v)
{
	for (size_t i = 0; v != NULL && i < sizeof owned / sizeof owned[0]; i++)
		if (owned[i] == v)
			owned[i] = NULL;
	json_decref(v);
}

static int
release_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
		json_decref(owned[i]);
		owned[i] = NULL;
	}
	return 0;
}

/* Parses the body given as chunks (NULL-terminated); each chunk becomes
 * its own evbuffer chain, so the parser sees them as separate pieces. */
static void
parse_chunks(const struct feed_spec *feed, struct result *r, ...)
{
	struct evbuffer *buf = evbuffer_new();
	const char *s;
	int n = 0;
	va_list ap;

	assert_non_null(buf);
	va_start(ap, r);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (*s == '\0')
			continue;
		assert_int_equal(
		    evbuffer_add_reference(buf, s, strlen(s), NULL, NULL), 0);
		n++;
	}
	va_end(ap);
	/* The chunks really are separate chains. */
	assert_int_equal(evbuffer_peek(buf, -1, NULL, NULL, 0), n);
	feed_errors_init(&r->errs, true);
	r->err[0] = '\0';
	r->records = csv_feed_parse(feed, buf, &r->errs, r->err, sizeof r->err);
	evbuffer_free(buf);
	own(r->records);
	own(r->errs.list);
}

/* Parses a body of len bytes in one contiguous chunk. */
static void
parse_mem(const struct feed_spec *feed, struct result *r, const char *body,
    size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	assert_non_null(buf);
	assert_int_equal(evbuffer_add(buf, body, len), 0);
	feed_errors_init(&r->errs, true);
	r->err[0] = '\0';
	r->records = csv_feed_parse(feed, buf, &r->errs, r->err, sizeof r->err);
	evbuffer_free(buf);
	own(r->records);
	own(r->errs.list);
}

static void
parse_one(const struct feed_spec *feed, struct result *r, const char *body)
{
	parse_mem(feed, r, body, strlen(body));
}

static void
result_free(struct result *r)
{
	release(r->records);
	release(r->errs.list);
	r->records = NULL;
	r->errs.list = NULL;
}

static void
dump(const char *what, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	print_message("# %s: %s\n", what, s ? s : "(null)");
	free(s);
}

static void
assert_no_errors(struct result *r)
{
	if (r->records == NULL)
		fail_msg("csv_feed_parse failed: %s", r->err);
	if (r->errs.count != 0) {
		dump("errors", r->errs.list);
		fail_msg("expected no errors, got %d", r->errs.count);
	}
}

/* Asserts errs holds {line, field, message ~ want}. */
static void
assert_line_error(
    struct result *r, long line, const char *field, const char *want)
{
	size_t i;
	json_t *e;

	json_array_foreach(r->errs.list, i, e)
	{
		if (json_object_get(e, "index") != NULL ||
		    json_integer_value(json_object_get(e, "line")) != line ||
		    strcmp(json_string_value(json_object_get(e, "field")),
		        field) != 0)
			continue;
		if (strstr(json_string_value(json_object_get(e, "message")),
		        want) != NULL)
			return;
	}
	dump("errors", r->errs.list);
	fail_msg("no error {line %ld, field \"%s\", message ~ \"%s\"}", line,
	    field, want);
}

static json_t *
rec(struct result *r, size_t i)
{
	json_t *v = json_array_get(r->records, i);

	if (v == NULL) {
		dump("records", r->records);
		fail_msg("no record %zu", i);
	}
	return v;
}

static const char *
str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v)) {
		dump("object", obj);
		fail_msg("\"%s\" is not a string", key);
	}
	return json_string_value(v);
}

static long
line_of(json_t *obj)
{
	json_t *v = json_object_get(obj, "_line");

	if (!json_is_integer(v)) {
		dump("object", obj);
		fail_msg("no integer _line");
	}
	return (long)json_integer_value(v);
}

/* ---- records, types, quoting ------------------------------------------- */

static void
test_people_typed(void **state)
{
	struct result r;
	json_t *p;

	(void)state;
	parse_one(&feed_people, &r,
	    PEOPLE_HEADER
	    "\n"
	    "E1001,Ada Byron,a.byron@example.ac.uk,E0001,1.0,2020-01-06,\n"
	    "E0001,Grace Hopper,,,0.8,2010-09-01,2030-08-31\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 2);
	p = rec(&r, 0);
	assert_string_equal(str(p, "person_id"), "E1001");
	assert_string_equal(str(p, "name"), "Ada Byron");
	assert_string_equal(str(p, "line_manager_id"), "E0001");
	assert_true(json_is_number(json_object_get(p, "fte")));
	assert_true(json_number_value(json_object_get(p, "fte")) == 1.0);
	assert_string_equal(str(p, "employment_start"), "2020-01-06");
	/* Empty cells are omitted, not empty strings. */
	assert_null(json_object_get(p, "employment_end"));
	assert_int_equal(line_of(p), 2);
	p = rec(&r, 1);
	assert_null(json_object_get(p, "email"));
	assert_null(json_object_get(p, "line_manager_id"));
	assert_true(json_number_value(json_object_get(p, "fte")) == 0.8);
	assert_int_equal(line_of(p), 3);
	/* Exactly the non-empty cells, plus _line. */
	assert_int_equal(json_object_size(p), 6);
	/* A string field that looks like a number stays a string. */
	result_free(&r);
	parse_one(&feed_people, &r,
	    "person_id,name,fte,employment_start\n"
	    "1001,007,0.5,2020-01-06\n");
	assert_no_errors(&r);
	assert_string_equal(str(rec(&r, 0), "person_id"), "1001");
	assert_string_equal(str(rec(&r, 0), "name"), "007");
	result_free(&r);
}

static void
test_quoting(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_people, &r,
	    PEOPLE_HEADER
	    "\n"
	    "P0,\"Hopper, Grace\",,,0.8,2010-09-01,\n"
	    "P1,\"Ada \"\"Countess\"\" Byron\",\"a@x.ac.uk\",P0,1.0,2020-01-06,\n"
	    "\"P2\",\"\"\"\",,,\"0.5\",2024-02-29,\"\"\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 3);
	assert_string_equal(str(rec(&r, 0), "name"), "Hopper, Grace");
	assert_string_equal(str(rec(&r, 1), "name"), "Ada \"Countess\" Byron");
	assert_string_equal(str(rec(&r, 1), "email"), "a@x.ac.uk");
	assert_string_equal(str(rec(&r, 2), "person_id"), "P2");
	assert_string_equal(str(rec(&r, 2), "name"), "\"");
	/* A quoted number is still typed by the field table. */
	assert_true(
	    json_number_value(json_object_get(rec(&r, 2), "fte")) == 0.5);
	/* A quoted empty cell is omitted like an unquoted one. */
	assert_null(json_object_get(rec(&r, 2), "employment_end"));
	assert_int_equal(line_of(rec(&r, 2)), 4);
	result_free(&r);
}

static void
test_embedded_newline(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_grants, &r,
	    "grant_ref,title,funder,start_date,end_date\n"
	    "EP/X012345/1,\"Verified compilers:\nsafety-critical\navionics\","
	    "EPSRC,2023-04-01,2026-03-31\n"
	    "NE/Y000123/1,\"Peat, carbon and \"\"water\"\"\",,2024-01-01,"
	    "2027-12-31\n"
	    "\"X/1\",\"two\n\nblank\",,2024-01-01,2027-12-31\n"
	    "X/2,t,,2024-01-01,2027-12-31\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 4);
	assert_string_equal(str(rec(&r, 0), "title"),
	    "Verified compilers:\nsafety-critical\navionics");
	assert_int_equal(line_of(rec(&r, 0)), 2);
	/* The row after a 3-line row starts on line 5. */
	assert_int_equal(line_of(rec(&r, 1)), 5);
	assert_string_equal(
	    str(rec(&r, 1), "title"), "Peat, carbon and \"water\"");
	assert_int_equal(line_of(rec(&r, 2)), 6);
	assert_string_equal(str(rec(&r, 2), "title"), "two\n\nblank");
	assert_int_equal(line_of(rec(&r, 3)), 9);
	result_free(&r);
}

static void
test_crlf_and_bom(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_grants, &r,
	    "\xef\xbb\xbfgrant_ref,title,funder,start_date,end_date\r\n"
	    "EP/X012345/1,\"Verified compilers:\r\nsafety-critical avionics\","
	    "EPSRC,2023-04-01,2026-03-31\r\n"
	    "NE/Y000123/1,Peat,,2024-01-01,2027-12-31\r\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 2);
	/* The BOM did not become part of the first column's name. */
	assert_string_equal(str(rec(&r, 0), "grant_ref"), "EP/X012345/1");
	/* No CR left at the end of the last cell of a line. */
	assert_string_equal(str(rec(&r, 0), "end_date"), "2026-03-31");
	assert_string_equal(str(rec(&r, 1), "end_date"), "2027-12-31");
	assert_string_equal(str(rec(&r, 0), "title"),
	    "Verified compilers:\r\nsafety-critical avionics");
	assert_int_equal(line_of(rec(&r, 0)), 2);
	assert_int_equal(line_of(rec(&r, 1)), 4);
	result_free(&r);

	/* A BOM alone before the header, last line without a newline. */
	parse_one(&feed_people, &r,
	    "\xef\xbb\xbf"
	    "fte,person_id,name,"
	    "employment_start\r\n0.6,P3,Charles Babbage,2021-05-04");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 1);
	assert_string_equal(str(rec(&r, 0), "employment_start"), "2021-05-04");
	assert_int_equal(line_of(rec(&r, 0)), 2);
	result_free(&r);
}

static void
test_blank_lines(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_grants, &r,
	    "\n\r\ngrant_ref,title,funder,start_date,end_date\n"
	    "\n"
	    "A/1,a,,2024-01-01,2024-12-31\n"
	    "\r\n\n"
	    "A/2,b,,2024-01-01,2024-12-31\n"
	    "\n\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 2);
	assert_int_equal(line_of(rec(&r, 0)), 5);
	assert_int_equal(line_of(rec(&r, 1)), 8);
	result_free(&r);
}

/* A line of nothing but spaces is no row either, and must not shift the
 * line of the row after it. */
static void
test_whitespace_line(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_grants, &r,
	    "grant_ref,title,funder,start_date,end_date\n"
	    "A/1,a,,2024-01-01,2024-12-31\n"
	    "   \n"
	    "A/2,b,,2024-01-01,2024-12-31\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 2);
	assert_int_equal(line_of(rec(&r, 0)), 2);
	assert_int_equal(line_of(rec(&r, 1)), 4);
	result_free(&r);
}

/* ---- errors ------------------------------------------------------------ */

static void
test_wrong_field_count(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_grants, &r,
	    "grant_ref,title,funder,start_date,end_date\n"
	    "A/1,a,,2024-01-01,2024-12-31\n"
	    "A/2,b,2024-01-01,2024-12-31\n"
	    "A/3,\"c\nd\",,2024-01-01,2024-12-31,extra\n"
	    "A/4,d,,2024-01-01,2024-12-31\n");
	assert_non_null(r.records);
	assert_int_equal(r.errs.count, 2);
	assert_line_error(&r, 3, "",
	    "expected 5 fields as in the header, "
	    "found 4");
	assert_line_error(&r, 4, "", "found 6");
	/* The bad rows are dropped, the good ones kept with their lines. */
	assert_int_equal(json_array_size(r.records), 2);
	assert_int_equal(line_of(rec(&r, 0)), 2);
	assert_string_equal(str(rec(&r, 1), "grant_ref"), "A/4");
	assert_int_equal(line_of(rec(&r, 1)), 6);
	result_free(&r);
}

static void
test_unknown_and_duplicate_column(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_grants, &r,
	    "grant_ref,title,colour,start_date,end_date\n"
	    "A/1,a,red,2024-01-01,2024-12-31\n");
	assert_non_null(r.records);
	assert_int_equal(r.errs.count, 1);
	assert_line_error(&r, 1, "colour", "unknown column");
	result_free(&r);

	parse_one(&feed_grants, &r,
	    "\n\ngrant_ref,title,title,start_date,end_date\n");
	assert_non_null(r.records);
	assert_int_equal(json_array_size(r.records), 0);
	assert_line_error(&r, 3, "title", "column appears twice");
	result_free(&r);
}

static void
test_non_numeric(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    "\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,G1,80\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,admin,A,eight\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,teaching,T,7.5h\n");
	assert_non_null(r.records);
	assert_int_equal(r.errs.count, 2);
	assert_line_error(&r, 3, "entries[1].hours", "must be a number");
	assert_line_error(&r, 3, "entries[1].hours", "\"eight\"");
	assert_line_error(&r, 4, "entries[2].hours", "must be a number");
	result_free(&r);

	parse_one(&feed_people, &r,
	    PEOPLE_HEADER "\n"
	                  "E1,\"Ada\nByron\",,,one,2020-01-06,\n");
	assert_int_equal(r.errs.count, 1);
	assert_line_error(&r, 2, "fte", "must be a number");
	result_free(&r);
}

/* Cells strtod reads but JSON cannot carry (NaN, infinities) must not
 * disappear silently: here the charge would be stored with its
 * fte_fraction alone and the bad hours cell forgotten. */
static void
test_non_finite_numbers(void **state)
{
	static const char *const bad[] = { "nan", "inf", "-inf", "infinity",
		"1e999" };
	char body[512];
	struct result r;
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(body, sizeof body,
		    "person_id,grant_ref,month,fte_fraction,hours\n"
		    "E1,G1,2025-01,0.5,%s\n",
		    bad[i]);
		parse_one(&feed_charges, &r, body);
		assert_non_null(r.records);
		r.errs.records = r.records;
		feed_validate(&feed_charges, r.records, &r.errs);
		if (r.errs.count == 0) {
			char *s = json_dumps(r.records, JSON_COMPACT);
			print_error(
			    "hours cell \"%s\" accepted without an error:"
			    " records %s\n",
			    bad[i], s);
			free(s);
			failed++;
		}
		result_free(&r);
	}

	/* A required number: the CSV error must name the cell, not leave
	 * validation to say a misleading "is required". */
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    "\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,G1,nan\n");
	assert_non_null(r.records);
	if (r.errs.count == 0) {
		print_error("timesheet hours cell \"nan\": no CSV error\n");
		failed++;
	}
	result_free(&r);
	if (failed)
		fail_msg("%d non-finite number cells silently dropped", failed);
}

static void
test_unterminated_quote(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_people, &r,
	    PEOPLE_HEADER "\n"
	                  "E1,Ada,,,1,2020-01-06,\n"
	                  "E2,\"Grace,,,1,2020-01-06,\n"
	                  "E3,Alan,,,1,2020-01-06,\n");
	assert_null(r.records);
	assert_non_null(strstr(r.err, "malformed CSV"));
	/* The quote that never closes opens on line 3. */
	if (strstr(r.err, "line 3") == NULL)
		fail_msg("err \"%s\" does not name line 3, where the "
		         "unterminated quote opens",
		    r.err);
	result_free(&r);
}

static void
test_malformed_quote_mid_body(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_people, &r,
	    PEOPLE_HEADER "\n"
	                  "E1,Ada,,,1,2020-01-06,\n"
	                  "E2,\"Grace\"x,,,1,2020-01-06,\n"
	                  "E3,Alan,,,1,2020-01-06,\n");
	assert_null(r.records);
	if (strstr(r.err, "malformed CSV at line 3") == NULL)
		fail_msg("err \"%s\" does not name line 3", r.err);
	result_free(&r);
}

static void
test_empty_body(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_people, &r, "");
	assert_null(r.records);
	assert_non_null(strstr(r.err, "header row is required"));
	result_free(&r);

	parse_one(&feed_people, &r, "\r\n\n\n");
	assert_null(r.records);
	assert_non_null(strstr(r.err, "header row is required"));
	result_free(&r);

	parse_one(&feed_people, &r, "\xef\xbb\xbf");
	assert_null(r.records);
	assert_non_null(strstr(r.err, "header row is required"));
	result_free(&r);

	/* A header and no rows: an empty batch. */
	parse_one(&feed_people, &r, PEOPLE_HEADER "\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 0);
	result_free(&r);
}

/* ---- timesheets -------------------------------------------------------- */

static void
test_timesheet_grouping(void **state)
{
	struct result r;
	json_t *ts, *entries, *e;

	(void)state;
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    ",authorised_by,authorised_at\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,G1,80,E0,"
	    "2025-02-10T09:00:00Z\n"
	    "E2,2025-01-01,2025-01-31,2025-02-04T10:00:00Z,grant,G1,150,,\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,teaching,\"T,1\","
	    "12,E0,2025-02-10T09:00:00Z\n"
	    "E1,2025-02-01,2025-02-07,2025-02-08T10:00:00Z,admin,A,37.5,,\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,annual_leave,AL,"
	    "22.5,E0,2025-02-10T09:00:00Z\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 3);

	ts = rec(&r, 0);
	assert_string_equal(str(ts, "person_id"), "E1");
	assert_string_equal(str(ts, "period_end"), "2025-01-31");
	assert_string_equal(str(ts, "authorised_by"), "E0");
	assert_int_equal(line_of(ts), 2);
	/* Entry fields live in the entries only. */
	assert_null(json_object_get(ts, "kind"));
	assert_null(json_object_get(ts, "hours"));
	entries = json_object_get(ts, "entries");
	assert_int_equal(json_array_size(entries), 3);
	e = json_array_get(entries, 0);
	assert_string_equal(str(e, "kind"), "grant");
	assert_string_equal(str(e, "activity"), "G1");
	assert_true(json_number_value(json_object_get(e, "hours")) == 80.0);
	assert_int_equal(line_of(e), 2);
	assert_int_equal(json_object_size(e), 4);
	e = json_array_get(entries, 1);
	assert_string_equal(str(e, "activity"), "T,1");
	assert_int_equal(line_of(e), 4);
	e = json_array_get(entries, 2);
	assert_string_equal(str(e, "kind"), "annual_leave");
	assert_true(json_number_value(json_object_get(e, "hours")) == 22.5);
	assert_int_equal(line_of(e), 6);

	ts = rec(&r, 1);
	assert_string_equal(str(ts, "person_id"), "E2");
	assert_null(json_object_get(ts, "authorised_by"));
	assert_int_equal(json_array_size(json_object_get(ts, "entries")), 1);
	assert_int_equal(line_of(ts), 3);

	ts = rec(&r, 2);
	assert_string_equal(str(ts, "period_start"), "2025-02-01");
	assert_int_equal(line_of(ts), 5);
	assert_int_equal(json_array_size(json_object_get(ts, "entries")), 1);

	/* The grouped records are a valid batch. */
	r.errs.records = r.records;
	assert_int_equal(
	    feed_validate(&feed_timesheets, r.records, &r.errs), 0);
	result_free(&r);
}

static void
test_timesheet_record_column_differs(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    "\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,G1,80\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,admin,A,10\n"
	    "E1,2025-01-01,2025-01-31,2025-02-05T10:00:00Z,teaching,T,12\n");
	assert_non_null(r.records);
	assert_int_equal(r.errs.count, 1);
	assert_line_error(&r, 4, "submitted_at", "differs from line 2");
	result_free(&r);
}

/* A later row leaving a record-level cell empty disagrees with the first
 * row as much as one giving another value does (and the reverse order is
 * reported). */
static void
test_timesheet_record_column_missing(void **state)
{
	struct result r;

	(void)state;
	/* First row empty, later row set: reported. */
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    ",authorised_by\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,G1,80,\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,admin,A,10,E0\n");
	assert_non_null(r.records);
	assert_line_error(&r, 3, "authorised_by", "differs from line 2");
	result_free(&r);

	/* First row set, later row empty: must be reported too. */
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    ",authorised_by\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,G1,80,E0\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,admin,A,10,\n");
	assert_non_null(r.records);
	assert_line_error(&r, 3, "authorised_by", "differs from line 2");
	result_free(&r);
}

/* Validation errors of a CSV batch carry the line of the row: the
 * record's first row, or for entries[j] the row of that entry. */
static void
test_validation_lines(void **state)
{
	struct result r;

	(void)state;
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    "\n"
	    "E1,2025-01-06,2025-01-12,2025-02-03T10:00:00Z,grant,G1,20\n"
	    "E2,2025-01-06,2025-01-12,2025-02-03T10:00:00Z,grant,G1,20\n"
	    "\n"
	    "E1,2025-01-06,2025-01-12,2025-02-03T10:00:00Z,admin,\"G\n1\",5\n"
	    "E1,2025-01-06,2025-01-12,2025-02-03T10:00:00Z,grant,G1,5\n"
	    "E2,2025-01-06,2025-01-12,2025-02-03T10:00:00Z,teaching,T,7.555\n"
	    "E3,2025-01-31,2025-02-02,2025-02-03T10:00:00Z,grant,G1,5\n");
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 3);
	r.errs.records = r.records;
	assert_int_equal(
	    feed_validate(&feed_timesheets, r.records, &r.errs), 3);
	/* E1's entries[1] (the row of line 5, which runs on to line 6)
	 * holds a newline, a control character refused in text. */
	assert_line_error(
	    &r, 5, "entries[1].activity", "control character 0x0a");
	/* E2's entries[1] is on line 8. */
	assert_line_error(&r, 8, "entries[1].hours", "at most 2 decimals");
	/* A record-level error: the record's first line. */
	assert_line_error(&r, 9, "period_end", "one calendar month");
	result_free(&r);

	/* entries[1] error on a two-row timesheet. */
	parse_one(&feed_timesheets, &r,
	    TS_HEADER
	    "\n"
	    "E1,2025-01-15,2025-01-15,2025-02-03T10:00:00Z,grant,G1,2\n"
	    "E9,2025-01-15,2025-01-15,2025-02-03T10:00:00Z,grant,G1,2\n"
	    "E1,2025-01-15,2025-01-15,2025-02-03T10:00:00Z,admin,A,25\n");
	assert_no_errors(&r);
	r.errs.records = r.records;
	if (feed_validate(&feed_timesheets, r.records, &r.errs) != 1)
		dump("errors", r.errs.list);
	assert_int_equal(r.errs.count, 1);
	assert_line_error(&r, 4, "entries[1].hours", "more than 24 h");
	result_free(&r);

	/* Other feeds: the line of the record; "_line" is no unknown field. */
	parse_one(&feed_people, &r,
	    PEOPLE_HEADER "\n"
	                  "E1,Ada,,,1,2020-01-06,\n"
	                  "\n"
	                  "E2,Grace,,E2,1,2020-01-06,2019-01-01\n");
	assert_no_errors(&r);
	r.errs.records = r.records;
	assert_int_equal(feed_validate(&feed_people, r.records, &r.errs), 2);
	assert_line_error(&r, 4, "employment_end", "before");
	assert_line_error(&r, 4, "line_manager_id", "own line manager");
	result_free(&r);
}

/* ---- chunks ------------------------------------------------------------ */

static void
test_chunks(void **state)
{
	struct result r;

	(void)state;
	/* Splits inside a line, inside a quoted field (before and after an
	 * embedded newline and a doubled quote), and between CR and LF. */
	parse_chunks(&feed_people, &r,
	    "\xef\xbb\xbfperson_id,name,email,line_m",
	    "anager_id,fte,"
	    "employment_start,employment_end\r",
	    "\nE1,\"Byron, ", "Ada \"", "\"the Countess\"\"\nof ",
	    "Lovelace\",,,1.0,2020-01-0", "6,\r\n", "\r\n", "E2,Grace,,E1,0.",
	    "8,2010-09-01,\n", "E3,\"x\"", ",,,1,2020-01-06,", NULL);
	assert_no_errors(&r);
	assert_int_equal(json_array_size(r.records), 3);
	assert_string_equal(str(rec(&r, 0), "name"),
	    "Byron, Ada \"the Countess\"\nof Lovelace");
	assert_string_equal(str(rec(&r, 0), "employment_start"), "2020-01-06");
	assert_int_equal(line_of(rec(&r, 0)), 2);
	assert_int_equal(line_of(rec(&r, 1)), 5);
	assert_true(
	    json_number_value(json_object_get(rec(&r, 1), "fte")) == 0.8);
	assert_string_equal(str(rec(&r, 1), "line_manager_id"), "E1");
	assert_string_equal(str(rec(&r, 2), "name"), "x");
	assert_int_equal(line_of(rec(&r, 2)), 6);
	result_free(&r);
}

/* The same body split at every position into two chains, and into
 * one-byte chains, gives the same records and errors as in one piece. */
static void
test_every_split(void **state)
{
	static const char body[] = TS_HEADER
	    "\r\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,grant,\"G,1\",80\r\n"
	    "\r\n"
	    "E1,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,teaching,\"say "
	    "\"\"hi\"\"\nthere\",x\n"
	    "E1,2025-01-01,2025-01-31,2025-02-04T10:00:00Z,admin,A,1\n"
	    "E2,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,admin,A\n"
	    "E2,2025-01-01,2025-01-31,2025-02-03T10:00:00Z,admin,A,2.5";
	size_t len = strlen(body);
	struct result whole, r;
	static char a[sizeof body], b[sizeof body];

	(void)state;
	parse_one(&feed_timesheets, &whole, body);
	assert_non_null(whole.records);
	/* line 5: hours "x"; line 6: submitted_at differs; line 7: 6 fields */
	assert_int_equal(whole.errs.count, 3);
	assert_line_error(&whole, 4, "entries[1].hours", "must be a number");
	assert_line_error(&whole, 6, "submitted_at", "differs from line 2");
	assert_line_error(&whole, 7, "", "found 6");
	assert_int_equal(line_of(rec(&whole, 1)), 8);

	for (size_t i = 1; i < len; i++) {
		memcpy(a, body, i);
		a[i] = '\0';
		strcpy(b, body + i);
		parse_chunks(&feed_timesheets, &r, a, b, NULL);
		if (!json_equal(r.records, whole.records) ||
		    !json_equal(r.errs.list, whole.errs.list)) {
			dump("records", r.records);
			dump("errors", r.errs.list);
			fail_msg("split at %zu (\"%.10s|%.10s\") differs", i,
			    body + (i > 10 ? i - 10 : 0), body + i);
		}
		result_free(&r);
	}

	/* One chain per byte. */
	struct evbuffer *buf = evbuffer_new();
	for (size_t i = 0; i < len; i++)
		evbuffer_add_reference(buf, body + i, 1, NULL, NULL);
	assert_int_equal(evbuffer_peek(buf, -1, NULL, NULL, 0), (int)len);
	feed_errors_init(&r.errs, true);
	r.records =
	    csv_feed_parse(&feed_timesheets, buf, &r.errs, r.err, sizeof r.err);
	evbuffer_free(buf);
	own(r.records);
	own(r.errs.list);
	assert_true(json_equal(r.records, whole.records));
	assert_true(json_equal(r.errs.list, whole.errs.list));
	result_free(&r);
	result_free(&whole);
}

/* The byte-order mark may itself be split across chains. */
static void
test_bom_split(void **state)
{
	struct result r;

	(void)state;
	for (int cut = 1; cut <= 2; cut++) {
		static const char body[] =
		    "\xef\xbb\xbf"
		    "grant_ref,title,funder,start_date,end_date\n"
		    "A/1,a,,2024-01-01,2024-12-31\n";
		char a[4] = "";
		memcpy(a, body, (size_t)cut);
		parse_chunks(&feed_grants, &r, a, body + cut, NULL);
		if (r.records == NULL || r.errs.count != 0) {
			dump("errors", r.errs.list);
			fail_msg("BOM split after byte %d: not dropped", cut);
		}
		assert_string_equal(str(rec(&r, 0), "grant_ref"), "A/1");
		result_free(&r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_people_typed, release_all),
		cmocka_unit_test_teardown(test_quoting, release_all),
		cmocka_unit_test_teardown(test_embedded_newline, release_all),
		cmocka_unit_test_teardown(test_crlf_and_bom, release_all),
		cmocka_unit_test_teardown(test_blank_lines, release_all),
		cmocka_unit_test_teardown(test_whitespace_line, release_all),
		cmocka_unit_test_teardown(test_wrong_field_count, release_all),
		cmocka_unit_test_teardown(
		    test_unknown_and_duplicate_column, release_all),
		cmocka_unit_test_teardown(test_non_numeric, release_all),
		cmocka_unit_test_teardown(test_non_finite_numbers, release_all),
		cmocka_unit_test_teardown(test_unterminated_quote, release_all),
		cmocka_unit_test_teardown(
		    test_malformed_quote_mid_body, release_all),
		cmocka_unit_test_teardown(test_empty_body, release_all),
		cmocka_unit_test_teardown(test_timesheet_grouping, release_all),
		cmocka_unit_test_teardown(
		    test_timesheet_record_column_differs, release_all),
		cmocka_unit_test_teardown(
		    test_timesheet_record_column_missing, release_all),
		cmocka_unit_test_teardown(test_validation_lines, release_all),
		cmocka_unit_test_teardown(test_chunks, release_all),
		cmocka_unit_test_teardown(test_every_split, release_all),
		cmocka_unit_test_teardown(test_bom_split, release_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
