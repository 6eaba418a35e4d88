/*
 * Unit tests of the feed validator (daemon/feed-validate.c and the field
 * tables and cross-field checks of daemon/feed-specs.c): every rule of
 * RULES.md "Timesheet shape", the checks of the other five feeds, and that
 * the examples of API.md pass untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed-validate.h"

/* The examples of API.md, one valid record per feed. */
static const char person_ok[] =
    "{\"person_id\":\"E1001\",\"name\":\"Ada Byron\","
    "\"email\":\"a.byron@example.ac.uk\",\"line_manager_id\":\"E0001\","
    "\"fte\":1.0,\"employment_start\":\"2020-01-06\",\"employment_end\":null}";
static const char grant_ok[] =
    "{\"grant_ref\":\"EP/X012345/1\",\"title\":\"...\",\"funder\":\"EPSRC\","
    "\"start_date\":\"2023-04-01\",\"end_date\":\"2026-03-31\"}";
static const char assignment_ok[] =
    "{\"person_id\":\"E1001\",\"grant_ref\":\"EP/X012345/1\","
    "\"role\":\"researcher\",\"cost_type\":\"DI\",\"start_date\":\"2024-01-01\","
    "\"end_date\":\"2025-12-31\",\"fte_share\":0.5,"
    "\"estimated_hours_per_year\":null}";
static const char charge_fte_ok[] =
    "{\"person_id\":\"E1001\",\"grant_ref\":\"EP/X012345/1\","
    "\"month\":\"2025-01\",\"fte_fraction\":0.5}";
static const char charge_hours_ok[] =
    "{\"person_id\":\"E1001\",\"grant_ref\":\"EP/X012345/1\","
    "\"month\":\"2025-01\",\"hours\":86.25}";
static const char timesheet_ok[] =
    "{\"person_id\":\"E1001\",\"period_start\":\"2025-01-01\","
    "\"period_end\":\"2025-01-31\",\"submitted_at\":\"2025-02-03T10:00:00Z\","
    "\"entries\":[{\"kind\":\"grant\",\"activity\":\"EP/X012345/1\",\"hours\":80},"
    "{\"kind\":\"teaching\",\"activity\":\"teaching\",\"hours\":12},"
    "{\"kind\":\"annual_leave\",\"activity\":\"annual_leave\",\"hours\":22.5}],"
    "\"authorised_by\":\"E0001\",\"authorised_at\":\"2025-02-10T09:00:00Z\"}";
static const char delegation_ok[] =
    "{\"manager_id\":\"E0001\",\"delegate_id\":\"E0002\","
    "\"start_date\":\"2025-07-01\",\"end_date\":\"2025-08-31\"}";

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (v == NULL)
		fail_msg("bad JSON in test: %s: %s", jerr.text, text);
	return v;
}

/* A record from an example with some keys changed (JSON object "patch";
 * a null value removes the key). */
static json_t *
patched(const char *base, const char *patch)
{
	json_t *rec = parse(base), *p = parse(patch), *v;
	const char *k;

	json_object_foreach(p, k, v)
	{
		if (json_is_null(v))
			json_object_del(rec, k);
		else
			json_object_set(rec, k, v);
	}
	json_decref(p);
	return rec;
}

/* A timesheet for one period with the given entries (a JSON array). */
static json_t *
timesheet(const char *start, const char *end, const char *entries)
{
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "person_id", "E1001",
	    "period_start", start, "period_end", end, "submitted_at",
	    "2025-02-03T10:00:00Z");

	json_object_set_new(rec, "entries", parse(entries));
	return rec;
}

/* Validates records (stolen); leaves the errors in errs. */
static int
validate(
    const struct feed_spec *feed, json_t *records, struct feed_errors *errs)
{
	int n;

	feed_errors_init(errs, false);
	if (!json_is_array(records)) {
		json_t *a = json_array();
		json_array_append_new(a, records);
		records = a;
	}
	n = feed_validate(feed, records, errs);
	assert_int_equal(n, errs->count);
	assert_int_equal(json_array_size(errs->list), (size_t)errs->count);
	json_decref(records);
	return n;
}

