/*
 * Unit tests of common/date.c: strict ISO-8601 dates, months and
 * timestamps, and the day arithmetic the feed validation relies on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "date.h"

static struct date
mkdate(int y, int m, int d)
{
	struct date x = { y, m, d };

	return x;
}

static void
date_ok(const char *s, int y, int m, int d)
{
	struct date got = { 0, 0, 0 };

	if (!date_parse(s, &got))
		fail_msg("date_parse(\"%s\") refused a valid date", s);
	assert_int_equal(got.year, y);
	assert_int_equal(got.month, m);
	assert_int_equal(got.day, d);
}

static void
date_bad(const char *s)
{
	struct date got;

	if (date_parse(s, &got))
		fail_msg("date_parse(\"%s\") accepted an invalid date", s);
}

static void
test_date_parse_valid(void **state)
{
	(void)state;
	date_ok("2025-01-31", 2025, 1, 31);
	date_ok("2024-02-29", 2024, 2, 29); /* leap year */
	date_ok("2000-02-29", 2000, 2, 29); /* divisible by 400 */
	date_ok("2025-02-28", 2025, 2, 28);
	date_ok("2025-04-30", 2025, 4, 30);
	date_ok("2025-12-31", 2025, 12, 31);
	date_ok("1970-01-01", 1970, 1, 1);
	date_ok("9999-12-31", 9999, 12, 31);
}

static void
test_date_parse_invalid(void **state)
{
	(void)state;
	date_bad("2025-02-29"); /* not a leap year */
	date_bad("1900-02-29"); /* divisible by 100, not 400 */
	date_bad("2025-13-01");
	date_bad("2025-00-10");
	date_bad("2025-01-00");
	date_bad("2025-01-32");
	date_bad("2025-04-31");
	date_bad("2025-1-01");
	date_bad("2025-01-1");
	date_bad("25-01-01");
	date_bad("2025-01-01 ");
	date_bad("2025-01-01x");
	date_bad("2025-01-01T00:00:00Z");
	date_bad(" 2025-01-01");
	date_bad("2025/01/01");
	date_bad("2025-01-0a");
	date_bad("+025-01-01");
	date_bad("2025-+1-01");
	date_bad("2025-01--1");
	date_bad("");
	date_bad("2025-01-");
	date_bad("20250101");
	date_bad("2025-01");
}

static void
test_month_parse(void **state)
{
	struct date d = { 0, 0, 0 };

	(void)state;
	assert_true(month_parse("2025-01", &d));
	assert_int_equal(d.year, 2025);
	assert_int_equal(d.month, 1);
	assert_int_equal(d.day, 1);
	assert_true(month_parse("2024-12", &d));
	assert_int_equal(d.month, 12);
	assert_int_equal(d.day, 1);
	assert_false(month_parse("2025-13", &d));
	assert_false(month_parse("2025-00", &d));
	assert_false(month_parse("2025-1", &d));
	assert_false(month_parse("2025-01-01", &d));
	assert_false(month_parse("2025-01 ", &d));
	assert_false(month_parse("2025/01", &d));
	assert_false(month_parse("202501", &d));
	assert_false(month_parse("", &d));
	assert_false(month_parse("2025-0a", &d));
}

static void
test_timestamp_valid(void **state)
{
	(void)state;
	assert_true(timestamp_valid("2025-02-03T10:00:00Z"));
	assert_true(timestamp_valid("2025-02-03T10:00:00.123+01:00"));
	assert_true(timestamp_valid("2025-02-03T10:00Z"));
	assert_true(timestamp_valid("2025-02-03T10:00:00-05:00"));
	assert_true(timestamp_valid("2025-02-03T23:59:59+00:00"));
	assert_true(timestamp_valid("2025-02-03T00:00:00.5Z"));
	assert_true(timestamp_valid("2025-02-03T00:00:00.123456Z"));
	assert_true(timestamp_valid("2024-02-29T12:00:00Z"));

	assert_false(timestamp_valid("2025-02-03T10:00:00")); /* no offset */
	assert_false(timestamp_valid("2025-02-03T10:00"));
	assert_false(timestamp_valid("2025-02-03"));
	assert_false(timestamp_valid("2025-02-03T"));
	assert_false(timestamp_valid("2025-02-03T24:00:00Z"));
	assert_false(timestamp_valid("2025-02-03T24:00Z"));
	assert_false(timestamp_valid("2025-02-03T10:60:00Z"));
	assert_false(timestamp_valid("2025-02-03T10:00:61Z"));
	/* A leap second would be stored as the next minute's first. */
	assert_false(timestamp_valid("2016-12-31T23:59:60Z"));
	assert_false(timestamp_valid("2025-02-03T10:00:00.Z"));
	/* A seventh digit would be rounded by PostgreSQL. */
	assert_false(timestamp_valid("2025-02-03T10:00:00.1234567Z"));
	assert_false(timestamp_valid("2025-02-03T10:00:00+1:00"));
	assert_false(timestamp_valid("2025-02-03T10:00:00+01"));
	assert_false(timestamp_valid("2025-02-03T10:00:00+0100"));
	assert_false(timestamp_valid("2025-02-03T10:00:00+01:00:00"));
	assert_false(timestamp_valid("2025-02-03T10:00:00+15:00"));
	assert_false(timestamp_valid("2025-02-03T10:00:00+01:60"));
	assert_false(timestamp_valid("2025-02-03T10:00:00z"));
	assert_false(timestamp_valid("2025-02-03T10:00:00ZZ"));
	assert_false(timestamp_valid("2025-02-03T10:00:00Z "));
	assert_false(timestamp_valid("2025-02-03T10:00:00 Z"));
	assert_false(timestamp_valid("2025-02-03T1:00:00Z"));
	assert_false(timestamp_valid("2025-02-29T10:00:00Z"));
	assert_false(timestamp_valid("2025-13-03T10:00:00Z"));
	assert_false(timestamp_valid("2025-02-03X10:00:00Z"));
	assert_false(timestamp_valid(""));
	assert_false(timestamp_valid("Z"));
}

