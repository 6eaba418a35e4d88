/*
 * The six feeds of API.md as field tables, and the checks that span more
 * than one field (RULES.md, "Timesheet shape").
 */
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "feed-validate.h"

#define ID_MAX   FEED_ID_MAX
#define TEXT_MAX FEED_TEXT_MAX

static const char *const roles[] = { "pi", "co_i", "researcher", "fellow",
	"technician", "rse", "other", NULL };
static const char *const cost_types[] = { "DI", "DA", "EXC", NULL };
static const char *const kinds[] = { "grant", "project", "research", "teaching",
	"admin", "other", "annual_leave", "sick_leave", "public_holiday",
	"parental_leave", "other_leave", NULL };

/* A date field's value, when the field checks let it through. */
static bool
get_date(json_t *rec, const char *key, struct date *d)
{
	json_t *v = json_object_get(rec, key);

	return json_is_string(v) && date_parse(json_string_value(v), d);
}

/* end must not be before start, when both are present. */
static void
check_order(json_t *rec, int index, struct feed_errors *errs, const char *start,
    const char *end)
{
	struct date a, b;

	if (get_date(rec, start, &a) && get_date(rec, end, &b) &&
	    date_cmp(b, a) < 0)
		feed_error(errs, index, end, "%s is before %s", end, start);
}