static void
dump_errors(const struct feed_errors *errs)
{
	char *s = json_dumps(errs->list, JSON_COMPACT);

	print_message("# errors: %s\n", s);
	free(s);
}

/* Asserts that errs holds an error for (index, field) whose message
 * contains want. */
static void
assert_has_error(const struct feed_errors *errs, int index, const char *field,
    const char *want)
{
	size_t i;
	json_t *e;

	json_array_foreach(errs->list, i, e)
	{
		if (json_integer_value(json_object_get(e, "index")) != index ||
		    json_object_get(e, "line") != NULL ||
		    strcmp(json_string_value(json_object_get(e, "field")),
		        field) != 0)
			continue;
		if (strstr(json_string_value(json_object_get(e, "message")),
		        want) != NULL)
			return;
	}
	dump_errors(errs);
	fail_msg("no error {index %d, field \"%s\", message ~ \"%s\"}", index,
	    field, want);
}

/* Validates one record and asserts it gives exactly the one error. */
static void
expect_one(const struct feed_spec *feed, json_t *rec, const char *field,
    const char *want)
{
	struct feed_errors errs;

	if (validate(feed, rec, &errs) != 1) {
		dump_errors(&errs);
		fail_msg("expected exactly one error (%s), got %d", field,
		    errs.count);
	}
	assert_has_error(&errs, 0, field, want);
	json_decref(errs.list);
}

static void
expect_valid(const struct feed_spec *feed, json_t *rec)
{
	struct feed_errors errs;

	if (validate(feed, rec, &errs) != 0) {
		dump_errors(&errs);
		fail_msg("expected no errors, got %d", errs.count);
	}
	json_decref(errs.list);
}

/* ---- valid records ---------------------------------------------------- */

static void
test_api_examples_valid(void **state)
{
	(void)state;
	expect_valid(&feed_people, parse(person_ok));
	expect_valid(&feed_grants, parse(grant_ok));
	expect_valid(&feed_assignments, parse(assignment_ok));
	expect_valid(&feed_charges, parse(charge_fte_ok));
	expect_valid(&feed_charges, parse(charge_hours_ok));
	expect_valid(&feed_timesheets, parse(timesheet_ok));
	expect_valid(&feed_delegations, parse(delegation_ok));
	/* The whole batch at once. */
	char batch[4096];
	snprintf(
	    batch, sizeof batch, "[%s,%s]", charge_fte_ok, charge_hours_ok);
	expect_valid(&feed_charges, parse(batch));
	/* Optional fields left out altogether. */
	expect_valid(&feed_people,
	    patched(person_ok,
	        "{\"email\":null,\"line_manager_id\":null,\"employment_end\":null}"));
	expect_valid(&feed_timesheets,
	    patched(timesheet_ok,
	        "{\"authorised_by\":null,\"authorised_at\":null}"));
	expect_valid(&feed_grants, patched(grant_ok, "{\"funder\":null}"));
	expect_valid(&feed_assignments,
	    patched(assignment_ok,
	        "{\"end_date\":null,\"estimated_hours_per_year\":1650}"));
	/* Explicit JSON null counts as absent. */
	expect_valid(&feed_charges, patched(charge_fte_ok, "{\"hours\":null}"));
	expect_valid(&feed_people,
	    patched(person_ok, "{\"employment_end\":\"2020-01-06\"}"));
	/* Every kind of entry is known. */
	static const char *const kinds[] = { "grant", "project", "research",
		"teaching", "admin", "other", "annual_leave", "sick_leave",
		"public_holiday", "parental_leave", "other_leave" };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char e[200];
		snprintf(e, sizeof e,
		    "[{\"kind\":\"%s\",\"activity\":\"a\","
		    "\"hours\":1}]",
		    kinds[i]);
		expect_valid(
		    &feed_timesheets, timesheet("2025-01-06", "2025-01-10", e));
	}
	static const char *const roles[] = { "pi", "co_i", "researcher",
		"fellow", "technician", "rse", "other" };
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		char p[80];
		snprintf(p, sizeof p, "{\"role\":\"%s\"}", roles[i]);
		expect_valid(&feed_assignments, patched(assignment_ok, p));
	}
	expect_valid(&feed_assignments,
	    patched(assignment_ok, "{\"cost_type\":\"DA\"}"));
	expect_valid(&feed_assignments,
	    patched(assignment_ok, "{\"cost_type\":\"EXC\"}"));
}

