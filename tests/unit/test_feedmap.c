/*
 * Unit tests of daemon/feed-map.c: date formats (what they read, what they
 * refuse, the checks of the setting) and the name distance behind every
 * "did you mean".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "feed-map.h"

static void
date_is(const char *fmt, const char *s, int y, int m, int d)
{
	struct date got;

	if (!date_format_parse(fmt, s, &got))
		fail_msg("%s as %s: refused", s, fmt);
	assert_int_equal(got.year, y);
	assert_int_equal(got.month, m);
	assert_int_equal(got.day, d);
}

static void
test_date_formats(void **state)
{
	struct date d;

	(void)state;
	date_is("%d/%m/%Y", "31/01/2026", 2026, 1, 31);
	date_is("%d/%m/%Y", "1/2/2026", 2026, 2, 1);
	date_is("%m/%d/%Y", "12/31/2025", 2025, 12, 31);
	date_is("%d.%m.%Y", "29.02.2024", 2024, 2, 29);
	date_is("%d-%b-%Y", "05-Mar-2026", 2026, 3, 5);
	date_is("%d %b %Y", "5 sep 2026", 2026, 9, 5);
	date_is("%Y%m%d", "20260131", 2026, 1, 31);
	date_is("%d%%%m%%%Y", "01%02%2026", 2026, 2, 1);
	assert_false(date_format_parse("%d/%m/%Y", "29/02/2025", &d));
	assert_false(date_format_parse("%d/%m/%Y", "31/04/2026", &d));
	assert_false(date_format_parse("%d/%m/%Y", "01/13/2026", &d));
	assert_false(date_format_parse("%d/%m/%Y", "01/01/26", &d));
	assert_false(date_format_parse("%d/%m/%Y", "01/01/2026 ", &d));
	assert_false(date_format_parse("%d/%m/%Y", "01-01-2026", &d));
	assert_false(date_format_parse("%d/%m/%Y", "", &d));
	assert_false(date_format_parse("%d-%b-%Y", "05-Mrz-2026", &d));
}

static void
test_date_format_setting(void **state)
{
	char err[256];

	(void)state;
	assert_true(feedmap_check_date_format("%d/%m/%Y", err, sizeof err));
	assert_true(feedmap_check_date_format("%Y-%m-%d", err, sizeof err));
	assert_true(feedmap_check_date_format("%d %b %Y", err, sizeof err));
	assert_false(feedmap_check_date_format("%d/%m/%y", err, sizeof err));
	assert_string_equal(err, "%y is not allowed (%d, %m, %b, %Y, %%)");
	assert_false(feedmap_check_date_format("%d/%m/%Y%", err, sizeof err));
	assert_string_equal(err, "ends inside a % conversion");
	assert_false(feedmap_check_date_format("%d/%d/%Y", err, sizeof err));
	assert_string_equal(err, "must have one day (%d), one month (%m or %b) "
	                         "and one year (%Y)");
	assert_false(feedmap_check_delimiter(";;", err, sizeof err));
	assert_true(feedmap_check_delimiter("\t", err, sizeof err));
	assert_false(feedmap_check_decimal("", err, sizeof err));
}

static void
test_name_distance(void **state)
{
	(void)state;
	assert_int_equal(name_distance("Person_ID", "person_id"), 0);
	assert_int_equal(
	    name_distance("Employment Start", "employment_start"), 0);
	assert_int_equal(name_distance("nmae", "name"), 1);
	assert_int_equal(name_distance("persn_id", "person_id"), 1);
	assert_false(
	    name_close("department", name_distance("department", "fte")));
	assert_true(name_close("nmae", 1));
	assert_false(name_close("fto", 1)); /* three letters: too short */
	assert_false(name_close("grnt_ref", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_formats),
		cmocka_unit_test(test_date_format_setting),
		cmocka_unit_test(test_name_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