/* clang-format off */
static const struct field_spec people_fields[] = {
	{ "person_id", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "name", FT_STRING, F_REQUIRED, NULL, 1, TEXT_MAX },
	{ "email", FT_STRING, F_EMAIL, NULL, 0, TEXT_MAX },
	{ "line_manager_id", FT_STRING, F_ID, NULL, 1, ID_MAX },
	{ "fte", FT_NUMBER, F_REQUIRED | F_FRACTION | F_ABOVE, NULL, 0, 1 },
	{ "employment_start", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "employment_end", FT_DATE, 0, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};
/* clang-format on */

static void
check_person(json_t *rec, int index, struct feed_errors *errs)
{
	json_t *id = json_object_get(rec, "person_id");
	json_t *lm = json_object_get(rec, "line_manager_id");

	check_order(rec, index, errs, "employment_start", "employment_end");
	if (json_is_string(lm) && json_equal(id, lm))
		feed_error(errs, index, "line_manager_id",
		    "a person cannot be their own line manager");
}

/* clang-format off */
static const struct field_spec grants_fields[] = {
	{ "grant_ref", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "title", FT_STRING, F_REQUIRED, NULL, 1, TEXT_MAX },
	{ "funder", FT_STRING, 0, NULL, 0, TEXT_MAX },
	{ "start_date", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "end_date", FT_DATE, 0, NULL, 0, 0 }, /* none: open-ended */
	{ NULL, 0, 0, NULL, 0, 0 }
};
/* clang-format on */

static void
check_grant(json_t *rec, int index, struct feed_errors *errs)
{
	check_order(rec, index, errs, "start_date", "end_date");
}

/* clang-format off */
static const struct field_spec assignments_fields[] = {
	{ "person_id", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "grant_ref", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "role", FT_ENUM, F_REQUIRED, roles, 0, 0 },
	{ "cost_type", FT_ENUM, F_REQUIRED, cost_types, 0, 0 },
	{ "start_date", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "end_date", FT_DATE, 0, NULL, 0, 0 },
	{ "fte_share", FT_NUMBER, F_REQUIRED | F_FRACTION, NULL, 0, 1 },
	{ "estimated_hours_per_year", FT_NUMBER, F_HOURS, NULL, 0, 8784 },
	{ NULL, 0, 0, NULL, 0, 0 }
};
/* clang-format on */

static void
check_assignment(json_t *rec, int index, struct feed_errors *errs)
{
	check_order(rec, index, errs, "start_date", "end_date");
}

/* clang-format off */
static const struct field_spec charges_fields[] = {
	{ "person_id", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "grant_ref", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "month", FT_MONTH, F_REQUIRED, NULL, 0, 0 },
	{ "fte_fraction", FT_NUMBER, F_FRACTION, NULL, 0, 1 },
	{ "hours", FT_NUMBER, F_HOURS, NULL, 0, 744 },
	{ NULL, 0, 0, NULL, 0, 0 }
};
/* clang-format on */

static void
check_charge(json_t *rec, int index, struct feed_errors *errs)
{
	bool f = !json_is_null(json_object_get(rec, "fte_fraction")) &&
	         json_object_get(rec, "fte_fraction") != NULL;
	bool h = !json_is_null(json_object_get(rec, "hours")) &&
	         json_object_get(rec, "hours") != NULL;

	if (f == h)
		feed_error(errs, index, f ? "hours" : "fte_fraction",
		    "give exactly one of fte_fraction and hours");
}

/* clang-format off */
static const struct field_spec delegations_fields[] = {
	{ "manager_id", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "delegate_id", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "start_date", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "end_date", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};
/* clang-format on */

static void
check_delegation(json_t *rec, int index, struct feed_errors *errs)
{
	check_order(rec, index, errs, "start_date", "end_date");
	if (json_equal(json_object_get(rec, "manager_id"),
	        json_object_get(rec, "delegate_id")))
		feed_error(errs, index, "delegate_id",
		    "a manager cannot delegate to themself");
}

/* clang-format off */
static const struct field_spec timesheets_fields[] = {
	{ "person_id", FT_STRING, F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "period_start", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "period_end", FT_DATE, F_REQUIRED, NULL, 0, 0 },
	{ "submitted_at", FT_TIMESTAMP, F_REQUIRED, NULL, 0, 0 },
	{ "authorised_by", FT_STRING, F_ID, NULL, 1, ID_MAX },
	{ "authorised_at", FT_TIMESTAMP, 0, NULL, 0, 0 },
	{ "amendment_reason", FT_STRING, 0, NULL, 1, TEXT_MAX },
	{ "kind", FT_ENUM, F_ENTRY | F_REQUIRED, kinds, 0, 0 },
	{ "activity", FT_STRING, F_ENTRY | F_REQUIRED | F_ID, NULL, 1, ID_MAX },
	{ "hours", FT_NUMBER, F_ENTRY | F_REQUIRED | F_HOURS, NULL, 0, 744 },
	{ NULL, 0, 0, NULL, 0, 0 }
};
/* clang-format on */

/* The most hours a timesheet's entries may total: timesheets.total_hours
 * is numeric(8,2).  TIMESHEET_ENTRIES_MAX entries of 744 h (24 x 31 days)
 * total 744,000 h: kept as the column's own bound. */
#define TIMESHEET_TOTAL_MAX 999999.99

/* entries[i] repeats an earlier entry's activity: seen maps each activity
 * to its first entry (a look-up, not a scan of the earlier entries: a
 * timesheet of 60,000 entries held the event loop for a minute). */
static void
check_repeated_activity(
    json_t *seen, json_t *e, size_t i, int index, struct feed_errors *errs)
{
	const char *activity =
	    json_string_value(json_object_get(e, "activity"));
	json_t *first = json_object_get(seen, activity);
	char field[64];

	if (first == NULL) {
		json_object_set_new(
		    seen, activity, json_integer((json_int_t)i));
		return;
	}
	snprintf(field, sizeof field, "entries[%zu].activity", i);
	feed_error(errs, index, field,
	    "activity \"%s\" appears twice (also entries[%lld])", activity,
	    (long long)json_integer_value(first));
}

/* Entry hours may not exceed 24 h a day of the period, nor their total
 * what a timesheet holds; no activity twice. */
static void
check_entries(json_t *rec, int index, struct feed_errors *errs, long days)
{
	json_t *entries = json_object_get(rec, "entries"), *e, *seen;
	size_t i;
	char field[64];
	double total = 0;

	if (json_array_size(entries) > TIMESHEET_ENTRIES_MAX)
		return; /* refused already (feed-validate.c) */
	seen = json_object();
	json_array_foreach(entries, i, e)
	{
		double h = json_number_value(json_object_get(e, "hours"));
		total += h;
		if (days > 0 && h > 24.0 * (double)days) {
			snprintf(field, sizeof field, "entries[%zu].hours", i);
			feed_error(errs, index, field,
			    "%.2f h is more than 24 h "
			    "x %ld days of the period",
			    h, days);
		}
		check_repeated_activity(seen, e, i, index, errs);
	}
	json_decref(seen);
	if (total > TIMESHEET_TOTAL_MAX)
		feed_error(errs, index, "entries",
		    "the entries total %.2f h; a timesheet holds at most "
		    "%.2f h",
		    total, TIMESHEET_TOTAL_MAX);
}

static void
check_timesheet(json_t *rec, int index, struct feed_errors *errs)
{
	struct date a, b;
	long days = 0;
	bool by = json_is_string(json_object_get(rec, "authorised_by"));
	bool at = json_is_string(json_object_get(rec, "authorised_at"));

	if (get_date(rec, "period_start", &a) &&
	    get_date(rec, "period_end", &b)) {
		if (date_cmp(a, b) > 0)
			feed_error(errs, index, "period_end",
			    "period_end is before period_start");
		else if (!date_same_month(a, b))
			feed_error(errs, index, "period_end",
			    "the period must lie "
			    "inside one calendar month (split weekly timesheets "
			    "at month end)");
		else
			days = date_to_days(b) - date_to_days(a) + 1;
	}
	if (by != at)
		feed_error(errs, index, by ? "authorised_at" : "authorised_by",
		    "authorised_by and authorised_at go together");
	check_entries(rec, index, errs, days);
}

const struct feed_spec feed_people = { "people", STMT_INGEST_PEOPLE,
	people_fields, false, check_person };
const struct feed_spec feed_grants = { "grants", STMT_INGEST_GRANTS,
	grants_fields, false, check_grant };
const struct feed_spec feed_assignments = { "assignments",
	STMT_INGEST_ASSIGNMENTS, assignments_fields, false, check_assignment };
const struct feed_spec feed_charges = { "charges", STMT_INGEST_CHARGES,
	charges_fields, false, check_charge };
const struct feed_spec feed_delegations = { "delegations",
	STMT_INGEST_DELEGATIONS, delegations_fields, false, check_delegation };
const struct feed_spec feed_timesheets = { "timesheets", STMT_INGEST_TIMESHEETS,
	timesheets_fields, true, check_timesheet };

const struct feed_spec *const feed_specs[] = { &feed_people, &feed_grants,
	&feed_assignments, &feed_charges, &feed_delegations, &feed_timesheets,
	NULL };