/* ---- timesheets: RULES.md "Timesheet shape" ------------------------------ */

static void
test_ts_period_order(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    patched(timesheet_ok,
	        "{\"period_start\":\"2025-01-31\",\"period_end\":\"2025-01-01\"}"),
	    "period_end", "before period_start");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok,
	        "{\"period_start\":\"2025-01-02\",\"period_end\":\"2025-01-01\"}"),
	    "period_end", "before period_start");
	/* A one-day period is fine. */
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-15", "2025-01-15",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.5}]"));
}

static void
test_ts_period_one_month(void **state)
{
	(void)state;
	/* A week across a month end must be split. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-27", "2025-02-02",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.5}]"),
	    "period_end", "one calendar month");
	/* Same month number, different year. */
	expect_one(&feed_timesheets,
	    timesheet("2024-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.5}]"),
	    "period_end", "one calendar month");
	expect_one(&feed_timesheets,
	    timesheet("2024-12-31", "2025-01-01",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.5}]"),
	    "period_end", "one calendar month");
	expect_valid(&feed_timesheets,
	    timesheet("2024-02-01", "2024-02-29",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.5}]"));
}

static void
test_ts_period_dates(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    timesheet("2025-02-01", "2025-02-29",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1}]"),
	    "period_end", "must be a date YYYY-MM-DD");
	expect_one(&feed_timesheets,
	    timesheet("2025-1-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1}]"),
	    "period_start", "must be a date YYYY-MM-DD");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"period_start\":20250101}"),
	    "period_start", "must be a string");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"period_start\":null}"), "period_start",
	    "is required");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"person_id\":null}"), "person_id",
	    "is required");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"person_id\":\"\"}"), "person_id",
	    "must not be empty");
}

static void
test_ts_kind(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"holiday\",\"activity\":\"a\",\"hours\":1}]"),
	    "entries[0].kind", "unknown value \"holiday\"");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"Grant\",\"activity\":\"a\",\"hours\":1}]"),
	    "entries[0].kind", "unknown value");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"activity\":\"a\",\"hours\":1}]"),
	    "entries[0].kind", "is required");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":3,\"activity\":\"a\",\"hours\":1}]"),
	    "entries[0].kind", "must be a string");
	/* The index of the bad entry is the one reported. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"admin\",\"activity\":\"b\",\"hours\":1},"
	        "{\"kind\":\"nope\",\"activity\":\"c\",\"hours\":1}]"),
	    "entries[2].kind", "unknown value");
}

static void
test_ts_activity(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"teaching\",\"hours\":2}]"),
	    "entries[1].activity", "is required");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"teaching\",\"activity\":\"\",\"hours\":2}]"),
	    "entries[1].activity", "must not be empty");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"teaching\",\"activity\":null,\"hours\":2}]"),
	    "entries[1].activity", "is required");
}

static void
test_ts_hours_range(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":-1}]"),
	    "entries[0].hours", "out of range");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"admin\",\"activity\":\"b\",\"hours\":-0.01}]"),
	    "entries[1].hours", "out of range");
	/* A one-day period: 24 h is the most. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-15", "2025-01-15",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":25}]"),
	    "entries[0].hours", "more than 24 h");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-15", "2025-01-15",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"admin\",\"activity\":\"b\",\"hours\":24.01}]"),
	    "entries[1].hours", "more than 24 h");
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-15", "2025-01-15",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":24}]"));
	/* A week: 168 h. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-06", "2025-01-12",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":168.01}]"),
	    "entries[0].hours", "more than 24 h");
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-06", "2025-01-12",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":168}]"));
	/* February 2024 has 29 days: 696 h; a 31-day month 744 h. */
	expect_one(&feed_timesheets,
	    timesheet("2024-02-01", "2024-02-29",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":696.5}]"),
	    "entries[0].hours", "more than 24 h");
	expect_valid(&feed_timesheets,
	    timesheet("2024-02-01", "2024-02-29",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":696}]"));
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":744}]"));
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":744.01}]"),
	    "entries[0].hours", "out of range");
	/* Zero hours is allowed. */
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":0}]"));
	/* Missing or non-numeric hours. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"grant\",\"activity\":\"G\"}]"),
	    "entries[0].hours", "is required");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"grant\",\"activity\":\"G\",\"hours\":\"7.5\"}]"),
	    "entries[0].hours", "must be a number");
}

static void
test_ts_hours_decimals(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.125}]"),
	    "entries[0].hours", "at most 2 decimals");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"admin\",\"activity\":\"b\",\"hours\":0.001}]"),
	    "entries[1].hours", "at most 2 decimals");
	/* More decimals than a tolerance on the scaled double would see. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.000000001}]"),
	    "entries[0].hours", "at most 2 decimals");
	/* A client's 0.1 + 0.2: 17 decimals as its shortest text, not 0.3. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\","
	        "\"hours\":0.30000000000000004}]"),
	    "entries[0].hours", "at most 2 decimals");
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":7.1},"
	        "{\"kind\":\"admin\",\"activity\":\"b\",\"hours\":0.29},"
	        "{\"kind\":\"admin\",\"activity\":\"c\",\"hours\":1.15},"
	        "{\"kind\":\"admin\",\"activity\":\"d\",\"hours\":4.35}]"));
}

/* Every value with two decimals from 0 to 744 passes the decimals check,
 * whatever its binary rounding. */