static void
test_days_in_month(void **state)
{
	static const int want[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	(void)state;
	for (int m = 1; m <= 12; m++)
		assert_int_equal(days_in_month(2025, m), want[m - 1]);
	assert_int_equal(days_in_month(2024, 2), 29);
	assert_int_equal(days_in_month(2000, 2), 29);
	assert_int_equal(days_in_month(1900, 2), 28);
	assert_int_equal(days_in_month(2100, 2), 28);
	assert_true(is_leap_year(2024));
	assert_false(is_leap_year(2025));
	assert_false(is_leap_year(1900));
	assert_true(is_leap_year(2000));
}

static void
test_date_to_days(void **state)
{
	(void)state;
	assert_int_equal(date_to_days(mkdate(1970, 1, 1)), 0);
	assert_int_equal(date_to_days(mkdate(1970, 1, 2)), 1);
	assert_int_equal(date_to_days(mkdate(1969, 12, 31)), -1);
	assert_int_equal(date_to_days(mkdate(1971, 1, 1)), 365);
	assert_int_equal(date_to_days(mkdate(2000, 1, 1)), 10957);
	assert_int_equal(date_to_days(mkdate(2000, 3, 1)), 11017);
	assert_int_equal(date_to_days(mkdate(2025, 1, 1)), 20089);
	assert_int_equal(date_to_days(mkdate(1900, 1, 1)), -25567);
	/* Across a leap day and a non-leap February. */
	assert_int_equal(date_to_days(mkdate(2024, 3, 1)) -
	                     date_to_days(mkdate(2024, 2, 28)),
	    2);
	assert_int_equal(date_to_days(mkdate(2025, 3, 1)) -
	                     date_to_days(mkdate(2025, 2, 28)),
	    1);
	/* A whole year: every day follows the one before. */
	long prev = date_to_days(mkdate(2023, 12, 31));
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= days_in_month(2024, m); d++) {
			long cur = date_to_days(mkdate(2024, m, d));
			assert_int_equal(cur, prev + 1);
			prev = cur;
		}
	assert_int_equal(prev - date_to_days(mkdate(2023, 12, 31)), 366);
}

static void
test_date_cmp_same_month(void **state)
{
	(void)state;
	assert_int_equal(date_cmp(mkdate(2025, 1, 1), mkdate(2025, 1, 1)), 0);
	assert_int_equal(date_cmp(mkdate(2025, 1, 1), mkdate(2025, 1, 2)), -1);
	assert_int_equal(date_cmp(mkdate(2025, 1, 2), mkdate(2025, 1, 1)), 1);
	assert_int_equal(
	    date_cmp(mkdate(2024, 12, 31), mkdate(2025, 1, 1)), -1);
	assert_int_equal(date_cmp(mkdate(2025, 2, 1), mkdate(2025, 1, 31)), 1);
	assert_int_equal(date_cmp(mkdate(2026, 1, 1), mkdate(2025, 12, 31)), 1);

	assert_true(date_same_month(mkdate(2025, 1, 1), mkdate(2025, 1, 31)));
	assert_false(date_same_month(mkdate(2025, 1, 31), mkdate(2025, 2, 1)));
	assert_false(date_same_month(mkdate(2024, 1, 15), mkdate(2025, 1, 15)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_parse_valid),
		cmocka_unit_test(test_date_parse_invalid),
		cmocka_unit_test(test_month_parse),
		cmocka_unit_test(test_timestamp_valid),
		cmocka_unit_test(test_days_in_month),
		cmocka_unit_test(test_date_to_days),
		cmocka_unit_test(test_date_cmp_same_month),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