static void
test_hours_all_hundredths(void **state)
{
	char text[32];

	(void)state;
	for (int k = 0; k <= 74400; k++) {
		struct feed_errors errs;
		json_t *rec = parse(charge_fte_ok);
		snprintf(text, sizeof text, "%d.%02d", k / 100, k % 100);
		json_object_del(rec, "fte_fraction");
		json_object_set_new(
		    rec, "hours", json_real(strtod(text, NULL)));
		if (validate(&feed_charges, rec, &errs) != 0) {
			dump_errors(&errs);
			fail_msg("hours %s refused", text);
		}
		json_decref(errs.list);
	}
}

static void
test_ts_duplicate_activity(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"grant\",\"activity\":\"EP/X012345/1\",\"hours\":10},"
	        "{\"kind\":\"grant\",\"activity\":\"EP/X012345/1\",\"hours\":5}]"),
	    "entries[1].activity", "appears twice");
	/* Different kinds, same activity: still twice. */
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"x\",\"hours\":1},"
	        "{\"kind\":\"teaching\",\"activity\":\"y\",\"hours\":1},"
	        "{\"kind\":\"other\",\"activity\":\"x\",\"hours\":1}]"),
	    "entries[2].activity", "also entries[0]");
	/* Case matters: distinct codes. */
	expect_valid(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"x\",\"hours\":1},"
	        "{\"kind\":\"admin\",\"activity\":\"X\",\"hours\":1}]"));
}

static void
test_ts_authorisation_pair(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"authorised_at\":null}"), "authorised_at",
	    "go together");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"authorised_by\":null}"), "authorised_by",
	    "go together");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"authorised_at\":\"2025-02-10\"}"),
	    "authorised_at", "ISO-8601 timestamp");
	expect_one(&feed_timesheets,
	    patched(
	        timesheet_ok, "{\"authorised_at\":\"2025-02-10T09:00:00\"}"),
	    "authorised_at", "with an offset or Z");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"authorised_by\":\"\"}"), "authorised_by",
	    "must not be empty");
}

static void
test_ts_submitted_at(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"submitted_at\":null}"), "submitted_at",
	    "is required");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"submitted_at\":\"2025-02-03\"}"),
	    "submitted_at", "must be an ISO-8601 timestamp");
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"submitted_at\":\"2025-02-03T24:00Z\"}"),
	    "submitted_at", "must be an ISO-8601 timestamp");
	expect_valid(&feed_timesheets,
	    patched(timesheet_ok,
	        "{\"submitted_at\":\"2025-02-03T10:00:00.123+01:00\"}"));
}

static void
test_ts_unknown_fields(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"approved\":true}"), "approved",
	    "unknown field");
	/* An entry field at record level, and a record field in an entry. */
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"kind\":\"grant\"}"), "kind",
	    "unknown field");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1,"
	        "\"person_id\":\"E1001\"}]"),
	    "entries[0].person_id", "unknown field");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1},"
	        "{\"kind\":\"admin\",\"activity\":\"b\",\"hours\":1,\"note\":\"x\"}]"),
	    "entries[1].note", "unknown field");
	/* "_line" is only known in CSV batches. */
	expect_one(&feed_timesheets, patched(timesheet_ok, "{\"_line\":3}"),
	    "_line", "unknown field");
	/* "entries" belongs to timesheets only. */
	expect_one(&feed_people, patched(person_ok, "{\"entries\":[]}"),
	    "entries", "unknown field");
}

static void
test_ts_entries_shape(void **state)
{
	(void)state;
	expect_one(&feed_timesheets,
	    patched(timesheet_ok, "{\"entries\":null}"), "entries",
	    "is required");
	expect_one(&feed_timesheets, patched(timesheet_ok, "{\"entries\":{}}"),
	    "entries", "must be an array");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"a\",\"hours\":1}, 7]"),
	    "entries[1]", "must be an object");
	/* no entries: a version of 0 h, for the rules to flag */
	expect_valid(
	    &feed_timesheets, timesheet("2025-01-01", "2025-01-31", "[]"));
}

static void
test_record_not_object(void **state)
{
	struct feed_errors errs;
	char batch[4096];

	(void)state;
	snprintf(batch, sizeof batch, "[%s, 42, \"x\", [], null, %s]",
	    timesheet_ok, timesheet_ok);
	assert_int_equal(validate(&feed_timesheets, parse(batch), &errs), 4);
	for (int i = 1; i <= 4; i++)
		assert_has_error(&errs, i, "", "a record must be an object");
	json_decref(errs.list);

	expect_one(&feed_people, parse("[\"E1001\"]"), "",
	    "a record must be an object");
}

/* Errors carry the index of the record in the batch; several errors of a
 * record are all listed. */
static void
test_indexes_and_counts(void **state)
{
	struct feed_errors errs;
	char batch[4096];

	(void)state;
	snprintf(batch, sizeof batch, "[%s,%s,%s]", person_ok,
	    "{\"person_id\":\"E2\",\"fte\":2,\"employment_start\":\"x\"}",
	    person_ok);
	assert_int_equal(validate(&feed_people, parse(batch), &errs), 3);
	assert_has_error(&errs, 1, "name", "is required");
	assert_has_error(&errs, 1, "fte", "out of range");
	assert_has_error(&errs, 1, "employment_start", "must be a date");
	json_decref(errs.list);

	/* feed_validate returns only the errors it added. */
	feed_errors_init(&errs, false);
	json_t *bad = parse("[{\"person_id\":\"E2\"}]");
	int first = feed_validate(&feed_people, bad, &errs);
	assert_int_equal(first, 3);
	assert_int_equal(feed_validate(&feed_people, bad, &errs), 3);
	assert_int_equal(errs.count, 6);
	json_decref(bad);
	json_decref(errs.list);
}

/* ---- the other feeds --------------------------------------------------- */

static void
test_people(void **state)
{
	char longid[80];

	(void)state;
	expect_one(&feed_people, patched(person_ok, "{\"name\":null}"), "name",
	    "is required");
	expect_one(&feed_people, patched(person_ok, "{\"name\":\"\"}"), "name",
	    "must not be empty");
	expect_one(&feed_people, patched(person_ok, "{\"fte\":0}"), "fte",
	    "out of range");
	expect_one(&feed_people, patched(person_ok, "{\"fte\":1.5}"), "fte",
	    "out of range");
	expect_one(&feed_people, patched(person_ok, "{\"fte\":\"1\"}"), "fte",
	    "must be a number");
	expect_valid(&feed_people, patched(person_ok, "{\"fte\":0.2}"));
	expect_one(&feed_people,
	    patched(person_ok, "{\"employment_start\":\"2020-13-06\"}"),
	    "employment_start", "must be a date");
	expect_one(&feed_people,
	    patched(person_ok, "{\"employment_start\":\"06/01/2020\"}"),
	    "employment_start", "must be a date");
	expect_one(&feed_people,
	    patched(person_ok, "{\"employment_start\":null}"),
	    "employment_start", "is required");
	expect_one(&feed_people,
	    patched(person_ok, "{\"employment_end\":\"2020-01-05\"}"),
	    "employment_end", "employment_end is before employment_start");
	expect_one(&feed_people,
	    patched(person_ok, "{\"line_manager_id\":\"E1001\"}"),
	    "line_manager_id", "own line manager");
	expect_one(&feed_people, patched(person_ok, "{\"phone\":\"x\"}"),
	    "phone", "unknown field");
	memset(longid, 'E', 65);
	longid[65] = '\0';
	json_t *rec = parse(person_ok);
	json_object_set_new(rec, "person_id", json_string(longid));
	expect_one(&feed_people, rec, "person_id", "longer than 64");
}

static void
test_grants(void **state)
{
	(void)state;
	expect_one(&feed_grants,
	    patched(grant_ok, "{\"end_date\":\"2023-03-31\"}"), "end_date",
	    "end_date is before start_date");
	expect_valid(
	    &feed_grants, patched(grant_ok, "{\"end_date\":\"2023-04-01\"}"));
	/* no end_date: an open-ended grant (RULES.md, second edition) */
	expect_valid(&feed_grants, patched(grant_ok, "{\"end_date\":null}"));
	expect_one(&feed_grants, patched(grant_ok, "{\"title\":null}"), "title",
	    "is required");
}

static void
test_assignments(void **state)
{
	(void)state;
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"role\":\"boss\"}"), "role",
	    "unknown value \"boss\"");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"role\":\"PI\"}"), "role",
	    "unknown value");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"cost_type\":\"DX\"}"), "cost_type",
	    "unknown value \"DX\"");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"cost_type\":null}"), "cost_type",
	    "is required");
	/* RULES.md, second edition: fte_share may be 0, has at most 6
	 * decimals. */
	expect_valid(
	    &feed_assignments, patched(assignment_ok, "{\"fte_share\":0}"));
	expect_valid(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":0.999999}"));
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":0.9999995}"), "fte_share",
	    "at most 6 decimals");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":0.5000000000001}"),
	    "fte_share", "at most 6 decimals");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":0.30000000000000004}"),
	    "fte_share", "at most 6 decimals");
	expect_valid(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":0.666667}"));
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":1.01}"), "fte_share",
	    "out of range");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"fte_share\":-0.5}"), "fte_share",
	    "out of range");
	expect_valid(
	    &feed_assignments, patched(assignment_ok, "{\"fte_share\":1}"));
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"end_date\":\"2023-12-31\"}"), "end_date",
	    "is before");
	expect_one(&feed_assignments,
	    patched(assignment_ok, "{\"estimated_hours_per_year\":100.125}"),
	    "estimated_hours_per_year", "at most 2 decimals");
}

static void
test_charges(void **state)
{
	(void)state;
	expect_one(&feed_charges, patched(charge_fte_ok, "{\"hours\":86.25}"),
	    "hours", "exactly one of fte_fraction and hours");
	expect_one(&feed_charges,
	    patched(charge_fte_ok, "{\"fte_fraction\":null}"), "fte_fraction",
	    "exactly one of fte_fraction and hours");
	expect_one(&feed_charges,
	    patched(charge_fte_ok, "{\"month\":\"2025-13\"}"), "month",
	    "must be a month YYYY-MM");
	expect_one(&feed_charges,
	    patched(charge_fte_ok, "{\"month\":\"2025-01-01\"}"), "month",
	    "must be a month");
	expect_one(&feed_charges,
	    patched(charge_fte_ok, "{\"fte_fraction\":1.5}"), "fte_fraction",
	    "out of range");
	expect_one(&feed_charges,
	    patched(charge_hours_ok, "{\"hours\":86.255}"), "hours",
	    "at most 2 decimals");
	expect_one(&feed_charges,
	    patched(charge_hours_ok, "{\"grant_ref\":null}"), "grant_ref",
	    "is required");
	/* more than the month's hours: stored, for overcharged_month */
	expect_valid(&feed_charges,
	    patched(charge_hours_ok, "{\"month\":\"2025-02\",\"hours\":744}"));
}

/* Ids: no blank at either end, no tab, nothing invisible; required text
 * not all blanks; free text without C1 controls or line separators. */
static void
test_text(void **state)
{
	(void)state;
	expect_one(&feed_people, patched(person_ok, "{\"person_id\":\"E1 \"}"),
	    "person_id", "begins or ends with a blank");
	expect_one(&feed_people,
	    patched(person_ok, "{\"person_id\":\"\\u00a0E1\"}"), "person_id",
	    "begins or ends with a blank");
	expect_one(&feed_people,
	    patched(person_ok, "{\"person_id\":\"E\\u200b1\"}"), "person_id",
	    "contains the invisible character U+200B at offset 1");
	expect_one(&feed_people,
	    patched(person_ok, "{\"line_manager_id\":\"E\\t1\"}"),
	    "line_manager_id", "control character 0x09 at offset 1");
	expect_one(&feed_people, patched(person_ok, "{\"person_id\":\" \"}"),
	    "person_id", "must not be blank");
	expect_one(&feed_people, patched(person_ok, "{\"name\":\" \\t \"}"),
	    "name", "must not be blank");
	expect_one(&feed_people,
	    patched(person_ok, "{\"name\":\"Ada\\u009bByron\"}"), "name",
	    "contains the control character U+009B at offset 3");
	expect_one(&feed_grants, patched(grant_ok, "{\"title\":\"a\\u2029b\"}"),
	    "title", "contains the line separator U+2029 at offset 1");
	expect_one(&feed_timesheets,
	    timesheet("2025-01-01", "2025-01-31",
	        "[{\"kind\":\"admin\",\"activity\":\"admin\\u3000\",\"hours\":1}]"),
	    "entries[0].activity", "begins or ends with a blank");
	/* what free text and ids keep */
	expect_valid(&feed_people,
	    patched(person_ok, "{\"person_id\":\"E 1\",\"name\":"
	                       "\"\\u05d3\\u200f \\u05d3\\tx \"}"));
	expect_valid(&feed_timesheets,
	    patched(timesheet_ok, "{\"amendment_reason\":\"  \"}"));
}

static void
test_delegations(void **state)
{
	(void)state;
	expect_one(&feed_delegations,
	    patched(delegation_ok, "{\"delegate_id\":\"E0001\"}"),
	    "delegate_id", "themself");
	expect_one(&feed_delegations,
	    patched(delegation_ok, "{\"end_date\":\"2025-06-30\"}"), "end_date",
	    "end_date is before start_date");
	expect_one(&feed_delegations,
	    patched(delegation_ok, "{\"end_date\":null}"), "end_date",
	    "is required");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_examples_valid),
		cmocka_unit_test(test_ts_period_order),
		cmocka_unit_test(test_ts_period_one_month),
		cmocka_unit_test(test_ts_period_dates),
		cmocka_unit_test(test_ts_kind),
		cmocka_unit_test(test_ts_activity),
		cmocka_unit_test(test_ts_hours_range),
		cmocka_unit_test(test_ts_hours_decimals),
		cmocka_unit_test(test_hours_all_hundredths),
		cmocka_unit_test(test_ts_duplicate_activity),
		cmocka_unit_test(test_ts_authorisation_pair),
		cmocka_unit_test(test_ts_submitted_at),
		cmocka_unit_test(test_ts_unknown_fields),
		cmocka_unit_test(test_ts_entries_shape),
		cmocka_unit_test(test_record_not_object),
		cmocka_unit_test(test_indexes_and_counts),
		cmocka_unit_test(test_people),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_assignments),
		cmocka_unit_test(test_charges),
		cmocka_unit_test(test_delegations),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
